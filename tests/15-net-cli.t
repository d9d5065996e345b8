#!/usr/bin/env bash
# 15-net-cli.t: the network options of `lunik run` (--net, -p, --ip, --mac): bad values and back ends that cannot start.
own_netns=1    # all of it runs in a network namespace of its own (lib.sh)
. "$(dirname "$0")/lib.sh"

write ran.lua <<'LUA'
print("the program ran")
LUA
app=$scratch/ran.lua

run_lunik help run
like "$out" "--net user\|tap:NAME\|none" "help run shows --net"
like "$out" "-p \[HOSTADDR:\]HOSTPORT:GUESTPORT" "help run shows -p"
like "$out" "--ip ADDR/PREFIX" "help run shows --ip"
like "$out" "--mac" "help run shows --mac"

# usage_error NAME ERE ARGS...: exit 64, one line on stderr matching ERE,
# and the program never runs.
usage_error() {
    local name=$1 re=$2
    shift 2
    run_lunik run "$app" --target hosted "$@"
    if [ "$rc" = 64 ] && [ "$(printf '%s\n' "$err" | wc -l)" = 1 ] &&
       printf '%s\n' "$err" | grep -Eq -- "^lunik: .*$re" &&
       [ -z "$out" ]; then
        pass "$name"
    else
        fail "$name"; diag "rc=$rc" "stdout: $out" "stderr: $err"
    fi
}

usage_error "--net with an unknown kind" "'bogus' is not a network" \
    --net bogus
usage_error "--net tap: without a name" "not a network interface name" \
    --net tap:
usage_error "--net tap: with a name too long for Linux" \
    "not a network interface name" --net tap:abcdefghijklmnopq
usage_error "--net tap: with a slash" "not a network interface name" \
    --net tap:a/b
usage_error "-p with one port" "is not \[HOSTADDR" -p 8080
usage_error "-p with four fields" "is not \[HOSTADDR" -p 1:2:3:4
usage_error "-p with a port that is not a number" "1 to 65535" -p http:80
usage_error "-p with port 0" "1 to 65535" -p 0:80
usage_error "-p with port 70000" "1 to 65535" -p 8080:70000
usage_error "-p with a bad protocol" "/tcp or /udp" -p 8080:80/sctp
usage_error "-p with a bad host address" "'1.2.3' is not an IPv4 address" \
    -p 1.2.3:8080:80
usage_error "-p twice for one host port" "already forwarded" \
    -p 8080:80 -p 8080:81
usage_error "-p with a tap" "user only" -p 8080:80 --net tap:lunikt9
usage_error "-p with --net none" "needs a network" --net none -p 8080:80
usage_error "--ip without a prefix" "is not ADDR/PREFIX" \
    --net user --ip 10.0.2.20
usage_error "--ip with prefix 33" "prefix length" --net user --ip 10.0.2.20/33
usage_error "--ip with a bad address" "is not ADDR/PREFIX" \
    --net user --ip 10.0.2/24
usage_error "--ip with the network's own address" "own or broadcast" \
    --net user --ip 10.0.2.0/24
usage_error "--ip with a gateway outside the network" "same network" \
    --net user --ip 10.0.2.20/24,10.0.3.1
usage_error "--ip with a bad gateway" "gateway '10.0.2' is not" \
    --net user --ip 10.0.2.20/24,10.0.2
usage_error "--ip on slirp's gateway address" "another address" \
    --net user --ip 10.0.2.2/24
usage_error "--ip on slirp's DNS address" "another address" \
    --net user --ip 10.0.2.3/24
usage_error "--ip without a network" "need a network" --ip 10.0.2.20/24
usage_error "--mac too short" "is not a MAC address" \
    --net user --mac 52:54:00:12:34
usage_error "--mac not hexadecimal" "is not a MAC address" \
    --net user --mac 52:54:00:12:34:zz
usage_error "--mac multicast" "multicast" --net user --mac 01:00:5e:00:00:01
usage_error "--mac without a network" "need a network" \
    --mac 52:54:00:12:34:57

# A back end that cannot start: one line naming the cause, exit 71, and
# the program does not run; on every target.
port_file=$scratch/held_port
perl -MIO::Socket::INET -e '
    my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0,
                                  Listen => 1) or die "listen: $!";
    my @free = map { IO::Socket::INET->new(LocalAddr => "127.0.0.1",
                        LocalPort => 0, Proto => $_) } qw(tcp udp);
    my @ports = ($s->sockport, map { $_->sockport } @free);
    close $_ for @free;
    open my $f, ">", $ARGV[0] or die; print $f "@ports\n"; close $f;
    sleep 120' "$port_file" &
holder=$!
for _ in $(seq 100); do [ -s "$port_file" ] && break; sleep 0.1; done
read -r held free_tcp free_udp <"$port_file"

for t in $(targets); do
    run_lunik run "$app" --target "$t" --net tap:nosuchtap0
    is "$rc" 71 "a missing tap interface exits 71 on $t"
    is "$err" "lunik: no network interface named 'nosuchtap0'" \
        "a missing tap interface is named in one line on $t"
    is "$out" "" "the program does not run without its tap on $t"

    run_lunik run "$app" --target "$t" --net tap:lo
    is "$rc" 71 "an interface that is not a tap exits 71 on $t"
    is "$err" "lunik: network interface 'lo' is not a tap interface" \
        "... saying so on $t"

    if [ -n "${held:-}" ]; then
        run_lunik run "$app" --target "$t" -p "$held:80"
        is "$rc" 71 "a host port in use exits 71 on $t"
        like "$err" "^lunik: cannot forward host port 127.0.0.1:$held/tcp: Address already in use$" \
            "a host port in use is named in one line on $t"
        is "$out" "" "the program does not run without its port on $t"
    else
        skip "a host port in use on $t" "perl could not hold a port"
    fi

    run_lunik run "$app" --target "$t" --net user \
        -p "127.0.0.1:$free_udp:53/udp" -p "$free_tcp:80/tcp" \
        --ip 192.168.50.7/24,192.168.50.1 --mac 02:00:00:00:00:01
    is "$rc" 0 "valid network options run the program on $t"
    is "$out" "the program ran" "... which prints on $t"
done
note_kvm_skip "network back ends that cannot start"

# An existing tap, made in the test's own network namespace: the program
# runs attached to it (needs CAP_NET_ADMIN).
tap=lunikt1
if [ -n "$netns_why" ]; then
    skip "runs on a tap" "$netns_why"
elif ip tuntap add dev "$tap" mode tap >/dev/null 2>&1; then
    for t in $(targets); do
        run_lunik run "$app" --target "$t" --net "tap:$tap" \
            --ip 10.0.78.2/24
        is "$rc" 0 "a program runs on the tap $tap on $t"
        is "$out" "the program ran" "... and prints on $t"
    done
    ip link del "$tap"
    ok $? "the tap $tap is removed"
else
    skip "runs on a tap" "cannot create one here (ip tuntap add dev $tap \
mode tap failed: it needs CAP_NET_ADMIN and /dev/net/tun)"
fi
kill "$holder" 2>/dev/null
wait "$holder" 2>/dev/null

done_testing
