/* mem.c: the guest's page allocator and its Linux memory calls (brk, mmap, ...). */
#include "mem.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define PAGE GUEST_PAGE_SIZE
#define ALL ~(uint64_t)0

static uintptr_t page_down(uintptr_t a) { return a & ~(uintptr_t)(PAGE - 1); }
static uintptr_t page_up(uintptr_t a) { return page_down(a + PAGE - 1); }

static int bit(const uint64_t *map, size_t i)
{
    return (int)(map[i / 64] >> (i % 64) & 1);
}

static void set_bits(uint64_t *map, size_t first, size_t n, int on)
{
    for (size_t i = first; i < first + n; i++) {
        if (i % 64 == 0 && first + n - i >= 64) {
            map[i / 64] = on ? ALL : 0;
            i += 63;
        } else if (on) {
            map[i / 64] |= (uint64_t)1 << (i % 64);
        } else {
            map[i / 64] &= ~((uint64_t)1 << (i % 64));
        }
    }
}

static size_t count_bits(const uint64_t *map, size_t first, size_t n)
{
    size_t c = 0;

    for (size_t i = first; i < first + n; i++)
        c += (size_t)bit(map, i);
    return c;
}

static uintptr_t page_addr(const struct guest_mem *m, size_t i)
{
    return m->base + i * PAGE;
}

/* Index of the first page of [a, a+len) if it lies in the region past the
 * bitmaps (which no call may touch); else -1. */
static long range_pages(const struct guest_mem *m, uintptr_t a, size_t len)
{
    uintptr_t end = m->base + m->npages * PAGE;

    if (a < m->brk_start || a > end || len > end - a)
        return -1;
    return (long)((a - m->base) / PAGE);
}

/* Mark pages [first, first+n) used, zero-filled. */
static void take(struct guest_mem *m, size_t first, size_t n)
{
    for (size_t i = first; i < first + n; i++) {
        if (bit(m->dirty, i))
            memset((void *)page_addr(m, i), 0, PAGE);
    }
    m->free_pages -= n - count_bits(m->used, first, n);
    set_bits(m->used, first, n, 1);
    set_bits(m->dirty, first, n, 1);
}

static void give_back(struct guest_mem *m, size_t first, size_t n)
{
    m->free_pages += count_bits(m->used, first, n);
    set_bits(m->used, first, n, 0);
}

static int all_free(const struct guest_mem *m, size_t first, size_t n)
{
    for (size_t i = first; i < first + n; i++) {
        if (bit(m->used, i))
            return 0;
    }
    return 1;
}

/* Highest run of n free pages, as its first index; -1 if none. Whole
 * words of the bitmap are skipped at once. */
static long find_top(const struct guest_mem *m, size_t n)
{
    size_t top = m->npages;             /* the run is [i, top) */
    size_t i = m->npages;

    while (i > 0) {
        if (i % 64 == 0 && i >= 64) {
            uint64_t w = m->used[i / 64 - 1];
            if (w == ALL) {
                i -= 64;
                top = i;
                continue;
            }
            if (w == 0) {
                if (top - (i - 64) >= n)
                    return (long)(top - n);
                i -= 64;
                continue;
            }
        }
        i--;
        if (bit(m->used, i))
            top = i;
        else if (top - i >= n)
            return (long)i;
    }
    return -1;
}

int guest_mem_init(struct guest_mem *m, uintptr_t start, uintptr_t end)
{
    size_t words, map_pages;

    memset(m, 0, sizeof *m);
    start = page_up(start);
    end = page_down(end);
    if (end <= start)
        return -ENOMEM;
    m->base = start;
    m->npages = (end - start) / PAGE;
    words = (m->npages + 63) / 64;
    map_pages = (2 * words * sizeof(uint64_t) + PAGE - 1) / PAGE;
    if (map_pages >= m->npages)
        return -ENOMEM;
    m->used = (uint64_t *)start;
    m->dirty = m->used + words;
    set_bits(m->used, 0, map_pages, 1);
    set_bits(m->dirty, 0, map_pages, 1);
    m->free_pages = m->npages - map_pages;
    m->brk_start = page_addr(m, map_pages);
    m->brk_cur = m->brk_start;
    return 0;
}

