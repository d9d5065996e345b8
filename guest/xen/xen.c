/* xen.c: Xen hypercalls from the CPL-3 guest through the PVH binding's CPL-0 gate: console, memory map, time scale (shared_info), single-shot timer, shutdown. */
#include "xen.h"

#include "../pvh/pvh.h"
#include "core/cpu.h"

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


/* The page Xen maps shared_info on (its vcpu_info[0] comes first; entry.S
 * clears vcpu_info[0].evtchn_upcall_pending, its first byte). */
struct xen_vcpu_info xen_shared_info[64] __attribute__((aligned(4096)));

/* shared_info after its vcpu_info array: the event-channel bitmaps. */
#define XEN_EVTCHN_PENDING(si) ((volatile uint64_t *)((char *)(si) + 2048))

uint64_t xen_system_time(void)
{
    volatile struct xen_vcpu_time_info *t = &xen_shared_info[0].time;
    uint32_t v;
    uint64_t ns;

    do {
        v = t->version;
        __asm__ volatile("" ::: "memory");
        uint64_t d = guest_rdtsc() - t->tsc_timestamp;
        int8_t shift = t->tsc_shift;
        d = shift >= 0 ? d << shift : d >> -shift;
        ns = t->system_time +
             (uint64_t)((unsigned __int128)d * t->tsc_to_system_mul >> 32);
        __asm__ volatile("" ::: "memory");
    } while ((v & 1) || v != t->version);
    return ns;
}

int xen_timer_init(uint8_t vector)
{
    struct {                            /* struct xen_hvm_param */
        uint16_t domid;
        uint16_t pad;
        uint32_t index;
        uint64_t value;
    } param = { XEN_DOMID_SELF, 0, XEN_HVM_PARAM_CALLBACK_IRQ,
                XEN_CALLBACK_VECTOR | vector };
    struct { uint32_t virq, vcpu, port; } bind = { XEN_VIRQ_TIMER, 0, 0 };

    if (!xen_present() || xen_tsc_mult() == 0 ||
        xen_hypercall(XEN_HC_HVM_OP, XEN_HVMOP_SET_PARAM,
                      (uint64_t)(uintptr_t)&param, 0) != 0 ||
        xen_hypercall(XEN_HC_EVTCHN_OP, XEN_EVTCHNOP_BIND_VIRQ,
                      (uint64_t)(uintptr_t)&bind, 0) != 0)
        return -1;
    struct { uint32_t port; } unmask = { bind.port };
    xen_hypercall(XEN_HC_EVTCHN_OP, XEN_EVTCHNOP_UNMASK,
                  (uint64_t)(uintptr_t)&unmask, 0);
    xen_shared_info[0].evtchn_upcall_mask = 0;
    return 0;
}

void xen_timer_arm(uint64_t ns_from_now)
{
    struct {                            /* struct vcpu_set_singleshot_timer */
        uint64_t timeout_abs_ns;
        uint32_t flags;
        uint32_t pad;
    } t = { 0, 0, 0 };
    volatile uint64_t *pending = XEN_EVTCHN_PENDING(xen_shared_info);

    /* Only the timer's port is bound: clear everything, then the next
     * event sets evtchn_upcall_pending again and is delivered. */
    xen_shared_info[0].evtchn_upcall_pending = 0;
    uint64_t sel = __atomic_exchange_n(&xen_shared_info[0].evtchn_pending_sel, 0,
                                       __ATOMIC_SEQ_CST);
    for (unsigned i = 0; i < 64; i++)
        if (sel & (1ull << i))
            __atomic_exchange_n(&pending[i], 0, __ATOMIC_SEQ_CST);
    if (ns_from_now == UINT64_MAX) {
        xen_hypercall(XEN_HC_VCPU_OP, XEN_VCPUOP_STOP_SINGLESHOT, 0, 0);
        return;
    }
    t.timeout_abs_ns = xen_system_time() + ns_from_now;
    xen_hypercall(XEN_HC_VCPU_OP, XEN_VCPUOP_SET_SINGLESHOT, 0,
                  (uint64_t)(uintptr_t)&t);
}

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
              (uint64_t)(uintptr_t)xen_shared_info >> 12 };
    volatile struct xen_vcpu_time_info *t = &xen_shared_info[0].time;
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
