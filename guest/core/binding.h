/* binding.h: what the guest core needs from the binding it is linked with (guest/lunik, guest/pvh). */
#ifndef LUNIK_GUEST_CORE_BINDING_H
#define LUNIK_GUEST_CORE_BINDING_H

#include <stddef.h>
#include <stdint.h>

/*
 * A binding (Solo5's word) is the part of the guest that knows one way of
 * being booted and one way of talking to the VMM: lunik's own monitor
 * (guest/lunik: boot info and hypercalls) or any PVH VMM (guest/pvh:
 * start_info, port I/O and the local APIC). The core (guest/core: the
 * libOS, musl's system calls, memory, files) and the virtio drivers
 * (guest/virtio, whose own needs are in virtio/binding.h) are the same
 * for all. Each binding also implements the clock, target and deadline
 * calls of include/lunik/platform.h.
 */

/*
 * What the core is told at boot, filled by the binding before it enters
 * guest_core_start (entry.S). All addresses are guest virtual (identity
 * mapped).
 */
struct guest_boot {
    uintptr_t heap_start;       /* free, zero-filled memory for the page */
    uintptr_t heap_end;         /*   allocator (mem.h) */
    const void *bundle;         /* the app bundle (image.h) */
    size_t bundle_size;         /* bytes */
    uint64_t argc;              /* the runtime's argv (runtime.h) */
    char *const *argv;          /* argc NUL-terminated strings */
    void *idt;                  /* the page IDTR points at (256 gates room) */
    void *tss;                  /* the 64-bit TSS TR points at */
    uint32_t console_tty;       /* bit n: console stream n is a terminal */
    uint16_t tty_rows;          /* terminal size, 0 = unknown */
    uint16_t tty_cols;
    uint32_t ipv4_addr;         /* the NIC's IPv4 set-up, network byte */
    uint32_t ipv4_netmask;      /*   order; addr 0 = ask DHCP */
    uint32_t ipv4_gateway;
};

/* guest_bind_boot: the binding's boot description (valid from the first
 * instruction of guest_core_start on). */
const struct guest_boot *guest_bind_boot(void);

/* guest_bind_init: start the binding's clocks and anything else the
 * platform calls need; called once by guest_boot_stack, after the CPU
 * tables are filled and before the page allocator starts. */
void guest_bind_init(void);

/* guest_bind_syscall_entry: where a `syscall` instruction that does not
 * raise #UD lands (kvm_pvm ignores EFER.SCE): IA32_LSTAR = entry,
 * IA32_FMASK = fmask. */
void guest_bind_syscall_entry(void (*entry)(void), uint64_t fmask);

/* guest_bind_set_fs_base: make base the FS base (TLS pointer); WRMSR
 * needs CPL 0, so this goes through the VMM or a CPL-0 gate. */
void guest_bind_set_fs_base(uint64_t base);

/* guest_bind_fault: stop after CPU exception `vector` (0..31) at rip
 * with error_code and the faulting rsp, with one line saying so. */
_Noreturn void guest_bind_fault(uint64_t vector, uint64_t error_code,
                                uint64_t rip, uint64_t rsp);

/* guest_bind_panic: stop with a libOS message; rip is the caller's. */
_Noreturn void guest_bind_panic(const char *msg, uint64_t rip);

/* guest_bind_exit: stop the VM with status (0..255) once the console
 * has written every byte handed to it. */
_Noreturn void guest_bind_exit(int status);

/*
 * guest_bind_serial_write: when the binding's console is a serial port
 * rather than virtio consoles (Firecracker has none: the PVH command line
 * says lunik.console=serial), write n bytes of p there and return 0;
 * else return -1 and write nothing. Both streams share it; it has no
 * input.
 */
int guest_bind_serial_write(const void *p, size_t n);

/*
 * guest_upcall: the binding's deadline callback (platform.h plat_deadline),
 * called by guest_upcall_entry (upcall_entry.S) once the binding has
 * interrupted the program there with the frame of hypercall.h's
 * LUNIK_HC_UPCALL.
 */
void guest_upcall(void);
void guest_upcall_entry(void);

/* guest_bind_shutdown: 1 (once) when the VMM asked the program to stop
 * (SIGTERM to lunik's monitor), else 0. */
int guest_bind_shutdown(void);

#endif
