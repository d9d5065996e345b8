#!/usr/bin/env bash
# net.sh: HTTP req/s and p99 (wrk) vs nginx+lua, and UDP echo packets/s.
# The HTTP rows include the PVH kernel under QEMU microvm (--vmm qemu).
#
# Usage: bench/net.sh   (after make; bench/run.sh calls it, so `make bench`)
# HTTP: wrk keep-alive requests/s and p99 latency (wrk --latency -t1 -c50
# -d5s, after a 1 s warm-up) for the hello route of examples/http.lua,
# against nginx (one worker, Debian's libnginx-mod-http-lua,
# content_by_lua_block with the same 17-byte body) on loopback; each lunik
# figure is also given as a ratio to nginx's from this same run.
# UDP: echo replies per second (build/bench/udpecho: 64-byte datagrams, 32
# outstanding) against examples/udp_echo.lua and a C echo server on the
# host. TCP bulk: 50 MB from and to bench/tcpbulk.lua on one connection
# (build/bench/tcpbulk), through the tap at MTU 1500 and 9000, against the
# same client and a C server on the host's loopback. Everything (nginx, wrk, the UDP client, every lunik instance and
# its tap) runs in one network namespace this script makes (unshare --net),
# so every row compares like with like and no traffic touches the host's
# network; the kernel removes the namespace, tap included, when the script
# ends. Without CAP_SYS_ADMIN it runs on the host's loopback and the tap
# rows are left out. Every server is a child killed at exit.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${LUNIK_NESTED_VM:-}" ]; then   # scripts/kvm-vm.sh: no timings there
    echo "note: no network timings in the nested test VM: they need a machine with /dev/kvm"
    exit 0
fi
netns_why=""
if [ -z "${LUNIK_BENCH_NETNS:-}" ]; then
    if command -v unshare >/dev/null && unshare --net true 2>/dev/null; then
        LUNIK_BENCH_NETNS=1 exec unshare --net -- "$BASH" "$0" "$@"
    fi
    netns_why="no network namespace can be made (unshare --net needs \
CAP_SYS_ADMIN)"
else
    unset LUNIK_BENCH_NETNS
    ip link set lo up
fi
lunik=$top/build/lunik
work=$(mktemp -d /tmp/lunik-netbench.XXXXXX)
tap=lunikb0 tap_host=10.0.78.1 tap_guest=10.0.78.2
tap_made=0
pids=()

cleanup() {
    local p
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 129' HUP INT TERM

for tool in wrk curl; do
    command -v "$tool" >/dev/null ||
        { echo "net: $tool is missing (scripts/setup.sh installs it)"; exit 0; }
done
mkdir -p "$top/build/bench"
gcc -O2 -Wall -Wextra -o "$top/build/bench/udpecho" "$top/bench/udpecho.c"
udpecho=$top/build/bench/udpecho
gcc -O2 -Wall -Wextra -o "$top/build/bench/tcpbulk" "$top/bench/tcpbulk.c"
tcpbulk=$top/build/bench/tcpbulk
bulk_bytes=50000000

# port: a TCP or UDP port (udp as $1) nothing uses right now, below the
# ephemeral range (so no client's own port takes it) when there is room.
port() {
    local p flag=-Htan lo=20000 n=40000 eph
    [ "${1:-}" = udp ] && flag=-Huan
    eph=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range)
    [ "${eph:-0}" -gt 12000 ] && lo=10000 n=$((eph - 10000))
    while :; do
        p=$((lo + RANDOM % n))
        ss "$flag" | awk '{ print $4 }' | grep -q ":$p\$" || break
    done
    echo "$p"
}

# start NAME CMD...: run CMD in the background (output in $work/NAME.log).
start() {
    local name=$1; shift
    "$@" </dev/null >"$work/$name.log" 2>&1 &
    last_pid=$!
    pids+=("$last_pid")
}

# stop PID: end a server started by start.
stop() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; }

# ready URL: wait (30 s at most) until URL answers 200.
ready() {
    local i
    for i in $(seq 60); do
        [ "$(curl -s -o /dev/null --max-time 1 -w '%{http_code}' \
            "$1")" = 200 ] && return 0
        sleep 0.5
    done
    return 1
}

# to_us VALUE: a wrk latency ("812.00us", "1.23ms", "2.01s") in us.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) m = 1; else if (v ~ /ms$/) m = 1000;
        else if (v ~ /s$/) m = 1000000; else m = 1
        printf "%.0f", n * m }'
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

