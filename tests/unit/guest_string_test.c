/* guest_string_test.c: unit tests (TAP) of the guest's memcpy, memmove and memset (guest/string.c) against byte-by-byte references. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

/* guest/string.c, compiled with its functions renamed (build.mk), so the
 * test's own C library stays the host's. */
void *gs_memcpy(void *restrict d, const void *restrict s, size_t n);
void *gs_memcpy_fwd(void *restrict d, const void *restrict s, size_t n);
void *gs_memmove(void *d, const void *s, size_t n);
void *gs_memset(void *d, int c, size_t n);

#define ROOM 1024
#define MAXN 300

static int test_n, failed;

static void ok(int cond, const char *name)
{
    test_n++;
    if (!cond)
        failed++;
    printf("%s %d - %s\n", cond ? "ok" : "not ok", test_n, name);
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)(seed * 131u + i * 7u + (i >> 8));
}

static int same(const unsigned char *a, const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (a[i] != b[i])
            return 0;
    return 1;
}

/* Every length 0..MAXN at every alignment 0..15 of both ends; the bytes
 * around the destination stay untouched. */
static int check_copy(void *(*fn)(void *, const void *, size_t))
{
    static unsigned char src[ROOM], dst[ROOM], want[ROOM];

    for (size_t n = 0; n <= MAXN; n++)
        for (size_t da = 0; da < 16; da++)
            for (size_t sa = 0; sa < 16; sa++) {
                fill(src, ROOM, (unsigned)(n + sa));
                fill(dst, ROOM, (unsigned)(n + da + 99));
                for (size_t i = 0; i < ROOM; i++)
                    want[i] = dst[i];
                for (size_t i = 0; i < n; i++)
                    want[64 + da + i] = src[64 + sa + i];
                if (fn(dst + 64 + da, src + 64 + sa, n) != dst + 64 + da ||
                    !same(dst, want, ROOM))
                    return 0;
            }
    return 1;
}

/* memmove within one buffer: every length and every shift -40..40; the
 * result is as if the source had been copied out first. */
static int check_overlap(void)
{
    static unsigned char buf[ROOM], want[ROOM];

    for (size_t n = 0; n <= MAXN; n++)
        for (int shift = -40; shift <= 40; shift++) {
            size_t from = 100, to = (size_t)(100 + shift);
            fill(buf, ROOM, (unsigned)n);
            for (size_t i = 0; i < ROOM; i++)
                want[i] = buf[i];
            for (size_t i = 0; i < n; i++)
                want[to + i] = buf[from + i];     /* buf is the original */
            if (gs_memmove(buf + to, buf + from, n) != buf + to ||
                !same(buf, want, ROOM))
                return 0;
        }
    return 1;
}

static int check_set(void)
{
    static unsigned char buf[ROOM], want[ROOM];

    for (size_t n = 0; n <= MAXN; n++)
        for (size_t a = 0; a < 16; a++) {
            int c = (int)(n * 37 + a) - 128;      /* negative values too */
            fill(buf, ROOM, (unsigned)n);
            for (size_t i = 0; i < ROOM; i++)
                want[i] = buf[i];
            for (size_t i = 0; i < n; i++)
                want[64 + a + i] = (unsigned char)c;
            if (gs_memset(buf + 64 + a, c, n) != buf + 64 + a ||
                !same(buf, want, ROOM))
                return 0;
        }
    return 1;
}

static void *copy_restrictless(void *d, const void *s, size_t n)
{
    return gs_memcpy(d, s, n);
}

static void *copy_fwd(void *d, const void *s, size_t n)
{
    return gs_memcpy_fwd(d, s, n);
}

static void *move(void *d, const void *s, size_t n)
{
    return gs_memmove(d, s, n);
}

int main(void)
{
    ok(check_copy(copy_restrictless),
       "memcpy: lengths 0..300 at every alignment, nothing else written");
    ok(check_copy(copy_fwd), "__memcpy_fwd (musl's memmove uses it) too");
    ok(check_copy(move), "memmove between separate buffers");
    ok(check_overlap(), "memmove within one buffer, both directions");
    ok(check_set(), "memset: lengths 0..300 at every alignment, any byte");
    printf("1..%d\n", test_n);
    return failed != 0;
}
