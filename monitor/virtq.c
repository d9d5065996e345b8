/* virtq.c: the device side of a virtio split virtqueue, checking everything the guest wrote. */
#include "virtq.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Where avail_event lives: after the used ring's size elements. */
static uint16_t *avail_event(struct mon_virtq *q)
{
    return (uint16_t *)&q->used->ring[q->size];
}

/* Where used_event lives: after the available ring's size entries. */
static uint16_t *used_event(struct mon_virtq *q)
{
    return &q->avail->ring[q->size];
}

/* 1 when [gpa, gpa+len) lies inside guest memory, without overflow. */
static int inside(const struct mon_virtq *q, uint64_t gpa, uint64_t len)
{
    return gpa <= q->mem_size && len <= q->mem_size - gpa;
}

static int fail(struct mon_virtq *q, const char *fmt, uint64_t a,
                uint64_t b)
{
    char what[120];

    snprintf(what, sizeof what, fmt, a, b);
    snprintf(q->why, sizeof q->why, "%s: %s", q->name, what);
    return -1;
}

static int check_area(struct mon_virtq *q, const char *area, uint64_t gpa,
                      uint64_t len, uint64_t align)
{
    char fmt[96];

    if (inside(q, gpa, len) && gpa % align == 0)
        return 0;
    snprintf(fmt, sizeof fmt, "the %s at 0x%%" PRIx64 "+%%" PRIu64
             " is outside guest memory or misaligned", area);
    return fail(q, fmt, gpa, len);
}

int mon_virtq_start(struct mon_virtq *q, uint8_t *mem, uint64_t mem_size)
{
    q->mem = mem;
    q->mem_size = mem_size;
    if (q->size == 0 || q->size > q->max || (q->size & (q->size - 1)))
        return fail(q, "queue size %" PRIu64 " is not a power of 2 in "
                    "1..%" PRIu64, q->size, q->max);
    if (check_area(q, "descriptor table", q->desc_gpa,
                   VIRTQ_DESC_BYTES(q->size), 16) ||
        check_area(q, "available ring", q->avail_gpa,
                   VIRTQ_AVAIL_BYTES(q->size), 2) ||
        check_area(q, "used ring", q->used_gpa, VIRTQ_USED_BYTES(q->size), 4))
        return -1;
    q->desc = (struct virtq_desc *)(mem + q->desc_gpa);
    q->avail = (struct virtq_avail *)(mem + q->avail_gpa);
    q->used = (struct virtq_used *)(mem + q->used_gpa);
    q->last_avail = q->used_idx = q->signalled = 0;
    return 0;
}

void mon_virtq_reset(struct mon_virtq *q)
{
    q->size = 0;
    q->ready = 0;
    q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
    q->desc = NULL;
    q->avail = NULL;
    q->used = NULL;
    q->last_avail = q->used_idx = q->signalled = 0;
}

int mon_virtq_pending(struct mon_virtq *q)
{
    return __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE) != q->last_avail;
}

/* Add descriptor d (already copied out of guest memory) to chain c. */
static int chain_add(struct mon_virtq *q, struct mon_virtq_chain *c,
                     const struct virtq_desc *d, uint16_t i)
{
    struct iovec *v;

    if (!inside(q, d->addr, d->len))
        return fail(q, "descriptor %" PRIu64 " points outside guest memory "
                    "(0x%" PRIx64 " plus its length)", i, d->addr);
    if (d->flags & VIRTQ_DESC_F_WRITE) {
        if (c->nin == MON_VIRTQ_SEGS)
            return fail(q, "a chain has more than %" PRIu64 " writable "
                        "descriptors (at %" PRIu64 ")", MON_VIRTQ_SEGS, i);
        v = &c->in[c->nin++];
        c->in_len += d->len;
    } else {
        if (c->nin > 0)
            return fail(q, "descriptor %" PRIu64 " is readable after a "
                        "writable one (%" PRIu64 ")", i, 0);
        if (c->nout == MON_VIRTQ_SEGS)
            return fail(q, "a chain has more than %" PRIu64 " readable "
                        "descriptors (at %" PRIu64 ")", MON_VIRTQ_SEGS, i);
        v = &c->out[c->nout++];
        c->out_len += d->len;
    }
    v->iov_base = q->mem + d->addr;
    v->iov_len = d->len;
    return 0;
}

int mon_virtq_pop(struct mon_virtq *q, struct mon_virtq_chain *c)
{
    uint16_t avail = __atomic_load_n(&q->avail->idx, __ATOMIC_ACQUIRE);
    uint16_t ahead = (uint16_t)(avail - q->last_avail), i;
    struct virtq_desc d;

    if (ahead == 0)
        return 0;
    if (ahead > q->size)
        return fail(q, "the available index moved %" PRIu64 " entries "
                    "ahead, past the queue size %" PRIu64, ahead, q->size);
    i = __atomic_load_n(&q->avail->ring[q->last_avail & (q->size - 1)],
                        __ATOMIC_RELAXED);
    c->head = i;
    c->nout = c->nin = 0;
    c->out_len = c->in_len = 0;
    for (unsigned n = 0;; n++) {
        if (i >= q->size)
            return fail(q, "descriptor index %" PRIu64 " is past the queue "
                        "size %" PRIu64, i, q->size);
        if (n == q->size)
            return fail(q, "a descriptor chain is longer than the queue "
                        "size %" PRIu64 " (a loop, at %" PRIu64 ")", q->size,
                        i);
        memcpy(&d, &q->desc[i], sizeof d);      /* read once */
        if (chain_add(q, c, &d, i) != 0)
            return -1;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        i = d.next;
    }
    q->last_avail++;
    return 1;
}

void mon_virtq_push(struct mon_virtq *q, uint16_t head, uint32_t len)
{
    struct virtq_used_elem *e = &q->used->ring[q->used_idx & (q->size - 1)];

    e->id = head;
    e->len = len;
    q->used_idx++;
    __atomic_store_n(&q->used->idx, q->used_idx, __ATOMIC_RELEASE);
}

int mon_virtq_notify_due(struct mon_virtq *q)
{
    uint16_t old = q->signalled, event;

    if (old == q->used_idx)
        return 0;
    q->signalled = q->used_idx;
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    event = __atomic_load_n(used_event(q), __ATOMIC_RELAXED);
    return virtq_need_event(event, q->used_idx, old);
}

int mon_virtq_arm(struct mon_virtq *q)
{
    __atomic_store_n(avail_event(q), q->last_avail, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    return mon_virtq_pending(q);
}
