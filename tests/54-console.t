#!/usr/bin/env bash
# 54-console.t: the console carries every byte in order, stdout and stderr each, under load.
. "$(dirname "$0")/lib.sh"

# Megabytes of lines of varying length on stdout, a line on stderr every
# 7th, print() and io.write() mixed; the same program under lua5.4 is the
# reference.
write flood.lua <<'LUA'
local n = tonumber(arg[1])
for i = 1, n do
    io.write(string.format("%08d out %s\n", i, string.rep("o", i % 200)))
    if i % 7 == 0 then
        io.stderr:write(string.format("%08d err %s\n", i, string.rep("e", i % 150)))
    end
    if i % 1000 == 0 then print("print", i) end
end
io.write("last line without newline")
LUA
lines=30000                                 # ~3.5 MB out, ~0.4 MB err

sums() {  # sums CMD...: "stdout-sha stderr-sha" of CMD through pipes
    local o e
    o=$("$@" 2>"$scratch/err.pipe" </dev/null | sha256sum | cut -c1-64)
    e=$(sha256sum <"$scratch/err.pipe" | cut -c1-64)
    echo "$o $e"
}

if command -v lua5.4 >/dev/null; then
    read -r want_out want_err < <(sums lua5.4 "$scratch/flood.lua" $lines)
else
    want_out="" want_err=""
fi
for t in $(targets); do
    read -r got_out got_err < <(sums timeout 120 "$LUNIK" run \
        "$scratch/flood.lua" --target "$t" --budget 120 -- $lines)
    if [ -z "$want_out" ]; then
        skip "stdout and stderr as lua5.4's on $t" "lua5.4 is not installed"
        continue
    fi
    is "$got_out" "$want_out" "every stdout byte in order (as lua5.4) on $t"
    is "$got_err" "$want_err" "every stderr byte in order (as lua5.4) on $t"
done
note_kvm_skip "the console under load"

# Both streams into one pipe: stderr lines come after the stdout lines
# written before them (lua5.4 flushes at every print; here every
# stderr write hands stdout's bytes over first).
write order.lua <<'LUA'
for i = 1, 2000 do
    print("out " .. i)
    io.stderr:write("err " .. i .. "\n")
end
LUA
for t in $(targets); do
    timeout 60 "$LUNIK" run "$scratch/order.lua" --target "$t" \
        >"$scratch/both" 2>&1 </dev/null
    want=$(for i in $(seq 1 2000); do echo "out $i"; echo "err $i"; done |
           sha256sum)
    is "$(sha256sum <"$scratch/both")" "$want" \
        "stdout and stderr interleave in program order on $t"
done

# Console input still arrives whole and ends.
write cat.lua <<'LUA'
local n = 0
for line in io.lines() do n = n + #line + 1 end
print(n)
LUA
seq 1 20000 >"$scratch/in"
for t in $(targets); do
    stdin=$scratch/in run_lunik run "$scratch/cat.lua" --target "$t"
    is "$out" "$(wc -c <"$scratch/in")" "every stdin byte is read, then the end on $t"
done

done_testing
