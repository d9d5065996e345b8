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
 * The bytes taken are counted, kept ones too, and the blocks in use by
 * what they were taken for (lunik_net_mem_for, net.h): received frames,
 * data queued to send, the rest. net/stack.c leaves a received frame out
 * when received data holds the limit (lunik_net_mem_set_limit), and
 * netlib.c queues data to send only within half of it, so that neither
 * can take the memory the other needs (an ACK must get in to free sent
 * data); kept blocks go back to the C library first.
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
    uint32_t bytes;                     /* its size, header included */
    uint32_t use;                       /* enum lunik_net_mem_use */
};                                      /* 16 bytes: the payload stays
                                           16-aligned */

static struct net_mem_block *net_mem_free_list[NET_MEM_CLASSES + 1];

/* Bytes taken from the C library (blocks in use and kept), those kept,
 * and those in use by what they were taken for; the limit of received
 * data (0: none) and the use the next blocks are taken for. */
static size_t net_mem_taken, net_mem_kept;
static size_t net_mem_in_use[LUNIK_NET_MEM_USES];
static size_t net_mem_limit;
static enum lunik_net_mem_use net_mem_use = LUNIK_NET_MEM_OTHER;

void lunik_net_mem_set_limit(size_t bytes)
{
    net_mem_limit = bytes;
}

enum lunik_net_mem_use lunik_net_mem_for(enum lunik_net_mem_use use)
{
    enum lunik_net_mem_use was = net_mem_use;

    net_mem_use = use;
    return was;
}

/* Give every kept block back to the C library. */
static void net_mem_trim(void)
{
    for (size_t g = 1; g <= NET_MEM_CLASSES; g++) {
        while (net_mem_free_list[g] != NULL) {
            struct net_mem_block *b = net_mem_free_list[g];
            net_mem_free_list[g] = b->u.next;
            net_mem_taken -= b->bytes;
            net_mem_kept -= b->bytes;
            free(b);
        }
    }
}

int lunik_net_mem_room(size_t n)
{
    if (net_mem_limit == 0)
        return 1;
    /* Blocks kept for reuse go back first when lwIP holds more than it
     * may use (received data and data to send at their limits): received
     * data's room should be real memory. */
    if (net_mem_kept > 0 &&
        net_mem_taken + n > net_mem_limit + net_mem_limit / 2)
        net_mem_trim();
    return net_mem_in_use[LUNIK_NET_MEM_RX] + n <= net_mem_limit;
}

size_t lunik_net_mem_tx_room(void)
{
    size_t max = net_mem_limit / 2, used = net_mem_in_use[LUNIK_NET_MEM_TX];

    if (net_mem_limit == 0)
        return SIZE_MAX;
    return used < max ? max - used : 0;
}

void *lunik_net_mem_malloc(size_t n)
{
    size_t g = (n + sizeof(struct net_mem_block) + NET_MEM_GRAIN - 1) /
               NET_MEM_GRAIN;
    struct net_mem_block *b;

    if (n > UINT32_MAX - sizeof *b)
        return NULL;
    if (g > NET_MEM_CLASSES) {
        b = malloc(n + sizeof *b);
        if (b == NULL)
            return NULL;
        b->u.grains = 0;
        b->bytes = (uint32_t)(n + sizeof *b);
        net_mem_taken += b->bytes;
    } else if ((b = net_mem_free_list[g]) != NULL) {
        net_mem_free_list[g] = b->u.next;
        net_mem_kept -= b->bytes;
        b->u.grains = g;
    } else {
        if ((b = malloc(g * NET_MEM_GRAIN)) == NULL)
            return NULL;
        b->u.grains = g;
        b->bytes = (uint32_t)(g * NET_MEM_GRAIN);
        net_mem_taken += b->bytes;
    }
    b->use = net_mem_use;
    net_mem_in_use[b->use] += b->bytes;
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
    net_mem_in_use[b->use] -= b->bytes;
    g = b->u.grains;
    if (g == 0) {                       /* a large block */
        net_mem_taken -= b->bytes;
        free(b);
        return;
    }
    b->u.next = net_mem_free_list[g];
    net_mem_free_list[g] = b;
    net_mem_kept += b->bytes;
}
