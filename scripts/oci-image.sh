#!/usr/bin/env bash
# oci-image.sh: package a lunik app as an OCI image (FROM scratch, the image file at /app.img) in podman's store.
#
# Usage: scripts/oci-image.sh APP.lua|APP.img NAME [--archive FILE]
#
# Builds APP.lua with `lunik build` (an .img is taken as it is), then runs
# `podman build` on this Containerfile, with the image file beside it:
#
#     FROM scratch
#     COPY app.img /app.img
#     LABEL org.lunik.image="/app.img"
#     ENTRYPOINT ["/app.img"]
#
# The result is NAME in podman's local store (localhost/lunik/hello, say),
# run by `podman run --runtime build/lunik-oci NAME` (docs/oci.md). With
# --archive, it is also saved as an oci-archive FILE for other hosts
# (podman load, skopeo, ctr import). Exits non-zero with one sentence on
# failure.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 2 ] || { sed -n '4,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0" >&2; exit 2; }
app=$1 name=$2 archive=""
[ "${3:-}" = --archive ] && archive=${4:?--archive needs a file}
command -v podman >/dev/null ||
    { echo "oci-image: podman is missing (scripts/setup.sh installs it)" >&2; exit 1; }
work=$(mktemp -d /tmp/lunik-oci-image.XXXXXX)
trap 'rm -rf "$work"' EXIT
case $app in
    *.img) cp "$app" "$work/app.img" ;;
    *) "$top/build/lunik" build "$app" -o "$work/app.img" >/dev/null ;;
esac
cat >"$work/Containerfile" <<'CF'
FROM scratch
COPY app.img /app.img
LABEL org.lunik.image="/app.img"
ENTRYPOINT ["/app.img"]
CF
podman build -q -t "$name" -f "$work/Containerfile" "$work" >/dev/null
[ -z "$archive" ] || podman save -q --format oci-archive -o "$archive" "$name"
echo "$name"
