/* upcall_entry.S: the deadline upcall's entry: the binding interrupts the program here, as a signal handler runs (hypercall.h LUNIK_HC_UPCALL has the frame). */
#include "lunik/hypercall.h"

    .text
    .globl guest_upcall_entry
    .type guest_upcall_entry, @function
/*
 * On entry RSP points at the frame the binding wrote below the interrupted
 * RSP and its red zone (lunik's monitor, or the PVH binding's timer
 * stub): rax, rbx, rcx, rdx, rsi, rdi, rbp, r8 .. r15, RFLAGS, RIP; above
 * it the interrupted red zone. It calls the binding's guest_upcall().
 * Everything the C handler may change is in the frame or saved here (the
 * SSE state with fxsave), so the program continues as if nothing ran.
 */
guest_upcall_entry:
    cld
    mov %rsp, %rbx
    sub $512, %rsp
    and $-64, %rsp
    fxsave (%rsp)
    call guest_upcall
    fxrstor (%rsp)
    mov %rbx, %rsp
    pop %rax
    pop %rbx
    pop %rcx
    pop %rdx
    pop %rsi
    pop %rdi
    pop %rbp
    pop %r8
    pop %r9
    pop %r10
    pop %r11
    pop %r12
    pop %r13
    pop %r14
    pop %r15
    popfq
    ret $128
    .size guest_upcall_entry, . - guest_upcall_entry

    .section .note.GNU-stack, "", @progbits
