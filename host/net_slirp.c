/* net_slirp.c: user-mode networking: libslirp, its sockets, timers, queue. */
#include "net_backend.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include <slirp/libslirp.h>

#include "host.h"

/*
 * Frames slirp sends to the guest (SlirpCb.send_packet) are copied into a
 * ring of HOST_NET_RX_QUEUE slots of mtu + 14 bytes each (malloc'd: pages
 * are only touched as the ring fills); when it is full they are dropped,
 * as by a NIC whose RX ring is full (TCP retransmits). The ring is long
 * because slirp accepts every waiting connection of a forwarded port at
 * once and sends the guest a SYN for each: a SYN dropped here costs the
 * client slirp's retransmission timeout, seconds.
 */
static Slirp *slirp;
static unsigned char *rx_ring;          /* HOST_NET_RX_QUEUE slots */
static uint32_t *rx_len;                /* bytes in each slot */
static size_t rx_slot;                  /* bytes per slot: mtu + 14 */
static unsigned rx_head, rx_count;      /* oldest slot; slots in use */
static int kicked;                      /* notify(): poll again at once */
static int guest_error_told;            /* guest_error() printed once */
static struct host_pollset own_ps;      /* host_net_recv()'s own polling */

/* A slirp timer (timer_new_opaque or timer_new); expire_ms < 0: idle. */
struct net_timer {
    struct net_timer *next;
    SlirpTimerId id;                    /* for slirp_handle_timer() */
    SlirpTimerCb cb;                    /* timer_new's callback, or NULL */
    void *cb_opaque;
    int64_t expire_ms;                  /* on clock_get_ns() / 1e6 */
};
static struct net_timer *timers;

/* ---- SlirpCb ---- */

static ssize_t cb_send_packet(const void *buf, size_t len, void *opaque)
{
    unsigned tail;

    (void)opaque;
    if (len < HOST_NET_ETH_HEADER || len > rx_slot ||
        rx_count == HOST_NET_RX_QUEUE) {
        net_stats.rx_dropped++;
        return (ssize_t)len;            /* dropped, as on the wire */
    }
    tail = (rx_head + rx_count) % HOST_NET_RX_QUEUE;
    memcpy(rx_ring + (size_t)tail * rx_slot, buf, len);
    rx_len[tail] = (uint32_t)len;
    rx_count++;
    return (ssize_t)len;
}

static void cb_guest_error(const char *msg, void *opaque)
{
    (void)opaque;
    if (guest_error_told++ == 0)
        fprintf(stderr, "lunik: network: libslirp saw a bad frame from the "
                "guest: %s (further ones are not reported)\n", msg);
}

static int64_t cb_clock_get_ns(void *opaque)
{
    (void)opaque;
    return (int64_t)host_clock_monotonic();
}

static void *timer_add(SlirpTimerId id, SlirpTimerCb cb, void *cb_opaque)
{
    struct net_timer *t = calloc(1, sizeof *t);

    if (t == NULL) {
        fprintf(stderr, "lunik: network: out of memory for a timer\n");
        abort();                        /* slirp cannot take a NULL */
    }
    t->id = id;
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    t->expire_ms = -1;
    t->next = timers;
    timers = t;
    return t;
}

static void *cb_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    (void)opaque;
    return timer_add(SLIRP_TIMER_NUM, cb, cb_opaque);
}

static void *cb_timer_new_opaque(SlirpTimerId id, void *cb_opaque,
                                 void *opaque)
{
    (void)opaque;
    return timer_add(id, NULL, cb_opaque);
}

static void cb_timer_free(void *timer, void *opaque)
{
    (void)opaque;
    for (struct net_timer **p = &timers; *p != NULL; p = &(*p)->next) {
        if (*p == timer) {
            *p = (*p)->next;
            free(timer);
            return;
        }
    }
}

/* expire_time: milliseconds on clock_get_ns()'s clock (libslirp.h). */
static void cb_timer_mod(void *timer, int64_t expire_time, void *opaque)
{
    (void)opaque;
    ((struct net_timer *)timer)->expire_ms = expire_time;
}

/* slirp_pollfds_fill() hands over every socket before each wait, so a
 * socket's registration needs nothing more. */
static void cb_register_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

static void cb_unregister_poll_fd(int fd, void *opaque)
{
    (void)fd;
    (void)opaque;
}

/* "New events may be processed": the next wait polls without sleeping. */
static void cb_notify(void *opaque)
{
    (void)opaque;
    kicked = 1;
}

static void cb_init_completed(Slirp *s, void *opaque)
{
    (void)opaque;
    slirp = s;
}

