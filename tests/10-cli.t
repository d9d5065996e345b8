#!/usr/bin/env bash
# 10-cli.t: the lunik command line: help, builds, and every bad input of issue 2 item 7.
. "$(dirname "$0")/lib.sh"

run_lunik --help
ok $rc "--help exits 0"
like "$out" "lunik build" "--help names build"
like "$out" "lunik run" "--help names run"
like "$out" "--target" "--help documents --target"

run_lunik --version
ok $rc "--version exits 0"

run_lunik frobnicate
is "$rc" 64 "an unknown command exits 64"
like "$err" "^lunik: " "an unknown command is reported on stderr"

run_lunik run "$top/examples/hello.lua" --no-such-option
is "$rc" 64 "an unknown option exits 64"

run_lunik run "$top/examples/hello.lua" --target nowhere
is "$rc" 64 "an unknown target exits 64"

run_lunik run "$top/examples/hello.lua" --mem lots
is "$rc" 64 "a malformed --mem exits 64"
is "$(echo "$err" | wc -l)" 1 "a malformed --mem is one line"

# A missing file.
run_lunik run "$scratch/missing.lua"
is "$rc" 66 "a missing app exits 66"
like "$err" "missing.lua: No such file or directory" "a missing app is named"
is "$(echo "$err" | wc -l)" 1 "a missing app is one line"

run_lunik build "$top/examples/hello.lua" --file "$scratch/nope.txt" -o "$scratch/x.img"
is "$rc" 66 "a missing --file exits 66"
like "$err" "nope.txt" "a missing --file is named"

# A syntax error names file and line, at build time.
write bad.lua <<'LUA'
print("line one")
local x = = 2
LUA
run_lunik build "$scratch/bad.lua" -o "$scratch/bad.img"
is "$rc" 65 "a syntax error exits 65 at build"
like "$err" "bad.lua:2:" "a syntax error names file:line"
ok $([ ! -e "$scratch/bad.img" ]; echo $?) "no image is written for a syntax error"

