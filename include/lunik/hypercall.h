/* hypercall.h: the KVM guest's boot-time memory layout and hypercall ABI. */
#ifndef LUNIK_HYPERCALL_H
#define LUNIK_HYPERCALL_H

/*
 * Shared by the guest libOS (guest/) and the monitor (monitor/); nothing
 * else depends on it.
 *
 * Guest physical memory (identity-mapped: guest virtual == GPA):
 *
 *   0x000000  page 0, never mapped (NULL dereferences fault)
 *   0x001000  GDT written by the monitor (null, code 0x08, data 0x10)
 *   0x002000  struct lunik_boot_info (LUNIK_BOOT_INFO_GPA)
 *   0x003000  page tables: PML4, PDPT, the PT of the first 2 MiB, PDs
 *   0x00f000  stack guard page, never mapped (overflow -> #PF)
 *   0x010000  initial stack, grows down from LUNIK_STACK_TOP
 *   0x100000  kernel ELF (PT_LOAD segments; linked here)
 *   kernel end, page-aligned: argv block (pointer array, then strings)
 *   heap_start .. heap_end: free memory the guest's page allocator manages
 *   bundle_gpa .. mem_size: the bundle (image.h), page-aligned
 *
 * The first 2 MiB are mapped with 4 KiB pages (to leave holes at page 0 and
 * the guard page), the rest with 2 MiB pages. Guest memory is at most
 * LUNIK_MEM_MAX bytes.
 *
 * Hypercalls: the guest writes (outl) the 32-bit GPA of an argument struct to
 * I/O port LUNIK_HYPERCALL_PORT(n). The monitor checks that the struct and
 * every buffer it names lie inside guest memory before touching them; a bad
 * address stops the VM (LUNIK_EXIT_GUEST). Fields are marked IN (guest to
 * monitor) or OUT (monitor to guest). Each call returns when the monitor
 * resumes the vCPU. Solo5 hvt style.
 */

/* Constants usable from assembly too. */
#define LUNIK_GDT_GPA        0x1000
#define LUNIK_BOOT_INFO_GPA  0x2000
#define LUNIK_PAGE_TABLE_GPA 0x3000     /* PML4; PDPT, PT, PDs follow */
#define LUNIK_GUARD_GPA      0xf000     /* one unmapped page */
#define LUNIK_STACK_BOTTOM   0x10000
#define LUNIK_STACK_TOP      0x100000
#define LUNIK_KERNEL_BASE    0x100000   /* lowest GPA a PT_LOAD may use */

/* GDT selectors, as written by the monitor and kept by the guest. */
#define LUNIK_SEL_CODE 0x08
#define LUNIK_SEL_DATA 0x10
#define LUNIK_SEL_TSS  0x18             /* added by the guest */

/* I/O port of hypercall n. */
#define LUNIK_HYPERCALL_BASE 0x500
#define LUNIK_HYPERCALL_PORT(n) (LUNIK_HYPERCALL_BASE + (n))

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
};

enum lunik_hypercall {
    LUNIK_HC_WRITE = 0,         /* console output */
    LUNIK_HC_READ = 1,          /* console input, never blocks */
    LUNIK_HC_YIELD = 2,         /* block until an event or a deadline */
    LUNIK_HC_CLOCK = 3,         /* read the host clocks */
    LUNIK_HC_EXIT = 4,          /* end the VM with a status */
    LUNIK_HC_ABORT = 5,         /* end the VM after a guest fault */
    LUNIK_HC_COUNT
};

/*
 * LUNIK_HC_WRITE: write len bytes at data to the host's stdout (stream 1) or
 * stderr (any other stream); returns once the host has taken every byte
 * (output to a closed pipe is dropped). As plat_console_write().
 */
struct lunik_hc_write {
    uint64_t stream;            /* IN: 1 stdout, 2 stderr */
    uint64_t data;              /* IN: GPA of the bytes */
    uint64_t len;               /* IN: bytes */
};

/*
 * LUNIK_HC_READ: copy up to len bytes of waiting console input to data.
 * Never blocks. As plat_console_read().
 */
struct lunik_hc_read {
    uint64_t data;              /* IN: GPA of the buffer */
    uint64_t len;               /* IN: bytes */
    int64_t ret;                /* OUT: bytes (> 0), 0 none waiting, -1 EOF */
};

/* Event bits for LUNIK_HC_YIELD; equal to PLAT_READY_*. */
#define LUNIK_EVENT_CONSOLE 0x1u

/*
 * LUNIK_HC_YIELD: block the vCPU until one of `events` is ready or the host's
 * CLOCK_MONOTONIC reaches deadline_ns (UINT64_MAX: none; in the past: just
 * poll). Returns the ready set and the host clocks read after waking, so the
 * guest re-synchronises its TSC clock. As plat_yield().
 */
struct lunik_hc_yield {
    uint64_t deadline_ns;       /* IN: host CLOCK_MONOTONIC ns */
    uint32_t events;            /* IN: LUNIK_EVENT_* mask */
    uint32_t ready;             /* OUT: subset of events */
    uint64_t monotonic_ns;      /* OUT: host CLOCK_MONOTONIC ns */
    uint64_t wall_ns;           /* OUT: host CLOCK_REALTIME ns */
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
    uint64_t cr2;               /* IN: fault address (#PF) */
    uint64_t msg;               /* IN: GPA of a message (panic), or 0 */
    uint64_t msg_len;           /* IN: bytes */
};

#endif /* __ASSEMBLER__ */
#endif
