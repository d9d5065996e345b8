/* upcall.c: the guest's deadline timer: a thread that watches the guest's deadline word and enters its upcall, as a signal is delivered (hypercall.h LUNIK_HC_UPCALL). */
#include "monitor.h"

#include <errno.h>
#include <linux/kvm.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>

#include "host/deadline.h"

#define UPCALL_STACK_ROOM 4096          /* bytes the entry may use below */

/* The watcher fired: enter the upcall, if the vCPU is in guest mode. */
static void upcall_fire(void *arg, uint64_t deadline_ns)
{
    struct mon_vm *vm = arg;

    (void)deadline_ns;
    if (__atomic_load_n(&vm->upcall.in_wait, __ATOMIC_SEQ_CST))
        return;
    __atomic_store_n(&vm->upcall.pending, 1, __ATOMIC_SEQ_CST);
    __atomic_store_n(&vm->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    pthread_kill(vm->vcpu_thread, SIGUSR1);
}

/* The vCPU thread's VM, for the SIGURG handler. */
static struct mon_vm *interrupt_vm;

static void on_interrupt_signal(int sig)
{
    (void)sig;
    if (interrupt_vm != NULL)
        mon_upcall_interrupt(interrupt_vm);
}

void mon_upcall_interrupt(struct mon_vm *vm)
{
    if (vm->upcall.interrupts == NULL ||
        __atomic_load_n(&vm->upcall.in_wait, __ATOMIC_SEQ_CST))
        return;                             /* nothing runs: dropped */
    __atomic_fetch_add(vm->upcall.interrupts, 1, __ATOMIC_SEQ_CST);
    upcall_fire(vm, 0);
}

int mon_upcall_setup(struct mon_vm *vm, uint64_t entry, uint64_t deadline_gpa,
                     uint64_t interrupt_gpa)
{
    if (vm->upcall.deadline != NULL)
        return 0;                           /* once; later calls: no-op */
    if (deadline_gpa % 8 != 0 || interrupt_gpa % 8 != 0)
        return -1;
    uint64_t *d = mon_guest_ptr(vm, deadline_gpa, 8, "upcall deadline");
    if (d == NULL)
        return -1;
    if (interrupt_gpa != 0) {
        uint64_t *n = mon_guest_ptr(vm, interrupt_gpa, 8,
                                    "upcall interrupt count");
        if (n == NULL)
            return -1;
        vm->upcall.interrupts = n;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_interrupt_signal;
        sa.sa_flags = SA_RESTART;
        sigemptyset(&sa.sa_mask);
        interrupt_vm = vm;
        sigaction(SIGURG, &sa, NULL);
    }
    vm->upcall.entry = entry;
    vm->upcall.deadline = d;
    vm->upcall.watch.word = d;
    vm->upcall.watch.fire = upcall_fire;
    vm->upcall.watch.arg = vm;
    if (host_deadline_start(&vm->upcall.watch) != 0) {
        vm->upcall.deadline = NULL;
        return 0;                           /* no timer: budgets do nothing */
    }
    vm->upcall.started = 1;
    return 0;
}

int mon_upcall_deliver(struct mon_vm *vm)
{
    struct kvm_regs r;

    if (!__atomic_exchange_n(&vm->upcall.pending, 0, __ATOMIC_SEQ_CST))
        return 0;
    if (__atomic_load_n(&vm->stop_status, __ATOMIC_SEQ_CST) < 0)
        __atomic_store_n(&vm->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &r) < 0)
        return mon_os_error("KVM_GET_REGS");
    uint64_t frame = r.rsp - LUNIK_UPCALL_FRAME;
    /* The frame and the room below it must be guest memory; a guest with
     * its stack elsewhere simply gets no upcall. */
    if (r.rsp < LUNIK_UPCALL_FRAME + UPCALL_STACK_ROOM ||
        frame - UPCALL_STACK_ROOM < LUNIK_STACK_BOTTOM ||
        r.rsp > vm->mem_size)
        return 0;
    uint64_t *f = (uint64_t *)(vm->mem + frame);
    const uint64_t saved[17] = {
        r.rax, r.rbx, r.rcx, r.rdx, r.rsi, r.rdi, r.rbp, r.r8, r.r9, r.r10,
        r.r11, r.r12, r.r13, r.r14, r.r15, r.rflags, r.rip,
    };
    memcpy(f, saved, sizeof saved);
    r.rsp = frame;
    r.rip = vm->upcall.entry;
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &r) < 0)
        return mon_os_error("KVM_SET_REGS");
    vm->stats.upcalls++;
    return 0;
}

void mon_upcall_stop(struct mon_vm *vm)
{
    if (interrupt_vm == vm) {
        signal(SIGURG, SIG_DFL);
        interrupt_vm = NULL;
    }
    if (!vm->upcall.started)
        return;
    host_deadline_stop(&vm->upcall.watch);
    vm->upcall.started = 0;
}
