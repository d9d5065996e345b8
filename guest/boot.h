/* boot.h: the guest's boot: boot info, memory, and musl's initial stack. */
#ifndef LUNIK_GUEST_BOOT_H
#define LUNIK_GUEST_BOOT_H

/* Bytes below the stack top kept for musl's initial stack; the boot code
 * runs below them. */
#define GUEST_BOOT_STACK_ROOM 0x10000

#ifndef __ASSEMBLER__
#include <stdint.h>

#include "lunik/hypercall.h"

/* guest_boot_info: the monitor's boot info (LUNIK_BOOT_INFO_GPA). */
const struct lunik_boot_info *guest_boot_info(void);

/*
 * guest_boot_stack: called once by lunik_guest_entry (entry.S) on a
 * scratch stack below top. Checks the boot info, starts the clocks, the
 * page allocator and the system-call shim, then writes the initial process
 * stack musl's _start expects just below top (System V x86_64 ABI 3.4.1:
 * argc, argv[], NULL, envp NULL, auxv pairs, AT_NULL) and returns its
 * address (16-byte aligned).
 */
uint64_t guest_boot_stack(uint64_t top);

/* guest_platform_init: read the host clocks and calibrate the TSC clock
 * (platform.c). */
void guest_platform_init(const struct lunik_boot_info *b);

#endif /* __ASSEMBLER__ */
#endif
