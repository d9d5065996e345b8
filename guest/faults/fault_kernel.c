/* fault_kernel.c: tiny misbehaving guest kernels that test the monitor's fault handling. */
/*
 * Built freestanding (no C library) once per kind by guest/build.mk, with
 * FAULT_KIND set to one of the kinds below, into build/tests/KIND.elf:
 *
 *   FAULT_BAD_HYPERCALL  a wait hypercall whose arguments lie outside guest
 *                        memory
 *   FAULT_TRIPLE         an exception before the IDT is filled in (all
 *                        gates not present): triple fault
 *   FAULT_DIVIDE         integer division by zero, reported through the IDT
 *   FAULT_INVALID_OPCODE ud2 (not a `syscall`), reported through the IDT
 * and kernels that corrupt the transmit queue of virtio console 0 (each
 * then waits for the monitor to stop it):
 *   FAULT_RING_OUTSIDE   a descriptor pointing outside guest memory
 *   FAULT_RING_LOOP      a descriptor chain that loops (0 -> 1 -> 0)
 *   FAULT_RING_INDEX     an available-ring head past the queue size
 *   FAULT_RING_AVAIL     an available index moved past the queue size
 *   FAULT_RING_OVERFLOW  a descriptor whose address + length overflows
 *   FAULT_RING_AREA      a descriptor table outside guest memory
 */
#include <stddef.h>
#include <stdint.h>

#include "../core/cpu.h"
#include "../lunik/hcall.h"
#include "../virtio/mmio.h"
#include "kconsole.h"

#define FAULT_BAD_HYPERCALL 1
#define FAULT_TRIPLE 2
#define FAULT_DIVIDE 3
#define FAULT_INVALID_OPCODE 4
#define FAULT_RING_OUTSIDE 6
#define FAULT_RING_LOOP 7
#define FAULT_RING_INDEX 8
#define FAULT_RING_AVAIL 9
#define FAULT_RING_OVERFLOW 10
#define FAULT_RING_AREA 11

/* The entry point: the monitor starts here with rsp = LUNIK_STACK_TOP. */
__asm__(".text\n"
        ".globl fault_entry\n"
        "fault_entry:\n"
        "    call fault_main\n"
        "1:  jmp 1b\n");

void fault_main(void);

static void no_syscalls(void)
{
}

#define OUTSIDE 0x7fff00000000ull       /* far beyond any guest memory */

#if FAULT_KIND >= FAULT_RING_OUTSIDE
static uint8_t payload[64];

/* Make head available as if `step` entries were added, and notify. */
static void publish(struct gv_queue *q, uint16_t head, uint16_t step)
{
    q->avail->ring[0] = head;
    __atomic_store_n(&q->avail->idx, step, __ATOMIC_RELEASE);
    *q->notify = q->index;
}

static void set_desc(struct virtq_desc *d, uint64_t addr, uint32_t len,
                     uint16_t flags, uint16_t next)
{
    d->addr = addr;
    d->len = len;
    d->flags = flags;
    d->next = next;
}

/* Set up console 0's transmit queue with its table outside memory. */
static void bad_area(void)
{
    static uint8_t rings[4096] __attribute__((aligned(4096)));
    uintptr_t base = (uintptr_t)LUNIK_VIRTIO_MMIO_ADDR(0);
    volatile uint32_t *r = (volatile uint32_t *)base;
    uint64_t ring = (uint64_t)(uintptr_t)rings;

    gv_mmio_init(base, VIRTIO_ID_CONSOLE, VIRTIO_BIT(VIRTIO_F_VERSION_1));
    r[VIRTIO_MMIO_QUEUE_SEL / 4] = VIRTIO_CONSOLE_TXQ;
    r[VIRTIO_MMIO_QUEUE_NUM / 4] = 8;
    r[VIRTIO_MMIO_QUEUE_DESC_LOW / 4] = (uint32_t)OUTSIDE;
    r[VIRTIO_MMIO_QUEUE_DESC_HIGH / 4] = (uint32_t)(OUTSIDE >> 32);
    r[VIRTIO_MMIO_QUEUE_DRIVER_LOW / 4] = (uint32_t)ring;
    r[VIRTIO_MMIO_QUEUE_DEVICE_LOW / 4] = (uint32_t)ring + 1024;
    r[VIRTIO_MMIO_QUEUE_READY / 4] = 1;
    gv_mmio_ready(base);
}

static void ring_fault(int kind)
{
    uint64_t ok = (uint64_t)(uintptr_t)payload;
    struct gv_queue *q;

    if (kind == FAULT_RING_AREA) {
        bad_area();
        for (;;)
            kcon_wait();
    }
    q = kcon_start(LUNIK_VIRTIO_SLOT_CONSOLE);
    if (q == NULL)
        return;
    set_desc(&q->desc[0], ok, sizeof payload, 0, 0);
    if (kind == FAULT_RING_OUTSIDE)
        set_desc(&q->desc[0], OUTSIDE, 64, 0, 0);
    if (kind == FAULT_RING_LOOP) {
        set_desc(&q->desc[0], ok, 8, VIRTQ_DESC_F_NEXT, 1);
        set_desc(&q->desc[1], ok, 8, VIRTQ_DESC_F_NEXT, 0);
    }
    if (kind == FAULT_RING_OVERFLOW)
        set_desc(&q->desc[0], 0xffffffffffffff00ull, 0x1000, 0, 0);
    publish(q, kind == FAULT_RING_INDEX ? 200 : 0,
            kind == FAULT_RING_AVAIL ? 100 : 1);
    for (;;)
        kcon_wait();
}
#endif

void fault_main(void)
{
#if FAULT_KIND == FAULT_BAD_HYPERCALL
    guest_cpu_init(no_syscalls);
    guest_hypercall(LUNIK_HC_WAIT, (void *)(uintptr_t)OUTSIDE);
#elif FAULT_KIND == FAULT_TRIPLE
    (void)no_syscalls;
    __asm__ volatile("ud2");
#elif FAULT_KIND == FAULT_DIVIDE
    volatile uint32_t zero = 0;
    uint32_t q;

    guest_cpu_init(no_syscalls);
    __asm__ volatile("divl %2" : "=a"(q) : "a"(1), "r"(zero), "d"(0));
    (void)q;
#elif FAULT_KIND == FAULT_INVALID_OPCODE
    guest_cpu_init(no_syscalls);
    __asm__ volatile("ud2");
#elif FAULT_KIND >= FAULT_RING_OUTSIDE && FAULT_KIND <= FAULT_RING_AREA
    guest_cpu_init(no_syscalls);
    ring_fault(FAULT_KIND);
#else
#error "FAULT_KIND must name a fault"
#endif
}
