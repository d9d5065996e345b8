/* exceptions.S: the guest's exception entry stubs, vectors 0..31. */

    .text

/*
 * Exception stubs, one per vector 0..31, all on IST1 (see cpu.c). Each
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
1:  hlt
    jmp 1b

    .section .note.GNU-stack, "", @progbits
