/* guest_mem_test.c: unit tests (TAP) of the guest's page allocator and brk/mmap/munmap/mremap. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "mem.h"

#define PAGE GUEST_PAGE_SIZE
#define REGION_PAGES 64

static int test_n, failed;

static void ok(int cond, const char *name)
{
    test_n++;
    if (!cond)
        failed++;
    printf("%s %d - %s\n", cond ? "ok" : "not ok", test_n, name);
}

static int all_zero(uintptr_t a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (((unsigned char *)a)[i] != 0)
            return 0;
    }
    return 1;
}

/* A fresh zero-filled region of REGION_PAGES pages. */
static uintptr_t region(struct guest_mem *m)
{
    void *p = mmap(NULL, REGION_PAGES * PAGE, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    if (p == MAP_FAILED || guest_mem_init(m, (uintptr_t)p,
                                          (uintptr_t)p + REGION_PAGES * PAGE))
        return 0;
    return (uintptr_t)p;
}

static long anon(struct guest_mem *m, size_t len)
{
    return guest_mem_mmap(m, 0, len, PROT_READ | PROT_WRITE,
                          MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void test_basics(void)
{
    struct guest_mem m;
    uintptr_t base = region(&m);
    size_t free0 = guest_mem_free_bytes(&m);
    long a;

    ok(base != 0, "init manages a zero-filled region");
    ok(free0 > 0 && free0 < REGION_PAGES * PAGE,
       "the bitmaps take some pages, the rest is free");
    a = anon(&m, 100);
    ok(a > 0 && a % PAGE == 0 && (uintptr_t)a >= base &&
       (uintptr_t)a < base + REGION_PAGES * PAGE,
       "mmap returns a page in the region");
    ok(guest_mem_free_bytes(&m) == free0 - PAGE, "mmap rounds up to pages");
    ok(all_zero((uintptr_t)a, PAGE), "mmap memory is zero-filled");
    ok(guest_mem_munmap(&m, (uintptr_t)a, 100) == 0 &&
       guest_mem_free_bytes(&m) == free0, "munmap frees the page");
    ok(guest_mem_mmap(&m, 0, PAGE, PROT_READ, MAP_PRIVATE, 3, 0) == -ENODEV,
       "file mappings fail with ENODEV");
    ok(anon(&m, 0) == -EINVAL, "zero-length mmap fails with EINVAL");
    ok(guest_mem_munmap(&m, (uintptr_t)a + 1, PAGE) == -EINVAL,
       "unaligned munmap fails with EINVAL");
    ok(guest_mem_munmap(&m, base, PAGE) == -EINVAL,
       "munmap of the allocator's own bitmaps fails with EINVAL");
}

static void test_reuse_and_coalescing(void)
{
    struct guest_mem m;
    long a, b, c, d, e;

    region(&m);
    a = anon(&m, PAGE);
    b = anon(&m, PAGE);
    c = anon(&m, PAGE);
    ok(b == a - (long)PAGE && c == b - (long)PAGE,
       "mmap hands out pages from the top down");
    memset((void *)a, 0xaa, PAGE);
    guest_mem_munmap(&m, (uintptr_t)a, PAGE);
    d = anon(&m, PAGE);
    ok(d == a, "a freed page is reused");
    ok(all_zero((uintptr_t)d, PAGE), "a reused dirty page is zeroed");
    guest_mem_munmap(&m, (uintptr_t)d, PAGE);
    guest_mem_munmap(&m, (uintptr_t)b, PAGE);
    e = anon(&m, 2 * PAGE);
    ok(e == b, "two freed neighbours coalesce into one 2-page run");
    ok(guest_mem_madvise(&m, (uintptr_t)e, PAGE, MADV_DONTNEED) == 0,
       "madvise DONTNEED succeeds");
    memset((void *)e, 1, PAGE);
    guest_mem_madvise(&m, (uintptr_t)e, PAGE, MADV_DONTNEED);
    ok(all_zero((uintptr_t)e, PAGE), "madvise DONTNEED zero-fills");
}

static void test_exhaustion(void)
{
    struct guest_mem m;
    size_t pages, n = 0;

    region(&m);
    pages = guest_mem_free_bytes(&m) / PAGE;
    ok(anon(&m, (pages + 1) * PAGE) == -ENOMEM,
       "a mapping larger than free memory fails with ENOMEM");
    while (anon(&m, PAGE) > 0)
        n++;
    ok(n == pages, "every free page can be mapped, one at a time");
    ok(anon(&m, PAGE) == -ENOMEM && guest_mem_free_bytes(&m) == 0,
       "then memory is exhausted: ENOMEM");
}

static void test_brk(void)
{
    struct guest_mem m;
    uintptr_t start, cur;
    size_t free0;
    long top;

    region(&m);
    free0 = guest_mem_free_bytes(&m);
    start = guest_mem_brk(&m, 0);
    ok(start != 0 && start % PAGE == 0, "brk(0) returns the start of the break");
    cur = guest_mem_brk(&m, start + 10000);
    ok(cur == start + 10000, "brk grows the break");
    memset((void *)start, 7, 10000);
    ok(guest_mem_free_bytes(&m) == free0 - 3 * PAGE, "brk takes whole pages");
    ok(guest_mem_brk(&m, start + 100) == start + 100 &&
       guest_mem_free_bytes(&m) == free0 - PAGE, "brk shrinks and frees pages");
    ok(guest_mem_brk(&m, start - PAGE) == start + 100,
       "brk below its start is refused");
    /* Fill from the top until mmap meets the break. */
    while ((top = anon(&m, PAGE)) > 0)
        ;
    ok(guest_mem_brk(&m, start + 2 * PAGE) == start + 100,
       "brk cannot grow into mmap pages: the old break is returned");
    guest_mem_brk(&m, start);
    ok(anon(&m, PAGE) == (long)start, "pages the break gave back go to mmap");
}

static void test_mremap(void)
{
    struct guest_mem m;
    long a, b, r;

    region(&m);
    a = anon(&m, 2 * PAGE);
    b = anon(&m, PAGE);                 /* just below a */
    memset((void *)a, 5, 2 * PAGE);
    r = guest_mem_mremap(&m, (uintptr_t)a, 2 * PAGE, PAGE, 0, 0);
    ok(r == a, "mremap shrinks in place");
    r = guest_mem_mremap(&m, (uintptr_t)a, PAGE, 2 * PAGE, 0, 0);
    ok(r == a && all_zero((uintptr_t)a + PAGE, PAGE),
       "mremap grows in place into free pages, zero-filled");
    r = guest_mem_mremap(&m, (uintptr_t)b, PAGE, 4 * PAGE, 0, 0);
    ok(r == -ENOMEM, "mremap cannot grow into used pages without MAYMOVE");
    memset((void *)b, 9, PAGE);
    r = guest_mem_mremap(&m, (uintptr_t)b, PAGE, 4 * PAGE, MREMAP_MAYMOVE, 0);
    ok(r > 0 && r != b && ((unsigned char *)r)[PAGE - 1] == 9 &&
       all_zero((uintptr_t)r + PAGE, 3 * PAGE),
       "mremap MAYMOVE moves, keeping the contents");
    ok(anon(&m, PAGE) == b, "the old pages of a moved mapping are freed");
    ok(guest_mem_mremap(&m, (uintptr_t)r, PAGE, 0, 0, 0) == -EINVAL,
       "mremap to zero bytes fails with EINVAL");
    ok(guest_mem_mremap(&m, (uintptr_t)r, PAGE, 2 * PAGE, MREMAP_FIXED, 0) ==
       -EINVAL, "MREMAP_FIXED is refused with EINVAL");
}

static void test_fixed(void)
{
    struct guest_mem m;
    long a;

    region(&m);
    a = anon(&m, PAGE);
    guest_mem_munmap(&m, (uintptr_t)a, PAGE);
    ok(guest_mem_mmap(&m, (uintptr_t)a, PAGE, PROT_READ, MAP_PRIVATE |
                      MAP_ANONYMOUS | MAP_FIXED, -1, 0) == a,
       "MAP_FIXED maps exactly at the address");
    ok(guest_mem_mmap(&m, (uintptr_t)a, PAGE, PROT_READ, MAP_PRIVATE |
                      MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0) == -EEXIST,
       "MAP_FIXED_NOREPLACE over used pages fails with EEXIST");
    ok(guest_mem_mmap(&m, 4096, PAGE, PROT_READ, MAP_PRIVATE |
                      MAP_ANONYMOUS | MAP_FIXED, -1, 0) == -EINVAL,
       "MAP_FIXED outside the region fails with EINVAL");
}

int main(void)
{
    test_basics();
    test_reuse_and_coalescing();
    test_exhaustion();
    test_brk();
    test_mremap();
    test_fixed();
    printf("1..%d\n", test_n);
    return failed != 0;
}
