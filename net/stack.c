/* stack.c: lwIP on the platform NIC: the netif driver, the poll step, sys_now. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lwip/dhcp.h"
#include "lwip/etharp.h"
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/pbuf.h"
#include "lwip/timeouts.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/tcp.h"
#include "netif/ethernet.h"

#include "lunik/platform.h"
#include "net.h"

#define NET_POLL_BUDGET 256     /* frames handed to lwIP per poll */
#define NET_RX_OVERHEAD 256     /* bytes: a pbuf's and its block's headers
                                   and the segment lwIP adds for TCP data */

static struct netif net_if;
static struct plat_net_info net_info;
static int net_started;
static uint64_t net_clock_zero; /* plat_clock_monotonic() at start, ns */
static unsigned int net_rand_state;

/* ------------------------------------------------- lwIP's port hooks */

/* The big-endian 16-bit value at p. */
static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* sys_now: milliseconds on the monotonic clock (lwIP 2.1 sys.h; NO_SYS). */
u32_t sys_now(void)
{
    return (u32_t)((plat_clock_monotonic() - net_clock_zero) / 1000000u);
}

/* lunik_net_rand: xorshift32 seeded from the clock and the MAC; lwIP uses
 * it for the first ephemeral port and DHCP transaction ids (cc.h), not for
 * anything secret. */
unsigned int lunik_net_rand(void)
{
    unsigned int x = net_rand_state;

    if (x == 0) {
        x = (unsigned int)plat_clock_wall() ^
            ((unsigned int)net_info.mac[4] << 8 | net_info.mac[5]) ^
            (unsigned int)plat_clock_monotonic();
        if (x == 0)
            x = 0x9e3779b9u;
    }
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    net_rand_state = x;
    return x;
}

