/* hcall.h: how the lunik binding makes a hypercall to lunik's monitor. */
#ifndef LUNIK_GUEST_LUNIK_HCALL_H
#define LUNIK_GUEST_LUNIK_HCALL_H

#include <stdint.h>

#include "lunik/hypercall.h"

/*
 * guest_hypercall: make hypercall nr with argument struct arg: one 8-byte
 * store of arg's GPA to the hypercall page, which KVM turns into
 * KVM_EXIT_MMIO (include/lunik/hypercall.h). Returns when the monitor
 * resumes the vCPU.
 */
static inline void guest_hypercall(unsigned nr, void *arg)
{
    __asm__ volatile("movq %0, (%1)"
                     : : "r"((uint64_t)(uintptr_t)arg),
                       "r"((uint64_t)LUNIK_HYPERCALL_ADDR(nr))
                     : "memory");
}

#endif
