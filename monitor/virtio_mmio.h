/* virtio_mmio.h: the virtio-mmio transport of the monitor's devices, and what each device gives it. */
#ifndef LUNIK_MONITOR_VIRTIO_MMIO_H
#define LUNIK_MONITOR_VIRTIO_MMIO_H

#include <pthread.h>
#include <stdint.h>

#include "devthread.h"
#include "monitor.h"
#include "virtq.h"

struct mon_virtio_dev;

/* What a device does when the transport tells it (on the vCPU thread,
 * with the device's lock held). A QueueNotify write (virtio 1.2
 * §4.2.3.3) needs no op: the transport wakes the device's thread. */
struct mon_virtio_ops {
    /* Copy len bytes of configuration space at off to data (zeros past
     * its end). */
    void (*config_read)(struct mon_virtio_dev *d, uint64_t off, void *data,
                        unsigned len);
};

/*
 * One virtio-mmio device (virtio 1.2 §4.2.2 registers). The vCPU thread
 * runs the transport; the device's own thread serves the queues once
 * `started` is set. `lock` is held by the device thread while it serves
 * queues and by the vCPU thread while it starts or resets the device, so
 * the two never see a half-set-up queue.
 */
struct mon_virtio_dev {
    const char *name;                   /* "virtio-net", for reports */
    uint32_t device_id;                 /* VIRTIO_ID_* */
    uint64_t features;                  /* offered (VIRTIO_BIT(...)) */
    uint64_t driver_features;           /* accepted by the driver */
    uint32_t dev_features_sel, drv_features_sel, queue_sel;
    uint32_t status;                    /* VIRTIO_STATUS_* (atomic) */
    uint32_t interrupt_status;          /* VIRTIO_MMIO_INT_* (atomic) */
    int started;                        /* DRIVER_OK and queues valid (atomic) */
    unsigned generation;                /* counts starts: a thread's state
                                           from an older start is stale */
    unsigned nqueues;
    struct mon_virtq *queues;           /* nqueues of them */
    const struct mon_virtio_ops *ops;
    void *priv;                         /* the device's own state */
    struct mon_vm *vm;
    uint64_t notify_gpa;                /* its QueueNotify register's GPA */
    struct mon_devthread *thread;       /* serves its queues (attach) */
    int ioeventfd;                      /* QueueNotify writes kick thread
                                           in KVM, without an exit */
    pthread_mutex_t lock;
};

/*
 * mon_virtio_init: set d up as an unconfigured device (status 0) with
 * nqueues queues of at most qmax entries named by names[i], offering
 * features | VIRTIO_F_VERSION_1 | VIRTIO_F_EVENT_IDX.
 */
void mon_virtio_init(struct mon_virtio_dev *d, struct mon_vm *vm,
                     const char *name, uint32_t device_id, uint64_t features,
                     struct mon_virtq *queues, unsigned nqueues,
                     uint16_t qmax, const char *const *names,
                     const struct mon_virtio_ops *ops, void *priv);

/*
 * mon_virtio_mmio: serve one access of len bytes (1, 2 or 4; 4 except in
 * configuration space) at offset off of d's registers, as §4.2.2 says:
 * reads fill data, writes take it. Driver mistakes the specification
 * lets a device refuse (features it did not offer, a queue outside guest
 * memory) leave FEATURES_OK unset or fail the device
 * (mon_virtio_fail()); nothing here touches guest memory except through
 * mon_virtq_start().
 */
void mon_virtio_mmio(struct mon_virtio_dev *d, uint64_t off, int is_write,
                     uint8_t *data, unsigned len);

/*
 * mon_virtio_fail: the driver broke the specification (why: one
 * sentence naming device, queue and fault). Sets DEVICE_NEEDS_RESET
 * (§2.1.2), stops serving d, prints "lunik: guest error: WHY" (the first
 * failure only) and ends the run with LUNIK_EXIT_GUEST (mon_vm_stop()).
 * Any thread.
 */
void mon_virtio_fail(struct mon_virtio_dev *d, const char *why);

/*
 * mon_virtio_notify_driver: after pushing used entries on queue q, make
 * a used-buffer notification if the driver asked for one
 * (mon_virtq_notify_due(), §2.7.10): set InterruptStatus and wake the
 * vCPU if it waits (mon_vm_kick_wait()). Device thread.
 */
void mon_virtio_notify_driver(struct mon_virtio_dev *d, struct mon_virtq *q);

/* mon_virtio_started: 1 once the driver set DRIVER_OK and every ready
 * queue was valid, until a reset or failure. */
int mon_virtio_started(struct mon_virtio_dev *d);

#endif
