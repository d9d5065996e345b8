/* alloc.h: the Lua state's memory allocator: size classes for small blocks. */
#ifndef LUNIK_RT_ALLOC_H
#define LUNIK_RT_ALLOC_H

#include <stddef.h>

/*
 * rt_alloc: a lua_Alloc (Lua 5.4 manual, 4.3): frees ptr when nsize is 0,
 * else returns a block of nsize bytes holding the first min(osize, nsize)
 * bytes of ptr, or NULL (ptr untouched) when memory is exhausted. Blocks of
 * up to RT_ALLOC_SMALL_MAX bytes come from per-size-class free lists carved
 * from 64 KiB chunks, found from Lua's osize without any header; larger
 * ones from the C library's realloc/free. ud is unused. Not thread-safe.
 */
void *rt_alloc(void *ud, void *ptr, size_t osize, size_t nsize);

/*
 * rt_alloc_set_limit: the Lua heap may hold at most `bytes` (as Lua counts
 * its blocks; 0 = no limit). An allocation past it returns NULL, which Lua
 * turns into an emergency full GC and, if that frees too little, a
 * "not enough memory" error in the code that allocated.
 */
void rt_alloc_set_limit(size_t bytes);

/* rt_alloc_in_use: bytes the Lua heap holds now. */
size_t rt_alloc_in_use(void);

/* rt_alloc_limit: the limit set, in bytes (0 = none). */
size_t rt_alloc_limit(void);

/*
 * rt_alloc_reserve: with on, the limit grows by RT_ALLOC_RESERVE bytes
 * until called with 0: after a handler ran out of heap, its memory is
 * still referenced until the runtime has reported the error (traceback,
 * 503), which needs a little.
 */
#define RT_ALLOC_RESERVE (1024 * 1024)
void rt_alloc_reserve(int on);

#define RT_ALLOC_SMALL_MAX 1024

#endif
