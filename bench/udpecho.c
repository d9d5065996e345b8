/* udpecho.c: UDP echo benchmark client (replies/s) and a baseline server. */
/*
 * Usage:
 *   udpecho HOST PORT [COUNT [WINDOW [SIZE [SECONDS]]]]
 *       send COUNT datagrams (default 200000) of SIZE bytes (default 64)
 *       to the echo server at HOST:PORT (an IPv4 dotted quad), keeping
 *       WINDOW (default 32) unanswered at a time; stop after SECONDS
 *       (default 10). A datagram unanswered for 100 ms counts as lost and
 *       its slot is reused. Prints one line:
 *         "replies R lost L seconds S rate P"  (P = replies per second)
 *   udpecho serve PORT
 *       echo every datagram back to its sender (recvfrom(2) / sendto(2)
 *       on 127.0.0.1:PORT) until killed: the host baseline.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define UDPECHO_MAX 65507       /* largest UDP payload over IPv4 */
#define UDPECHO_LOSS_MS 100     /* unanswered this long: lost */

/* udpecho_now: CLOCK_MONOTONIC in seconds. */
static double udpecho_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* udpecho_serve: echo datagrams on 127.0.0.1:port forever. */
static int udpecho_serve(int port)
{
    struct sockaddr_in sa = { .sin_family = AF_INET,
                              .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    static char buf[UDPECHO_MAX];
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("udpecho: bind");
        return 1;
    }
    for (;;) {
        struct sockaddr_in from;
        socklen_t len = sizeof from;
        ssize_t n = recvfrom(fd, buf, sizeof buf, 0,
                             (struct sockaddr *)&from, &len);
        if (n >= 0)
            sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, len);
    }
}

int main(int argc, char **argv)
{
    struct sockaddr_in sa = { .sin_family = AF_INET };
    static char buf[UDPECHO_MAX + 1];
    long count = 200000, window = 32, size = 64, sent = 0, replies = 0;
    long lost = 0, out = 0;
    double secs = 10, start, last_reply, end;
    int fd;

    if (argc == 3 && strcmp(argv[1], "serve") == 0)
        return udpecho_serve(atoi(argv[2]));
    if (argc < 3 || argc > 7 ||
        inet_pton(AF_INET, argv[1], &sa.sin_addr) != 1) {
        fprintf(stderr, "usage: udpecho HOST PORT [COUNT [WINDOW [SIZE "
                "[SECONDS]]]] | udpecho serve PORT\n");
        return 2;
    }
    sa.sin_port = htons((uint16_t)atoi(argv[2]));
    if (argc > 3)
        count = atol(argv[3]);
    if (argc > 4)
        window = atol(argv[4]);
    if (argc > 5)
        size = atol(argv[5]);
    if (argc > 6)
        secs = atof(argv[6]);
    if (count < 1 || window < 1 || size < 1 || size > UDPECHO_MAX ||
        secs <= 0) {
        fprintf(stderr, "udpecho: bad COUNT, WINDOW, SIZE or SECONDS\n");
        return 2;
    }
    fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        perror("udpecho: connect");
        return 1;
    }
    memset(buf, 'u', (size_t)size);
    start = last_reply = udpecho_now();
    end = start + secs;
    while (replies + lost < count) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        double now;
        int r;

        while (out < window && sent < count) {
            if (send(fd, buf, (size_t)size, 0) < 0) {
                if (errno == ECONNREFUSED)  /* an earlier ICMP: retry */
                    continue;
                perror("udpecho: send");
                return 1;
            }
            sent++;
            out++;
        }
        r = poll(&p, 1, UDPECHO_LOSS_MS);
        now = udpecho_now();
        if (now >= end)
            break;
        if (r == 0 || now - last_reply > UDPECHO_LOSS_MS / 1000.0) {
            lost += out;            /* nothing back for a while */
            out = 0;
            last_reply = now;
            continue;
        }
        while (recv(fd, buf + UDPECHO_MAX - size, (size_t)size,
                    MSG_DONTWAIT) > 0) {
            replies++;
            if (out > 0)
                out--;
            last_reply = now;
        }
    }
    end = udpecho_now();
    printf("replies %ld lost %ld seconds %.3f rate %.0f\n", replies, lost,
           end - start, replies / (end - start));
    return replies > 0 ? 0 : 1;
}
