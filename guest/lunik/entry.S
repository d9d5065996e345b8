/* entry.S: the lunik binding's ELF entry point, where lunik's monitor starts the vCPU. */

#include "lunik/hypercall.h"

    .text

/*
 * lunik_guest_entry: the monitor starts the vCPU here in 64-bit mode at
 * CPL 3 with paging and SSE on, rsp = LUNIK_STACK_TOP, interrupts off,
 * IDTR and TR at LUNIK_IDT_GPA and LUNIK_TSS_GPA (hypercall.h). Nothing
 * to do before the core: its boot description is read from the boot info
 * (platform.c).
 */
    .globl lunik_guest_entry
    .type lunik_guest_entry, @function
lunik_guest_entry:
    mov $LUNIK_STACK_TOP, %edi
    jmp guest_core_start
    .size lunik_guest_entry, . - lunik_guest_entry

    .section .note.GNU-stack, "", @progbits
