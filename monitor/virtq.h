/* virtq.h: the device side of a virtio split virtqueue; every index, address and length the guest wrote is checked here. */
#ifndef LUNIK_MONITOR_VIRTQ_H
#define LUNIK_MONITOR_VIRTQ_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "lunik/virtio.h"

/* Segments of one descriptor chain the device handles at most; a longer
 * chain (legal up to the queue size) is refused as a device error. */
#define MON_VIRTQ_SEGS 16

/*
 * One queue. The transport (virtio_mmio.c, vCPU thread) fills size and
 * the three GPAs while the driver sets the queue up; mon_virtq_start()
 * checks them and maps the areas; from then on only the device's own
 * thread touches the queue. Guest memory is shared with a running, maybe
 * hostile vCPU: every guest value is read once into a local, checked, and
 * only then used.
 */
struct mon_virtq {
    const char *name;                   /* "virtio-net TX queue", reports */
    uint16_t size;                      /* entries (QueueNum) */
    uint16_t max;                       /* QueueNumMax offered */
    uint32_t ready;                     /* QueueReady */
    uint64_t desc_gpa, avail_gpa, used_gpa;
    /* set by mon_virtq_start() */
    uint8_t *mem;                       /* guest memory, mem_size bytes */
    uint64_t mem_size;
    struct virtq_desc *desc;
    struct virtq_avail *avail;
    struct virtq_used *used;
    uint16_t last_avail;                /* next available-ring entry to take */
    uint16_t used_idx;                  /* the used ring's idx, our copy */
    uint16_t signalled;                 /* used_idx at the last notify check */
    char why[160];                      /* the last error, one sentence */
};

/* One descriptor chain taken from the available ring: host addresses of
 * its device-readable (out) then device-writable (in) segments. */
struct mon_virtq_chain {
    uint16_t head;                      /* the id to give back in the used ring */
    unsigned nout, nin;
    uint64_t out_len, in_len;           /* bytes in each direction */
    struct iovec out[MON_VIRTQ_SEGS], in[MON_VIRTQ_SEGS];
};

/*
 * mon_virtq_start: check the queue the driver set up (virtio 1.2 §2.7,
 * §4.2.3.2: size a power of 2 in 1..max; descriptor table, available and
 * used rings inside the mem_size bytes of guest memory at mem, aligned
 * 16, 2 and 4) and map it; the device then starts at index 0 both ways.
 * Returns 0, or -1 with one sentence in q->why.
 */
int mon_virtq_start(struct mon_virtq *q, uint8_t *mem, uint64_t mem_size);

/* mon_virtq_reset: forget the driver's set-up (device reset, §2.4). */
void mon_virtq_reset(struct mon_virtq *q);

/*
 * mon_virtq_pop: take the next available chain into c (§2.7.13.4, read
 * by the device as §2.7.5): the available index read once and checked to
 * be at most size ahead of the last one taken; the head and every `next`
 * below size; at most size descriptors per chain (so a loop ends in an
 * error); each descriptor's addr+len inside guest memory with no
 * overflow; readable descriptors before writable ones (§2.7.4.2); no
 * indirect descriptors (VIRTIO_F_INDIRECT_DESC is not offered). Returns
 * 1 with c filled, 0 when nothing is available, -1 with q->why set when
 * the driver broke a rule (the device must then stop using the queue).
 */
int mon_virtq_pop(struct mon_virtq *q, struct mon_virtq_chain *c);

/*
 * mon_virtq_push: give chain head back in the used ring with len bytes
 * written (§2.7.8), publishing the new used index with release order.
 */
void mon_virtq_push(struct mon_virtq *q, uint16_t head, uint32_t len);

/*
 * mon_virtq_notify_due: 1 when the used entries pushed since the last
 * call pass the driver's used_event (§2.7.10, VIRTIO_F_EVENT_IDX), so
 * the driver must be notified; after a full barrier, as the driver sets
 * used_event, then re-checks the used index.
 */
int mon_virtq_notify_due(struct mon_virtq *q);

/*
 * mon_virtq_arm: ask the driver to notify when it adds past what the
 * device has taken (avail_event = last_avail, §2.7.10), then, after a
 * full barrier, look again: returns 1 when chains are already available
 * (the device must not sleep), 0 when it may wait for a notification.
 */
int mon_virtq_arm(struct mon_virtq *q);

/* mon_virtq_pending: 1 when the available index is ahead of the device
 * (read once, acquire order), else 0. */
int mon_virtq_pending(struct mon_virtq *q);

#endif
