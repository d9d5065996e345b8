#!/usr/bin/env bash
# 16-netns-tap.t: scripts/netns-tap.sh: a tap in a throwaway network namespace, a real server and client in it, nothing left behind.
. "$(dirname "$0")/lib.sh"

ns=$top/scripts/netns-tap.sh
if [ "$(id -u)" -ne 0 ] || ! unshare --net true 2>/dev/null; then
    echo "1..0 # SKIP no network namespace can be made here (unshare --net needs CAP_SYS_ADMIN)"
    exit 0
fi
links_before=$(ip -o link | cut -d: -f2)
netns_before=$(ip netns list)

"$ns" -- sh -c 'exit 3'
is "$?" 3 "the command's exit status comes back"

got=$("$ns" -t lunikt2 -a 10.0.79.1/24 -- ip -o -4 addr show lunikt2)
like "$got" "lunikt2 +inet 10.0.79.1/24" "-t and -a name the tap and its address"
got=$("$ns" -- ip -o link show lo)
like "$got" "<LOOPBACK,UP" "lo is up inside"

# A real server on the tap and a real client beside it.
write serve.sh <<EOF
"$LUNIK" run "$top/examples/http.lua" --target "\$1" --net tap:lunik0 \\
    --ip 10.0.77.2/24 >/dev/null 2>&1 &
for i in \$(seq 50); do
    curl -s --max-time 1 http://10.0.77.2/ && break
    sleep 0.2
done
kill \$!
EOF
for t in $(targets); do
    got=$(timeout 60 "$ns" -- bash "$scratch/serve.sh" "$t")
    is "$got" "hello from lunik" "curl reaches examples/http.lua on tap:lunik0 on $t"
done
note_kvm_skip "a server on the namespace's tap"

# Killed outright: the kernel still removes the namespace and its tap.
"$ns" -- sleep 300 &
pid=$!
for i in $(seq 50); do
    [ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] &&
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sleep ] && break
    sleep 0.1
done
is "$(cat "/proc/$pid/comm" 2>/dev/null)" sleep "the command runs in the namespace"
kill -KILL "$pid"
wait "$pid" 2>/dev/null

is "$(ip -o link | cut -d: -f2)" "$links_before" \
    "the host's interfaces are as before"
is "$(ip netns list)" "$netns_before" "no named namespace is left"

"$ns" -x 2>"$scratch/err"
is "$?:$(cat "$scratch/err")" \
    "2:netns-tap: unknown option -x (see --help)" "a bad option is one line, exit 2"
done_testing
