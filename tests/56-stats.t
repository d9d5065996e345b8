#!/usr/bin/env bash
# 56-stats.t: --stats on kvm counts VM exits and the guest's system calls; clocks and memory calls make no trap; boot's exits stay few.
. "$(dirname "$0")/lib.sh"

kvm_only_file     # here on /dev/kvm, else in the nested test VM, else a skip

# count NAME LINE: the count after NAME in LINE ("... NAME 12, ..."), or 0.
count() { echo "$2" | sed -n "s/.*[:,] $1 \([0-9]*\).*/\1/p" | head -n 1 | grep . || echo 0; }

write clocks.lua <<'LUA'
local t0 = os.time()
local c = 0
for _ = 1, 1000 do c = c + os.time() - t0 + os.clock() * 0 end
local big = {}
for i = 1, 40 do big[i] = string.rep("x", 150000 + i) end   -- malloc maps
print(os.date("!%Y", os.time()) == os.date("!%Y") and "same year" or "?",
      #table.concat(big) > 0)
LUA
run_lunik run "$scratch/clocks.lua" --target kvm --stats
is "$out" "same year	true" "os.time, os.clock and os.date answer on kvm"
traps=$(echo "$err" | grep "guest system calls (traps)")
direct=$(echo "$err" | grep "guest calls served without a trap")
like "$traps" "^lunik: stats: guest system calls \(traps\) [0-9]+" \
    "--stats prints the guest's system calls"
is "$(count clock_gettime "$traps")" 0 "no clock read traps (the vDSO answers)"
ok $(( $(count clock_gettime "$direct") >= 2000 ? 0 : 1 )) \
    "the vDSO served every clock read ($(count clock_gettime "$direct"))"
is "$(count mmap "$traps")" 0 "malloc's mmap makes no trap"
ok $(( $(count mmap "$direct") > 0 ? 0 : 1 )) \
    "malloc's mmap calls reach the shim by a plain call ($(count mmap "$direct"))"

# Boot: hello sets up console 0, and --stats's own line console 1. Counted
# exits are repeatable: register writes go through the coalesced-MMIO
# ring, so only reads, notifies and hypercalls leave the VM.
run_lunik run "$top/bench/hello.lua" --target kvm --stats
is "$out" "hello" "hello runs with --stats"
exits=$(echo "$err" | sed -n 's/^lunik: stats: vm exits \([0-9]*\):.*/\1/p')
regs=$(echo "$err" | sed -n 's/.*virtio register \([0-9]*\),.*/\1/p')
diag "hello: $(echo "$err" | grep 'vm exits')"
ok $(( ${exits:-999} <= 30 ? 0 : 1 )) \
    "hello boots and ends with few VM exits ($exits; 73 before batching)"
ok $(( ${regs:-999} <= 20 ? 0 : 1 )) \
    "register exits are reads only ($regs for two consoles)"

# Notifications: once a device is live its QueueNotify writes go to the
# device thread's eventfd inside KVM (KVM_IOEVENTFD), not to the monitor.
# 40 requests one after another let the NIC's thread fall asleep between
# them, so the guest has to notify it; none of that may be an exit.
port=$(free_port)
start_bg srv "$LUNIK" run "$top/examples/http.lua" --target kvm --stats \
    -p "127.0.0.1:$port:80"
wait_output srv "serving HTTP"
good=0
for i in $(seq 40); do
    [ "$(curl -s -m 5 "http://127.0.0.1:$port/")" = "hello from lunik" ] &&
        good=$((good + 1))
done
is "$good" 40 "40 requests answered on kvm with --stats"
stop_bg srv
err=$(cat "$scratch/srv.err")
diag "$(echo "$err" | grep -E 'vm exits|guest notifications')"
notify=$(echo "$err" | sed -n 's/.*virtio notify \([0-9]*\),.*/\1/p')
kicks=$(echo "$err" | sed -n 's/.*guest notifications: net \([0-9]*\),.*/\1/p')
ok $(( ${kicks:-0} >= 1 ? 0 : 1 )) \
    "the guest notified the NIC's thread ($kicks times)"
ok $(( ${notify:-999} <= 6 ? 0 : 1 )) \
    "notifications are no exits once the devices are live ($notify notify exits)"

done_testing
