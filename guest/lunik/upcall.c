/* upcall.c: plat_deadline on the kvm target: a deadline word the monitor watches, and the upcall it enters (hypercall.h LUNIK_HC_UPCALL). */
#include <stdint.h>

#include "lunik/hypercall.h"
#include "lunik/platform.h"
#include "core/binding.h"
#include "hcall.h"


static uint64_t upcall_deadline __attribute__((aligned(8))); /* monitor reads */
static void (*upcall_fn)(void);
static int upcall_ready;

void guest_upcall(void)
{
    void (*fn)(void) = upcall_fn;

    if (fn != NULL && __atomic_load_n(&upcall_deadline, __ATOMIC_SEQ_CST))
        fn();
}

void plat_deadline(uint64_t deadline_ns, void (*fn)(void))
{
    if (!upcall_ready) {
        if (deadline_ns == 0)
            return;
        struct lunik_hc_upcall u = {
            .entry = (uint64_t)(uintptr_t)guest_upcall_entry,
            .deadline_gpa = (uint64_t)(uintptr_t)&upcall_deadline,
        };
        guest_hypercall(LUNIK_HC_UPCALL, &u);
        upcall_ready = 1;
    }
    upcall_fn = fn;
    __atomic_store_n(&upcall_deadline, deadline_ns, __ATOMIC_SEQ_CST);
}
