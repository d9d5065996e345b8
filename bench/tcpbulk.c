/* tcpbulk.c: TCP bulk transfer benchmark client (MB/s each way) and a baseline server. */
/*
 * Usage:
 *   tcpbulk HOST PORT BYTES
 *       connect to the bulk server at HOST:PORT (an IPv4 dotted quad) and
 *       time two transfers of BYTES bytes on two connections: "S BYTES\n"
 *       asks the server to send that many bytes (timed from the request
 *       to the last byte read), "R BYTES\n" announces that many bytes,
 *       which the client then writes (timed from the request to the
 *       server's one-byte answer after the last byte arrived). Prints one
 *       line: "from_server F to_server T" (MB/s, MB = 10^6 bytes).
 *       Exit 1 with a sentence when a transfer fails or takes over 60 s.
 *   tcpbulk serve PORT
 *       serve that protocol on 127.0.0.1:PORT, one connection at a time,
 *       until killed: the host baseline (the same kernel TCP both ends).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define TCPBULK_BUF (256 * 1024)

static char tcpbulk_buf[TCPBULK_BUF];

/* tcpbulk_now: CLOCK_MONOTONIC in seconds. */
static double tcpbulk_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* tcpbulk_move: write n bytes of the buffer's pattern to fd (out), or read
 * and drop n bytes from it; 0 | -1 (an error or an early EOF). */
static int tcpbulk_move(int fd, long long n, int out)
{
    while (n > 0) {
        size_t k = n < TCPBULK_BUF ? (size_t)n : TCPBULK_BUF;
        ssize_t r = out ? write(fd, tcpbulk_buf, k)
                        : read(fd, tcpbulk_buf, k);
        if (r <= 0)
            return -1;
        n -= r;
    }
    return 0;
}

/* tcpbulk_read_line: the request line "OP BYTES\n" -> 0 | -1. */
static int tcpbulk_read_line(int fd, char *op, long long *n)
{
    char line[64];
    size_t len = 0;

    while (len < sizeof line - 1) {
        if (read(fd, line + len, 1) != 1)
            return -1;
        if (line[len++] == '\n')
            break;
    }
    line[len] = 0;
    return sscanf(line, "%c %lld", op, n) == 2 ? 0 : -1;
}

/* tcpbulk_serve: the baseline server on 127.0.0.1:port. */
static int tcpbulk_serve(int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((unsigned short)port) };
    int one = 1, s = socket(AF_INET, SOCK_STREAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(s, 8) != 0) {
        perror("tcpbulk: cannot listen");
        return 1;
    }
    for (;;) {
        int c = accept(s, NULL, NULL);
        char op;
        long long n;
        if (c < 0)
            continue;
        if (tcpbulk_read_line(c, &op, &n) == 0) {
            if (op == 'S')
                tcpbulk_move(c, n, 1);
            else if (op == 'R' && tcpbulk_move(c, n, 0) == 0)
                (void)!write(c, "k", 1);
        }
        close(c);
    }
}

/* tcpbulk_connect: a connection to host:port with 60 s timeouts, or -1. */
static int tcpbulk_connect(const char *host, int port)
{
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_port = htons((unsigned short)port) };
    struct timeval tv = { 60, 0 };
    int s = socket(AF_INET, SOCK_STREAM, 0);

    if (s < 0 || inet_pton(AF_INET, host, &a.sin_addr) != 1)
        return -1;
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(s, (struct sockaddr *)&a, sizeof a) != 0) {
        close(s);
        return -1;
    }
    return s;
}

/* tcpbulk_run: one timed transfer (op 'S' or 'R') -> MB/s, or -1. */
static double tcpbulk_run(const char *host, int port, char op, long long n)
{
    char req[64];
    int s = tcpbulk_connect(host, port);
    int len = snprintf(req, sizeof req, "%c %lld\n", op, n);
    double t0 = tcpbulk_now();
    int bad;

    if (s < 0)
        return -1;
    bad = write(s, req, (size_t)len) != len;
    if (!bad && op == 'S')
        bad = tcpbulk_move(s, n, 0) != 0;
    else if (!bad)
        bad = tcpbulk_move(s, n, 1) != 0 || tcpbulk_move(s, 1, 0) != 0;
    double t = tcpbulk_now() - t0;
    close(s);
    return bad ? -1 : (double)n / t / 1e6;
}

int main(int argc, char **argv)
{
    memset(tcpbulk_buf, 'x', sizeof tcpbulk_buf);
    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return tcpbulk_serve(atoi(argv[2]));
    if (argc != 4) {
        fprintf(stderr, "usage: tcpbulk HOST PORT BYTES | tcpbulk serve "
                        "PORT\n");
        return 2;
    }
    long long n = atoll(argv[3]);
    double from = tcpbulk_run(argv[1], atoi(argv[2]), 'S', n);
    double to = from < 0 ? -1 : tcpbulk_run(argv[1], atoi(argv[2]), 'R', n);
    if (from < 0 || to < 0) {
        fprintf(stderr, "tcpbulk: the %s transfer failed or timed out\n",
                from < 0 ? "from-server" : "to-server");
        return 1;
    }
    printf("from_server %.1f to_server %.1f\n", from, to);
    return 0;
}
