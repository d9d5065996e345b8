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

/* Read and check a transfer's arguments and areas; 0, or
 * LUNIK_EXIT_GUEST after the report. */
static int xfer_map(struct mon_vm *vm, uint64_t gpa,
                    struct lunik_hc_net_xfer **x, const uint8_t **tx,
                    uint8_t **rx)
{
    *x = HC_ARGS(vm, gpa, struct lunik_hc_net_xfer, "NIC transfer "
                 "arguments");
    if (*x == NULL)
        return LUNIK_EXIT_GUEST;
    *tx = mon_guest_ptr(vm, (*x)->tx, (*x)->tx_len, "NIC TX batch");
    *rx = mon_guest_ptr(vm, (*x)->rx, (*x)->rx_room, "NIC RX room");
    return *tx == NULL || *rx == NULL ? LUNIK_EXIT_GUEST : 0;
}

/* Send the TX batch: each frame goes to the back end straight from guest
 * memory (the only copy is the back end's: slirp_input, or write(2)). */
static void xfer_send(struct lunik_hc_net_xfer *x, const uint8_t *tx)
{
    uint64_t at = 0, len = x->tx_len;

    x->tx_sent = x->tx_failed = 0;
    while (at < len) {
        uint64_t n;
        if (len - at < LUNIK_NET_RECORD_HEADER) {
            x->tx_failed++;
            break;
        }
        n = (uint64_t)tx[at] | (uint64_t)tx[at + 1] << 8;
        at += LUNIK_NET_RECORD_HEADER;
        if (n > len - at) {
            x->tx_failed++;
            break;
        }
        if (host_net_send(tx + at, n) == 0)
            x->tx_sent++;
        else
            x->tx_failed++;
        at += n;
    }
}

/* Fill the RX room with waiting frames; each lands in guest memory with
 * one copy. */
static void xfer_recv(struct lunik_hc_net_xfer *x, uint8_t *rx)
{
    struct host_net_info info;
    uint64_t at = 0, room = x->rx_room, frame;

    x->rx_len = 0;
    x->rx_frames = 0;
    x->rx_more = 0;
    if (room == 0 || host_net_info(&info) != 0)
        return;
    frame = (uint64_t)info.mtu + HOST_NET_ETH_HEADER;
    for (;;) {
        long n;
        if (room - at < LUNIK_NET_RECORD_HEADER + frame ||
            (x->rx_max != 0 && x->rx_frames == x->rx_max)) {
            x->rx_more = 1;             /* full: more may wait */
            break;
        }
        n = host_net_recv(rx + at + LUNIK_NET_RECORD_HEADER, frame);
        if (n <= 0)
            break;
        rx[at] = (uint8_t)n;
        rx[at + 1] = (uint8_t)(n >> 8);
        at += LUNIK_NET_RECORD_HEADER + (uint64_t)n;
        x->rx_frames++;
    }
    x->rx_len = at;
}

/* A yield with a NIC transfer sends before the wait and receives after
 * it (hypercall.h). */
static int hc_yield(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_yield *y =
        HC_ARGS(vm, gpa, struct lunik_hc_yield, "yield arguments");
    struct lunik_hc_net_xfer *x = NULL;
    const uint8_t *tx = NULL;
    uint8_t *rx = NULL;
    uint64_t now, timeout = UINT64_MAX;

    if (y == NULL)
        return LUNIK_EXIT_GUEST;
    if (y->net != 0) {
        if (xfer_map(vm, y->net, &x, &tx, &rx) != 0)
            return LUNIK_EXIT_GUEST;
        xfer_send(x, tx);
    }
    if (y->deadline_ns != UINT64_MAX) {
        now = host_clock_monotonic();
        timeout = y->deadline_ns > now ? y->deadline_ns - now : 0;
    }
    y->ready = host_wait(timeout, y->events &
                         (LUNIK_EVENT_CONSOLE | LUNIK_EVENT_NET));
    if (x != NULL)
        xfer_recv(x, rx);
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

static int hc_net_xfer(struct mon_vm *vm, uint64_t gpa)
{
    struct lunik_hc_net_xfer *x;
    const uint8_t *tx;
    uint8_t *rx;

    if (xfer_map(vm, gpa, &x, &tx, &rx) != 0)
        return LUNIK_EXIT_GUEST;
    xfer_send(x, tx);
    xfer_recv(x, rx);
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
        [LUNIK_HC_NET_INFO] = hc_net_info, [LUNIK_HC_NET_XFER] = hc_net_xfer,
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
