/* virtio_console.c: the console devices (virtio 1.2 §5.3) and the thread that serves them. */
#include "virtio_mmio.h"
#include "devthread.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "host/host.h"

/*
 * Two devices without VIRTIO_CONSOLE_F_MULTIPORT (virtio.h): console 0
 * (stdin on its receiveq, stdout on its transmitq) and console 1 (stderr
 * on its transmitq). One thread serves both; the order across the two
 * streams is the driver's to keep (it hands a buffer to one device only
 * when the other has used all of its own). The thread
 * sleeps in ppoll(2) on its eventfd (QueueNotify) and, while it holds an
 * empty receive buffer, on stdin.
 */
#define CON_QSIZE 64

static const char *const names0[2] = { "virtio-console 0 receiveq",
                                        "virtio-console 0 transmitq" };
static const char *const names1[2] = { "virtio-console 1 receiveq",
                                        "virtio-console 1 transmitq" };

static struct {
    struct mon_virtio_dev dev[2];
    struct mon_virtq q[2][2];
    struct mon_vm *vm;
    struct mon_devthread t;             /* its service thread */
    struct mon_virtq_chain rx;          /* a receive buffer stdin had no
                                           bytes for yet */
    int rx_held;
    unsigned rx_gen;                    /* dev[0].generation of rx */
    int rx_ended;                       /* the end of stdin was given */
} con = { .t = MON_DEVTHREAD_INIT };

static void con_config(struct mon_virtio_dev *d, uint64_t off, void *data,
                       unsigned len)
{
    memset(data, 0, len);               /* no F_SIZE, F_MULTIPORT, F_EMERG */
}


static const struct mon_virtio_ops con_ops = { con_config };

/* Write every available buffer of console k's transmitq to stdout or
 * stderr; returns the number of buffers served. */
static int con_tx(int k)
{
    struct mon_virtio_dev *d = &con.dev[k];
    struct mon_virtq *q = &d->queues[VIRTIO_CONSOLE_TXQ];
    struct mon_virtq_chain c;
    int n = 0, r;

    pthread_mutex_lock(&d->lock);
    if (!mon_virtio_started(d) || !q->ready) {
        pthread_mutex_unlock(&d->lock);
        return 0;
    }
    while ((r = mon_virtq_pop(q, &c)) == 1) {
        for (unsigned i = 0; i < c.nout; i++)
            host_console_write(k == 0 ? 1 : 2, c.out[i].iov_base,
                               c.out[i].iov_len);
        d->vm->stats.console_out_bytes[k] += c.out_len;
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

/* Fill one receive buffer from stdin if both are there; returns 1 when
 * a buffer was used. */
static int con_rx_locked(struct mon_virtio_dev *d, struct mon_virtq *q)
{
    long got;
    int r;

    if (con.rx_held && con.rx_gen != d->generation)
        con.rx_held = 0;                /* from before a reset */
    if (!con.rx_held) {
        if ((r = mon_virtq_pop(q, &con.rx)) < 0)
            mon_virtio_fail(d, q->why);
        if (r <= 0)
            return 0;
        con.rx_held = 1;
        con.rx_gen = d->generation;
    }
    if (con.rx.nin == 0 || con.rx.in[0].iov_len == 0) {
        got = 0;                        /* nothing fits: give it back */
    } else {
        got = host_console_read(con.rx.in[0].iov_base, con.rx.in[0].iov_len);
        if (got == 0)
            return 0;                   /* keep it until stdin has bytes */
    }
    if (got < 0) {
        got = 0;                        /* length 0: the end (virtio.h) */
        con.rx_ended = 1;
    }
    d->vm->stats.console_in_bytes += (uint64_t)got;
    mon_virtq_push(q, con.rx.head, (uint32_t)got);
    con.rx_held = 0;
    mon_virtio_notify_driver(d, q);
    return 1;
}

static int con_rx(void)
{
    struct mon_virtio_dev *d = &con.dev[0];
    struct mon_virtq *q = &d->queues[VIRTIO_CONSOLE_RXQ];
    int r = 0;

    pthread_mutex_lock(&d->lock);
    if (mon_virtio_started(d) && q->ready && !con.rx_ended)
        r = con_rx_locked(d, q);
    pthread_mutex_unlock(&d->lock);
    return r;
}

/* Ask for notifications on every queue the thread is waiting for;
 * 1 when one has work already (do not sleep). */
static int con_arm(void)
{
    int busy = 0;

    for (int k = 0; k < 2; k++) {
        struct mon_virtio_dev *d = &con.dev[k];
        pthread_mutex_lock(&d->lock);
        if (mon_virtio_started(d)) {
            struct mon_virtq *tx = &d->queues[VIRTIO_CONSOLE_TXQ];
            struct mon_virtq *rx = &d->queues[VIRTIO_CONSOLE_RXQ];
            if (tx->ready)
                busy |= mon_virtq_arm(tx);
            if (k == 0 && rx->ready && !con.rx_held && !con.rx_ended)
                busy |= mon_virtq_arm(rx);
        }
        pthread_mutex_unlock(&d->lock);
    }
    return busy;
}

static void con_sleep(void)
{
    struct pollfd p[2] = { { .fd = con.t.kick_fd, .events = POLLIN },
                           { .fd = 0, .events = POLLIN } };
    int n = con.rx_held && !con.rx_ended ? 2 : 1;

    if (poll(p, (nfds_t)n, -1) > 0 && (p[0].revents & POLLIN))
        __atomic_fetch_add(&con.vm->stats.console_kicks,
                           mon_devthread_drain(&con.t), __ATOMIC_RELAXED);
}

static void *con_thread(void *arg)
{
    (void)arg;
    for (;;) {
        int work = con_tx(0) + con_tx(1) + con_rx();
        if (work > 0)
            continue;
        if (mon_devthread_stopping(&con.t))
            break;                      /* drained */
        if (con_arm())
            continue;
        con_sleep();
    }
    return NULL;
}

int mon_console_start(struct mon_vm *vm)
{
    static const char *const *names[2] = { names0, names1 };
    static const char *const devname[2] = { "virtio-console 0",
                                            "virtio-console 1" };
    int r;

    con.vm = vm;
    con.rx_held = con.rx_ended = 0;
    for (int k = 0; k < 2; k++) {
        mon_virtio_init(&con.dev[k], vm, devname[k], VIRTIO_ID_CONSOLE, 0,
                        con.q[k], 2, CON_QSIZE, names[k], &con_ops, NULL);
    }
    r = mon_devthread_start(&con.t, con_thread, "console device");
    if (r == 0) {
        mon_devices_attach(vm, LUNIK_VIRTIO_SLOT_CONSOLE, &con.dev[0],
                           &con.t);
        mon_devices_attach(vm, LUNIK_VIRTIO_SLOT_STDERR, &con.dev[1],
                           &con.t);
    }
    return r;
}

void mon_console_stop(struct mon_vm *vm)
{
    (void)vm;
    mon_devthread_stop(&con.t);
}
