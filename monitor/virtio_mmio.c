/* virtio_mmio.c: the virtio-mmio transport (virtio 1.2 §4.2.2) of the monitor's devices. */
#include "virtio_mmio.h"

#include <stdio.h>
#include <string.h>

#define VENDOR_LUNIK 0x4b4e554cu        /* "LUNK" */

void mon_virtio_init(struct mon_virtio_dev *d, struct mon_vm *vm,
                     const char *name, uint32_t device_id, uint64_t features,
                     struct mon_virtq *queues, unsigned nqueues,
                     uint16_t qmax, const char *const *names,
                     const struct mon_virtio_ops *ops, void *priv)
{
    memset(d, 0, sizeof *d);
    d->name = name;
    d->device_id = device_id;
    d->features = features | VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                  VIRTIO_BIT(VIRTIO_F_EVENT_IDX);
    d->queues = queues;
    d->nqueues = nqueues;
    d->ops = ops;
    d->priv = priv;
    d->vm = vm;
    pthread_mutex_init(&d->lock, NULL);
    for (unsigned i = 0; i < nqueues; i++) {
        memset(&queues[i], 0, sizeof queues[i]);
        queues[i].name = names[i];
        queues[i].max = qmax;
    }
}

int mon_virtio_started(struct mon_virtio_dev *d)
{
    return __atomic_load_n(&d->started, __ATOMIC_ACQUIRE);
}

void mon_virtio_fail(struct mon_virtio_dev *d, const char *why)
{
    static int told;

    __atomic_store_n(&d->started, 0, __ATOMIC_RELEASE);
    __atomic_fetch_or(&d->status, VIRTIO_STATUS_DEVICE_NEEDS_RESET,
                      __ATOMIC_SEQ_CST);
    if (!__atomic_exchange_n(&told, 1, __ATOMIC_SEQ_CST))
        fprintf(stderr, "lunik: guest error: %s\n", why);
    mon_vm_stop(d->vm, LUNIK_EXIT_GUEST);
}

void mon_virtio_notify_driver(struct mon_virtio_dev *d, struct mon_virtq *q)
{
    if (!mon_virtq_notify_due(q))
        return;
    __atomic_fetch_or(&d->interrupt_status, VIRTIO_MMIO_INT_VRING,
                      __ATOMIC_RELAXED);
    mon_vm_kick_wait(d->vm);
}

static struct mon_virtq *selected(struct mon_virtio_dev *d)
{
    return d->queue_sel < d->nqueues ? &d->queues[d->queue_sel] : NULL;
}

/* Device reset (§2.4): forget features, queues and status. */
static void reset(struct mon_virtio_dev *d)
{
    pthread_mutex_lock(&d->lock);
    __atomic_store_n(&d->started, 0, __ATOMIC_RELEASE);
    for (unsigned i = 0; i < d->nqueues; i++)
        mon_virtq_reset(&d->queues[i]);
    d->driver_features = 0;
    d->dev_features_sel = d->drv_features_sel = d->queue_sel = 0;
    __atomic_store_n(&d->interrupt_status, 0, __ATOMIC_RELAXED);
    __atomic_store_n(&d->status, 0, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&d->lock);
}

/* DRIVER_OK: check and map every ready queue, then let the device thread
 * serve them (§3.1.1 step 8). */
static void start(struct mon_virtio_dev *d)
{
    for (unsigned i = 0; i < d->nqueues; i++) {
        struct mon_virtq *q = &d->queues[i];
        if (q->ready && mon_virtq_start(q, d->vm->mem, d->vm->mem_size)) {
            mon_virtio_fail(d, q->why);
            return;
        }
    }
    d->generation++;
    __atomic_store_n(&d->started, 1, __ATOMIC_RELEASE);
    mon_devices_ioeventfd(d);
    mon_devthread_kick(d->thread);      /* let the thread look */
}

static void write_status(struct mon_virtio_dev *d, uint32_t v)
{
    uint32_t old = __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);

    if (v == 0) {
        reset(d);
        return;
    }
    if (old & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
        return;                         /* only a reset helps now */
    /* FEATURES_OK only for a subset of the offer that includes
     * VERSION_1 (§2.2.2, §6.1). */
    if ((v & VIRTIO_STATUS_FEATURES_OK) &&
        !(old & VIRTIO_STATUS_FEATURES_OK) &&
        ((d->driver_features & ~d->features) ||
         !(d->driver_features & VIRTIO_BIT(VIRTIO_F_VERSION_1))))
        v &= ~VIRTIO_STATUS_FEATURES_OK;
    pthread_mutex_lock(&d->lock);
    __atomic_store_n(&d->status, v, __ATOMIC_RELEASE);
    if ((v & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK) &&
        (v & VIRTIO_STATUS_FEATURES_OK))
        start(d);
    pthread_mutex_unlock(&d->lock);
}

/* Queue registers may change only while the queue is not ready and the
 * driver has not set DRIVER_OK (§4.2.3.2). */
