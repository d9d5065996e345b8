/* hypercall.c: serve the guest's hypercalls, checking every guest address first. */
#include "monitor.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "host/host.h"
#include "lunik/hypercall.h"
#include "lunik/virtio.h"

void *mon_guest_ptr(const struct mon_vm *vm, uint64_t gpa, uint64_t len,
                    const char *what)
{
    if (gpa > vm->mem_size || len > vm->mem_size - gpa) {
        fprintf(stderr, "lunik: guest error: %s 0x%" PRIx64 "+%" PRIu64
                " is outside guest memory (%" PRIu64 " bytes) at RIP 0x%"
                PRIx64 "\n", what, gpa, len, vm->mem_size, mon_vm_rip(vm));
        return NULL;
    }
    return vm->mem + gpa;
}

/* The argument struct of a hypercall: a checked pointer, or NULL. */
#define HC_ARGS(vm, gpa, type, what) \
    ((type *)mon_guest_ptr((vm), (gpa), sizeof(type), (what)))

/* Block until a device notifies (the irq eventfd) or the deadline. */
static int hc_wait(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_wait *w =
        HC_ARGS(vm, gpa, struct lunik_hc_wait, "wait arguments");
    struct pollfd p = { .fd = vm->irq_fd, .events = POLLIN };
    uint64_t deadline, now, v;
    struct timespec ts;

    if (w == NULL)
        return LUNIK_EXIT_GUEST;
    deadline = w->deadline_ns;
    w->notified = 0;
    w->shutdown = 0;
    __atomic_store_n(&vm->upcall.in_wait, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        if (host_shutdown_take()) {
            w->shutdown = 1;
            break;
        }
        now = host_clock_monotonic();
        if (deadline != UINT64_MAX) {
            uint64_t left = deadline > now ? deadline - now : 0;
            ts.tv_sec = (time_t)(left / 1000000000u);
            ts.tv_nsec = (long)(left % 1000000000u);
        }
        int r = ppoll(&p, 1, deadline == UINT64_MAX ? NULL : &ts, NULL);
        if (r > 0) {
            if (read(vm->irq_fd, &v, sizeof v) == sizeof v)
                w->notified = 1;
            break;
        }
        if (r == 0 || errno != EINTR ||
            __atomic_load_n(&vm->stop_status, __ATOMIC_SEQ_CST) >= 0)
            break;
    }
    __atomic_store_n(&vm->upcall.in_wait, 0, __ATOMIC_SEQ_CST);
    if (w->notified)
        vm->stats.waits_notified++;
    w->monotonic_ns = host_clock_monotonic();
    w->wall_ns = host_clock_wall();
    return -1;
}

static int hc_clock(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_clock *c =
        HC_ARGS(vm, gpa, struct lunik_hc_clock, "clock arguments");

    if (c == NULL)
        return LUNIK_EXIT_GUEST;
    c->monotonic_ns = host_clock_monotonic();
    c->wall_ns = host_clock_wall();
    return -1;
}

static int hc_exit(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_exit *e =
        HC_ARGS(vm, gpa, struct lunik_hc_exit, "exit arguments");

    return e == NULL ? LUNIK_EXIT_GUEST : (int)(e->status & 0xff);
}

static const char *const exception_names[32] = {
    [0] = "divide error (#DE)", [1] = "debug exception (#DB)",
    [2] = "non-maskable interrupt (NMI)", [3] = "breakpoint (#BP)",
    [4] = "overflow (#OF)", [5] = "bound range exceeded (#BR)",
    [6] = "invalid opcode (#UD)", [7] = "device not available (#NM)",
    [8] = "double fault (#DF)", [10] = "invalid TSS (#TS)",
    [11] = "segment not present (#NP)", [12] = "stack-segment fault (#SS)",
    [13] = "general protection fault (#GP)", [14] = "page fault (#PF)",
    [16] = "x87 floating-point error (#MF)", [17] = "alignment check (#AC)",
    [18] = "machine check (#MC)", [19] = "SIMD floating-point error (#XM)",
    [20] = "virtualization exception (#VE)",
    [21] = "control protection exception (#CP)",
};

/* What a page fault's address suggests, for the report. */
static const char *fault_hint(uint64_t cr2)
{
    if (cr2 < 4096)
        return ", a NULL pointer";
    if (cr2 >= LUNIK_GUARD_GPA && cr2 < LUNIK_GUARD_GPA + 4096)
        return ", stack overflow";
    return "";
}

/* CR2, which the guest cannot read at CPL 3 (KVM API 4.13); 0 if
 * unknown. */
static uint64_t vcpu_cr2(const struct mon_vm *vm)
{
    struct kvm_sregs s;

    return ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0 ? 0 : s.cr2;
}

static int hc_abort(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_abort *a =
        HC_ARGS(vm, gpa, struct lunik_hc_abort, "abort arguments");
    const char *msg;
    uint64_t cr2;

    if (a == NULL)
        return LUNIK_EXIT_GUEST;
    mon_devices_stop(vm);               /* the guest's output first */
    if (a->vector == LUNIK_ABORT_PANIC) {
        uint64_t n = a->msg_len > 200 ? 200 : a->msg_len;
        msg = mon_guest_ptr(vm, a->msg, n, "panic message");
        if (msg != NULL)
            fprintf(stderr, "lunik: guest fault: libOS panic: %.*s at RIP "
                    "0x%" PRIx64 "\n", (int)n, msg, a->rip);
        return LUNIK_EXIT_GUEST;
    }
    if (a->vector == 14) {
        cr2 = vcpu_cr2(vm);
        fprintf(stderr, "lunik: guest fault: page fault (#PF) at RIP 0x%"
                PRIx64 " (address 0x%" PRIx64 "%s)\n", a->rip, cr2,
                fault_hint(cr2));
    } else if (a->vector < 32 && exception_names[a->vector] != NULL) {
        fprintf(stderr, "lunik: guest fault: %s at RIP 0x%" PRIx64
                " (error code 0x%" PRIx64 ")\n", exception_names[a->vector],
                a->rip, a->error_code);
    } else {
        fprintf(stderr, "lunik: guest fault: exception %" PRIu64 " at RIP 0x%"
                PRIx64 "\n", a->vector, a->rip);
    }
    return LUNIK_EXIT_GUEST;
}

