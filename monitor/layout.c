/* layout.c: check the kernel ELF and lay out guest memory: tables, kernel, argv, bundle. */
#include "monitor.h"

#include <elf.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "host/host.h"
#include "host/net.h"
#include "lunik/virtio.h"
#include "lunik/hypercall.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define GIB (1024ull * MIB)
#define PAGE 4096ull
#define MIN_HEAP (1 * MIB)              /* Lua's state and libraries */

#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_US 0x4ull                   /* user: the guest runs at CPL 3 */
#define PTE (PTE_P | PTE_RW | PTE_US)
#define PTE_PS 0x80ull                  /* 2 MiB page (in a PD entry) */

/* Page tables, after the PML4 (hypercall.h). */
#define PDPT_GPA (LUNIK_PAGE_TABLE_GPA + 0x1000)
#define PT0_GPA (LUNIK_PAGE_TABLE_GPA + 0x2000)  /* 4 KiB pages of 0-2 MiB */
#define PD_GPA(i) (LUNIK_PAGE_TABLE_GPA + 0x3000 + (i) * 0x1000)
#define PD_HC_GPA PD_GPA(LUNIK_HYPERCALL_GPA / GIB)  /* hypercall page's PD */
_Static_assert(PD_HC_GPA + PAGE <= LUNIK_IDT_GPA, "page tables overlap");
_Static_assert(LUNIK_HYPERCALL_GPA >= LUNIK_MEM_MAX, "hypercall page in RAM");

static uint64_t up(uint64_t a, uint64_t align)
{
    return (a + align - 1) / align * align;
}

static int bad_kernel(const char *why)
{
    fprintf(stderr, "lunik: the guest kernel is not a valid x86_64 ELF "
            "executable: %s\n", why);
    return LUNIK_EXIT_DATAERR;
}

static int check_header(const Elf64_Ehdr *e, size_t size)
{
    if (size < sizeof *e || memcmp(e->e_ident, ELFMAG, SELFMAG) != 0)
        return bad_kernel("no ELF header");
    if (e->e_ident[EI_CLASS] != ELFCLASS64 ||
        e->e_ident[EI_DATA] != ELFDATA2LSB || e->e_machine != EM_X86_64)
        return bad_kernel("not 64-bit x86_64");
    if (e->e_type != ET_EXEC)
        return bad_kernel("not a static executable");
    if (e->e_phentsize != sizeof(Elf64_Phdr) || e->e_phnum == 0 ||
        e->e_phoff > size ||
        (size - e->e_phoff) / sizeof(Elf64_Phdr) < e->e_phnum)
        return bad_kernel("program headers outside the file");
    return 0;
}

static int check_segment(const Elf64_Phdr *p, size_t size)
{
    if (p->p_offset > size || p->p_filesz > size - p->p_offset)
        return bad_kernel("a segment lies outside the file");
    if (p->p_filesz > p->p_memsz)
        return bad_kernel("a segment's file size exceeds its memory size");
    if (p->p_vaddr < LUNIK_KERNEL_BASE || p->p_memsz > LUNIK_MEM_MAX ||
        p->p_vaddr > LUNIK_MEM_MAX - p->p_memsz)
        return bad_kernel("a segment lies outside the guest's kernel area");
    return 0;
}

int mon_check_kernel(const void *elf, size_t size, struct mon_kernel *k)
{
    const Elf64_Ehdr *e = elf;
    const Elf64_Phdr *ph;
    int r, entry_ok = 0, loads = 0;

    if ((r = check_header(e, size)) != 0)
        return r;
    ph = (const Elf64_Phdr *)((const char *)elf + e->e_phoff);
    k->entry = e->e_entry;
    k->end = 0;
    for (int i = 0; i < e->e_phnum; i++) {
        const Elf64_Phdr *p = &ph[i];
        if (p->p_type != PT_LOAD)
            continue;
        if ((r = check_segment(p, size)) != 0)
            return r;
        loads++;
        if (p->p_vaddr + p->p_memsz > k->end)
            k->end = p->p_vaddr + p->p_memsz;
        if ((p->p_flags & PF_X) && k->entry >= p->p_vaddr &&
            k->entry < p->p_vaddr + p->p_memsz)
            entry_ok = 1;
    }
    if (loads == 0)
        return bad_kernel("no loadable segment");
    if (!entry_ok)
        return bad_kernel("the entry point is not in an executable segment");
    return 0;
}

