#!/usr/bin/env bash
# 50-guest-faults.t: a misbehaving guest is stopped with a clear message; the monitor stays healthy.
. "$(dirname "$0")/lib.sh"

kvm_only_file

write app.lua <<'LUA'
print("this kernel never runs Lua")
LUA

# kernel file, expected stderr pattern, what it does
cases=(
    "bad_hypercall.elf|outside guest memory|hypercall with an out-of-range pointer"
    "triple_fault.elf|triple fault|triple fault"
    "divide_error.elf|divide error|divide by zero"
)
for c in "${cases[@]}"; do
    IFS='|' read -r elf want what <<<"$c"
    kernel=$top/build/tests/$elf
    if [ ! -f "$kernel" ]; then
        fail "$what: $kernel was not built"
        continue
    fi
    run_lunik build --kernel "$kernel" "$scratch/app.lua" -o "$scratch/bad.img"
    ok $rc "an image with the $what kernel builds"
    run_lunik run "$scratch/bad.img" --target kvm
    is "$rc" 70 "a guest doing a $what is stopped with exit 70"
    like "$err" "$want" "the $what is named"
    like "$err" "RIP 0x[0-9a-f]+" "the $what report gives the guest RIP"
    is "$(echo "$err" | grep -c .)" 1 "the $what report is one line"
    ok $((rc >= 128)) "the monitor did not die of a signal ($what)"
done

# The monitor is still healthy: a good guest runs right after.
if ! kvm_boots; then
    skip "a good guest after the bad ones, and guest memory exhaustion" "$kvm_why"
    done_testing
    exit 0
fi
run_lunik run "$top/examples/hello.lua" --target kvm
is "$out" "hello from kvm" "a good guest runs after the bad ones"

# Guest programs that exhaust memory get Lua's error, not a crash.
write hog.lua <<'LUA'
local t = {}
local ok, err = pcall(function()
    for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end
end)
t = nil
collectgarbage()
print(ok, err)
LUA
run_lunik run "$scratch/hog.lua" --target kvm --mem 16M
ok $rc "a guest that runs out of memory keeps running"
like "$out" "^false	not enough memory" "running out of guest memory is Lua's error"

done_testing
