#!/usr/bin/env bash
# 95-oci.t: build/lunik-oci under podman (real images, real containers): output, exit codes, -p, stop, -e, --memory, 20 at once, state, and bad input.
own_netns=1
. "$(dirname "$0")/lib.sh"
no_kvm_cases

oci=$top/build/lunik-oci
if ! command -v podman >/dev/null; then
    echo "1..0 # SKIP podman is missing (scripts/setup.sh installs it)"
    exit 0
fi
if [ "$(id -u)" -ne 0 ] || [ -n "$netns_why" ]; then
    echo "1..0 # SKIP the OCI tests run podman as root in a network namespace of their own${netns_why:+: $netns_why}"
    exit 0
fi
[ -x "$oci" ] || { echo "Bail out! $oci is missing: run make first"; exit 1; }

# Every container and image of this file carries this tag; all are
# removed at exit, whatever happens.
tag=lunik-test-$$
root=/run/lunik-oci
img=localhost/$tag
# podman: the runtime, and rlimits within the host's own (this sandbox's
# root may not raise them: no CAP_SYS_RESOURCE).
pm() { timeout 120 podman "$@"; }
prun() {
    pm run --runtime "$oci" --ulimit "nofile=$(ulimit -Hn):$(ulimit -Hn)" \
        --ulimit "nproc=$(ulimit -Hu):$(ulimit -Hu)" "$@"
}
at_exit "podman rm -f -t 0 \$(podman ps -aq --filter name=$tag) >/dev/null 2>&1; podman rmi -f \$(podman images -q --filter reference='$img/*') >/dev/null 2>&1"

image() {  # image NAME APP.lua: the app as $img/NAME
    "$top/scripts/oci-image.sh" "$2" "$img/$1" >/dev/null
}
image hello "$top/examples/hello.lua"
ok $? "scripts/oci-image.sh packs examples/hello.lua"
image http "$top/examples/http.lua"
write exit3.lua <<'EOF2'
print("leaving with 3")
os.exit(3)
EOF2
image exit3 "$scratch/exit3.lua"
write stop.lua <<'EOF2'
local lunik = require("lunik")
lunik.on("shutdown", function()
    print("shutdown event seen")
    lunik.exit(0)
end)
lunik.every(0.05, function() end)
print("waiting for stop")
EOF2
image stop "$scratch/stop.lua"
write env.lua <<'EOF2'
print("GREETING=" .. tostring(os.getenv("GREETING")))
print("heap_limit=" .. require("lunik").stats().heap_limit)
EOF2
image env "$scratch/env.lua"
write serve.lua <<'EOF2'
local http = require("lunik.http")
assert(http.serve(80, function(req)
    return 200, { ["Content-Type"] = "text/plain" }, "n=" .. (arg[1] or "?") .. "\n"
end))
EOF2
image serve "$scratch/serve.lua"

# hello: output and exit code, on the default target and on hosted.
out=$(prun --rm --name "$tag-hello" "$img/hello" 2>&1); rc=$?
is "$rc" 0 "podman run --rm hello: exit 0"
like "$out" "^hello from (kvm|hosted)$" "podman run --rm hello: its output"
out=$(prun --rm --annotation org.lunik.target=hosted "$img/hello" 2>&1)
is "$out" "hello from hosted" "annotation org.lunik.target=hosted picks the target"

out=$(prun --rm "$img/exit3" 2>&1); rc=$?
is "$rc" 3 "the program's exit status is the container's"
is "$out" "leaving with 3" "... after its output"

# -e and --memory reach the program.
out=$(prun --rm -e GREETING=hi --memory 64m "$img/env" 2>&1)
like "$out" "GREETING=hi" "-e KEY=VAL is seen by os.getenv"
limit=$(echo "$out" | sed -n 's/^heap_limit=//p')
ok "$([ "${limit:-0}" -gt 40000000 ] && [ "${limit:-0}" -le 67108864 ]; echo $?)" \
    "--memory 64m is the guest's memory (heap limit $limit)"
