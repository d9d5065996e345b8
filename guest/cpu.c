/* cpu.c: the guest's GDT, TSS, IDT, system-call MSRs and fault reports. */
#include "cpu.h"

#include <stddef.h>

#define MSR_EFER     0xc0000080u
#define MSR_STAR     0xc0000081u
#define MSR_LSTAR    0xc0000082u
#define MSR_FMASK    0xc0000084u
#define MSR_FS_BASE  0xc0000100u
#define EFER_SCE     0x1u
/* RFLAGS bits cleared on `syscall`: TF, IF, DF, IOPL, NT, AC (as Linux). */
#define SYSCALL_FMASK 0x47700u

#define IST_STACK_SIZE 16384

struct tss {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3;
    uint16_t iomap_base;
} __attribute__((packed));

struct idt_gate {
    uint16_t offset_low;
    uint16_t selector;
    uint8_t ist;
    uint8_t type_attr;
    uint16_t offset_mid;
    uint32_t offset_high;
    uint32_t reserved;
};

struct table_ptr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

/* The frame guest_exception_common hands over (entry.S). */
struct guest_exc_frame {
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
};

extern char guest_exception_stubs[];    /* 32 stubs, 16 bytes apart */

static uint64_t gdt[5] __attribute__((aligned(16))) = {
    0,
    0x00af9a000000ffffull,              /* 0x08: 64-bit code, DPL 0 */
    0x00cf92000000ffffull,              /* 0x10: data, DPL 0 */
    0, 0,                               /* 0x18: TSS, filled at run time */
};
static struct tss tss __attribute__((aligned(16)));
static struct idt_gate idt[32] __attribute__((aligned(16)));
static uint8_t ist_stack[IST_STACK_SIZE] __attribute__((aligned(16)));

static void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v),
                     "d"((uint32_t)(v >> 32)));
}

static uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;

    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}

static void gdt_init(void)
{
    uint64_t base = (uint64_t)(uintptr_t)&tss;
    uint64_t limit = sizeof tss - 1;
    struct table_ptr p = { sizeof gdt - 1, (uint64_t)(uintptr_t)gdt };

    tss.ist[0] = (uint64_t)(uintptr_t)(ist_stack + IST_STACK_SIZE);
    tss.iomap_base = sizeof tss;        /* no I/O permission bitmap */
    /* 64-bit available TSS (type 9), present, DPL 0. */
    gdt[3] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
             ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    gdt[4] = base >> 32;
    __asm__ volatile("lgdt %0" : : "m"(p));
    __asm__ volatile("ltr %w0" : : "r"((uint16_t)LUNIK_SEL_TSS));
}

static void idt_init(void)
{
    struct table_ptr p = { sizeof idt - 1, (uint64_t)(uintptr_t)idt };

    for (int v = 0; v < 32; v++) {
        uint64_t a = (uint64_t)(uintptr_t)(guest_exception_stubs + 16 * v);
        idt[v].offset_low = (uint16_t)a;
        idt[v].selector = LUNIK_SEL_CODE;
        idt[v].ist = 1;                 /* every fault on the IST1 stack */
        idt[v].type_attr = 0x8e;        /* present, DPL 0, interrupt gate */
        idt[v].offset_mid = (uint16_t)(a >> 16);
        idt[v].offset_high = (uint32_t)(a >> 32);
    }
    __asm__ volatile("lidt %0" : : "m"(p));
}

void guest_cpu_init(void (*syscall_entry)(void))
{
    gdt_init();
    idt_init();
    wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
    wrmsr(MSR_STAR, (uint64_t)LUNIK_SEL_CODE << 32);
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
    wrmsr(MSR_FMASK, SYSCALL_FMASK);
}

void guest_cpu_set_fs_base(uint64_t base)
{
    wrmsr(MSR_FS_BASE, base);
}

static uint64_t read_cr2(void)
{
    uint64_t v;

    __asm__ volatile("mov %%cr2, %0" : "=r"(v));
    return v;
}

/* Called by guest_exception_common (entry.S) on the IST1 stack. */
_Noreturn void guest_exception(const struct guest_exc_frame *f);
_Noreturn void guest_exception(const struct guest_exc_frame *f)
{
    static struct lunik_hc_abort a;     /* static: below 4 GiB, off-stack */

    a.vector = f->vector;
    a.error_code = f->error_code;
    a.rip = f->rip;
    a.rsp = f->rsp;
    a.cr2 = read_cr2();
    for (;;)
        guest_hypercall(LUNIK_HC_ABORT, &a);
}

_Noreturn void guest_cpu_panic(const char *msg)
{
    static struct lunik_hc_abort a;
    size_t n = 0;

    while (msg[n])
        n++;
    a.vector = LUNIK_ABORT_PANIC;
    a.rip = (uint64_t)(uintptr_t)__builtin_return_address(0);
    a.msg = (uint64_t)(uintptr_t)msg;
    a.msg_len = n;
    for (;;)
        guest_hypercall(LUNIK_HC_ABORT, &a);
}

static int has_rdrand(void)
{
    uint32_t a, b, c, d;

    __asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d)
                     : "a"(1), "c"(0));
    return (c >> 30) & 1;
}

static int rdrand64(uint64_t *v)
{
    unsigned char ok;

    for (int i = 0; i < 10; i++) {
        __asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
        if (ok)
            return 1;
    }
    return 0;
}

/* xorshift64*, seeded from the TSC: the fallback without RDRAND. */
static uint64_t fallback_next(void)
{
    static uint64_t s;

    if (s == 0)
        s = guest_rdtsc() * 0x9e3779b97f4a7c15ull | 1;
    s ^= s >> 12;
    s ^= s << 25;
    s ^= s >> 27;
    return s * 0x2545f4914f6cdd1dull;
}

void guest_cpu_random(void *p, unsigned long n)
{
    static int rdrand = -1;
    unsigned char *b = p;

    if (rdrand < 0)
        rdrand = has_rdrand();
    while (n > 0) {
        uint64_t v;
        if (!rdrand || !rdrand64(&v))
            v = fallback_next();
        for (int i = 0; i < 8 && n > 0; i++, n--, v >>= 8)
            *b++ = (unsigned char)v;
    }
}
