/* net.c: the guest's virtio-net driver (virtio 1.2 §5.1): one descriptor per frame, checksum offload, notifications held back. */
#include "net.h"

#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "lunik/hypercall.h"
#include "mmio.h"

#define QSIZE 256u
#define BUF 2048u                       /* header + frame of MTU 1500 */
#define HDR ((uint32_t)sizeof(struct virtio_net_hdr))
#define TX_KICK 32u                     /* frames before a notify check */

static struct {
    uintptr_t base;
    int state;                          /* 0 unknown, 1 up, -1 none */
    uint8_t mac[6];
    uint16_t mtu;
    uint32_t bufsize;
    struct gv_queue rx, tx;
    uint8_t *rxbuf, *txbuf;             /* QSIZE buffers each */
    int csum;                           /* VIRTIO_NET_F_CSUM and
                                           VIRTIO_NET_F_GUEST_CSUM */
    uint16_t txfree[QSIZE];
    unsigned ntxfree;
    unsigned unkicked;                  /* frames since the last kick */
} nic;

/* n bytes, page-aligned; zeroed only for rings: frame buffers stay
 * untouched until used (on kvm_pvm a page's first touch costs a trap). */
static void *alloc(size_t n, int zero)
{
    void *p = aligned_alloc(4096, (n + 4095) & ~(size_t)4095);

    if (p == NULL)
        gv_binding_panic("no memory for the NIC's queues");
    if (zero)
        memset(p, 0, n);
    return p;
}

static void config(uint64_t features)
{
    for (int i = 0; i < 6; i++)
        nic.mac[i] = gv_mmio_config8(nic.base, (uint32_t)i);
    nic.mtu = 1500;
    if (features & VIRTIO_BIT(VIRTIO_NET_F_MTU))
        nic.mtu = gv_mmio_config16(nic.base, 10);
    nic.bufsize = (HDR + nic.mtu + 14u + 63u) & ~63u;
}

static int start(void)
{
    uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                    VIRTIO_BIT(VIRTIO_F_EVENT_IDX) |
                    VIRTIO_BIT(VIRTIO_NET_F_MAC) |
                    VIRTIO_BIT(VIRTIO_NET_F_MTU) |
                    VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM), got;
    uint64_t csum = VIRTIO_BIT(VIRTIO_NET_F_CSUM) |
                    VIRTIO_BIT(VIRTIO_NET_F_GUEST_CSUM);
    uint16_t n;

    nic.base = gv_binding_device(LUNIK_VIRTIO_SLOT_NET, VIRTIO_ID_NET);
    if (nic.base == 0 ||
        (got = gv_mmio_init(nic.base, VIRTIO_ID_NET, want)) == 0 ||
        !(got & VIRTIO_BIT(VIRTIO_NET_F_MAC)))
        return -1;
    config(got);
    nic.csum = (got & csum) == csum;
    n = gv_mmio_queue(nic.base, &nic.rx, VIRTIO_NET_RXQ, QSIZE,
                      alloc(gv_queue_bytes(QSIZE), 1));
    if (n == 0 || gv_mmio_queue(nic.base, &nic.tx, VIRTIO_NET_TXQ, n,
                                alloc(gv_queue_bytes(QSIZE), 1)) != n)
        return -1;
    nic.rxbuf = alloc((size_t)n * nic.bufsize, 0);
    nic.txbuf = alloc((size_t)n * nic.bufsize, 0);
    for (uint16_t i = 0; i < n; i++) {
        gv_queue_add(&nic.rx, i, nic.rxbuf + (size_t)i * nic.bufsize,
                     nic.bufsize, 1);
        nic.txfree[i] = i;
    }
    nic.ntxfree = n;
    gv_mmio_ready(nic.base);
    gv_queue_kick(&nic.rx);
    return 0;
}

int gv_net_start(uint8_t mac[6], uint16_t *mtu, int *csum)
{
    if (nic.state == 0)
        nic.state = start() == 0 ? 1 : -1;
    if (nic.state < 0)
        return -1;
    memcpy(mac, nic.mac, 6);
    *mtu = nic.mtu;
    *csum = nic.csum;
    return 0;
}

static void tx_reclaim(void)
{
    uint16_t id;
    uint32_t len;

    while (gv_queue_take(&nic.tx, &id, &len))
        if (id < nic.tx.size && nic.ntxfree < nic.tx.size)
            nic.txfree[nic.ntxfree++] = id;
}

int gv_net_send(const void *p, size_t n, const struct virtio_net_hdr *h)
{
    uint8_t *b;
    uint16_t id;

    if (nic.state <= 0 || n + HDR > nic.bufsize)
        return -1;
    if (nic.ntxfree == 0)
        tx_reclaim();
    while (nic.ntxfree == 0) {
        gv_queue_kick(&nic.tx);
        nic.unkicked = 0;
        if (!gv_queue_want(&nic.tx))
            gv_binding_wait(UINT64_MAX);
        gv_queue_quiet(&nic.tx);
        tx_reclaim();
    }
    id = nic.txfree[--nic.ntxfree];
    b = nic.txbuf + (size_t)id * nic.bufsize;
    if (h && nic.csum && h->flags == VIRTIO_NET_HDR_F_NEEDS_CSUM)
        memcpy(b, h, HDR);
    else
        memset(b, 0, HDR);
    memcpy(b + HDR, p, n);
    gv_queue_add(&nic.tx, id, b, (uint32_t)(HDR + n), 0);
    if (++nic.unkicked >= TX_KICK) {
        gv_queue_kick(&nic.tx);
        nic.unkicked = 0;
    }
    return 0;
}

long gv_net_recv(void *p, size_t n, struct virtio_net_hdr *h)
{
    uint16_t id;
    uint32_t len;

    if (nic.state <= 0)
        return 0;
    while (gv_queue_take(&nic.rx, &id, &len)) {
        uint8_t *b;
        long got = 0;
        if (id >= nic.rx.size)
            continue;
        b = nic.rxbuf + (size_t)id * nic.bufsize;
        if (len > HDR && len <= nic.bufsize && len - HDR <= n) {
            got = (long)(len - HDR);
            memcpy(h, b, HDR);
            if (!nic.csum)
                h->flags = 0;
            memcpy(p, b + HDR, (size_t)got);
        }
        gv_queue_add(&nic.rx, id, b, nic.bufsize, 1);
        if (got > 0)
            return got;
    }
    return 0;
}

void gv_net_flush(void)
{
    if (nic.state <= 0)
        return;
    gv_queue_kick(&nic.tx);
    gv_queue_kick(&nic.rx);
    nic.unkicked = 0;
}

int gv_net_want(void)
{
    return nic.state > 0 && gv_queue_want(&nic.rx);
}

void gv_net_quiet(void)
{
    if (nic.state > 0)
        gv_queue_quiet(&nic.rx);
}
