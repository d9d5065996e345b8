/* host.h: device back ends on Linux, shared by the KVM monitor and the hosted target. */
#ifndef LUNIK_HOST_H
#define LUNIK_HOST_H

#include <stddef.h>
#include <stdint.h>

/*
 * host_init: prepare the back ends for one program: the console is the
 * process's stdin/stdout/stderr; SIGPIPE is ignored so that a closed output
 * pipe drops output instead of killing the process. Returns 0 (a negative
 * errno is reserved for failures). The NIC is opened separately
 * (host_net_open(), net.h).
 */
int host_init(void);

/* host_clock_monotonic: CLOCK_MONOTONIC in ns (clock_gettime(2)). */
uint64_t host_clock_monotonic(void);

/* host_clock_wall: CLOCK_REALTIME in ns since the Unix epoch. */
uint64_t host_clock_wall(void);

/*
 * host_console_write: write all n bytes to stdout (stream 1) or stderr
 * (any other), retrying short writes and EINTR. Output to a closed pipe or a
 * full disk is dropped. Never fails.
 */
void host_console_write(int stream, const void *p, size_t n);

/*
 * host_console_read: read up to n bytes of stdin without blocking (poll(2)
 * with a zero timeout, then one read(2)). Returns bytes read (> 0), 0 when
 * nothing is waiting, or -1 once stdin has ended or cannot be read (closed,
 * EOF, error); every call after that returns -1.
 */
long host_console_read(void *p, size_t n);

/* host_console_isatty: 1 if stream (0, 1 or 2) is a terminal (isatty(3)). */
int host_console_isatty(int stream);

/* Ready bits returned by host_wait(); equal to PLAT_READY_* in platform.h. */
#define HOST_READY_CONSOLE  0x1u
#define HOST_READY_NET      0x2u
#define HOST_READY_SHUTDOWN 0x4u
#define HOST_READY_CONTROL  0x8u

struct host_control;
/*
 * host_wait_control: the control channel host_wait() serves
 * (HOST_READY_CONTROL: control.h; it accepts clients during the wait),
 * or NULL for none. The hosted target sets it once at start.
 */
void host_wait_control(struct host_control *c);

/*
 * host_shutdown_take: 1 once per SIGTERM the process received (host_init
 * installs the handler; a shutdown request, as `lunik stop` or `docker
 * stop` send it), then 0 until the next. host_shutdown_pending: the same,
 * without taking it. Async-signal-safe.
 */
int host_shutdown_take(void);
int host_shutdown_pending(void);

/*
 * host_wait: block until one of `events` (HOST_READY_* bits) is ready or
 * timeout_ns nanoseconds pass (UINT64_MAX: no timeout; 0: just poll), in
 * ppoll(2) (ns resolution) on stdin and the NIC's descriptors. Returns the
 * ready set, a subset of `events`; 0 when the time is up.
 *
 * The console is ready while stdin has input, and once more when it has
 * ended until host_console_read() has returned -1; a stdin poll(2) always
 * reports readable (a regular file, /dev/null) is always ready until then.
 * HOST_READY_SHUTDOWN is ready once per SIGTERM (host_shutdown_take); the
 * signal also ends a wait at once.
 * HOST_READY_CONTROL is ready while host_control_read() of the channel
 * given to host_wait_control() has bytes or a hang-up to return.
 * The NIC (HOST_READY_NET) is ready while a frame waits for
 * host_net_recv(). Whatever `events` holds, a user-mode NIC's sockets and
 * timers are served during the wait (slirp_pollfds_fill/_poll), so
 * connections through port forwards progress; the wait then goes on
 * until a wanted event or the timeout.
 */
uint32_t host_wait(uint64_t timeout_ns, uint32_t events);

#endif
