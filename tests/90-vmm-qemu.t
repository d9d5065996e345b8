#!/usr/bin/env bash
# 90-vmm-qemu.t: the PVH kernel under QEMU microvm: `lunik run --vmm qemu`, `lunik build --pvh`, HTTP with -p, bad input.
. "$(dirname "$0")/lib.sh"
no_kvm_cases

qemu=${LUNIK_QEMU:-qemu-system-x86_64}
if ! command -v "$qemu" >/dev/null 2>&1; then
    echo "1..0 # skip $qemu is not installed (Debian package qemu-system-x86)"
    exit 0
fi

run_lunik run --vmm qemu "$top/examples/hello.lua"
ok $rc "hello exits 0 under qemu"
is "$out" "hello from pvh/qemu" "hello names the VMM under qemu"
is "$err" "" "hello prints nothing on stderr under qemu"

run_lunik run --vmm qemu "$top/examples/timers.lua"
ok $rc "timers exits 0 under qemu"
events=$(echo "$out" | sed 's/^ *[0-9.]* s  //')
ticks=$(echo "$events" | grep -c '^tick ')
is "$(echo "$events" | grep -v '^woke up')" "after 0.1 s; this handler now sleeps 0.3 s
$(seq 1 "$ticks" | sed 's/^/tick /')
ticker cancelled after $ticks ticks
done" "timers fire in order under qemu"
is "$(echo "$events" | grep -E '^(tick 1$|woke up)' | cut -c 1-4)" "tick
woke" "the sleeping handler wakes after the first tick under qemu"

