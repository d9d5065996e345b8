/* alloc.c: the Lua state's memory allocator: size classes for small blocks. */
#include "alloc.h"
#include "guard.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Lua tells the allocator the old size of every block it frees or resizes,
 * so small blocks need no header: the size picks the class, and each class
 * keeps a singly linked free list threaded through its free blocks. Chunks
 * are never returned to the C library; freed small blocks are reused by
 * later allocations of the same class. Invariant: a block of class c has
 * (c + 1) * RT_ALLOC_GRAIN bytes and came from free_list[c] or a chunk.
 */

#define RT_ALLOC_GRAIN 16
#define RT_ALLOC_CLASSES (RT_ALLOC_SMALL_MAX / RT_ALLOC_GRAIN)
#define RT_ALLOC_CHUNK (64 * 1024)

struct rt_free_block {
    struct rt_free_block *next;
};

static struct rt_free_block *free_list[RT_ALLOC_CLASSES];
static char *chunk_next, *chunk_end;    /* the unused end of the last chunk */

/* What the Lua heap has from the C library: its chunks and its large
 * blocks (small blocks stay in their class once freed), and the most it
 * may have. Small blocks cost no accounting; a new chunk and every large
 * block are checked against the limit. */
static size_t in_use;
static size_t limit = (size_t)-1;
static int reserve_on;                  /* rt_alloc_reserve */

static size_t size_class(size_t n)
{
    return (n - 1) / RT_ALLOC_GRAIN;
}

/* A block of class c, from its free list or the current chunk, or NULL. */
static void *small_alloc(size_t c)
{
    size_t size = (c + 1) * RT_ALLOC_GRAIN;
    struct rt_free_block *b = free_list[c];

    if (b != NULL) {
        free_list[c] = b->next;
        return b;
    }
    if ((size_t)(chunk_end - chunk_next) < size) {
        if (RT_ALLOC_CHUNK > limit - in_use)
            return NULL;
        char *chunk = malloc(RT_ALLOC_CHUNK);
        if (chunk == NULL)
            return NULL;
        in_use += RT_ALLOC_CHUNK;
        /* The old chunk's tail is too small for this class: give it to
         * the classes that fit, largest first. */
        while (chunk_end - chunk_next >= RT_ALLOC_GRAIN) {
            size_t t = size_class((size_t)(chunk_end - chunk_next) / RT_ALLOC_GRAIN
                                  * RT_ALLOC_GRAIN);
            struct rt_free_block *tail = (void *)chunk_next;
            tail->next = free_list[t];
            free_list[t] = tail;
            chunk_next += (t + 1) * RT_ALLOC_GRAIN;
        }
        chunk_next = chunk;
        chunk_end = chunk + RT_ALLOC_CHUNK;
    }
    b = (void *)chunk_next;
    chunk_next += size;
    return b;
}

static void small_free(void *p, size_t c)
{
    struct rt_free_block *b = p;

    b->next = free_list[c];
    free_list[c] = b;
}

/*
 * Large blocks of RT_ALLOC_CACHED_MIN..RT_ALLOC_CACHED_MAX bytes are
 * rounded up to whole RT_ALLOC_CACHED_STEPs and, once freed, kept per
 * rounded size (up to RT_ALLOC_CACHE_BYTES in all) for the next block of
 * that size. A program moving data in 16-256 KiB strings (a bulk TCP
 * transfer) otherwise has the C library map and unmap memory for each
 * (musl's malloc gives such blocks their own mapping), and the guest
 * zeroes every page it maps again. Kept blocks still count in in_use;
 * an allocation that would pass the limit frees them first.
 */
#define RT_ALLOC_CACHED_MIN (16 * 1024)
#define RT_ALLOC_CACHED_MAX (256 * 1024)
#define RT_ALLOC_CACHED_STEP 4096
#define RT_ALLOC_CACHE_BYTES (1024 * 1024)
#define RT_ALLOC_CACHE_SLOTS (RT_ALLOC_CACHED_MAX / RT_ALLOC_CACHED_STEP)

static struct rt_free_block *large_cache[RT_ALLOC_CACHE_SLOTS + 1];
static size_t cached;                   /* bytes in large_cache */

