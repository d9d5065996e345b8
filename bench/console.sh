#!/usr/bin/env bash
# console.sh: printing 200 MB as 100-byte lines to a pipe: lunik kvm and hosted against lua5.4, in one run.
#
# Usage: bench/console.sh [MB] [RUNS]   (after make; default 200 MB, 3 runs)
# Prints the median wall time of each and its ratio to lua5.4's; checks
# that every target delivered the same bytes. Timing never decides a test.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lunik=$top/build/lunik
mb=${1:-200}
runs=${2:-3}
lines=$((mb * 10000))                   # 100-byte lines (99 + newline)
work=$(mktemp -d /tmp/lunik-console.XXXXXX)
trap 'rm -rf "$work"' EXIT

cat >"$work/print.lua" <<'LUA'
local line = string.rep("x", 99)
for _ = 1, tonumber(arg[1]) do print(line) end
LUA
"$lunik" build "$work/print.lua" -o "$work/print.img"

targets=hosted
if [ "$("$lunik" run "$top/examples/hello.lua" --target kvm </dev/null 2>&1)" = "hello from kvm" ]; then
    targets="kvm hosted"
fi

wall() {  # wall CMD...: median wall seconds of RUNS runs, output to a pipe
    for _ in $(seq "$runs"); do
        /usr/bin/env time -f %e sh -c '"$@" | cat >/dev/null' sh "$@" 2>&1 |
            tail -n 1
    done | sort -n | sed -n "$(((runs + 1) / 2))p"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "== console: $mb MB as 100-byte lines to a pipe (median of $runs) =="
want=$(lua5.4 "$work/print.lua" "$lines" | md5sum)
base=$(wall lua5.4 "$work/print.lua" "$lines")
printf '%-14s %7.2f s\n' "lua5.4" "$base"
for t in $targets; do
    got=$("$lunik" run "$work/print.img" --target "$t" --budget 600 -- "$lines" | md5sum)
    [ "$got" = "$want" ] || echo "note: lunik $t wrote different bytes"
    s=$(wall "$lunik" run "$work/print.img" --target "$t" --budget 600 -- "$lines")
    printf '%-14s %7.2f s   %s lua5.4 (goal on kvm: 1.5x or less)\n' \
        "lunik $t" "$s" "$(ratio "$s" "$base")"
done