/* Bytes of the argv block: argc GPAs, then the strings. */
static uint64_t argv_bytes(const struct lunik_run_config *cfg)
{
    uint64_t n = 8ull * (uint64_t)cfg->argc;

    for (int i = 0; i < cfg->argc; i++)
        n += strlen(cfg->argv[i]) + 1;
    return n;
}

static uint64_t heap_start(const struct lunik_run_config *cfg,
                           const struct mon_kernel *k)
{
    return up(up(k->end, PAGE) + argv_bytes(cfg), PAGE);
}

uint64_t mon_min_mem(const struct lunik_run_config *cfg,
                     const struct mon_kernel *k)
{
    return up(heap_start(cfg, k) + MIN_HEAP + up(cfg->bundle_size, PAGE),
              MIB);
}

/* The GDT of hypercall.h: the x86_64 Linux layout. The TSS descriptor
 * (64-bit available TSS, type 9) covers the page at LUNIK_TSS_GPA. */
static void write_gdt(uint8_t *mem)
{
    uint64_t *gdt = (uint64_t *)(mem + LUNIK_GDT_GPA);
    uint64_t base = LUNIK_TSS_GPA, limit = 0x67;

    memset(gdt, 0, LUNIK_GDT_ENTRIES * 8);
    gdt[LUNIK_SEL_KERNEL_CODE / 8] = 0x00af9a000000ffffull;
    gdt[LUNIK_SEL_KERNEL_DATA / 8] = 0x00cf92000000ffffull;
    gdt[LUNIK_SEL_DATA / 8] = 0x00cff2000000ffffull;
    gdt[LUNIK_SEL_CODE / 8] = 0x00affa000000ffffull;
    gdt[LUNIK_SEL_TSS / 8] = limit | (base & 0xffffff) << 16 |
                             0x89ull << 40 | ((base >> 24) & 0xff) << 56;
    gdt[LUNIK_SEL_TSS / 8 + 1] = base >> 32;
}

/* Identity map [0, mem_size) for CPL 3: 4 KiB pages below 2 MiB, leaving
 * page 0 and the stack guard page unmapped; 2 MiB pages above. Map the
 * hypercall page (a 2 MiB page with no memory slot behind it). */
static void write_page_tables(uint8_t *mem, uint64_t mem_size)
{
    uint64_t *pml4 = (uint64_t *)(mem + LUNIK_PAGE_TABLE_GPA);
    uint64_t *pdpt = (uint64_t *)(mem + PDPT_GPA);
    uint64_t *pt0 = (uint64_t *)(mem + PT0_GPA);
    uint64_t npd = up(mem_size, GIB) / GIB;

    pml4[0] = PDPT_GPA | PTE;
    for (uint64_t i = 0; i < npd; i++) {
        uint64_t *pd = (uint64_t *)(mem + PD_GPA(i));
        pdpt[i] = PD_GPA(i) | PTE;
        for (uint64_t j = 0; j < 512; j++) {
            uint64_t gpa = (i * 512 + j) * 2 * MIB;
            if (gpa >= mem_size)
                break;
            pd[j] = gpa == 0 ? PT0_GPA | PTE : gpa | PTE | PTE_PS;
        }
    }
    for (uint64_t p = 1; p < 512 && p * PAGE < mem_size; p++) {
        if (p * PAGE != LUNIK_GUARD_GPA)
            pt0[p] = p * PAGE | PTE;
    }
    pdpt[LUNIK_HYPERCALL_GPA / GIB] = PD_HC_GPA | PTE;
    ((uint64_t *)(mem + PD_HC_GPA))[LUNIK_HYPERCALL_GPA % GIB / (2 * MIB)] =
        (LUNIK_HYPERCALL_GPA & ~(2 * MIB - 1)) | PTE | PTE_PS;
}

