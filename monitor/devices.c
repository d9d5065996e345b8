/* devices.c: the VM's virtio-mmio devices: creation, register accesses, waking and stopping the vCPU. */
#include "monitor.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
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

int mon_devices_start(struct mon_vm *vm, const struct lunik_run_config *cfg)
{
    int r;

    (void)cfg;
    if ((r = mon_console_start(vm)) != 0)
        return r;
    return mon_net_start(vm);
}

void mon_devices_stop(struct mon_vm *vm)
{
    mon_net_stop(vm);
    mon_console_stop(vm);
}

int mon_devices_mmio(struct mon_vm *vm)
{
    struct kvm_run *run = vm->run;
    uint64_t off = run->mmio.phys_addr - LUNIK_VIRTIO_MMIO_GPA;
    struct mon_virtio_dev *d = vm->devices[off / VIRTIO_MMIO_SLOT];

    if (off % VIRTIO_MMIO_SLOT == VIRTIO_MMIO_QUEUE_NOTIFY)
        vm->stats.exits_notify++;
    else
        vm->stats.exits_register++;
    if (d == NULL) {                    /* an empty slot reads as zeros */
        if (!run->mmio.is_write)
            memset(run->mmio.data, 0, sizeof run->mmio.data);
        return -1;
    }
    mon_virtio_mmio(d, off % VIRTIO_MMIO_SLOT, run->mmio.is_write,
                    run->mmio.data, run->mmio.len);
    return -1;
}
