/* virtio_net.c: the network device (virtio 1.2 §5.1) and the thread that moves its frames. */
#include "virtio_mmio.h"
#include "devthread.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "host/host.h"
#include "host/net.h"

/*
 * One device with a receiveq and a transmitq, VIRTIO_NET_F_MAC and
 * VIRTIO_NET_F_MTU; on a tap also VIRTIO_NET_F_CSUM and
 * VIRTIO_NET_F_GUEST_CSUM (checksum offload, no segmentation offload):
 * every frame is a 12-byte virtio_net_hdr and then the Ethernet frame,
 * and the header goes to and comes from the tap as it is (the tap speaks
 * the same header). Without the features negotiated the header is zero
 * both ways. Its thread owns the back end
 * (host/net.h: slirp or tap; neither is touched by another thread while
 * the VM runs). It sends what the driver makes available, fills receive
 * buffers as frames arrive, and sleeps in ppoll(2) on its eventfd
 * (QueueNotify) and the back end only after a round with nothing to do.
 * Idle, it naps in ppoll for NET_NAP_NS at a time (a frame from the back
 * end ends a nap at once), looking at the transmitq after each nap,
 * without asking the driver for a notification; only after
 * NET_NAP_UNTIL_NS idle does it ask for one (avail_event) and sleep until
 * a notification or a frame comes. A notification is a trap on kvm_pvm
 * (about 35 us of the vCPU's time); under wrk the naps took them from one
 * per 33 HTTP requests to one per 1,750, for a transmitted frame at most
 * NET_NAP_NS late while the back end has no traffic. It does not spin
 * between rounds: on 2 CPUs shared with the vCPU and the client, a 20 us
 * spin before each nap cost 13% of kvm/tap HTTP requests per second.
 * The nap after a round that gave the guest frames is shorter
 * (NET_NAP_AFTER_RX_NS): the guest's answer to them (an ACK, the next
 * bytes of a transfer, a response) is likely within it. A 50 us nap there
 * held a bulk transfer out of lunik to one window per trap and nap.
 *
 * Copies: a frame goes to the back end straight from guest memory when
 * it lies in one descriptor (lunik's driver always does that) and is
 * received straight into guest memory when the buffer is one descriptor;
 * otherwise it passes through one bounce buffer here.
 */
#define NET_QSIZE 256
#define NET_HDR ((uint32_t)sizeof(struct virtio_net_hdr))
#define NET_NAP_NS 50000                /* ns: one nap, then look again */
#define NET_NAP_AFTER_RX_NS 10000       /* ns: the nap after frames went to
                                           the guest, whose answer comes */
#define NET_NAP_UNTIL_NS 500000         /* ns idle: then ask to be notified */

static const char *const names[2] = { "virtio-net receiveq",
                                      "virtio-net transmitq" };

static struct {
    struct mon_virtio_dev dev;
    struct mon_virtq q[2];
    struct host_net_info info;
    struct mon_vm *vm;
    struct mon_devthread t;             /* its service thread */
    struct mon_virtq_chain rx;          /* a receive buffer with no frame yet */
    int rx_held;
    int rx_since_nap;                   /* frames went to the guest since
                                           the last nap */
    unsigned rx_gen;
    struct host_pollset ps;
    unsigned offload_gen;               /* the start whose features the
                                           back end's offload follows */
    int csum, guest_csum;               /* negotiated, for that start */
    uint8_t bounce[65536 + 64];
} net = { .t = MON_DEVTHREAD_INIT };

static void net_config(struct mon_virtio_dev *d, uint64_t off, void *data,
                       unsigned len)
{
    struct virtio_net_config c = { .status = 0, .mtu = net.info.mtu };

    memcpy(c.mac, net.info.mac, sizeof c.mac);
    memset(data, 0, len);
    if (off < sizeof c)
        memcpy(data, (uint8_t *)&c + off,
               len < sizeof c - off ? len : sizeof c - off);
}


static const struct mon_virtio_ops net_ops = { net_config };

/* Copy n bytes from the chain's readable segments, after skip bytes. */
static size_t gather(const struct mon_virtq_chain *c, uint64_t skip,
                     uint8_t *dst, size_t room)
{
    size_t n = 0;

    for (unsigned i = 0; i < c->nout; i++) {
        size_t len = c->out[i].iov_len;
        const uint8_t *p = c->out[i].iov_base;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        p += skip;
        len -= skip;
        skip = 0;
        if (len > room - n)
            len = room - n;
        memcpy(dst + n, p, len);
        n += len;
    }
    return n;
}

