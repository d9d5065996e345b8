#!/usr/bin/env bash
# 05-setup-once.t: on a fresh clone, `make -j4`, `make -j4 demo` and `make -j4 check` run scripts/setup.sh exactly once.
#
# The clone gets the checkout's current tracked files. apt-get is replaced
# by a stand-in on PATH that keeps apt's one rule that matters here (a
# second apt-get while one runs fails on the lock, as apt's does) and
# serves `apt-get source` from this checkout's third_party/ instead of the
# network (and the kernel package it unpacks is this checkout's copy);
# everything else (setup.sh, make, the build) is the real thing.
. "$(dirname "$0")/lib.sh"
no_kvm_cases

if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP set-up would run apt-get through sudo, past the stand-in: run as root"
    exit 0
fi
for d in lua5.4 lwip; do
    ls -d "$top"/third_party/$d-*/ >/dev/null 2>&1 || {
        echo "1..0 # SKIP third_party/ has no $d source: run make first"
        exit 0
    }
done

clone=$scratch/clone
git clone -q "$top" "$clone" || { echo "Bail out! git clone failed"; exit 1; }
git -C "$top" diff --name-only -z HEAD |
    (cd "$top" && xargs -0 -r cp --parents -t "$clone" 2>/dev/null)
git -C "$top" ls-files --others --exclude-standard -z |
    (cd "$top" && xargs -0 -r cp --parents -t "$clone" 2>/dev/null)

# The nested test VM's kernel package: a download too; the clone gets
# this checkout's unpacked copy, so set-up finds it there.
if [ -d "$top/third_party/linux" ]; then
    mkdir -p "$clone/third_party"
    ln -s "$top/third_party/linux" "$clone/third_party/linux"
fi

mkdir -p "$scratch/stub"
cat >"$scratch/stub/apt-get" <<STUB
#!/usr/bin/env bash
# apt-get stand-in: the lock, a log line per call, sources from $top.
lock=$scratch/apt.lock
if ! mkdir "\$lock" 2>/dev/null; then
    echo "apt-get \$*: lock held" >>$scratch/apt.log
    echo "E: Could not get lock /var/lib/apt/lists/lock" >&2
    exit 100
fi
trap 'rmdir "\$lock"' EXIT
echo "apt-get \$*" >>$scratch/apt.log
sleep 0.3    # long enough for a racing second run to meet the lock
case \$1 in
    source) pkg=\${@: -1}
            cp -a "$top"/third_party/"\$pkg"-*/ . ;;
esac
STUB
chmod +x "$scratch/stub/apt-get"

# count_setups LOG: how many times setup.sh ran to its end.
count_setups() { grep -c '^setup: ready' "$1"; }

(cd "$clone" && PATH=$scratch/stub:$PATH timeout 1200 make -j4) \
    >"$scratch/make.log" 2>&1
rc=$?
is "$rc" 0 "make -j4 on a fresh clone builds"
[ "$rc" -eq 0 ] || diag "$(tail -n 15 "$scratch/make.log")"
is "$(count_setups "$scratch/make.log")" 1 "... running set-up once"
unlike "$(cat "$scratch/apt.log")" "lock held" \
    "... with no apt-get meeting another's lock"
ok "$([ -x "$clone/build/lunik" ]; echo $?)" "... and build/lunik is there"

(cd "$clone" && PATH=$scratch/stub:$PATH timeout 600 make -j4) \
    >"$scratch/make2.log" 2>&1
is "$?:$(count_setups "$scratch/make2.log")" "0:0" \
    "a second make -j4 does not run set-up again"

(cd "$clone" && PATH=$scratch/stub:$PATH timeout 600 make -j4 demo) \
    >"$scratch/demo.log" 2>&1
rc=$?
is "$rc:$(count_setups "$scratch/demo.log")" "0:1" \
    "make -j4 demo runs set-up once"
like "$(cat "$scratch/demo.log")" "^hello from (kvm|hosted)$" \
    "... and runs examples/hello.lua"

# check: the set-up and the build, not the suite (this test is in it).
(cd "$clone" && PATH=$scratch/stub:$PATH timeout 600 \
    make -j4 check TESTS=tests/20-examples.t) >"$scratch/check.log" 2>&1
is "$(count_setups "$scratch/check.log")" 1 "make -j4 check runs set-up once"
unlike "$(cat "$scratch/apt.log")" "lock held" \
    "no apt-get ever met another's lock"

done_testing
