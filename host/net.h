/* net.h: the NIC back ends (libslirp, tap) of the monitor and hosted target. */
#ifndef LUNIK_HOST_NET_H
#define LUNIK_HOST_NET_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "lunik/run.h"
#include "lunik/virtio.h"

/*
 * One NIC per process, opened by host_net_open() after host_init() and
 * before the program runs. Frames are Ethernet frames (destination MAC,
 * source MAC, EtherType, payload; no FCS), as in platform.h.
 *
 *   user  libslirp 4.7 (slirp_new): a NATed IPv4 network, by default
 *         10.0.2.0/24 with the host (gateway) at 10.0.2.2, DNS at 10.0.2.3
 *         and a DHCP server (RFC 2131) that hands out 10.0.2.15. Frames
 *         slirp sends to the guest wait in a queue of HOST_NET_RX_QUEUE
 *         frames (more are dropped). slirp's sockets and timers are served
 *         by host_wait() and, when the queue is empty, host_net_recv().
 *   tap   an existing Linux tap interface (/dev/net/tun, TUNSETIFF with
 *         IFF_TAP | IFF_NO_PI | IFF_VNET_HDR, non-blocking): each frame
 *         goes through one readv(2) or writev(2) behind its 12-byte
 *         struct virtio_net_hdr (TUNSETVNETHDRSZ); the kernel's tap queue
 *         is the RX queue. It offers checksum offload (csum_offload).
 *
 * Frames from the guest are checked before they reach a back end:
 * HOST_NET_ETH_HEADER <= n <= mtu + HOST_NET_ETH_HEADER, else refused.
 */
#define HOST_NET_ETH_HEADER 14u     /* bytes of Ethernet header */
#define HOST_NET_RX_QUEUE   4096u   /* frames slirp may queue for the guest */
#define HOST_NET_MTU_MIN    576u    /* bytes; RFC 791's minimum datagram */
#define HOST_NET_MTU_MAX    9000u   /* bytes; a jumbo frame's payload */

/* The NIC as the guest sees it (all IPv4 values in network byte order). */
struct host_net_info {
    uint8_t mac[6];             /* the guest NIC's MAC address */
    uint16_t mtu;               /* bytes of payload; frame <= mtu + 14 */
    uint32_t ipv4_addr;         /* fixed address, or 0: ask DHCP */
    uint32_t ipv4_netmask;      /* 0 with DHCP */
    uint32_t ipv4_gateway;      /* 0: none (DHCP, or tap without one) */
    int csum_offload;           /* 1: the back end takes frames whose TCP
                                   or UDP checksum is partial (virtio's
                                   NEEDS_CSUM) and, after
                                   host_net_set_csum_offload(1), gives
                                   such frames too (tap); 0: slirp */
};

/* Frame counters since host_net_open(). With LUNIK_NET_STATS set in
 * lunik's environment they are printed on stderr at exit (one line). */
struct host_net_stats {
    uint64_t tx_frames;         /* guest frames a back end took */
    uint64_t tx_refused;        /* guest frames of a bad length */
    uint64_t tx_dropped;        /* guest frames the back end could not take */
    uint64_t rx_frames;         /* frames host_net_recv() returned */
    uint64_t rx_dropped;        /* frames lost: queue full, bad length, or
                                   longer than host_net_recv()'s buffer */
};

/*
 * host_net_user_network: slirp's network for cfg (LUNIK_NET_USER): with a
 * fixed address (cfg->ipv4_addr != 0) the network is that address's
 * (ipv4_addr & ipv4_netmask), else 10.0.2.0/24. In it the host (the
 * gateway) is cfg->ipv4_gateway if set, else the network's .2 address;
 * DNS is the .3 address. Host port forwards go to guest: the fixed
 * address, else the first DHCP address (.15). All network byte order.
 */
struct host_net_user_addrs {
    uint32_t network, netmask, host, dns, guest;
};
void host_net_user_network(const struct lunik_net_config *cfg,
                           struct host_net_user_addrs *a);

