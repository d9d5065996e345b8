#!/usr/bin/env bash
# 82-attach.t: lunik attach: a REPL into a running program (pipes and a pty), its socket, every target.
. "$(dirname "$0")/lib.sh"

export XDG_RUNTIME_DIR=$scratch/xdg      # the state directory: this test's own
mkdir -p "$XDG_RUNTIME_DIR"
at_exit 'for n in $("$LUNIK" ps 2>/dev/null | awk "NR > 1 { print \$1 }"); do "$LUNIK" stop -t 1 "$n"; done'

write svc.lua <<'EOF2'
local lunik = require("lunik")
local http = require("lunik.http")
greeting = "hello"
http.serve(80, function(req)
    return 200, { ["Content-Type"] = "text/plain" }, greeting .. "\n"
end)
print("serving")
EOF2

# A terminal for `lunik attach` (python's pty module): each step sends a
# line and waits (bounded) for what must come back; the transcript is
# printed, and the status says whether every step saw its answer.
write term.py <<'EOF2'
import os, pty, select, sys, time
steps = [("", b"> "),                    # (line, answer to wait for)
         ("function twice(x)", b">> "),
         ("  return 2 * x", b">> "),
         ("end", b"> "),
         ("=twice(21)", b"42"),
         ("\x1b[A", b"42"),            # history: the line above again
         ("return {1, 'a', k = {x = true}}", b'{ 1, "a", k = { x = true } }'),
         ("error('boom')", b"stack traceback:"),
         ("lunik.budget(60)", b"2.0"),  # so that only Ctrl-C stops it:
         ("print('loop' .. 'ing') while true do end", b"looping"),
         ("\x03", b"interrupted"),      # Ctrl-C while the line runs
         ("return 'al' .. 'ive'", b"alive"),
         ("lunik.budget(2)", b"60.0")]
pid, fd = pty.fork()
if pid == 0:
    os.environ["TERM"] = "xterm"
    os.execv(sys.argv[1], sys.argv[1:])
seen = b""
def expect(pat, start):
    global seen
    end = time.monotonic() + 30
    while pat not in seen[start:]:
        left = end - time.monotonic()
        r = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
        if not r:
            return False
        try:
            data = os.read(fd, 4096)
        except OSError:
            return False
        if not data:
            return False
        seen += data
    return True
ok = True
for line, want in steps:
    start = len(seen)
    if line == "\x03":
        os.write(fd, b"\x03")
    elif line:
        os.write(fd, line.encode() + b"\r")
    if not expect(want, start):
        ok = False
        break
    if line and b"looping" not in want and not want.endswith(b"> "):
        # then the prompt for the next line
        at = seen.index(want, start) + len(want)
        if not expect(b"> ", at):
            ok = False
            break
end = time.monotonic() + 20
status = None
nudge = 0
while time.monotonic() < end:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p:
        status = os.waitstatus_to_exitcode(st)
        break
    if time.monotonic() >= nudge:       # Ctrl-D: leave. Typed before
        # libedit has the terminal in raw mode, it lands in the line as a
        # character; then Ctrl-U (kill the line) and Ctrl-D again.
        os.write(fd, b"\x04" if nudge == 0 else b"\x15\x04")
        nudge = time.monotonic() + 1
    if select.select([fd], [], [], 0.1)[0]:
        try:
            seen += os.read(fd, 4096)
        except OSError:
            pass
if status is None:
    sys.stderr.write("(Ctrl-D did not end the REPL)\n")
    os.kill(pid, 9)
sys.stdout.write(seen.decode(errors="replace").replace("\r", ""))
sys.exit(0 if ok and status is not None else 1)
EOF2


