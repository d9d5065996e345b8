#!/usr/bin/env bash
# 52-virtio-rings.t: a guest that corrupts its virtqueues is stopped with one sentence; the monitor stays healthy.
. "$(dirname "$0")/lib.sh"

kvm_only_file     # here on /dev/kvm, else in the nested test VM, else a skip

write app.lua <<'LUA'
print("this kernel never runs Lua")
LUA

# kernel, expected stderr pattern, what it does (guest/faults/fault_kernel.c)
cases=(
    "ring_outside|transmitq: descriptor 0 points outside guest memory \(0x7fff00000000|a descriptor pointing outside guest memory"
    "ring_loop|transmitq: a descriptor chain is longer than the queue size 8 \(a loop|a descriptor chain that loops"
    "ring_index|transmitq: descriptor index 200 is past the queue size 8|an available-ring head past the queue size"
    "ring_avail|transmitq: the available index moved 100 entries ahead, past the queue size 8|an available index past the queue size"
    "ring_overflow|transmitq: descriptor 0 points outside guest memory \(0xffffffffffffff00|a descriptor whose address and length overflow"
    "ring_area|transmitq: the descriptor table at 0x7fff00000000\+128 is outside guest memory|a descriptor table outside guest memory"
)
for c in "${cases[@]}"; do
    IFS='|' read -r name want what <<<"$c"
    kernel=$top/build/tests/$name.elf
    if [ ! -f "$kernel" ]; then
        fail "$what: $kernel was not built"
        continue
    fi
    run_lunik build --kernel "$kernel" "$scratch/app.lua" -o "$scratch/$name.img"
    ok $rc "an image with the $name kernel builds"
    run_lunik run "$scratch/$name.img" --target kvm
    is "$rc" 70 "$what: the run ends with exit 70"
    like "$err" "^lunik: guest error: virtio-console 0 $want" "$what: named"
    is "$(echo "$err" | grep -c .)" 1 "$what: the report is one line"
done

if ! kvm_boots; then
    skip "a good guest after the bad ones" "$kvm_why"
    done_testing
    exit 0
fi
run_lunik run "$top/examples/hello.lua" --target kvm
is "$out" "hello from kvm" "a good guest runs after the bad ones"

done_testing
