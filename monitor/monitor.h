/* monitor.h: the KVM monitor's internal interface: one VM, one vCPU, its memory. */
#ifndef LUNIK_MONITOR_H
#define LUNIK_MONITOR_H

#include <pthread.h>

#include "host/deadline.h"
#include <stddef.h>
#include <stdint.h>

#include "lunik/hypercall.h"
#include "lunik/run.h"

#define MON_HOST_PAGE 4096u             /* the host's page size (x86_64) */

struct kvm_run;
struct kvm_coalesced_mmio_ring;
struct mon_virtio_dev;

/*
 * Counters of one run, printed by mon_stats_print() (`lunik run
 * --stats`). Each field has one writer (the vCPU thread, or one device
 * thread) and is read after the device threads have ended.
 */
struct mon_stats {
    uint64_t exits;                     /* KVM_RUN returns, all reasons */
    uint64_t exits_hypercall;           /* KVM_EXIT_MMIO on the hypercall page */
    uint64_t exits_notify;              /* KVM_EXIT_MMIO: virtio QueueNotify */
    uint64_t exits_register;            /* KVM_EXIT_MMIO: other virtio registers */
    uint64_t register_writes_batched;   /* virtio register writes that came
                                           through the coalesced-MMIO ring */
    uint64_t exits_intr;                /* KVM_RUN interrupted (a signal) */
    uint64_t exits_other;               /* anything else (ends the run) */
    uint64_t hypercalls[LUNIK_HC_COUNT];
    uint64_t waits_notified;            /* waits a device notification ended */
    uint64_t notifications;             /* used-buffer notifications made */
    uint64_t net_kicks, console_kicks;  /* device-thread wake-ups by notify */
    uint64_t net_tx_frames, net_tx_bytes, net_tx_dropped;
    uint64_t net_rx_frames, net_rx_bytes;
    uint64_t net_tx_partial, net_rx_partial;    /* frames with a partial
                                           checksum (checksum offload) */
    uint64_t console_out_bytes[2];      /* stdout, stderr */
    uint64_t console_in_bytes;
    uint64_t upcalls;                   /* deadline upcalls entered */
};

/* The guest's deadline timer (upcall.c). */
struct mon_upcall {
    uint64_t entry;                     /* guest address of the entry */
    uint64_t *deadline;                 /* host address of the guest's word */
    uint64_t *interrupts;               /* the guest's interrupt count, or
                                           NULL (hypercall.h) */
    int pending;                        /* the watcher asked for an upcall */
    int in_wait;                        /* the vCPU is in LUNIK_HC_WAIT */
    int started;
    struct host_deadline watch;         /* host/deadline.h */
};

/* One virtual machine. Guest memory is mem[0 .. mem_size), GPA 0 first. */
struct mon_vm {
    int kvm_fd, vm_fd, vcpu_fd;         /* -1 when not open */
    uint8_t *mem;                       /* host mapping of guest memory */
    uint64_t mem_size;                  /* bytes, a multiple of 4 KiB */
    struct kvm_run *run;                /* the vCPU's shared kvm_run page */
    size_t run_size;                    /* bytes mapped at run */
    uint64_t entry;                     /* kernel entry point (GPA) */
    uint64_t tsc_khz;                   /* 0 if KVM cannot tell */
    int has_xsave;                      /* CPUID.1:ECX.XSAVE */
    int irq_fd;                         /* eventfd: a device notified */
    int stop_status;                    /* -1, or the status to end with */
    pthread_t vcpu_thread;              /* the thread that runs KVM_RUN */
    struct mon_virtio_dev *devices[LUNIK_VIRTIO_SLOTS]; /* NULL: empty slot */
    uint64_t guest_counters_gpa;        /* LUNIK_HC_STATS, checked; 0 none */
    struct kvm_coalesced_mmio_ring *coalesced; /* in run's mapping; NULL:
                                           every register access exits */
    struct mon_stats stats;
    struct mon_upcall upcall;
};

/* Where the kernel ELF's PT_LOAD segments land. */
struct mon_kernel {
    uint64_t entry;                     /* e_entry */
    uint64_t end;                       /* first GPA after the last segment */
};

