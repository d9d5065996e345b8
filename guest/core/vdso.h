/* vdso.h: the vDSO the libOS hands musl (AT_SYSINFO_EHDR). */
#ifndef LUNIK_GUEST_VDSO_H
#define LUNIK_GUEST_VDSO_H

/*
 * guest_vdso: the address of an ELF image that exports
 * __vdso_clock_gettime (the x86_64 Linux vDSO's name for it), built on the
 * first call; for the initial stack's AT_SYSINFO_EHDR. Its clock_gettime
 * answers as the shim's system call does (sys.c), by a plain call.
 */
const void *guest_vdso(void);

#endif