/* A canonical 48-bit virtual address (bits 63..47 all equal). */
static int canonical(uint64_t a)
{
    return (uint64_t)((int64_t)(a << 16) >> 16) == a;
}

static int hc_set_tls(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_set_tls *t =
        HC_ARGS(vm, gpa, struct lunik_hc_set_tls, "set-TLS arguments");
    struct kvm_sregs s;

    if (t == NULL)
        return LUNIK_EXIT_GUEST;
    if (!canonical(t->fs_base)) {
        fprintf(stderr, "lunik: guest error: TLS pointer 0x%" PRIx64 " is "
                "not a canonical address at RIP 0x%" PRIx64 "\n",
                t->fs_base, mon_vm_rip(vm));
        return LUNIK_EXIT_GUEST;
    }
    if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
        return mon_os_error("KVM_GET_SREGS");
    s.fs.base = t->fs_base;
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s) < 0)
        return mon_os_error("KVM_SET_SREGS");
    return -1;
}

#define MSR_LSTAR 0xc0000082u
#define MSR_FMASK 0xc0000084u

static int hc_upcall(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_upcall *u =
        HC_ARGS(vm, gpa, struct lunik_hc_upcall, "upcall arguments");

    if (u == NULL || mon_upcall_setup(vm, u->entry, u->deadline_gpa,
                                      u->interrupt_gpa) != 0)
        return LUNIK_EXIT_GUEST;
    return -1;
}

static int hc_syscall_entry(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_syscall_entry *e = HC_ARGS(
        vm, gpa, struct lunik_hc_syscall_entry, "syscall-entry arguments");
    struct {
        struct kvm_msrs head;
        struct kvm_msr_entry e[2];
    } m = { .head.nmsrs = 2 };

    if (e == NULL)
        return LUNIK_EXIT_GUEST;
    if (!canonical(e->entry)) {
        fprintf(stderr, "lunik: guest error: system-call entry 0x%" PRIx64
                " is not a canonical address at RIP 0x%" PRIx64 "\n",
                e->entry, mon_vm_rip(vm));
        return LUNIK_EXIT_GUEST;
    }
    m.e[0] = (struct kvm_msr_entry){ .index = MSR_LSTAR, .data = e->entry };
    m.e[1] = (struct kvm_msr_entry){ .index = MSR_FMASK,
                                     .data = e->fmask & 0xffffffffu };
    if (ioctl(vm->vcpu_fd, KVM_SET_MSRS, &m) != 2)
        return mon_os_error("KVM_SET_MSRS");
    return -1;
}

/* Where the guest keeps its counters: checked here once, read at the end
 * (stats.c) as plain numbers. */
static int hc_stats(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_stats *s =
        HC_ARGS(vm, gpa, struct lunik_hc_stats, "stats arguments");

    if (s == NULL ||
        mon_guest_ptr(vm, s->counters_gpa, sizeof(struct lunik_guest_counters),
                      "guest counters") == NULL)
        return LUNIK_EXIT_GUEST;
    vm->guest_counters_gpa = s->counters_gpa;
    return -1;
}

int mon_hypercall(struct mon_vm *vm)
{
    static int (*const calls[LUNIK_HC_COUNT])(struct mon_vm *, uint64_t) = {
        [LUNIK_HC_WAIT] = hc_wait, [LUNIK_HC_CLOCK] = hc_clock,
        [LUNIK_HC_EXIT] = hc_exit, [LUNIK_HC_ABORT] = hc_abort,
        [LUNIK_HC_SET_TLS] = hc_set_tls,
        [LUNIK_HC_SYSCALL_ENTRY] = hc_syscall_entry,
        [LUNIK_HC_UPCALL] = hc_upcall,
        [LUNIK_HC_STATS] = hc_stats,
    };
    struct kvm_run *run = vm->run;
    uint64_t addr = run->mmio.phys_addr, off = addr - LUNIK_HYPERCALL_GPA;
    uint64_t arg;

    if (addr >= LUNIK_VIRTIO_MMIO_GPA &&
        addr - LUNIK_VIRTIO_MMIO_GPA < LUNIK_VIRTIO_SLOTS * VIRTIO_MMIO_SLOT)
        return mon_devices_mmio(vm);
    if (!run->mmio.is_write || run->mmio.len != 8 ||
        addr < LUNIK_HYPERCALL_GPA || off % 8 != 0 ||
        off / 8 >= LUNIK_HC_COUNT) {
        fprintf(stderr, "lunik: guest error: %s of %u byte(s) at address "
                "0x%" PRIx64 ", outside guest memory (%" PRIu64 " bytes) and "
                "not a hypercall, at RIP 0x%" PRIx64 "\n",
                run->mmio.is_write ? "write" : "read",
                (unsigned)run->mmio.len, addr, vm->mem_size, mon_vm_rip(vm));
        return LUNIK_EXIT_GUEST;
    }
    memcpy(&arg, run->mmio.data, sizeof arg);
    vm->stats.exits_hypercall++;
    vm->stats.hypercalls[off / 8]++;
    return calls[off / 8](vm, arg);
}
