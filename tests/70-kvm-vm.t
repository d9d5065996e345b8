#!/usr/bin/env bash
# 70-kvm-vm.t: scripts/kvm-vm.sh, the nested test VM: exit status, stdout and stderr apart, the watchdog.
. "$(dirname "$0")/lib.sh"

vm=$top/scripts/kvm-vm.sh
n_cases=12
# The plan is printed here, not by done_testing: this file tests the runner
# itself, so it never hands its cases to the VM.
echo "1..$n_cases"
if [ "$kvm_mode" = skip ]; then
    for i in $(seq $n_cases); do echo "ok $i # skip the nested test VM: $kvm_why"; done
    exit 0
fi

# in_vm ARGS...: run the runner; sets rc, out, err.
in_vm() {
    timeout -k 5 300 "$vm" "$@" </dev/null >"$scratch/out" 2>"$scratch/err"
    rc=$?
    out=$(cat "$scratch/out")
    err=$(cat "$scratch/err")
}

in_vm sh -c 'echo "to stdout"; echo "to stderr" >&2
    [ -c /dev/kvm ] && echo "/dev/kvm is there"; id -u; pwd'
if [ $rc -eq 125 ] && grep -q '^kvm-vm: QEMU could not start' "$scratch/err"; then
    for i in $(seq $n_cases); do
        echo "ok $i # skip the nested test VM: $(head -n 1 "$scratch/err")"
    done
    exit 0
fi
is "$rc" 0 "a command that exits 0 makes the runner exit 0"
is "$out" "to stdout
/dev/kvm is there
0
$top" "stdout comes back alone; the command runs as root in the checkout, with /dev/kvm"
is "$err" "to stderr" "stderr comes back alone"

in_vm sh -c 'exit 1'
is "$rc" 1 "exit status 1 passes through"
in_vm "$top/build/lunik" run "$top/examples/hello.lua" --target kvm
is "$rc:$out" "0:hello from kvm" "build/lunik runs the kvm target in the VM"
in_vm sh -c 'echo partial; exit 70'
is "$rc:$out" "70:partial" "exit status 70 passes through, with the output before it"

# A command that never ends: the watchdog stops the VM, says which test was
# running in one sentence, and leaves no QEMU behind.
LUNIK_VM_TIMEOUT=30 timeout -k 5 300 "$vm" sh -c \
    'echo "tests/hang-probe.t .. "; exec sleep 3600' \
    </dev/null >"$scratch/out" 2>"$scratch/err" &
runner=$!
qemu=""
for _ in $(seq 600); do
    qemu=$(pgrep -P "$(pgrep -P $runner | head -n 1)" -x qemu-system-x86 || true)
    [ -n "$qemu" ] && break
    kill -0 $runner 2>/dev/null || break
    sleep 0.1
done
wait $runner
rc=$?
err=$(cat "$scratch/err")
ok $([ -n "$qemu" ]; echo $?) "the runner starts QEMU as its child"
is "$rc" 124 "a command that hangs ends with status 124"
like "$err" "^kvm-vm: watchdog: tests/hang-probe.t was still running after 30 s" \
    "the watchdog names the test that was running"
is "$(echo "$err" | grep -c .)" 1 "the watchdog's report is one line"
ok $([ -n "$qemu" ] && ! kill -0 "$qemu" 2>/dev/null; echo $?) \
    "no QEMU process is left behind"
is "$(cat "$scratch/out")" "tests/hang-probe.t .. " "output before the hang came back"
