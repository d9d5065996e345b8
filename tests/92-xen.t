#!/usr/bin/env bash
# 92-xen.t: the PVH kernel as Xen's PVH dom0: Debian's Xen 4.17 under QEMU TCG (scripts/xen-tcg.sh), hello and timers, streams, exit status, too little memory.
. "$(dirname "$0")/lib.sh"
no_kvm_cases

xen=$top/scripts/xen-tcg.sh
if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "1..0 # SKIP qemu-system-x86_64 is missing (scripts/setup.sh installs it)"
    exit 0
fi
if [ ! -f /boot/xen-4.17-amd64.gz ]; then
    echo "1..0 # SKIP Xen 4.17 is missing (scripts/setup.sh installs xen-hypervisor-4.17-amd64)"
    exit 0
fi

out=$("$xen" "$top/examples/hello.lua" 2>"$scratch/err"); rc=$?
is "$rc" 0 "hello under Xen: exit 0"
is "$out" "hello from pvh/xen" "hello under Xen: its greeting, through HYPERVISOR_console_io"

out=$("$xen" "$top/examples/timers.lua" 2>"$scratch/err"); rc=$?
is "$rc" 0 "timers under Xen: exit 0"
events=$(echo "$out" | sed 's/^ *[0-9.]* s  //')
ticks=$(echo "$events" | grep -c '^tick ')
is "$(echo "$events" | grep -v '^woke up')" "after 0.1 s; this handler now sleeps 0.3 s
$(seq 1 "$ticks" | sed 's/^/tick /')
ticker cancelled after $ticks ticks
done" "timers under Xen fire in deadline order (Xen's single-shot timer, idle HLT)"
is "$(echo "$events" | grep -E '^(tick 1$|woke up)' | cut -c 1-4)" "tick
woke" "the sleeping handler wakes after the first tick under Xen"

write status.lua <<'EOF2'
print(os.date("!%Y") + 0 >= 2024 and "the RTC has a date" or "no date")
io.stderr:write("to stderr\n")
os.exit(3)
EOF2
out=$("$xen" "$scratch/status.lua" 2>"$scratch/err"); rc=$?
is "$rc" 3 "the program's exit status comes back from Xen's dom0"
like "$out" "the RTC has a date" "os.date reads the CMOS clock under Xen"
like "$out" "to stderr" "stderr reaches Xen's console too"

# The handler budget under Xen: the deadline is Xen's single-shot timer,
# whose event-channel upcall stops a runaway handler.
write spin.lua <<'EOF2'
local lunik = require "lunik"
lunik.budget(0.3)
lunik.after(0.05, function() print("spinning"); while true do end end)
lunik.after(0.5, function() print("still alive"); lunik.exit(7) end)
EOF2
out=$("$xen" "$scratch/spin.lua" 2>"$scratch/err"); rc=$?
is "$rc" 7 "a runaway handler is stopped and the program goes on under Xen"
like "$out" "spinning" "... it ran"
like "$out" "handler exceeded its budget \(0\.3 s\)" \
    "... the budget stop is reported (on Xen's console)"
like "$out" "still alive" "... and the other handlers run after it"

out=$("$xen" "$top/examples/hello.lua" 4M 2>"$scratch/err"); rc=$?
is "$rc" 69 "dom0_mem=4M: exit 69"
is "$out" "lunik: guest memory is too small for this image (give the VM more memory)" \
    "... with one sentence"

done_testing
