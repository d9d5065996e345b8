/* mmio.c: the driver side of the virtio-mmio transport: probe, features, queue set-up. */
#include "mmio.h"

static uint32_t rd(uintptr_t base, uint32_t off)
{
    return *(volatile uint32_t *)(base + off);
}

static void wr(uintptr_t base, uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(base + off) = v;
}

uint64_t gv_mmio_init(uintptr_t base, uint32_t device_id, uint64_t wanted)
{
    uint32_t status = VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER;
    uint64_t offered, take;

    if (rd(base, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
        rd(base, VIRTIO_MMIO_VERSION) != 2 ||
        rd(base, VIRTIO_MMIO_DEVICE_ID) != device_id)
        return 0;
    wr(base, VIRTIO_MMIO_STATUS, 0);
    wr(base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE);
    wr(base, VIRTIO_MMIO_STATUS, status);
    wr(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 0);
    offered = rd(base, VIRTIO_MMIO_DEVICE_FEATURES);
    wr(base, VIRTIO_MMIO_DEVICE_FEATURES_SEL, 1);
    offered |= (uint64_t)rd(base, VIRTIO_MMIO_DEVICE_FEATURES) << 32;
    take = offered & wanted;
    if (!(take & VIRTIO_BIT(VIRTIO_F_VERSION_1)))
        goto failed;
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 0);
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)take);
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES_SEL, 1);
    wr(base, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(take >> 32));
    status |= VIRTIO_STATUS_FEATURES_OK;
    wr(base, VIRTIO_MMIO_STATUS, status);
    if (!(rd(base, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK))
        goto failed;
    return take;
failed:
    wr(base, VIRTIO_MMIO_STATUS, status | VIRTIO_STATUS_FAILED);
    return 0;
}

static void wr64(uintptr_t base, uint32_t low, const void *p)
{
    uint64_t a = (uint64_t)(uintptr_t)p;

    wr(base, low, (uint32_t)a);
    wr(base, low + 4, (uint32_t)(a >> 32));
}

uint16_t gv_mmio_queue(uintptr_t base, struct gv_queue *q, uint16_t index,
                       uint16_t size, void *mem)
{
    uint32_t max;

    wr(base, VIRTIO_MMIO_QUEUE_SEL, index);
    max = rd(base, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max == 0)
        return 0;
    while (size > max)
        size /= 2;
    gv_queue_init(q, mem, size, index,
                  (volatile uint32_t *)(base + VIRTIO_MMIO_QUEUE_NOTIFY));
    wr(base, VIRTIO_MMIO_QUEUE_NUM, size);
    wr64(base, VIRTIO_MMIO_QUEUE_DESC_LOW, q->desc);
    wr64(base, VIRTIO_MMIO_QUEUE_DRIVER_LOW, q->avail);
    wr64(base, VIRTIO_MMIO_QUEUE_DEVICE_LOW, q->used);
    wr(base, VIRTIO_MMIO_QUEUE_READY, 1);
    return size;
}

void gv_mmio_ready(uintptr_t base)
{
    wr(base, VIRTIO_MMIO_STATUS, VIRTIO_STATUS_ACKNOWLEDGE |
                                 VIRTIO_STATUS_DRIVER |
                                 VIRTIO_STATUS_FEATURES_OK |
                                 VIRTIO_STATUS_DRIVER_OK);
}

uint8_t gv_mmio_config8(uintptr_t base, uint32_t off)
{
    return *(volatile uint8_t *)(base + VIRTIO_MMIO_CONFIG + off);
}

uint16_t gv_mmio_config16(uintptr_t base, uint32_t off)
{
    return *(volatile uint16_t *)(base + VIRTIO_MMIO_CONFIG + off);
}