/* The bytes a large block of n really takes (its rounded size). */
static size_t large_size(size_t n)
{
    if (n < RT_ALLOC_CACHED_MIN || n > RT_ALLOC_CACHED_MAX)
        return n;
    return (n + RT_ALLOC_CACHED_STEP - 1) & ~(size_t)(RT_ALLOC_CACHED_STEP - 1);
}

/* Give every kept block back to the C library. */
static void large_cache_drop(void)
{
    for (size_t i = 0; i <= RT_ALLOC_CACHE_SLOTS; i++) {
        while (large_cache[i] != NULL) {
            struct rt_free_block *b = large_cache[i];
            large_cache[i] = b->next;
            free(b);
            in_use -= i * RT_ALLOC_CACHED_STEP;
        }
    }
    cached = 0;
}

/* A large block of n bytes (rounded: large_size) from the cache or the C
 * library, if the limit and the guard (no large block for a handler over
 * its budget) allow. */
static void *large_alloc(size_t n)
{
    size_t r = large_size(n);
    void *p;

    if (n >= RT_GUARD_LARGE && !rt_guard_alloc_ok(n))
        return NULL;
    if (r != n && large_cache[r / RT_ALLOC_CACHED_STEP] != NULL) {
        struct rt_free_block *b = large_cache[r / RT_ALLOC_CACHED_STEP];
        large_cache[r / RT_ALLOC_CACHED_STEP] = b->next;
        cached -= r;
        return b;
    }
    if (r > limit - in_use && cached > 0)
        large_cache_drop();
    if (r > limit - in_use)
        return NULL;
    if ((p = malloc(r)) != NULL)
        in_use += r;
    return p;
}

static void large_free(void *p, size_t n)
{
    size_t r = large_size(n);

    if (r != n && cached + r <= RT_ALLOC_CACHE_BYTES) {
        struct rt_free_block *b = p;
        b->next = large_cache[r / RT_ALLOC_CACHED_STEP];
        large_cache[r / RT_ALLOC_CACHED_STEP] = b;
        cached += r;
        return;
    }
    free(p);
    in_use -= r;
}

void *rt_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
    int old_small = ptr != NULL && osize <= RT_ALLOC_SMALL_MAX;
    void *n;

    (void)ud;
    if (nsize == 0) {
        if (old_small)
            small_free(ptr, size_class(osize));
        else if (ptr != NULL)
            large_free(ptr, osize);
        return NULL;
    }
    if (ptr == NULL)
        return nsize <= RT_ALLOC_SMALL_MAX ? small_alloc(size_class(nsize))
                                           : large_alloc(nsize);
    if (old_small && nsize <= RT_ALLOC_SMALL_MAX &&
        size_class(osize) == size_class(nsize))
        return ptr;
    if (!old_small && nsize > RT_ALLOC_SMALL_MAX) {
        size_t ro = large_size(osize), rn = large_size(nsize);
        if (ro == rn)
            return ptr;
        if (ro == osize && rn == nsize) {   /* neither is ever kept */
            if (nsize > osize && (nsize - osize > limit - in_use ||
                (nsize >= RT_GUARD_LARGE && !rt_guard_alloc_ok(nsize))))
                return NULL;
            if ((n = realloc(ptr, nsize)) != NULL)
                in_use = in_use - osize + nsize;
            return n;
        }
    }
    n = nsize <= RT_ALLOC_SMALL_MAX ? small_alloc(size_class(nsize))
                                    : large_alloc(nsize);
    if (n == NULL)
        return NULL;
    memcpy(n, ptr, osize < nsize ? osize : nsize);
    if (old_small)
        small_free(ptr, size_class(osize));
    else
        large_free(ptr, osize);
    return n;
}

void rt_alloc_set_limit(size_t bytes)
{
    limit = bytes ? bytes : (size_t)-1;
    reserve_on = 0;
}

size_t rt_alloc_in_use(void)
{
    return in_use;
}

size_t rt_alloc_limit(void)
{
    return limit == (size_t)-1 ? 0 : limit;
}

void rt_alloc_reserve(int on)
{
    if (on && !reserve_on && limit != (size_t)-1) {
        limit += RT_ALLOC_RESERVE;
        reserve_on = 1;
    } else if (!on && reserve_on) {
        limit -= RT_ALLOC_RESERVE;
        reserve_on = 0;
    }
}
