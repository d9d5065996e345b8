/* vm.c: create the KVM virtual machine, its memory and its one vCPU in long mode. */
#include "monitor.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lunik/hypercall.h"

#define CR0_PE 0x1u
#define CR0_MP 0x2u
#define CR0_ET 0x10u
#define CR0_NE 0x20u
#define CR0_WP 0x10000u
#define CR0_PG 0x80000000u
#define CR4_PAE 0x20u
#define CR4_OSFXSR 0x200u
#define CR4_OSXMMEXCPT 0x400u
#define CR4_OSXSAVE 0x40000u
#define XCR0_X87_SSE 0x3u             /* x87 and SSE state (XSETBV) */
#define EFER_LME 0x100u
#define EFER_LMA 0x400u

static int os_error(const char *what)
{
    fprintf(stderr, "lunik: cannot start the KVM virtual machine: %s: %s\n",
            what, strerror(errno));
    return LUNIK_EXIT_OSERR;
}

int mon_os_error(const char *what)
{
    fprintf(stderr, "lunik: KVM call %s failed: %s\n", what,
            strerror(errno));
    return LUNIK_EXIT_OSERR;
}

int lunik_kvm_available(void)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    int ok;

    if (fd < 0)
        return 0;
    ok = ioctl(fd, KVM_GET_API_VERSION, 0) == 12;
    close(fd);
    return ok;
}

