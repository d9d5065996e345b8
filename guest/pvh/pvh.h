/* pvh.h: the PVH boot ABI's start_info as the PVH binding reads it, and the binding's fixed addresses and gates. */
#ifndef LUNIK_GUEST_PVH_H
#define LUNIK_GUEST_PVH_H

/*
 * PVH boot ABI (Xen's docs/misc/pvh.pandoc; the structure is described in
 * Xen's public header xen/include/public/arch-x86/hvm/start_info.h, these
 * are this project's own definitions of it): the VMM loads the ELF's
 * PT_LOAD segments at their physical addresses and starts the vCPU at the
 * address in the XEN_ELFNOTE_PHYS32_ENTRY note in 32-bit protected mode,
 * paging off, flat 4 GiB CS (execute/read) and DS/ES/SS (read/write),
 * interrupts off, with ebx = the physical address of struct
 * pvh_start_info. QEMU (-kernel with such a note), Firecracker and Xen's
 * PVH guests all start so.
 */

#define PVH_ELFNOTE_PHYS32_ENTRY 18     /* XEN_ELFNOTE_PHYS32_ENTRY */
#define PVH_START_MAGIC 0x336ec578u     /* XEN_HVM_START_MAGIC_VALUE */

/* Vectors of the binding's IDT beyond the CPU's 0..31 (entry.S). */
#define PVH_VEC_IRQ       0x20          /* device IRQs (I/O APIC) */
#define PVH_VEC_TIMER     0x21          /* the LAPIC timer */
#define PVH_VEC_IDLE      0x81          /* CPL-0 gate: sti; hlt; cli */
#define PVH_VEC_FS_BASE   0x82          /* CPL-0 gate: FS base = rdi */
#define PVH_VEC_XEN_HCALL 0x83          /* CPL-0 gate: a Xen hypercall */
#define PVH_VEC_SPURIOUS  0xff          /* the LAPIC's spurious vector */

/* Bytes from the upcall frame to the interrupted RSP (hypercall.h's
 * LUNIK_UPCALL_FRAME: 15 registers, RFLAGS, RIP, the 128-byte red zone). */
#define PVH_UPCALL_FRAME 264

/* The local APIC and the I/O APICs, at their architectural addresses
 * (QEMU microvm and Firecracker do not move them). */
#define PVH_LAPIC_BASE   0xfee00000u
#define PVH_IOAPIC_BASE  0xfec00000u     /* pins 0..23 */
#define PVH_IOAPIC2_BASE 0xfec10000u     /* QEMU microvm's second: 24.. */

/* I/O ports (QEMU's isa-debug-exit and isa-debugcon, the PC's COM1, the
 * CMOS RTC); port I/O works from CPL 3 because the entry sets IOPL 3. */
#define PVH_PORT_DEBUG_EXIT 0xf4
#define PVH_PORT_DEBUGCON   0xe9
#define PVH_PORT_COM1       0x3f8
#define PVH_PORT_CMOS_INDEX 0x70
#define PVH_PORT_CMOS_DATA  0x71

#ifndef __ASSEMBLER__
#include <stddef.h>
#include <stdint.h>

/* start_info (version 0 fields, then version 1's memory map). A 0 address
 * means "not present". */
struct pvh_start_info {
    uint32_t magic;             /* PVH_START_MAGIC */
    uint32_t version;           /* 0, or 1 with the memory map */
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;     /* struct pvh_module[nr_modules] */
    uint64_t cmdline_paddr;     /* NUL-terminated ASCII */
    uint64_t rsdp_paddr;        /* ACPI RSDP */
    uint64_t memmap_paddr;      /* version >= 1: struct pvh_memmap_entry[] */
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct pvh_module {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

/* One memory map entry; type as E820 (1 = RAM). */
struct pvh_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};
#define PVH_MEMMAP_RAM 1

/* entry.S: start_info's physical address, saved from ebx. */
extern uint32_t pvh_start_info_paddr;
/* entry.S: the IDT (256 gates) and TSS that IDTR and TR point at, and the
 * code of the gates and interrupt stubs boot.c puts in the IDT. */
extern uint8_t pvh_idt[4096];
extern uint8_t pvh_tss[104];
extern char pvh_irq_stub[], pvh_timer_stub[], pvh_spurious_stub[],
    pvh_idle_gate[], pvh_fs_base_gate[], pvh_xen_hypercall_gate[];
/* platform.c: the TSC value past which the timer stub enters the upcall
 * (0: none). */
extern uint64_t pvh_budget_tsc;

static inline void pvh_outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void pvh_outl(uint16_t port, uint32_t v)
{
    __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t pvh_inb(uint16_t port)
{
    uint8_t v;

    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t pvh_mmio_read(uintptr_t a)
{
    return *(volatile uint32_t *)a;
}

static inline void pvh_mmio_write(uintptr_t a, uint32_t v)
{
    *(volatile uint32_t *)a = v;
}

/* pvh_console_message: write msg and a newline on COM1 (the VMM's serial
 * console), byte by byte; for the binding's own one-line reports. */
void pvh_console_message(const char *msg);

/* pvh_halt: stop the VM with status (QEMU's isa-debug-exit, after the
 * status byte on isa-debugcon so the CLI can read it whole; a VMM without
 * them halts the vCPU for good). */
_Noreturn void pvh_halt(int status);

/* A virtio-mmio device of the command line (virtio_mmio.device=). */
struct pvh_device {
    uintptr_t base;             /* virtio-mmio registers */
    uint32_t irq;               /* GSI (I/O APIC pin) */
    uint32_t device_id;         /* virtio device ID read at boot */
};
#define PVH_MAX_DEVICES 8
/*
 * pvh_platform_init (platform.c): called once by pvh_boot: keep the
 * devices that answer as virtio-mmio version 2 (a legacy one stops the
 * boot with one sentence), the VMM's name for lunik.target(), and whether
 * the console is COM1 (lunik.console=serial). guest_bind_init then routes
 * their IRQs and starts the clocks.
 */
void pvh_platform_init(const struct pvh_device *devs, int ndevs,
                       const char *vmm, int serial_console);

/* pvh_serial_write: n bytes of p on COM1. */
void pvh_serial_write(const void *p, size_t n);

#endif /* __ASSEMBLER__ */
#endif
