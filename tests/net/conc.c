/* conc.c: many HTTP connections at once, every answer checked. */
/*
 * Usage: conc HOST PORT [COUNT [SECONDS]]    (defaults: 1000 connections,
 * 60 s in all)
 *
 * Starts COUNT non-blocking connect(2)s to HOST:PORT (an IPv4 dotted quad)
 * before any answer is read; on connection i it sends one HTTP/1.1 request
 * "GET /echo/i" (keep-alive) and reads the response, framed by its
 * Content-Length (RFC 9112 6.3). A connection is "ok" when the status is
 * 200 and the body is exactly the decimal i. Every connection stays open
 * until all are done (or the time is up), so all COUNT are open together.
 * Prints "ok K of COUNT" on stdout and the first failures on stderr; exits
 * 0 when every connection was ok, 1 otherwise, 2 on bad usage.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define RESP_MAX 4096           /* bytes of one response we keep */
#define REPORT_MAX 10           /* failures described on stderr */

enum conc_state { CONC_CONNECTING, CONC_SENDING, CONC_READING, CONC_DONE };

struct conc_conn {
    int fd;
    enum conc_state state;
    int ok;
    size_t sent, req_len, got;
    char req[96];
    char resp[RESP_MAX];
};

static int conc_reported;

/* conc_now: CLOCK_MONOTONIC in seconds. */
static double conc_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* conc_fail: mark connection i failed, describing why (first few only). */
static void conc_fail(struct conc_conn *c, int i, const char *why)
{
    if (c->state == CONC_DONE)
        return;
    c->state = CONC_DONE;
    c->ok = 0;
    if (conc_reported++ < REPORT_MAX)
        fprintf(stderr, "conc: connection %d: %s\n", i, why);
}

/*
 * conc_check: 1 when c->resp holds a whole response (headers and
 * Content-Length bytes of body); then sets c->ok. 0 when more is needed.
 */
static int conc_check(struct conc_conn *c, int i)
{
    char *end, *cl, want[16];
    size_t head, len;

    c->resp[c->got] = '\0';
    end = strstr(c->resp, "\r\n\r\n");
    if (end == NULL)
        return 0;
    head = (size_t)(end - c->resp) + 4;
    cl = strcasestr(c->resp, "\r\nContent-Length:");
    if (cl == NULL || cl > end) {
        conc_fail(c, i, "response without Content-Length");
        return 1;
    }
    len = strtoul(cl + 17, NULL, 10);
    if (c->got < head + len)
        return 0;
    snprintf(want, sizeof want, "%d", i);
    if (strncmp(c->resp, "HTTP/1.1 200 ", 13) != 0) {
        conc_fail(c, i, "status is not 200");
        return 1;
    }
    if (len != strlen(want) || memcmp(c->resp + head, want, len) != 0 ||
        c->got != head + len) {
        conc_fail(c, i, "body is not its own number");
        return 1;
    }
    c->ok = 1;
    c->state = CONC_DONE;
    return 1;
}

/* conc_step: advance connection i on readiness events ev. */
static void conc_step(struct conc_conn *c, int i, uint32_t ev)
{
    ssize_t n;

    if (c->state == CONC_CONNECTING && (ev & (EPOLLOUT | EPOLLERR))) {
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
            conc_fail(c, i, strerror(err));
            return;
        }
        c->state = CONC_SENDING;
    }
    if (c->state == CONC_SENDING) {
        n = send(c->fd, c->req + c->sent, c->req_len - c->sent,
                 MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN) {
            conc_fail(c, i, strerror(errno));
            return;
        }
        if (n > 0)
            c->sent += (size_t)n;
        if (c->sent == c->req_len)
            c->state = CONC_READING;
    }
    if (c->state == CONC_READING && (ev & (EPOLLIN | EPOLLHUP | EPOLLERR))) {
        n = recv(c->fd, c->resp + c->got, RESP_MAX - 1 - c->got, 0);
        if (n < 0 && errno != EAGAIN) {
            conc_fail(c, i, strerror(errno));
            return;
        }
        if (n == 0) {
            if (!conc_check(c, i))
                conc_fail(c, i, "closed before a whole response");
            return;
        }
        if (n > 0) {
            c->got += (size_t)n;
            if (!conc_check(c, i) && c->got == RESP_MAX - 1)
                conc_fail(c, i, "response too long");
        }
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    struct rlimit rl;
    struct conc_conn *conns;
    struct epoll_event evs[256];
    int count = 1000, ep, left, okc = 0;
    double deadline, secs = 60;

    if (argc < 3 || argc > 5 || inet_pton(AF_INET, argv[1],
                                          &sa.sin_addr) != 1) {
        fprintf(stderr, "usage: conc HOST PORT [COUNT [SECONDS]]\n");
        return 2;
    }
    sa.sin_port = htons((uint16_t)atoi(argv[2]));
    if (argc > 3)
        count = atoi(argv[3]);
    if (argc > 4)
        secs = atof(argv[4]);
    if (count < 1 || secs <= 0) {
        fprintf(stderr, "conc: bad COUNT or SECONDS\n");
        return 2;
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    conns = calloc((size_t)count, sizeof *conns);
    ep = epoll_create1(0);
    if (conns == NULL || ep < 0) {
        perror("conc");
        return 1;
    }
    deadline = conc_now() + secs;
    left = count;
    for (int i = 0; i < count; i++) {
        struct conc_conn *c = &conns[i];
        struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT | EPOLLET,
                                  .data.u32 = (uint32_t)i };
        c->req_len = (size_t)snprintf(c->req, sizeof c->req,
            "GET /echo/%d HTTP/1.1\r\nHost: conc\r\n\r\n", i);
        c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (c->fd < 0) {
            conc_fail(c, i, strerror(errno));
            left--;
            continue;
        }
        if (connect(c->fd, (struct sockaddr *)&sa, sizeof sa) < 0 &&
            errno != EINPROGRESS) {
            conc_fail(c, i, strerror(errno));
            left--;
            continue;
        }
        epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
    }
    while (left > 0) {
        double wait = deadline - conc_now();
        int n;

        if (wait <= 0)
            break;
        n = epoll_wait(ep, evs, 256, wait > 1 ? 1000 : (int)(wait * 1000));
        for (int k = 0; k < n; k++) {
            int i = (int)evs[k].data.u32;
            struct conc_conn *c = &conns[i];

            if (c->state == CONC_DONE)
                continue;
            /* Edge-triggered: drain by stepping until nothing changes. */
            for (;;) {
                enum conc_state before = c->state;
                size_t got = c->got;
                conc_step(c, i, evs[k].events);
                if (c->state == CONC_DONE) {
                    left--;
                    break;
                }
                if (c->state == before && c->got == got)
                    break;
            }
        }
    }
    for (int i = 0; i < count; i++) {
        if (conns[i].state != CONC_DONE)
            conc_fail(&conns[i], i, "no whole response in time");
        okc += conns[i].ok;
        if (conns[i].fd >= 0)
            close(conns[i].fd);
    }
    printf("ok %d of %d\n", okc, count);
    return okc == count ? 0 : 1;
}
