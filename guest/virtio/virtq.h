/* virtq.h: the driver side of a virtio split virtqueue (virtio 1.2 §2.7), with VIRTIO_F_EVENT_IDX. */
#ifndef LUNIK_GUEST_VIRTQ_H
#define LUNIK_GUEST_VIRTQ_H

#include <stdint.h>

#include "lunik/virtio.h"

/*
 * One queue whose buffers are single descriptors: descriptor i always
 * describes the driver's buffer i, so a used id names the buffer. Needs
 * no C library (the test kernels use it too). Not thread-safe: the guest
 * has one thread.
 */
struct gv_queue {
    uint16_t size;                      /* entries, a power of 2 */
    uint16_t index;                     /* the queue's number in its device */
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t avail_idx;                 /* the available index we published */
    uint16_t kicked;                    /* avail_idx at the last notify check */
    uint16_t last_used;                 /* the next used entry to take */
    volatile uint32_t *notify;          /* QueueNotify register */
};

/*
 * gv_queue_bytes: bytes of ring memory gv_queue_init() needs for size
 * entries: the descriptor table, the available ring and the used ring,
 * each at its alignment (§2.7), the whole 16-byte aligned.
 */
uint64_t gv_queue_bytes(uint16_t size);

/*
 * gv_queue_init: lay out q's three areas in mem (gv_queue_bytes(size)
 * bytes, 16-aligned, zeroed by the caller) for queue `index` whose
 * QueueNotify register is notify. The device is told the areas' GPAs by
 * the transport (gv_mmio_queue()); guest virtual == guest physical.
 */
void gv_queue_init(struct gv_queue *q, void *mem, uint16_t size,
                   uint16_t index, volatile uint32_t *notify);

/*
 * gv_queue_add: make buffer id (< size) available: len bytes at addr,
 * device-writable when `writable`. Publishes the available index with
 * release order (§2.7.13). Does not notify: see gv_queue_kick().
 */
void gv_queue_add(struct gv_queue *q, uint16_t id, const void *addr,
                  uint32_t len, int writable);

/*
 * gv_queue_kick: notify the device (a QueueNotify write, a VM exit) if
 * the buffers added since the last kick pass the avail_event it asked
 * for (§2.7.10); otherwise the device is known to be looking already.
 */
void gv_queue_kick(struct gv_queue *q);

/* gv_queue_take: the next used buffer: 1 with *id and *len (bytes the
 * device wrote) set, or 0 when none is used yet. */
int gv_queue_take(struct gv_queue *q, uint16_t *id, uint32_t *len);

/*
 * gv_queue_want: ask for a used-buffer notification at the next used
 * entry (used_event = last_used), then look again after a full barrier:
 * 1 when a used entry is already there (do not wait), else 0.
 */
int gv_queue_want(struct gv_queue *q);

/* gv_queue_quiet: ask for no notification (used_event set just behind,
 * so it is passed only after 2^16 more entries). */
void gv_queue_quiet(struct gv_queue *q);

/* gv_queue_pending: 1 when a used entry waits to be taken. */
int gv_queue_pending(const struct gv_queue *q);

#endif
