/* hypercall.h: the KVM guest's boot-time memory layout and hypercall ABI. */
#ifndef LUNIK_HYPERCALL_H
#define LUNIK_HYPERCALL_H

/*
 * Shared by the guest libOS (guest/) and the monitor (monitor/); nothing
 * else depends on it.
 *
 * Privilege: the guest runs at CPL 3 from its first instruction to its
 * last. The monitor starts the vCPU with CS/SS = LUNIK_SEL_CODE/DATA
 * (DPL 3) and every page-table entry has U/S set. This is plain x86 and
 * behaves the same on hardware KVM (VMX/SVM) and on kvm_pvm, which runs
 * CPL-3 code natively but CPL-0 code only through KVM's instruction
 * emulator (no SSE). Consequences:
 *   - the monitor writes the GDT and points IDTR and TR at pages the guest
 *     fills in with ordinary stores (IDT gates, TSS IST stacks);
 *   - every exception gate targets LUNIK_SEL_CODE (DPL 3), so the CPU
 *     delivers exceptions at CPL 3 with no privilege change, on the gate's
 *     IST stack;
 *   - EFER.SCE is clear, so `syscall` raises #UD; the guest's #UD handler
 *     serves it (guest/core/entry.S). No MSR, CR or descriptor-table access;
 *   - hypercalls are MMIO writes (below), not port I/O;
 *   - CR2 is not readable: the monitor reads it itself (KVM_GET_SREGS).
 *
 * Guest physical memory (identity-mapped: guest virtual == GPA):
 *
 *   0x000000  page 0, never mapped (NULL dereferences fault)
 *   0x001000  GDT, written by the monitor (selectors below)
 *   0x002000  struct lunik_boot_info (LUNIK_BOOT_INFO_GPA)
 *   0x003000  page tables: PML4, PDPT, the PT of the first 2 MiB, the PDs
 *             of guest memory (up to 4), the PD of the hypercall page
 *   0x00c000  IDT: LUNIK_IDT_GATES gates, zero until the guest fills them
 *   0x00d000  TSS (TR), zero until the guest sets its IST stacks
 *   0x00f000  stack guard page, never mapped (overflow -> #PF)
 *   0x010000  initial stack, grows down from LUNIK_STACK_TOP
 *   0x100000  kernel ELF (PT_LOAD segments; linked here)
 *   kernel end, page-aligned: argv block (pointer array, then strings)
 *   heap_start .. heap_end: free memory the guest's page allocator manages
 *   bundle_gpa .. mem_size: the bundle (image.h), page-aligned
 *   LUNIK_HYPERCALL_GPA: the hypercall page; no memory behind it
 *   LUNIK_VIRTIO_MMIO_GPA: virtio-mmio device registers; no memory either
 *
 * The first 2 MiB are mapped with 4 KiB pages (to leave holes at page 0 and
 * the guard page), the rest with 2 MiB pages. Guest memory is at most
 * LUNIK_MEM_MAX bytes, so the hypercall page never overlaps it.
 *
 * Devices: console and network are virtio devices (virtio.h) on the
 * virtio-mmio transport; the guest exchanges bytes and frames with the
 * monitor through virtqueues in its own memory, which monitor threads
 * serve while the vCPU runs. Hypercalls remain for what virtio does not
 * cover: waiting, clocks, exit, faults, the TLS base, the syscall entry.
 *
 * Hypercalls: the guest writes (one 8-byte `mov`) the GPA of an argument
 * struct to LUNIK_HYPERCALL_ADDR(n). No memory slot backs that GPA, so KVM
 * exits to the monitor with KVM_EXIT_MMIO (the virtio-mmio mechanism, KVM
 * API 5: kvm_run.mmio). The monitor checks that the struct and every buffer
 * it names lie inside guest memory before touching them; a bad address
 * stops the VM (LUNIK_EXIT_GUEST). Fields are marked IN (guest to monitor)
 * or OUT (monitor to guest). Each call returns when the monitor resumes the
 * vCPU.
 */

