/* xen.h: the Xen services the PVH binding uses when Xen is the VMM: hypercalls, console, memory map, time, single-shot timer, shutdown. */
#ifndef LUNIK_GUEST_XEN_H
#define LUNIK_GUEST_XEN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Names and numbers are those of Xen's public headers (xen/include/public:
 * xen.h, memory.h, sched.h, arch-x86/cpuid.h); the definitions here are
 * this project's own. A PVH guest under Xen is an HVM guest without
 * emulated devices: it boots through the same PVH entry as under QEMU and
 * Firecracker (guest/pvh/entry.S), which also names the hypercall page at
 * CPL 0. HVM hypercalls must be made at CPL 0, so the CPL-3 guest makes
 * them through a gate (PVH_VEC_XEN_HCALL) that calls the page's stub.
 */
#define XEN_HC_MEMORY_OP   12           /* __HYPERVISOR_memory_op */
#define XEN_HC_CONSOLE_IO  18           /* __HYPERVISOR_console_io */
#define XEN_HC_SCHED_OP    29           /* __HYPERVISOR_sched_op */
#define XEN_HC_VCPU_OP     24           /* __HYPERVISOR_vcpu_op */
#define XEN_HC_EVTCHN_OP   32           /* __HYPERVISOR_event_channel_op */
#define XEN_HC_HVM_OP      34           /* __HYPERVISOR_hvm_op */
#define XEN_HVMOP_SET_PARAM 0           /* HVMOP_set_param */
#define XEN_HVM_PARAM_CALLBACK_IRQ 0    /* HVM_PARAM_CALLBACK_IRQ */
#define XEN_CALLBACK_VECTOR (2ull << 56) /* ..._CALLBACK_TYPE_VECTOR */
#define XEN_EVTCHNOP_BIND_VIRQ 1        /* EVTCHNOP_bind_virq */
#define XEN_EVTCHNOP_UNMASK 9           /* EVTCHNOP_unmask */
#define XEN_VIRQ_TIMER 0                /* VIRQ_TIMER */
#define XEN_VCPUOP_SET_SINGLESHOT 8     /* VCPUOP_set_singleshot_timer */
#define XEN_VCPUOP_STOP_SINGLESHOT 9    /* VCPUOP_stop_singleshot_timer */
#define XEN_MEM_MEMORY_MAP 9            /* XENMEM_memory_map */
#define XEN_MEM_ADD_TO_PHYSMAP 7        /* XENMEM_add_to_physmap */
#define XEN_MAPSPACE_SHARED_INFO 0      /* XENMAPSPACE_shared_info */
#define XEN_DOMID_SELF 0x7ff0           /* DOMID_SELF */
#define XEN_CONSOLEIO_WRITE 0           /* CONSOLEIO_write */
#define XEN_SCHEDOP_SHUTDOWN 2          /* SCHEDOP_shutdown */
#define XEN_SHUTDOWN_POWEROFF 0         /* SHUTDOWN_poweroff */
#define XEN_SHUTDOWN_CRASH 3            /* SHUTDOWN_crash */

/* vcpu_time_info (public/xen.h): Xen's system time at
 * tsc_timestamp and the TSC-to-ns scale; odd version: being updated. */
struct xen_vcpu_time_info {
    uint32_t version;
    uint32_t pad0;
    uint64_t tsc_timestamp;
    uint64_t system_time;
    uint32_t tsc_to_system_mul;
    int8_t tsc_shift;
    uint8_t flags;
    uint8_t pad1[2];
};

/* vcpu_info on x86-64: the event-channel bytes, arch (cr2, pad), time. */
struct xen_vcpu_info {
    uint8_t evtchn_upcall_pending;
    uint8_t evtchn_upcall_mask;
    uint8_t pad[6];
    uint64_t evtchn_pending_sel;
    uint64_t arch_cr2, arch_pad;
    struct xen_vcpu_time_info time;
};

_Static_assert(sizeof(struct xen_vcpu_info) == 64, "vcpu_info is 64 bytes");

/* entry.S: the CPUID base of Xen's leaves (0x40000x00), 0 when the VMM
 * is not Xen; and the hypercall page Xen filled. */
extern uint32_t xen_cpuid_base;
extern uint8_t xen_hypercall_page[4096];
/* xen.c: the page shared_info is mapped on (XENMAPSPACE_shared_info);
 * entry.S's timer stub clears its first byte, vcpu_info[0]'s
 * evtchn_upcall_pending. */
extern struct xen_vcpu_info xen_shared_info[64];

/* xen_present: 1 under Xen. */
static inline int xen_present(void)
{
    return xen_cpuid_base != 0;
}

/* xen_hypercall(op, a1, a2, a3): one hypercall through the CPL-0 gate;
 * Xen's result (negative: -errno). Pointers are guest addresses (this
 * guest is identity mapped). */
long xen_hypercall(unsigned op, uint64_t a1, uint64_t a2, uint64_t a3);

/* xen_console_write(p, n): n bytes on Xen's console
 * (HYPERVISOR_console_io CONSOLEIO_write; as dom0 it reaches Xen's
 * serial console). */
void xen_console_write(const void *p, size_t n);

/* One entry of the E820-style map XENMEM_memory_map returns (packed, 20
 * bytes; type 1 = RAM). */
struct xen_e820 {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
} __attribute__((packed));

/* xen_memory_map(map, max): the domain's memory map (XENMEM_memory_map),
 * at most max entries. -> the entry count, or a negative Xen error. */
long xen_memory_map(struct xen_e820 *map, unsigned max);

/* xen_tsc_mult: ns per TSC tick in 32.32 fixed point, from vcpu 0's
 * vcpu_time_info (tsc_to_system_mul, tsc_shift) in shared_info, which
 * this maps the first time (XENMEM_add_to_physmap, XENMAPSPACE_shared_info);
 * 0 when Xen gives none. */
uint64_t xen_tsc_mult(void);

/* xen_system_time: Xen's system time in ns, from vcpu 0's
 * vcpu_time_info by the pvclock algorithm (system_time plus the TSC ticks
 * since tsc_timestamp, scaled); 0 before xen_tsc_mult mapped it. */
uint64_t xen_system_time(void);

/*
 * xen_timer_init(vector): have Xen deliver this vCPU's event-channel
 * upcall as interrupt `vector` (HVM_PARAM_CALLBACK_IRQ, type vector) and
 * bind VIRQ_TIMER to an event channel, so that
 * VCPUOP_set_singleshot_timer wakes the vCPU there. 0, or -1 (then the
 * caller keeps the LAPIC timer).
 */
int xen_timer_init(uint8_t vector);

/* xen_timer_arm(ns_from_now): clear the pending events (so the next one
 * is delivered) and set the single-shot timer to Xen's system time plus
 * ns_from_now (UINT64_MAX: stop it). */
void xen_timer_arm(uint64_t ns_from_now);

/* xen_shutdown(status): SCHEDOP_shutdown, poweroff for status 0 and crash
 * otherwise (Xen keeps no exit status; a hardware domain's shutdown stops
 * the machine). Returns only if Xen refused. */
void xen_shutdown(int status);

#endif
