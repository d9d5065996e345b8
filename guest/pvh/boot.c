/* boot.c: the PVH binding's boot: start_info, the memory map, the command line, the bundle segment, the IDT's gates, and its one-line reports. */
#include <elf.h>
#include <stddef.h>

#include "core/binding.h"
#include "core/cpu.h"
#include "lunik/image.h"
#include "lunik/run.h"
#include "pvh.h"
#include "../xen/xen.h"

#define PAGE 4096u
#define MIB (1024u * 1024u)
#define CMDLINE_MAX 4096                /* bytes, NUL included */
#define MAX_ARGS 256
#define MIN_HEAP (4 * MIB)              /* Lua, its libraries, the drivers */
#define ADDR_LIMIT 0x100000000ull       /* the page tables map 4 GiB */
#define KERNEL_LOAD 0x100000u           /* where the kernel is linked */

/* The kernel's own ELF header (its first PT_LOAD maps it) and end. */
extern const Elf64_Ehdr __ehdr_start;
extern char _end[];
extern char pvh_stack_top[];            /* entry.S */

static struct guest_boot boot;
static size_t str_len(const char *s);
static char cmdline[CMDLINE_MAX];       /* start_info's, copied */
static char *argv_store[MAX_ARGS + 1];
static char main_arg[256];              /* argv[0] when the line has none */

const struct guest_boot *guest_bind_boot(void)
{
    return &boot;
}

/* One byte to COM1 (a 16550: wait, boundedly, for the transmit holding
 * register; VMMs' UARTs are ready at once). */
static void com1_put(uint8_t c)
{
    for (int i = 0; i < 100000 && !(pvh_inb(PVH_PORT_COM1 + 5) & 0x20); i++)
        ;
    pvh_outb(PVH_PORT_COM1, c);
}

void pvh_serial_write(const void *p, size_t n)
{
    const uint8_t *b = p;

    if (xen_present()) {                /* Xen's console (its COM1) */
        xen_console_write(p, n);
        return;
    }
    for (size_t i = 0; i < n; i++)
        com1_put(b[i]);
}

void pvh_console_message(const char *msg)
{
    pvh_serial_write("lunik: ", 7);
    pvh_serial_write(msg, str_len(msg));
    pvh_serial_write("\n", 1);
}

/* QEMU stops at isa-debug-exit; Firecracker at the i8042 reset command
 * (it has no exit device, and so no status). A VMM with neither is
 * stopped by a deliberate triple fault: with every IDT gate cleared (the
 * IDT is ordinary memory) a ud2 cannot be delivered, nor the #DF after
 * it, so the vCPU shuts down (QEMU -no-reboot and Firecracker then exit)
 * rather than hang. */
_Noreturn void pvh_halt(int status)
{
    pvh_outb(PVH_PORT_DEBUGCON, (uint8_t)status);
    pvh_outl(PVH_PORT_DEBUG_EXIT, (uint32_t)status & 0xff);
    if (xen_present())                  /* Xen (under a VMM without */
        xen_shutdown(status);           /* isa-debug-exit) */
    pvh_outb(0x64, 0xfe);
    for (size_t i = 0; i < sizeof pvh_idt; i++)
        ((volatile uint8_t *)pvh_idt)[i] = 0;
    for (;;)
        __asm__ volatile("ud2");
}

/* Report why the boot cannot go on and stop with status. */
static _Noreturn void boot_fail(const char *msg, int status)
{
    pvh_console_message(msg);
    pvh_halt(status);
}

