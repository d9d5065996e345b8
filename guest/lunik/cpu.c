/* cpu.c: the lunik binding's CPU hooks (core/binding.h): syscall entry, TLS base and fault reports through the monitor's hypercalls. */
#include <stddef.h>

#include "core/binding.h"
#include "hcall.h"

void guest_bind_syscall_entry(void (*entry)(void), uint64_t fmask)
{
    static struct lunik_hc_syscall_entry e;

    e.entry = (uint64_t)(uintptr_t)entry;
    e.fmask = fmask;
    guest_hypercall(LUNIK_HC_SYSCALL_ENTRY, &e);
}

void guest_bind_set_fs_base(uint64_t base)
{
    struct lunik_hc_set_tls t = { .fs_base = base };

    guest_hypercall(LUNIK_HC_SET_TLS, &t);
}

_Noreturn void guest_bind_fault(uint64_t vector, uint64_t error_code,
                                uint64_t rip, uint64_t rsp)
{
    static struct lunik_hc_abort a;     /* static: off the faulting stack */

    a.vector = vector;
    a.error_code = error_code;
    a.rip = rip;
    a.rsp = rsp;
    a.cr2 = 0;                          /* the monitor reads CR2 */
    for (;;)
        guest_hypercall(LUNIK_HC_ABORT, &a);
}

_Noreturn void guest_bind_panic(const char *msg, uint64_t rip)
{
    static struct lunik_hc_abort a;
    size_t n = 0;

    while (msg[n])
        n++;
    a.vector = LUNIK_ABORT_PANIC;
    a.rip = rip;
    a.msg = (uint64_t)(uintptr_t)msg;
    a.msg_len = n;
    for (;;)
        guest_hypercall(LUNIK_HC_ABORT, &a);
}