static void load_segments(uint8_t *mem, const struct lunik_run_config *cfg)
{
    const Elf64_Ehdr *e = cfg->kernel;
    const Elf64_Phdr *ph = (const Elf64_Phdr *)
        ((const char *)cfg->kernel + e->e_phoff);

    for (int i = 0; i < e->e_phnum; i++) {
        if (ph[i].p_type == PT_LOAD)
            memcpy(mem + ph[i].p_vaddr,
                   (const char *)cfg->kernel + ph[i].p_offset,
                   ph[i].p_filesz);
    }
}

/* The argv block at gpa: argc GPAs, then the NUL-terminated strings. */
static void write_argv(uint8_t *mem, uint64_t gpa,
                       const struct lunik_run_config *cfg)
{
    uint64_t *ptrs = (uint64_t *)(mem + gpa);
    uint64_t s = gpa + 8ull * (uint64_t)cfg->argc;

    for (int i = 0; i < cfg->argc; i++) {
        size_t n = strlen(cfg->argv[i]) + 1;
        ptrs[i] = s;
        memcpy(mem + s, cfg->argv[i], n);
        s += n;
    }
}

static void console_info(struct lunik_boot_info *b)
{
    struct winsize ws;

    for (int fd = 0; fd < 3; fd++) {
        if (host_console_isatty(fd))
            b->console_tty |= 1u << fd;
    }
    for (int fd = 1; fd >= 0; fd--) {
        if (ioctl(fd, TIOCGWINSZ, &ws) == 0) {
            b->tty_rows = ws.ws_row;
            b->tty_cols = ws.ws_col;
            break;
        }
    }
}

/* The NIC's slot and its IPv4 set-up (host/net.c says what the guest
 * sees: slirp is the gateway of a fixed address). */
static void net_info(struct lunik_boot_info *b,
                     const struct lunik_net_config *cfg)
{
    struct host_net_info h;

    b->virtio_ids[LUNIK_VIRTIO_SLOT_NET] = VIRTIO_ID_NET;
    if (host_net_info(&h) != 0)
        return;
    b->net_ipv4_addr = h.ipv4_addr;
    b->net_ipv4_netmask = h.ipv4_netmask;
    b->net_ipv4_gateway = h.ipv4_gateway;
    (void)cfg;
}

void mon_load(struct mon_vm *vm, const struct lunik_run_config *cfg,
              const struct mon_kernel *k)
{
    struct lunik_boot_info *b =
        (struct lunik_boot_info *)(vm->mem + LUNIK_BOOT_INFO_GPA);
    uint64_t argv_gpa = up(k->end, PAGE);

    write_gdt(vm->mem);
    write_page_tables(vm->mem, vm->mem_size);
    load_segments(vm->mem, cfg);
    write_argv(vm->mem, argv_gpa, cfg);
    b->magic = LUNIK_BOOT_MAGIC;
    b->mem_size = vm->mem_size;
    b->bundle_size = cfg->bundle_size;
    b->bundle_gpa = (vm->mem_size - cfg->bundle_size) / PAGE * PAGE;
    memcpy(vm->mem + b->bundle_gpa, cfg->bundle, cfg->bundle_size);
    b->heap_start = heap_start(cfg, k);
    b->heap_end = b->bundle_gpa;
    b->argc = (uint64_t)cfg->argc;
    b->argv_gpa = argv_gpa;
    b->tsc_khz = vm->tsc_khz;
    b->flags = cfg->stats ? LUNIK_BOOT_STATS : 0;
    console_info(b);
    b->virtio_ids[LUNIK_VIRTIO_SLOT_CONSOLE] = VIRTIO_ID_CONSOLE;
    b->virtio_ids[LUNIK_VIRTIO_SLOT_STDERR] = VIRTIO_ID_CONSOLE;
    if (cfg->control_fd >= 0)
        b->virtio_ids[LUNIK_VIRTIO_SLOT_CONTROL] = VIRTIO_ID_CONSOLE;
    if (cfg->net != NULL && cfg->net->kind != LUNIK_NET_NONE)
        net_info(b, cfg->net);
    vm->entry = k->entry;
}
