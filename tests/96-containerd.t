#!/usr/bin/env bash
# 96-containerd.t: build/lunik-oci under containerd 1.6's runc shim (ctr run --runc-binary), with a containerd of the test's own.
own_netns=1
. "$(dirname "$0")/lib.sh"
no_kvm_cases

oci=$top/build/lunik-oci
for tool in containerd ctr podman; do
    command -v "$tool" >/dev/null || {
        echo "1..0 # SKIP $tool is missing (scripts/setup.sh installs it)"
        exit 0; }
done
if [ "$(id -u)" -ne 0 ]; then
    echo "1..0 # SKIP containerd runs as root"
    exit 0
fi

# A containerd of this test's own: its root, state and socket in scratch,
# stopped at exit.
ctd=$scratch/containerd
mkdir -p "$ctd"
cat >"$ctd/config.toml" <<EOF2
version = 2
root = "$ctd/root"
state = "$ctd/state"
[grpc]
  address = "$ctd/sock"
[plugins."io.containerd.grpc.v1.cri"]
  disable_tcp_service = true
EOF2
start_bg containerd containerd --config "$ctd/config.toml"
ctr_bin=$(command -v ctr)
ctr() { timeout 60 "$ctr_bin" --address "$ctd/sock" "$@"; }
up=1
for i in $(seq 100); do ctr version >/dev/null 2>&1 && { up=0; break; }; sleep 0.1; done
ok $up "containerd starts with a root of the test's own"

tag=localhost/lunik-test-ctd-$$
at_exit "podman rmi -f $tag/hello $tag/exit3 >/dev/null 2>&1"
"$top/scripts/oci-image.sh" "$top/examples/hello.lua" "$tag/hello" \
    --archive "$scratch/hello.tar" >/dev/null
ok $? "scripts/oci-image.sh --archive writes an oci-archive"
write exit3.lua <<'EOF2'
print("leaving with 3")
os.exit(3)
EOF2
"$top/scripts/oci-image.sh" "$scratch/exit3.lua" "$tag/exit3" \
    --archive "$scratch/exit3.tar" >/dev/null
ctr images import --base-name "$tag/hello" "$scratch/hello.tar" >/dev/null
ok $? "ctr images import takes it"
ctr images import --base-name "$tag/exit3" "$scratch/exit3.tar" >/dev/null

out=$(ctr run --rm --runc-binary "$oci" "$tag/hello:latest" hello-$$ 2>&1)
rc=$?
is "$rc" 0 "ctr run --rm --runc-binary lunik-oci hello: exit 0"
like "$out" "^hello from (kvm|hosted)$" "... its output"
out=$(ctr run --rm --runc-binary "$oci" "$tag/exit3:latest" exit3-$$ 2>&1)
is "$?" 3 "ctr run: the program's exit status is the task's"
is "$(ctr containers ls -q | grep -c -- "-$$")" 0 "ctr run --rm leaves no container"
ls "$ctd/state" -R 2>/dev/null | grep -q "init.pid"
ok "$([ $? -ne 0 ]; echo $?)" "... and no task state"

done_testing
