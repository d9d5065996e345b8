#!/usr/bin/env bash
# 65-guard.t: handlers that loop, recurse, or exhaust memory are stopped with a traceback while the instance keeps serving; lunik.stats and --stats; every target.
own_netns=1    # the reset test uses a tap in a namespace of its own
. "$(dirname "$0")/lib.sh"

# A tap for the raw TCP reset test: slirp's host side turns the guest's
# RST into a plain close, a tap shows it as it is.
tap_ok=0
if [ -z "$netns_why" ] && ip tuntap add dev lunikt3 mode tap 2>/dev/null &&
   ip addr add 10.0.80.1/24 dev lunikt3 && ip link set lunikt3 up; then
    tap_ok=1
fi

g=$top/tests/guard

# get PATH -> "status body" of one curl request to the server (20 s most).
get() {
    local body code f
    f=$(mktemp "$scratch/body.XXXXXX")
    code=$(timeout 30 curl -sS --max-time 20 -o "$f" \
        -w '%{http_code}' "http://127.0.0.1:$port$1" 2>/dev/null)
    body=$(tr -d '\n' <"$f" 2>/dev/null)
    rm -f "$f"
    echo "$code $body"
}

for t in $(targets); do
    port=$(free_port)
    start_bg rw "$LUNIK" run "$g/runaway.lua" --target "$t" --mem 64M \
        -p "127.0.0.1:$port:80"
    if ! wait_output rw "runaway on port 80" 60; then
        fail "runaway.lua starts on $t"; diag "$(cat "$scratch/rw.err")"
        continue
    fi
    retry 15 timeout 3 curl -s -o /dev/null --max-time 2 \
        "http://127.0.0.1:$port/"

    # A spinning handler, and a second client asking meanwhile.
    get /spin >"$scratch/spin" &
    spin_pid=$!
    sleep 0.05
    is "$(get /)" "200 ok" "a second client is answered while /spin runs on $t"
    wait "$spin_pid"
    is "$(cat "$scratch/spin")" "503 service unavailable" \
        "a handler that loops gets 503 on $t"
    like "$(cat "$scratch/rw.err")" \
        "error in http handler: handler exceeded its budget \(0.3 s\)" \
        "... and the budget stop is on stderr on $t"
    like "$(cat "$scratch/rw.err")" "runaway.lua:[0-9]+: in " \
        "... with a traceback naming the handler's line on $t"
    is "$(get /)" "200 ok" "the next request is served after a stop on $t"

    for route in tail gsub sort; do
        is "$(get /$route)" "503 service unavailable" "/$route is stopped: 503 on $t"
        is "$(get /)" "200 ok" "... and the server goes on on $t"
    done
    # Lua refuses this itself: an error (500), not a stop.
    like "$(get /rep)" "^500 " "string.rep of 2 TB is an error: 500 on $t"
    like "$(get /deep)" "^50[03] " \
        "deep recursion is stopped (stack overflow: 500, or budget: 503) on $t"
    is "$(get /)" "200 ok" "... and the server goes on on $t"

    stats=$(timeout 10 curl -s --max-time 5 "http://127.0.0.1:$port/stats")
    stops=$(echo "$stats" | sed -n 's/^budget_stops=//p')
    ooms=$(echo "$stats" | sed -n 's/^oom_stops=//p')
    errors=$(echo "$stats" | sed -n 's/^errors=//p')
    ok "$([ "${stops:-0}" -ge 3 ] && [ $((stops + ooms)) -ge 4 ]; echo $?)" \
        "lunik.stats counts the stops ($stops budget, $ooms memory) on $t"
    ok "$([ "${errors:-0}" -ge 6 ]; echo $?)" \
        "lunik.stats counts every error ($errors) on $t"
    like "$stats" "heap_limit=[1-9]" "lunik.stats has the heap limit on $t"
    like "$stats" "connections=[1-9]" "lunik.stats counts connections on $t"
    running rw
    ok $? "the instance still runs on $t"
    stop_bg rw

    # Out of heap (a budget long enough to get there on any machine).
    port=$(free_port)
    start_bg rw "$LUNIK" run "$g/runaway.lua" --target "$t" --mem 64M \
        -p "127.0.0.1:$port:80" -- 60
    wait_output rw "runaway on port 80" 60
    retry 15 timeout 3 curl -s -o /dev/null --max-time 2 \
        "http://127.0.0.1:$port/"
    is "$(get /oom)" "503 service unavailable" \
        "a handler that exhausts the heap (--mem 64M) gets 503 on $t"
    like "$(cat "$scratch/rw.err")" "error in http handler: not enough memory" \
        "... reported on stderr on $t"
    is "$(get /)" "200 ok" "... and the server goes on on $t"
    is "$(get /oom)" "503 service unavailable" \
        "... again: the first one's memory was released, on $t"
    stop_bg rw

    # Raw TCP: a connection whose handler is stopped is reset.
    if [ $tap_ok -eq 1 ]; then
        host=10.0.80.2 port=7 want=reset
        start_bg ts "$LUNIK" run "$g/tcp_spin.lua" --target "$t" \
            --net tap:lunikt3 --ip 10.0.80.2/24
    else
        host=127.0.0.1 port=$(free_port) want=eof
        start_bg ts "$LUNIK" run "$g/tcp_spin.lua" --target "$t" \
            -p "127.0.0.1:$port:7"
    fi
    wait_output ts "tcp_spin on port 7" 60
    got=$(timeout 30 python3 - "$host" "$port" <<'PY'
import socket, sys, time
host, port = sys.argv[1], int(sys.argv[2])
for i in range(50):
    try:
        s = socket.create_connection((host, port), 5)
        break
    except OSError:
        time.sleep(0.2)
s.sendall(b"spin\n")
s.settimeout(10)
try:
    d = s.recv(100)
    print("eof" if not d else "data")
except ConnectionResetError:
    print("reset")
except socket.timeout:
    print("timeout")
s2 = socket.create_connection((host, port), 5)
s2.sendall(b"hi\n")
s2.settimeout(10)
print(s2.recv(100).decode().strip())
PY
)
    is "$got" "$want"$'\necho hi' \
        "a raw TCP handler over budget: its connection is reset ($want seen through ${host}), the next served, on $t"
    stop_bg ts

    # A timer that loops; the timers after it still fire.
    write timer.lua <<'EOF'
