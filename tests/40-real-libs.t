#!/usr/bin/env bash
# 40-real-libs.t: real pure-Lua libraries from Debian give the same output as lua5.4.
. "$(dirname "$0")/lib.sh"

dk=/usr/share/doc/lua-dkjson/examples

# Lua randomises string hashing per run, so pairs() order (and with it the
# member order of an encoded JSON object) differs from run to run even under
# lua5.4 alone: compare flat JSON objects with their members sorted.
sorted_members() {
    lua5.4 -e 'for l in io.lines() do
        print((l:gsub("{([^{}]*)}", function(body)
            local m = {}
            for member in body:gmatch("[^,]+") do m[#m + 1] = member end
            table.sort(m)
            return "{" .. table.concat(m, ",") .. "}"
        end)))
    end'
}
write penlight.lua <<'LUA'
local List = require "pl.List"
local stringx = require "pl.stringx"
local pretty = require "pl.pretty"

local l = List {10, 20, 30}
l:append(40)
l:extend {50, 60}
print(l, #l, l:slice(2, 3), l:map(function(x) return x / 10 end))
print(l:reduce "+", l:filter(function(x) return x > 25 end))
print(List.split("a,b,c", ","):reverse())
print(stringx.strip("  padded  "), stringx.startswith("lunik", "lu"))
print(stringx.split("one two  three"), stringx.title("hello world"))
print(stringx.shorten("a rather long sentence", 10), stringx.center("x", 5, "*"))
print(pretty.write({1, 2, name = "lunik"}, ""), pretty.write({nested = {list = {3, 4}}}, ""))
print(pretty.write({x = {y = {z = "deep"}}}))
LUA

for t in $(targets); do
    if [ -f "$dk/jsontest.lua" ]; then
        want=$(cd "$dk" && lua5.4 jsontest.lua 2>&1 | sorted_members)
        got=$(cd "$dk" && timeout 120 "$LUNIK" run jsontest.lua --target "$t" 2>&1)
        rc=$?
        ok $rc "dkjson's jsontest.lua exits 0 on $t"
        got=$(echo "$got" | sorted_members)
        is "$got" "$want" "dkjson's jsontest.lua prints what lua5.4 prints on $t"
    else
        skip "dkjson jsontest on $t" "lua-dkjson is not installed (scripts/setup.sh)"
    fi
    want=$(cd "$scratch" && lua5.4 penlight.lua 2>&1)
    got=$(cd "$scratch" && timeout 120 "$LUNIK" run penlight.lua --target "$t" 2>&1)
    rc=$?
    ok $rc "the penlight program exits 0 on $t"
    is "$got" "$want" "the penlight program prints what lua5.4 prints on $t"
done
note_kvm_skip "real libraries"

done_testing
