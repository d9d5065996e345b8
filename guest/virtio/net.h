/* net.h: the guest's virtio-net driver: frames through the receive and transmit queues. */
#ifndef LUNIK_GUEST_VIRTIO_NET_H
#define LUNIK_GUEST_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "lunik/virtio.h"

/*
 * The NIC in slot LUNIK_VIRTIO_SLOT_NET (hypercall.h), started at the
 * first gv_net_start(). Each frame crosses in one buffer of one
 * descriptor: its virtio_net_hdr, then the frame. When the device offers
 * VIRTIO_NET_F_CSUM and VIRTIO_NET_F_GUEST_CSUM the driver takes both
 * (checksum offload, §5.1.6.2): a frame may then go out and come in with
 * a partial TCP or UDP checksum (NEEDS_CSUM); otherwise headers are zero. Sending copies the
 * frame once into a transmit buffer; receiving copies it once out of a
 * receive buffer (then the buffer goes back to the device). Notifications
 * to the device are held back (gv_net_flush()) so that a busy guest
 * makes few VM exits.
 */

/* gv_net_start: find and start the device: 0 with mac (6 bytes), *mtu
 * and *csum (1: checksum offload was negotiated) filled, or -1 when there
 * is none (or it refuses). */
int gv_net_start(uint8_t mac[6], uint16_t *mtu, int *csum);

/* gv_net_send: copy the frame of n bytes at p, behind its header h (a
 * NEEDS_CSUM one is kept with checksum offload; NULL or any other: a
 * zero header), into a transmit buffer and make it available. 0, or -1
 * when n does not fit a buffer. Waits for the device when every buffer
 * is with it. */
int gv_net_send(const void *p, size_t n, const struct virtio_net_hdr *h);

/* gv_net_recv: copy the oldest received frame to p (room n) and its
 * header to *h (flags 0 without checksum offload): its length, or 0 when
 * none waits. A frame longer than n is dropped. */
long gv_net_recv(void *p, size_t n, struct virtio_net_hdr *h);

/* gv_net_flush: notify the device of new transmit frames and receive
 * buffers if it asked to be told. */
void gv_net_flush(void);

/* gv_net_want: before waiting: 1 when a frame waits, else 0 after asking
 * for a notification when one comes. gv_net_quiet: after the wait. */
int gv_net_want(void);
void gv_net_quiet(void);

#endif
