#!/usr/bin/env bash
# netns-tap.sh: run a command in a throwaway network namespace that holds a tap for `lunik run --net tap:`.
#
# Usage: scripts/netns-tap.sh [-t TAP] [-a ADDR/PREFIX] [-- CMD [ARG...]]
#
# Makes a new network namespace (unshare(1) --net: no name, nothing in
# /run/netns), brings its lo up, creates the tap interface TAP (default
# lunik0) in it with the host-side address ADDR/PREFIX (default
# 10.0.77.1/24), and runs CMD there (default: an interactive $SHELL). The
# host's own interfaces, routes and addresses are never touched. When CMD
# ends (normally, by a signal, or killed), the namespace has no process
# left and the kernel removes it with the tap in it. Exits with CMD's
# status; 1 with one sentence when the namespace or tap cannot be made.
#
#   scripts/netns-tap.sh -- sh -c '
#       build/lunik run examples/http.lua --net tap:lunik0 --ip 10.0.77.2/24 &
#       sleep 1; curl -s http://10.0.77.2/; kill $!'
set -euo pipefail

tap=lunik0
addr=10.0.77.1/24
while [ $# -gt 0 ]; do
    case $1 in
        -t) tap=${2:?-t needs an interface name}; shift 2 ;;
        -a) addr=${2:?-a needs ADDR/PREFIX}; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,/^set /{/^set /d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
        -*) echo "netns-tap: unknown option $1 (see --help)" >&2; exit 2 ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || set -- "${SHELL:-/bin/sh}"

if [ -z "${LUNIK_NETNS_TAP_INSIDE:-}" ]; then
    command -v unshare >/dev/null && command -v ip >/dev/null || {
        echo "netns-tap: unshare and ip are missing (scripts/setup.sh installs them)" >&2
        exit 1
    }
    unshare --net true 2>/dev/null || {
        echo "netns-tap: cannot create a network namespace (unshare --net needs CAP_SYS_ADMIN: run as root)" >&2
        exit 1
    }
    # Same script again, now inside the new namespace.
    LUNIK_NETNS_TAP_INSIDE=1 exec unshare --net -- "$0" -t "$tap" -a "$addr" -- "$@"
fi
unset LUNIK_NETNS_TAP_INSIDE

ip link set lo up
if ! err=$(ip tuntap add dev "$tap" mode tap 2>&1); then
    echo "netns-tap: cannot create the tap $tap: $err" >&2
    exit 1
fi
if ! err=$({ ip addr add "$addr" dev "$tap" && ip link set "$tap" up; } 2>&1); then
    echo "netns-tap: cannot give $tap the address $addr: $err" >&2
    exit 1
fi
exec "$@"