/*
 * mon_vm_create: open /dev/kvm, create the VM, its memory (mem_size bytes,
 * MAP_NORESERVE) and one vCPU with the host's supported CPUID (KVM API 4.2,
 * 4.8, 4.35, 4.46). Returns 0, or prints one line "lunik: ..." and returns
 * LUNIK_EXIT_OSERR; vm is then safe to mon_vm_destroy().
 */
int mon_vm_create(struct mon_vm *vm, uint64_t mem_size);

/*
 * mon_vm_start_cpu: put the vCPU in 64-bit long mode at CPL 3 (paging with
 * the page tables at LUNIK_PAGE_TABLE_GPA, SSE on, EFER.SCE off; GDT, IDT
 * and TSS as hypercall.h) at vm->entry with the stack at LUNIK_STACK_TOP
 * (KVM API 4.13, 4.14). 0, or prints and returns
 * LUNIK_EXIT_OSERR.
 */
int mon_vm_start_cpu(struct mon_vm *vm);

/* mon_os_error: print "lunik: KVM call WHAT failed: <errno text>" and
 * return LUNIK_EXIT_OSERR. */
int mon_os_error(const char *what);

/* mon_vm_destroy: release everything mon_vm_create() made. */
void mon_vm_destroy(struct mon_vm *vm);

/* mon_vm_rip: the vCPU's RIP (KVM_GET_REGS), or 0 if it cannot be read. */
uint64_t mon_vm_rip(const struct mon_vm *vm);

/*
 * mon_check_kernel: check the guest kernel ELF (x86_64 executable, every
 * PT_LOAD inside the file and at or above LUNIK_KERNEL_BASE, the entry in
 * an executable segment) and fill k. 0, or prints one line and returns
 * LUNIK_EXIT_DATAERR.
 */
int mon_check_kernel(const void *elf, size_t size, struct mon_kernel *k);

/*
 * mon_min_mem: bytes of guest memory cfg needs: kernel, argv, bundle and
 * a minimum heap, rounded up to 1 MiB.
 */
uint64_t mon_min_mem(const struct lunik_run_config *cfg,
                     const struct mon_kernel *k);

/*
 * mon_load: write into guest memory the GDT, page tables, kernel segments,
 * argv, the bundle and the boot info (layout in hypercall.h). Call after
 * mon_check_kernel() and with mem_size >= mon_min_mem().
 */
void mon_load(struct mon_vm *vm, const struct lunik_run_config *cfg,
              const struct mon_kernel *k);

/*
 * mon_guest_ptr: the host address of guest memory [gpa, gpa+len), or NULL
 * after printing "lunik: guest error: WHAT 0x...+N is outside guest memory
 * (M bytes) at RIP 0x...". Every guest address goes through here.
 */
void *mon_guest_ptr(const struct mon_vm *vm, uint64_t gpa, uint64_t len,
                    const char *what);

/*
 * mon_hypercall: serve the hypercall the vCPU just made (KVM_EXIT_MMIO on
 * the hypercall page, hypercall.h); any other MMIO access is reported as a
 * guest error. Returns -1 to resume the guest, or a status to end with:
 * the guest's exit status, or LUNIK_EXIT_GUEST after printing the fault.
 */
int mon_hypercall(struct mon_vm *vm);

/*
 * mon_upcall_setup: LUNIK_HC_UPCALL: remember the guest's upcall entry and
 * deadline word and interrupt count (8-byte aligned, inside guest memory;
 * interrupt_gpa 0: none; else -1 after printing the guest error) and start
 * the watcher thread. 0 otherwise.
 */
int mon_upcall_setup(struct mon_vm *vm, uint64_t entry,
                     uint64_t deadline_gpa, uint64_t interrupt_gpa);

/*
 * mon_upcall_deliver: after KVM_RUN was interrupted: if the watcher asked
 * for an upcall, write the frame below the guest's RSP and enter the
 * upcall (hypercall.h LUNIK_HC_UPCALL). 0, or LUNIK_EXIT_OSERR after one
 * line when the registers cannot be read or written.
 */
int mon_upcall_deliver(struct mon_vm *vm);

/*
 * mon_upcall_interrupt: the control client asked to interrupt (SIGURG,
 * platform.h plat_interrupt): while the vCPU runs guest code, add 1 to
 * the guest's interrupt count and enter the upcall. Async-signal-safe.
 */
void mon_upcall_interrupt(struct mon_vm *vm);

/* mon_upcall_stop: end the watcher thread, if any. */
void mon_upcall_stop(struct mon_vm *vm);