local lunik = require("lunik")
lunik.budget(0.2)
lunik.after(0, function() while true do end end)
lunik.after(0.05, function() print("later timer ran") end)
EOF
    run_lunik run "$scratch/timer.lua" --target "$t"
    is "$rc:$out" "0:later timer ran" "a looping timer is stopped, the next fires on $t"
    like "$err" "error in timer handler: handler exceeded its budget \(0.2 s\)" \
        "... with the budget error on $t"

    # The main chunk: stopped by --budget; exit 1 and its traceback.
    write main.lua <<'EOF'
local function spin() while true do end end
spin()
EOF
    run_lunik run "$scratch/main.lua" --target "$t" --budget 0.2
    is "$rc" 1 "a main chunk that loops exits 1 on $t"
    like "$err" "^lunik: handler exceeded its budget \(0.2 s\)" \
        "... saying so on $t"
    like "$err" "main.lua:1: in " "... with a traceback on $t"

    # The main chunk out of memory: exit 1, one sentence.
    write mainoom.lua <<'EOF'
local t = {}
for i = 1, math.huge do t[i] = { i } end
EOF
    run_lunik run "$scratch/mainoom.lua" --target "$t" --mem 64M
    is "$rc" 1 "a main chunk out of memory exits 1 on $t"
    like "$err" "^lunik: not enough memory" "... saying so on $t"

    # --stats prints the counters at exit.
    run_lunik run "$scratch/timer.lua" --target "$t" --stats
    like "$err" "lunik: stats: handlers=3 errors=1 budget_stops=1 oom_stops=0 heap_bytes=[0-9]+ heap_limit=[0-9]+ gc_cycles=[0-9]+ lag_max_us=[0-9]+ lag_p99_us=[0-9]+ connections=0 sockets=0" \
        "--stats prints lunik.stats() at exit on $t"

    # --budget and lunik.budget.
    write budget.lua <<'EOF'