out=$(prun --rm --memory 1m "$img/hello" 2>&1); rc=$?
ok "$([ $rc -ne 0 ]; echo $?)" "--memory 1m: a non-zero exit ($rc)"
like "$out" "lunik: .*(memory|mem)" "... with one sentence about memory"

# http with -p: podman's own port publishing reaches the guest.
port=$(free_port)
cid=$(prun -d --name "$tag-http" -p "127.0.0.1:$port:80" "$img/http")
ok $? "podman run -d -p $port:80 http"
got=$(retry 50 curl -s --max-time 2 "http://127.0.0.1:$port/")
is "$got" "hello from lunik" "curl through -p reaches the guest's HTTP server"
got=$(curl -s --max-time 2 -d '{"name":"tea"}' "http://127.0.0.1:$port/api/items")
like "$got" '"name":"tea"' "a POST with a body, through -p"
like "$(pm ps --filter name=$tag-http --format '{{.Status}}')" "^Up" \
    "podman ps lists it as up"
like "$(pm logs "$tag-http" 2>&1)" "serving HTTP on port 80" "podman logs shows its output"
st=$("$oci" state "$cid" 2>/dev/null)
like "$st" '"status": "running"' "lunik-oci state: running"
like "$st" '"pid": [1-9]' "... with its pid"
pm kill "$tag-http" >/dev/null
pm wait "$tag-http" >/dev/null
like "$(pm ps -a --filter name=$tag-http --format '{{.Status}}')" "Exited \(137\)" \
    "podman kill: SIGKILL, exit 137"
pm rm "$tag-http" >/dev/null
ok $? "podman rm"
ok "$([ ! -e "$root/$cid" ]; echo $?)" "... leaves no state behind"

# stop: SIGTERM becomes the program's shutdown event.
prun -d --name "$tag-stop" "$img/stop" >/dev/null
wait_for() { local i; for i in $(seq 100); do pm logs "$1" 2>&1 | grep -q "$2" && return 0; sleep 0.1; done; return 1; }
wait_for "$tag-stop" "waiting for stop"
pm stop -t 10 "$tag-stop" >/dev/null
like "$(pm logs "$tag-stop" 2>&1)" "shutdown event seen" "podman stop: the shutdown event runs"
is "$(pm inspect "$tag-stop" --format '{{.State.ExitCode}}')" 0 \
    "... and the program's own exit code (0) is the container's"
pm rm "$tag-stop" >/dev/null

# Twenty at once, each serving its own port.
ports=()
for i in $(seq 20); do
    p=$(free_port); ports+=("$p")
    prun -d --name "$tag-many-$i" -p "127.0.0.1:$p:80" "$img/serve" "$i" >/dev/null ||
        diag "container $i did not start"
done
n=$(pm ps --filter name=$tag-many --format '{{.Names}}' | wc -l)
is "$n" 20 "twenty containers run at once"
good=0
for i in $(seq 20); do
    got=$(retry 50 curl -s --max-time 2 "http://127.0.0.1:${ports[$((i - 1))]}/")
    [ "$got" = "n=$i" ] && good=$((good + 1))
done
is "$good" 20 "each of the twenty answers on its own port with its own argument"
pm rm -f -t 0 $(pm ps -aq --filter name=$tag-many) >/dev/null
is "$(pm ps -a --filter name=$tag-many --format '{{.Names}}' | wc -l)" 0 \
    "podman rm -f removes all twenty"

# Bad input: the runtime's own command line, each a non-zero exit with the
# error in the --log file (JSON), and nothing left behind.
log=$scratch/oci.log
bundle=$scratch/bundle
mkdir -p "$bundle/rootfs"
"$oci" --log "$log" --log-format json create --bundle "$bundle" "$tag-bad1" \
    >/dev/null 2>&1
ok "$([ $? -ne 0 ]; echo $?)" "create without config.json: non-zero exit"
like "$(tail -n 1 "$log")" '^\{"level": *"error", *"msg": *"[^"]*config.json' \
    "... and a JSON error naming config.json in --log"
