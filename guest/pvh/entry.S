/* entry.S: the PVH binding's entry: the XEN_ELFNOTE_PHYS32_ENTRY note, 32-bit start, long mode, the drop to CPL 3, and the tiny CPL-0 gates. */

#include "pvh.h"

#define PTE      0x007          /* present, writable, user (CPL 3 runs) */
#define PDE_2M   0x087          /* the same, a 2 MiB page */
#define PDE_2M_UC 0x09f         /* ... uncached (PCD|PWT): the MMIO GiB */
#define MSR_EFER   0xc0000080
#define MSR_LSTAR  0xc0000082
#define MSR_FMASK  0xc0000084
#define MSR_FS_BASE 0xc0000100
#define SEL_KCODE  0x10         /* the GDT of hypercall.h: x86_64 Linux's */
#define SEL_KDATA  0x18
#define SEL_UDATA  0x2b
#define SEL_UCODE  0x33
#define SEL_TSS    0x40
#define STACK_SIZE 0x100000     /* the program's stack, as lunik's monitor */

/*
 * The PVH boot ABI's entry note (pvh.h): name "Xen", type 18, and the
 * 32-bit entry's physical address. QEMU reads the descriptor as a 64-bit
 * word in an ELF64, so it is one (upper half 0).
 */
    .section .note.Xen, "a", @note
    .balign 4
    .long 4                     /* namesz */
    .long 8                     /* descsz */
    .long PVH_ELFNOTE_PHYS32_ENTRY
    .asciz "Xen"
    .quad pvh_start32

/*
 * pvh_start32: 32-bit protected mode, paging off, CPL 0, interrupts off,
 * ebx = start_info (pvh.h). Everything the CPU needs for long mode is
 * static data (page tables, GDT), so this part is a dozen instructions:
 * under kvm_pvm CPL-0 code runs in KVM's instruction emulator.
 */
    .text
    .code32
    .globl pvh_start32
    .type pvh_start32, @function
pvh_start32:
    cld
    mov %ebx, pvh_start_info_paddr
    mov $pvh_pml4, %eax
    mov %eax, %cr3
    mov %cr4, %eax
    or $0x620, %eax             /* PAE, OSFXSR, OSXMMEXCPT */
    mov %eax, %cr4
    mov $MSR_EFER, %ecx
    rdmsr
    or $0x100, %eax             /* LME (SCE stays clear: see cpu.c) */
    wrmsr
    mov %cr0, %eax
    and $~0x0c, %eax            /* EM, TS off: SSE works */
    or $0x80000003, %eax        /* PG, MP, PE */
    mov %eax, %cr0
    lgdt pvh_gdt_desc
    ljmp $SEL_KCODE, $pvh_start64k
    .size pvh_start32, . - pvh_start32

/*
 * pvh_start64k: 64-bit mode, still CPL 0. Load the data segments, TR and
 * IDTR, name the syscall entry for kvm_pvm (hypercall.h explains why; the
 * MSRs are inert elsewhere since EFER.SCE is clear), then iretq to CPL 3
 * with IOPL 3 (port I/O allowed) and interrupts off.
 */
    .code64
pvh_start64k:
    mov $SEL_KDATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    /* The TSS descriptor's base, split as the SDM's 64-bit layout. */
    mov $pvh_tss, %eax
    mov %eax, %edx
    shl $16, %rdx
    mov $0xffffff0000, %rcx
    and %rcx, %rdx
    mov %rax, %rcx
    shr $24, %rcx
    shl $56, %rcx
    or %rcx, %rdx
    movabs $0x0000890000000067, %rcx    /* present, 64-bit TSS, limit */
    or %rcx, %rdx
    mov %rdx, pvh_gdt + SEL_TSS
    movq $0, pvh_gdt + SEL_TSS + 8
    movq $pvh_gate_stack_top, pvh_tss + 4       /* RSP0, for the gates */
    mov $SEL_TSS, %eax
    ltr %ax
    lidt pvh_idt_desc
    mov $MSR_LSTAR, %ecx
    mov $guest_syscall_entry, %eax
    xor %edx, %edx
    wrmsr
    mov $MSR_FMASK, %ecx
    mov $0x47700, %eax
    wrmsr
    mov $pvh_gate_stack_top, %rsp       /* the PVH ABI gives no stack */
    /* Under Xen (CPUID leaves 0x40000x00..x02, "XenVMMXenVMM"), name the
     * hypercall page: WRMSR of its address to the MSR leaf x02 gives;
     * Xen fills it with one call stub per hypercall (guest/xen/xen.h). */
    mov $0x40000000, %esi
