/* hypercall.c: serve the guest's hypercalls, checking every guest address first. */
#include "monitor.h"

#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "host/host.h"
#include "host/net.h"
#include "lunik/hypercall.h"

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

static int hc_write(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_write *w =
        HC_ARGS(vm, gpa, struct lunik_hc_write, "console write arguments");
    const void *data;

    if (w == NULL)
        return LUNIK_EXIT_GUEST;
    data = mon_guest_ptr(vm, w->data, w->len, "console write buffer");
    if (data == NULL)
        return LUNIK_EXIT_GUEST;
    host_console_write(w->stream == 1 ? 1 : 2, data, w->len);
    return -1;
}

static int hc_read(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_read *r =
        HC_ARGS(vm, gpa, struct lunik_hc_read, "console read arguments");
    void *data;

    if (r == NULL)
        return LUNIK_EXIT_GUEST;
    data = mon_guest_ptr(vm, r->data, r->len, "console read buffer");
    if (data == NULL)
        return LUNIK_EXIT_GUEST;
    r->ret = host_console_read(data, r->len);
    return -1;
}

static int hc_yield(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_yield *y =
        HC_ARGS(vm, gpa, struct lunik_hc_yield, "yield arguments");
    uint64_t now, timeout = UINT64_MAX;

    if (y == NULL)
        return LUNIK_EXIT_GUEST;
    if (y->deadline_ns != UINT64_MAX) {
        now = host_clock_monotonic();
        timeout = y->deadline_ns > now ? y->deadline_ns - now : 0;
    }
    y->ready = host_wait(timeout, y->events &
                         (LUNIK_EVENT_CONSOLE | LUNIK_EVENT_NET));
    y->monotonic_ns = host_clock_monotonic();
    y->wall_ns = host_clock_wall();
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

static int hc_net_info(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_net_info *ni =
        HC_ARGS(vm, gpa, struct lunik_hc_net_info, "NIC info arguments");
    struct host_net_info h;

    if (ni == NULL)
        return LUNIK_EXIT_GUEST;
    if (host_net_info(&h) != 0) {
        ni->ret = -1;
        return -1;
    }
    memcpy(ni->mac, h.mac, sizeof ni->mac);
    ni->mtu = h.mtu;
    ni->ipv4_addr = h.ipv4_addr;
    ni->ipv4_netmask = h.ipv4_netmask;
    ni->ipv4_gateway = h.ipv4_gateway;
    ni->ret = 0;
    return -1;
}

/* The frame goes to the back end straight from guest memory: the only
 * copy is the back end's own (slirp_input, or the tap's write(2)). */
static int hc_net_send(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_net_send *s =
        HC_ARGS(vm, gpa, struct lunik_hc_net_send, "NIC send arguments");
    const void *data;

    if (s == NULL)
        return LUNIK_EXIT_GUEST;
    data = mon_guest_ptr(vm, s->data, s->len, "NIC send buffer");
    if (data == NULL)
        return LUNIK_EXIT_GUEST;
    s->ret = host_net_send(data, s->len);
    return -1;
}

/* Received frames land straight in guest memory. */
static int hc_net_recv(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_net_recv *r =
        HC_ARGS(vm, gpa, struct lunik_hc_net_recv, "NIC receive arguments");
    void *data;

    if (r == NULL)
        return LUNIK_EXIT_GUEST;
    data = mon_guest_ptr(vm, r->data, r->len, "NIC receive buffer");
    if (data == NULL)
        return LUNIK_EXIT_GUEST;
    r->ret = host_net_recv(data, r->len);
    return -1;
}

int mon_hypercall(struct mon_vm *vm)
{
    static int (*const calls[LUNIK_HC_COUNT])(struct mon_vm *, uint64_t) = {
        [LUNIK_HC_WRITE] = hc_write, [LUNIK_HC_READ] = hc_read,
        [LUNIK_HC_YIELD] = hc_yield, [LUNIK_HC_CLOCK] = hc_clock,
        [LUNIK_HC_EXIT] = hc_exit, [LUNIK_HC_ABORT] = hc_abort,
        [LUNIK_HC_SET_TLS] = hc_set_tls,
        [LUNIK_HC_SYSCALL_ENTRY] = hc_syscall_entry,
        [LUNIK_HC_NET_INFO] = hc_net_info, [LUNIK_HC_NET_SEND] = hc_net_send,
        [LUNIK_HC_NET_RECV] = hc_net_recv,
    };
    struct kvm_run *run = vm->run;
    uint64_t addr = run->mmio.phys_addr, off = addr - LUNIK_HYPERCALL_GPA;
    uint64_t arg;

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
    return calls[off / 8](vm, arg);
}