echo '{"ociVersion": "1.0.2", "root": ' >"$bundle/config.json"
"$oci" --log "$log" --log-format json create --bundle "$bundle" "$tag-bad2" \
    >/dev/null 2>&1
ok "$([ $? -ne 0 ]; echo $?)" "create with a malformed config.json: non-zero exit"
cp /bin/true "$bundle/rootfs/app"
cat >"$bundle/config.json" <<'EOF2'
{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
 "process": {"args": ["/app"], "env": [], "cwd": "/"}}
EOF2
"$oci" --log "$log" --log-format json create --bundle "$bundle" "$tag-bad3" \
    >/dev/null 2>&1
ok "$([ $? -ne 0 ]; echo $?)" "create with no lunik image in the bundle: non-zero exit"
like "$(tail -n 1 "$log")" "not a lunik image" "... the log says it is not a lunik image"
"$oci" --log "$log" frobnicate "$tag-x" >/dev/null 2>&1
ok "$([ $? -ne 0 ]; echo $?)" "an unknown command: non-zero exit"
"$oci" kill "$tag-nothing" KILL >/dev/null 2>&1
ok "$([ $? -ne 0 ]; echo $?)" "kill of a container that does not exist: non-zero"
ls "$root" 2>/dev/null | grep -q "$tag"
ok "$([ $? -ne 0 ]; echo $?)" "no state left behind by the failures"

# The life cycle by hand: create (waits), start, state, kill on stopped,
# delete.
podman image mount "$img/hello" >/dev/null 2>&1 || true
cp "$(podman image mount "$img/hello")/app.img" "$bundle/rootfs/app.img" 2>/dev/null ||
    "$LUNIK" build "$top/examples/hello.lua" -o "$bundle/rootfs/app.img" >/dev/null
podman image unmount "$img/hello" >/dev/null 2>&1
cat >"$bundle/config.json" <<'EOF2'
{"ociVersion": "1.0.2", "root": {"path": "rootfs"},
 "process": {"args": ["/app.img"], "env": [], "cwd": "/"},
 "annotations": {"org.lunik.target": "hosted"}}
EOF2
id=$tag-byhand
"$oci" create --bundle "$bundle" --pid-file "$scratch/pid" "$id" \
    >"$scratch/byhand.out" 2>&1
ok $? "create by hand"
like "$("$oci" state "$id")" '"status": "created"' "state after create: created"
is "$("$oci" state "$id" | sed -n 's/.*"pid": \([0-9]*\).*/\1/p')" \
    "$(cat "$scratch/pid")" "... its pid is the --pid-file's"
ok "$(grep -q hello "$scratch/byhand.out"; [ $? -ne 0 ]; echo $?)" "nothing runs before start"
"$oci" start "$id"
ok $? "start"
for i in $(seq 100); do grep -q "hello from hosted" "$scratch/byhand.out" && break; sleep 0.1; done
like "$(cat "$scratch/byhand.out")" "hello from hosted" "the program runs after start"
for i in $(seq 100); do "$oci" state "$id" | grep -q '"stopped"' && break; sleep 0.1; done
like "$("$oci" state "$id")" '"status": "stopped"' "state once it ended: stopped"
"$oci" kill "$id" TERM >/dev/null 2>&1
ok "$([ $? -ne 0 ]; echo $?)" "kill on a stopped container: non-zero exit"
"$oci" delete "$id"
ok $? "delete"
"$oci" state "$id" >/dev/null 2>&1
ok "$([ $? -ne 0 ]; echo $?)" "state after delete: no such container"
ok "$([ ! -e "$root/$id" ]; echo $?)" "delete leaves no state behind"
like "$("$oci" --version)" "spec: 1\.0" "--version names the spec version"
like "$("$oci" features)" '"ociVersionMax"' "features answers JSON"
pgrep -f "lunik run .*$tag" >/dev/null
ok "$([ $? -ne 0 ]; echo $?)" "no stray lunik processes"

done_testing