/* lunik_net_diag: lwIP's LWIP_PLATFORM_DIAG (debug builds): to stderr. */
void lunik_net_diag(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fputs("lwip: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

/*
 * lwIP's LWIP_HOOK_IP4_INPUT, before each IPv4 packet is processed: a SYN
 * (without ACK) for a connection that lwIP still holds in TIME-WAIT, with
 * a sequence number past everything that connection received, ends the
 * TIME-WAIT so that the listener takes the SYN as a new connection (RFC
 * 9293 3.10.7.4 leaves this to the implementation; RFC 1122 4.2.2.13 and
 * RFC 6191 describe it, and Linux does it). lwIP alone answers such a SYN
 * with an ACK of the old connection, which the peer resets and retries
 * until the TIME-WAIT ends, two minutes later: slirp's port forwards give
 * the guest the host client's own port, which the host reuses sooner.
 * Never eats the packet: returns 0.
 */
int lunik_net_ip4_input(struct pbuf *p, struct netif *inp)
{
    const uint8_t *ip = p->payload, *tcp;
    size_t ihl;
    struct tcp_pcb *pcb;

    (void)inp;
    if (p->len < 20 || ip[9] != 6 || (get16(ip + 6) & 0x3fff) != 0)
        return 0;                       /* not TCP, or a fragment */
    ihl = (size_t)(ip[0] & 15) * 4;
    if (ihl < 20 || p->len < ihl + 20)
        return 0;
    tcp = ip + ihl;
    if ((tcp[13] & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
        return 0;
    u32_t seq = (u32_t)get16(tcp + 4) << 16 | get16(tcp + 6);
    u16_t src_port = get16(tcp), dst_port = get16(tcp + 2);
    for (pcb = tcp_tw_pcbs; pcb != NULL; pcb = pcb->next) {
        if (pcb->remote_port == src_port && pcb->local_port == dst_port &&
            memcmp(&pcb->remote_ip, ip + 12, 4) == 0 &&
            memcmp(&pcb->local_ip, ip + 16, 4) == 0) {
            if (TCP_SEQ_GT(seq, pcb->rcv_nxt))
                tcp_abort(pcb);         /* frees it; sends nothing */
            break;
        }
    }
    return 0;
}

/* ---------------------------------------------------------- the netif */

/* The checksum flags of a netif with checksum offload: lwIP makes every
 * checksum but TCP's (net_tcp_partial) and checks all of them. */
#define NET_CSUM_FLAGS (NETIF_CHECKSUM_ENABLE_ALL & ~NETIF_CHECKSUM_GEN_TCP)

/*
 * With checksum offload: when the n-byte frame f is an IPv4 TCP segment
 * (lwIP left its checksum 0), store the pseudo-header sum (RFC 9293
 * 3.1: source, destination, protocol, TCP length), not complemented, in
 * its checksum field and describe it in *h as NEEDS_CSUM (platform.h).
 * Other frames keep a zero header.
 */
static void net_tcp_partial(uint8_t *f, size_t n, struct virtio_net_hdr *h)
{
    const uint8_t *ip = f + PLAT_ETH_HEADER;
    size_t ihl, total;
    uint32_t sum;

    memset(h, 0, sizeof *h);
    if (n < PLAT_ETH_HEADER + 20 || get16(f + 12) != 0x0800 ||
        (ip[0] >> 4) != 4 || ip[9] != 6 || (get16(ip + 6) & 0x3fff) != 0)
        return;                         /* not IPv4 TCP, or a fragment */
    ihl = (size_t)(ip[0] & 15) * 4;
    total = get16(ip + 2);
    if (ihl < 20 || total < ihl + 20 || PLAT_ETH_HEADER + total > n)
        return;
    sum = (uint32_t)get16(ip + 12) + get16(ip + 14) + get16(ip + 16) +
          get16(ip + 18) + 6u + (uint32_t)(total - ihl);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    f[PLAT_ETH_HEADER + ihl + 16] = (uint8_t)(sum >> 8);
    f[PLAT_ETH_HEADER + ihl + 17] = (uint8_t)sum;
    h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    h->csum_start = (uint16_t)(PLAT_ETH_HEADER + ihl);
    h->csum_offset = 16;                /* TCP's checksum field */
}

/* linkoutput: one frame to the NIC. A chained pbuf is gathered into one
 * buffer first (the NIC takes contiguous frames). */
static err_t net_linkoutput(struct netif *nif, struct pbuf *p)
{
    static unsigned char frame[65535];  /* p->tot_len is a u16_t */
    struct virtio_net_hdr h;
    unsigned char *data = p->payload;

    (void)nif;
    if (p->next != NULL) {
        pbuf_copy_partial(p, frame, p->tot_len, 0);
        data = frame;
    }
    if (net_info.csum_offload)
        net_tcp_partial(data, p->tot_len, &h);
    /* A frame the back end drops is like a frame lost on the wire: TCP
     * retransmits it, so it is not an error for lwIP. */
    plat_net_send(data, p->tot_len, net_info.csum_offload ? &h : NULL);
    return ERR_OK;
}

static err_t net_netif_init(struct netif *nif)
{
    nif->name[0] = 'e';
    nif->name[1] = 'n';
    nif->mtu = net_info.mtu;
    nif->hwaddr_len = ETH_HWADDR_LEN;
    memcpy(nif->hwaddr, net_info.mac, ETH_HWADDR_LEN);
    nif->flags = NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP |
                 NETIF_FLAG_ETHERNET | NETIF_FLAG_LINK_UP;
    nif->output = etharp_output;
    nif->linkoutput = net_linkoutput;
    NETIF_SET_CHECKSUM_CTRL(nif, net_info.csum_offload ?
                                 NET_CSUM_FLAGS : NETIF_CHECKSUM_ENABLE_ALL);
    netif_set_hostname(nif, "lunik");
    return ERR_OK;
}

int lunik_net_start(void)
{
    ip4_addr_t addr, mask, gw;

    if (net_started)
        return 0;
    if (plat_net_info(&net_info) != 0)
        return -1;
    if (net_info.mtu < 576 || net_info.mtu > 65535 - PLAT_ETH_HEADER)
        net_info.mtu = 1500;
    net_clock_zero = plat_clock_monotonic();
    lwip_init();
    addr.addr = net_info.ipv4_addr;
    mask.addr = net_info.ipv4_netmask;
    gw.addr = net_info.ipv4_gateway;
    if (netif_add(&net_if, &addr, &mask, &gw, NULL, net_netif_init,
                  ethernet_input) == NULL)
        return -1;
    netif_set_default(&net_if);
    netif_set_up(&net_if);
    if (net_info.ipv4_addr == 0 && dhcp_start(&net_if) != ERR_OK)
        return -1;
    net_started = 1;
    return 0;
}

int lunik_net_poll(int frames)
{
    size_t room = (size_t)net_info.mtu + PLAT_ETH_HEADER;
    int n = 0;

    if (!net_started)
        return 0;
    while (frames && n < NET_POLL_BUDGET) {
        /* Receive straight into a pbuf: no copy after the NIC's. Its
         * block counts as received data (net.h) until it is freed. */
        struct pbuf *p = NULL;
        if (lunik_net_mem_room(room + NET_RX_OVERHEAD)) {
            lunik_net_mem_for(LUNIK_NET_MEM_RX);
            p = pbuf_alloc(PBUF_RAW, (u16_t)room, PBUF_RAM);
            lunik_net_mem_for(LUNIK_NET_MEM_OTHER);
        }
        struct virtio_net_hdr h;
        if (p == NULL) {
            /* No memory (lwIP's limit, net.h, or the C library's): take
             * the frame off the NIC and drop it, as a NIC out of receive
             * buffers does; TCP sends it again. Leaving it would stall
             * every frame behind it, the ACKs that free memory among
             * them. */
            static unsigned char drop[65536];
            if (plat_net_recv(drop, room, &h) <= 0)
                break;
            n++;
            continue;
        }
        long len = plat_net_recv(p->payload, room, &h);
        if (len <= 0) {
            pbuf_free(p);
            break;
        }
        pbuf_realloc(p, (u16_t)len);
        if (net_info.csum_offload) {    /* partial or checked: no check */
            u16_t flags = NET_CSUM_FLAGS;
            if (h.flags & (VIRTIO_NET_HDR_F_NEEDS_CSUM |
                           VIRTIO_NET_HDR_F_DATA_VALID))
                flags &= (u16_t)~(NETIF_CHECKSUM_CHECK_TCP |
                                  NETIF_CHECKSUM_CHECK_UDP);
            NETIF_SET_CHECKSUM_CTRL(&net_if, flags);
        }
        if (net_if.input(p, &net_if) != ERR_OK)
            pbuf_free(p);
        n++;
    }
    sys_check_timeouts();
    return n;
}

uint64_t lunik_net_timeout_ns(void)
{
    if (!net_started)
        return UINT64_MAX;
    u32_t ms = sys_timeouts_sleeptime();
    if (ms == SYS_TIMEOUTS_SLEEPTIME_INFINITE)
        return UINT64_MAX;
    return (uint64_t)ms * 1000000u;
}

uint32_t lunik_net_address(void)
{
    if (!net_started)
        return 0;
    return ip4_addr_get_u32(netif_ip4_addr(&net_if));
}
