/* xen.c: Xen hypercalls from the CPL-3 guest through the PVH binding's CPL-0 gate: console, memory map, shutdown. */
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

void xen_shutdown(int status)
{
    struct { uint32_t reason; } arg = {   /* struct sched_shutdown */
        status == 0 ? XEN_SHUTDOWN_POWEROFF : XEN_SHUTDOWN_CRASH
    };

    xen_hypercall(XEN_HC_SCHED_OP, XEN_SCHEDOP_SHUTDOWN,
                  (uint64_t)(uintptr_t)&arg, 0);
}