/*
 * mon_vm_stop: end the run with status (the first caller wins): wake the
 * vCPU from a wait or from KVM_RUN (immediate_exit and a signal, KVM API
 * 4.10) so that mon_run_loop() returns status. Any thread.
 */
void mon_vm_stop(struct mon_vm *vm, int status);

/* mon_vm_kick_wait: a device made a used-buffer notification: end the
 * vCPU's current or next LUNIK_HC_WAIT (the irq eventfd). Any thread. */
void mon_vm_kick_wait(struct mon_vm *vm);

/*
 * mon_devices_start: create the devices cfg asks for (consoles always,
 * the NIC with cfg->net) in vm->devices and start their threads. 0, or
 * prints one line and returns LUNIK_EXIT_OSERR.
 */
int mon_devices_start(struct mon_vm *vm, const struct lunik_run_config *cfg);

/*
 * mon_devices_stop: end the device threads after they have served
 * everything the guest made available on their transmit queues (so every
 * byte it wrote reaches stdout/stderr), and join them. Idempotent.
 */
void mon_devices_stop(struct mon_vm *vm);

/*
 * mon_console_start, mon_console_stop, mon_net_start, mon_net_stop: the
 * console devices (virtio_console.c) and the NIC (virtio_net.c), as
 * mon_devices_start/_stop. Each start returns 0 or prints and returns
 * LUNIK_EXIT_OSERR.
 */
int mon_console_start(struct mon_vm *vm);
void mon_console_stop(struct mon_vm *vm);

/*
 * mon_control_start, mon_control_stop: the control channel's device and
 * its relay thread (virtio_control.c), serving listen_fd (the instance's
 * socket, platform.h's control channel; -1: no device); stop closes it.
 */
int mon_control_start(struct mon_vm *vm, int listen_fd);
void mon_control_stop(struct mon_vm *vm);
int mon_net_start(struct mon_vm *vm);
void mon_net_stop(struct mon_vm *vm);

/*
 * mon_devices_attach: put device d in virtio-mmio slot `slot` (hypercall.h
 * LUNIK_VIRTIO_SLOT_*), served by thread t (started), which the driver's
 * notifications wake.
 */
struct mon_virtio_dev;
struct mon_devthread;
void mon_devices_attach(struct mon_vm *vm, unsigned slot,
                        struct mon_virtio_dev *d, struct mon_devthread *t);

/*
 * mon_devices_ioeventfd: once d is live (DRIVER_OK), let KVM turn its
 * QueueNotify writes into kicks of d's thread's eventfd without leaving
 * KVM_RUN (KVM API 4.59, KVM_IOEVENTFD; any 4-byte value), so a
 * notification costs no exit to the monitor. Before DRIVER_OK the writes
 * still exit, so the run loop replays the batched register writes first.
 * Where KVM refuses, nothing changes. On the vCPU thread.
 */
void mon_devices_ioeventfd(struct mon_virtio_dev *d);

/*
 * mon_devices_mmio: serve the KVM_EXIT_MMIO the vCPU just made inside
 * the virtio-mmio slots (hypercall.h; the caller checked the range):
 * the slot's device's registers, or zeros for an empty slot. Returns -1
 * (resume the guest).
 */
int mon_devices_mmio(struct mon_vm *vm);

/*
 * mon_devices_drain: serve, in order, the register writes KVM batched in
 * the coalesced-MMIO ring since the last exit (devices.c). The run loop
 * calls it after every KVM_RUN, before serving the exit.
 */
void mon_devices_drain(struct mon_vm *vm);

/* mon_kvm_stats_print: the vCPU's nonzero cumulative KVM statistics
 * (KVM_GET_STATS_FD) on one line "lunik: stats: kvm vcpu: ..."; nothing
 * where the kernel has none (kvmstats.c). */
void mon_kvm_stats_print(const struct mon_vm *vm);

/* mon_stats_print: the counters on stderr, a few lines "lunik: stats:". */
void mon_stats_print(const struct mon_vm *vm);

/*
 * mon_run_loop: run the vCPU (KVM_RUN, KVM API 4.10) until the guest exits
 * or faults. Returns the guest's status, or LUNIK_EXIT_GUEST after printing
 * the reason and the guest RIP, or LUNIK_EXIT_OSERR.
 */
int mon_run_loop(struct mon_vm *vm);

#endif
