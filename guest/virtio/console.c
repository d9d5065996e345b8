/* console.c: the guest's virtio console driver: output in batches through the transmit queues, stdin through the receive queue. */
#include "console.h"

#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "lunik/hypercall.h"
#include "mmio.h"

#define OUT_BUFS 4                      /* stdout buffers */
#define OUT_SIZE 32768u                 /* bytes each */
#define ERR_BUFS 2
#define ERR_SIZE 4096u
#define IN_BUFS 2
#define IN_SIZE 4096u
#define QSIZE 8                         /* entries per queue */

/* One output stream: its device's transmit queue and buffers. */
struct out_stream {
    uintptr_t base;                     /* 0 until started */
    unsigned slot, nbufs, size;
    struct gv_queue tx;
    uint8_t *buf[OUT_BUFS];
    uint16_t free[OUT_BUFS];            /* buffers not with the device */
    unsigned nfree;
    int cur;                            /* buffer being filled, or -1 */
    size_t fill;                        /* its bytes */
    int tty;                            /* hand over after every write */
    uint8_t *ring, *bufs;               /* static memory for the ring and
                                           the buffers, or NULL: heap */
};

/* stderr's ring and buffers are static, not on the heap: an error is
 * most often reported when memory has run out, and must still get out
 * (a program whose network took the heap once ended here in a panic). */
static uint8_t err_ring[512] __attribute__((aligned(16)));
static uint8_t err_bufs[ERR_BUFS * ERR_SIZE] __attribute__((aligned(16)));

static struct out_stream out = { .slot = LUNIK_VIRTIO_SLOT_CONSOLE,
                                 .nbufs = OUT_BUFS, .size = OUT_SIZE,
                                 .cur = -1 };
static struct out_stream err = { .slot = LUNIK_VIRTIO_SLOT_STDERR,
                                 .nbufs = ERR_BUFS, .size = ERR_SIZE,
                                 .cur = -1, .ring = err_ring,
                                 .bufs = err_bufs };

static struct {
    struct gv_queue rx;
    int started;
    uint8_t *buf[IN_BUFS];
    int cur;                            /* used buffer being read, or -1 */
    uint32_t len, at;                   /* its bytes, bytes read */
    int ended;
    uint64_t received;                  /* bytes in used buffers so far */
    uint64_t total;                     /* all of stdin, once the control
                                           device said it (eof_known) */
    int eof_known;
} in = { .cur = -1 };

/*
 * The event console (GV_CONSOLE_SLOT_EVENTS, where the binding has
 * one: the PVH binding under `lunik run --vmm qemu`): receive only, lines
 * from the VMM's side that say what a console without multiport cannot:
 * "E<n>" stdin has ended after n bytes in all; "T" a shutdown was asked
 * for (SIGTERM to lunik).
 */
#define CTL_BUFS 2
#define CTL_SIZE 256u
static struct {
    uintptr_t base;                     /* 0: not started or none */
    int tried;
    struct gv_queue rx;
    uint8_t *buf[CTL_BUFS];
    char line[32];
    unsigned fill;
    int shutdown;                       /* "T" seen, not yet reported */
} ctl;

/* n bytes, 16-aligned; zeroed only for rings: a data buffer stays
 * untouched until used (on kvm_pvm a page's first touch costs a trap). */
static void *alloc(size_t n, int zero)
{
    void *p = aligned_alloc(16, (n + 15) & ~(size_t)15);

    if (p == NULL)
        gv_binding_panic("no memory for the console's buffers");
    if (zero)
        memset(p, 0, n);
    return p;
}

/* Start the device of s (and, for console 0, set up its receive queue,
 * which gets buffers only when stdin is first read). */
static void stream_start(struct out_stream *s)
{
    uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                    VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    int console0 = s->slot == LUNIK_VIRTIO_SLOT_CONSOLE;

    s->base = gv_binding_device(s->slot, VIRTIO_ID_CONSOLE);
    if (s->base == 0 || gv_mmio_init(s->base, VIRTIO_ID_CONSOLE, want) == 0)
        gv_binding_panic("no usable virtio console");
    if (console0 && gv_mmio_queue(s->base, &in.rx, VIRTIO_CONSOLE_RXQ, QSIZE,
                                  alloc(gv_queue_bytes(QSIZE), 1)) < IN_BUFS)
        gv_binding_panic("the console's receive queue is too small");
    if (s->ring && gv_queue_bytes(QSIZE) > sizeof err_ring)
        gv_binding_panic("stderr's static ring is too small");
    if (s->ring)
        memset(s->ring, 0, gv_queue_bytes(QSIZE));
    if (gv_mmio_queue(s->base, &s->tx, VIRTIO_CONSOLE_TXQ, QSIZE,
                      s->ring ? s->ring : alloc(gv_queue_bytes(QSIZE), 1))
        < s->nbufs)
        gv_binding_panic("the console's transmit queue is too small");
    for (unsigned i = 0; i < s->nbufs; i++)
        s->free[i] = (uint16_t)i;       /* buffers come on first use */
    s->nfree = s->nbufs;
    s->tty = gv_binding_tty(console0 ? 1 : 2);
    gv_mmio_ready(s->base);
}

