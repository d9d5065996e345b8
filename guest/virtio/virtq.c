/* virtq.c: the driver side of a virtio split virtqueue with event indices. */
#include "virtq.h"

static uint64_t up(uint64_t a, uint64_t align)
{
    return (a + align - 1) & ~(align - 1);
}

uint64_t gv_queue_bytes(uint16_t size)
{
    return up(up(VIRTQ_DESC_BYTES(size) + VIRTQ_AVAIL_BYTES(size), 4) +
              VIRTQ_USED_BYTES(size), 16);
}

void gv_queue_init(struct gv_queue *q, void *mem, uint16_t size,
                   uint16_t index, volatile uint32_t *notify)
{
    uint8_t *m = mem;

    q->size = size;
    q->index = index;
    q->desc = (struct virtq_desc *)m;
    q->avail = (struct virtq_avail *)(m + VIRTQ_DESC_BYTES(size));
    q->used = (struct virtq_used *)(m + up(VIRTQ_DESC_BYTES(size) +
                                           VIRTQ_AVAIL_BYTES(size), 4));
    q->avail_idx = q->kicked = q->last_used = 0;
    q->notify = notify;
    gv_queue_quiet(q);
}

void gv_queue_add(struct gv_queue *q, uint16_t id, const void *addr,
                  uint32_t len, int writable)
{
    struct virtq_desc *d = &q->desc[id];

    d->addr = (uint64_t)(uintptr_t)addr;
    d->len = len;
    d->flags = writable ? VIRTQ_DESC_F_WRITE : 0;
    d->next = 0;
    q->avail->ring[q->avail_idx & (q->size - 1)] = id;
    q->avail_idx++;
    __atomic_store_n(&q->avail->idx, q->avail_idx, __ATOMIC_RELEASE);
}

void gv_queue_kick(struct gv_queue *q)
{
    uint16_t old = q->kicked, event;

    if (old == q->avail_idx)
        return;
    q->kicked = q->avail_idx;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    event = __atomic_load_n((uint16_t *)&q->used->ring[q->size],
                            __ATOMIC_RELAXED);
    if (virtq_need_event(event, q->avail_idx, old))
        *q->notify = q->index;
}

int gv_queue_pending(const struct gv_queue *q)
{
    return __atomic_load_n(&q->used->idx, __ATOMIC_ACQUIRE) != q->last_used;
}

int gv_queue_take(struct gv_queue *q, uint16_t *id, uint32_t *len)
{
    const struct virtq_used_elem *e;

    if (!gv_queue_pending(q))
        return 0;
    e = &q->used->ring[q->last_used & (q->size - 1)];
    *id = (uint16_t)e->id;
    *len = e->len;
    q->last_used++;
    return 1;
}

int gv_queue_want(struct gv_queue *q)
{
    __atomic_store_n(&q->avail->ring[q->size], q->last_used,
                     __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return gv_queue_pending(q);
}

void gv_queue_quiet(struct gv_queue *q)
{
    __atomic_store_n(&q->avail->ring[q->size], (uint16_t)(q->last_used - 1),
                     __ATOMIC_RELAXED);
}
