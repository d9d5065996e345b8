/* run.c: lunik_kvm_run: boot a program in a KVM VM and run it to its end. */
#include "monitor.h"

#include <errno.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "host/host.h"
#include "host/net.h"
#include "lunik/hypercall.h"

#define MIB ((uint64_t)1024 * 1024)

/* "--mem 3M": the size as the user most likely wrote it. */
static void print_size(char *buf, size_t n, uint64_t bytes)
{
    if (bytes % MIB == 0)
        snprintf(buf, n, "%" PRIu64 "M", bytes / MIB);
    else if (bytes % 1024 == 0)
        snprintf(buf, n, "%" PRIu64 "K", bytes / 1024);
    else
        snprintf(buf, n, "%" PRIu64, bytes);
}

static int check_mem(const struct lunik_run_config *cfg,
                     const struct mon_kernel *k)
{
    uint64_t need = mon_min_mem(cfg, k);
    char size[32];

    print_size(size, sizeof size, cfg->mem_size);
    if (cfg->mem_size > LUNIK_MEM_MAX) {
        fprintf(stderr, "lunik: --mem %s is too large for the kvm target: "
                "it takes at most %" PRIu64 "M\n", size, LUNIK_MEM_MAX / MIB);
        return LUNIK_EXIT_USAGE;
    }
    if (cfg->mem_size < need) {
        fprintf(stderr, "lunik: --mem %s is too small for this image: it "
                "needs at least %" PRIu64 " MiB\n", size, need / MIB);
        return LUNIK_EXIT_NOMEM;
    }
    return 0;
}

static int guest_fault(const struct mon_vm *vm, const char *what)
{
    fprintf(stderr, "lunik: guest fault: %s at RIP 0x%" PRIx64 "\n", what,
            mon_vm_rip(vm));
    return LUNIK_EXIT_GUEST;
}

/* A VM exit other than a hypercall: report it. Returns LUNIK_EXIT_GUEST. */
static int unexpected_exit(const struct mon_vm *vm)
{
    const struct kvm_run *run = vm->run;
    char what[160];

    switch (run->exit_reason) {
    case KVM_EXIT_SHUTDOWN:
        return guest_fault(vm, "triple fault (KVM_EXIT_SHUTDOWN)");
    case KVM_EXIT_HLT:
        return guest_fault(vm, "the vCPU halted (KVM_EXIT_HLT)");
    case KVM_EXIT_IO:
        snprintf(what, sizeof what, "I/O port 0x%x access (KVM_EXIT_IO), "
                 "which lunik guests never make", (unsigned)run->io.port);
        return guest_fault(vm, what);
    case KVM_EXIT_FAIL_ENTRY:
        snprintf(what, sizeof what, "the vCPU could not enter the guest "
                 "(KVM_EXIT_FAIL_ENTRY, hardware reason 0x%" PRIx64 ")",
                 (uint64_t)run->fail_entry.hardware_entry_failure_reason);
        return guest_fault(vm, what);
    case KVM_EXIT_INTERNAL_ERROR:
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION)
            return guest_fault(vm, "KVM could not emulate a guest instruction "
                               "(KVM_EXIT_INTERNAL_ERROR, emulation failure)");
        snprintf(what, sizeof what, "KVM internal error (suberror %u)",
                 run->internal.suberror);
        return guest_fault(vm, what);
    default:
        snprintf(what, sizeof what, "unexpected VM exit %u",
                 run->exit_reason);
        return guest_fault(vm, what);
    }
}

/* The status a device thread asked to end with (mon_vm_stop), or -1. */
static int stop_status(const struct mon_vm *vm)
{
    return __atomic_load_n(&vm->stop_status, __ATOMIC_SEQ_CST);
}

int mon_run_loop(struct mon_vm *vm)
{
    for (;;) {
        int r, err;
        if (stop_status(vm) >= 0)
            return stop_status(vm);
        vm->stats.exits++;
        r = ioctl(vm->vcpu_fd, KVM_RUN, 0);
        err = errno;
        mon_devices_drain(vm);          /* batched writes come first */
        errno = err;
        if (r < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                vm->stats.exits_intr++;
                if ((r = mon_upcall_deliver(vm)) != 0)
                    return r;
                continue;
            }
            fprintf(stderr, "lunik: KVM_RUN failed: %s\n", strerror(errno));
            return LUNIK_EXIT_OSERR;
        }
        if (vm->run->exit_reason == KVM_EXIT_MMIO && stop_status(vm) >= 0)
            return stop_status(vm);     /* a batched write broke a device */
        if (vm->run->exit_reason != KVM_EXIT_MMIO) {
            vm->stats.exits_other++;
            return stop_status(vm) >= 0 ? stop_status(vm)
                                        : unexpected_exit(vm);
        }
        if ((r = mon_hypercall(vm)) >= 0)
            return r;
    }
}

/* SIGUSR1 only interrupts KVM_RUN (mon_vm_stop); nothing to do here. */
static void on_kick(int sig)
{
    (void)sig;
}

static void install_kick(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_kick;            /* no SA_RESTART: KVM_RUN -> EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
}

/* With --stats, SIGINT ends the run the way an exit does, so the counters
 * of a server stopped with ^C are printed (status 128 + n, as a shell
 * reports a signal); SIGTERM is the program's shutdown event (host.c).
 * Only async-signal-safe calls follow. */
static struct mon_vm *stats_vm;

static void on_stop_signal(int sig)
{
    if (stats_vm != NULL)
        mon_vm_stop(stats_vm, 128 + sig);
}

static void install_stop(struct mon_vm *vm)
{
    struct sigaction sa;

    stats_vm = vm;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

/* Boot, run, then stop the devices (draining the console) and count. */
static int run_vm(struct mon_vm *vm, const struct lunik_run_config *cfg,
                  const struct mon_kernel *k)
{
    int r;

    mon_load(vm, cfg, k);
    install_kick();
    if (cfg->stats)
        install_stop(vm);
    r = mon_devices_start(vm, cfg);
    if (r == 0)
        r = mon_vm_start_cpu(vm);
    if (r == 0)
        r = mon_run_loop(vm);
    mon_upcall_stop(vm);
    mon_devices_stop(vm);
    if (cfg->stats)
        mon_stats_print(vm);
    return r;
}

int lunik_kvm_run(const struct lunik_run_config *cfg)
{
    struct mon_kernel k;
    struct mon_vm vm;
    int r;

    if ((r = mon_check_kernel(cfg->kernel, cfg->kernel_size, &k)) != 0)
        return r;
    if ((r = check_mem(cfg, &k)) != 0)
        return r;
    if (host_init() < 0) {
        fprintf(stderr, "lunik: cannot set up the console and timers: %s\n",
                strerror(errno));
        return LUNIK_EXIT_OSERR;
    }
    if (cfg->net != NULL && cfg->net->kind != LUNIK_NET_NONE) {
        char why[200];
        if (host_net_open(cfg->net, why, sizeof why) < 0) {
            fprintf(stderr, "lunik: %s\n", why);
            return LUNIK_EXIT_OSERR;
        }
    }
    r = mon_vm_create(&vm, cfg->mem_size / 4096 * 4096);
    if (r == 0)
        r = run_vm(&vm, cfg, &k);
    mon_vm_destroy(&vm);
    host_net_close();
    return r;
}
