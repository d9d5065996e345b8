/* mem.h: the guest's page allocator and its Linux memory calls (brk, mmap, ...). */
#ifndef LUNIK_GUEST_MEM_H
#define LUNIK_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

#define GUEST_PAGE_SIZE 4096u

/*
 * One region of free memory handed out in 4 KiB pages. Two bitmaps live in
 * the region's first pages: `used` (page allocated) and `dirty` (page may
 * hold non-zero bytes). Allocation is first-fit from the top down for mmap,
 * from the bottom up for brk, so the two grow towards each other and can
 * never overlap (both allocate only free pages). Freed pages simply clear
 * their bits, so neighbours coalesce by construction; handing a page out
 * again zeroes it only if it is dirty. Not thread-safe.
 */
struct guest_mem {
    uintptr_t base;             /* first managed page */
    size_t npages;              /* managed pages, bitmap pages included */
    uint64_t *used;             /* npages bits: 1 = allocated */
    uint64_t *dirty;            /* npages bits: 1 = may be non-zero */
    uintptr_t brk_start;        /* first page of the brk area */
    uintptr_t brk_cur;          /* current break (any byte address) */
    size_t free_pages;          /* pages with used == 0 */
};

/*
 * guest_mem_init: manage [start, end) (page-aligned down/up inward). The
 * memory must be zero-filled. Returns 0, or -ENOMEM when the region cannot
 * even hold its bitmaps.
 */
int guest_mem_init(struct guest_mem *m, uintptr_t start, uintptr_t end);

/* guest_mem_brk: as Linux brk(2): set the break to addr if the pages it
 * needs are free, and return the break (the old one on failure or addr 0). */
uintptr_t guest_mem_brk(struct guest_mem *m, uintptr_t addr);

/*
 * guest_mem_mmap: as Linux mmap(2) for private anonymous memory: len bytes
 * (rounded up to pages), zero-filled. MAP_FIXED maps exactly at addr (which
 * must lie in the region), replacing what was there; MAP_FIXED_NOREPLACE
 * fails with -EEXIST over used pages; otherwise addr is a hint, ignored.
 * Returns the address, or -ENOMEM (no room), -EINVAL (len 0, unaligned or
 * outside the region), -ENODEV (not MAP_ANONYMOUS: no files to map).
 */
long guest_mem_mmap(struct guest_mem *m, uintptr_t addr, size_t len,
                    int prot, int flags, int fd, long off);

/* guest_mem_munmap: as munmap(2): free the pages of [addr, addr+len).
 * 0, or -EINVAL (unaligned, len 0, outside the region). */
long guest_mem_munmap(struct guest_mem *m, uintptr_t addr, size_t len);

/*
 * guest_mem_mremap: as mremap(2): resize [old, old+old_len) to new_len,
 * shrinking or growing in place when the next pages are free, else moving
 * (copying) if MREMAP_MAYMOVE. Returns the new address, or -ENOMEM, -EINVAL
 * (unaligned, zero new_len, MREMAP_FIXED, outside the region).
 */
long guest_mem_mremap(struct guest_mem *m, uintptr_t old, size_t old_len,
                      size_t new_len, int flags, uintptr_t new_addr);

/* guest_mem_madvise: as madvise(2): MADV_DONTNEED zero-fills the pages
 * (private anonymous semantics); other advice is accepted and ignored. 0. */
long guest_mem_madvise(struct guest_mem *m, uintptr_t addr, size_t len,
                       int advice);

/* guest_mem_free_bytes: bytes in free pages. */
size_t guest_mem_free_bytes(const struct guest_mem *m);

#endif
