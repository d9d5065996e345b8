/* control.h: the host end of an instance's control channel: a Unix socket, one client at a time. */
#ifndef LUNIK_HOST_CONTROL_H
#define LUNIK_HOST_CONTROL_H

#include <stddef.h>

/*
 * The CLI makes the listening socket (cli/instances.c: mode 0600 in a
 * 0700 directory); whoever serves the channel (the hosted target's
 * host_wait, the monitor's control thread) keeps one of these. One client
 * is served at a time; the next waits in the listen backlog until the
 * current one has gone and its hang-up was read (host_control_read
 * returned -1), so bytes meant for one client never reach another. A
 * client whose peer credentials (SO_PEERCRED, unix(7)) are not this
 * process's user is closed at once. Not thread-safe: one thread uses it.
 */
struct host_control {
    int listen_fd;              /* -1: no channel */
    int client_fd;              /* -1: no client */
    int hangup;                 /* the client went; not yet read */
};

/* host_control_init: serve listen_fd (-1: none; the caller made it). */
void host_control_init(struct host_control *c, int listen_fd);

/*
 * host_control_pollfd: the descriptor to watch with poll(2) for POLLIN:
 * the client's, or the listening socket's while a client may be
 * accepted; -1 when there is none to watch (no channel, or a hang-up
 * waits to be read).
 */
int host_control_pollfd(const struct host_control *c);

/*
 * host_control_ready: 1 when host_control_read would return non-zero: a
 * hang-up waits, or the client's socket is readable (poll(2), no wait).
 * A readable listening socket is accepted here first.
 */
int host_control_ready(struct host_control *c);

/*
 * host_control_read: up to n bytes from the client without blocking: the
 * count (> 0), 0 when none wait, or -1 once when the client has gone
 * (end of stream, an error, or a failed write), after which a new
 * client may be accepted.
 */
long host_control_read(struct host_control *c, void *p, size_t n);

/*
 * host_control_write: send all n bytes to the client, waiting at most 5 s
 * for it to take each part; a client that does not, or that has gone, is
 * hung up on (the bytes are dropped). Without a client: dropped.
 */
void host_control_write(struct host_control *c, const void *p, size_t n);

/* host_control_close: close the client and the listening socket. */
void host_control_close(struct host_control *c);

#endif
