/* sys.h: the guest's Linux system-call shim, so musl runs unmodified. */
#ifndef LUNIK_GUEST_SYS_H
#define LUNIK_GUEST_SYS_H

#include <stddef.h>
#include <stdint.h>

#include "lunik/hypercall.h"
#include "mem.h"

/*
 * guest_sys_init: serve memory calls from m (kept, not copied), console and
 * file descriptors from a fresh table (0, 1, 2 = the console), the clocks
 * from platform.h. Call once before the first system call.
 */
void guest_sys_init(struct guest_mem *m);

/*
 * guest_sys_dispatch: run Linux x86_64 system call nr with arguments
 * args[0..5] (rdi, rsi, rdx, r10, r8, r9) and return its result: >= 0, or a
 * negative errno as the Linux kernel does. A call the shim does not serve
 * returns -ENOSYS and is logged once per call number on stderr. Reentrant
 * (a call may allocate, which calls brk/mmap again). Called by
 * guest_syscall_entry (entry.S) and by the unit tests.
 */
long guest_sys_dispatch(unsigned nr, const long args[6]);

/*
 * guest_sys_call: as guest_sys_dispatch, for the libOS's own entry points
 * that musl reaches by a plain call instead of a `syscall` instruction
 * (vdso.c, memcalls.c): the same answer without the trap, which costs
 * tens of microseconds on kvm_pvm. Counted apart (direct[]).
 */
long guest_sys_call(unsigned nr, const long args[6]);

/* guest_sys_counters: the shim's counters (system calls by number since
 * boot), which the shim keeps up to date; for `lunik run --stats`. */
struct lunik_guest_counters *guest_sys_counters(void);

/*
 * Hooks the shim needs besides platform.h and vfs.h, implemented by
 * guest/core/platform.c in the guest (fakes in the unit tests):
 */

/* guest_console_winsize: if console stream fd (0..2) is a terminal on the
 * host, store its size and return 0; else -ENOTTY (as TIOCGWINSZ). */
int guest_console_winsize(int fd, uint16_t *rows, uint16_t *cols);

/* guest_random: n random bytes (getrandom(2)). */
void guest_random(void *p, size_t n);

/* guest_set_tls: make base the thread pointer (FS base; arch_prctl(2)). */
void guest_set_tls(uint64_t base);

#endif
