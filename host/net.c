/* net.c: the NIC of both targets: frame checks, counters, back-end choice. */
#include "net_backend.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct host_net_stats net_stats;

static int nic_kind = LUNIK_NET_NONE;   /* the open back end */
static struct host_net_info nic_info;

void host_net_user_network(const struct lunik_net_config *cfg,
                           struct host_net_user_addrs *a)
{
    if (cfg->ipv4_addr != 0) {
        a->netmask = cfg->ipv4_netmask;
        a->network = cfg->ipv4_addr & cfg->ipv4_netmask;
        a->guest = cfg->ipv4_addr;
    } else {
        a->netmask = htonl(0xffffff00u);
        a->network = htonl(0x0a000200u);            /* 10.0.2.0/24 */
        a->guest = a->network | htonl(15);
    }
    a->host = cfg->ipv4_gateway != 0 ? cfg->ipv4_gateway
                                     : a->network | htonl(2);
    a->dns = a->network | htonl(3);
}

/* LUNIK_NET_STATS in lunik's environment: the counters, at exit. */
static void print_stats(void)
{
    fprintf(stderr, "lunik: network: tx %llu frames, %llu refused, %llu "
            "dropped; rx %llu frames, %llu dropped\n",
            (unsigned long long)net_stats.tx_frames,
            (unsigned long long)net_stats.tx_refused,
            (unsigned long long)net_stats.tx_dropped,
            (unsigned long long)net_stats.rx_frames,
            (unsigned long long)net_stats.rx_dropped);
}

int host_net_open(const struct lunik_net_config *cfg, char *why, size_t n)
{
    static int stats_told, close_told;
    struct host_net_user_addrs ua;
    int r;

    if (nic_kind != LUNIK_NET_NONE) {
        snprintf(why, n, "a network device is already open");
        return -1;
    }
    memset(&nic_info, 0, sizeof nic_info);
    memcpy(nic_info.mac, cfg->mac, sizeof nic_info.mac);
    nic_info.mtu = cfg->mtu != 0 ? cfg->mtu : 1500;
    if (nic_info.mtu < HOST_NET_MTU_MIN || nic_info.mtu > HOST_NET_MTU_MAX) {
        snprintf(why, n, "MTU %u is outside %u..%u", nic_info.mtu,
                 HOST_NET_MTU_MIN, HOST_NET_MTU_MAX);
        return -1;
    }
    if (cfg->ipv4_addr != 0) {
        nic_info.ipv4_addr = cfg->ipv4_addr;
        nic_info.ipv4_netmask = cfg->ipv4_netmask;
        nic_info.ipv4_gateway = cfg->ipv4_gateway;
    }
    memset(&net_stats, 0, sizeof net_stats);
    switch (cfg->kind) {
    case LUNIK_NET_USER:
        r = net_slirp_open(cfg, why, n);
        if (r == 0 && cfg->ipv4_addr != 0) {
            host_net_user_network(cfg, &ua);
            nic_info.ipv4_gateway = ua.host;     /* slirp is the gateway */
        }
        break;
    case LUNIK_NET_TAP:
        r = net_tap_open(cfg, why, n);
        nic_info.csum_offload = r == 0;
        if (r == 0 && cfg->mtu == 0) {     /* the tap's own, up to the max */
            int m = net_tap_mtu();
            if (m >= (int)HOST_NET_MTU_MIN)
                nic_info.mtu = m > (int)HOST_NET_MTU_MAX ? HOST_NET_MTU_MAX
                                                         : (uint16_t)m;
        }
        break;
    default:
        snprintf(why, n, "unknown network kind %d", cfg->kind);
        return -1;
    }
    if (r == 0)
        nic_kind = cfg->kind;
    /* At exit(3) too: a tap's offload settings outlive its descriptor
     * (net_tap_close puts them back). */
    if (r == 0 && !close_told++)
        atexit(host_net_close);
    if (r == 0 && getenv("LUNIK_NET_STATS") != NULL && !stats_told++)
        atexit(print_stats);
    return r;
}

