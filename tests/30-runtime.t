#!/usr/bin/env bash
# 30-runtime.t: the lunik Lua API and the standard library on every target.
. "$(dirname "$0")/lib.sh"

write order.lua <<'LUA'
local lunik = require "lunik"
local t0 = lunik.now()
local log = {}
local function at(tag) log[#log + 1] = tag end
lunik.after(0.30, function() at("c") end)
lunik.after(0.10, function() at("a") end)
lunik.after(0.20, function() at("b") end)
lunik.after(0.20, function() at("b2") end)   -- same deadline: FIFO
lunik.after(0, function() at("zero") end)
local dropped = lunik.after(0.15, function() at("cancelled!") end)
print("cancel", lunik.cancel(dropped), lunik.cancel(dropped))
lunik.after(0.40, function()
    print(table.concat(log, " "))
    local dt = lunik.now() - t0
    -- the 0.40 s timer fired no earlier than asked (how much later is the
    -- machine's business, not the test's)
    print("timing", dt >= 0.40)
end)
LUA
write isolate.lua <<'LUA'
local lunik = require "lunik"
local good, bad, g, b = 0, 0
g = lunik.every(0.02, function() good = good + 1 end)
b = lunik.every(0.02, function()
    bad = bad + 1
    if bad < 10 then error("boom " .. bad) end -- counts ticks, not time
    g:cancel(); b:cancel()
    print("healthy ran every time", math.abs(good - bad) <= 1, good >= 9)
end)
LUA
write sleepy.lua <<'LUA'
local lunik = require "lunik"
local b_done = false
lunik.after(0, function()
    for i = 1, 3 do print("A", i); lunik.sleep(0.05) end
end)
lunik.after(0.025, function()
    for i = 1, 3 do print("B", i); lunik.sleep(0.05) end
    b_done = true
end)
print("main sleeps")
repeat lunik.sleep(0.2) until b_done   -- however slow the machine
print("main woke")
print(pcall(coroutine.wrap(function() lunik.sleep(0) end)))
LUA
write exit3.lua <<'LUA'
local lunik = require "lunik"
io.write("unflushed before exit")
lunik.after(0.01, function() lunik.exit(3) end)
lunik.every(1, function() print("never") end)
LUA
write osexit.lua <<'LUA'
print("bye"); os.exit(4)
LUA
write exitfalse.lua <<'LUA'
require("lunik").exit(false)
LUA
write mainerr.lua <<'LUA'
local function inner() error("main chunk failed") end
print("before")
inner()
LUA
write nohandlers.lua <<'LUA'
print(require("lunik").now() >= 0)
LUA
write console.lua <<'LUA'
local lunik = require "lunik"
local n = 0
lunik.on("console", function(line)
    n = n + 1
    if line == "boom" then error("bad line") end
    lunik.sleep(0.01)
    print(n, line, #line)
end)
LUA
write unknown_event.lua <<'LUA'
print(pcall(require("lunik").on, "nonsense", print))
LUA

for t in $(targets); do
    run_lunik run "$scratch/order.lua" --target "$t"
    ok $rc "order.lua exits 0 on $t"
    is "$out" "cancel	true	false
zero a b b2 c
timing	true" "timers fire in deadline order, FIFO on ties, cancel works on $t"

    run_lunik run "$scratch/isolate.lua" --target "$t"
    ok $rc "a failing handler does not stop the program on $t"
    is "$out" "healthy ran every time	true	true" "healthy handlers run every time on $t"
    like "$err" "isolate.lua:6: boom 1" "the handler error names file:line on $t"
    like "$err" "stack traceback:" "the handler error has a traceback on $t"

    run_lunik run "$scratch/sleepy.lua" --target "$t"
    ok $rc "sleep exits 0 on $t"
    is "$(echo "$out" | head -n 8)" "main sleeps
A	1
B	1
A	2
B	2
A	3
B	3
main woke" "sleep suspends only its handler on $t"
    like "$(echo "$out" | tail -n 1)" "^false" "sleep outside a handler coroutine is an error on $t"

    run_lunik run "$scratch/exit3.lua" --target "$t"
    is "$rc" 3 "lunik.exit(3) exits 3 on $t"
    is "$out" "unflushed before exit" "lunik.exit flushes io.write output on $t"

    run_lunik run "$scratch/osexit.lua" --target "$t"
    is "$rc" 4 "os.exit(4) exits 4 on $t"
    is "$out" "bye" "os.exit keeps printed output on $t"

    run_lunik run "$scratch/exitfalse.lua" --target "$t"
    is "$rc" 1 "lunik.exit(false) exits 1 on $t"

    run_lunik run "$scratch/mainerr.lua" --target "$t"
    is "$rc" 1 "an error in the main chunk exits 1 on $t"
    is "$out" "before" "output before the error is kept on $t"
    like "$err" "mainerr.lua:1: main chunk failed" "the main chunk error names file:line on $t"
    like "$err" "mainerr.lua:3" "the traceback names the caller's line on $t"

    run_lunik run "$scratch/nohandlers.lua" --target "$t"
    ok $rc "a program without handlers ends at once on $t"
    is "$out" "true" "lunik.now works on $t"

    stdin=$scratch/lines.txt
    printf 'one\ntwo\nboom\nthree\n' >"$stdin"
    run_lunik run "$scratch/console.lua" --target "$t"
    unset stdin
    ok $rc "console program ends at end of input on $t"
    is "$(echo "$out" | sort)" "1	one	3
2	two	3
4	three	5" "each console line runs the handler on $t"
    like "$err" "bad line" "a failing console handler is reported on $t"

    run_lunik run "$scratch/unknown_event.lua" --target "$t"
    like "$out" "^false" "an unknown event name is an error on $t"
done
note_kvm_skip "runtime"

# Files: the bundled tree, /tmp, and what a unikernel does not have.
write files/app.lua <<'LUA'
local lunik = require "lunik"
local f = assert(io.open("data/greeting.txt"))
print("read", f:read("l")); f:close()
local n = 0
for line in io.lines("data/greeting.txt") do n = n + 1 end
print("lines", n)
print("dofile", dofile("data/util.lua").twice(21))
print("loadfile", loadfile("data/util.lua")().twice(2))
print("write outside /tmp", io.open("data/new.txt", "w"))
local name = os.tmpname()
print("tmpname", name:match("^/tmp/") ~= nil)
local w = assert(io.open("/tmp/x.txt", "w"))
w:write("abc\n", 42, "\n"); w:close()
local a = assert(io.open("/tmp/x.txt", "a")); a:write("more\n"); a:close()
local r = assert(io.open("/tmp/x.txt")); print("tmp", r:read("a"):gsub("\n", "|")); r:close()
print("rename", os.rename("/tmp/x.txt", "/tmp/y.txt"), io.open("/tmp/x.txt") == nil)
print("remove", os.remove("/tmp/y.txt"), select(2, os.remove("/tmp/y.txt")))
print("missing", select(2, io.open("nope.txt")))
print("popen", pcall(io.popen, "ls"))
print("execute", pcall(os.execute, "ls"))
print("shell", os.execute())
print("getenv", os.getenv("HOME"))
print("date", os.date("!%Y", 0))
print("tmpfile", io.tmpfile():write("x") ~= nil)
print("arg0", arg[0])
LUA
write files/data/greeting.txt <<'TXT'
hello file
second line
TXT
write files/data/util.lua <<'LUA'
return { twice = function(x) return 2 * x end }
LUA
for t in $(targets); do
    (cd "$scratch/files" && run_lunik run app.lua --file data --target "$t"
     printf '%s\n' "$rc" >"$scratch/rc"; printf '%s\n' "$out" >"$scratch/o"
     printf '%s\n' "$err" >"$scratch/e")
    rc=$(cat "$scratch/rc"); out=$(cat "$scratch/o"); err=$(cat "$scratch/e")
    ok $rc "the file program exits 0 on $t"
    is "$(echo "$out" | grep -v '^popen\|^execute')" "read	hello file
lines	2
dofile	42
loadfile	4
write outside /tmp	nil	data/new.txt: Read-only file system	30
tmpname	true
tmp	abc|42|more|	3
rename	true	true
remove	true	/tmp/y.txt: No such file or directory	2
missing	nope.txt: No such file or directory	2
shell	false
getenv	nil
date	1970
tmpfile	true
arg0	app.lua" "bundled files and /tmp behave as on Linux on $t"
    like "$(echo "$out" | grep '^popen')" "^popen	false	.*not available" "io.popen raises a clear error on $t"
    like "$(echo "$out" | grep '^execute')" "^execute	false	.*not available" "os.execute raises a clear error on $t"
done
note_kvm_skip "files"

done_testing
