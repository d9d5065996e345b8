#!/usr/bin/env bash
# 80-instances.t: named, detached instances (run -d, ps, logs, stop), the shutdown event, -e and --env-file, every target.
. "$(dirname "$0")/lib.sh"

export XDG_RUNTIME_DIR=$scratch/xdg      # the state directory: this test's own
mkdir -p "$XDG_RUNTIME_DIR"
at_exit 'for n in $("$LUNIK" ps 2>/dev/null | awk "NR > 1 { print \$1 }"); do "$LUNIK" stop -t 1 "$n"; done'

write svc.lua <<'EOF'
local lunik = require("lunik")
print("HOME=" .. tostring(os.getenv("HOME")) .. " A=" .. tostring(os.getenv("A")) ..
      " B=" .. tostring(os.getenv("B")))
lunik.on("shutdown", function()
    print("shutdown event")
    lunik.sleep(0.05)
    print("bye")
    lunik.exit(0)
end)
lunik.every(0.05, function() end)
print("serving")
EOF
write plain.lua <<'EOF'
local lunik = require("lunik")
lunik.every(0.05, function() end)
print("up")
EOF
write env.txt <<'EOF'
# a comment, then a blank line

B=two words
EOF

# wait_log NAME ERE: wait (20 s at most) until NAME's log matches.
wait_log() {
    local i
    for i in $(seq 200); do
        "$LUNIK" logs "$1" 2>/dev/null | grep -Eq -- "$2" && return 0
        sleep 0.1
    done
    return 1
}

for t in $(targets); do
    out=$(timeout 30 "$LUNIK" run "$scratch/svc.lua" --target "$t" -d \
        --name "svc-$t" -e A=1 -e HOME=/app --env-file "$scratch/env.txt")
    is "$?:$out" "0:svc-$t" "run -d --name prints the name and returns on $t"
    wait_log "svc-$t" "serving"
    ok $? "the instance runs detached, its output in its log, on $t"
    like "$("$LUNIK" logs "svc-$t")" "HOME=/app A=1 B=two words" \
        "-e and --env-file reach os.getenv on $t"
    ps_out=$("$LUNIK" ps)
    like "$ps_out" "^NAME +PID +TARGET +IMAGE +PORTS +UPTIME +MEMORY" "ps has a header on $t"
    like "$ps_out" "svc-$t +[0-9]+ +$t +.*svc.lua +- +[0-9]+s +[0-9.]+MiB" \
        "ps lists it: name, pid, target, image, ports, uptime, memory on $t"
    mode=$(stat -c %a "$XDG_RUNTIME_DIR/lunik/svc-$t.log" \
        "$XDG_RUNTIME_DIR/lunik/svc-$t.state" "$XDG_RUNTIME_DIR/lunik" |
        paste -sd ' ')
    is "$mode" "600 600 700" "its files are 0600, the directory 0700, on $t"

    run_lunik run "$scratch/svc.lua" --target "$t" -d --name "svc-$t"
    is "$rc" 64 "a second instance with the same name is refused on $t"
    like "$err" "already running" "... in one sentence on $t"

    stopped=$(timeout 30 "$LUNIK" stop "svc-$t")
    is "$?:$stopped" "0:svc-$t" "stop returns the name once it ended on $t"
    like "$("$LUNIK" logs "svc-$t")" $'shutdown event\nbye' \
        "stop sends the shutdown event, the handler finishes, on $t"
    unlike "$("$LUNIK" ps)" "svc-$t" "ps no longer lists it on $t"

    # No shutdown handler: the program ends with 143 (SIGTERM's default).
    start_bg plain "$LUNIK" run "$scratch/plain.lua" --target "$t"
    wait_output plain "^up" 30
    kill -TERM "${bg_pid[plain]}"
    wait_bg plain 20
    is "$?" 143 "SIGTERM without a shutdown handler ends the program: 143 on $t"

    # A handler that ignores the request is killed after -t.
    write stubborn.lua <<'EOF'
local lunik = require("lunik")
lunik.on("shutdown", function() print("not now") end)
lunik.every(0.05, function() end)
print("up")
EOF
    name=$(timeout 30 "$LUNIK" run "$scratch/stubborn.lua" --target "$t" -d)
    like "$name" "^lunik-[0-9a-f]{6}$" "without --name the instance gets one on $t"
    wait_log "$name" "^up"
    timeout 30 "$LUNIK" stop -t 1 "$name" >/dev/null
    is "$?" 0 "stop -t 1 ends an instance that ignores the event on $t"
    like "$("$LUNIK" logs "$name")" "not now" "... after its handler ran on $t"
    unlike "$("$LUNIK" ps)" "$name" "... and ps no longer lists it on $t"
done
note_kvm_skip "instances"

# logs -f follows until the instance ends.
name=$(timeout 30 "$LUNIK" run "$scratch/svc.lua" --target hosted -d)
( sleep 1; "$LUNIK" stop "$name" >/dev/null ) &
got=$(timeout 30 "$LUNIK" logs -f "$name")
is "$?" 0 "logs -f ends when the instance ends"
like "$got" $'serving\nshutdown event\nbye' "logs -f shows everything"
wait

run_lunik stop nosuch
is "$rc:$err" "66:lunik: no instance named 'nosuch' is running" \
    "stop of an unknown name: one sentence"
run_lunik run "$scratch/svc.lua" -d --name 'bad/name'
is "$rc" 64 "a bad --name is a usage error"
run_lunik run "$scratch/svc.lua" -e NOEQUALS
is "$rc" 64 "-e without = is a usage error"
run_lunik run "$scratch/svc.lua" --env-file "$scratch/nofile"
is "$rc" 66 "a missing --env-file is exit 66"

done_testing
