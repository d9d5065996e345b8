#!/usr/bin/env bash
# 83-reload.t: lunik reload and lunik.reload: new code in a running program, listeners swapped per port, under load, every target.
. "$(dirname "$0")/lib.sh"

export XDG_RUNTIME_DIR=$scratch/xdg      # the state directory: this test's own
mkdir -p "$XDG_RUNTIME_DIR"
at_exit 'for n in $("$LUNIK" ps 2>/dev/null | awk "NR > 1 { print \$1 }"); do "$LUNIK" stop -t 1 "$n"; done'

# version N: an app whose responses say "vN <requests so far>"; the count
# is a global, so it survives reloads. /slow waits until `release` is set
# (from the REPL), to hold a request in flight across a reload.
version() {
    write "v$1.lua" <<EOF2
local lunik = require("lunik")
local http = require("lunik.http")
local greet = require("greet")
hits = hits or 0
served = served or {}
http.serve(80, function(req)
    hits = hits + 1
    served["v$1"] = (served["v$1"] or 0) + 1
    if req.path == "/slow" then
        slow_started = true
        while not release do lunik.sleep(0.01) end
        return 200, {}, "v$1 slow\n"
    end
    return 200, { ["Content-Type"] = "text/plain" }, greet("v$1") .. " " .. hits .. "\n"
end)
EOF2
    write greet.lua <<EOF2
return function(v) return v end
EOF2
}
version 1
version 2
version 3
write syntax.lua <<'EOF2'
local http = require("lunik.http")
http.serve(80, function() return 200, {}, "never\n" end
EOF2
write raises.lua <<'EOF2'
local http = require("lunik.http")
http.serve(80, function() return 200, {}, "never\n" end)
lunik_reload_failed_global = true
error("the new main chunk fails")
EOF2
# raw TCP and UDP: each connection or datagram is answered by the version
# that accepted or received it.
for v in A B; do
    write "sw$v.lua" <<EOF2
local net = require("lunik.net")
net.listen(7, function(conn)
    conn:write("$v hello\n")
    while true do
        local line = conn:read_line()
        if not line then return end
        conn:write("$v " .. line .. "\n")
    end
end)
net.udp_bind(9, function(data, ip, port, sock) sock:sendto("$v " .. data, ip, port) end)
EOF2
done
# tcp_session PORT: connect, read the greeting, then for each line of stdin
# send it and print the answer; prints every line received.
write client.py <<'EOF2'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=30)
f = s.makefile("rwb")
print(f.readline().decode().strip(), flush=True)
for line in sys.stdin:
    f.write(line.encode()); f.flush()
    print(f.readline().decode().strip(), flush=True)
EOF2
write udp.py <<'EOF2'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
for i in range(15):                     # UDP may be lost: ask again
    s.sendto(b"ping", ("127.0.0.1", int(sys.argv[1])))
    try:
        print(s.recvfrom(100)[0].decode()); break
    except socket.timeout:
        pass
EOF2
write timer_only.lua <<'EOF2'
local lunik = require("lunik")
lunik.every(0.1, function() end)
EOF2

get() { curl -sf -m 10 "http://127.0.0.1:$port$1"; }

