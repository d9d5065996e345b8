#!/usr/bin/env bash
# xen-tcg.sh: boot a lunik app as Xen's PVH dom0 (Debian's Xen 4.17) under QEMU TCG; the app's output on stdout, its exit status as ours.
#
# Usage: scripts/xen-tcg.sh APP.lua|APP.img|APP.elf [DOM0_MEM]
#
# Builds APP with `lunik build --pvh` (an .elf is taken as it is), then runs
# qemu-system-x86_64 -M q35 -accel tcg -cpu max with an emulated Intel
# IOMMU (Xen 4.17 wants one for a PVH hardware domain) and Xen
# (/boot/xen-4.17-amd64.gz, unzipped) as the multiboot kernel, the app's
# PVH ELF as dom0 (dom0=pvh dom0_mem=DOM0_MEM, default 64M). Xen's own
# messages and the guest's console (HYPERVISOR_console_io) share the serial
# port; Xen's lines, "(XEN) ...", are dropped here. The guest reports its
# exit status through QEMU's isa-debug-exit. Exit 125 with one sentence
# when QEMU or Xen is missing, 124 after 300 s.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] || { sed -n '4,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
app=$1 mem=${2:-64M}
xen_gz=/boot/xen-4.17-amd64.gz
command -v qemu-system-x86_64 >/dev/null ||
    { echo "xen-tcg: qemu-system-x86_64 is missing (scripts/setup.sh installs it)" >&2; exit 125; }
[ -f "$xen_gz" ] ||
    { echo "xen-tcg: $xen_gz is missing (scripts/setup.sh installs xen-hypervisor-4.17-amd64)" >&2; exit 125; }
work=$(mktemp -d /tmp/lunik-xen.XXXXXX)
trap 'rm -rf "$work"' EXIT
zcat "$xen_gz" >"$work/xen"
case $app in
    *.elf) cp "$app" "$work/app.elf" ;;
    *) "$top/build/lunik" build "$app" --pvh -o "$work/app.elf" >/dev/null ||
           exit 65 ;;
esac
: >"$work/serial"
timeout 300 qemu-system-x86_64 -M q35 -accel tcg -cpu max -m 512 \
    -display none -no-reboot -serial "file:$work/serial" \
    -device intel-iommu -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -kernel "$work/xen" \
    -append "dom0=pvh dom0_mem=$mem console=com1 com1=115200,8n1" \
    -initrd "$work/app.elf" </dev/null >"$work/qemu.out" 2>&1
rc=$?
grep -av '^(XEN)' "$work/serial" | tr -d '\r'
case $rc in
    124) echo "xen-tcg: no exit after 300 s" >&2; exit 124 ;;
    0) echo "xen-tcg: the guest stopped without a status (Xen shut the machine down)" >&2
       exit 70 ;;
esac
[ $((rc % 2)) -eq 1 ] || { echo "xen-tcg: QEMU failed: $(tail -n 1 "$work/qemu.out")" >&2; exit 125; }
exit $(((rc - 1) / 2))
