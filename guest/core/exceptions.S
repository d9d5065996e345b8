/* exceptions.S: the guest's exception entry points, vectors 0..31. */

    .text

/*
 * guest_ud_entry: #UD, delivered at CPL 3 on its own IST stack with the
 * frame RIP, CS, RFLAGS, RSP, SS. EFER.SCE is clear, so this is where a
 * `syscall` (0f 05) lands on hardware KVM: do what the instruction would
 * have done (rcx = RIP + 2, r11 = RFLAGS, back on the caller's stack; the
 * IST stack is free again at once, so system calls nest) and continue in
 * guest_syscall_target (cpu.c: guest_syscall_entry in entry.S), as
 * kvm_pvm's `syscall` does through LSTAR.
 * Any other invalid opcode is a fault.
 */
    .globl guest_ud_entry
    .type guest_ud_entry, @function
guest_ud_entry:
    push %rax
    mov 8(%rsp), %rax               /* the faulting RIP */
    cmpw $0x050f, (%rax)
    jne 1f
    lea 2(%rax), %rcx
    mov 24(%rsp), %r11              /* RFLAGS */
    btr $16, %r11                   /* less RF, which a fault's frame sets */
    pop %rax                        /* the system-call number */
    mov 24(%rsp), %rsp              /* the caller's RSP */
    jmp *guest_syscall_target(%rip)
1:  pop %rax
    push $0                         /* no error code */
    push $6
    jmp guest_exception_common
    .size guest_ud_entry, . - guest_ud_entry

/*
 * Exception stubs, one per vector 0..31 (the #UD one unused), on the fault
 * IST stack (see cpu.c). Each
 * pushes a dummy error code when the CPU pushes none, then the vector, and
 * joins guest_exception_common, which never returns.
 */
.macro exc_stub vec, has_error
    .align 16
exc_stub_\vec:
    .if \has_error == 0
    push $0
    .endif
    push $\vec
    jmp guest_exception_common
.endm

    .align 16
    .globl guest_exception_stubs
guest_exception_stubs:
    exc_stub 0, 0
    exc_stub 1, 0
    exc_stub 2, 0
    exc_stub 3, 0
    exc_stub 4, 0
    exc_stub 5, 0
    exc_stub 6, 0
    exc_stub 7, 0
    exc_stub 8, 1
    exc_stub 9, 0
    exc_stub 10, 1
    exc_stub 11, 1
    exc_stub 12, 1
    exc_stub 13, 1
    exc_stub 14, 1
    exc_stub 15, 0
    exc_stub 16, 0
    exc_stub 17, 1
    exc_stub 18, 0
    exc_stub 19, 0
    exc_stub 20, 0
    exc_stub 21, 1
    exc_stub 22, 0
    exc_stub 23, 0
    exc_stub 24, 0
    exc_stub 25, 0
    exc_stub 26, 0
    exc_stub 27, 0
    exc_stub 28, 0
    exc_stub 29, 1
    exc_stub 30, 1
    exc_stub 31, 0

/* Stack: vector, error code, then the CPU's frame: RIP, CS, RFLAGS, RSP. */
guest_exception_common:
    mov %rsp, %rdi
    and $-16, %rsp
    call guest_exception            /* struct guest_exc_frame *; no return */
1:  jmp 1b

    .section .note.GNU-stack, "", @progbits
