/* boot.c: the guest's boot: boot info, memory, and musl's initial stack. */
#include "boot.h"

#include <elf.h>
#include <stddef.h>

#include "cpu.h"
#include "mem.h"
#include "sys.h"
#include "vdso.h"

/* The kernel's own ELF header, mapped by its first PT_LOAD (GNU ld). */
extern const Elf64_Ehdr __ehdr_start;

static struct guest_mem guest_heap;

const struct lunik_boot_info *guest_boot_info(void)
{
    return (const struct lunik_boot_info *)(uintptr_t)LUNIK_BOOT_INFO_GPA;
}

static void check_boot_info(const struct lunik_boot_info *b)
{
    if (b->magic != LUNIK_BOOT_MAGIC)
        guest_cpu_panic("boot info has a bad magic number");
    if (b->heap_start >= b->heap_end || b->heap_end > b->mem_size ||
        b->bundle_gpa + b->bundle_size > b->mem_size)
        guest_cpu_panic("boot info describes an impossible memory layout");
}

uint64_t guest_boot_stack(uint64_t top)
{
    const struct lunik_boot_info *b = guest_boot_info();
    const uint64_t *argv = (const uint64_t *)(uintptr_t)b->argv_gpa;
    uint64_t *sp;
    uint8_t *random;
    size_t words;

    check_boot_info(b);
    guest_platform_init(b);
    if (guest_mem_init(&guest_heap, b->heap_start, b->heap_end) < 0)
        guest_cpu_panic("no room for the page allocator's bitmaps");
    guest_sys_init(&guest_heap);
    if (b->flags & LUNIK_BOOT_STATS) {
        struct lunik_hc_stats st = {
            .counters_gpa = (uint64_t)(uintptr_t)guest_sys_counters() };
        guest_hypercall(LUNIK_HC_STATS, &st);
    }

    random = (uint8_t *)(uintptr_t)(top - 16);
    guest_random(random, 16);
    /* argc, argv[argc], NULL, envp NULL, 12 auxv pairs with AT_NULL. */
    words = 1 + b->argc + 1 + 1 + 2 * 12;
    if (words * 8 + 32 > GUEST_BOOT_STACK_ROOM)
        guest_cpu_panic("too many arguments for the initial stack");
    sp = (uint64_t *)(uintptr_t)((top - 16 - words * 8) & ~(uint64_t)15);

    size_t i = 0;
    sp[i++] = b->argc;
    for (uint64_t k = 0; k < b->argc; k++)
        sp[i++] = argv[k];
    sp[i++] = 0;                        /* end of argv */
    sp[i++] = 0;                        /* empty environment */
    const uint64_t aux[][2] = {
        { AT_PHDR, (uint64_t)(uintptr_t)&__ehdr_start + __ehdr_start.e_phoff },
        { AT_PHNUM, __ehdr_start.e_phnum },
        { AT_PHENT, __ehdr_start.e_phentsize },
        { AT_PAGESZ, GUEST_PAGE_SIZE },
        { AT_RANDOM, (uint64_t)(uintptr_t)random },
        { AT_UID, 0 }, { AT_EUID, 0 }, { AT_GID, 0 }, { AT_EGID, 0 },
        { AT_SECURE, 0 },               /* so musl trusts the environment */
        { AT_SYSINFO_EHDR, (uint64_t)(uintptr_t)guest_vdso() },
        { AT_NULL, 0 },
    };
    for (size_t k = 0; k < sizeof aux / sizeof aux[0]; k++) {
        sp[i++] = aux[k][0];
        sp[i++] = aux[k][1];
    }
    return (uint64_t)(uintptr_t)sp;
}