static size_t str_len(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

static int starts_with(const char *s, const char *prefix)
{
    while (*prefix)
        if (*s++ != *prefix++)
            return 0;
    return 1;
}

/* A number as Linux's memparse reads one: decimal, 0x hex or 0 octal,
 * then an optional K, M or G. Sets *end past it; 0 on a bad number. */
static int parse_num(const char *s, const char **end, uint64_t *v)
{
    unsigned base = 10;
    uint64_t n = 0;
    const char *p = s;

    if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
        base = 16;
        p += 2;
    }
    const char *digits = p;
    for (;; p++) {
        unsigned d;
        if (*p >= '0' && *p <= '9')
            d = (unsigned)(*p - '0');
        else if (base == 16 && *p >= 'a' && *p <= 'f')
            d = (unsigned)(*p - 'a' + 10);
        else if (base == 16 && *p >= 'A' && *p <= 'F')
            d = (unsigned)(*p - 'A' + 10);
        else
            break;
        if (d >= base || n > (UINT64_MAX - d) / base)
            return 0;
        n = n * base + d;
    }
    if (p == digits)
        return 0;
    switch (*p) {
    case 'G': case 'g': n <<= 10; /* fall through */
    case 'M': case 'm': n <<= 10; /* fall through */
    case 'K': case 'k': n <<= 10; p++; break;
    default: break;
    }
    *end = p;
    *v = n;
    return 1;
}

/* virtio_mmio.device=SIZE@BASE:IRQ[:ID] (Linux's virtio_mmio module
 * parameter, which QEMU microvm and Firecracker append). */
static int parse_device(const char *s, struct pvh_device *d)
{
    uint64_t size, base, irq;

    if (!parse_num(s, &s, &size) || *s++ != '@' ||
        !parse_num(s, &s, &base) || *s++ != ':' ||
        !parse_num(s, &s, &irq) || (*s != '\0' && *s != ':'))
        return 0;
    if (size < 0x100 || base >= ADDR_LIMIT - size || base % 4 ||
        irq > 47)
        return 0;
    d->base = (uintptr_t)base;
    d->irq = (uint32_t)irq;
    return 1;
}

/* A dotted quad; network byte order. */
static int parse_ipv4(const char *s, const char **end, uint32_t *a)
{
    uint8_t b[4];

    for (int i = 0; i < 4; i++) {
        uint64_t v;
        if (!parse_num(s, &s, &v) || v > 255 || (i < 3 && *s++ != '.'))
            return 0;
        b[i] = (uint8_t)v;
    }
    *end = s;
    *a = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
         (uint32_t)b[3] << 24;
    return 1;
}

