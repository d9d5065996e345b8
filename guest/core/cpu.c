/* cpu.c: the guest's IDT, TSS stacks, system-call entry and fault reports. */
#include "cpu.h"

#include <stddef.h>

#include "binding.h"

/* RFLAGS bits cleared on `syscall`: TF, IF, DF, IOPL, NT, AC (as Linux). */
#define SYSCALL_FMASK 0x47700u

#define IST_STACK_SIZE 16384
#define IST_SYSCALL 1                   /* #UD: the `syscall` emulation */
#define IST_FAULT 2                     /* every other exception */
#define VECTOR_UD 6

/* The 64-bit TSS (SDM vol. 3, 8.7); the CPU reads the IST slots on every
 * delivery through a gate that names one. */
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

/* The frame guest_exception_common hands over (exceptions.S). */
struct guest_exc_frame {
    uint64_t vector;
    uint64_t error_code;
    uint64_t rip;
    uint64_t cs;
    uint64_t rflags;
    uint64_t rsp;
};

extern char guest_exception_stubs[];    /* 32 stubs, 16 bytes apart */
extern char guest_ud_entry[];           /* exceptions.S */

/* Where guest_ud_entry continues a `syscall`; set once by guest_cpu_init. */
void (*guest_syscall_target)(void);

static uint8_t ist_syscall[IST_STACK_SIZE] __attribute__((aligned(16)));
static uint8_t ist_fault[IST_STACK_SIZE] __attribute__((aligned(16)));

static void tss_init(void)
{
    struct tss *tss = guest_bind_boot()->tss;

    tss->ist[IST_SYSCALL - 1] =
        (uint64_t)(uintptr_t)(ist_syscall + IST_STACK_SIZE);
    tss->ist[IST_FAULT - 1] = (uint64_t)(uintptr_t)(ist_fault + IST_STACK_SIZE);
    tss->iomap_base = sizeof *tss;      /* no I/O permission bitmap */
}

/* Gates into the DPL-3 code segment: the CPU delivers at CPL 3, no
 * privilege change, on the gate's IST stack. */
static void idt_init(void)
{
    struct idt_gate *idt = guest_bind_boot()->idt;

    for (int v = 0; v < 32; v++) {
        char *stub = v == VECTOR_UD ? guest_ud_entry
                                    : guest_exception_stubs + 16 * v;
        uint64_t a = (uint64_t)(uintptr_t)stub;
        idt[v].offset_low = (uint16_t)a;
        idt[v].selector = GUEST_SEL_CODE;
        idt[v].ist = v == VECTOR_UD ? IST_SYSCALL : IST_FAULT;
        idt[v].type_attr = 0x8e;        /* present, interrupt gate, DPL 0:
                                         * exceptions only, no `int n` */
        idt[v].offset_mid = (uint16_t)(a >> 16);
        idt[v].offset_high = (uint32_t)(a >> 32);
    }
}

void guest_cpu_init(void (*syscall_entry)(void))
{
    guest_syscall_target = syscall_entry;
    tss_init();
    idt_init();
    guest_bind_syscall_entry(syscall_entry, SYSCALL_FMASK);
}

void guest_cpu_set_fs_base(uint64_t base)
{
    guest_bind_set_fs_base(base);
}

/* Called by guest_exception_common (exceptions.S) on the IST_FAULT stack. */
_Noreturn void guest_exception(const struct guest_exc_frame *f);
_Noreturn void guest_exception(const struct guest_exc_frame *f)
{
    guest_bind_fault(f->vector, f->error_code, f->rip, f->rsp);
}

_Noreturn void guest_cpu_panic(const char *msg)
{
    guest_bind_panic(msg, (uint64_t)(uintptr_t)__builtin_return_address(0));
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
