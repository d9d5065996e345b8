/* pvh.c: a bootable PVH ELF: the PVH guest kernel with the app bundle as one more loadable segment. */
#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "pvh.h"

#define PAGE 4096u

static uint64_t page_up(uint64_t a)
{
    return (a + PAGE - 1) / PAGE * PAGE;
}

/*
 * The kernel's program headers move to just after its last byte in the
 * first page (which its first PT_LOAD, at file offset 0, grows to cover),
 * with one more entry: the bundle, read-only, at the first page above
 * the kernel's highest segment. The kernel finds it there (guest/pvh/
 * boot.c) and reads its own headers through __ehdr_start + e_phoff as
 * before. Nothing else in the kernel moves.
 */
int cli_pvh_elf(const unsigned char *k, size_t ksize, const void *bundle,
                size_t blen, struct cli_buf *out)
{
    Elf64_Ehdr eh;
    Elf64_Phdr ph[64];
    uint64_t end = 0, first_end = 0, next_off = UINT64_MAX;
    int first = -1;

    if (ksize < sizeof eh)
        return cli_fail(LUNIK_EXIT_DATAERR, "the PVH kernel is truncated");
    memcpy(&eh, k, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
        eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phnum == 0 ||
        eh.e_phnum >= 64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
        eh.e_phoff > ksize || (ksize - eh.e_phoff) / sizeof(Elf64_Phdr) <
                              eh.e_phnum)
        return cli_fail(LUNIK_EXIT_DATAERR, "the PVH kernel is not a 64-bit "
                        "ELF with program headers");
    memcpy(ph, k + eh.e_phoff, sizeof(Elf64_Phdr) * eh.e_phnum);
    for (int i = 0; i < eh.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        if (ph[i].p_vaddr + ph[i].p_memsz > end)
            end = ph[i].p_vaddr + ph[i].p_memsz;
        if (ph[i].p_offset == 0)
            first = i;
        else if (ph[i].p_offset < next_off)
            next_off = ph[i].p_offset;
    }
    if (first < 0)
        return cli_fail(LUNIK_EXIT_DATAERR, "the PVH kernel's first segment "
                        "does not map its ELF header");
    first_end = (ph[first].p_filesz + 7) / 8 * 8;
    uint64_t table_end = first_end + sizeof(Elf64_Phdr) * (eh.e_phnum + 1u);
    if (ph[first].p_filesz != ph[first].p_memsz ||
        table_end > PAGE || table_end > next_off)
        return cli_fail(LUNIK_EXIT_DATAERR, "the PVH kernel has no room for "
                        "one more program header in its first page");

    uint64_t boff = page_up(ksize);
    Elf64_Phdr b = {
        .p_type = PT_LOAD, .p_flags = PF_R, .p_offset = boff,
        .p_vaddr = page_up(end), .p_paddr = page_up(end),
        .p_filesz = blen, .p_memsz = blen, .p_align = PAGE,
    };
    ph[eh.e_phnum] = b;
    ph[first].p_filesz = ph[first].p_memsz = table_end;
    eh.e_phoff = first_end;
    eh.e_phnum++;
    eh.e_shoff = 0;                     /* section headers are not kept */
    eh.e_shnum = 0;
    eh.e_shstrndx = 0;

    out->len = 0;
    cli_buf_append(out, k, ksize);
    memcpy(out->data, &eh, sizeof eh);
    memcpy(out->data + first_end, ph, sizeof(Elf64_Phdr) * eh.e_phnum);
    cli_buf_align(out, PAGE);
    cli_buf_append(out, bundle, blen);
    return 0;
}
