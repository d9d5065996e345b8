#!/usr/bin/env bash
# kvm-vm.sh: run a command as root in this checkout inside the nested test VM, which has /dev/kvm.
#
# Usage: scripts/kvm-vm.sh CMD [ARGS...]
#        scripts/kvm-vm.sh --mode   (where the kvm tests run here, and why)
#        e.g. scripts/kvm-vm.sh prove tests/30-runtime.t
#             scripts/kvm-vm.sh build/lunik run examples/hello.lua
#
# The VM: Debian's kernel (unpacked into third_party/linux/ by
# scripts/setup.sh) under qemu-system-x86_64 -accel tcg -cpu max -smp 1
# (why one vCPU: docs/design.md, "The nested test VM"), booted by qboot
# with a busybox initramfs that loads kvm-amd (on QEMU's emulation of AMD
# SVM), mounts the host's root read-only over virtio-9p with an overlay on
# tmpfs for writes, and runs CMD in the checkout's path. CMD's stdout and
# stderr come back apart on two virtio-serial ports; its stdin is empty; no
# network leaves the VM (no NIC). Exit status: CMD's own; 124 when the
# watchdog (LUNIK_VM_TIMEOUT seconds, default 1800, the whole run) or the
# boot limit (LUNIK_VM_BOOT_TIMEOUT, default 120) stopped the VM; 125 when
# the VM could not start or died before CMD finished. Environment variables
# named LUNIK, LUNIK_* and PATH reach CMD, and LUNIK_NESTED_VM=1 tells it
# where it runs. The VM is always killed on exit.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
me=kvm-vm
timeout_s=${LUNIK_VM_TIMEOUT:-1800}
boot_timeout_s=${LUNIK_VM_BOOT_TIMEOUT:-120}

die() { echo "$me: $*" >&2; exit 125; }

# kvm_mode: where the kvm-target tests run, and why, as one line
# "direct|nested|skip: REASON". LUNIK_KVM=direct|nested|skip forces it;
# by default direct where /dev/kvm opens, else nested where QEMU and the
# kernel are there, else skip.
kvm_mode() {
    local why=""
    command -v qemu-system-x86_64 >/dev/null ||
        why="qemu-system-x86_64 is missing (run scripts/setup.sh)"
    ls "$top"/third_party/linux/root/boot/vmlinuz-* >/dev/null 2>&1 ||
        why=${why:-"the kernel in third_party/linux/ is missing (run scripts/setup.sh)"}
    case ${LUNIK_KVM:-auto} in
    direct | nested | skip) echo "$LUNIK_KVM: LUNIK_KVM=$LUNIK_KVM" ;;
    auto)
        if (exec 3<>/dev/kvm) 2>/dev/null; then echo "direct: /dev/kvm opens here"
        elif [ -z "$why" ]; then
            echo "nested: /dev/kvm does not open here"
        else echo "skip: /dev/kvm does not open here and QEMU cannot start: $why"
        fi ;;
    *) echo "LUNIK_KVM must be direct, nested or skip, not '$LUNIK_KVM'" >&2
       return 64 ;;
    esac
}
if [ "${1:-}" = --mode ]; then kvm_mode; exit; fi

[ $# -gt 0 ] || {
    echo "usage: scripts/kvm-vm.sh CMD [ARGS...] | scripts/kvm-vm.sh --mode" >&2
    exit 64
}
command -v qemu-system-x86_64 >/dev/null ||
    die "qemu-system-x86_64 is missing: run scripts/setup.sh"
