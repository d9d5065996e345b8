/* string.c: memcpy, memmove and memset for the guest with plain loads and stores, not x86 string instructions. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/*
 * musl's x86_64 memcpy, memmove and memset are written in assembly around
 * `rep movsq` / `movsb` / `rep stosq`. Under kvm_pvm the guest runs them
 * more than ten times slower than ordinary moves: Lua's string.rep, which
 * calls memcpy once per copy, managed 16 MB/s instead of ~250 MB/s. These
 * definitions take the place of musl's (their archive members, memcpy.lo
 * with its internal __memcpy_fwd, memmove.lo and memset.lo, then stay out
 * of the static link). This file is built with
 * -fno-tree-loop-distribute-patterns so that GCC does not turn the loops
 * back into calls to themselves.
 */

typedef uint64_t word __attribute__((may_alias, aligned(1)));

void *__memcpy_fwd(void *restrict d, const void *restrict s, size_t n);

/* Copy n bytes upwards, 32 at a time: loads before stores, so an overlap
 * with d below s is safe too (memmove). */
static inline __attribute__((always_inline)) void copy_up(unsigned char *d, const unsigned char *s, size_t n)
{
    for (; n >= 32; d += 32, s += 32, n -= 32) {
        word a = *(const word *)s, b = *(const word *)(s + 8);
        word c = *(const word *)(s + 16), e = *(const word *)(s + 24);
        *(word *)d = a;
        *(word *)(d + 8) = b;
        *(word *)(d + 16) = c;
        *(word *)(d + 24) = e;
    }
    for (; n >= 8; d += 8, s += 8, n -= 8)
        *(word *)d = *(const word *)s;
    while (n-- > 0)
        *d++ = *s++;
}

/* Copy n bytes downwards (memmove with d above s). */
static inline __attribute__((always_inline)) void copy_down(unsigned char *d, const unsigned char *s, size_t n)
{
    d += n;
    s += n;
    for (; n >= 32; n -= 32) {
        d -= 32;
        s -= 32;
        word a = *(const word *)s, b = *(const word *)(s + 8);
        word c = *(const word *)(s + 16), e = *(const word *)(s + 24);
        *(word *)(d + 24) = e;
        *(word *)(d + 16) = c;
        *(word *)(d + 8) = b;
        *(word *)d = a;
    }
    while (n-- > 0)
        *--d = *--s;
}

void *memcpy(void *restrict d, const void *restrict s, size_t n)
{
    copy_up(d, s, n);
    return d;
}

void *__memcpy_fwd(void *restrict d, const void *restrict s, size_t n)
{
    copy_up(d, s, n);
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    if ((uintptr_t)d - (uintptr_t)s >= n)
        copy_up(d, s, n);               /* d below s, or no overlap */
    else
        copy_down(d, s, n);
    return d;
}

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    word w = 0x0101010101010101ull * (unsigned char)c;

    for (; n >= 32; p += 32, n -= 32) {
        *(word *)p = w;
        *(word *)(p + 8) = w;
        *(word *)(p + 16) = w;
        *(word *)(p + 24) = w;
    }
    for (; n >= 8; p += 8, n -= 8)
        *(word *)p = w;
    while (n-- > 0)
        *p++ = (unsigned char)c;
    return d;
}
