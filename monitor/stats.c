/* stats.c: print the counters of one kvm run (`lunik run --stats`). */
#include "monitor.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const hc_names[LUNIK_HC_COUNT] = {
    [LUNIK_HC_WAIT] = "wait", [LUNIK_HC_CLOCK] = "clock",
    [LUNIK_HC_EXIT] = "exit", [LUNIK_HC_ABORT] = "abort",
    [LUNIK_HC_SET_TLS] = "set_tls",
    [LUNIK_HC_SYSCALL_ENTRY] = "syscall_entry",
    [LUNIK_HC_UPCALL] = "upcall",
    [LUNIK_HC_STATS] = "stats",
};

/* Generated from asm/unistd_64.h by guest/build.mk: [nr] = "name", ... */
static const char *const syscall_names[] = {
#include "syscall_names.h"
};
#define NSYSCALL_NAMES (sizeof syscall_names / sizeof syscall_names[0])

/* One line of the guest's counts by call number, most frequent first
 * (c is a copy; it is consumed). */
static void print_calls(const char *what, uint64_t *c)
{
    uint64_t total = 0;
    int printed = 0;

    for (int i = 0; i < LUNIK_GUEST_NSYSCALLS; i++)
        total += c[i];
    fprintf(stderr, "lunik: stats: %s %" PRIu64, what, total);
    for (;;) {
        int best = -1;
        for (int i = 0; i < LUNIK_GUEST_NSYSCALLS; i++)
            if (c[i] > 0 && (best < 0 || c[i] > c[best]))
                best = i;
        if (best < 0)
            break;
        if (best < LUNIK_GUEST_NSYSCALLS - 1 &&
            (size_t)best < NSYSCALL_NAMES && syscall_names[best] != NULL)
            fprintf(stderr, "%s %s %" PRIu64, printed ? "," : ":",
                    syscall_names[best], c[best]);
        else
            fprintf(stderr, "%s #%d %" PRIu64, printed ? "," : ":", best,
                    c[best]);
        c[best] = 0;
        printed++;
    }
    fprintf(stderr, "\n");
}

/* The guest's counters (LUNIK_HC_STATS): guest memory, so only numbers,
 * copied once. */
static void print_guest(const struct mon_vm *vm)
{
    struct lunik_guest_counters c;

    memcpy(&c, vm->mem + vm->guest_counters_gpa, sizeof c);
    print_calls("guest system calls (traps)", c.syscalls);
    print_calls("guest calls served without a trap (vDSO, memory)",
                c.direct);
}

void mon_stats_print(const struct mon_vm *vm)
{
    const struct mon_stats *s = &vm->stats;

    fprintf(stderr, "lunik: stats: vm exits %" PRIu64 ": hypercall %" PRIu64
            ", virtio notify %" PRIu64 ", virtio register %" PRIu64
            ", interrupted %" PRIu64 ", other %" PRIu64 "; register writes "
            "batched without an exit %" PRIu64 "\n", s->exits,
            s->exits_hypercall, s->exits_notify, s->exits_register,
            s->exits_intr, s->exits_other, s->register_writes_batched);
    fprintf(stderr, "lunik: stats: hypercalls:");
    for (int i = 0; i < LUNIK_HC_COUNT; i++)
        fprintf(stderr, " %s %" PRIu64 "%s", hc_names[i], s->hypercalls[i],
                i + 1 < LUNIK_HC_COUNT ? "," : "\n");
    fprintf(stderr, "lunik: stats: device notifications to the guest %"
            PRIu64 " (waits they ended %" PRIu64 "); guest notifications: "
            "net %" PRIu64 ", console %" PRIu64 "\n", s->notifications,
            s->waits_notified, s->net_kicks, s->console_kicks);
    fprintf(stderr, "lunik: stats: net tx %" PRIu64 " frames %" PRIu64
            " bytes (%" PRIu64 " dropped), rx %" PRIu64 " frames %" PRIu64
            " bytes; partial checksums (offload): tx %" PRIu64 ", rx %"
            PRIu64 "\n", s->net_tx_frames, s->net_tx_bytes,
            s->net_tx_dropped, s->net_rx_frames, s->net_rx_bytes,
            s->net_tx_partial, s->net_rx_partial);
    fprintf(stderr, "lunik: stats: console stdout %" PRIu64 " bytes, stderr %"
            PRIu64 " bytes, stdin %" PRIu64 " bytes\n",
            s->console_out_bytes[0], s->console_out_bytes[1],
            s->console_in_bytes);
    fprintf(stderr, "lunik: stats: deadline upcalls %" PRIu64 "\n",
            s->upcalls);
    if (vm->guest_counters_gpa != 0)
        print_guest(vm);
    mon_kvm_stats_print(vm);
}
