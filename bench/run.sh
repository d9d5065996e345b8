#!/usr/bin/env bash
# run.sh: lunik's benchmarks, each as a ratio against the host's lua5.4 measured in the same run.
#
# Usage: bench/run.sh [RUNS]   (after make; `make bench` does both)
# Prints, for start-up, memory and an allocation-heavy workload, the figures
# of lua5.4, the kvm target (when /dev/kvm is usable) and the hosted target,
# and each lunik figure divided by lua5.4's. Timing never decides a test.
# In the nested test VM it prints counts instead (bench/counts.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lunik=$top/build/lunik
# In the nested test VM (scripts/kvm-vm.sh) timings mean nothing: counts.
if [ -n "${LUNIK_NESTED_VM:-}" ]; then exec "$top/bench/counts.sh"; fi
runs=${1:-30}
work=$(mktemp -d /tmp/lunik-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

mkdir -p "$top/build/bench"
gcc -O2 -o "$top/build/bench/firstbyte" "$top/bench/firstbyte.c"
fb=$top/build/bench/firstbyte

cp "$top/bench/hello.lua" "$work/hello.lua"
"$lunik" build "$work/hello.lua" -o "$work/hello.img"
"$lunik" build "$top/bench/alloc.lua" -o "$work/alloc.img"

targets=hosted
probe=$("$lunik" run "$work/hello.img" --target kvm </dev/null 2>&1 || true)
if [ "$probe" = "hello" ]; then targets="kvm hosted"; else
    echo "note: the kvm target is not measured here: $(echo "$probe" | head -n 1)"
    echo "note: kvm timings need a machine with /dev/kvm; VM exit and hypercall counts come from the nested test VM: scripts/kvm-vm.sh bench/counts.sh"
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

echo "== start-up to first output of hello ($runs runs, median; min, p90) =="
read -r base bmin bp90 brss < <("$fb" "$runs" lua5.4 "$work/hello.lua")
printf '%-22s %8d us  (min %d, p90 %d)  peak RSS %6d KiB\n' \
    "lua5.4" "$base" "$bmin" "$bp90" "$brss"
for t in $targets; do
    read -r med min p90 rss < <("$fb" "$runs" "$lunik" run "$work/hello.img" --target "$t")
    printf '%-22s %8d us  (min %d, p90 %d)  peak RSS %6d KiB  time %s  RSS %s\n' \
        "lunik $t (image)" "$med" "$min" "$p90" "$rss" "$(ratio "$med" "$base")" \
        "$(ratio "$rss" "$brss")"
done
for t in $targets; do
    read -r med min p90 rss < <("$fb" "$runs" "$lunik" run "$work/hello.lua" --target "$t")
    printf '%-22s %8d us  (min %d, p90 %d)  peak RSS %6d KiB  time %s\n' \
        "lunik $t (.lua)" "$med" "$min" "$p90" "$rss" "$(ratio "$med" "$base")"
done

if [[ " $targets " == *" kvm "* ]]; then
    echo "== smallest --mem that boots hello on kvm (64 KiB steps) =="
    lo=64 hi=65536   # KiB: lo fails (or is the floor), hi boots
    if "$lunik" run "$work/hello.img" --target kvm --mem ${hi}K >/dev/null 2>&1; then
        while [ $((hi - lo)) -gt 64 ]; do
            mid=$(( (lo + hi) / 2 / 64 * 64 ))
            if "$lunik" run "$work/hello.img" --target kvm --mem ${mid}K \
                >/dev/null 2>&1; then hi=$mid; else lo=$mid; fi
        done
        printf 'smallest --mem: %d KiB (%.2f MiB; goal 4 MiB: %s)\n' "$hi" \
            "$(awk -v k="$hi" 'BEGIN { print k / 1024 }')" \
            "$([ "$hi" -le 4096 ] && echo met || echo not met)"
    else
        echo "hello does not boot even with 64 MiB"
    fi
fi

echo "== allocation-heavy workload (bench/alloc.lua, --mem 64M --budget 60: lua5.4 peaks at ~36 MiB; median of 5 runs, wall) =="
wall() {  # wall CMD...: median wall seconds of 5 runs
    for _ in 1 2 3 4 5; do
        /usr/bin/env time -f %e "$@" 2>&1 >/dev/null | tail -n 1
    done | sort -n | sed -n 3p
}
base=$(wall lua5.4 "$top/bench/alloc.lua")
printf '%-22s %8.2f s\n' "lua5.4" "$base"
for t in $targets; do
    s=$(wall "$lunik" run "$work/alloc.img" --target "$t" --mem 64M --budget 60)
    printf '%-22s %8.2f s   time %s\n' "lunik $t" "$s" "$(ratio "$s" "$base")"
done

echo
echo
"$top/bench/console.sh" || echo "note: bench/console.sh failed"
echo
"$top/bench/net.sh" || echo "note: bench/net.sh failed"
echo
"$top/bench/oci.sh" || echo "note: bench/oci.sh failed"
