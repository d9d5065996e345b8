/* host.c: console, clocks and waiting on Linux for the monitor and the hosted target. */
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "net.h"

static int stdin_ended;        /* EOF, error or no stdin: nothing more comes */
static int stdin_done;         /* host_console_read() has returned -1 */
static struct host_pollset wait_ps;     /* host_wait()'s descriptors */
static struct host_control *wait_control;  /* host_wait_control() */

void host_wait_control(struct host_control *c)
{
    wait_control = c;
}

/* SIGTERM: a shutdown request, as `lunik stop` and docker stop send it. */
static volatile sig_atomic_t shutdown_requested;

static void on_sigterm(int sig)
{
    (void)sig;
    shutdown_requested = 1;
}

int host_shutdown_take(void)
{
    if (!shutdown_requested)
        return 0;
    shutdown_requested = 0;
    return 1;
}

int host_shutdown_pending(void)
{
    return shutdown_requested != 0;
}

int host_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigterm;             /* no SA_RESTART: ppoll ends */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (fcntl(0, F_GETFL) < 0)
        stdin_ended = 1;                /* no stdin at all */
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

static void stdin_end(void)
{
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
    int k = poll(&pfd, 1, 0);
    if (k == 0 || (k < 0 && errno == EINTR))
        return 0;
    if (k < 0 || (pfd.revents & POLLNVAL)) {
        stdin_end();
        stdin_done = 1;
        return -1;
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

/* now + ns without overflow; UINT64_MAX stays "never". */
static uint64_t deadline_after(uint64_t ns)
{
    uint64_t now = host_clock_monotonic();

    return ns >= UINT64_MAX - now ? UINT64_MAX : now + ns;
}

uint32_t host_wait(uint64_t timeout_ns, uint32_t events)
{
    uint64_t deadline = deadline_after(timeout_ns);
    int console = (events & HOST_READY_CONSOLE) && !stdin_done;
    int want_net = (events & HOST_READY_NET) != 0;
    struct host_control *ctl = (events & HOST_READY_CONTROL) ? wait_control
                                                             : NULL;

    for (;;) {
        uint32_t ready = 0;
        uint64_t now, wait_ns;
        struct timespec ts;
        int in = -1, cin = -1, r;

        if ((events & HOST_READY_SHUTDOWN) && host_shutdown_take())
            ready |= HOST_READY_SHUTDOWN;

        if (console && stdin_ended)
            ready |= HOST_READY_CONSOLE;    /* the end is an event too */
        if (want_net && host_net_pending())
            ready |= HOST_READY_NET;
        if (ctl && ctl->hangup)
            ready |= HOST_READY_CONTROL;
        now = host_clock_monotonic();
        wait_ns = ready != 0 || deadline <= now ? 0
                : deadline == UINT64_MAX ? UINT64_MAX : deadline - now;
        wait_ps.n = 0;
        if (console && !stdin_ended)
            in = host_pollset_add(&wait_ps, 0, POLLIN);
        if (ctl && host_control_pollfd(ctl) >= 0)
            cin = host_pollset_add(&wait_ps, host_control_pollfd(ctl), POLLIN);
        host_net_poll_fill(&wait_ps, want_net, &wait_ns);
        ts.tv_sec = (time_t)(wait_ns / 1000000000u);
        ts.tv_nsec = (long)(wait_ns % 1000000000u);
        r = ppoll(wait_ps.fds, wait_ps.n,
                  wait_ns == UINT64_MAX ? NULL : &ts, NULL);
        if (r > 0 && in >= 0 && wait_ps.fds[in].revents != 0) {
            if (wait_ps.fds[in].revents & POLLNVAL)
                stdin_end();
            ready |= HOST_READY_CONSOLE;
        }
        if (host_net_poll_done(&wait_ps, r < 0) && want_net)
            ready |= HOST_READY_NET;
        if (r > 0 && cin >= 0 && wait_ps.fds[cin].revents != 0 &&
            host_control_ready(ctl))
            ready |= HOST_READY_CONTROL;
        if (ready != 0 || host_clock_monotonic() >= deadline)
            return ready;
    }
}
