#!/usr/bin/env bash
# setup.sh: install lunik's Debian packages; fetch the Lua 5.4 and lwIP sources.
#
# Usage: scripts/setup.sh        (idempotent; run as root or with sudo)
# Installs build tools, musl (guest C library), the host lua5.4 (benchmark
# baseline, test oracle), test inputs (lua-dkjson, lua-penlight) and test
# clients; then fetches Debian's lua5.4 and lwip source packages, with their
# Debian patches applied, into third_party/ (git-ignored), and unpacks
# Debian's kernel package for the nested test VM (scripts/kvm-vm.sh) into
# third_party/linux/. Nothing third-party is committed.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
third="$top/third_party"
lua_pkg=lua5.4

packages=(
    gcc make binutils libc6-dev       # host build
    musl-dev musl-tools               # the guest's C library
    zlib1g-dev                        # CRC-32 of image sections
    node-llhttp                       # llhttp's C sources (lunik.http)
    libslirp-dev pkg-config           # user-mode networking (host/net_slirp.c)
    libedit-dev                       # line editing in `lunik attach` (cli/attach.c)
    iproute2                          # tap tests: ip tuntap, ip addr
    dpkg-dev                          # apt-get source unpacks with dpkg-source
    lua5.4 lua-dkjson lua-penlight    # baseline and real-input tests
    time                              # benchmarks (/usr/bin/time)
    perl                              # prove runs the tests
    socat curl netcat-openbsd         # network test clients (tests/60-net.t)
    python3 util-linux                # pty and socket clients, setpriv
                                      # (tests/61, 82-attach.t, 83-reload.t)
    wrk nginx libnginx-mod-http-lua   # network benchmarks (bench/net.sh)
    qemu-system-x86 busybox-static    # the nested test VM (scripts/kvm-vm.sh)
    cpio kmod xz-utils                # its initramfs, modules, kernel ELF
    libjansson-dev                    # lunik-oci reads config.json (oci/)
    podman                            # the OCI runtime's tests (tests/95-oci.t)
    containerd                        # ... and under containerd's runc shim
    xen-hypervisor-4.17-amd64         # Xen PVH dom0 test (scripts/xen-tcg.sh)
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

# Source packages built into lunik: Lua 5.4 and lwIP (the guest's TCP/IP).
lua_dir=$(ls -d "$third"/lua5.4-*/ 2>/dev/null | head -n 1 || true)
lwip_dir=$(ls -d "$third"/lwip-*/ 2>/dev/null | head -n 1 || true)
if [ ${#missing[@]} -gt 0 ] || [ $added_src -eq 1 ] || [ -z "$lua_dir" ] ||
   [ -z "$lwip_dir" ]; then
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
if [ -z "$lwip_dir" ]; then
    echo "setup: fetching the lwip source package into third_party/"
    mkdir -p "$third"
    (cd "$third" && apt-get source -qq lwip)
    lwip_dir=$(ls -d "$third"/lwip-*/ | head -n 1)
fi
ln -sfn "$(basename "$lwip_dir")" "$third/lwip"
test -f "$third/lwip/src/core/tcp.c" || {
    echo "setup: $third/lwip has no src/core/tcp.c; the lwip source is broken" >&2
    exit 1
}
# llhttp: Debian ships its C sources under /usr/share; the build takes
# them from third_party/llhttp, as it does lwIP's.
mkdir -p "$third/llhttp"
for f in /usr/share/llhttp/api.c /usr/share/llhttp/http.c \
         /usr/share/llhttp/llhttp.c /usr/share/include/llhttp/llhttp.h; do
    test -f "$f" || {
        echo "setup: $f is missing; the node-llhttp package is broken" >&2
        exit 1
    }
    ln -sfn "$f" "$third/llhttp/$(basename "$f")"
done
# A stable name for the build, whatever Debian's version is.
ln -sfn "$(basename "$lua_dir")" "$third/lua"
# Debian's luaconf.h includes this header, which debian/rules generates.
multiarch=$(gcc -print-multiarch)
printf '%s\n' "/* generated by scripts/setup.sh, as debian/rules does */" \
    "#define DEB_HOST_MULTIARCH \"$multiarch\"" >"$third/multiarch.h.new"
# Rewritten only when it changes: it is a dependency of every Lua object.
if cmp -s "$third/multiarch.h.new" "$third/lua/src/lua5.4-deb-multiarch.h"
then rm -f "$third/multiarch.h.new"
else mv "$third/multiarch.h.new" "$third/lua/src/lua5.4-deb-multiarch.h"
fi
test -f "$third/lua/src/lapi.c" || {
    echo "setup: $third/lua has no src/lapi.c; the lua5.4 source is broken" >&2
    exit 1
}

# The nested test VM's kernel (scripts/kvm-vm.sh): the package that Debian's
# linux-image-amd64 depends on, unpacked (never installed) into
# third_party/linux/, with modules.dep made by depmod for modprobe -d.
kernel_pkg=$(apt-cache depends linux-image-amd64 2>/dev/null |
    sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
if [ -z "$kernel_pkg" ]; then
    as_root apt-get update -qq
    kernel_pkg=$(apt-cache depends linux-image-amd64 |
        sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
fi
[ -n "$kernel_pkg" ] || {
    echo "setup: apt-cache finds no kernel package that linux-image-amd64 depends on" >&2
    exit 1
}
if [ ! -f "$third/linux/$kernel_pkg.unpacked" ]; then
    echo "setup: unpacking $kernel_pkg into third_party/linux/ (for the nested test VM)"
    rm -rf "$third/linux"
    mkdir -p "$third/linux/deb"
    (cd "$third/linux/deb" && apt-get download -qq -o APT::Sandbox::User=root "$kernel_pkg")
    dpkg-deb -x "$third"/linux/deb/*.deb "$third/linux/root"
    rm -rf "$third/linux/deb"
    kver=$(ls "$third/linux/root/lib/modules" | head -n 1)
    depmod -b "$third/linux/root" "$kver"
    touch "$third/linux/$kernel_pkg.unpacked"
fi
# The Makefile's sign that set-up has run (all fetched files hang off it).
touch "$third/.setup-done"
echo "setup: ready ($(basename "$lua_dir"), $kernel_pkg)"