kernel=$(ls "$top"/third_party/linux/root/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$kernel" ] || die "no kernel in third_party/linux/: run scripts/setup.sh"
kver=${kernel##*/vmlinuz-}
modroot=$top/third_party/linux/root
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || die "busybox is missing: run scripts/setup.sh"

# The initramfs: busybox, the modules in load order, and /init. Rebuilt
# when this script or the kernel is newer than it.
initrd=$top/build/kvm-vm/initrd-$kver.cpio
if [ ! -s "$initrd" ] || [ "$0" -nt "$initrd" ] || [ "$kernel" -nt "$initrd" ]; then
    stage=$(mktemp -d /tmp/lunik-initrd.XXXXXX)
    trap 'rm -rf "$stage" "$stage.cpio"' EXIT
    mkdir -p "$stage/bin" "$stage/modules" "$(dirname "$initrd")"
    cp "$busybox" "$stage/bin/busybox"
    ln -s busybox "$stage/bin/sh"
    for m in virtio_pci virtio_console 9pnet_virtio 9p overlay tun kvm-amd; do
        modprobe -d "$modroot" -S "$kver" --show-depends "$m" ||
            die "modprobe finds no module $m for $kver"
    done | awk '$1 == "insmod" { print $2 }' | awk '!seen[$0]++' \
        >"$stage/modules.list"
    while read -r ko; do
        cp "$ko" "$stage/modules/"
        basename "$ko" >>"$stage/modules/order"
    done <"$stage/modules.list"
    rm "$stage/modules.list"
    cat >"$stage/init" <<'INIT'
#!/bin/sh
# init: the nested test VM's first process: modules, host root, run the job, power off.
export PATH=/bin
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /host /upper /new
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
while read -r m; do insmod "/modules/$m" || echo "init: insmod $m failed"; done \
    </modules/order
mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=262144 \
    host /host
mount -t tmpfs -o mode=755 upper /upper
mkdir -p /upper/u /upper/w
mount -t overlay -o lowerdir=/host,upperdir=/upper/u,workdir=/upper/w \
    root /new
mount -t proc proc /new/proc
mount -t sysfs sys /new/sys
mount -t devtmpfs dev /new/dev
mkdir -p /new/dev/pts /new/dev/shm
mount -t devpts devpts /new/dev/pts
mount -t tmpfs shm /new/dev/shm
# What udev would make: bash's process substitution needs /dev/fd.
ln -sf /proc/self/fd /new/dev/fd
ln -sf /proc/self/fd/0 /new/dev/stdin
ln -sf /proc/self/fd/1 /new/dev/stdout
ln -sf /proc/self/fd/2 /new/dev/stderr
# /tmp stays the overlay's: a checkout under the host's /tmp (a CI clone)
# must be seen; writes go to the tmpfs upper layer all the same.
mount -t tmpfs run /new/run
mkdir -p /new/run/lunik-vm
mount -t 9p -o trans=virtio,version=9p2000.L job /new/run/lunik-vm
ip link set lo up
hostname lunik-vm
out=/dev/null err=/dev/null
for p in /sys/class/virtio-ports/*; do
    case $(cat "$p/name") in
    out) out=/dev/${p##*/} ;;
    err) err=/dev/${p##*/} ;;
    esac
done
[ -e /dev/kvm ] || echo "init: no /dev/kvm" >"$err"
: >/new/run/lunik-vm/started
chroot /new /bin/bash /run/lunik-vm/job.sh </dev/null >"$out" 2>"$err"
echo $? >/new/run/lunik-vm/status
sync
poweroff -f
INIT
    chmod +x "$stage/init"
    (cd "$stage" && find . | cpio -o -H newc --quiet) >"$stage.cpio"
    mv "$stage.cpio" "$initrd"
    rm -rf "$stage"
    trap - EXIT
fi

# The kernel as an ELF with its PVH entry: QEMU loads it directly, so the
# bzImage's xz payload is not decompressed by emulated code at each boot
# (about 4 s under TCG). Made once, from the payload Debian's bzImage holds.
vmlinux=$top/build/kvm-vm/vmlinux-$kver
if [ ! -s "$vmlinux" ] || [ "$kernel" -nt "$vmlinux" ]; then
    off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$kernel" | head -n 1 | cut -d: -f1)
    [ -n "$off" ] || die "$kernel has no xz payload to extract the kernel ELF from"
    tmp=$(mktemp "$vmlinux.XXXXXX")
    xz -dc --single-stream < <(tail -c +$((off + 1)) "$kernel") >"$tmp" ||
        { rm -f "$tmp"; die "cannot decompress the kernel in $kernel"; }
    mv "$tmp" "$vmlinux"
fi

# The job: CMD, its environment and the checkout's path, in a directory the
# VM mounts (writable: the VM writes "started" and "status" there).
job=$(mktemp -d /tmp/lunik-vm.XXXXXX)
qpid="" readers=()
# stop: kill the VM and the stream readers, remove the job directory.
stop() {
    set +e
    if [ -n "$qpid" ]; then kill -KILL "$qpid" 2>/dev/null; wait "$qpid" 2>/dev/null; fi
    local r
    for r in "${readers[@]}"; do kill "$r" 2>/dev/null; done
    if [ -n "${LUNIK_VM_KEEP:-}" ]; then echo "$me: kept $job" >&2
    else rm -rf "$job"; fi
}
trap stop EXIT
trap 'exit 129' HUP INT TERM
{
    echo "# the job of scripts/kvm-vm.sh"
    echo "export HOME=/root LANG=C.UTF-8 LUNIK_NESTED_VM=1"
    while IFS='=' read -r name _; do
        case $name in PATH | LUNIK | LUNIK_*) printf 'export %s=%q\n' "$name" "${!name}" ;; esac
    done < <(env)
    printf 'cd %q || exit 125\n' "$PWD"
    printf 'exec'
    printf ' %q' "$@"
    printf '\n'
} >"$job/job.sh"
mkfifo "$job/out" "$job/err"
tee "$job/out.log" <"$job/out" &
readers+=($!)
cat <"$job/err" >&2 &
readers+=($!)

