#!/usr/bin/env bash
# 81-introspection.t: lunik.handlers() and lunik.connections() on a live program, every target.
. "$(dirname "$0")/lib.sh"

write app.lua <<'EOF'
local lunik = require("lunik")
local http = require("lunik.http")
local net = require("lunik.net")
local tick = lunik.every(0.05, function() end)
local once = lunik.after(0, function() end)
lunik.after(60, function() end)
lunik.on("console", function() end)
assert(http.serve(80, function() return 200, {}, "x" end))
assert(net.udp_bind(9, function() end))
local cancelled = lunik.every(1, function() end)
cancelled:cancel()
print("ready")
-- Once a client holds a connection open, show what is registered.
lunik.every(0.05, function()
    local conns = lunik.connections()
    if #conns == 0 then return end
    for _, h in ipairs(lunik.handlers()) do
        print(h.kind, h.where, h.runs > 0 and "ran" or "idle",
              h.port or "-", h.every or "-", h.due and "due" or "-")
    end
    local c = conns[1]
    print("conn", c.peer, c.port, c.age >= 0, type(c.peer_port))
    lunik.exit(0)
end)
EOF

for t in $(targets); do
    port=$(free_port)
    start_bg app "$LUNIK" run "$scratch/app.lua" --target "$t" \
        -p "127.0.0.1:$port:80"
    wait_output app "^ready" 60
    # A client that makes one request, then holds its connection open.
    (
        for i in $(seq 50); do
            exec 3<>"/dev/tcp/127.0.0.1/$port" && break
            sleep 0.2
        done
        printf 'GET / HTTP/1.1\r\nHost: a\r\n\r\n' >&3
        exec sleep 60
    ) 2>/dev/null &
    client=$!
    wait_bg app 60
    is "$?" 0 "the program ran to its lunik.exit on $t"
    got=$(cat "$scratch/app.out")
    kill "$client" 2>/dev/null; wait "$client" 2>/dev/null
    want=$'ready
every\tapp.lua:4\tran\t-\t0.05\tdue
after\tapp.lua:6\tidle\t-\t-\tdue
console\tapp.lua:7\tidle\t-\t-\t-
http\tapp.lua:8\tran\t80\t-\t-
udp\tapp.lua:9\tidle\t9\t-\t-
every\tapp.lua:14\tran\t-\t0.05\tdue
conn\t10.0.2.2\t80\ttrue\tnumber'
    is "$got" "$want" \
        "lunik.handlers lists what is live, where it was registered, its runs; lunik.connections the peer, on $t"
done
note_kvm_skip "introspection"
done_testing
