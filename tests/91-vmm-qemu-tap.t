#!/usr/bin/env bash
# 91-vmm-qemu-tap.t: `lunik run --vmm qemu` on a tap (--net tap:NAME --ip), inside a network namespace of the test's own.
own_netns=1
. "$(dirname "$0")/lib.sh"
no_kvm_cases

qemu=${LUNIK_QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "1..0 # skip $qemu is not installed (Debian package qemu-system-x86)"
    exit 0
fi
if [ -n "$netns_why" ]; then
    echo "1..0 # skip $netns_why"; exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! ip tuntap add dev lunikq0 mode tap 2>/dev/null
then
    echo "1..0 # skip creating a tap interface needs root"; exit 0
fi
ip addr add 10.0.78.1/24 dev lunikq0 && ip link set lunikq0 up

start_bg http "$LUNIK" run --vmm qemu "$top/examples/http.lua" \
    --net tap:lunikq0 --ip 10.0.78.2/24
wait_output http 'serving HTTP' 120
ok $? "the HTTP example starts on the tap under qemu"
got=$(retry 50 curl -s -m 5 http://10.0.78.2/)
is "$got" "hello from lunik" "curl reaches the guest's fixed address on the tap under qemu"
got=$(curl -s -m 10 http://10.0.78.2/api/time)
like "$got" '"target":"pvh/qemu"' "the guest answers as pvh/qemu"
stop_bg http
is "$(cat "$scratch/http.err")" "" "nothing on stderr"

done_testing