1:  mov %esi, %eax
    cpuid
    cmp $0x566e6558, %ebx               /* "XenV" */
    jne 2f
    cmp $0x65584d4d, %ecx               /* "MMXe" */
    jne 2f
    cmp $0x4d4d566e, %edx               /* "nVMM" */
    jne 2f
    lea 2(%rsi), %eax
    cpuid
    mov %ebx, %ecx
    mov $xen_hypercall_page, %eax
    xor %edx, %edx
    wrmsr
    mov %esi, xen_cpuid_base
    jmp 3f
2:  add $0x100, %esi
    cmp $0x40010000, %esi
    jb 1b
3:
    pushq $SEL_UDATA
    pushq $pvh_stack_top
    pushq $0x3002               /* IOPL 3, IF 0 */
    pushq $SEL_UCODE
    pushq $pvh_start64
    iretq

/*
 * pvh_start64: CPL 3 from here on. boot.c reads start_info and returns
 * the initial stack's top; the core does the rest.
 */
pvh_start64:
    xor %ebp, %ebp
    mov pvh_start_info_paddr, %edi
    call pvh_boot
    mov %rax, %rdi
    jmp guest_core_start

/*
 * The gates, at CPL 0 on the TSS's RSP0 stack. The platform enters the
 * idle gate with interrupts off (`cli` at CPL 3, which IOPL 3 allows), so
 * an interrupt that comes after its last look stays pending in the LAPIC
 * until `sti; hlt` (no interrupt between the two), and ends the hlt at
 * once; else the hlt sleeps until one comes, whose stub acknowledges it.
 * `cli`, and back to CPL 3 with the caller's RFLAGS (interrupts off).
 */
    .globl pvh_idle_gate
pvh_idle_gate:
    sti
    hlt
    cli
    movq $SEL_UDATA, 32(%rsp)   /* see below */
    iretq

/* FS base = rdi (WRMSR IA32_FS_BASE needs CPL 0); clobbers rax, rcx, rdx. */
    .globl pvh_fs_base_gate
pvh_fs_base_gate:
    mov %edi, %eax
    mov %rdi, %rdx
    shr $32, %rdx
    mov $MSR_FS_BASE, %ecx
    wrmsr
    movq $SEL_UDATA, 32(%rsp)
    iretq

/* A Xen hypercall (guest/xen/xen.h): HVM hypercalls must come from CPL
 * 0. rax = its number, rdi, rsi, rdx, r10, r8 = its arguments; the result
 * in rax. Calls the stub Xen wrote at 32 * rax in the hypercall page. */
    .globl pvh_xen_hypercall_gate
pvh_xen_hypercall_gate:
    shl $5, %rax
    add $xen_hypercall_page, %rax
    call *%rax
    movq $SEL_UDATA, 32(%rsp)
    iretq

/*
 * Both gates return to CPL 3 with SS = the DPL-3 data selector: the saved
 * SS may be NULL (QEMU's TCG loads a NULL SS on every delivery through an
 * IST gate, as the core's exception gates are), and iretq to CPL 3 with
 * a NULL SS is #GP.
 */

/*
 * A device's interrupt (through the I/O APIC): EOI. Interrupts are on at
 * CPL 3 too (so that the deadline timer below can stop a handler), so a
 * stub may return to CPL 3: then with SS = the DPL-3 data selector, for
 * the reason the gates give.
 */
    .globl pvh_irq_stub
pvh_irq_stub:
    push %rax
    mov $(PVH_LAPIC_BASE + 0xb0), %eax
    movl $0, (%rax)
    testb $3, 16(%rsp)          /* the interrupted CS: from CPL 3? */
    jz 1f
    movq $SEL_UDATA, 40(%rsp)
1:  pop %rax
    iretq

/*
 * The LAPIC timer: EOI; then, if it interrupted CPL 3 and the deadline
 * the platform set (pvh_budget_tsc, a TSC value; 0 none) has passed,
 * clear it and enter the core's upcall as lunik's monitor does
 * (hypercall.h LUNIK_HC_UPCALL): below the interrupted RSP and its red
 * zone, rax .. r15, RFLAGS and RIP, then iretq to guest_upcall_entry on
 * that frame. Not yet passed (the LAPIC and the TSC disagree a little):
 * look again in 100 us. Interrupted at CPL 0 (the idle gate): nothing;
 * the platform re-arms the timer after the wait.
 */
    .globl pvh_timer_stub
pvh_timer_stub:
    push %rax
    push %rcx
    push %rdx
    /* Under Xen this vector is also the event-channel upcall (its timer):
     * Xen delivers it again at every VM entry while vcpu_info[0]'s
     * evtchn_upcall_pending is set, so clear it here (guest/xen/xen.c). */
    cmpl $0, xen_cpuid_base
    je 3f
    movb $0, xen_shared_info