/* Take back the buffers the device is done with. */
static void reclaim(struct out_stream *s)
{
    uint16_t id;
    uint32_t len;

    while (gv_queue_take(&s->tx, &id, &len))
        if (id < s->nbufs && s->nfree < s->nbufs)
            s->free[s->nfree++] = id;
}

/* A buffer to fill: waits for the device when all are with it. */
static void next_buffer(struct out_stream *s)
{
    reclaim(s);
    while (s->nfree == 0) {
        gv_queue_kick(&s->tx);
        if (!gv_queue_want(&s->tx))
            gv_binding_wait(UINT64_MAX);
        gv_queue_quiet(&s->tx);
        reclaim(s);
    }
    s->cur = s->free[--s->nfree];
    s->fill = 0;
    if (s->buf[s->cur] == NULL)
        s->buf[s->cur] = s->bufs ? s->bufs + (size_t)s->cur * s->size
                                 : alloc(s->size, 0);
}

/* Wait until the device has written every buffer of s handed to it. */
static void drain(struct out_stream *s)
{
    if (s->base == 0)
        return;
    gv_queue_kick(&s->tx);
    for (;;) {
        reclaim(s);
        if (s->nfree + (s->cur >= 0) == s->nbufs)
            break;
        if (!gv_queue_want(&s->tx))
            gv_binding_wait(UINT64_MAX);
        gv_queue_quiet(&s->tx);
    }
}

/* Hand the buffer being filled to the device. The two streams are two
 * devices, written in whatever order the monitor serves them, so the
 * other stream's buffers are drained first: the bytes then reach the
 * host in program order across stdout and stderr too. */
static void hand_over(struct out_stream *s)
{
    if (s->cur < 0 || s->fill == 0)
        return;
    drain(s == &out ? &err : &out);
    gv_queue_add(&s->tx, (uint16_t)s->cur, s->buf[s->cur],
                 (uint32_t)s->fill, 0);
    s->cur = -1;
}

static void stream_flush(struct out_stream *s)
{
    if (s->base == 0)
        return;
    hand_over(s);
    gv_queue_kick(&s->tx);
}

static void stream_write(struct out_stream *s, const uint8_t *p, size_t n)
{
    if (s->base == 0)
        stream_start(s);
    while (n > 0) {
        size_t k;
        if (s->cur < 0)
            next_buffer(s);
        k = s->size - s->fill;
        if (k > n)
            k = n;
        memcpy(s->buf[s->cur] + s->fill, p, k);
        s->fill += k;
        p += k;
        n -= k;
        if (s->fill == s->size) {
            hand_over(s);
            gv_queue_kick(&s->tx);
        }
    }
}

void gv_console_write(int stream, const void *p, size_t n)
{
    if (stream == 1) {
        stream_write(&out, p, n);
        if (out.tty)
            stream_flush(&out);
        return;
    }
    stream_flush(&out);                 /* stdout's earlier bytes first */
    stream_write(&err, p, n);
    stream_flush(&err);
}

void gv_console_flush(void)
{
    stream_flush(&out);
    stream_flush(&err);
}

void gv_console_drain(void)
{
    gv_console_flush();
    drain(&out);
    drain(&err);
}

static void input_start(void)
{
    if (out.base == 0)
        stream_start(&out);
    for (unsigned i = 0; i < IN_BUFS; i++) {
        in.buf[i] = alloc(IN_SIZE, 0);
        gv_queue_add(&in.rx, (uint16_t)i, in.buf[i], IN_SIZE, 1);
    }
    gv_queue_kick(&in.rx);
    in.started = 1;
}

