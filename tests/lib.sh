# lib.sh: a small TAP library and helpers shared by the tests/*.t scripts.
#
# Source it from a test:  . "$(dirname "$0")/lib.sh"
# Then: plan N; ok COND NAME; is GOT WANT NAME; like GOT REGEX NAME;
# skip NAME REASON; run_lunik ARGS... (sets $out, $err, $rc); targets (the
# targets to test: kvm when /dev/kvm is usable, and hosted); done_testing.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LUNIK=${LUNIK:-$top/build/lunik}
scratch=$(mktemp -d /tmp/lunik-test.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
test_n=0
test_failed=0
[ -x "$LUNIK" ] || { echo "Bail out! $LUNIK is missing: run make first"; exit 1; }

plan() { echo "1..$1"; }
done_testing() { echo "1..$test_n"; }

pass() { test_n=$((test_n + 1)); echo "ok $test_n - $1"; }
fail() {
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

skip() { test_n=$((test_n + 1)); echo "ok $test_n # skip $1: $2"; }

# run_lunik ARGS...: run build/lunik with stdin from $stdin (default
# /dev/null) and a 60 s limit; sets out, err, rc.
run_lunik() {
    local input=${stdin:-/dev/null}
    timeout 60 "$LUNIK" "$@" <"$input" >"$scratch/out" 2>"$scratch/err"
    rc=$?
    out=$(cat "$scratch/out")
    err=$(cat "$scratch/err")
}

# kvm_usable: 0 when /dev/kvm can be opened read-write.
kvm_usable() { [ -c /dev/kvm ] && [ -r /dev/kvm ] && [ -w /dev/kvm ]; }

kvm_why=""
kvm_usable || kvm_why="/dev/kvm is missing or not usable here"

# kvm_boots: 0 when the kvm target is tested here: wherever /dev/kvm opens.
kvm_boots() { [ -z "$kvm_why" ]; }

# targets: the targets every behaviour is tested on (LUNIK_TEST_TARGETS
# overrides, e.g. "hosted" while working on one target).
targets() {
    if [ -n "${LUNIK_TEST_TARGETS:-}" ]; then echo "$LUNIK_TEST_TARGETS"
    elif kvm_boots; then echo kvm hosted; else echo hosted; fi
}

# note_kvm_skip NAME: one skip line when KVM tests cannot run here.
note_kvm_skip() {
    kvm_boots || skip "$1 on kvm" "$kvm_why"
}

# write FILE <<EOF: create a scratch file (relative to $scratch).
write() { mkdir -p "$(dirname "$scratch/$1")"; cat >"$scratch/$1"; }

