/* control.c: the host end of an instance's control channel (control.h). */
#include "control.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#define CONTROL_WRITE_WAIT_MS 5000

void host_control_init(struct host_control *c, int listen_fd)
{
    c->listen_fd = listen_fd;
    c->client_fd = -1;
    c->hangup = 0;
}

int host_control_pollfd(const struct host_control *c)
{
    if (c->client_fd >= 0)
        return c->client_fd;
    if (c->hangup)
        return -1;
    return c->listen_fd;
}

/* Accept one waiting client of this process's user, if any. */
static void control_accept(struct host_control *c)
{
    struct ucred cr;
    socklen_t len = sizeof cr;
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

    if (fd < 0)
        return;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0 ||
        cr.uid != geteuid()) {
        close(fd);
        return;
    }
    c->client_fd = fd;
}

static void control_drop(struct host_control *c)
{
    if (c->client_fd >= 0) {
        close(c->client_fd);
        c->client_fd = -1;
        c->hangup = 1;
    }
}

int host_control_ready(struct host_control *c)
{
    struct pollfd p;

    if (c->hangup)
        return 1;
    if ((p.fd = host_control_pollfd(c)) < 0)
        return 0;
    p.events = POLLIN;
    if (poll(&p, 1, 0) <= 0 || p.revents == 0)
        return 0;
    if (c->client_fd < 0) {
        control_accept(c);
        return c->client_fd >= 0 ? host_control_ready(c) : 0;
    }
    return 1;
}

long host_control_read(struct host_control *c, void *p, size_t n)
{
    ssize_t r;

    if (c->hangup && c->client_fd < 0) {
        c->hangup = 0;
        return -1;
    }
    if (c->client_fd < 0 || n == 0)
        return 0;
    do
        r = recv(c->client_fd, p, n, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r > 0)
        return (long)r;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    control_drop(c);
    c->hangup = 0;
    return -1;
}

void host_control_write(struct host_control *c, const void *p, size_t n)
{
    const char *b = p;

    while (n > 0 && c->client_fd >= 0) {
        ssize_t w = send(c->client_fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w > 0) {
            b += w;
            n -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd q = { .fd = c->client_fd, .events = POLLOUT };
            int k = poll(&q, 1, CONTROL_WRITE_WAIT_MS);
            if (k > 0 || (k < 0 && errno == EINTR))
                continue;
        }
        control_drop(c);                /* gone, or takes nothing */
    }
}

void host_control_close(struct host_control *c)
{
    if (c->client_fd >= 0)
        close(c->client_fd);
    if (c->listen_fd >= 0)
        close(c->listen_fd);
    c->client_fd = c->listen_fd = -1;
    c->hangup = 0;
}
