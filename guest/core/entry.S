/* entry.S: the core's CPU entry points: the start after a binding's boot, and the syscall instruction. */

#include "boot.h"

    .text

/*
 * guest_core_start: where a binding's entry continues (never returns), in
 * 64-bit mode at CPL 3 with paging and SSE on, interrupts off, IDTR and
 * TR loaded, guest_bind_boot() valid; rdi = the top of the initial stack
 * (16-byte aligned; GUEST_BOOT_STACK_ROOM below it are free).
 * Sets up the CPU, builds musl's initial stack and jumps to musl's _start.
 */
    .globl guest_core_start
    .type guest_core_start, @function
guest_core_start:
    xor %ebp, %ebp
    mov %rdi, %rbx
    lea -GUEST_BOOT_STACK_ROOM(%rdi), %rsp
    lea guest_syscall_entry(%rip), %rdi
    call guest_cpu_init
    mov %rbx, %rdi
    call guest_boot_stack           /* rax = argc's address, 16-aligned */
    mov %rax, %rsp
    xor %edx, %edx                  /* no dynamic-linker fini function */
    jmp _start
    .size guest_core_start, . - guest_core_start

/*
 * guest_syscall_entry: a `syscall` instruction's landing point, reached
 * from guest_ud_entry (exceptions.S) or, on kvm_pvm, through IA32_LSTAR.
 * Either way at CPL 3 on the caller's stack with rcx = return RIP, r11 =
 * RFLAGS. Preserve all but rax, rcx, r11 (Linux ABI), SSE state included;
 * nestable, as the shim may call malloc, which issues system calls again.
 */
    .globl guest_syscall_entry
    .type guest_syscall_entry, @function
guest_syscall_entry:
    lea -128(%rsp), %rsp            /* step over the caller's red zone */
    cld                             /* as FMASK would (DF) */
    push %rcx
    push %r11
    push %rbp
    mov %rsp, %rbp
    and $-16, %rsp
    sub $512, %rsp
    fxsave (%rsp)
    push %r9                        /* long args[6], args[0] lowest */
    push %r8
    push %r10
    push %rdx
    push %rsi
    push %rdi
    mov %eax, %edi
    mov %rsp, %rsi
    call guest_sys_dispatch         /* rax = result or -errno */
    pop %rdi
    pop %rsi
    pop %rdx
    pop %r10
    pop %r8
    pop %r9
    fxrstor (%rsp)
    mov %rbp, %rsp
    pop %rbp
    pop %r11
    pop %rcx
    push %r11
    popfq                           /* restore RFLAGS below the red zone */
    lea 128(%rsp), %rsp             /* lea keeps the flags */
    jmp *%rcx
    .size guest_syscall_entry, . - guest_syscall_entry

    .section .note.GNU-stack, "", @progbits
