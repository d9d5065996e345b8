/* boot.h: the guest's boot: memory, the system-call shim, and musl's initial stack. */
#ifndef LUNIK_GUEST_BOOT_H
#define LUNIK_GUEST_BOOT_H

/* Bytes below the stack top kept for musl's initial stack; the boot code
 * runs below them. */
#define GUEST_BOOT_STACK_ROOM 0x10000

#ifndef __ASSEMBLER__
#include <stdint.h>

/*
 * guest_boot_stack: called once by guest_core_start (entry.S) on a
 * scratch stack below top, after guest_cpu_init. Starts the binding's
 * clocks (guest_bind_init), the page allocator on the binding's free
 * memory and the system-call shim, then writes the initial process stack
 * musl's _start expects just below top (System V x86_64 ABI 3.4.1: argc,
 * argv[], NULL, envp NULL, auxv pairs, AT_NULL) and returns its address
 * (16-byte aligned).
 */
uint64_t guest_boot_stack(uint64_t top);

#endif /* __ASSEMBLER__ */
#endif