uintptr_t guest_mem_brk(struct guest_mem *m, uintptr_t addr)
{
    uintptr_t old_end = page_up(m->brk_cur), new_end = page_up(addr);
    long first;

    if (addr < m->brk_start)
        return m->brk_cur;
    if (new_end > old_end) {
        first = range_pages(m, old_end, new_end - old_end);
        if (first < 0 || !all_free(m, (size_t)first,
                                   (new_end - old_end) / PAGE))
            return m->brk_cur;
        take(m, (size_t)first, (new_end - old_end) / PAGE);
    } else if (new_end < old_end) {
        first = range_pages(m, new_end, old_end - new_end);
        give_back(m, (size_t)first, (old_end - new_end) / PAGE);
    }
    m->brk_cur = addr;
    return addr;
}

static long mmap_fixed(struct guest_mem *m, uintptr_t addr, size_t len,
                       int flags)
{
    long first = range_pages(m, addr, len);

    if (addr % PAGE || first < 0)
        return -EINVAL;                 /* not ours: the kernel, the bundle */
    if ((flags & MAP_FIXED_NOREPLACE) && !all_free(m, (size_t)first,
                                                   len / PAGE))
        return -EEXIST;
    take(m, (size_t)first, len / PAGE);
    return (long)addr;
}

long guest_mem_mmap(struct guest_mem *m, uintptr_t addr, size_t len,
                    int prot, int flags, int fd, long off)
{
    long first;

    if (!(flags & MAP_ANONYMOUS))
        return -ENODEV;
    if (len == 0 || len > m->npages * PAGE)
        return len == 0 ? -EINVAL : -ENOMEM;
    len = page_up(len);
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE))
        return mmap_fixed(m, addr, len, flags);
    first = find_top(m, len / PAGE);
    if (first < 0)
        return -ENOMEM;
    take(m, (size_t)first, len / PAGE);
    return (long)page_addr(m, (size_t)first);
}

long guest_mem_munmap(struct guest_mem *m, uintptr_t addr, size_t len)
{
    long first;

    if (addr % PAGE || len == 0)
        return -EINVAL;
    len = page_up(len);
    first = range_pages(m, addr, len);
    if (first < 0)
        return -EINVAL;
    give_back(m, (size_t)first, len / PAGE);
    return 0;
}

long guest_mem_mremap(struct guest_mem *m, uintptr_t old, size_t old_len,
                      size_t new_len, int flags, uintptr_t new_addr)
{
    long first, moved;

    if (old % PAGE || new_len == 0 || (flags & ~MREMAP_MAYMOVE))
        return -EINVAL;
    old_len = page_up(old_len);
    new_len = page_up(new_len);
    first = range_pages(m, old, old_len);
    if (first < 0 || old_len == 0)
        return -EINVAL;
    if (new_len <= old_len) {
        give_back(m, (size_t)first + new_len / PAGE,
                  (old_len - new_len) / PAGE);
        return (long)old;
    }
    if (range_pages(m, old, new_len) >= 0 &&
        all_free(m, (size_t)first + old_len / PAGE,
                 (new_len - old_len) / PAGE)) {
        take(m, (size_t)first + old_len / PAGE, (new_len - old_len) / PAGE);
        return (long)old;
    }
    if (!(flags & MREMAP_MAYMOVE))
        return -ENOMEM;
    moved = guest_mem_mmap(m, 0, new_len, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (moved < 0)
        return moved;
    memcpy((void *)moved, (void *)old, old_len);
    give_back(m, (size_t)first, old_len / PAGE);
    return moved;
}

long guest_mem_madvise(struct guest_mem *m, uintptr_t addr, size_t len,
                       int advice)
{
    long first;

    if (addr % PAGE)
        return -EINVAL;
    if (advice != MADV_DONTNEED || len == 0)
        return 0;
    len = page_up(len);
    first = range_pages(m, addr, len);
    if (first < 0)
        return -EINVAL;
    memset((void *)addr, 0, len);
    return 0;
}

size_t guest_mem_free_bytes(const struct guest_mem *m)
{
    return m->free_pages * PAGE;
}