/* Make the next used receive buffer current; 0 when none is. */
static int input_next(void)
{
    uint16_t id;
    uint32_t len;

    while (in.cur < 0) {
        if (!gv_queue_take(&in.rx, &id, &len))
            return 0;
        if (id >= IN_BUFS)
            continue;
        if (len == 0) {                 /* the end of stdin (virtio.h) */
            in.ended = 1;
            return 0;
        }
        in.cur = id;
        in.len = len < IN_SIZE ? len : IN_SIZE;
        in.at = 0;
        in.received += in.len;
    }
    return 1;
}

static void control_line(void)
{
    ctl.line[ctl.fill] = '\0';
    if (ctl.line[0] == 'T') {
        ctl.shutdown = 1;
    } else if (ctl.line[0] == 'E') {
        uint64_t n = 0;
        for (const char *p = ctl.line + 1; *p >= '0' && *p <= '9'; p++)
            n = n * 10 + (uint64_t)(*p - '0');
        in.total = n;
        in.eof_known = 1;
    }
    ctl.fill = 0;
}

/* Read what the control device has sent; start it on first use. */
static void control_poll(void)
{
    uint16_t id;
    uint32_t len;

    if (!ctl.tried) {
        uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                        VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
        ctl.tried = 1;
        uintptr_t b = gv_binding_device(GV_CONSOLE_SLOT_EVENTS,
                                        VIRTIO_ID_CONSOLE);
        if (b == 0 || gv_mmio_init(b, VIRTIO_ID_CONSOLE, want) == 0)
            return;
        if (gv_mmio_queue(b, &ctl.rx, VIRTIO_CONSOLE_RXQ, QSIZE,
                          alloc(gv_queue_bytes(QSIZE), 1)) < CTL_BUFS)
            gv_binding_panic("the event console's queue is too small");
        for (unsigned i = 0; i < CTL_BUFS; i++) {
            ctl.buf[i] = alloc(CTL_SIZE, 0);
            gv_queue_add(&ctl.rx, (uint16_t)i, ctl.buf[i], CTL_SIZE, 1);
        }
        gv_mmio_ready(b);
        gv_queue_kick(&ctl.rx);
        ctl.base = b;
    }
    if (ctl.base == 0)
        return;
    while (gv_queue_take(&ctl.rx, &id, &len)) {
        if (id >= CTL_BUFS)
            continue;
        for (uint32_t i = 0; i < len && i < CTL_SIZE; i++) {
            char c = (char)ctl.buf[id][i];
            if (c == '\n')
                control_line();
            else if (ctl.fill < sizeof ctl.line - 1)
                ctl.line[ctl.fill++] = c;
        }
        gv_queue_add(&ctl.rx, id, ctl.buf[id], CTL_SIZE, 1);
        gv_queue_kick(&ctl.rx);
    }
}

/* stdin has ended: the device said so (a used buffer of length 0), or the
 * control device's count of all of it has been received and read. */
static int input_ended(void)
{
    control_poll();
    return in.ended || (in.eof_known && in.received >= in.total &&
                        in.cur < 0);
}

int gv_console_shutdown(void)
{
    int s;

    control_poll();
    s = ctl.shutdown;
    ctl.shutdown = 0;
    return s;
}

int gv_console_events_want(void)
{
    control_poll();
    if (ctl.base == 0)
        return 0;
    return gv_queue_want(&ctl.rx);
}

void gv_console_events_quiet(void)
{
    if (ctl.base != 0)
        gv_queue_quiet(&ctl.rx);
}

long gv_console_read(void *p, size_t n)
{
    size_t k;

    if (!in.started)
        input_start();
    if (in.cur < 0 && !input_next())
        return input_ended() ? -1 : 0;
    k = in.len - in.at;
    if (k > n)
        k = n;
    memcpy(p, in.buf[in.cur] + in.at, k);
    in.at += (uint32_t)k;
    if (in.at == in.len) {              /* give the buffer back */
        gv_queue_add(&in.rx, (uint16_t)in.cur, in.buf[in.cur], IN_SIZE, 1);
        gv_queue_kick(&in.rx);
        in.cur = -1;
    }
    return (long)k;
}

int gv_console_want_input(void)
{
    if (!in.started)
        input_start();
    if (in.cur >= 0 || input_ended())
        return 1;
    if (gv_queue_want(&in.rx) || gv_console_events_want())
        return 1;
    return input_ended();
}

void gv_console_quiet(void)
{
    if (in.started)
        gv_queue_quiet(&in.rx);
    gv_console_events_quiet();
}
