/* control.c: the guest's control-channel driver: the client's bytes in through a receive queue, the program's out through a transmit queue. */
#include "control.h"

#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "lunik/hypercall.h"
#include "mmio.h"

#define IN_BUFS 4
#define IN_SIZE 16384u                  /* bytes each */
#define OUT_BUFS 4
#define OUT_SIZE 16384u
#define QSIZE 8                         /* entries per queue */

static struct {
    uintptr_t base;                     /* 0: not started */
    int absent;                         /* no device in the slot */
    struct gv_queue rx, tx;
    uint8_t *in[IN_BUFS], *out[OUT_BUFS];
    int cur;                            /* used receive buffer, or -1 */
    uint32_t len, at;                   /* its bytes, bytes read */
    uint16_t free[OUT_BUFS];            /* transmit buffers not with it */
    unsigned nfree;
} ctl = { .cur = -1 };

static void *alloc(size_t n, int zero)
{
    void *p = aligned_alloc(16, (n + 15) & ~(size_t)15);

    if (p == NULL)
        gv_binding_panic("no memory for the control channel's buffers");
    if (zero)
        memset(p, 0, n);
    return p;
}

int gv_control_start(void)
{
    uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                    VIRTIO_BIT(VIRTIO_F_EVENT_IDX);

    if (ctl.base != 0)
        return 0;
    if (ctl.absent)
        return -1;
    uintptr_t base = gv_binding_device(LUNIK_VIRTIO_SLOT_CONTROL,
                                       VIRTIO_ID_CONSOLE);
    if (base == 0 || gv_mmio_init(base, VIRTIO_ID_CONSOLE, want) == 0) {
        ctl.absent = 1;
        return -1;
    }
    if (gv_mmio_queue(base, &ctl.rx, VIRTIO_CONSOLE_RXQ, QSIZE,
                      alloc(gv_queue_bytes(QSIZE), 1)) < IN_BUFS ||
        gv_mmio_queue(base, &ctl.tx, VIRTIO_CONSOLE_TXQ, QSIZE,
                      alloc(gv_queue_bytes(QSIZE), 1)) < OUT_BUFS)
        gv_binding_panic("the control channel's queues are too small");
    for (unsigned i = 0; i < OUT_BUFS; i++)
        ctl.free[i] = (uint16_t)i;      /* allocated on first use */
    ctl.nfree = OUT_BUFS;
    for (unsigned i = 0; i < IN_BUFS; i++) {
        ctl.in[i] = alloc(IN_SIZE, 0);
        gv_queue_add(&ctl.rx, (uint16_t)i, ctl.in[i], IN_SIZE, 1);
    }
    gv_mmio_ready(base);
    ctl.base = base;
    gv_queue_kick(&ctl.rx);
    return 0;
}

/* Take back the transmit buffers the device is done with. */
static void reclaim(void)
{
    uint16_t id;
    uint32_t len;

    while (gv_queue_take(&ctl.tx, &id, &len))
        if (id < OUT_BUFS && ctl.nfree < OUT_BUFS)
            ctl.free[ctl.nfree++] = id;
}

/* A free transmit buffer's id; waits for the device when all are out. */
static uint16_t out_buffer(void)
{
    reclaim();
    while (ctl.nfree == 0) {
        gv_queue_kick(&ctl.tx);
        if (!gv_queue_want(&ctl.tx))
            gv_binding_wait(UINT64_MAX);
        gv_queue_quiet(&ctl.tx);
        reclaim();
    }
    uint16_t id = ctl.free[--ctl.nfree];
    if (ctl.out[id] == NULL)
        ctl.out[id] = alloc(OUT_SIZE, 0);
    return id;
}

void gv_control_write(const void *p, size_t n)
{
    const uint8_t *b = p;

    if (ctl.base == 0)
        return;
    do {                                /* n == 0: the hang-up's answer */
        size_t k = n < OUT_SIZE ? n : OUT_SIZE;
        uint16_t id = out_buffer();
        memcpy(ctl.out[id], b, k);
        gv_queue_add(&ctl.tx, id, ctl.out[id], (uint32_t)k, 0);
        gv_queue_kick(&ctl.tx);
        b += k;
        n -= k;
    } while (n > 0);
}

/* Make the next used receive buffer current; 1 data, 0 none, -1 a
 * hang-up (its buffer given back and acknowledged). */
static int next_input(void)
{
    uint16_t id;
    uint32_t len;

    while (ctl.cur < 0) {
        if (!gv_queue_take(&ctl.rx, &id, &len))
            return 0;
        if (id >= IN_BUFS)
            continue;
        if (len == 0) {
            gv_queue_add(&ctl.rx, id, ctl.in[id], IN_SIZE, 1);
            gv_queue_kick(&ctl.rx);
            gv_control_write(NULL, 0);
            return -1;
        }
        ctl.cur = id;
        ctl.len = len < IN_SIZE ? len : IN_SIZE;
        ctl.at = 0;
    }
    return 1;
}

long gv_control_read(void *p, size_t n)
{
    if (ctl.base == 0)
        return 0;
    if (ctl.cur < 0) {
        int r = next_input();
        if (r <= 0)
            return r;
    }
    size_t k = ctl.len - ctl.at;
    if (k > n)
        k = n;
    memcpy(p, ctl.in[ctl.cur] + ctl.at, k);
    ctl.at += (uint32_t)k;
    if (ctl.at == ctl.len) {            /* give the buffer back */
        gv_queue_add(&ctl.rx, (uint16_t)ctl.cur, ctl.in[ctl.cur], IN_SIZE, 1);
        gv_queue_kick(&ctl.rx);
        ctl.cur = -1;
    }
    return (long)k;
}

int gv_control_want(void)
{
    if (ctl.base == 0)
        return 0;
    if (ctl.cur >= 0)
        return 1;
    return gv_queue_want(&ctl.rx);
}

void gv_control_quiet(void)
{
    if (ctl.base != 0)
        gv_queue_quiet(&ctl.rx);
}
