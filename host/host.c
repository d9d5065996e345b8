/* host.c: console, clocks and waiting on Linux for the monitor and the hosted target. */
#include "host.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

static int epoll_fd = -1;
static int timer_fd = -1;
static int stdin_watched;      /* stdin is in the epoll set */
static int stdin_unwatchable;  /* epoll refused stdin: always ready */
static int stdin_ended;        /* EOF, error or no stdin: nothing more comes */
static int stdin_done;         /* host_console_read() has returned -1 */

int host_init(void)
{
    struct epoll_event ev = { .events = EPOLLIN };

    signal(SIGPIPE, SIG_IGN);
    epoll_fd = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd < 0)
        return -errno;
    timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (timer_fd < 0)
        return -errno;
    ev.data.fd = timer_fd;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer_fd, &ev) < 0)
        return -errno;
    ev.data.fd = 0;
    if (epoll_ctl(epoll_fd, EPOLL_CTL_ADD, 0, &ev) == 0) {
        stdin_watched = 1;
        epoll_ctl(epoll_fd, EPOLL_CTL_DEL, 0, NULL);
        stdin_watched = 0;
    } else if (errno == EBADF) {
        stdin_ended = 1;                /* no stdin at all */
    } else {
        stdin_unwatchable = 1;          /* EPERM: regular file, /dev/null */
    }
    return 0;
}

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;

    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t host_clock_monotonic(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

uint64_t host_clock_wall(void)
{
    return clock_ns(CLOCK_REALTIME);
}

void host_console_write(int stream, const void *p, size_t n)
{
    int fd = stream == 1 ? 1 : 2;
    const char *c = p;

    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;                     /* EPIPE, ENOSPC, ...: dropped */
        c += w;
        n -= (size_t)w;
    }
}

/* Watch stdin in the epoll set only while someone waits for it. */
static void stdin_watch(int on)
{
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = 0 };

    if (on == stdin_watched || stdin_unwatchable || stdin_ended)
        return;
    if (epoll_ctl(epoll_fd, on ? EPOLL_CTL_ADD : EPOLL_CTL_DEL, 0, &ev) == 0)
        stdin_watched = on;
}

static void stdin_end(void)
{
    stdin_watch(0);
    stdin_ended = 1;
}

long host_console_read(void *p, size_t n)
{
    struct pollfd pfd = { .fd = 0, .events = POLLIN };
    ssize_t r;

    if (stdin_ended) {
        stdin_done = 1;
        return -1;
    }
    if (n == 0)
        return 0;
    if (!stdin_unwatchable) {
        int k = poll(&pfd, 1, 0);
        if (k == 0 || (k < 0 && errno == EINTR))
            return 0;
        if (k < 0 || (pfd.revents & POLLNVAL)) {
            stdin_end();
            stdin_done = 1;
            return -1;
        }
    }
    do
        r = read(0, p, n);
    while (r < 0 && errno == EINTR);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return 0;
    if (r <= 0) {
        stdin_end();
        stdin_done = 1;
        return -1;
    }
    return (long)r;
}

int host_console_isatty(int stream)
{
    return isatty(stream) == 1;
}

uint32_t host_wait(uint64_t timeout_ns, uint32_t events)
{
    struct epoll_event evs[4];
    struct itimerspec its = { 0 };
    uint32_t ready = 0;
    int timeout_ms = -1, n;
    int console = (events & HOST_READY_CONSOLE) && !stdin_done;

    if (console && (stdin_ended || stdin_unwatchable))
        return HOST_READY_CONSOLE;      /* the end is an event too */
    stdin_watch(console);
    if (timeout_ns == 0) {
        timeout_ms = 0;
    } else if (timeout_ns != UINT64_MAX) {
        its.it_value.tv_sec = (time_t)(timeout_ns / 1000000000u);
        its.it_value.tv_nsec = (long)(timeout_ns % 1000000000u);
        timerfd_settime(timer_fd, 0, &its, NULL);
    }
    do
        n = epoll_wait(epoll_fd, evs, 4, timeout_ms);
    while (n < 0 && errno == EINTR);
    for (int i = 0; i < n; i++) {
        if (evs[i].data.fd == 0 && console)
            ready |= HOST_READY_CONSOLE;
    }
    if (timeout_ns != 0 && timeout_ns != UINT64_MAX) {
        struct itimerspec off = { 0 };
        uint64_t expirations;
        timerfd_settime(timer_fd, 0, &off, NULL);
        (void)!read(timer_fd, &expirations, sizeof expirations);
    }
    return ready;
}