/* Constants usable from assembly too. */
#define LUNIK_GDT_GPA        0x1000
#define LUNIK_BOOT_INFO_GPA  0x2000
#define LUNIK_PAGE_TABLE_GPA 0x3000     /* PML4; PDPT, PT, PDs follow */
#define LUNIK_IDT_GPA        0xc000
#define LUNIK_IDT_GATES      32         /* CPU exception vectors 0..31 */
#define LUNIK_TSS_GPA        0xd000
#define LUNIK_GUARD_GPA      0xf000     /* one unmapped page */
#define LUNIK_STACK_BOTTOM   0x10000
#define LUNIK_STACK_TOP      0x100000
#define LUNIK_KERNEL_BASE    0x100000   /* lowest GPA a PT_LOAD may use */

/*
 * GDT selectors (the x86_64 Linux layout, so a selector means the same
 * thing to every hypervisor): the guest only ever uses the DPL-3 ones.
 */
#define LUNIK_SEL_KERNEL_CODE 0x10      /* 64-bit code, DPL 0 (unused) */
#define LUNIK_SEL_KERNEL_DATA 0x18      /* data, DPL 0 (unused) */
#define LUNIK_SEL_DATA        0x2b      /* data, DPL 3, RPL 3 */
#define LUNIK_SEL_CODE        0x33      /* 64-bit code, DPL 3, RPL 3 */
#define LUNIK_SEL_TSS         0x40      /* 64-bit TSS (two GDT slots) */
#define LUNIK_GDT_ENTRIES     10

/* The hypercall page: hypercall n is an 8-byte write at ..._ADDR(n). */
#define LUNIK_HYPERCALL_GPA     0x100000000
#define LUNIK_HYPERCALL_ADDR(n) (LUNIK_HYPERCALL_GPA + 8 * (n))

/*
 * virtio-mmio devices (virtio.h), in the 2 MiB page after the hypercall
 * page's first 4 KiB, VIRTIO_MMIO_SLOT (0x200) bytes each, with no memory
 * behind them: every register read and every QueueNotify write is a
 * KVM_EXIT_MMIO; other register writes may be batched by KVM (coalesced
 * MMIO) and served, in order, at the next exit. The slots are fixed:
 * console 0 (stdin, stdout), console 1 (stderr), the NIC, and console 2,
 * the control channel (guest/virtio/control.h), when the run has one.
 */
#define LUNIK_VIRTIO_MMIO_GPA     (LUNIK_HYPERCALL_GPA + 0x1000)
#define LUNIK_VIRTIO_MMIO_ADDR(i) (LUNIK_VIRTIO_MMIO_GPA + 0x200 * (i))
#define LUNIK_VIRTIO_SLOT_CONSOLE 0
#define LUNIK_VIRTIO_SLOT_STDERR  1
#define LUNIK_VIRTIO_SLOT_NET     2
#define LUNIK_VIRTIO_SLOT_CONTROL 3     /* the control channel (platform.h) */
#define LUNIK_VIRTIO_SLOTS        4

#ifndef __ASSEMBLER__
#include <stdint.h>

#define LUNIK_MEM_MAX ((uint64_t)4 << 30)    /* bytes of guest memory, at most */

#define LUNIK_BOOT_MAGIC 0x544f4f424b4e554cull  /* "LUNKBOOT" */

/* Bits of lunik_boot_info.console_tty: stream n is a terminal. */
#define LUNIK_TTY_STDIN  0x1u
#define LUNIK_TTY_STDOUT 0x2u
#define LUNIK_TTY_STDERR 0x4u

/*
 * The boot info, at LUNIK_BOOT_INFO_GPA, written by the monitor before the
 * vCPU first runs; read-only for the guest. All addresses are GPAs.
 */
struct lunik_boot_info {
    uint64_t magic;             /* LUNIK_BOOT_MAGIC */
    uint64_t mem_size;          /* bytes of guest memory, from GPA 0 */
    uint64_t heap_start;        /* first free byte, page-aligned */
    uint64_t heap_end;          /* end of free memory (= bundle_gpa) */
    uint64_t bundle_gpa;        /* the bundle, page-aligned */
    uint64_t bundle_size;       /* bytes */
    uint64_t argc;              /* number of arguments */
    uint64_t argv_gpa;          /* argc GPAs of NUL-terminated strings */
    uint64_t tsc_khz;           /* KVM_GET_TSC_KHZ; 0 = unknown */
    uint32_t console_tty;       /* LUNIK_TTY_* bits */
    uint16_t tty_rows;          /* terminal size (TIOCGWINSZ), 0 = unknown */
    uint16_t tty_cols;
    /* virtio-mmio devices (virtio.h): slot i's registers are at
     * LUNIK_VIRTIO_MMIO_ADDR(i); virtio_ids[i] is its device ID, 0 for an
     * empty slot (the driver still checks the registers, virtio 1.2
     * §4.2.3.1.1). */
    uint8_t virtio_ids[LUNIK_VIRTIO_SLOTS];
    /* The NIC's IPv4 set-up, which virtio-net does not carry (network byte
     * order; ipv4_addr 0 = ask DHCP, RFC 2131). */
    uint32_t net_ipv4_addr;
    uint32_t net_ipv4_netmask;
    uint32_t net_ipv4_gateway;
    uint32_t flags;             /* LUNIK_BOOT_* bits */
};

