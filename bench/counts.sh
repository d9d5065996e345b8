#!/usr/bin/env bash
# counts.sh: VM exits by reason and hypercalls of kvm-target runs, from the kernel's kvm tracepoints — counts, not timings.
#
# Usage: bench/counts.sh   (as root, after make, where /dev/kvm opens;
#                           scripts/kvm-vm.sh bench/counts.sh where it does not)
# In the nested test VM a timing says nothing about lunik (the guest runs
# under QEMU's emulation), so bench/run.sh runs this instead there. For each
# workload it counts, for the lunik process only, the kvm:kvm_exit events
# by exit reason (VM exits the kernel handled) and kvm:kvm_userspace_exit
# by reason (exits to the monitor: hypercalls are KVM_EXIT_MMIO). The counts
# are repeatable; they are no measure of speed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lunik=$top/build/lunik
work=$(mktemp -d /tmp/lunik-counts.XXXXXX)
tr=/sys/kernel/tracing

cleanup() {
    [ -w "$tr/tracing_on" ] && {
        echo 0 >"$tr/events/kvm/enable"
        : >"$tr/set_event_pid"
    } 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP INT TERM

[ -f "$tr/trace" ] || mount -t tracefs tracefs "$tr" 2>/dev/null || {
    echo "counts: cannot mount tracefs on $tr (needs root)" >&2; exit 1; }
[ -d "$tr/events/kvm/kvm_exit" ] || {
    echo "counts: the kernel has no kvm tracepoints (is kvm loaded?)" >&2; exit 1; }
out=$("$lunik" run "$top/examples/hello.lua" --target kvm </dev/null 2>&1) || {
    echo "counts: the kvm target does not run here: $out" >&2; exit 1; }

cp "$top/bench/hello.lua" "$work/hello.lua"
"$lunik" build "$work/hello.lua" -o "$work/hello.img" >/dev/null
"$lunik" build "$top/bench/alloc.lua" -o "$work/alloc.img" >/dev/null
"$lunik" build "$top/examples/timers.lua" -o "$work/timers.img" >/dev/null

echo 16384 >"$tr/buffer_size_kb"
echo 1 >"$tr/options/event-fork"

# count NAME CMD...: run CMD with the kvm tracepoints on for it (and its
# threads) only, and print its exits by reason.
count() {
    local name=$1; shift
    : >"$tr/trace"
    echo 1 >"$tr/events/kvm/kvm_exit/enable"
    echo 1 >"$tr/events/kvm/kvm_userspace_exit/enable"
    sh -c 'echo $$ >'"$tr"'/set_event_pid; exec "$@"' sh "$@" \
        </dev/null >/dev/null 2>&1 || true
    echo 0 >"$tr/events/kvm/enable"
    : >"$tr/set_event_pid"
    echo "== $name (counts, not timings) =="
    awk '/ kvm_exit: / { for (i = 1; i < NF; i++) if ($i == "reason") {
             e[$(i + 1)]++; n++ } }
         / kvm_userspace_exit: / { for (i = 1; i < NF; i++) if ($i == "reason") {
             u[$(i + 1)]++; m++ } }
         END {
             printf "VM exits handled by the kernel: %d\n", n
             for (r in e) printf "  %-28s %8d\n", r, e[r]
             printf "exits to the monitor: %d\n", m
             for (r in u) printf "  %-28s %8d%s\n", r, u[r],
                 r == "KVM_EXIT_MMIO" ? "  (hypercalls)" : ""
             if (n == 0 && m == 0) print "  (no events: tracing saw nothing)"
         }' "$tr/trace"
    grep -q 'LOST EVENTS' "$tr/trace" && echo "  (the trace buffer overflowed: counts are low)"
    return 0
}

echo "note: VM exit and hypercall counts of the kvm target, per run; kvm timings need a machine with /dev/kvm"
count "hello (image)" "$lunik" run "$work/hello.img" --target kvm
count "examples/timers.lua (1.3 s of timers)" "$lunik" run "$work/timers.img" --target kvm
count "bench/alloc.lua (--mem 64M)" "$lunik" run "$work/alloc.img" --target kvm --mem 64M
