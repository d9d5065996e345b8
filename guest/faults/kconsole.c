/* kconsole.c: a minimal virtio console writer for the freestanding test kernels. */
#include "kconsole.h"

#include <stddef.h>

#include "../core/cpu.h"
#include "../lunik/hcall.h"
#include "../core/binding.h"
#include "../virtio/mmio.h"

#define KQ 8

static uint8_t rings[2][4096] __attribute__((aligned(4096)));
static struct gv_queue queues[2];
static int started[2];
static char buf[2][256];

struct gv_queue *kcon_start(unsigned slot)
{
    uintptr_t base = (uintptr_t)LUNIK_VIRTIO_MMIO_ADDR(slot);
    uint64_t want = VIRTIO_BIT(VIRTIO_F_VERSION_1) |
                    VIRTIO_BIT(VIRTIO_F_EVENT_IDX);

    if (slot > 1)
        return NULL;
    if (started[slot])
        return &queues[slot];
    if (gv_mmio_init(base, VIRTIO_ID_CONSOLE, want) == 0 ||
        gv_mmio_queue(base, &queues[slot], VIRTIO_CONSOLE_TXQ, KQ,
                      rings[slot]) == 0)
        return NULL;
    gv_mmio_ready(base);
    started[slot] = 1;
    return &queues[slot];
}

void kcon_wait(void)
{
    static struct lunik_hc_wait w;

    w.deadline_ns = UINT64_MAX;
    guest_hypercall(LUNIK_HC_WAIT, &w);
}

void kcon_write(int stream, const char *s)
{
    unsigned slot = stream == 1 ? 0 : 1;
    struct gv_queue *q = kcon_start(slot);
    uint32_t n = 0, len;
    uint16_t id;

    if (q == NULL)
        return;
    while (s[n] && n < sizeof buf[slot]) {
        buf[slot][n] = s[n];
        n++;
    }
    gv_queue_add(q, 0, buf[slot], n, 0);
    gv_queue_kick(q);
    while (!gv_queue_take(q, &id, &len))
        if (!gv_queue_want(q))
            kcon_wait();
}

/* The test kernels' boot description (core/binding.h): only the CPU
 * tables, where lunik's monitor points IDTR and TR (hypercall.h). */
const struct guest_boot *guest_bind_boot(void)
{
    static struct guest_boot b = {
        .idt = (void *)(uintptr_t)LUNIK_IDT_GPA,
        .tss = (void *)(uintptr_t)LUNIK_TSS_GPA,
    };

    return &b;
}
