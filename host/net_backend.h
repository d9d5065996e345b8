/* net_backend.h: what host/net.c asks of each NIC back end. */
#ifndef LUNIK_HOST_NET_BACKEND_H
#define LUNIK_HOST_NET_BACKEND_H

#include "net.h"

/* The counters host_net_stats() reports; back ends count their drops. */
extern struct host_net_stats net_stats;

/*
 * Each back end has these calls, used only by net.c (net.c checks frame
 * lengths and counts tx_frames, tx_refused, tx_dropped and rx_frames):
 *   open       start; 0, or -1 with one sentence in why[0..n)
 *   close      stop and release everything
 *   send       take one checked frame (and its checked header; slirp
 *              gets none); 0, or -1 dropped
 *   recv       one frame of 14..max_frame bytes into p (room n), dropping
 *              longer ones, and its header to *h (zero from slirp); its
 *              length, or 0 when none waits
 *   poll_fill  / poll_done: as host_net_poll_fill() / _done()
 *   pending    1 when a frame waits without polling (slirp only: the
 *              tap's queue is the kernel's)
 */
int net_slirp_open(const struct lunik_net_config *cfg, char *why, size_t n);
void net_slirp_close(void);
int net_slirp_send(const void *p, size_t n);
long net_slirp_recv(struct virtio_net_hdr *h, void *p, size_t n,
                    size_t max_frame);
void net_slirp_poll_fill(struct host_pollset *ps, uint64_t *timeout_ns);
int net_slirp_poll_done(const struct host_pollset *ps, int failed);
int net_slirp_pending(void);

int net_tap_open(const struct lunik_net_config *cfg, char *why, size_t n);
/* net_tap_mtu: the open tap interface's MTU in bytes (SIOCGIFMTU, see
 * netdevice(7)), or -1. */
int net_tap_mtu(void);
void net_tap_close(void);
int net_tap_send(const struct virtio_net_hdr *h, const void *p, size_t n);
long net_tap_recv(struct virtio_net_hdr *h, void *p, size_t n,
                  size_t max_frame);
/* net_tap_offload: TUNSETOFFLOAD with TUN_F_CSUM (on) or none; 0 | -1. */
int net_tap_offload(int on);
void net_tap_poll_fill(struct host_pollset *ps, int want_frames);
int net_tap_poll_done(const struct host_pollset *ps, int failed);

#endif
