#!/usr/bin/env bash
# setup.sh: install the Debian packages lunik needs and fetch Lua 5.4's source.
#
# Usage: scripts/setup.sh        (idempotent; run as root or with sudo)
# Installs build tools, musl (guest C library), the host lua5.4 (benchmark
# baseline, test oracle), test inputs (lua-dkjson, lua-penlight) and test
# clients; then fetches Debian's lua5.4 source package, with Debian's patches
# applied, into third_party/ (git-ignored).  Nothing third-party is committed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
third="$top/third_party"
lua_pkg=lua5.4

packages=(
    gcc make binutils libc6-dev       # host build
    musl-dev musl-tools               # the guest's C library
    zlib1g-dev                        # CRC-32 of image sections
    dpkg-dev                          # apt-get source unpacks with dpkg-source
    lua5.4 lua-dkjson lua-penlight    # baseline and real-input tests
    time                              # benchmarks (/usr/bin/time)
    perl                              # prove runs the tests
    ca-certificates
)

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
        missing+=("$p")
done

# apt-get source needs deb-src entries; add them beside the deb ones when the
# machine has none (deb822 .sources files and one-line sources.list alike).
has_src() {
    grep -rqsE '^(deb-src|Types:.*deb-src)' /etc/apt/sources.list \
        /etc/apt/sources.list.d/ 2>/dev/null
}
added_src=0
if ! has_src; then
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        case "$f" in *lunik-deb-src*) continue ;; esac
        grep -q 'deb.debian.org\|debian' "$f" || continue
        sed -e 's/^Types:.*/Types: deb-src/' "$f"
        echo
    done > /tmp/lunik-deb-src.sources
    if [ -f /etc/apt/sources.list ]; then
        sed -n 's/^deb \(.*\)/deb-src \1/p' /etc/apt/sources.list \
            > /tmp/lunik-deb-src.list
    fi
    [ -s /tmp/lunik-deb-src.sources ] &&
        as_root cp /tmp/lunik-deb-src.sources \
            /etc/apt/sources.list.d/lunik-deb-src.sources
    [ -s /tmp/lunik-deb-src.list ] &&
        as_root cp /tmp/lunik-deb-src.list \
            /etc/apt/sources.list.d/lunik-deb-src.list
    added_src=1
fi

lua_dir=$(ls -d "$third"/lua5.4-*/ 2>/dev/null | head -n 1 || true)
if [ ${#missing[@]} -gt 0 ] || [ $added_src -eq 1 ] || [ -z "$lua_dir" ]; then
    echo "setup: apt-get update"
    as_root apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
    echo "setup: installing ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -z "$lua_dir" ]; then
    echo "setup: fetching the $lua_pkg source package into third_party/"
    mkdir -p "$third"
    (cd "$third" && apt-get source -qq "$lua_pkg")
    lua_dir=$(ls -d "$third"/lua5.4-*/ | head -n 1)
fi
# A stable name for the build, whatever Debian's version is.
ln -sfn "$(basename "$lua_dir")" "$third/lua"
test -f "$third/lua/src/lapi.c" || {
    echo "setup: $third/lua has no src/lapi.c; the lua5.4 source is broken" >&2
    exit 1
}
echo "setup: ready ($(basename "$lua_dir"))"