local lunik = require("lunik")
print(lunik.budget(), lunik.budget(2), lunik.budget())
print(pcall(lunik.budget, 0))
EOF
    run_lunik run "$scratch/budget.lua" --target "$t" --budget 0.5
    like "$out" $'^0.5\t0.5\t2.0\nfalse\t.*seconds > 0' \
        "lunik.budget reads and sets the default budget on $t"

    # Replies written just before lunik.exit arrive; half-close.
    port=$(free_port)
    start_bg ex "$LUNIK" run "$g/exit_reply.lua" --target "$t" \
        -p "127.0.0.1:$port:7" -- tcp
    wait_output ex "ready tcp" 60
    got=$(timeout 30 python3 - "$port" <<'PY'
import socket, sys, time
for i in range(50):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
        break
    except OSError:
        time.sleep(0.2)
s.sendall(b"go\n")
s.settimeout(10)
data = b""
while True:
    d = s.recv(65536)
    if not d:
        break
    data += d
print(len(data), data.endswith(b"\nend\n"))
PY
)
    is "$got" "200005 True" \
        "200 KB written just before lunik.exit all arrive, then FIN, on $t"
    wait_bg ex 20
    is "$?" 0 "... and the program exits 0 on $t"

    port=$(free_port udp)
    start_bg ex "$LUNIK" run "$g/exit_reply.lua" --target "$t" \
        -p "127.0.0.1:$port:9/udp" -- udp
    wait_output ex "ready udp" 60
    got=$(timeout 20 python3 - "$port" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(1)
for i in range(20):
    s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recvfrom(100)[0].decode())
        break
    except socket.timeout:
        pass
PY
)
    is "$got" "reply: ping" "a UDP reply sent just before lunik.exit arrives on $t"
    wait_bg ex 20

    port=$(free_port)
    start_bg ex "$LUNIK" run "$g/exit_reply.lua" --target "$t" \
        -p "127.0.0.1:$port:7" -- half
    wait_output ex "ready half" 60
    got=$(timeout 30 python3 - "$port" <<'PY'
import socket, sys, time
for i in range(50):
    try:
        s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), 5)
        break
    except OSError:
        time.sleep(0.2)
s.sendall(b"go\n")
s.settimeout(10)
data = b""
while True:
    d = s.recv(100)
    if not d:
        break
    data += d
print(data.decode().strip(), "then EOF")
s.sendall(b"still talking")
s.shutdown(socket.SHUT_WR)
PY
)
    is "$got" "bye then EOF" "conn:shutdown sends FIN after the data on $t"
    wait_bg ex 20
    like "$(cat "$scratch/ex.out")" "write after shutdown:.nil.closed" \
        "... a write after it fails with closed on $t"
    like "$(cat "$scratch/ex.out")" "after shutdown the peer sent: still talking" \
        "... and reading goes on until the peer's FIN on $t"
done
note_kvm_skip "guards"

# Hosted honours --mem: the process stays within a bound of it.
write grow.lua <<'EOF'
local lunik = require("lunik")
lunik.budget(60)
local keep = {}
local ok, err = pcall(function()
    for i = 1, math.huge do keep[i] = string.rep("x", 1000) .. i end
end)
print(ok, err)
EOF
/usr/bin/time -f '%M' -o "$scratch/rss" timeout 120 "$LUNIK" run \
    "$scratch/grow.lua" --target hosted --mem 64M >"$scratch/grow.out" \
    2>"$scratch/grow.err"
is "$(cat "$scratch/grow.out")" $'false\tnot enough memory' \
    "hosted: a heap past --mem is 'not enough memory'"
rss=$(tail -n 1 "$scratch/rss")
ok "$([ "${rss:-999999}" -le $((64 * 1024 + 32 * 1024)) ]; echo $?)" \
    "hosted: peak RSS ${rss} KiB stays within --mem 64M plus 32 MiB"

run_lunik run "$scratch/budget.lua" --budget 0
is "$rc:$err" "64:lunik: --budget '0' is not a number of seconds > 0." \
    "--budget 0 is a usage error"

done_testing
