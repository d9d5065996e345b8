/* xen.c: Xen hypercalls from the CPL-3 guest through the PVH binding's CPL-0 gate: console, memory map, time scale (shared_info), shutdown. */
#include "xen.h"

#include "../pvh/pvh.h"

long xen_hypercall(unsigned op, uint64_t a1, uint64_t a2, uint64_t a3)
{
    long r;

    __asm__ volatile("int %[vec]"
                     : "=a"(r), "+D"(a1), "+S"(a2), "+d"(a3)
                     : "a"((uint64_t)op), [vec] "i"(PVH_VEC_XEN_HCALL)
                     : "rcx", "r8", "r9", "r10", "r11", "memory");
    return r;
}

void xen_console_write(const void *p, size_t n)
{
    const char *b = p;

    while (n > 0) {                     /* Xen takes at most ~16 KiB a call */
        size_t k = n > 4096 ? 4096 : n;
        long r = xen_hypercall(XEN_HC_CONSOLE_IO, XEN_CONSOLEIO_WRITE, k,
                               (uint64_t)(uintptr_t)b);
        if (r < 0)
            return;
        b += k;
        n -= k;
    }
}

long xen_memory_map(struct xen_e820 *map, unsigned max)
{
    struct {                            /* struct xen_memory_map */
        uint32_t nr_entries;
        uint32_t pad;
        uint64_t buffer;
    } arg = { max, 0, (uint64_t)(uintptr_t)map };
    long r = xen_hypercall(XEN_HC_MEMORY_OP, XEN_MEM_MEMORY_MAP,
                           (uint64_t)(uintptr_t)&arg, 0);

    return r < 0 ? r : (long)arg.nr_entries;
}

/* vcpu_time_info (xen.h, public/xen.h): Xen's system time at
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

/* The page Xen maps shared_info on (its vcpu_info[0] comes first). */
static struct xen_vcpu_info shared_info[64] __attribute__((aligned(4096)));

uint64_t xen_tsc_mult(void)
{
    static int mapped;
    struct {                            /* struct xen_add_to_physmap */
        uint16_t domid;
        uint16_t size;
        uint32_t space;
        uint64_t idx;
        uint64_t gpfn;
    } arg = { XEN_DOMID_SELF, 0, XEN_MAPSPACE_SHARED_INFO, 0,
              (uint64_t)(uintptr_t)shared_info >> 12 };
    volatile struct xen_vcpu_time_info *t = &shared_info[0].time;
    uint32_t v, mul;
    int8_t shift;

    if (!xen_present())
        return 0;
    if (!mapped) {
        if (xen_hypercall(XEN_HC_MEMORY_OP, XEN_MEM_ADD_TO_PHYSMAP,
                          (uint64_t)(uintptr_t)&arg, 0) != 0)
            return 0;
        mapped = 1;
    }
    do {
        v = t->version;
        __asm__ volatile("" ::: "memory");
        mul = t->tsc_to_system_mul;
        shift = t->tsc_shift;
        __asm__ volatile("" ::: "memory");
    } while ((v & 1) || v != t->version);
    if (mul == 0)
        return 0;
    return shift >= 0 ? (uint64_t)mul << shift : (uint64_t)mul >> -shift;
}

void xen_shutdown(int status)
{
    struct { uint32_t reason; } arg = {   /* struct sched_shutdown */
        status == 0 ? XEN_SHUTDOWN_POWEROFF : XEN_SHUTDOWN_CRASH
    };

    xen_hypercall(XEN_HC_SCHED_OP, XEN_SCHEDOP_SHUTDOWN,
                  (uint64_t)(uintptr_t)&arg, 0);
}