/* lunik.ip=ADDR/PREFIX[,GATEWAY]: the NIC's fixed IPv4 set-up. */
static int parse_ip(const char *s)
{
    uint64_t prefix;
    uint32_t mask;

    if (!parse_ipv4(s, &s, &boot.ipv4_addr) || *s++ != '/' ||
        !parse_num(s, &s, &prefix) || prefix < 1 || prefix > 32)
        return 0;
    mask = prefix == 32 ? 0xffffffffu : ~(0xffffffffu >> prefix);
    boot.ipv4_netmask = __builtin_bswap32(mask);
    if (*s == ',') {
        if (!parse_ipv4(s + 1, &s, &boot.ipv4_gateway))
            return 0;
    }
    return *s == '\0';
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* An argument after "--": %XX is the byte XX (the CLI writes space, '%',
 * '=' and control bytes so), a lone "%" is the empty string. In place. */
static int decode_arg(char *s)
{
    char *o = s;

    if (s[0] == '%' && s[1] == '\0') {
        s[0] = '\0';
        return 1;
    }
    for (char *p = s; *p; p++) {
        if (*p == '%') {
            int h = hexval(p[1]), l = h < 0 ? -1 : hexval(p[2]);
            if (l < 0)
                return 0;
            *o++ = (char)(h << 4 | l);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return 1;
}

/*
 * The command line: space-separated words. Before the first "--": kernel
 * parameters (virtio_mmio.device=..., lunik.vmm=NAME, lunik.ip=...,
 * lunik.console=serial|virtio;
 * others are ignored, as a VMM adds its own). After it: the runtime's argv
 * (runtime.h), percent-encoded, except for virtio_mmio.device= words,
 * which QEMU appends at the very end.
 */
static void parse_cmdline(struct pvh_device *devs, int *ndevs,
                          const char **vmm, int *serial)
{
    int in_args = 0;
    char *p = cmdline;

    boot.argc = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        char *w = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        if (*p)
            *p++ = '\0';
        if (starts_with(w, "virtio_mmio.device=")) {
            if (*ndevs == PVH_MAX_DEVICES)
                boot_fail("too many virtio_mmio.device entries on the "
                          "command line", LUNIK_EXIT_USAGE);
            if (!parse_device(w + 19, &devs[*ndevs]))
                boot_fail("the command line has a malformed "
                          "virtio_mmio.device (SIZE@BASE:IRQ)",
                          LUNIK_EXIT_USAGE);
            (*ndevs)++;
        } else if (in_args) {
            if (boot.argc == MAX_ARGS)
                boot_fail("too many program arguments on the command line",
                          LUNIK_EXIT_USAGE);
            if (!decode_arg(w))
                boot_fail("the command line has a malformed %-escape after "
                          "--", LUNIK_EXIT_USAGE);
            argv_store[boot.argc++] = w;
        } else if (w[0] == '-' && w[1] == '-' && w[2] == '\0') {
            in_args = 1;
        } else if (starts_with(w, "lunik.vmm=")) {
            *vmm = w + 10;
        } else if (starts_with(w, "lunik.console=")) {
            *serial = w[14] == 's';     /* serial, else virtio */
        } else if (starts_with(w, "lunik.ip=")) {
            if (!parse_ip(w + 9))
                boot_fail("the command line has a malformed lunik.ip "
                          "(ADDR/PREFIX[,GATEWAY])", LUNIK_EXIT_USAGE);
        }
    }
    argv_store[boot.argc] = NULL;
    boot.argv = argv_store;
}

/*
 * The bundle: `lunik build --pvh` appends it as the last PT_LOAD segment,
 * above the kernel's own end (_end), and starts the segment with it.
 */
static void find_bundle(void)
{
    const Elf64_Phdr *ph = (const Elf64_Phdr *)
        ((const char *)&__ehdr_start + __ehdr_start.e_phoff);
    const struct lunik_bundle_header *h;

    for (unsigned i = 0; i < __ehdr_start.e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD ||
            ph[i].p_vaddr < (uintptr_t)_end)
            continue;
        h = (const struct lunik_bundle_header *)(uintptr_t)ph[i].p_vaddr;
        if (ph[i].p_filesz < sizeof *h || h->size > ph[i].p_filesz)
            boot_fail("the kernel's bundle segment is truncated",
                      LUNIK_EXIT_DATAERR);
        boot.bundle = h;
        boot.bundle_size = h->size;
        return;
    }
    boot_fail("this kernel carries no app: make it with "
              "`lunik build --pvh -o app.elf app.lua`", LUNIK_EXIT_USAGE);
}

/* argv[0] when the command line has no "--": the bundle's main entry
 * (image.h), relative to /app; the runtime then has no options. */
static void default_argv(void)
{
    const struct lunik_bundle_header *h = boot.bundle;
    const struct lunik_bundle_entry *e =
        (const struct lunik_bundle_entry *)(h + 1);
    const char *base = (const char *)h;

    if (boot.argc > 0)
        return;
    if ((boot.bundle_size - sizeof *h) / sizeof *e < h->count)
        boot_fail("the kernel's bundle is malformed", LUNIK_EXIT_DATAERR);
    for (uint32_t i = 0; i < h->count; i++) {
        if (!(e[i].flags & LUNIK_BUNDLE_MAIN))
            continue;
        if (e[i].path_len <= 5 || e[i].path_len - 5 >= sizeof main_arg ||
            e[i].path_offset > boot.bundle_size - e[i].path_len)
            break;
        for (uint32_t k = 5; k < e[i].path_len; k++)   /* past "/app/" */
            main_arg[k - 5] = base[e[i].path_offset + k];
        argv_store[0] = main_arg;
        argv_store[1] = NULL;
        boot.argc = 1;
        return;
    }
    boot_fail("the kernel's bundle has no main chunk", LUNIK_EXIT_DATAERR);
}

/* Free memory: the RAM entry of the memory map that holds the kernel,
 * from the end of the kernel and bundle to its end (or 4 GiB). */
static void find_heap(const struct pvh_start_info *si)
{
    const struct pvh_memmap_entry *m;
    uint64_t start = (uintptr_t)_end, end = 0;

    uint32_t nmap = si->memmap_entries;

    m = (const struct pvh_memmap_entry *)(uintptr_t)si->memmap_paddr;
    if ((si->version < 1 || si->memmap_paddr == 0 || nmap == 0) &&
        xen_present()) {                /* Xen's hardware domain */
        static struct xen_e820 xmap[64];
        static struct pvh_memmap_entry map[64];
        long k = xen_memory_map(xmap, 64);
        for (long i = 0; i < k; i++) {
            map[i].addr = xmap[i].addr;
            map[i].size = xmap[i].size;
            map[i].type = xmap[i].type;
        }
        m = map;
        nmap = k > 0 ? (uint32_t)k : 0;
    } else if (si->version < 1 || si->memmap_paddr == 0 || nmap == 0) {
        nmap = 0;
    }
    if (nmap == 0)
        boot_fail("the VMM passed no memory map (PVH start_info version "
                  "1, or Xen's XENMEM_memory_map)", LUNIK_EXIT_GUEST);
    if ((uintptr_t)boot.bundle + boot.bundle_size > start)
        start = (uintptr_t)boot.bundle + boot.bundle_size;
    start = (start + PAGE - 1) & ~(uint64_t)(PAGE - 1);
    for (uint32_t i = 0; i < nmap; i++) {
        if (m[i].type != PVH_MEMMAP_RAM || m[i].addr > KERNEL_LOAD ||
            m[i].addr + m[i].size <= KERNEL_LOAD)
            continue;
        end = m[i].addr + m[i].size;
    }
    if (end > ADDR_LIMIT)
        end = ADDR_LIMIT;
    end &= ~(uint64_t)(PAGE - 1);
    if (end < start || end - start < MIN_HEAP)
        boot_fail("guest memory is too small for this image (give the VM "
                  "more memory)", LUNIK_EXIT_NOMEM);
    boot.heap_start = (uintptr_t)start;
    boot.heap_end = (uintptr_t)end;
}

/* A 64-bit interrupt gate (SDM vol. 3, 6.14.1) to CPL-0 code. */
static void set_gate(unsigned v, const void *fn, unsigned dpl)
{
    uint8_t *g = pvh_idt + 16 * v;
    uint64_t a = (uint64_t)(uintptr_t)fn;

    g[0] = (uint8_t)a;
    g[1] = (uint8_t)(a >> 8);
    g[2] = 0x10;                        /* the DPL-0 code selector */
    g[3] = 0;
    g[4] = 0;                           /* no IST: RSP0, or the same stack */
    g[5] = (uint8_t)(0x8e | dpl << 5);  /* present, interrupt gate */
    for (int i = 0; i < 6; i++)
        g[6 + i] = (uint8_t)(a >> (16 + 8 * i));
    g[12] = g[13] = g[14] = g[15] = 0;
}

/* Vectors 32..255: interrupts acknowledge and return (they end an idle
 * wait), the LAPIC timer's may enter the deadline upcall; the two gates
 * CPL 3 may call with `int`. */
static void fill_gates(void)
{
    for (unsigned v = 32; v < 256; v++)
        set_gate(v, pvh_irq_stub, 0);
    set_gate(PVH_VEC_TIMER, pvh_timer_stub, 0);
    set_gate(PVH_VEC_SPURIOUS, pvh_spurious_stub, 0);
    set_gate(PVH_VEC_IDLE, pvh_idle_gate, 3);
    set_gate(PVH_VEC_FS_BASE, pvh_fs_base_gate, 3);
    set_gate(PVH_VEC_XEN_HCALL, pvh_xen_hypercall_gate, 3);
}

/*
 * pvh_boot: called once from entry.S at CPL 3 with start_info's physical
 * address. Fills the core's boot description and returns the initial
 * stack's top; every bad input ends here with one sentence on COM1 and
 * a non-zero status.
 */
uint64_t pvh_boot(uint32_t start_info_paddr);
uint64_t pvh_boot(uint32_t start_info_paddr)
{
    const struct pvh_start_info *si =
        (const struct pvh_start_info *)(uintptr_t)start_info_paddr;
    static struct pvh_device devs[PVH_MAX_DEVICES];
    int ndevs = 0;
    const char *vmm = "";
    int serial = 0;

    fill_gates();
    boot.idt = pvh_idt;
    boot.tss = pvh_tss;
    if (start_info_paddr == 0 || si->magic != PVH_START_MAGIC)
        boot_fail("no PVH start_info (bad magic in ebx's structure)",
                  LUNIK_EXIT_GUEST);
    if (si->cmdline_paddr != 0) {
        const char *c = (const char *)(uintptr_t)si->cmdline_paddr;
        size_t n = str_len(c);
        if (n >= sizeof cmdline)
            boot_fail("the command line is too long", LUNIK_EXIT_USAGE);
        for (size_t i = 0; i <= n; i++)
            cmdline[i] = c[i];
    }
    find_bundle();
    find_heap(si);
    parse_cmdline(devs, &ndevs, &vmm, &serial);
    if (xen_present()) {                /* no virtio consoles under Xen */
        serial = 1;
        if (*vmm == '\0')
            vmm = "xen";
    }
    default_argv();
    pvh_platform_init(devs, ndevs, vmm, serial);
    return (uint64_t)(uintptr_t)pvh_stack_top;
}

/* ---- the core's CPU hooks (core/binding.h) ---- */

/* IA32_LSTAR and FMASK are set by the entry (CPL 0), for the same
 * guest_syscall_entry the core names here. */
void guest_bind_syscall_entry(void (*entry)(void), uint64_t fmask)
{
    (void)entry;
    (void)fmask;
}

void guest_bind_set_fs_base(uint64_t base)
{
    __asm__ volatile("int %1" : : "D"(base), "i"(PVH_VEC_FS_BASE)
                     : "rax", "rcx", "rdx", "memory");
}

/* A one-line report, built without the C library. */
struct line {
    char buf[256];
    size_t n;
};

static void put_str(struct line *l, const char *s)
{
    while (*s && l->n < sizeof l->buf - 1)
        l->buf[l->n++] = *s++;
    l->buf[l->n] = '\0';
}

static void put_hex(struct line *l, uint64_t v)
{
    char d[19] = "0x";

    for (int i = 17; i >= 2; i--, v >>= 4)
        d[i] = "0123456789abcdef"[v & 15];
    d[18] = '\0';
    put_str(l, d);
}

_Noreturn void guest_bind_fault(uint64_t vector, uint64_t error_code,
                                uint64_t rip, uint64_t rsp)
{
    static struct line l;
    char v[3] = { (char)('0' + vector / 10 % 10), (char)('0' + vector % 10) };

    (void)rsp;
    put_str(&l, "guest fault: exception ");
    put_str(&l, v);
    put_str(&l, " (error ");
    put_hex(&l, error_code);
    put_str(&l, ") at RIP ");
    put_hex(&l, rip);
    pvh_console_message(l.buf);
    pvh_halt(LUNIK_EXIT_GUEST);
}

_Noreturn void guest_bind_panic(const char *msg, uint64_t rip)
{
    static struct line l;

    put_str(&l, "guest fault: libOS panic: ");
    put_str(&l, msg);
    put_str(&l, " at RIP ");
    put_hex(&l, rip);
    pvh_console_message(l.buf);
    pvh_halt(LUNIK_EXIT_GUEST);
}