static void write_queue(struct mon_virtio_dev *d, uint64_t off, uint32_t v)
{
    struct mon_virtq *q = selected(d);

    if (q == NULL || q->ready ||
        (__atomic_load_n(&d->status, __ATOMIC_ACQUIRE) &
         VIRTIO_STATUS_DRIVER_OK))
        return;
    switch (off) {
    case VIRTIO_MMIO_QUEUE_NUM:
        q->size = v <= 0xffff ? (uint16_t)v : 0;
        break;
    case VIRTIO_MMIO_QUEUE_READY:
        q->ready = v & 1;
        break;
    case VIRTIO_MMIO_QUEUE_DESC_LOW:
        q->desc_gpa = (q->desc_gpa & ~0xffffffffull) | v;
        break;
    case VIRTIO_MMIO_QUEUE_DESC_HIGH:
        q->desc_gpa = (q->desc_gpa & 0xffffffffull) | (uint64_t)v << 32;
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_LOW:
        q->avail_gpa = (q->avail_gpa & ~0xffffffffull) | v;
        break;
    case VIRTIO_MMIO_QUEUE_DRIVER_HIGH:
        q->avail_gpa = (q->avail_gpa & 0xffffffffull) | (uint64_t)v << 32;
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_LOW:
        q->used_gpa = (q->used_gpa & ~0xffffffffull) | v;
        break;
    case VIRTIO_MMIO_QUEUE_DEVICE_HIGH:
        q->used_gpa = (q->used_gpa & 0xffffffffull) | (uint64_t)v << 32;
        break;
    }
}

static void write_reg(struct mon_virtio_dev *d, uint64_t off, uint32_t v)
{
    switch (off) {
    case VIRTIO_MMIO_DEVICE_FEATURES_SEL:
        d->dev_features_sel = v;
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES:
        if (d->drv_features_sel < 2) {
            unsigned sh = 32 * d->drv_features_sel;
            d->driver_features = (d->driver_features &
                                  ~(0xffffffffull << sh)) |
                                 (uint64_t)v << sh;
        }
        break;
    case VIRTIO_MMIO_DRIVER_FEATURES_SEL:
        d->drv_features_sel = v;
        break;
    case VIRTIO_MMIO_QUEUE_SEL:
        d->queue_sel = v;
        break;
    case VIRTIO_MMIO_QUEUE_NOTIFY:
        if (v < d->nqueues && mon_virtio_started(d))
            mon_devthread_kick(d->thread);
        break;
    case VIRTIO_MMIO_INTERRUPT_ACK:
        __atomic_fetch_and(&d->interrupt_status, ~v, __ATOMIC_RELAXED);
        break;
    case VIRTIO_MMIO_STATUS:
        write_status(d, v);
        break;
    default:
        write_queue(d, off, v);
        break;
    }
}

static uint32_t read_reg(struct mon_virtio_dev *d, uint64_t off)
{
    struct mon_virtq *q = selected(d);

    switch (off) {
    case VIRTIO_MMIO_MAGIC_VALUE:   return VIRTIO_MMIO_MAGIC;
    case VIRTIO_MMIO_VERSION:       return 2;
    case VIRTIO_MMIO_DEVICE_ID:     return d->device_id;
    case VIRTIO_MMIO_VENDOR_ID:     return VENDOR_LUNIK;
    case VIRTIO_MMIO_DEVICE_FEATURES:
        return d->dev_features_sel < 2
               ? (uint32_t)(d->features >> (32 * d->dev_features_sel)) : 0;
    case VIRTIO_MMIO_QUEUE_NUM_MAX: return q != NULL ? q->max : 0;
    case VIRTIO_MMIO_QUEUE_READY:   return q != NULL ? q->ready : 0;
    case VIRTIO_MMIO_INTERRUPT_STATUS:
        return __atomic_load_n(&d->interrupt_status, __ATOMIC_RELAXED);
    case VIRTIO_MMIO_STATUS:
        return __atomic_load_n(&d->status, __ATOMIC_ACQUIRE);
    case VIRTIO_MMIO_CONFIG_GENERATION: return 0;
    default:                        return 0;
    }
}

void mon_virtio_mmio(struct mon_virtio_dev *d, uint64_t off, int is_write,
                     uint8_t *data, unsigned len)
{
    uint32_t v = 0;

    if (off >= VIRTIO_MMIO_CONFIG) {
        if (!is_write)
            d->ops->config_read(d, off - VIRTIO_MMIO_CONFIG, data, len);
        return;                         /* configuration is read-only */
    }
    if (len != 4 || off % 4 != 0) {     /* §4.2.2.2: 32-bit accesses only */
        if (!is_write)
            memset(data, 0, len);
        return;
    }
    if (is_write) {
        memcpy(&v, data, 4);
        write_reg(d, off, v);
    } else {
        v = read_reg(d, off);
        memcpy(data, &v, 4);
    }
}