/* Bits of lunik_boot_info.flags. */
#define LUNIK_BOOT_STATS 0x1u   /* `lunik run --stats`: the guest may hand
                                   over its counters (LUNIK_HC_STATS) */

enum lunik_hypercall {
    LUNIK_HC_WAIT = 0,          /* block until a device notification or a
                                   deadline */
    LUNIK_HC_CLOCK = 1,         /* read the host clocks */
    LUNIK_HC_EXIT = 2,          /* end the VM with a status */
    LUNIK_HC_ABORT = 3,         /* end the VM after a guest fault */
    LUNIK_HC_SET_TLS = 4,       /* set the FS base (the TLS pointer) */
    LUNIK_HC_SYSCALL_ENTRY = 5, /* where `syscall` lands on kvm_pvm */
    LUNIK_HC_UPCALL = 6,        /* where the deadline upcall lands */
    LUNIK_HC_STATS = 7,         /* where the guest keeps its counters */
    LUNIK_HC_COUNT
};

/*
 * LUNIK_HC_WAIT: block the vCPU until a device makes a used-buffer
 * notification (virtio.h: a device adds to a used ring and passes the
 * used_event index the guest set there) or the host's CLOCK_MONOTONIC
 * reaches deadline_ns (UINT64_MAX: none; in the past: return at once).
 * A notification made while the vCPU was running is kept, so a wait
 * right after it returns at once: the guest sets used_event, checks its
 * used rings once more, then waits, and never misses one. Returns the host
 * clocks read after waking, so the guest re-synchronises its TSC clock.
 * The only way the guest blocks; as plat_yield() on kvm.
 */
struct lunik_hc_wait {
    uint64_t deadline_ns;       /* IN: host CLOCK_MONOTONIC ns */
    uint64_t monotonic_ns;      /* OUT: host CLOCK_MONOTONIC ns */
    uint64_t wall_ns;           /* OUT: host CLOCK_REALTIME ns */
    uint32_t notified;          /* OUT: 1 a device notified, 0 the deadline */
    uint32_t shutdown;          /* OUT: 1 a shutdown was asked for (SIGTERM
                                   to the monitor; reported once), else 0 */
};

/* LUNIK_HC_CLOCK: read the host's clocks (used at boot, and for every clock
 * read when the TSC frequency is unknown). */
struct lunik_hc_clock {
    uint64_t monotonic_ns;      /* OUT: host CLOCK_MONOTONIC ns */
    uint64_t wall_ns;           /* OUT: host CLOCK_REALTIME ns */
};

/* LUNIK_HC_EXIT: stop the VM; status & 0xff becomes lunik_kvm_run()'s
 * result. Never returns. */
struct lunik_hc_exit {
    uint64_t status;            /* IN */
};

/* Values of lunik_hc_abort.vector besides CPU exception vectors 0..31. */
#define LUNIK_ABORT_PANIC 0x100u  /* libOS panic: message in msg/msg_len */

/*
 * LUNIK_HC_ABORT: stop the VM after an unrecoverable guest fault; the
 * monitor prints one line naming the fault and returns LUNIK_EXIT_GUEST.
 * Never returns.
 */
struct lunik_hc_abort {
    uint64_t vector;            /* IN: exception vector, or LUNIK_ABORT_* */
    uint64_t error_code;        /* IN: exception error code (0 if none) */
    uint64_t rip;               /* IN: faulting instruction */
    uint64_t rsp;               /* IN: stack pointer at the fault */
    uint64_t cr2;               /* unused: the monitor reads CR2 */
    uint64_t msg;               /* IN: GPA of a message (panic), or 0 */
    uint64_t msg_len;           /* IN: bytes */
};