static const SlirpCb callbacks = {
    .send_packet = cb_send_packet,
    .guest_error = cb_guest_error,
    .clock_get_ns = cb_clock_get_ns,
    .timer_new = cb_timer_new,
    .timer_free = cb_timer_free,
    .timer_mod = cb_timer_mod,
    .register_poll_fd = cb_register_poll_fd,
    .unregister_poll_fd = cb_unregister_poll_fd,
    .notify = cb_notify,
    .init_completed = cb_init_completed,
    .timer_new_opaque = cb_timer_new_opaque,
};

/* ---- polling ---- */

static int cb_add_poll(int fd, int events, void *opaque)
{
    short ev = 0;

    if (events & SLIRP_POLL_IN)
        ev |= POLLIN;
    if (events & SLIRP_POLL_OUT)
        ev |= POLLOUT;
    if (events & SLIRP_POLL_PRI)
        ev |= POLLPRI;
    return host_pollset_add(opaque, fd, ev);
}

static int cb_get_revents(int idx, void *opaque)
{
    const struct host_pollset *ps = opaque;
    short re;
    int r = 0;

    if (idx < 0 || (unsigned)idx >= ps->n)
        return 0;
    re = ps->fds[idx].revents;
    if (re & POLLIN)
        r |= SLIRP_POLL_IN;
    if (re & POLLOUT)
        r |= SLIRP_POLL_OUT;
    if (re & POLLPRI)
        r |= SLIRP_POLL_PRI;
    if (re & (POLLERR | POLLNVAL))
        r |= SLIRP_POLL_ERR;
    if (re & POLLHUP)
        r |= SLIRP_POLL_HUP;
    return r;
}

void net_slirp_poll_fill(struct host_pollset *ps, uint64_t *timeout_ns)
{
    uint32_t ms = UINT32_MAX;
    int64_t now_ms = (int64_t)(host_clock_monotonic() / 1000000u);

    slirp_pollfds_fill(slirp, &ms, cb_add_poll, ps);
    if (ms != UINT32_MAX && (uint64_t)ms * 1000000u < *timeout_ns)
        *timeout_ns = (uint64_t)ms * 1000000u;
    for (const struct net_timer *t = timers; t != NULL; t = t->next) {
        if (t->expire_ms < 0)
            continue;
        uint64_t in = t->expire_ms > now_ms
                    ? (uint64_t)(t->expire_ms - now_ms) * 1000000u : 0;
        if (in < *timeout_ns)
            *timeout_ns = in;
    }
    if (kicked)
        *timeout_ns = 0;
    kicked = 0;
}

/* Fire every due timer; a callback may change the list, so rescan. */
static void run_timers(void)
{
    int64_t now_ms = (int64_t)(host_clock_monotonic() / 1000000u);
    struct net_timer *t;

    for (;;) {
        for (t = timers; t != NULL; t = t->next)
            if (t->expire_ms >= 0 && t->expire_ms <= now_ms)
                break;
        if (t == NULL)
            return;
        t->expire_ms = -1;
        if (t->cb != NULL)
            t->cb(t->cb_opaque);
        else
            slirp_handle_timer(slirp, t->id, t->cb_opaque);
    }
}

int net_slirp_poll_done(const struct host_pollset *ps, int failed)
{
    slirp_pollfds_poll(slirp, failed, cb_get_revents, (void *)ps);
    run_timers();
    return rx_count > 0;
}

int net_slirp_pending(void)
{
    return rx_count > 0;
}

/* One pass over slirp's sockets and timers without sleeping. */
static void serve_now(void)
{
    struct timespec zero = { 0, 0 };
    uint64_t timeout = 0;
    int r;

    own_ps.n = 0;
    net_slirp_poll_fill(&own_ps, &timeout);
    r = ppoll(own_ps.fds, own_ps.n, &zero, NULL);
    net_slirp_poll_done(&own_ps, r < 0);
}

/* ---- frames ---- */

int net_slirp_send(const void *p, size_t n)
{
    slirp_input(slirp, p, (int)n);
    return 0;
}

long net_slirp_recv(struct virtio_net_hdr *h, void *p, size_t n,
                    size_t max_frame)
{
    memset(h, 0, sizeof *h);            /* slirp's checksums are complete */
    if (rx_count == 0)
        serve_now();
    while (rx_count > 0) {
        size_t len = rx_len[rx_head];
        const unsigned char *f = rx_ring + (size_t)rx_head * rx_slot;
        rx_head = (rx_head + 1) % HOST_NET_RX_QUEUE;
        rx_count--;
        if (len > n || len > max_frame) {
            net_stats.rx_dropped++;
            continue;
        }
        memcpy(p, f, len);
        return (long)len;
    }
    return 0;
}

/* ---- start and stop ---- */

static const char *dotted(uint32_t a, char *buf)
{
    struct in_addr in = { .s_addr = a };

    return inet_ntop(AF_INET, &in, buf, INET_ADDRSTRLEN);
}