for t in $(targets); do
    port=$(free_port)
    name=repl-$t
    got=$(timeout 60 "$LUNIK" run "$scratch/svc.lua" --target "$t" -d \
        --name "$name" --budget 2 -p "127.0.0.1:$port:80")
    is "$?:$got" "0:$name" "the instance runs detached on $t"
    retry 100 curl -sf -m 5 "http://127.0.0.1:$port/" >/dev/null
    ok $? "it serves HTTP on $t"

    attach "$name" 'return 6*7'
    is "$rc:$out:$err" "0:42:" "echo 'return 6*7' | lunik attach prints 42, exit 0, on $t"

    attach "$name" '6*7'
    is "$out" 42 "an expression gets 'return' first, as lua.c, on $t"

    attach "$name" 'greeting = "changed by the REPL"'
    is "$rc:$out" "0:" "an assignment prints nothing on $t"
    is "$(curl -sf -m 10 "http://127.0.0.1:$port/")" "changed by the REPL" \
        "the running handler sees the global the REPL changed on $t"

    attach "$name" $'local n = 5\nreturn n'
    is "$rc:$out" "0:nil" "a local lives only in its line's chunk, as in lua.c, on $t"
    attach "$name" $'function twice(x)\n  return 2 * x\nend\nreturn twice(21)'
    is "$rc:$out" "0:42" "a chunk over several lines is continued, as lua.c, on $t"

    attach "$name" $'return {1, "a", k = {x = true}}, nil, "s"'
    is "$out" $'{ 1, "a", k = { x = true } }\tnil\ts' \
        "results as lua.c prints them, tables pretty-printed, on $t"
    attach "$name" 'print("hi", 1, lunik.target())'
    is "$out" $'hi\t1\t'"$t" "print in the REPL and lunik.* reach the client on $t"
    attach "$name" 'return collectgarbage("count") > 0, #lunik.handlers()'
    is "$out" $'true\t1' "collectgarbage and lunik.handlers() work from the REPL on $t"

    attach "$name" 'local t = nil; return t.x'
    is "$rc" 1 "an error: exit 1 on $t"
    like "$err" "^stdin:1: attempt to index a nil value" "... its message, as lua.c, on $t"
    like "$err" $'stack traceback:\n\tstdin:1: in main chunk' "... and a traceback on $t"
    attach "$name" 'return 1 +'
    is "$rc" 1 "input that ends inside a chunk: exit 1 on $t"
    like "$err" "<eof>" "... with the syntax error on $t"

    attach "$name" 'while true do end'
    is "$rc" 1 "a line that loops forever is stopped on $t"
    like "$err" "exceeded its budget \\(2 s\\)" "... by the handler budget on $t"
    is "$(curl -sf -m 10 "http://127.0.0.1:$port/")" "changed by the REPL" \
        "... and the instance goes on serving on $t"
    attach "$name" 'return "alive"'
    is "$out" alive "... and answers the REPL on $t"

    mode=$(stat -c %a "$XDG_RUNTIME_DIR/lunik/$name.sock" "$XDG_RUNTIME_DIR/lunik")
    is "$(echo $mode)" "600 700" "the socket is 0600 in a 0700 directory on $t"
    if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
       command -v python3 >/dev/null; then
        setpriv --reuid=65534 --regid=65534 --clear-groups timeout 10 \
            python3 -c 'import socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])' "$XDG_RUNTIME_DIR/lunik/$name.sock" 2>/dev/null
        isnt=$?
        ok $((isnt == 0)) "another user cannot connect to it on $t"
    else
        skip "another user cannot connect to it on $t" "not root, or no setpriv or python3"
    fi

    if command -v python3 >/dev/null; then
        timeout 120 python3 "$scratch/term.py" "$LUNIK" attach "$name" \
            >"$scratch/pty.out" 2>&1
        st=$?
        ok $st "the REPL on a terminal: prompts, continuation, history, Ctrl-C on $t"
        [ $st -eq 0 ] || diag "$(cat "$scratch/pty.out")"
        like "$(cat "$scratch/pty.out")" '>> ' "... it shows '>>' for more on $t"
        like "$(cat "$scratch/pty.out")" $'\\^Cinterrupted\nstack traceback:\n\tstdin:1: in main chunk' \
            "... Ctrl-C interrupts a line that loops, with a traceback, on $t"
    else
        for c in "the REPL on a terminal: prompts, continuation, history, Ctrl-C" \
                 "... it shows '>>' for more" \
                 "... Ctrl-C interrupts a line that loops, with a traceback"; do
            skip "$c on $t" "python3 is missing"
        done
    fi

    # A program run without -d has a socket named by its pid.
    write plain.lua <<'EOF2'
local lunik = require("lunik")
lunik.every(0.05, function() end)
print("up")
EOF2
    start_bg plain "$LUNIK" run "$scratch/plain.lua" --target "$t"
    wait_output plain "^up" 60
    sock=$(ls "$XDG_RUNTIME_DIR/lunik/" | grep -E '^pid-[0-9]+\.sock$' | head -n 1)
    pid=${sock#pid-}; pid=${pid%.sock}
    attach "$pid" 'return "by pid"'
    is "$out" "by pid" "a program run without -d is attached by its pid on $t"
    stop_bg plain
    is "$(ls "$XDG_RUNTIME_DIR/lunik/" | grep -c '^pid-')" 0 \
        "... and its socket is gone when it ends on $t"
    # Killed (SIGKILL), it cannot remove its socket: lunik ps does.
    start_bg plain "$LUNIK" run "$scratch/plain.lua" --target "$t"
    wait_output plain "^up" 60
    sock=$(ls "$XDG_RUNTIME_DIR/lunik/" | grep -E '^pid-[0-9]+\.sock$' | head -n 1)
    pid=${sock#pid-}; pid=${pid%.sock}
    kill -KILL "$pid" 2>/dev/null
    wait_bg plain 10
    "$LUNIK" ps >/dev/null
    is "$(ls "$XDG_RUNTIME_DIR/lunik/" | grep -c '^pid-')" 0 \
        "lunik ps removes the socket of a killed program on $t"

    timeout 30 "$LUNIK" stop "$name" >/dev/null
done
note_kvm_skip "attach"

run_lunik attach nosuch
is "$rc:$err" "66:lunik: no instance named 'nosuch' is running" \
    "attach to an unknown name: one sentence, exit 66"
run_lunik attach 'bad/name'
is "$rc" 64 "attach to a bad name is a usage error"

done_testing