# bench_http LABEL URL: wrk it; one row (req/s, p99) and "rps p99_us" in
# $work/LABEL.res.
bench_http() {
    local label=$1 url=$2 out rps p99 errs
    if ! ready "$url"; then
        printf '%-28s %s\n' "$label" "did not answer; not measured:" \
            "$(head -n 3 "$work/$label.log" 2>/dev/null)"
        return
    fi
    timeout 20 wrk -t1 -c50 -d1s "$url" >/dev/null 2>&1
    out=$(timeout 30 wrk --latency -t1 -c50 -d5s "$url" 2>&1)
    rps=$(echo "$out" | awk '/^Requests\/sec:/ { print $2 }')
    p99=$(echo "$out" | awk '$1 == "99%" { print $2 }')
    errs=$(echo "$out" | grep -E 'Non-2xx|Socket errors' | tr -s ' ' |
        paste -sd ';' -)
    if [ -z "$rps" ] || [ -z "$p99" ]; then
        printf '%-28s %s\n' "$label" "wrk failed: $(echo "$out" | tail -n 1)"
        return
    fi
    p99=$(to_us "$p99")
    echo "$rps $p99" >"$work/$label.res"
    if [ -n "${base_rps:-}" ]; then
        printf '%-28s %10.0f %9.2f ms %9s %9s %s\n' "$label" "$rps" \
            "$(awk -v u="$p99" 'BEGIN { print u / 1000 }')" \
            "$(ratio "$rps" "$base_rps")" "$(ratio "$p99" "$base_p99")" \
            "${errs:+($errs)}"
    else
        printf '%-28s %10.0f %9.2f ms %9s %9s %s\n' "$label" "$rps" \
            "$(awk -v u="$p99" 'BEGIN { print u / 1000 }')" "1.00x" "1.00x" \
            "${errs:+($errs)}"
    fi
}

# The kvm target is measured where a guest boots.
kvm=0
probe=$("$lunik" run "$top/examples/hello.lua" --target kvm 2>/dev/null \
    </dev/null)
[ "$probe" = "hello from kvm" ] && kvm=1
[ $kvm -eq 1 ] || echo "note: the kvm target is not measured here"

if [ -n "$netns_why" ]; then
    echo "note: $netns_why: no tap rows"
elif ip tuntap add dev "$tap" mode tap 2>/dev/null; then
    tap_made=1
    ip addr add "$tap_host/24" dev "$tap" && ip link set "$tap" up ||
        tap_made=0
fi
[ -n "$netns_why" ] || [ $tap_made -eq 1 ] ||
    echo "note: no tap interface (ip tuntap add failed): no tap rows"

cp "$top/examples/http.lua" "$work/http.lua"
"$lunik" build "$work/http.lua" -o "$work/http.img" >/dev/null
cp "$top/examples/udp_echo.lua" "$work/udp_echo.lua"
"$lunik" build "$work/udp_echo.lua" -o "$work/udp_echo.img" >/dev/null
"$lunik" build "$top/bench/tcpbulk.lua" -o "$work/tcpbulk.img" >/dev/null

echo "== HTTP keep-alive, hello route: wrk --latency -t1 -c50 -d5s" \
    "(x: ratio to nginx) =="
printf '%-28s %10s %12s %9s %9s\n' "server" "req/s" "p99" "req/s x" "p99 x"

base_rps="" base_p99=""
if command -v nginx >/dev/null &&
   [ -f /usr/lib/nginx/modules/ngx_http_lua_module.so ]; then
    p=$(port)
    mkdir -p "$work/nginx/logs"
    cat >"$work/nginx/nginx.conf" <<EOF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_processes 1;
pid $work/nginx/nginx.pid;
error_log $work/nginx/logs/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    client_body_temp_path $work/nginx/body;
    proxy_temp_path $work/nginx/proxy;
    fastcgi_temp_path $work/nginx/fastcgi;
    uwsgi_temp_path $work/nginx/uwsgi;
    scgi_temp_path $work/nginx/scgi;
    keepalive_requests 1000000;
    server {
        listen 127.0.0.1:$p;
        location / {
            default_type text/plain;
            content_by_lua_block { ngx.print("hello from lunik\n") }
        }
    }
}
EOF
    start nginx nginx -p "$work/nginx" -e "$work/nginx/logs/error.log" \
        -c "$work/nginx/nginx.conf" -g 'daemon off;'
    bench_http "nginx+lua, 1 worker" "http://127.0.0.1:$p/"
    stop "$last_pid"
    [ -f "$work/nginx+lua, 1 worker.res" ] &&
        read -r base_rps base_p99 <"$work/nginx+lua, 1 worker.res"
else
    echo "nginx with libnginx-mod-http-lua is missing; no baseline"
fi

run_http() {  # run_http LABEL TARGET|qemu NETARGS...
    local label=$1 t=$2 url where; shift 2
    where=(--target "$t")
    [ "$t" = qemu ] && where=(--vmm qemu)     # the PVH kernel in QEMU
    if [ "$1" = tap ]; then
        start "$label" "$lunik" run "$work/http.img" "${where[@]}" \
            --net "tap:$tap" --ip "$tap_guest/24"
        url=http://$tap_guest:80/
    else
        local p; p=$(port)
        start "$label" "$lunik" run "$work/http.img" "${where[@]}" \
            -p "$p:80"
        url=http://127.0.0.1:$p/
    fi
    bench_http "$label" "$url"
    stop "$last_pid"
}
if [ $kvm -eq 1 ]; then
    [ $tap_made -eq 1 ] && run_http "lunik kvm, tap" kvm tap
    run_http "lunik kvm, slirp -p" kvm slirp