3:  mov $(PVH_LAPIC_BASE + 0xb0), %eax
    movl $0, (%rax)
    testb $3, 32(%rsp)          /* RIP 24, CS 32, RFLAGS 40, RSP 48, SS 56 */
    jz 9f
    movq $SEL_UDATA, 56(%rsp)
    mov pvh_budget_tsc, %rcx
    test %rcx, %rcx
    jz 9f
    rdtsc
    shl $32, %rdx
    or %rdx, %rax
    cmp %rcx, %rax
    jae 1f
    mov $(PVH_LAPIC_BASE + 0x380), %eax
    movl $100000, (%rax)
    jmp 9f
1:  movq $0, pvh_budget_tsc
    mov 48(%rsp), %rcx
    sub $PVH_UPCALL_FRAME, %rcx
    mov 16(%rsp), %rax
    mov %rax, 0(%rcx)           /* rax */
    mov %rbx, 8(%rcx)
    mov 8(%rsp), %rax
    mov %rax, 16(%rcx)          /* rcx */
    mov 0(%rsp), %rax
    mov %rax, 24(%rcx)          /* rdx */
    mov %rsi, 32(%rcx)
    mov %rdi, 40(%rcx)
    mov %rbp, 48(%rcx)
    mov %r8, 56(%rcx)
    mov %r9, 64(%rcx)
    mov %r10, 72(%rcx)
    mov %r11, 80(%rcx)
    mov %r12, 88(%rcx)
    mov %r13, 96(%rcx)
    mov %r14, 104(%rcx)
    mov %r15, 112(%rcx)
    mov 40(%rsp), %rax
    mov %rax, 120(%rcx)         /* RFLAGS */
    mov 24(%rsp), %rax
    mov %rax, 128(%rcx)         /* RIP */
    mov %rcx, 48(%rsp)          /* RSP = the frame */
    movq $guest_upcall_entry, 24(%rsp)
9:  pop %rdx
    pop %rcx
    pop %rax
    iretq

/* The LAPIC's spurious vector takes no EOI. */
    .globl pvh_spurious_stub
pvh_spurious_stub:
    iretq

    .data
    .balign 8
    .globl pvh_start_info_paddr
pvh_start_info_paddr:
    .long 0

/* The GDT of include/lunik/hypercall.h; the TSS slot is filled above. */
    .balign 16
pvh_gdt:
    .quad 0, 0
    .quad 0x00af9a000000ffff    /* 0x10: 64-bit code, DPL 0 */
    .quad 0x00cf92000000ffff    /* 0x18: data, DPL 0 */
    .quad 0
    .quad 0x00cff2000000ffff    /* 0x28: data, DPL 3 */
    .quad 0x00affa000000ffff    /* 0x30: 64-bit code, DPL 3 */
    .quad 0
    .quad 0, 0                  /* 0x40: the TSS */
pvh_gdt_end:
pvh_gdt_desc:
    .word pvh_gdt_end - pvh_gdt - 1
    .quad pvh_gdt
pvh_idt_desc:
    .word 4095
    .quad pvh_idt

/*
 * Page tables: identity map of the first 4 GiB for CPL 3, 2 MiB pages but
 * for the first 2 MiB (4 KiB pages, page 0 left out so that NULL faults);
 * the last GiB (local APIC, I/O APIC, virtio-mmio) uncached. Static, so
 * the entry writes none of them.
 */
    .balign 4096
pvh_pml4:
    .quad pvh_pdpt + PTE
    .fill 511, 8, 0
pvh_pdpt:
    .quad pvh_pd + PTE, pvh_pd + 0x1000 + PTE
    .quad pvh_pd + 0x2000 + PTE, pvh_pd + 0x3000 + PTE
    .fill 508, 8, 0
pvh_pd:
    .quad pvh_pt0 + PTE
    .set pvh_i, 1
    .rept 1535
    .quad (pvh_i << 21) | PDE_2M
    .set pvh_i, pvh_i + 1
    .endr
    .rept 512
    .quad (pvh_i << 21) | PDE_2M_UC
    .set pvh_i, pvh_i + 1
    .endr
pvh_pt0:
    .quad 0
    .set pvh_i, 1
    .rept 511
    .quad (pvh_i << 12) | PTE
    .set pvh_i, pvh_i + 1
    .endr

    .data
    .globl xen_cpuid_base
    .balign 4
xen_cpuid_base:                         /* 0: not under Xen */
    .long 0

    .bss
    .balign 4096
    .globl xen_hypercall_page
xen_hypercall_page:
    .fill 4096
    .globl pvh_idt
pvh_idt:
    .fill 4096
    .globl pvh_tss
pvh_tss:
    .fill 104
    .balign 16
    .fill 8192
pvh_gate_stack_top:
    .balign 4096
pvh_stack:
    .fill STACK_SIZE
    .globl pvh_stack_top
pvh_stack_top:

    .section .note.GNU-stack, "", @progbits