/* Raise the soft limit on descriptors to the hard one: each connection
 * through a host port forward is a socket of this process. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/*
 * libslirp listens on a forwarded TCP port with a backlog of 1 (its
 * tcp_listen calls listen(s, 1)), so a burst of connections overflows the
 * kernel's accept queue and clients wait for SYN retransmissions (seconds).
 * Raise it on the listening socket of host port `port`: listen(2) again on
 * a listening socket only changes its backlog. Best effort.
 */
static void raise_backlog(uint32_t addr, uint16_t port)
{
    struct rlimit rl;
    int max = 1024;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536)
        max = (int)rl.rlim_cur;
    for (int fd = 3; fd < max; fd++) {
        struct sockaddr_in sa;
        socklen_t len = sizeof sa;
        int on = 0;
        socklen_t olen = sizeof on;
        if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &olen) != 0 ||
            !on || getsockname(fd, (struct sockaddr *)&sa, &len) != 0 ||
            sa.sin_family != AF_INET || ntohs(sa.sin_port) != port ||
            sa.sin_addr.s_addr != addr)
            continue;
        listen(fd, SOMAXCONN);
    }
}

static int add_forwards(const struct lunik_net_config *cfg, uint32_t guest,
                        char *why, size_t n)
{
    char host[INET_ADDRSTRLEN];

    for (int i = 0; i < cfg->nforwards; i++) {
        const struct lunik_net_forward *f = &cfg->forwards[i];
        struct in_addr h = { .s_addr = f->host_addr };
        struct in_addr g = { .s_addr = guest };
        errno = 0;
        if (slirp_add_hostfwd(slirp, f->udp, h, f->host_port, g,
                              f->guest_port) < 0) {
            int e = errno;
            snprintf(why, n, "cannot forward host port %s:%u/%s: %s",
                     dotted(f->host_addr, host), f->host_port,
                     f->udp ? "udp" : "tcp",
                     e ? strerror(e) : "libslirp refused it");
            return -1;
        }
        if (!f->udp)
            raise_backlog(f->host_addr, f->host_port);
    }
    return 0;
}

int net_slirp_open(const struct lunik_net_config *cfg, char *why, size_t n)
{
    struct host_net_user_addrs a;
    SlirpConfig sc;
    uint16_t mtu = cfg->mtu != 0 ? cfg->mtu : 1500;

    host_net_user_network(cfg, &a);
    if ((a.host & a.netmask) != a.network || a.host == a.guest ||
        a.dns == a.guest || a.dns == a.host) {
        snprintf(why, n, "the guest address collides with user-mode "
                 "networking's gateway (.2) or DNS (.3) address");
        return -1;
    }
    rx_slot = (size_t)mtu + HOST_NET_ETH_HEADER;
    rx_ring = malloc(rx_slot * HOST_NET_RX_QUEUE);
    rx_len = calloc(HOST_NET_RX_QUEUE, sizeof *rx_len);
    if (rx_ring == NULL || rx_len == NULL) {
        snprintf(why, n, "out of memory for the network queue");
        net_slirp_close();
        return -1;
    }
    rx_head = rx_count = 0;
    memset(&sc, 0, sizeof sc);
    sc.version = 4;
    sc.in_enabled = true;
    sc.vnetwork.s_addr = a.network;
    sc.vnetmask.s_addr = a.netmask;
    sc.vhost.s_addr = a.host;
    sc.vnameserver.s_addr = a.dns;
    sc.vdhcp_start.s_addr = a.guest;
    sc.in6_enabled = false;
    sc.vhostname = "lunik";
    sc.if_mtu = mtu;
    sc.if_mru = mtu;
    sc.disable_dhcp = cfg->ipv4_addr != 0;      /* a fixed address */
    slirp = slirp_new(&sc, &callbacks, NULL);
    if (slirp == NULL) {
        snprintf(why, n, "libslirp could not start user-mode networking");
        net_slirp_close();
        return -1;
    }
    raise_fd_limit();
    if (add_forwards(cfg, a.guest, why, n) < 0) {
        net_slirp_close();
        return -1;
    }
    return 0;
}

void net_slirp_close(void)
{
    if (slirp != NULL)
        slirp_cleanup(slirp);           /* frees its timers (timer_free) */
    slirp = NULL;
    while (timers != NULL) {
        struct net_timer *t = timers;
        timers = t->next;
        free(t);
    }
    free(rx_ring);
    free(rx_len);
    free(own_ps.fds);
    rx_ring = NULL;
    rx_len = NULL;
    own_ps = (struct host_pollset){ 0 };
    rx_count = 0;
    kicked = guest_error_told = 0;
}
