/* memcalls.c: musl's memory calls (mmap, munmap, mremap, madvise) answered by the libOS through a plain call, without a trap. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "sys.h"

/*
 * Every `syscall` instruction is a trap into the host on kvm_pvm (tens of
 * microseconds), and musl's malloc maps and unmaps memory all the time:
 * about 70 calls before a program's first line, thousands in an
 * allocation-heavy one. musl 1.2 (Debian 12's musl-dev) makes these calls
 * through its internal names __mmap, __munmap, __mremap and __madvise,
 * which live, with the public names, in one archive member each
 * (mmap.lo, ...). Defining both names here keeps those members out of the
 * static link, so every caller reaches the shim's own answer
 * (guest_sys_call) directly; results and errno are as the system call's.
 * brk stays a system call (musl issues it inline, and rarely).
 */

void *__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off);
int __munmap(void *addr, size_t len);
void *__mremap(void *old, size_t old_len, size_t new_len, int flags, ...);
int __madvise(void *addr, size_t len, int advice);

/* A system-call result as the C library returns it: errno and -1. */
static long ret(long r)
{
    if (r < 0 && r > -4096) {
        errno = (int)-r;
        return -1;
    }
    return r;
}

void *__mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    const long a[6] = { (long)(uintptr_t)addr, (long)len, prot, flags, fd,
                        (long)off };

    return (void *)(uintptr_t)ret(guest_sys_call(SYS_mmap, a));
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
    return __mmap(addr, len, prot, flags, fd, off);
}

int __munmap(void *addr, size_t len)
{
    const long a[6] = { (long)(uintptr_t)addr, (long)len };

    return (int)ret(guest_sys_call(SYS_munmap, a));
}

int munmap(void *addr, size_t len)
{
    return __munmap(addr, len);
}

void *__mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    long a[6] = { (long)(uintptr_t)old, (long)old_len, (long)new_len, flags };
    va_list ap;

    if (flags & MREMAP_FIXED) {
        va_start(ap, flags);
        a[4] = (long)(uintptr_t)va_arg(ap, void *);
        va_end(ap);
    }
    return (void *)(uintptr_t)ret(guest_sys_call(SYS_mremap, a));
}

void *mremap(void *old, size_t old_len, size_t new_len, int flags, ...)
{
    void *new_addr = NULL;
    va_list ap;

    if (flags & MREMAP_FIXED) {
        va_start(ap, flags);
        new_addr = va_arg(ap, void *);
        va_end(ap);
    }
    return __mremap(old, old_len, new_len, flags, new_addr);
}

int __madvise(void *addr, size_t len, int advice)
{
    const long a[6] = { (long)(uintptr_t)addr, (long)len, advice };

    return (int)ret(guest_sys_call(SYS_madvise, a));
}

int madvise(void *addr, size_t len, int advice)
{
    return __madvise(addr, len, advice);
}
