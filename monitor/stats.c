/* stats.c: print the counters of one kvm run (`lunik run --stats`). */
#include "monitor.h"

#include <inttypes.h>
#include <stdio.h>

static const char *const hc_names[LUNIK_HC_COUNT] = {
    [LUNIK_HC_WAIT] = "wait", [LUNIK_HC_CLOCK] = "clock",
    [LUNIK_HC_EXIT] = "exit", [LUNIK_HC_ABORT] = "abort",
    [LUNIK_HC_SET_TLS] = "set_tls",
    [LUNIK_HC_SYSCALL_ENTRY] = "syscall_entry",
    [LUNIK_HC_UPCALL] = "upcall",
};

void mon_stats_print(const struct mon_vm *vm)
{
    const struct mon_stats *s = &vm->stats;

    fprintf(stderr, "lunik: stats: vm exits %" PRIu64 ": hypercall %" PRIu64
            ", virtio notify %" PRIu64 ", virtio register %" PRIu64
            ", interrupted %" PRIu64 ", other %" PRIu64 "\n", s->exits,
            s->exits_hypercall, s->exits_notify, s->exits_register,
            s->exits_intr, s->exits_other);
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
            " bytes\n", s->net_tx_frames, s->net_tx_bytes, s->net_tx_dropped,
            s->net_rx_frames, s->net_rx_bytes);
    fprintf(stderr, "lunik: stats: console stdout %" PRIu64 " bytes, stderr %"
            PRIu64 " bytes, stdin %" PRIu64 " bytes\n",
            s->console_out_bytes[0], s->console_out_bytes[1],
            s->console_in_bytes);
    fprintf(stderr, "lunik: stats: deadline upcalls %" PRIu64 "\n",
            s->upcalls);
}
