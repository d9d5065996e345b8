/* devices.c: the VM's virtio-mmio devices: creation, register accesses, waking and stopping the vCPU. */
#include "monitor.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "virtio_mmio.h"

void mon_vm_kick_wait(struct mon_vm *vm)
{
    uint64_t one = 1;

    __atomic_fetch_add(&vm->stats.notifications, 1, __ATOMIC_RELAXED);
    if (write(vm->irq_fd, &one, sizeof one) < 0)
        return;                         /* the counter is set already */
}

void mon_vm_stop(struct mon_vm *vm, int status)
{
    int none = -1;

    if (!__atomic_compare_exchange_n(&vm->stop_status, &none, status, 0,
                                     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return;
    if (pthread_equal(pthread_self(), vm->vcpu_thread))
        return;                         /* the run loop sees it next */
    __atomic_store_n(&vm->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    mon_vm_kick_wait(vm);
    pthread_kill(vm->vcpu_thread, SIGUSR1);
}

/*
 * Register writes without an exit to the monitor: KVM appends a write to
 * a coalesced-MMIO zone to a ring in the vCPU's mapping (KVM API 4.66,
 * the ring at page KVM_CAP_COALESCED_MMIO of it) and resumes the guest;
 * mon_devices_drain() replays the ring, in order, before the monitor
 * serves any exit, so a later read or notify sees every earlier write.
 * The zones cover every slot's registers but QueueNotify, whose write must
 * wake a device thread at once. Reads in a zone still exit. Without the
 * capability every access exits, as before.
 */
static void coalesce(struct mon_vm *vm)
{
    const uint64_t base = LUNIK_VIRTIO_MMIO_GPA, notify = 4;
    int page = ioctl(vm->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_COALESCED_MMIO);
    uint64_t from = base;

    if (page <= 0 || (size_t)(page + 1) * MON_HOST_PAGE > vm->run_size)
        return;
    for (unsigned i = 0; i <= LUNIK_VIRTIO_SLOTS; i++) {
        uint64_t to = i < LUNIK_VIRTIO_SLOTS
                      ? (uint64_t)LUNIK_VIRTIO_MMIO_ADDR(i) +
                        VIRTIO_MMIO_QUEUE_NOTIFY
                      : base + LUNIK_VIRTIO_SLOTS * VIRTIO_MMIO_SLOT;
        struct kvm_coalesced_mmio_zone z = { .addr = from,
                                             .size = (uint32_t)(to - from) };
        if (to > from && ioctl(vm->vm_fd, KVM_REGISTER_COALESCED_MMIO, &z) < 0)
            return;                     /* the rest keep exiting */
        from = to + notify;
    }
    vm->coalesced = (struct kvm_coalesced_mmio_ring *)
        ((uint8_t *)vm->run + (size_t)page * MON_HOST_PAGE);
}

void mon_devices_attach(struct mon_vm *vm, unsigned slot,
                        struct mon_virtio_dev *d, struct mon_devthread *t)
{
    d->notify_gpa = (uint64_t)LUNIK_VIRTIO_MMIO_ADDR(slot) +
                    VIRTIO_MMIO_QUEUE_NOTIFY;
    d->thread = t;
    vm->devices[slot] = d;
}

void mon_devices_ioeventfd(struct mon_virtio_dev *d)
{
    struct kvm_ioeventfd e = { .addr = d->notify_gpa, .len = 4,
                               .fd = d->thread->kick_fd };

    if (d->ioeventfd)
        return;
    if (ioctl(d->vm->vm_fd, KVM_IOEVENTFD, &e) == 0)
        d->ioeventfd = 1;
}

int mon_devices_start(struct mon_vm *vm, const struct lunik_run_config *cfg)
{
    int r;

    coalesce(vm);
    if ((r = mon_console_start(vm)) != 0)
        return r;
    if ((r = mon_control_start(vm, cfg->control_fd)) != 0)
        return r;
    return mon_net_start(vm);
}

void mon_devices_stop(struct mon_vm *vm)
{
    mon_net_stop(vm);
    mon_control_stop(vm);
    mon_console_stop(vm);
}

/* One register access at GPA addr, inside the slots; len <= 8. */
static void reg_access(struct mon_vm *vm, uint64_t addr, int is_write,
                   uint8_t *data, unsigned len)
{
    uint64_t off = addr - LUNIK_VIRTIO_MMIO_GPA;
    struct mon_virtio_dev *d = vm->devices[off / VIRTIO_MMIO_SLOT];

    if (d == NULL) {                    /* an empty slot reads as zeros */
        if (!is_write)
            memset(data, 0, len);
        return;
    }
    mon_virtio_mmio(d, off % VIRTIO_MMIO_SLOT, is_write, data, len);
}

void mon_devices_drain(struct mon_vm *vm)
{
    struct kvm_coalesced_mmio_ring *ring = vm->coalesced;
    const uint32_t max = (MON_HOST_PAGE - sizeof *ring) /
                         sizeof ring->coalesced_mmio[0];

    if (ring == NULL)
        return;
    for (;;) {
        uint32_t first = ring->first;
        if (first == __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE) ||
            first >= max)
            break;
        struct kvm_coalesced_mmio e = ring->coalesced_mmio[first];
        uint64_t off = e.phys_addr - LUNIK_VIRTIO_MMIO_GPA;
        if (e.phys_addr >= LUNIK_VIRTIO_MMIO_GPA &&
            off < LUNIK_VIRTIO_SLOTS * VIRTIO_MMIO_SLOT &&
            e.len <= sizeof e.data) {
            vm->stats.register_writes_batched++;
            reg_access(vm, e.phys_addr, 1, e.data, e.len);
        }
        __atomic_store_n(&ring->first, (first + 1) % max, __ATOMIC_RELEASE);
    }
}

int mon_devices_mmio(struct mon_vm *vm)
{
    struct kvm_run *run = vm->run;
    uint64_t off = run->mmio.phys_addr - LUNIK_VIRTIO_MMIO_GPA;

    if (off % VIRTIO_MMIO_SLOT == VIRTIO_MMIO_QUEUE_NOTIFY)
        vm->stats.exits_notify++;
    else
        vm->stats.exits_register++;
    reg_access(vm, run->mmio.phys_addr, run->mmio.is_write, run->mmio.data,
           run->mmio.len > sizeof run->mmio.data ? sizeof run->mmio.data
                                                 : run->mmio.len);
    return -1;
}