/* Give the vCPU every CPUID feature KVM supports (SSE and friends). */
static int set_cpuid(struct mon_vm *vm)
{
    struct kvm_cpuid2 *c = NULL;
    int n = 256, r;                     /* enough for current KVMs: one call */

    for (;;) {
        c = calloc(1, sizeof *c + (size_t)n * sizeof c->entries[0]);
        if (c == NULL)
            return os_error("calloc");
        c->nent = (uint32_t)n;
        if (ioctl(vm->kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0)
            break;
        free(c);
        if (errno != E2BIG || n > 4096)
            return os_error("KVM_GET_SUPPORTED_CPUID");
        n *= 2;
    }
    r = ioctl(vm->vcpu_fd, KVM_SET_CPUID2, c);
    for (uint32_t i = 0; i < c->nent; i++) {
        if (c->entries[i].function == 1)
            vm->has_xsave = (c->entries[i].ecx >> 26) & 1;
    }
    free(c);
    return r < 0 ? os_error("KVM_SET_CPUID2") : 0;
}

static int open_kvm(struct mon_vm *vm)
{
    vm->kvm_fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (vm->kvm_fd < 0) {
        fprintf(stderr, "lunik: KVM is not usable here: /dev/kvm: %s\n",
                strerror(errno));
        return LUNIK_EXIT_OSERR;
    }
    if (ioctl(vm->kvm_fd, KVM_GET_API_VERSION, 0) != 12) {
        fprintf(stderr, "lunik: KVM is not usable here: /dev/kvm does not "
                "speak KVM API version 12\n");
        return LUNIK_EXIT_OSERR;
    }
    return 0;
}

/*
 * On kvm_pvm the first touch of a guest page costs a trap into the host
 * (about 100 us): a program that fills 48 MB of fresh memory spent more
 * than a second on it. Transparent huge pages (madvise(2) MADV_HUGEPAGE)
 * halve that. They are asked for only away from both ends of guest memory
 * (HUGE_EDGE bytes each): the page tables, kernel, brk heap, bundle and the
 * first mmap'ed blocks lie there, so a small program keeps its small
 * resident size, and only one that allocates more reaches the middle.
 * Where THP is off, nothing changes.
 */
#define HUGE_EDGE ((uint64_t)4 << 20)
#define HUGE_PAGE ((uint64_t)2 << 20)

static void huge_pages(struct mon_vm *vm)
{
    uintptr_t from = ((uintptr_t)vm->mem + HUGE_EDGE + HUGE_PAGE - 1) &
                     ~(uintptr_t)(HUGE_PAGE - 1);
    uintptr_t to = ((uintptr_t)vm->mem + vm->mem_size - HUGE_EDGE) &
                   ~(uintptr_t)(HUGE_PAGE - 1);

    if (vm->mem_size > 2 * HUGE_EDGE + HUGE_PAGE && to > from)
        (void)madvise((void *)from, to - from, MADV_HUGEPAGE);
}

int mon_vm_create(struct mon_vm *vm, uint64_t mem_size)
{
    struct kvm_userspace_memory_region region = { 0 };
    int r, size;

    memset(vm, 0, sizeof *vm);
    vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = -1;
    vm->stop_status = -1;
    vm->vcpu_thread = pthread_self();
    vm->irq_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (vm->irq_fd < 0)
        return os_error("eventfd");
    if ((r = open_kvm(vm)) != 0)
        return r;
    vm->vm_fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, 0);
    if (vm->vm_fd < 0)
        return os_error("KVM_CREATE_VM");
    vm->mem = mmap(NULL, mem_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (vm->mem == MAP_FAILED) {
        vm->mem = NULL;
        return os_error("guest memory");
    }
    vm->mem_size = mem_size;
    huge_pages(vm);
    region.memory_size = mem_size;
    region.userspace_addr = (uint64_t)(uintptr_t)vm->mem;
    if (ioctl(vm->vm_fd, KVM_SET_USER_MEMORY_REGION, &region) < 0)
        return os_error("KVM_SET_USER_MEMORY_REGION");
    vm->vcpu_fd = ioctl(vm->vm_fd, KVM_CREATE_VCPU, 0);
    if (vm->vcpu_fd < 0)
        return os_error("KVM_CREATE_VCPU");
    size = ioctl(vm->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (size <= 0)
        return os_error("KVM_GET_VCPU_MMAP_SIZE");
    vm->run = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
                   vm->vcpu_fd, 0);
    if (vm->run == MAP_FAILED) {
        vm->run = NULL;
        return os_error("kvm_run");
    }
    vm->run_size = (size_t)size;
    r = ioctl(vm->vcpu_fd, KVM_GET_TSC_KHZ, 0);
    vm->tsc_khz = r > 0 ? (uint64_t)r : 0;
    return set_cpuid(vm);
}

/* CPL 3 from the first instruction: CS and SS are the GDT's DPL-3
 * selectors; IDTR and TR point at the pages the guest fills (hypercall.h). */
static void set_segments(struct kvm_sregs *s)
{
    struct kvm_segment code = {
        .base = 0, .limit = 0xffffffff, .selector = LUNIK_SEL_CODE,
        .type = 11, .present = 1, .dpl = 3, .db = 0, .s = 1, .l = 1, .g = 1,
    };
    struct kvm_segment data = code;

    data.selector = LUNIK_SEL_DATA;
    data.type = 3;
    data.db = 1;
    data.l = 0;
    s->cs = code;
    s->ds = s->es = s->fs = s->gs = s->ss = data;
    /* A busy 64-bit TSS, as LTR leaves it; VMX also wants an LDT. */
    s->tr = (struct kvm_segment){ .base = LUNIK_TSS_GPA, .limit = 0x67,
                                  .selector = LUNIK_SEL_TSS, .type = 11,
                                  .present = 1 };
    s->ldt = (struct kvm_segment){ .limit = 0xffff, .type = 2,
                                   .present = 1 };
    s->gdt.base = LUNIK_GDT_GPA;
    s->gdt.limit = LUNIK_GDT_ENTRIES * 8 - 1;
    s->idt.base = LUNIK_IDT_GPA;
    s->idt.limit = LUNIK_IDT_GATES * 16 - 1;
}

/* With CR4.OSXSAVE on, SSE instructions fault unless XCR0 enables the SSE
 * state: enable x87 and SSE (KVM API 4.43, KVM_SET_XCRS). */
static int set_xcr0(struct mon_vm *vm)
{
    struct kvm_xcrs x = { .nr_xcrs = 1 };

    x.xcrs[0].xcr = 0;
    x.xcrs[0].value = XCR0_X87_SSE;
    return ioctl(vm->vcpu_fd, KVM_SET_XCRS, &x) < 0 ? os_error("KVM_SET_XCRS")
                                                   : 0;
}

int mon_vm_start_cpu(struct mon_vm *vm)
{
    struct kvm_sregs s;
    struct kvm_regs regs = { 0 };

    if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &s) < 0)
        return os_error("KVM_GET_SREGS");
    set_segments(&s);
    s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s.cr3 = LUNIK_PAGE_TABLE_GPA;
    s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT |
            (vm->has_xsave ? CR4_OSXSAVE : 0);
    s.efer = EFER_LME | EFER_LMA;       /* no SCE: `syscall` raises #UD */
    if (ioctl(vm->vcpu_fd, KVM_SET_SREGS, &s) < 0)
        return os_error("KVM_SET_SREGS");
    if (vm->has_xsave && set_xcr0(vm) != 0)
        return LUNIK_EXIT_OSERR;
    regs.rip = vm->entry;
    regs.rsp = LUNIK_STACK_TOP;
    regs.rdi = LUNIK_BOOT_INFO_GPA;
    regs.rflags = 0x2;                  /* reserved bit 1; IF off */
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0)
        return os_error("KVM_SET_REGS");
    return 0;
}

uint64_t mon_vm_rip(const struct mon_vm *vm)
{
    struct kvm_regs regs;

    if (vm->vcpu_fd < 0 || ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0)
        return 0;
    return regs.rip;
}

void mon_vm_destroy(struct mon_vm *vm)
{
    if (vm->run != NULL)
        munmap(vm->run, vm->run_size);
    if (vm->vcpu_fd >= 0)
        close(vm->vcpu_fd);
    if (vm->vm_fd >= 0)
        close(vm->vm_fd);
    if (vm->mem != NULL)
        munmap(vm->mem, vm->mem_size);
    if (vm->kvm_fd >= 0)
        close(vm->kvm_fd);
    if (vm->irq_fd >= 0)
        close(vm->irq_fd);
    memset(vm, 0, sizeof *vm);
    vm->kvm_fd = vm->vm_fd = vm->vcpu_fd = vm->irq_fd = -1;
}