fi
[ $tap_made -eq 1 ] && run_http "lunik hosted, tap" hosted tap
run_http "lunik hosted, slirp -p" hosted slirp
# The same image on the PVH kernel under QEMU microvm (`--vmm qemu`; TCG
# where /dev/kvm is kvm_pvm or missing, README), same run, same tap.
if command -v qemu-system-x86_64 >/dev/null; then
    qaccel=${LUNIK_QEMU_ACCEL:-$([ -e /sys/module/kvm_pvm ] ||
        [ ! -w /dev/kvm ] && echo tcg || echo kvm)}
    [ $tap_made -eq 1 ] && run_http "lunik qemu microvm $qaccel, tap" qemu tap
    run_http "lunik qemu microvm $qaccel, -p" qemu slirp
fi

echo "== UDP echo: 64-byte datagrams, 32 outstanding, 5 s at most" \
    "(x: ratio to the host's C server) =="
printf '%-28s %10s %8s %9s\n' "server" "replies/s" "lost" "x host"
udp_base=""
bench_udp() {  # bench_udp LABEL HOST PORT
    local res rate lost i
    for i in $(seq 20); do    # until it echoes (the guest has its address)
        "$udpecho" "$2" "$3" 1 1 64 0.5 >/dev/null 2>&1 && break
        sleep 0.25
    done
    res=$("$udpecho" "$2" "$3" 300000 32 64 5 2>&1)
    rate=$(echo "$res" | awk '{ print $8 }')
    lost=$(echo "$res" | awk '{ print $4 }')
    if [ -z "$rate" ]; then
        printf '%-28s %s\n' "$1" "failed: $res"; return
    fi
    [ -z "$udp_base" ] && udp_base=$rate
    printf '%-28s %10.0f %8s %9s\n' "$1" "$rate" "$lost" \
        "$(ratio "$rate" "$udp_base")"
}
p=$(port udp)
start udpbase "$udpecho" serve "$p"
bench_udp "host C echo server" 127.0.0.1 "$p"
stop "$last_pid"
run_udp() {  # run_udp LABEL TARGET tap|slirp
    local p
    if [ "$3" = tap ]; then
        start "$1" "$lunik" run "$work/udp_echo.img" --target "$2" \
            --net "tap:$tap" --ip "$tap_guest/24"
        bench_udp "$1" "$tap_guest" 7
    else
        p=$(port udp)
        start "$1" "$lunik" run "$work/udp_echo.img" --target "$2" \
            -p "$p:7/udp"
        bench_udp "$1" 127.0.0.1 "$p"
    fi
    stop "$last_pid"
}
if [ $kvm -eq 1 ]; then
    [ $tap_made -eq 1 ] && run_udp "lunik kvm, tap" kvm tap
    run_udp "lunik kvm, slirp -p" kvm slirp
fi
[ $tap_made -eq 1 ] && run_udp "lunik hosted, tap" hosted tap
run_udp "lunik hosted, slirp -p" hosted slirp

echo "== TCP bulk: $((bulk_bytes / 1000000)) MB each way on one connection" \
    "(MB/s; x: ratio to the host's loopback) =="
printf '%-34s %10s %10s %9s %9s\n' "server" "from it" "to it" "from x" \
    "to x"
bulk_from="" bulk_to=""
bench_bulk() {  # bench_bulk LABEL HOST PORT
    local res from to i
    for i in $(seq 40); do    # until it answers (the guest has its address)
        timeout 10 "$tcpbulk" "$2" "$3" 1000 >/dev/null 2>&1 && break
        sleep 0.25
    done
    res=$(timeout 150 "$tcpbulk" "$2" "$3" "$bulk_bytes" 2>&1)
    from=$(echo "$res" | awk '$1 == "from_server" { print $2 }')
    to=$(echo "$res" | awk '$1 == "from_server" { print $4 }')
    if [ -z "$from" ]; then
        printf '%-34s %s\n' "$1" "failed: $res"; return
    fi
    [ -z "$bulk_from" ] && bulk_from=$from bulk_to=$to
    printf '%-34s %10.0f %10.0f %9s %9s\n' "$1" "$from" "$to" \
        "$(ratio "$from" "$bulk_from")" "$(ratio "$to" "$bulk_to")"
}
p=$(port)
start bulkbase "$tcpbulk" serve "$p"
bench_bulk "host loopback (kernel TCP)" 127.0.0.1 "$p"
stop "$last_pid"
run_bulk() {  # run_bulk LABEL TARGET MTU
    ip link set "$tap" mtu "$3" || return
    start "$1" "$lunik" run "$work/tcpbulk.img" --target "$2" \
        --net "tap:$tap" --ip "$tap_guest/24" -- 9000
    bench_bulk "$1" "$tap_guest" 9000
    stop "$last_pid"
}
if [ $tap_made -eq 1 ]; then
    for mtu in 1500 9000; do
        [ $kvm -eq 1 ] && run_bulk "lunik kvm, tap, MTU $mtu" kvm "$mtu"
        run_bulk "lunik hosted, tap, MTU $mtu" hosted "$mtu"
    done
    ip link set "$tap" mtu 1500
fi
exit 0