static void send_chain(const struct mon_virtq_chain *c)
{
    struct mon_stats *s = &net.vm->stats;
    struct virtio_net_hdr h;
    const uint8_t *frame;
    size_t n;

    if (c->out_len < NET_HDR) {
        s->net_tx_dropped++;
        return;
    }
    n = c->out_len - NET_HDR;
    /* The driver's header, read once (the guest may change it). Without
     * VIRTIO_NET_F_CSUM it must be all "no offload"; host_net_send
     * refuses any flag but NEEDS_CSUM, any segmentation, and a checksum
     * field outside the frame. */
    gather(c, 0, (uint8_t *)&h, NET_HDR);
    if (!net.csum && (h.flags != 0 || h.gso_type != 0)) {
        s->net_tx_dropped++;
        return;
    }
    h.hdr_len = h.gso_size = h.num_buffers = 0;
    if (c->out[0].iov_len == c->out_len) {
        frame = (const uint8_t *)c->out[0].iov_base + NET_HDR;
    } else {
        if (n > sizeof net.bounce)
            n = sizeof net.bounce;      /* too long: host_net_send refuses */
        n = gather(c, NET_HDR, net.bounce, n);
        frame = net.bounce;
    }
    if (host_net_send(&h, frame, n) == 0) {
        s->net_tx_frames++;
        s->net_tx_partial += h.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM;
        s->net_tx_bytes += n;
    } else {
        s->net_tx_dropped++;
    }
}

/* Send every frame the driver made available; frames served. */
static int net_tx(void)
{
    struct mon_virtq *q = &net.q[VIRTIO_NET_TXQ];
    struct mon_virtq_chain c;
    int n = 0, r;

    while ((r = mon_virtq_pop(q, &c)) == 1) {
        send_chain(&c);
        mon_virtq_push(q, c.head, 0);
        n++;
    }
    if (r < 0)
        mon_virtio_fail(&net.dev, q->why);
    else if (n > 0)
        mon_virtio_notify_driver(&net.dev, q);
    return n;
}

/* The header a received frame gets (§5.1.6.4): the back end's checksum
 * flags only with VIRTIO_NET_F_GUEST_CSUM; num_buffers 1 (no
 * VIRTIO_NET_F_MRG_RXBUF). Counts the frame if its checksum is partial. */
static void rx_header(struct virtio_net_hdr *h)
{
    if (!net.guest_csum)
        h->flags = 0;
    h->gso_type = VIRTIO_NET_HDR_GSO_NONE;
    h->hdr_len = h->gso_size = 0;
    if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
        h->csum_start = h->csum_offset = 0;
    h->num_buffers = 1;
    net.vm->stats.net_rx_partial +=
        (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) != 0;
}

/* Receive one frame into the held buffer; its length with the header,
 * or 0 when no frame waits. */
static uint32_t recv_into(const struct mon_virtq_chain *c)
{
    struct virtio_net_hdr h;
    size_t max = (size_t)net.info.mtu + HOST_NET_ETH_HEADER;
    long n;

    if (c->nin == 1 && c->in_len >= NET_HDR + max) {
        uint8_t *p = c->in[0].iov_base;
        n = host_net_recv(&h, p + NET_HDR, c->in_len - NET_HDR);
        if (n <= 0)
            return 0;
        rx_header(&h);
        memcpy(p, &h, NET_HDR);
        return NET_HDR + (uint32_t)n;
    }
    n = host_net_recv(&h, net.bounce + NET_HDR, max);
    if (n <= 0)
        return 0;
    rx_header(&h);
    memcpy(net.bounce, &h, NET_HDR);
    size_t done = 0, want = NET_HDR + (size_t)n;
    for (unsigned i = 0; i < c->nin && done < want; i++) {
        size_t k = c->in[i].iov_len < want - done ? c->in[i].iov_len
                                                  : want - done;
        memcpy(c->in[i].iov_base, net.bounce + done, k);
        done += k;
    }
    return (uint32_t)done;              /* cut short if the buffer was */
}

/* Fill receive buffers while frames and buffers last; frames moved. */
static int net_rx(void)
{
    struct mon_virtq *q = &net.q[VIRTIO_NET_RXQ];
    struct mon_stats *s = &net.vm->stats;
    int n = 0, r;

    if (net.rx_held && net.rx_gen != net.dev.generation)
        net.rx_held = 0;
    for (;;) {
        uint32_t len;
        if (!net.rx_held) {
            if ((r = mon_virtq_pop(q, &net.rx)) < 0)
                mon_virtio_fail(&net.dev, q->why);
            if (r <= 0)
                break;
            net.rx_held = 1;
            net.rx_gen = net.dev.generation;
        }
        if ((len = recv_into(&net.rx)) == 0)
            break;
        mon_virtq_push(q, net.rx.head, len);
        net.rx_held = 0;
        s->net_rx_frames++;
        s->net_rx_bytes += len - NET_HDR;
        n++;
    }
    if (n > 0)
        mon_virtio_notify_driver(&net.dev, q);
    return n;
}

