/* cpu.h: x86_64 instructions and CPU set-up the guest libOS uses. */
#ifndef LUNIK_GUEST_CPU_H
#define LUNIK_GUEST_CPU_H

#include <stdint.h>

#include "lunik/hypercall.h"

/*
 * guest_cpu_init: fill the IDT and TSS the monitor points at (hypercall.h):
 * #UD on its own IST stack runs guest_ud_entry, which emulates `syscall`
 * and ends in syscall_entry; every other exception vector 0..31, on a
 * second IST stack, reports the fault to the monitor (LUNIK_HC_ABORT).
 * Names syscall_entry to the monitor as well (LUNIK_HC_SYSCALL_ENTRY), for
 * kvm_pvm. Runs at CPL 3 with plain stores and hypercalls; needs no C
 * library; run first.
 */
void guest_cpu_init(void (*syscall_entry)(void));

/* guest_cpu_panic: stop the VM with a libOS message (LUNIK_ABORT_PANIC).
 * The monitor prints it with the caller's RIP. */
_Noreturn void guest_cpu_panic(const char *msg);

/* guest_cpu_set_fs_base: make base the FS base (the TLS pointer), through
 * the monitor (LUNIK_HC_SET_TLS): WRMSR needs CPL 0. */
void guest_cpu_set_fs_base(uint64_t base);

/* guest_cpu_random: fill p with n random bytes: RDRAND when CPUID has it,
 * else a generator seeded from the TSC. */
void guest_cpu_random(void *p, unsigned long n);

/*
 * guest_hypercall: make hypercall nr with argument struct arg: one 8-byte
 * store of arg's GPA to the hypercall page, which KVM turns into
 * KVM_EXIT_MMIO (hypercall.h). Returns when the monitor resumes the vCPU.
 */
static inline void guest_hypercall(unsigned nr, void *arg)
{
    __asm__ volatile("movq %0, (%1)"
                     : : "r"((uint64_t)(uintptr_t)arg),
                       "r"((uint64_t)LUNIK_HYPERCALL_ADDR(nr))
                     : "memory");
}

/* guest_rdtsc: the time-stamp counter (RDTSC). */
static inline uint64_t guest_rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

#endif
