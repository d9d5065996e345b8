/* cpu.h: x86_64 instructions and CPU set-up the guest libOS uses. */
#ifndef LUNIK_GUEST_CPU_H
#define LUNIK_GUEST_CPU_H

#include <stdint.h>


/* The code selector every gate targets (the x86_64 Linux layout's 64-bit
 * code segment of DPL 3, as include/lunik/hypercall.h; the PVH binding's
 * GDT has it at the same place). */
#define GUEST_SEL_CODE 0x33

/*
 * guest_cpu_init: fill the IDT and TSS the binding points IDTR and TR at
 * (binding.h: guest_boot's idt, tss): #UD on its own IST stack runs
 * guest_ud_entry, which emulates `syscall` and ends in syscall_entry;
 * every other exception vector 0..31, on a second IST stack, reports the
 * fault through the binding (guest_bind_fault). Names syscall_entry to the
 * binding as well (guest_bind_syscall_entry), for kvm_pvm. Runs at CPL 3
 * with plain stores; needs no C library; run first.
 */
void guest_cpu_init(void (*syscall_entry)(void));

/* guest_cpu_panic: stop the VM with a libOS message (guest_bind_panic),
 * which names the caller's RIP. */
_Noreturn void guest_cpu_panic(const char *msg);

/* guest_cpu_set_fs_base: make base the FS base (the TLS pointer), through
 * the binding (guest_bind_set_fs_base): WRMSR needs CPL 0. */
void guest_cpu_set_fs_base(uint64_t base);

/* guest_cpu_random: fill p with n random bytes: RDRAND when CPUID has it,
 * else a generator seeded from the TSC. */
void guest_cpu_random(void *p, unsigned long n);

/* guest_rdtsc: the time-stamp counter (RDTSC). */
static inline uint64_t guest_rdtsc(void)
{
    uint32_t lo, hi;

    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

#endif
