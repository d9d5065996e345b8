#!/usr/bin/env bash
# 20-examples.t: every example boots and behaves on every target.
. "$(dirname "$0")/lib.sh"

for t in $(targets); do
    run_lunik run "$top/examples/hello.lua" --target "$t"
    ok $rc "hello exits 0 on $t"
    is "$out" "hello from $t" "hello prints its greeting on $t"
    is "$err" "" "hello prints nothing on stderr on $t"

    run_lunik run "$top/examples/timers.lua" --target "$t"
    ok $rc "timers exits 0 on $t"
    events=$(echo "$out" | sed 's/^ *[0-9.]* s  //')
    # Deadline order, whatever the machine's speed: a slow one skips ticks
    # (every() skips missed ticks) and may wake the sleeper later.
    ticks=$(echo "$events" | grep -c '^tick ')
    is "$(echo "$events" | grep -v '^woke up')" "after 0.1 s; this handler now sleeps 0.3 s
$(seq 1 "$ticks" | sed 's/^/tick /')
ticker cancelled after $ticks ticks
done" "timers fire in order on $t"
    is "$(echo "$events" | grep -E '^(tick 1$|woke up)' | cut -c 1-4)" "tick
woke" "the sleeping handler wakes after the first tick on $t"

    stdin=$scratch/in.txt
    printf 'hello\nworld\nquit\nnever seen\n' >"$stdin"
    run_lunik run "$top/examples/echo.lua" --target "$t"
    unset stdin
    ok $rc "echo exits 0 on quit on $t"
    is "$out" "type lines; 'quit' or end of input stops
1: HELLO
2: WORLD
bye after 2 lines" "echo answers each line on $t"

    out=$(printf 'a\nlast line without newline' |
        timeout 60 "$LUNIK" run "$top/examples/echo.lua" --target "$t")
    rc=$?
    ok $rc "echo ends at end of input on $t"
    is "$out" "type lines; 'quit' or end of input stops
1: A
2: LAST LINE WITHOUT NEWLINE" "echo gets the unterminated last line on $t"
done
note_kvm_skip "examples"

done_testing
