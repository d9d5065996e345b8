# lib.sh: a small TAP library and helpers shared by the tests/*.t scripts.
#
# Source it from a test:  . "$(dirname "$0")/lib.sh"
# Then: plan N; ok COND NAME; is GOT WANT NAME; like GOT REGEX NAME;
# skip NAME REASON; run_lunik ARGS... (sets $out, $err, $rc); targets (the
# targets to test: kvm when /dev/kvm is usable, and hosted); done_testing.
# Background processes: start_bg, wait_output, stop_bg, at_exit; ports:
# free_port; bounded polling: retry. Network namespace: own_netns=1
# before sourcing, then $netns_why (below).

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# Handler budgets are timings: a slow machine (the nested test VM runs
# guests under TCG) must not fail a test that is not about them. The tests
# about budgets give their own (--budget, lunik.budget, opts.budget).
export LUNIK_BUDGET=${LUNIK_BUDGET:-60}

# A test that sets own_netns=1 before sourcing this file runs in a network
# namespace of its own (unshare --net): its taps, addresses and traffic
# never touch the host's network, and when the test's processes are gone
# the kernel removes the namespace with everything in it, whatever ended
# them. Where no namespace can be made, $netns_why says why in one
# sentence and the test runs in the host's namespace, loopback only.
netns_why=""
if [ "${own_netns:-0}" = 1 ]; then
    if [ -z "${LUNIK_TEST_NETNS:-}" ]; then
        if command -v unshare >/dev/null && unshare --net true 2>/dev/null
        then
            LUNIK_TEST_NETNS=1 exec unshare --net -- "$BASH" "$0" "$@"
        fi
        netns_why="no network namespace of its own can be made here \
(unshare --net needs CAP_SYS_ADMIN)"
    else
        unset LUNIK_TEST_NETNS
        ip link set lo up 2>/dev/null || netns_why="lo cannot be brought \
up in the test's network namespace"
    fi
fi
LUNIK=${LUNIK:-$top/build/lunik}
scratch=$(mktemp -d /tmp/lunik-test.XXXXXX)
declare -A bg_pid=()     # start_bg NAME -> pid
exit_hooks=()            # at_exit commands, run in order at exit
# cleanup: kill what start_bg started, run the at_exit hooks, drop scratch.
cleanup() {
    local name h
    for name in "${!bg_pid[@]}"; do stop_bg "$name" >/dev/null 2>&1; done
    for h in "${exit_hooks[@]}"; do eval "$h" >/dev/null 2>&1; done
    rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 129' HUP INT TERM
test_n=0
test_failed=0
[ -x "$LUNIK" ] || { echo "Bail out! $LUNIK is missing: run make first"; exit 1; }

plan() { echo "1..$1"; }
# done_testing: in nested mode, first the kvm cases from the VM; the plan.
done_testing() {
    [ "$kvm_mode" != nested ] || [ "$kvm_only" = 1 ] || [ "$kvm_none" = 1 ] ||
        [[ " ${LUNIK_TEST_TARGETS:-kvm} " != *" kvm "* ]] || run_in_vm
    echo "1..$test_n"
}

pass() {
    reported "$1" || return 0
    test_n=$((test_n + 1)); echo "ok $test_n - $1"
}
fail() {
    reported "$1" || return 0
    test_n=$((test_n + 1)); test_failed=$((test_failed + 1))
    echo "not ok $test_n - $1"
}
diag() { printf '%s\n' "$@" | sed 's/^/# /'; }

# ok STATUS NAME: passes when STATUS (a command's exit code) is 0.
ok() { if [ "$1" -eq 0 ]; then pass "$2"; else fail "$2"; fi; }

# is GOT WANT NAME
is() {
    if [ "$1" == "$2" ]; then pass "$3"; else
        fail "$3"; diag "got:" "$1" "want:" "$2"; fi
}

# like GOT ERE NAME (grep -E on the whole text)
like() {
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then pass "$3"; else
        fail "$3"; diag "got:" "$1" "want match: $2"; fi
}

unlike() {
    if printf '%s\n' "$1" | grep -Eq -- "$2"; then
        fail "$3"; diag "got:" "$1" "did not want: $2"; else pass "$3"; fi
}

skip() {
    reported "$1" || return 0
    test_n=$((test_n + 1)); echo "ok $test_n # skip $1: $2"
}

# run_lunik ARGS...: run build/lunik with stdin from $stdin (default
# /dev/null) and a 60 s limit; sets out, err, rc.
run_lunik() {
    local input=${stdin:-/dev/null}
    timeout 60 "$LUNIK" "$@" <"$input" >"$scratch/out" 2>"$scratch/err"
    rc=$?
    out=$(cat "$scratch/out")
    err=$(cat "$scratch/err")
}

# attach NAME INPUT: pipe INPUT (lines) into `lunik attach NAME`, as
# run_lunik does; sets out, err, rc.
attach() {
    printf '%s\n' "$2" >"$scratch/attach.in"
    stdin=$scratch/attach.in run_lunik attach "$1"
}

# kvm_usable: 0 when /dev/kvm can be opened read-write.
kvm_usable() { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

# Where the kvm cases run (scripts/kvm-vm.sh --mode; LUNIK_KVM forces it):
#   direct  here, on /dev/kvm;
#   nested  in the nested test VM: this process runs every case but the kvm
#           ones (targets says hosted), then runs this file again in the VM
#           with LUNIK_TEST_PART=kvm and reports its kvm cases as its own
#           (done_testing, kvm_only_file);
#   skip    nowhere: each kvm case is one skip line.
# With LUNIK_TEST_PART=kvm (inside the VM) only the kvm cases are reported:
# those named "... on kvm" (the loops over targets name every case so), and
# every case of a file that calls kvm_only_file.
test_part=${LUNIK_TEST_PART:-}
if [ "$test_part" = kvm ]; then
    kvm_mode=direct kvm_mode_why="in the nested test VM"
else
    kvm_mode_why=$("$top/scripts/kvm-vm.sh" --mode) || {
        echo "Bail out! $kvm_mode_why"; exit 1; }
    kvm_mode=${kvm_mode_why%%:*} kvm_mode_why=${kvm_mode_why#*: }
fi
kvm_only=0
kvm_none=0

# no_kvm_cases: call at the top of a file that has no kvm cases (it tests
# the build, the CLI or scripts): the nested test VM is not booted for it,
# and with LUNIK_TEST_PART=kvm (make check-kvm) the file is skipped whole.
no_kvm_cases() {
    kvm_none=1
    if [ "$test_part" = kvm ]; then
        echo "1..0 # SKIP no kvm cases"
        exit 0
    fi
}

kvm_why=""
case $kvm_mode in
direct) kvm_usable || kvm_why="/dev/kvm is missing or not usable here" ;;
nested) kvm_why="the kvm cases run in the nested test VM ($kvm_mode_why)" ;;
skip) kvm_why="$kvm_mode_why" ;;
esac