/*
 * LUNIK_HC_SET_TLS: make fs_base the vCPU's FS base (the thread pointer;
 * arch_prctl(2) ARCH_SET_FS). The monitor sets it with KVM_SET_SREGS, as
 * WRMSR IA32_FS_BASE needs CPL 0. A non-canonical address stops the VM.
 */
struct lunik_hc_set_tls {
    uint64_t fs_base;           /* IN: guest virtual address */
};

/*
 * LUNIK_HC_SYSCALL_ENTRY: set IA32_LSTAR = entry and IA32_FMASK = fmask
 * (KVM_SET_MSRS). On hardware KVM these are never used: EFER.SCE is clear,
 * so `syscall` raises #UD as the SDM says. kvm_pvm ignores EFER.SCE: its
 * `syscall` from CPL 3 jumps to LSTAR, still at CPL 3, with rcx = the
 * return RIP, r11 = RFLAGS and RFLAGS &= ~FMASK, the stack unchanged; so
 * the guest names the same entry its #UD handler ends in. Made once, at
 * boot, before the first system call.
 */
struct lunik_hc_syscall_entry {
    uint64_t entry;             /* IN: guest virtual address of the entry */
    uint64_t fmask;             /* IN: RFLAGS bits `syscall` clears */
};

/*
 * LUNIK_HC_UPCALL: the guest's deadline timer (platform.h plat_deadline).
 * The guest keeps a deadline (host CLOCK_MONOTONIC ns; 0 = none) in the
 * 8 bytes at deadline_gpa and changes it with plain stores. A monitor
 * thread reads it about every 5 ms; once the clock passes a deadline it has
 * not fired yet, it interrupts the vCPU in guest mode (never in a
 * hypercall) and enters the upcall, as a signal is delivered: below the
 * interrupted RSP and its 128-byte red zone it writes RIP (at RSP-136),
 * RFLAGS (at RSP-144) and, below those, rax, rbx, rcx, rdx, rsi, rdi, rbp,
 * r8 .. r15 (lowest address first), sets RSP to that frame (RSP-264) and
 * RIP to entry. The entry saves what else it uses, pops the frame and
 * returns with `popfq; ret $128`. An upcall is skipped when the frame and
 * 4 KiB below it would leave guest memory. Made once, before the first
 * deadline.
 */
struct lunik_hc_upcall {
    uint64_t entry;             /* IN: guest virtual address of the entry */
    uint64_t deadline_gpa;      /* IN: 8-byte aligned, inside guest memory */
    uint64_t interrupt_gpa;     /* IN: 8 bytes, aligned, or 0: the monitor
                                   adds 1 there, then enters the upcall, when
                                   the control client asks for an interrupt
                                   (platform.h plat_interrupt) while the
                                   vCPU runs */
};
#define LUNIK_UPCALL_FRAME 264  /* bytes from the frame to the old RSP */

/* Slots of lunik_guest_counters.syscalls: one per Linux x86_64 system-call
 * number below LUNIK_GUEST_NSYSCALLS - 1; the last slot counts the rest. */
#define LUNIK_GUEST_NSYSCALLS 512

/*
 * The guest's own counters, in guest memory, updated by the guest as it
 * runs: what the monitor cannot see because it causes no VM exit (on
 * kvm_pvm a system call is a trap into the host kernel all the same).
 */
struct lunik_guest_counters {
    uint64_t syscalls[LUNIK_GUEST_NSYSCALLS]; /* system calls by number */
    uint64_t direct[LUNIK_GUEST_NSYSCALLS];   /* the same calls made by a
                                                 plain call, without a trap
                                                 (vDSO clock, memory calls) */
};

/*
 * LUNIK_HC_STATS: the guest's counters live at counters_gpa from now on.
 * Made once at boot, and only when the boot info has LUNIK_BOOT_STATS.
 * The monitor checks that the struct lies inside guest memory (else the
 * VM stops) and prints it with its own counters when the run ends
 * (`lunik run --stats`), however it ends.
 */
struct lunik_hc_stats {
    uint64_t counters_gpa;      /* IN: GPA of a struct lunik_guest_counters */
};

#endif /* __ASSEMBLER__ */
#endif
