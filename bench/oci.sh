#!/usr/bin/env bash
# oci.sh: `podman run --rm` wall time of a hello container, lunik-oci against crun (or runc) running a static C hello.
#
# Usage: bench/oci.sh [RUNS]   (after make; bench/run.sh calls it)
# Builds two images FROM scratch: examples/hello.lua packed by
# scripts/oci-image.sh, and a static C program printing one line. Runs
# `podman run --rm` of each RUNS times (default 10), turn about, and
# prints the median and minimum wall time of each and lunik's ratio to the
# baseline runtime's: crun where it runs containers on this host, else
# runc (crun 1.8 refuses hybrid cgroup hierarchies). Containers get the
# rlimits of 1024 (--ulimit): root may not raise them on this host.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
oci=$top/build/lunik-oci
command -v podman >/dev/null ||
    { echo "oci: podman is missing (scripts/setup.sh installs it)"; exit 0; }
[ "$(id -u)" -eq 0 ] || { echo "oci: podman runs as root here; not measured"; exit 0; }
work=$(mktemp -d /tmp/lunik-ocibench.XXXXXX)
tag=localhost/lunik-bench-$$
cleanup() {
    podman rmi -f "$tag/hello" "$tag/chello" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
lim=(--ulimit "nofile=1024:1024" --ulimit "nproc=1024:1024")

"$top/scripts/oci-image.sh" "$top/examples/hello.lua" "$tag/hello" >/dev/null ||
    { echo "oci: cannot build the lunik image"; exit 1; }
printf '#include <unistd.h>\nint main(void) { return write(1, "hello from C\\n", 13) != 13; }\n' \
    >"$work/hello.c"
gcc -static -O2 -o "$work/hello" "$work/hello.c"
printf 'FROM scratch\nCOPY hello /hello\nENTRYPOINT ["/hello"]\n' \
    >"$work/Containerfile"
podman build -q -t "$tag/chello" -f "$work/Containerfile" "$work" >/dev/null ||
    { echo "oci: cannot build the C image"; exit 1; }

base=""
for r in crun runc; do
    command -v "$r" >/dev/null || continue
    if [ "$(timeout 60 podman run --rm --runtime "$r" "${lim[@]}" \
            "$tag/chello" 2>/dev/null)" = "hello from C" ]; then
        base=$r; break
    fi
done
[ -n "$base" ] || { echo "oci: neither crun nor runc runs containers here; no baseline"; exit 0; }

# one RUNTIME IMAGE: the wall time of one podman run --rm, in ms.
one() {
    local t0 t1
    t0=$(date +%s%N)
    timeout 60 podman run --rm --runtime "$1" "${lim[@]}" "$2" >/dev/null 2>&1 ||
        { echo fail; return; }
    t1=$(date +%s%N)
    echo $(((t1 - t0) / 1000000))
}
: >"$work/base" ; : >"$work/lunik"
one "$oci" "$tag/hello" >/dev/null          # warm the image store
for i in $(seq "$runs"); do
    one "$base" "$tag/chello" >>"$work/base"
    one "$oci" "$tag/hello" >>"$work/lunik"
done
stat() { grep -v fail "$1" | sort -n | awk '{ a[NR] = $1 }
    END { if (NR) printf "%d %d %d", a[int((NR + 1) / 2)], a[1], NR }'; }
read -r bmed bmin bn < <(stat "$work/base")
read -r lmed lmin ln < <(stat "$work/lunik")
echo "== podman run --rm hello, $runs runs each, turn about (ms; x: ratio to $base) =="
printf '%-40s %8s %8s %8s\n' "runtime, image" "median" "min" "x"
printf '%-40s %8s %8s %8s\n' "$base, static C hello" "$bmed" "$bmin" "1.00x"
printf '%-40s %8s %8s %8s\n' "lunik-oci, examples/hello.lua" "$lmed" "$lmin" \
    "$(awk -v a="$lmed" -v b="$bmed" 'BEGIN { printf "%.2fx", a / b }')"
[ "$bn" = "$runs" ] && [ "$ln" = "$runs" ] ||
    echo "note: failed runs: $base $((runs - bn)), lunik-oci $((runs - ln))"