# kvm_boots: 0 when the kvm target is tested in this process.
kvm_boots() { [ -z "$kvm_why" ]; }

# targets: the targets every behaviour is tested on (LUNIK_TEST_TARGETS
# overrides, e.g. "hosted" while working on one target).
targets() {
    if [ -n "${LUNIK_TEST_TARGETS:-}" ]; then
        if [ "$kvm_mode" = nested ]; then   # the VM runs the kvm cases
            echo " $LUNIK_TEST_TARGETS " | sed 's/ kvm / /g'
        else echo "$LUNIK_TEST_TARGETS"; fi
    elif [ "$test_part" = kvm ]; then echo kvm
    elif kvm_boots; then echo kvm hosted; else echo hosted; fi
}

# note_kvm_skip NAME: one skip line when KVM tests cannot run here (none
# when the nested test VM runs them).
note_kvm_skip() {
    kvm_boots || [ "$kvm_mode" = nested ] || skip "$1 on kvm" "$kvm_why"
}

# reported NAME: 0 when a case named NAME is reported by this process.
reported() {
    [ "$test_part" != kvm ] || [ "$kvm_only" = 1 ] ||
        [[ "$1" =~ (^|[^a-z])on\ kvm([^a-z]|$) ]]
}

# run_in_vm: run this test file in the nested test VM with
# LUNIK_TEST_PART=kvm and report its cases (renumbered) as this file's own;
# QEMU that cannot start at all is one skip, any other failure of the VM
# one failed case.
run_in_vm() {
    local line n=0 st
    # timeout: a second bound, should the runner's own watchdog not act.
    ( cd "$top" && LUNIK_TEST_PART=kvm timeout -k 10 \
        $((${LUNIK_VM_TIMEOUT:-1800} + 60)) "$top/scripts/kvm-vm.sh" \
        bash "$test_file" ) 2> >(tee "$scratch/vm.err" >&2) >"$scratch/vm.fifo" &
    local vm=$!
    while IFS= read -r line; do
        if [[ "$line" =~ ^(not\ )?ok\ [0-9]+(.*)$ ]]; then
            test_n=$((test_n + 1)); n=$((n + 1))
            [ -n "${BASH_REMATCH[1]}" ] && test_failed=$((test_failed + 1))
            echo "${BASH_REMATCH[1]}ok $test_n${BASH_REMATCH[2]}"
        elif [[ "$line" =~ ^1\.\.[0-9]+ ]]; then :
        else printf '%s\n' "$line"
        fi
    done <"$scratch/vm.fifo"
    wait "$vm"; st=$?
    local i   # the tee of stderr may still be writing the runner's last words
    for i in $(seq 20); do
        [ $st -ne 125 ] || grep -q '^kvm-vm: ' "$scratch/vm.err" && break
        sleep 0.1
    done
    if [ $n -eq 0 ] && grep -q '^kvm-vm: QEMU could not start' "$scratch/vm.err"; then
        skip "the kvm cases of ${test_file##*/}" \
            "$(grep -m1 '^kvm-vm: QEMU could not start' "$scratch/vm.err")"
    elif [ $st -eq 124 ] || [ $st -eq 125 ]; then
        fail "the nested test VM ran the kvm cases of ${test_file##*/} to the end"
    fi
}
test_file=$0
[[ "$test_file" = /* ]] || test_file=$PWD/$test_file
mkfifo "$scratch/vm.fifo"

# kvm_only_file: call at the top of a file whose every case tests the kvm
# target: it runs here (direct), in the nested test VM (nested), or is one
# skip; in the last two cases this ends the file.
kvm_only_file() {
    kvm_only=1
    case $kvm_mode in
    direct) [ "$test_part" = kvm ] || kvm_usable || {
                echo "1..0 # skip $kvm_why"; exit 0; } ;;
    nested) run_in_vm; done_testing; exit 0 ;;
    skip) echo "1..0 # skip $kvm_why"; exit 0 ;;
    esac
}

# write FILE <<EOF: create a scratch file (relative to $scratch).
write() { mkdir -p "$(dirname "$scratch/$1")"; cat >"$scratch/$1"; }


# at_exit COMMAND: run COMMAND (a shell string) when the test exits.
at_exit() { exit_hooks+=("$1"); }

# start_bg NAME CMD...: run CMD in the background (at most 300 s), stdin
# from /dev/null, stdout and stderr into $scratch/NAME.out and NAME.err;
# it is killed at exit if still running. A NAME still running is stopped
# first.
start_bg() {
    local name=$1; shift
    [ -n "${bg_pid[$name]:-}" ] && stop_bg "$name"
    timeout -k 5 300 "$@" </dev/null >"$scratch/$name.out" \
        2>"$scratch/$name.err" &
    bg_pid[$name]=$!
}

# running NAME: 0 while the process started as NAME is alive.
running() {
    [ -n "${bg_pid[$1]:-}" ] && kill -0 "${bg_pid[$1]}" 2>/dev/null
}

# stop_bg NAME: TERM the process (KILL after 5 s), wait for it; returns
# its exit status (143 when the TERM ended it).
stop_bg() {
    local pid=${bg_pid[$1]:-} i st
    [ -n "$pid" ] || return 0
    unset "bg_pid[$1]"
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null; st=$?
    return $st
}

# wait_bg NAME [SECONDS]: wait (default 30 s) for NAME to end by itself;
# returns its exit status, or 124 after killing it when time ran out.
wait_bg() {
    local pid=${bg_pid[$1]:-} i
    [ -n "$pid" ] || return 0
    for i in $(seq $((${2:-30} * 10))); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then stop_bg "$1"; return 124; fi
    unset "bg_pid[$1]"
    wait "$pid" 2>/dev/null
}

# wait_output NAME ERE [SECONDS]: wait (default 30 s) until NAME's stdout
# has a line matching ERE; 1 when it does not by then or NAME ended first.
wait_output() {
    local i
    for i in $(seq $((${3:-30} * 10))); do
        grep -Eq -- "$2" "$scratch/$1.out" 2>/dev/null && return 0
        running "$1" || break
        sleep 0.1
    done
    grep -Eq -- "$2" "$scratch/$1.out" 2>/dev/null
}

# retry TRIES CMD...: run CMD until it succeeds, at most TRIES times, 0.2 s
# apart; returns CMD's last status. CMD must bound its own time.
retry() {
    local n=$1 i st; shift
    for i in $(seq "$n"); do
        "$@" && return 0
        st=$?
        [ "$i" -lt "$n" ] && sleep 0.2
    done
    return $st
}

# free_port [tcp|udp]: a port no socket on this machine uses right now,
# below the kernel's ephemeral range (ip_local_port_range) when there is
# room, so that no client's own port takes it meanwhile.
free_port() {
    local p i flag=-Htan lo=20000 n=40000 eph
    [ "${1:-tcp}" = udp ] && flag=-Huan
    eph=$(awk '{ print $1 }' /proc/sys/net/ipv4/ip_local_port_range \
        2>/dev/null)
    [ "${eph:-0}" -gt 12000 ] && lo=10000 n=$((eph - 10000))
    for i in $(seq 100); do
        p=$((lo + RANDOM % n))
        ss "$flag" 2>/dev/null | awk '{ print $4 }' | grep -q ":$p\$" ||
            { echo "$p"; return 0; }
    done
    return 1
}
