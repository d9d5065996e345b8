#!/usr/bin/env bash
# guest_kernels_test.t: boot the guest's test kernels (syscall paths, #UD) on KVM.
. "$(dirname "$0")/../lib.sh"

kvm_only_file
echo 'print("this kernel never runs Lua")' >"$scratch/app.lua"

# boot KERNEL: build an image around build/tests/KERNEL.elf and run it.
boot() {
    run_lunik build --kernel "$top/build/tests/$1.elf" "$scratch/app.lua" \
        -o "$scratch/$1.img"
    ok $rc "an image with the $1 kernel builds"
    run_lunik run "$scratch/$1.img" --target kvm
}

boot syscall_paths
is "$rc" 0 "a syscall and a #UD at a syscall both reach the entry"
is "$out" "syscall paths: ok" "rax, rcx, r11 and rsp are as Linux's syscall"
is "$err" "" "nothing on stderr"

boot invalid_opcode
is "$rc" 70 "an invalid opcode that is not a syscall stops the guest"
like "$err" "^lunik: guest fault: invalid opcode \(#UD\) at RIP 0x[0-9a-f]+" \
    "the #UD is named with the guest RIP"
is "$(echo "$err" | grep -c .)" 1 "the report is one line"

done_testing
