#!/usr/bin/env bash
# 61-http-conformance.t: lunik.http against raw python sockets: the RFC 9112 request-smuggling set and pipelining across packet boundaries, every target.
. "$(dirname "$0")/lib.sh"

command -v python3 >/dev/null || {
    echo "1..0 # SKIP python3 is missing"; exit 0; }
check=$top/tests/net/http_conformance.py

for t in $(targets); do
    port=$(free_port)
    start_bg httpd "$LUNIK" run "$top/tests/net/httpd.lua" --target "$t" \
        -p "127.0.0.1:$port:80" -- 80 5
    if ! wait_output httpd "httpd on port 80" 60; then
        fail "httpd.lua starts on $t"
        diag "$(cat "$scratch/httpd.err")"
        continue
    fi
    pass "httpd.lua starts on $t"
    retry 15 timeout 3 curl -s -o /dev/null --max-time 2 \
        "http://127.0.0.1:$port/"
    timeout 300 python3 "$check" 127.0.0.1 "$port" "$t" $((test_n + 1)) \
        >"$scratch/conf.out" 2>"$scratch/conf.err"
    rc=$?
    cat "$scratch/conf.out" | grep -v '^# checks:'
    n=$(sed -n 's/^# checks: //p' "$scratch/conf.out")
    test_n=$((test_n + ${n:-0}))
    is "$rc:${n:+done}" "0:done" "the python client ran to its end on $t"
    [ "$rc" -eq 0 ] || diag "$(tail -n 5 "$scratch/conf.err")"
    test_failed=$((test_failed + $(grep -c '^not ok' "$scratch/conf.out")))
    running httpd
    ok $? "the server still runs after all of it on $t"
    stop_bg httpd
done
note_kvm_skip "HTTP conformance"

done_testing