for t in $(targets); do
    port=$(free_port)
    name=rl-$t
    got=$(cd "$scratch" && timeout 60 "$LUNIK" run v1.lua --target "$t" -d \
        --name "$name" -p "127.0.0.1:$port:80")
    is "$?:$got" "0:$name" "the instance runs detached on $t"
    retry 100 get / >/dev/null
    is "$(get /)" "v1 2" "version 1 answers on $t"

    timeout 60 "$LUNIK" reload "$name" "$scratch/v2.lua" >"$scratch/out" 2>&1
    is "$?:$(cat "$scratch/out")" "0:" "lunik reload NAME v2.lua: exit 0 on $t"
    is "$(get /)" "v2 3" "the response changed; the global counter was kept on $t"

    timeout 60 "$LUNIK" reload "$name" "$scratch/syntax.lua" >/dev/null 2>"$scratch/err"
    is "$?" 65 "a reload that does not compile: exit 65 on $t"
    like "$(cat "$scratch/err")" "syntax.lua:3: .* near <eof>" "... with the syntax error on $t"
    timeout 60 "$LUNIK" reload "$name" "$scratch/raises.lua" >/dev/null 2>"$scratch/err"
    is "$?" 1 "a reload whose main chunk raises: exit 1 on $t"
    like "$(cat "$scratch/err")" "nothing changed: raises.lua:4: the new main chunk fails" \
        "... with its error on $t"
    like "$(cat "$scratch/err")" "stack traceback:" "... and a traceback on $t"
    is "$(get /)" "v2 4" "... and nothing changed: the old code answers on $t"
    attach "$name" 'return #lunik.handlers(), lunik_reload_failed_global'
    is "$out" $'1\tnil' "... no new handler, no global of the failed code on $t"

    # A request in flight finishes on the old code; new ones run the new.
    ( get /slow >"$scratch/slow.out" ) &
    slow=$!
    for i in $(seq 300); do
        attach "$name" 'return slow_started'
        [ "$out" = true ] && break
        sleep 0.1
    done
    is "$out" true "a request is in flight in version 2 on $t"
    timeout 60 "$LUNIK" reload "$name" "$scratch/v3.lua"
    is "$?" 0 "reload to version 3 while it is in flight on $t"
    is "$(get /)" "v3 6" "a new request runs version 3 on $t"
    attach "$name" 'release = true'
    wait $slow
    is "$(cat "$scratch/slow.out")" "v2 slow" "the request in flight finished on version 2 on $t"

    # An image, and lunik.reload from the REPL.
    (cd "$scratch" && timeout 60 "$LUNIK" build v1.lua -o v1.img >/dev/null)
    timeout 60 "$LUNIK" reload "$name" "$scratch/v1.img"
    is "$?:$(get /)" "0:v1 7" "lunik reload NAME app.img on $t"
    attach "$name" 'return lunik.reload()'
    is "$rc:$out" "0:true" "lunik.reload() from the REPL on $t"
    is "$(get /)" "v1 8" "... runs the code again, state kept, on $t"

    # Ten reloads while wrk keeps 10 connections busy.
    timeout 120 wrk -t1 -c10 -d6s "http://127.0.0.1:$port/" >"$scratch/wrk.out" 2>&1 &
    wrk=$!
    for i in $(seq 100); do             # wait until wrk is being served
        attach "$name" 'return hits > 8'
        [ "$out" = true ] && break
        sleep 0.1
    done
    fails=0
    for i in $(seq 10); do
        v=$((i % 2 + 1))
        timeout 60 "$LUNIK" reload "$name" "$scratch/v$v.lua" >/dev/null 2>&1 ||
            fails=$((fails + 1))
    done
    is "$fails" 0 "ten reloads under load succeed on $t"
    wait $wrk
    wrk_out=$(cat "$scratch/wrk.out")
    requests=$(awk '/requests in/ { print $1 }' <<<"$wrk_out")
    ok $(( ${requests:-0} > 0 ? 0 : 1 )) "wrk ran across the reloads ($requests requests) on $t"
    errors=$(awk -F'[ ,]+' '/Socket errors/ { print $4 + $6 + $8 + $10 }' <<<"$wrk_out")
    is "${errors:-0}" 0 "... with 0 socket errors (connect, read, write, timeout) on $t"
    non2xx=$(awk '/Non-2xx/ { print $NF }' <<<"$wrk_out")
    is "${non2xx:-0}" 0 "... and 0 error responses on $t"
    [ "${errors:-0}:${non2xx:-0}" = 0:0 ] || diag "$wrk_out"
    attach "$name" 'return served.v1 > 0 and served.v2 > 0'
    is "$out" true "both versions served requests on $t"

    # A listener the new code no longer registers is closed.
    timeout 60 "$LUNIK" reload "$name" "$scratch/timer_only.lua"
    is "$?" 0 "reload to code without a server on $t"
    get / >/dev/null
    ok $((! $?)) "... its port no longer answers on $t"
    attach "$name" 'local h = lunik.handlers(); return #h, h[1].kind'
    is "$out" $'1\tevery' "... and only the new timer is registered on $t"

    timeout 30 "$LUNIK" stop "$name" >/dev/null

    # net.listen and net.udp_bind registered again are swapped too.
    if command -v python3 >/dev/null; then
        tport=$(free_port); uport=$(free_port udp)
        got=$(cd "$scratch" && timeout 60 "$LUNIK" run swA.lua --target "$t" -d \
            --name "sw-$t" -p "127.0.0.1:$tport:7" -p "127.0.0.1:$uport:9/udp")
        is "$?" 0 "a TCP and UDP instance runs on $t"
        retry 100 timeout 10 python3 "$scratch/client.py" "$tport" </dev/null >/dev/null
        mkfifo "$scratch/in-$t"
        timeout 120 python3 "$scratch/client.py" "$tport" <"$scratch/in-$t" \
            >"$scratch/held.out" &
        held=$!
        exec 7>"$scratch/in-$t"
        for i in $(seq 300); do grep -q "A hello" "$scratch/held.out" && break; sleep 0.1; done
        is "$(timeout 30 python3 "$scratch/udp.py" "$uport")" "A ping" "version A answers UDP on $t"
        timeout 60 "$LUNIK" reload "sw-$t" "$scratch/swB.lua"
        is "$?" 0 "reload to version B on $t"
        is "$(echo x | timeout 30 python3 "$scratch/client.py" "$tport")" $'B hello\nB x' \
            "a new TCP connection runs version B on $t"
        is "$(timeout 30 python3 "$scratch/udp.py" "$uport")" "B ping" \
            "a datagram after the reload runs version B on $t"
        echo "still here" >&7
        exec 7>&-
        wait $held
        is "$(cat "$scratch/held.out")" $'A hello\nA still here' \
            "the TCP connection opened before it finishes on version A on $t"
        attach "sw-$t" 'local n = 0; for _, h in ipairs(lunik.handlers()) do n = n + 1 end; return n'
        is "$out" 2 "one listener and one UDP socket are registered on $t"
        timeout 30 "$LUNIK" stop "sw-$t" >/dev/null
    else
        for c in "a TCP and UDP instance runs" "version A answers UDP" \
                 "reload to version B" "a new TCP connection runs version B" \
                 "a datagram after the reload runs version B" \
                 "the TCP connection opened before it finishes on version A" \
                 "one listener and one UDP socket are registered"; do
            skip "$c on $t" "python3 is missing"
        done
    fi
done
note_kvm_skip "reload"

run_lunik reload nosuch "$scratch/v1.lua"
is "$rc:$err" "66:lunik: no instance named 'nosuch' is running" \
    "reload of an unknown name: one sentence, exit 66"

done_testing
