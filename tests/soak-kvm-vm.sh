#!/usr/bin/env bash
# soak-kvm-vm.sh: boot the nested test VM N times, running the kvm test files in each; count the boots that pass.
#
# Usage: tests/soak-kvm-vm.sh [N]   (default 20; after make check's build;
#                                    not part of make check: about 3 minutes
#                                    a boot)
# Each boot runs `make check-kvm`'s files with LUNIK_TEST_PART=kvm under
# prove in one VM (scripts/kvm-vm.sh). A boot passes when prove passes; a
# hang is what the runner's watchdog reports (exit 124). Logs stay in
# build/soak/. Prints one line per boot and the total.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20}
logs=$top/build/soak
mkdir -p "$logs"
cd "$top"
files=$(ls tests/*.t | grep -v 70-kvm-vm.t)
passed=0 hung=0
for i in $(seq "$n"); do
    start=$SECONDS
    st=0
    LUNIK_TEST_PART=kvm LUNIK_VM_TIMEOUT=${LUNIK_VM_TIMEOUT:-900} \
        scripts/kvm-vm.sh prove $files tests/unit/guest_kernels_test.t \
        >"$logs/boot-$i.out" 2>"$logs/boot-$i.err" || st=$?
    case $st in
    0) passed=$((passed + 1)); what=pass ;;
    124) hung=$((hung + 1)); what="hang: $(tail -n 1 "$logs/boot-$i.err")" ;;
    *) what="fail ($st): $(grep -E '^(tests/.*(Wstat|Failed)|  Failed tests)' \
            "$logs/boot-$i.out" | tr '\n' ' ')" ;;
    esac
    echo "boot $i: $what ($((SECONDS - start)) s)"
done
echo "soak: $passed of $n boots passed, $hung hung (logs in build/soak/)"
[ "$passed" -eq "$n" ]