/*
 * host_net_open: start the back end cfg names (LUNIK_NET_USER or
 * LUNIK_NET_TAP; cfg->mtu 0 means 1500 on user networking and the tap
 * interface's own MTU, at most HOST_NET_MTU_MAX, on a tap). User mode adds every host port
 * forward (libslirp slirp_add_hostfwd, which binds and, for TCP, listens
 * on the host address at once) and raises the soft RLIMIT_NOFILE to the
 * hard one (every forwarded connection is a host socket). Tap checks
 * that the interface exists (if_nametoindex(3)) and attaches to it.
 * Returns 0, or -1 with one sentence in why[0..n) (no "lunik: " prefix,
 * no full stop) naming the cause: "no network interface named 'X'",
 * "cannot forward host port 127.0.0.1:8080/tcp: Address already in use",
 * ...; nothing is left open then.
 */
int host_net_open(const struct lunik_net_config *cfg, char *why, size_t n);

/* host_net_close: stop the back end (slirp_cleanup, close the tap). */
void host_net_close(void);

/* host_net_info: describe the open NIC. 0, or -1 when none is open. */
int host_net_info(struct host_net_info *info);

/*
 * host_net_send: pass the frame of n bytes at p to the back end: slirp
 * (slirp_input, which copies it) or the tap (one writev(2)). h: its
 * virtio_net_hdr, or NULL for a frame whose checksums are complete.
 * Never blocks. Returns 0, or -1 when refused (no NIC; n < 14 or n > mtu
 * + 14; a header with flags other than none or, with csum_offload,
 * NEEDS_CSUM, a gso_type other than NONE, or a csum_start + csum_offset
 * + 2 past the frame: counted in tx_refused, never passed on) or dropped
 * (the tap's queue is full or its link is down: tx_dropped).
 */
int host_net_send(const struct virtio_net_hdr *h, const void *p, size_t n);
/*
 * host_net_recv: copy the oldest frame waiting for the guest to p (n bytes
 * of room) and its header to *h (all zero from slirp; from the tap,
 * NEEDS_CSUM only after host_net_set_csum_offload(1), DATA_VALID when the
 * kernel checked the checksum). Never blocks. With user mode and an
 * empty queue it first serves slirp's sockets and timers once (ppoll(2)
 * with a zero timeout), so a guest that never waits still makes
 * progress. Returns the frame's length (> 0), or 0 when none waits (or
 * no NIC). Frames longer than n or mtu + 14 are dropped (rx_dropped) and
 * the next one is tried.
 */
long host_net_recv(struct virtio_net_hdr *h, void *p, size_t n);
/*
 * host_net_set_csum_offload: with on = 1, frames for the guest may come
 * with a partial checksum (the tap's TUNSETOFFLOAD with TUN_F_CSUM: the
 * kernel then does not compute the checksums of frames it makes itself);
 * with 0 (the default) their checksums are complete. Only for a back end
 * with csum_offload, whose consumer takes NEEDS_CSUM frames (the driver
 * accepted VIRTIO_NET_F_GUEST_CSUM). Returns 0, or -1.
 */
int host_net_set_csum_offload(int on);
/* host_net_stats: the counters so far (zero when no NIC was opened). */
void host_net_stats(struct host_net_stats *s);

/*
 * For host_wait() (host.c) only: the pollfd set of one wait. The NIC
 * adds its descriptors, lowers the timeout for its own deadlines, and
 * reads the results after ppoll(2).
 */
struct host_pollset {
    struct pollfd *fds;
    unsigned n, cap;
};

/* host_pollset_add: append fd (events as poll(2)); its index, or -1 when
 * out of memory (the fd is then not watched). */
int host_pollset_add(struct host_pollset *ps, int fd, short events);

/*
 * host_net_poll_fill: add the NIC's descriptors to ps (slirp's sockets
 * always, so its connections progress whatever the guest waits for; the
 * tap only when want_frames) and lower *timeout_ns (UINT64_MAX: none) to
 * slirp's next timer. Does nothing without a NIC.
 */
void host_net_poll_fill(struct host_pollset *ps, int want_frames,
                        uint64_t *timeout_ns);

/*
 * host_net_poll_done: after ppoll(2) on ps (failed: it returned -1), let
 * slirp serve its sockets (slirp_pollfds_poll) and fire its due timers.
 * Returns 1 when a frame waits for host_net_recv(), else 0.
 */
int host_net_poll_done(const struct host_pollset *ps, int failed);

/* host_net_pending: 1 when a frame is known to wait (slirp's queue is not
 * empty) without polling anything; the tap needs ppoll(2) to tell. */
int host_net_pending(void);

#endif
