/* lua_guest.h: forced into the guest's Lua build: print() leaves stdout to stdio's buffer. */
#ifndef LUNIK_GUEST_LUA_GUEST_H
#define LUNIK_GUEST_LUA_GUEST_H

/*
 * Lua's print() ends with fflush(stdout) (lauxlib.h, lua_writeline). On
 * the kvm target a system call is a trap the hypervisor handles (tens of
 * microseconds on kvm_pvm), so a flush per line would cost more than the
 * printing. The guest's stdout is flushed instead whenever the runtime
 * waits or exits (runtime.c), and by stdio when its buffer is full or,
 * on a terminal, at every newline (guest/main.c). Errors and warnings
 * flush stdout first, so they keep their place after earlier output.
 */
#include <stdio.h>

#define lua_writeline() ((void)lua_writestring("\n", 1))
#define lua_writestringerror(s, p) \
    (fflush(stdout), fprintf(stderr, (s), (p)), fflush(stderr))

#endif
