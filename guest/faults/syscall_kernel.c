/* syscall_kernel.c: a test kernel: both ways `syscall` reaches the libOS. */
/*
 * Built freestanding by guest/build.mk into build/tests/syscall_paths.elf.
 * With EFER.SCE clear, `syscall` raises #UD on hardware KVM and goes
 * through IA32_LSTAR on kvm_pvm; guest_ud_entry (exceptions.S) turns the
 * #UD into the LSTAR entry state. This kernel checks, on whatever KVM it
 * runs on:
 *   1. a real `syscall`;
 *   2. a #UD delivered as the CPU does it (frame RIP, CS, RFLAGS, RSP, SS
 *      on another stack) at a `syscall` instruction, on every KVM;
 * each reaching the entry with rax = the number, rcx = the return RIP,
 * r11 = RFLAGS, rsp = the caller's, and returning the entry's result.
 * Prints one line "syscall paths: ok" and exits 0, or names the failed
 * check on stderr and exits 1.
 */
#include <stdint.h>

#include "../core/cpu.h"
#include "../lunik/hcall.h"
#include "kconsole.h"

#define STACK 4096

__asm__(".text\n"
        ".globl syscall_kernel_entry\n"
        "syscall_kernel_entry:\n"
        "    call syscall_kernel_main\n"
        "1:  jmp 1b\n");

/* What the entry saw, and its result (number + 1000). */
uint64_t seen_rax, seen_rcx, seen_r11, seen_rsp;
void test_syscall_entry(void);
__asm__(".text\n"
        "test_syscall_entry:\n"
        "    mov %rax, seen_rax(%rip)\n"
        "    mov %rcx, seen_rcx(%rip)\n"
        "    mov %r11, seen_r11(%rip)\n"
        "    mov %rsp, seen_rsp(%rip)\n"
        "    add $1000, %rax\n"
        "    push %r11\n"                /* no red zone: -mno-red-zone */
        "    popfq\n"
        "    jmp *%rcx\n");

extern char guest_ud_entry[];
static uint8_t fake_ist[STACK] __attribute__((aligned(16)));

static void write_out(int stream, const char *s)
{
    kcon_write(stream, s);
}

static _Noreturn void finish(int status)
{
    struct lunik_hc_exit e = { .status = (uint64_t)status };

    for (;;)
        guest_hypercall(LUNIK_HC_EXIT, &e);
}

struct expect { uint64_t ret, rip, flags, rsp; };

static int check(const char *path, const struct expect *x)
{
    const char *bad = x->ret != 1007 ? "result"
                    : seen_rax != 7 ? "rax (the number)"
                    : seen_rcx != x->rip ? "rcx (the return RIP)"
                    : seen_r11 != x->flags ? "r11 (RFLAGS)"
                    : seen_rsp != x->rsp ? "rsp (the caller's stack)" : 0;

    if (bad == 0)
        return 0;
    write_out(2, "lunik: syscall paths: ");
    write_out(2, path);
    write_out(2, ": wrong ");
    write_out(2, bad);
    write_out(2, "\n");
    return 1;
}

static int real_syscall(void)
{
    struct expect x;

    __asm__ volatile("pushfq\n\tpop %[f]\n\t"
                     "mov %%rsp, %[s]\n\t"
                     "lea 1f(%%rip), %[r]\n\t"
                     "syscall\n"
                     "1:"
                     : "=a"(x.ret), [f] "=&r"(x.flags), [s] "=&r"(x.rsp),
                       [r] "=&r"(x.rip)
                     : "a"(7) : "rcx", "r11", "memory", "cc");
    return check("a real syscall", &x);
}

/* Deliver #UD by hand, as the CPU does through an IST gate at CPL 3. */
static int delivered_ud(void)
{
    struct expect x;

    __asm__ volatile("pushfq\n\tpop %[f]\n\t"
                     "mov %%rsp, %[s]\n\t"
                     "lea 1f(%%rip), %[r]\n\t"
                     "mov %%rsp, %%r11\n\t"
                     "mov %[ist], %%rsp\n\t"
                     "push %[ss]\n\t"
                     "push %%r11\n\t"
                     "push %[f]\n\t"
                     "push %[cs]\n\t"
                     "lea 2f(%%rip), %%rcx\n\t"
                     "push %%rcx\n\t"
                     "jmp guest_ud_entry\n"
                     "2:  syscall\n"
                     "1:"
                     : "=a"(x.ret), [f] "=&r"(x.flags), [s] "=&r"(x.rsp),
                       [r] "=&r"(x.rip)
                     : "a"(7), [ist] "r"(fake_ist + STACK),
                       [ss] "i"(LUNIK_SEL_DATA), [cs] "i"(LUNIK_SEL_CODE)
                     : "rcx", "r11", "memory", "cc");
    return check("a #UD at a syscall instruction", &x);
}

void syscall_kernel_main(void);
void syscall_kernel_main(void)
{
    int failed;

    guest_cpu_init(test_syscall_entry);
    failed = real_syscall();
    failed |= delivered_ud();
    if (!failed)
        write_out(1, "syscall paths: ok\n");
    finish(failed);
}
