/* boot.c: the guest's boot: memory, the system-call shim, and musl's initial stack. */
#include "boot.h"

#include <elf.h>
#include <stddef.h>

#include "binding.h"
#include "cpu.h"
#include "mem.h"
#include "sys.h"
#include "vdso.h"

/* The kernel's own ELF header, mapped by its first PT_LOAD (GNU ld). */
extern const Elf64_Ehdr __ehdr_start;

static struct guest_mem guest_heap;

uint64_t guest_boot_stack(uint64_t top)
{
    const struct guest_boot *b = guest_bind_boot();
    uint64_t *sp;
    uint8_t *random;
    size_t words;

    guest_bind_init();
    if (guest_mem_init(&guest_heap, b->heap_start, b->heap_end) < 0)
        guest_cpu_panic("no room for the page allocator's bitmaps");
    guest_sys_init(&guest_heap);

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
        sp[i++] = (uint64_t)(uintptr_t)b->argv[k];
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