qemu-system-x86_64 -accel tcg -cpu max -smp 1 -m 4096 -nodefaults \
    -no-user-config -display none -no-reboot -nic none -bios /usr/share/qemu/qboot.rom \
    -kernel "$vmlinux" -initrd "$initrd" \
    -append "console=ttyS0 panic=-1 mitigations=off rdinit=/init" \
    -serial "file:$job/console.log" \
    -device virtio-serial-pci \
    -chardev "file,id=out,path=$job/out,append=on" \
    -device virtserialport,chardev=out,name=out \
    -chardev "file,id=err,path=$job/err,append=on" \
    -device virtserialport,chardev=err,name=err \
    -virtfs local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap \
    -virtfs "local,path=$job,mount_tag=job,security_model=none" \
    </dev/null >"$job/qemu.log" 2>&1 &
qpid=$!

# running_test: the test file CMD was last seen working on (in its output
# or its arguments) or CMD itself, and the last TAP result it printed.
running_test() {
    local t last
    t=$(grep -oE 'tests/[A-Za-z0-9_./-]+\.t' "$job/out.log" 2>/dev/null |
        tail -n 1 || true)
    [ -n "$t" ] || t=$(printf '%s\n' "$@" |
        grep -oE 'tests/[A-Za-z0-9_./-]+\.t' | tail -n 1 || true)
    [ -n "$t" ] || t="'$*'"
    last=$(grep -E '^(not )?ok [0-9]+' "$job/out.log" 2>/dev/null |
        tail -n 1 || true)
    printf '%s' "$t"
    [ -z "$last" ] || printf ' (its last result: %s)' "$last"
}

# The watchdog: the VM must start CMD within boot_timeout_s and end within
# timeout_s; either limit kills it.
start=$SECONDS
while kill -0 "$qpid" 2>/dev/null; do
    if [ ! -e "$job/started" ] && [ $((SECONDS - start)) -ge "$boot_timeout_s" ]; then
        echo "$me: the nested VM did not start the command within ${boot_timeout_s} s; it was stopped (console: $(tail -c 300 "$job/console.log" 2>/dev/null | tr '\n' ' '))" >&2
        exit 124
    fi
    if [ $((SECONDS - start)) -ge "$timeout_s" ]; then
        echo "$me: watchdog: $(running_test "$@") was still running after ${timeout_s} s, so the nested VM was stopped." >&2
        exit 124
    fi
    sleep 0.1
done
wait "$qpid" && qrc=0 || qrc=$?
qpid=""
# The readers end at the ports' end of file; bound the wait anyway.
for _ in $(seq 50); do
    kill -0 "${readers[0]}" 2>/dev/null || kill -0 "${readers[1]}" 2>/dev/null || break
    sleep 0.1
done
if [ ! -s "$job/status" ]; then
    if [ ! -e "$job/started" ]; then
        die "QEMU could not start the nested VM (exit $qrc): $(tr "\n" " " <"$job/qemu.log" | cut -c 1-300 | sed "s/ *$//")"
    fi
    die "the nested VM stopped before the command finished (QEMU exit $qrc; console: $(tail -c 300 "$job/console.log" | tr '\n' ' '))"
fi
exit "$(cat "$job/status")"