write sub/ok.lua <<'LUA'
local m = require "helper"
print(m.greet("image"))
LUA
write sub/helper.lua <<'LUA'
return { greet = function(who) return "hello, " .. who end }
LUA
write sub/broken_mod.lua <<'LUA'
return {
LUA
write sub/uses_broken.lua <<'LUA'
require "broken_mod"
LUA
run_lunik build "$scratch/sub/uses_broken.lua" -o "$scratch/ub.img"
is "$rc" 65 "a syntax error in a required module exits 65"
like "$err" "broken_mod.lua:2:" "a module's syntax error names its file:line"

# Build an image, inspect it, run it.
run_lunik build "$scratch/sub/ok.lua" -o "$scratch/ok.img"
ok $rc "build writes an image"
ok $([ -s "$scratch/ok.img" ]; echo $?) "the image is not empty"
run_lunik inspect "$scratch/ok.img"
ok $rc "inspect reads the image"
like "$out" "/app/ok.lua" "inspect lists the app"
like "$out" "/lib/lua/helper.lua" "inspect lists the bundled module"
for t in $(targets); do
    run_lunik run "$scratch/ok.img" --target "$t"
    is "$out" "hello, image" "the image runs on $t"
done
note_kvm_skip "image run"

# Corrupt and truncated images: one sentence, exit 65, never a crash.
echo "just some text, not an image" >"$scratch/text.img"
run_lunik run "$scratch/text.img"
is "$rc" 65 "a non-image exits 65"
like "$err" "not a lunik image" "a non-image is named as such"
is "$(echo "$err" | wc -l)" 1 "a non-image is one line"

size=$(stat -c %s "$scratch/ok.img")
head -c $((size / 2)) "$scratch/ok.img" >"$scratch/trunc.img"
run_lunik run "$scratch/trunc.img"
is "$rc" 65 "a truncated image exits 65"
like "$err" "truncated" "a truncated image is named as such"
is "$(echo "$err" | wc -l)" 1 "a truncated image is one line"

head -c 40 "$scratch/ok.img" >"$scratch/stub.img"
run_lunik run "$scratch/stub.img"
is "$rc" 65 "an image cut inside its header exits 65"

cp "$scratch/ok.img" "$scratch/flip.img"
printf '\xff' | dd of="$scratch/flip.img" bs=1 seek=$((size - 10)) conv=notrunc 2>/dev/null
run_lunik run "$scratch/flip.img"
is "$rc" 65 "an image with a flipped byte exits 65"
like "$err" "corrupt" "a flipped byte is reported as corruption"

cp "$scratch/ok.img" "$scratch/hdr.img"
printf '\x7f\x7f\x7f\x7f' | dd of="$scratch/hdr.img" bs=1 seek=24 conv=notrunc 2>/dev/null
run_lunik run "$scratch/hdr.img"
is "$rc" 65 "an image with a damaged header exits 65"

# --mem too small: one sentence, exit 69 (the kvm target needs real memory).
if kvm_boots; then
    run_lunik run "$scratch/ok.img" --target kvm --mem 256K
    is "$rc" 69 "--mem too small exits 69 on kvm"
    like "$err" "too small" "--mem too small says so on kvm"
    is "$(echo "$err" | wc -l)" 1 "--mem too small is one line on kvm"
else
    note_kvm_skip "--mem too small"
fi

# Module discovery: -I directories, init.lua packages, transitive requires,
# optional modules that are nowhere to be found.
write mods/app.lua <<'LUA'
local has_lpeg_like = pcall(require, "surely_not_installed_anywhere")
local pkg = require("pkg")
print(pkg.name, require "pkg.leaf".value, has_lpeg_like)
LUA
write inc/pkg/init.lua <<'LUA'
return { name = "pkg via init.lua", leaf = require 'pkg.leaf' }
LUA
write inc/pkg/leaf.lua <<'LUA'
return { value = 42 }
LUA
run_lunik build "$scratch/mods/app.lua" -I "$scratch/inc" -o "$scratch/mods.img"
ok $rc "build finds modules on -I paths"
run_lunik inspect "$scratch/mods.img"
like "$out" "/lib/lua/pkg/init.lua" "a package's init.lua is bundled"
like "$out" "/lib/lua/pkg/leaf.lua" "a module required by a module is bundled"
for t in $(targets); do
    run_lunik run "$scratch/mods.img" --target "$t"
    is "$out" "pkg via init.lua	42	false" "bundled modules load on $t"
done

# --file: directories recursively, paths kept; nothing outside the app's dir.
write tree/app.lua <<'LUA'
for _, p in ipairs { "conf/a.txt", "conf/deep/b.txt" } do
    print(p, io.open(p):read("a"))
end
LUA
printf 'A' >"$scratch/a.txt"
mkdir -p "$scratch/tree/conf/deep"
printf 'one' >"$scratch/tree/conf/a.txt"
printf 'two' >"$scratch/tree/conf/deep/b.txt"
for t in $(targets); do
    (cd "$scratch/tree" && timeout 60 "$LUNIK" run app.lua --file conf \
        --target "$t" >"$scratch/o" 2>&1)
    is "$(cat "$scratch/o")" "conf/a.txt	one
conf/deep/b.txt	two" "a --file directory is bundled recursively on $t"
done
run_lunik build "$scratch/tree/app.lua" --file "$scratch/a.txt" -o "$scratch/t.img"
is "$rc" 64 "a --file outside the app's directory is a usage error"
like "$err" "a.txt" "the outside --file is named"

# Script arguments reach arg.
write args.lua <<'LUA'
print(#arg, arg[1], arg[2], select("#", ...))
LUA
for t in $(targets); do
    run_lunik run "$scratch/args.lua" --target "$t" -- one "two words"
    is "$out" "$(printf '2\tone\ttwo words\t2')" "script arguments reach arg on $t"
done

done_testing