write streams.lua <<'LUA'
io.stderr:write("to stderr\n")
print("to stdout", #arg, arg[1], arg[2], "[" .. arg[3] .. "]")
os.exit(tonumber(arg[4]))
LUA
run_lunik run --vmm qemu "$scratch/streams.lua" -- "a b" "x=y%" "" 200
is "$rc" 200 "an exit status above 127 comes through under qemu"
is "$out" "to stdout	4	a b	x=y%	[]" \
    "arguments with spaces, '=', '%' and empty ones arrive under qemu"
is "$err" "to stderr" "stderr is a stream of its own under qemu"
run_lunik run --vmm qemu "$scratch/streams.lua" -- a b c 3
is "$rc" 3 "a small exit status comes through under qemu"

# stdin: lines, and its end (the event console's "E<n>").
stdin=$scratch/in.txt
printf 'hello\nworld\nquit\nnever seen\n' >"$stdin"
run_lunik run --vmm qemu "$top/examples/echo.lua"
unset stdin
ok $rc "echo exits 0 on quit under qemu"
is "$out" "type lines; 'quit' or end of input stops
1: HELLO
2: WORLD
bye after 2 lines" "echo answers each line under qemu"
out=$(printf 'a\nlast line without newline' |
    timeout 60 "$LUNIK" run --vmm qemu "$top/examples/echo.lua")
ok $? "echo ends at end of input under qemu"
is "$out" "type lines; 'quit' or end of input stops
1: A
2: LAST LINE WITHOUT NEWLINE" "echo gets the unterminated last line under qemu"

# SIGTERM to lunik: the program's shutdown event (the event console's
# "T"), or 143 without a handler.
write sd.lua <<'LUA'
local lunik = require "lunik"
print("running")
io.stdout:flush()
lunik.every(0.2, function() end)
if arg[1] == "handler" then
    lunik.on("shutdown", function() print("shutting down"); lunik.exit(5) end)
end
LUA
start_bg sd "$LUNIK" run --vmm qemu "$scratch/sd.lua" -- handler
wait_output sd '^running$' 60
stop_bg sd
is "$?" 5 "SIGTERM runs the shutdown handler under qemu"
is "$(cat "$scratch/sd.out")" "running
shutting down" "the shutdown handler's output comes out under qemu"
start_bg sd "$LUNIK" run --vmm qemu "$scratch/sd.lua"
wait_output sd '^running$' 60
stop_bg sd
is "$?" 143 "SIGTERM without a shutdown handler ends with 143 under qemu"

# The handler budget: the LAPIC timer's upcall stops a runaway handler.
write spin.lua <<'LUA'
local lunik = require "lunik"
lunik.budget(0.3)
lunik.after(0.05, function() print("spinning"); while true do end end)
lunik.after(0.5, function() print("still alive"); lunik.exit(7) end)
LUA
run_lunik run --vmm qemu "$scratch/spin.lua"
is "$rc" 7 "a runaway handler is stopped and the program goes on under qemu"
is "$out" "spinning
still alive" "the other handlers run after the budget stop under qemu"
like "$err" '^lunik: error in timer handler: handler exceeded its budget \(0\.3 s\)' \
    "the budget stop is reported under qemu"

run_lunik build --pvh -o "$scratch/hello.elf" "$top/examples/hello.lua"
ok $rc "build --pvh writes an ELF"
# The ELF alone, booted by QEMU by hand: no lunik.vmm=, no argv.
timeout 60 "$qemu" -M microvm,acpi=off -accel tcg -cpu max -m 64M \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$scratch/hello.elf" -serial "file:$scratch/serial" \
    -global virtio-mmio.force-legacy=false \
    -device isa-debug-exit,iobase=0xf4,iosize=4 \
    -device virtio-serial-device \
    -chardev "file,id=c0,path=$scratch/c0" -device virtconsole,chardev=c0 \
    </dev/null >/dev/null 2>&1
is "$?" 1 "QEMU boots the PVH ELF by hand and it exits 0 (isa-debug-exit 1)"
is "$(cat "$scratch/c0")" "hello from pvh" "the ELF runs its own app by default"

# Bad input: one sentence and a clean non-zero stop, never a hang.
run_lunik run --vmm qemu --mem 1M "$top/examples/hello.lua"
is "$rc" 69 "memory that cannot hold the image: 69 before QEMU starts"
like "$err" '^lunik: --mem is too small for this image: the VM must hold it, at least [0-9]+ MiB$' \
    "... in one sentence (QEMU would run whatever is below the kernel)"
run_lunik run --vmm qemu --mem 4M "$top/examples/hello.lua"
is "$rc" 69 "too little memory stops with 69 under qemu"
is "$err" "lunik: guest memory is too small for this image (give the VM more memory)" \
    "too little memory is one sentence under qemu"
timeout 60 "$qemu" -M microvm,acpi=off -accel tcg -cpu max -m 64M \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$scratch/hello.elf" -serial "file:$scratch/serial2" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >/dev/null 2>&1
is "$?" $(((70 << 1 | 1) & 255)) "a VMM passing no devices: status 70"
is "$(cat "$scratch/serial2")" "lunik: the VMM passed no virtio console (a virtio_mmio.device= on the command line), and the command line does not say lunik.console=serial" \
    "a VMM passing no devices: one sentence on the serial console"
timeout 60 "$qemu" -M microvm,acpi=off -accel tcg -cpu max -m 64M \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$scratch/hello.elf" -serial "file:$scratch/serial3" \
    -append "virtio_mmio.device=512@nowhere:5" \
    -device isa-debug-exit,iobase=0xf4,iosize=4 </dev/null >/dev/null 2>&1
is "$?" $(((64 << 1 | 1) & 255)) "a malformed command line: status 64"
is "$(cat "$scratch/serial3")" "lunik: the command line has a malformed virtio_mmio.device (SIZE@BASE:IRQ)" \
    "a malformed command line: one sentence on the serial console"
run_lunik run --vmm xen "$top/examples/hello.lua"
is "$rc" 64 "an unknown --vmm is a usage error"

# Firecracker: its config, and (Firecracker is not packaged in Debian) the
# same kernel and command line under QEMU with Firecracker's device
# layout: serial console, virtio-mmio net and block, no virtio console.
LUNIK_FIRECRACKER=/nonexistent/firecracker run_lunik run --vmm firecracker \
    --vmm-dir "$scratch/fc" --net tap:fc0 --mem 48M \
    "$top/examples/hello.lua" -- "a b"
is "$rc" 71 "without firecracker, --vmm firecracker stops with 71"
is "$err" "lunik: /nonexistent/firecracker is not on PATH: its config is $scratch/fc/config.json (on a Firecracker host: firecracker --no-api --config-file $scratch/fc/config.json)" \
    "without firecracker, one sentence names the config"
if command -v python3 >/dev/null 2>&1; then
    got=$(python3 - "$scratch/fc/config.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
# Firecracker's documented config: these sections and fields, no others.
assert set(c) == {"boot-source", "drives", "machine-config",
                  "network-interfaces"}, c.keys()
b = c["boot-source"]
assert set(b) == {"kernel_image_path", "boot_args"}
assert c["drives"] == []
m = c["machine-config"]
assert m == {"vcpu_count": 1, "mem_size_mib": 48, "smt": False}, m
n, = c["network-interfaces"]
assert set(n) == {"iface_id", "guest_mac", "host_dev_name"}
assert n["host_dev_name"] == "fc0" and n["iface_id"] == "eth0"
print(b["kernel_image_path"])
print(b["boot_args"])
PY
)
    ok $? "the Firecracker config has Firecracker's sections and fields"
    is "$(echo "$got" | head -1)" "$scratch/fc/app.elf" \
        "the config names the PVH ELF written beside it"
    boot_args=$(echo "$got" | sed -n 2p)
    like "$boot_args" '^lunik\.vmm=firecracker lunik\.console=serial -- hello\.lua .* -- a%20b$' \
        "the config's boot_args carry the runtime's argv"
    timeout 60 "$qemu" -M microvm,acpi=off -accel tcg -cpu max -m 48M \
        -nodefaults -no-user-config -display none -no-reboot \
        -kernel "$scratch/fc/app.elf" -append "$boot_args" \
        -serial "file:$scratch/fc.serial" \
        -global virtio-mmio.force-legacy=false \
        -netdev user,id=n0,restrict=on -device virtio-net-device,netdev=n0 \
        -drive if=none,id=d0,file=/dev/null,format=raw,readonly=on \
        -device virtio-blk-device,drive=d0 </dev/null >/dev/null 2>&1
    is "$?" 0 "Firecracker's layout under QEMU: the guest stops the VM itself"
    is "$(cat "$scratch/fc.serial")" "hello from pvh/firecracker" \
        "Firecracker's layout under QEMU: hello on the serial console"
else
    skip "the Firecracker config's fields" "python3 is missing"
fi
LUNIK_FIRECRACKER=/nonexistent/firecracker run_lunik run --vmm firecracker \
    -p 8080:80 "$top/examples/hello.lua"
is "$rc" 64 "--vmm firecracker with -p is a usage error (no user networking)"

# HTTP through QEMU's user networking, a host port on 127.0.0.1.
port=$(free_port)
start_bg http "$LUNIK" run --vmm qemu "$top/examples/http.lua" \
    -p "127.0.0.1:$port:80"
wait_output http 'serving HTTP' 120
ok $? "the HTTP example starts under qemu"
got=$(retry 50 curl -s -m 5 "http://127.0.0.1:$port/")
is "$got" "hello from lunik" "curl gets the greeting under qemu"
got=$(curl -s -m 10 -d '{"name":"tea"}' "http://127.0.0.1:$port/api/items")
like "$got" '^\{("name":"tea","id":1|"id":1,"name":"tea")\}$' \
    "a POST makes an item under qemu"
got=$(curl -s -m 10 "http://127.0.0.1:$port/api/items/1")
like "$got" '^\{("name":"tea","id":1|"id":1,"name":"tea")\}$' \
    "the item reads back under qemu"
stop_bg http

# A fixed address on QEMU's user network: slirp's network becomes its.
port=$(free_port)
start_bg http "$LUNIK" run --vmm qemu "$top/examples/http.lua" \
    -p "127.0.0.1:$port:80" --ip 10.0.5.20/24
wait_output http 'serving HTTP' 120
got=$(retry 50 curl -s -m 5 "http://127.0.0.1:$port/")
is "$got" "hello from lunik" "-p with --ip reaches the guest under qemu"
stop_bg http

done_testing
