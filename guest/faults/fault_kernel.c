/* fault_kernel.c: tiny misbehaving guest kernels that test the monitor's fault handling. */
/*
 * Built freestanding (no C library) once per kind by guest/build.mk, with
 * FAULT_KIND set to one of the kinds below, into build/tests/KIND.elf:
 *
 *   FAULT_BAD_HYPERCALL  console write of a buffer outside guest memory
 *   FAULT_TRIPLE         an exception before the IDT is filled in (all
 *                        gates not present): triple fault
 *   FAULT_DIVIDE         integer division by zero, reported through the IDT
 *   FAULT_INVALID_OPCODE ud2 (not a `syscall`), reported through the IDT
 *   FAULT_BAD_NET_XFER   a yield carrying a NIC transfer whose TX batch
 *                        lies outside guest memory
 */
#include <stdint.h>

#include "../cpu.h"

#define FAULT_BAD_HYPERCALL 1
#define FAULT_TRIPLE 2
#define FAULT_DIVIDE 3
#define FAULT_INVALID_OPCODE 4
#define FAULT_BAD_NET_XFER 5

/* The entry point: the monitor starts here with rsp = LUNIK_STACK_TOP. */
__asm__(".text\n"
        ".globl fault_entry\n"
        "fault_entry:\n"
        "    call fault_main\n"
        "1:  jmp 1b\n");

void fault_main(void);

static void no_syscalls(void)
{
}

void fault_main(void)
{
#if FAULT_KIND == FAULT_BAD_HYPERCALL
    struct lunik_hc_write w = { .stream = 1, .data = 0x7fff00000000ull,
                                .len = 16 };

    guest_cpu_init(no_syscalls);
    guest_hypercall(LUNIK_HC_WRITE, &w);
#elif FAULT_KIND == FAULT_TRIPLE
    (void)no_syscalls;
    __asm__ volatile("ud2");
#elif FAULT_KIND == FAULT_DIVIDE
    volatile uint32_t zero = 0;
    uint32_t q;

    guest_cpu_init(no_syscalls);
    __asm__ volatile("divl %2" : "=a"(q) : "a"(1), "r"(zero), "d"(0));
    (void)q;
#elif FAULT_KIND == FAULT_INVALID_OPCODE
    guest_cpu_init(no_syscalls);
    __asm__ volatile("ud2");
#elif FAULT_KIND == FAULT_BAD_NET_XFER
    struct lunik_hc_net_xfer x = { .tx = 0x7fff00000000ull, .tx_len = 64 };
    struct lunik_hc_yield y = { .deadline_ns = 0,
                                .net = (uint64_t)(uintptr_t)&x };

    guest_cpu_init(no_syscalls);
    guest_hypercall(LUNIK_HC_YIELD, &y);
#else
#error "FAULT_KIND must name a fault"
#endif
}
