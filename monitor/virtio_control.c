/* virtio_control.c: the control channel's device (a third virtio console, virtio 1.2 §5.3) and the thread that relays it to the instance's Unix socket. */
#include "virtio_mmio.h"
#include "devthread.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "host/control.h"

/*
 * The console in slot LUNIK_VIRTIO_SLOT_CONTROL, without multiport: its
 * receiveq carries the client's bytes to the guest, its transmitq the
 * guest's bytes to the client (host/control.c owns the socket: one client
 * at a time, the owner's user only). When the client goes, the device
 * uses a receive buffer with length 0 and from then on drops what the
 * guest sends until the guest's answer, a transmit buffer of length 0
 * (guest/virtio/control.h); only then is the next client accepted, so
 * what was meant for one client never reaches another. The thread sleeps
 * in poll(2) on its eventfd (QueueNotify) and, while it holds a receive
 * buffer, on the socket. It serves nothing before the driver set the
 * device up (the guest does so before its first wait).
 */
#define CTL_QSIZE 64

static const char *const names[2] = { "virtio-console 2 receiveq",
                                       "virtio-console 2 transmitq" };

static struct {
    struct mon_virtio_dev dev;
    struct mon_virtq q[2];
    struct mon_devthread t;             /* its service thread */
    struct host_control ctl;
    int draining;                       /* hang-up given, not answered */
    struct mon_virtq_chain rx;          /* a receive buffer held */
    int rx_held;
    unsigned rx_gen;                    /* dev.generation of rx */
} cc = { .t = MON_DEVTHREAD_INIT };

static void cc_config(struct mon_virtio_dev *d, uint64_t off, void *data,
                      unsigned len)
{
    (void)d;
    (void)off;
    memset(data, 0, len);               /* no F_SIZE, F_MULTIPORT, F_EMERG */
}


static const struct mon_virtio_ops cc_ops = { cc_config };

/* Relay every available transmit buffer to the client; the number
 * served. */
static int cc_tx(void)
{
    struct mon_virtio_dev *d = &cc.dev;
    struct mon_virtq *q = &d->queues[VIRTIO_CONSOLE_TXQ];
    struct mon_virtq_chain c;
    int n = 0, r;

    pthread_mutex_lock(&d->lock);
    if (!mon_virtio_started(d) || !q->ready) {
        pthread_mutex_unlock(&d->lock);
        return 0;
    }
    while ((r = mon_virtq_pop(q, &c)) == 1) {
        if (c.out_len == 0) {
            cc.draining = 0;            /* the hang-up is answered */
        } else if (!cc.draining) {
            for (unsigned i = 0; i < c.nout; i++)
                host_control_write(&cc.ctl, c.out[i].iov_base,
                                   c.out[i].iov_len);
        }
        mon_virtq_push(q, c.head, 0);
        n++;
    }
    if (r < 0)
        mon_virtio_fail(d, q->why);
    else if (n > 0)
        mon_virtio_notify_driver(d, q);
    pthread_mutex_unlock(&d->lock);
    return n;
}

/* Fill a receive buffer with the client's bytes, or its hang-up; 1 when
 * a buffer was used. */
static int cc_rx(void)
{
    struct mon_virtio_dev *d = &cc.dev;
    struct mon_virtq *q = &d->queues[VIRTIO_CONSOLE_RXQ];
    long got;
    int r = 0;

    pthread_mutex_lock(&d->lock);
    if (!mon_virtio_started(d) || !q->ready || cc.draining)
        goto out;
    if (cc.rx_held && cc.rx_gen != d->generation)
        cc.rx_held = 0;                 /* from before a reset */
    if (!cc.rx_held) {
        int p = mon_virtq_pop(q, &cc.rx);
        if (p < 0)
            mon_virtio_fail(d, q->why);
        if (p <= 0)
            goto out;
        cc.rx_held = 1;
        cc.rx_gen = d->generation;
    }
    if (cc.rx.nin == 0 || cc.rx.in[0].iov_len == 0) {
        got = 0;                        /* nothing fits: give it back */
    } else {
        if (!host_control_ready(&cc.ctl))
            goto out;                   /* keep it until the client sends */
        got = host_control_read(&cc.ctl, cc.rx.in[0].iov_base,
                                cc.rx.in[0].iov_len);
        if (got == 0)
            goto out;
        if (got < 0) {
            got = 0;                    /* length 0: the hang-up */
            cc.draining = 1;
        }
    }
    mon_virtq_push(q, cc.rx.head, (uint32_t)got);
    cc.rx_held = 0;
    mon_virtio_notify_driver(d, q);
    r = 1;
out:
    pthread_mutex_unlock(&d->lock);
    return r;
}

/* Ask for notifications on both queues; 1 when one has work already. */
static int cc_arm(void)
{
    struct mon_virtio_dev *d = &cc.dev;
    int busy = 0;

    pthread_mutex_lock(&d->lock);
    if (mon_virtio_started(d)) {
        struct mon_virtq *tx = &d->queues[VIRTIO_CONSOLE_TXQ];
        struct mon_virtq *rx = &d->queues[VIRTIO_CONSOLE_RXQ];
        if (tx->ready)
            busy |= mon_virtq_arm(tx);
        if (rx->ready && !cc.rx_held && !cc.draining)
            busy |= mon_virtq_arm(rx);
    }
    pthread_mutex_unlock(&d->lock);
    return busy;
}

static void cc_sleep(void)
{
    struct pollfd p[2] = { { .fd = cc.t.kick_fd, .events = POLLIN },
                           { .fd = -1, .events = POLLIN } };

    if (cc.rx_held && !cc.draining)
        p[1].fd = host_control_pollfd(&cc.ctl);
    if (poll(p, 2, -1) > 0 && (p[0].revents & POLLIN))
        mon_devthread_drain(&cc.t);
}

static void *cc_thread(void *arg)
{
    (void)arg;
    for (;;) {
        int work = cc_tx() + cc_rx();
        if (work > 0)
            continue;
        if (mon_devthread_stopping(&cc.t))
            break;                      /* drained */
        if (cc_arm())
            continue;
        cc_sleep();
    }
    return NULL;
}

int mon_control_start(struct mon_vm *vm, int listen_fd)
{
    if (listen_fd < 0)
        return 0;                       /* no channel: the slot stays empty */
    cc.rx_held = cc.draining = 0;
    host_control_init(&cc.ctl, listen_fd);
    mon_virtio_init(&cc.dev, vm, "virtio-console 2", VIRTIO_ID_CONSOLE, 0,
                    cc.q, 2, CTL_QSIZE, names, &cc_ops, NULL);
    if (mon_devthread_start(&cc.t, cc_thread, "control channel") != 0)
        return LUNIK_EXIT_OSERR;
    mon_devices_attach(vm, LUNIK_VIRTIO_SLOT_CONTROL, &cc.dev, &cc.t);
    return 0;
}

void mon_control_stop(struct mon_vm *vm)
{
    int was_running = cc.t.running;

    (void)vm;
    mon_devthread_stop(&cc.t);
    if (was_running)
        host_control_close(&cc.ctl);
}