/* A new start of the device: use the checksum offload its driver
 * accepted, and have the back end give partial checksums only when the
 * driver takes them (VIRTIO_NET_F_GUEST_CSUM). */
static void follow_features(void)
{
    uint64_t f = net.dev.driver_features;

    net.offload_gen = net.dev.generation;
    net.csum = (f & VIRTIO_BIT(VIRTIO_NET_F_CSUM)) != 0;
    net.guest_csum = (f & VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM)) != 0;
    if (net.info.csum_offload &&
        host_net_set_csum_offload(net.guest_csum) != 0)
        net.guest_csum = 0;             /* the tap keeps full checksums */
}

/* One round over both queues, under the device lock. */
static int net_round(int *arm_busy, int arm)
{
    int work = 0;

    pthread_mutex_lock(&net.dev.lock);
    if (mon_virtio_started(&net.dev)) {
        if (net.offload_gen != net.dev.generation)
            follow_features();
        if (net.q[VIRTIO_NET_TXQ].ready)
            work += net_tx();
        if (net.q[VIRTIO_NET_RXQ].ready && mon_virtio_started(&net.dev)) {
            int n = net_rx();
            net.rx_since_nap |= n > 0;
            work += n;
        }
        if (arm && work == 0 && mon_virtio_started(&net.dev)) {
            *arm_busy = mon_virtq_arm(&net.q[VIRTIO_NET_TXQ]);
            if (!net.rx_held)
                *arm_busy |= mon_virtq_arm(&net.q[VIRTIO_NET_RXQ]);
        }
    }
    pthread_mutex_unlock(&net.dev.lock);
    return work;
}

/* Sleep until a notification, a frame (tap), slirp's next timer or
 * nap_ns (UINT64_MAX: none). */
static void net_sleep(uint64_t nap_ns)
{
    uint64_t timeout = nap_ns;
    struct timespec ts;
    int k, r;

    net.ps.n = 0;
    k = host_pollset_add(&net.ps, net.t.kick_fd, POLLIN);
    host_net_poll_fill(&net.ps, net.rx_held, &timeout);
    ts.tv_sec = (time_t)(timeout / 1000000000u);
    ts.tv_nsec = (long)(timeout % 1000000000u);
    r = ppoll(net.ps.fds, net.ps.n, timeout == UINT64_MAX ? NULL : &ts,
              NULL);
    host_net_poll_done(&net.ps, r < 0);
    if (r > 0 && k >= 0 && (net.ps.fds[k].revents & POLLIN))
        __atomic_fetch_add(&net.vm->stats.net_kicks,
                           mon_devthread_drain(&net.t), __ATOMIC_RELAXED);
}

static void *net_thread(void *arg)
{
    uint64_t idle_since = 0;

    (void)arg;
    for (;;) {
        int busy = 0;
        if (net_round(&busy, 0) > 0) {
            idle_since = 0;
            continue;
        }
        if (mon_devthread_stopping(&net.t))
            break;
        if (idle_since == 0)
            idle_since = host_clock_monotonic();
        uint64_t idle = host_clock_monotonic() - idle_since;
        if (idle < NET_NAP_UNTIL_NS) {
            /* no notification asked for yet */
            net_sleep(net.rx_since_nap ? NET_NAP_AFTER_RX_NS : NET_NAP_NS);
            net.rx_since_nap = 0;
            continue;
        }
        if (net_round(&busy, 1) > 0 || busy) {
            idle_since = 0;
            continue;
        }
        net_sleep(UINT64_MAX);
        idle_since = 0;
    }
    return NULL;
}

int mon_net_start(struct mon_vm *vm)
{
    uint64_t features = VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                        VIRTIO_BIT(VIRTIO_NET_F_MTU);

    if (host_net_info(&net.info) != 0)
        return 0;                       /* no NIC asked for */
    if (net.info.csum_offload)
        features |= VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
    net.offload_gen = 0;
    net.csum = net.guest_csum = 0;
    net.vm = vm;
    net.rx_held = 0;
    mon_virtio_init(&net.dev, vm, "virtio-net", VIRTIO_ID_NET, features,
                    net.q, 2, NET_QSIZE, names, &net_ops, NULL);
    if (mon_devthread_start(&net.t, net_thread, "network device") != 0)
        return LUNIK_EXIT_OSERR;
    mon_devices_attach(vm, LUNIK_VIRTIO_SLOT_NET, &net.dev, &net.t);
    return 0;
}

void mon_net_stop(struct mon_vm *vm)
{
    (void)vm;
    mon_devthread_stop(&net.t);
    free(net.ps.fds);
    net.ps.fds = NULL;
    net.ps.cap = net.ps.n = 0;
}