void host_net_close(void)
{
    if (nic_kind == LUNIK_NET_USER)
        net_slirp_close();
    else if (nic_kind == LUNIK_NET_TAP)
        net_tap_close();
    nic_kind = LUNIK_NET_NONE;
}

int host_net_info(struct host_net_info *info)
{
    if (nic_kind == LUNIK_NET_NONE)
        return -1;
    *info = nic_info;
    return 0;
}

/* Is h a header the back end may get for a frame of n bytes? (None,
 * or with csum_offload a partial checksum inside the frame.) */
static int header_ok(const struct virtio_net_hdr *h, size_t n)
{
    if (h->gso_type != VIRTIO_NET_HDR_GSO_NONE)
        return 0;
    if (h->flags == 0)
        return 1;
    return h->flags == VIRTIO_NET_HDR_F_NEEDS_CSUM && nic_info.csum_offload &&
           (size_t)h->csum_start + h->csum_offset + 2u <= n;
}

int host_net_send(const struct virtio_net_hdr *h, const void *p, size_t n)
{
    static const struct virtio_net_hdr none;
    int r;

    if (nic_kind == LUNIK_NET_NONE)
        return -1;
    if (h == NULL)
        h = &none;
    if (n < HOST_NET_ETH_HEADER ||
        n > (size_t)nic_info.mtu + HOST_NET_ETH_HEADER || !header_ok(h, n)) {
        net_stats.tx_refused++;
        return -1;
    }
    r = nic_kind == LUNIK_NET_USER ? net_slirp_send(p, n)
                                   : net_tap_send(h, p, n);
    if (r == 0)
        net_stats.tx_frames++;
    else
        net_stats.tx_dropped++;
    return r;
}

long host_net_recv(struct virtio_net_hdr *h, void *p, size_t n)
{
    size_t max = (size_t)nic_info.mtu + HOST_NET_ETH_HEADER;
    long r;

    if (nic_kind == LUNIK_NET_USER)
        r = net_slirp_recv(h, p, n, max);
    else if (nic_kind == LUNIK_NET_TAP)
        r = net_tap_recv(h, p, n, max);
    else
        return 0;
    if (r > 0)
        net_stats.rx_frames++;
    return r;
}

int host_net_set_csum_offload(int on)
{
    if (nic_kind != LUNIK_NET_TAP)
        return on ? -1 : 0;
    return net_tap_offload(on);
}

void host_net_stats(struct host_net_stats *s)
{
    *s = net_stats;
}

int host_pollset_add(struct host_pollset *ps, int fd, short events)
{
    if (ps->n == ps->cap) {
        unsigned cap = ps->cap ? ps->cap * 2 : 64;
        struct pollfd *f = realloc(ps->fds, cap * sizeof *f);
        if (f == NULL)
            return -1;
        ps->fds = f;
        ps->cap = cap;
    }
    ps->fds[ps->n] = (struct pollfd){ .fd = fd, .events = events };
    return (int)ps->n++;
}

void host_net_poll_fill(struct host_pollset *ps, int want_frames,
                        uint64_t *timeout_ns)
{
    if (nic_kind == LUNIK_NET_USER)
        net_slirp_poll_fill(ps, timeout_ns);
    else if (nic_kind == LUNIK_NET_TAP)
        net_tap_poll_fill(ps, want_frames);
}

int host_net_poll_done(const struct host_pollset *ps, int failed)
{
    if (nic_kind == LUNIK_NET_USER)
        return net_slirp_poll_done(ps, failed);
    if (nic_kind == LUNIK_NET_TAP)
        return net_tap_poll_done(ps, failed);
    return 0;
}

int host_net_pending(void)
{
    return nic_kind == LUNIK_NET_USER && net_slirp_pending();
}
