/* xen.h: the Xen services the PVH binding uses when Xen is the VMM: hypercalls, console, memory map, time scale, shutdown. */
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
#define XEN_MEM_MEMORY_MAP 9            /* XENMEM_memory_map */
#define XEN_MEM_ADD_TO_PHYSMAP 7        /* XENMEM_add_to_physmap */
#define XEN_MAPSPACE_SHARED_INFO 0      /* XENMAPSPACE_shared_info */
#define XEN_DOMID_SELF 0x7ff0           /* DOMID_SELF */
#define XEN_CONSOLEIO_WRITE 0           /* CONSOLEIO_write */
#define XEN_SCHEDOP_SHUTDOWN 2          /* SCHEDOP_shutdown */
#define XEN_SHUTDOWN_POWEROFF 0         /* SHUTDOWN_poweroff */
#define XEN_SHUTDOWN_CRASH 3            /* SHUTDOWN_crash */

/* entry.S: the CPUID base of Xen's leaves (0x40000x00), 0 when the VMM
 * is not Xen; and the hypercall page Xen filled. */
extern uint32_t xen_cpuid_base;
extern uint8_t xen_hypercall_page[4096];

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

/* xen_shutdown(status): SCHEDOP_shutdown, poweroff for status 0 and crash
 * otherwise (Xen keeps no exit status; a hardware domain's shutdown stops
 * the machine). Returns only if Xen refused. */
void xen_shutdown(int status);

#endif
