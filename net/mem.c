/* mem.c: lwIP's heap (mem_malloc, mem_calloc, mem_free): size classes over malloc, freed blocks kept for reuse. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/opt.h"

#include "net.h"

/*
 * lwIP allocates and frees a pbuf for every frame and segment. Straight
 * on musl's malloc that churns memory mappings: once the last block of a
 * group of ~2 KiB slots is freed, the group's pages are unmapped, and the
 * next frame maps (and the guest zeroes) them again: thousands of times a
 * second in a bulk transfer. Here each block has a 16-byte header naming
 * its size class (NET_MEM_GRAIN bytes each, up to NET_MEM_MAX: a jumbo
 * frame's pbuf); a freed block goes on its class's free list and serves
 * the next request of that class. Memory so kept is bounded by the most
 * lwIP ever held at once; larger blocks go back to the C library at once.
 * The bytes taken are counted, kept ones too, so that net/stack.c can
 * leave a received frame out when lwIP holds its limit
 * (lunik_net_mem_set_limit, net.h); kept blocks go back to the C library
 * first.
 * lwIP runs on one thread (NO_SYS), so there is no locking.
 */
#define NET_MEM_GRAIN 64
#define NET_MEM_MAX (16 * 1024)
#define NET_MEM_CLASSES (NET_MEM_MAX / NET_MEM_GRAIN)

struct net_mem_block {
    union {
        size_t grains;                  /* in use: its class, 0 = unkept */
        struct net_mem_block *next;     /* free: the next of its class */
    } u;
    size_t pad;                         /* keeps the payload 16-aligned;
                                           a large block's size */
};

static struct net_mem_block *net_mem_free_list[NET_MEM_CLASSES + 1];

/* Bytes taken from the C library (blocks in use and kept), and the most
 * a received frame may find taken (0: no limit). */
static size_t net_mem_taken, net_mem_limit;

void lunik_net_mem_set_limit(size_t bytes)
{
    net_mem_limit = bytes;
}

/* Give every kept block back to the C library. */
static void net_mem_trim(void)
{
    for (size_t g = 1; g <= NET_MEM_CLASSES; g++) {
        while (net_mem_free_list[g] != NULL) {
            struct net_mem_block *b = net_mem_free_list[g];
            net_mem_free_list[g] = b->u.next;
            net_mem_taken -= g * NET_MEM_GRAIN;
            free(b);
        }
    }
}

int lunik_net_mem_room(size_t n)
{
    if (net_mem_limit == 0)
        return 1;
    if (net_mem_taken + n > net_mem_limit)
        net_mem_trim();                 /* kept blocks count too */
    return net_mem_taken + n <= net_mem_limit;
}

void *lunik_net_mem_malloc(size_t n)
{
    size_t g = (n + sizeof(struct net_mem_block) + NET_MEM_GRAIN - 1) /
               NET_MEM_GRAIN;
    struct net_mem_block *b;

    if (g > NET_MEM_CLASSES) {
        b = malloc(n + sizeof *b);
        if (b == NULL)
            return NULL;
        b->u.grains = 0;
        b->pad = n + sizeof *b;
        net_mem_taken += b->pad;
        return b + 1;
    }
    b = net_mem_free_list[g];
    if (b != NULL)
        net_mem_free_list[g] = b->u.next;
    else if ((b = malloc(g * NET_MEM_GRAIN)) == NULL)
        return NULL;
    else
        net_mem_taken += g * NET_MEM_GRAIN;
    b->u.grains = g;
    return b + 1;
}

void *lunik_net_mem_calloc(size_t count, size_t size)
{
    void *p;

    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    p = lunik_net_mem_malloc(count * size);
    if (p != NULL)
        memset(p, 0, count * size);
    return p;
}

void lunik_net_mem_free(void *p)
{
    struct net_mem_block *b = (struct net_mem_block *)p - 1;
    size_t g;

    if (p == NULL)
        return;
    g = b->u.grains;
    if (g == 0) {
        net_mem_taken -= b->pad;        /* a large block's size */
        free(b);
        return;
    }
    b->u.next = net_mem_free_list[g];
    net_mem_free_list[g] = b;
}
