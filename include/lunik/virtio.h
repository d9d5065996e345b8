/* virtio.h: virtio 1.2 split virtqueues and virtio-mmio, as lunik's monitor devices and guest drivers use them. */
#ifndef LUNIK_VIRTIO_H
#define LUNIK_VIRTIO_H

/*
 * Shared by the monitor's devices (monitor/virtio_*.c, monitor/virtq.c)
 * and the guest's drivers (guest/virtio/). Names and values are those of
 * the OASIS "Virtual I/O Device (VIRTIO) Version 1.2" specification (cited
 * as "virtio 1.2 §n"); every multi-byte field is little-endian, which is
 * x86's order, so no conversions appear.
 *
 * What lunik uses of it:
 *   - the virtio-mmio transport, version 2 (§4.2.2), one register block of
 *     VIRTIO_MMIO_SLOT bytes per device, with no interrupt line: the guest
 *     runs without interrupts, polls used rings and, when it has nothing to
 *     do, blocks in the monitor's wait hypercall (hypercall.h), which a
 *     used-buffer notification ends;
 *   - split virtqueues (§2.7) with VIRTIO_F_EVENT_IDX (§2.7.7, §2.7.10):
 *     each side tells the other, through used_event and avail_event, the
 *     one index at which it wants to be told about more work, so neither
 *     side is notified while the other is known to be busy;
 *   - a network device (§5.1) and console devices (§5.3) without
 *     VIRTIO_CONSOLE_F_MULTIPORT: console 0 carries stdin (receiveq) and
 *     stdout (transmitq), console 1 carries stderr (its receiveq is never
 *     filled).
 *
 * End of input: a console without multiport has no message for "the host
 * side closed" (§5.3.6.2 has one only for multiport ports). lunik's
 * console device marks the end of stdin by returning one receive buffer
 * with used length 0; a driver on another VMM simply never sees it.
 */

/* virtio-mmio registers (virtio 1.2 §4.2.2), offsets from the device's
 * base; every register is 32 bits wide and accessed as such. */
#define VIRTIO_MMIO_MAGIC_VALUE         0x000   /* R: 0x74726976 "virt" */
#define VIRTIO_MMIO_VERSION             0x004   /* R: 2 */
#define VIRTIO_MMIO_DEVICE_ID           0x008   /* R: VIRTIO_ID_*, 0 none */
#define VIRTIO_MMIO_VENDOR_ID           0x00c   /* R */
#define VIRTIO_MMIO_DEVICE_FEATURES     0x010   /* R: 32 bits of them */
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014   /* W: which 32 bits */
#define VIRTIO_MMIO_DRIVER_FEATURES     0x020   /* W */
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024   /* W */
#define VIRTIO_MMIO_QUEUE_SEL           0x030   /* W: the queue below */
#define VIRTIO_MMIO_QUEUE_NUM_MAX       0x034   /* R: largest queue size */
#define VIRTIO_MMIO_QUEUE_NUM           0x038   /* W: queue size */
#define VIRTIO_MMIO_QUEUE_READY         0x044   /* RW */
#define VIRTIO_MMIO_QUEUE_NOTIFY        0x050   /* W: queue index */
#define VIRTIO_MMIO_INTERRUPT_STATUS    0x060   /* R */
#define VIRTIO_MMIO_INTERRUPT_ACK       0x064   /* W */
#define VIRTIO_MMIO_STATUS              0x070   /* RW: VIRTIO_STATUS_* */
#define VIRTIO_MMIO_QUEUE_DESC_LOW      0x080   /* W: descriptor table */
#define VIRTIO_MMIO_QUEUE_DESC_HIGH     0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW    0x090   /* W: available ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH   0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW    0x0a0   /* W: used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH   0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION   0x0fc   /* R */
#define VIRTIO_MMIO_CONFIG              0x100   /* device-specific */

#define VIRTIO_MMIO_MAGIC 0x74726976u
#define VIRTIO_MMIO_SLOT  0x200u        /* bytes of one device's registers */

/* InterruptStatus bits (§4.2.2). */
#define VIRTIO_MMIO_INT_VRING  0x1u     /* a used-buffer notification */
#define VIRTIO_MMIO_INT_CONFIG 0x2u     /* a configuration change */

/* Device IDs (§5). */
#define VIRTIO_ID_NET     1
#define VIRTIO_ID_CONSOLE 3

/* Device status bits (§2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE        1u
#define VIRTIO_STATUS_DRIVER             2u
#define VIRTIO_STATUS_DRIVER_OK          4u
#define VIRTIO_STATUS_FEATURES_OK        8u
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64u
#define VIRTIO_STATUS_FAILED             128u

/* Feature bits (§6, §5.1.3, §5.3.3), as bit numbers. */
#define VIRTIO_F_EVENT_IDX    29        /* used_event / avail_event */
#define VIRTIO_F_VERSION_1    32        /* this specification, not legacy */
#define VIRTIO_NET_F_CSUM     0         /* device completes partial csums */
#define VIRTIO_NET_F_GUEST_CSUM 1       /* driver takes partial csums */
#define VIRTIO_NET_F_MTU      3         /* config.mtu is valid */
#define VIRTIO_NET_F_MAC      5         /* config.mac is valid */
#define VIRTIO_CONSOLE_F_SIZE 0         /* config.cols/rows are valid */
#define VIRTIO_BIT(n) (1ull << (n))

#ifndef __ASSEMBLER__
#include <stdint.h>

/* Descriptor flags (§2.7.5). */
#define VIRTQ_DESC_F_NEXT  1u           /* the chain goes on at `next` */
#define VIRTQ_DESC_F_WRITE 2u           /* device writes (else reads) */

/* One descriptor of the descriptor table (§2.7.5): 16 bytes. */
struct virtq_desc {
    uint64_t addr;                      /* guest-physical address */
    uint32_t len;                       /* bytes */
    uint16_t flags;                     /* VIRTQ_DESC_F_* */
    uint16_t next;                      /* next descriptor if F_NEXT */
};

/* The available ring (§2.7.6), written by the driver: idx counts the
 * heads it has made available (mod 2^16); ring[qsize] is used_event. */
struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[];
};

/* One used-ring element (§2.7.8): a chain's head and the bytes the device
 * wrote into it. */
struct virtq_used_elem {
    uint32_t id;
    uint32_t len;
};

/* The used ring (§2.7.8), written by the device; after ring[qsize] comes
 * avail_event (a uint16_t). */
struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[];
};

/* Bytes of each area for a queue of qsize entries (§2.7), event fields
 * included; alignments: table 16, available ring 2, used ring 4. */
#define VIRTQ_DESC_BYTES(q)  (16ull * (q))
#define VIRTQ_AVAIL_BYTES(q) (6ull + 2ull * (q))
#define VIRTQ_USED_BYTES(q)  (6ull + 8ull * (q))
#define VIRTQ_MAX_SIZE 32768u           /* §2.7: at most 2^15 entries */

/*
 * virtq_need_event: 1 when moving an index from old to new passes the
 * event index the other side asked to be told at (§2.7.7.2: "notify if
 * (u16)(new - event - 1) < (u16)(new - old)"), all mod 2^16.
 */
static inline int virtq_need_event(uint16_t event, uint16_t new_idx,
                                   uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/*
 * The header before every network frame in both directions (§5.1.6)
 * with VIRTIO_F_VERSION_1: 12 bytes. Linux's tap takes the same header
 * (IFF_VNET_HDR, TUNSETVNETHDRSZ 12). lunik uses checksum offload only
 * (VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM; §5.1.6.2): flags
 * NEEDS_CSUM says the TCP or UDP checksum holds only the pseudo-header
 * sum, to be completed over bytes csum_start.. and stored at csum_start +
 * csum_offset; DATA_VALID (received frames) says the device checked it.
 * No segmentation offload: gso_type is always VIRTIO_NET_HDR_GSO_NONE.
 */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1u
#define VIRTIO_NET_HDR_F_DATA_VALID 2u
#define VIRTIO_NET_HDR_GSO_NONE     0u
struct virtio_net_hdr {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
};

/* The network device's configuration space (§5.1.4), fields used. */
struct virtio_net_config {
    uint8_t mac[6];
    uint16_t status;
    uint16_t max_virtqueue_pairs;
    uint16_t mtu;
};

/* The console device's configuration space (§5.3.4). */
struct virtio_console_config {
    uint16_t cols;
    uint16_t rows;
    uint32_t max_nr_ports;
    uint32_t emerg_wr;
};

/* Queue indices: network (§5.1.2) and console without multiport
 * (§5.3.2). */
#define VIRTIO_NET_RXQ     0
#define VIRTIO_NET_TXQ     1
#define VIRTIO_CONSOLE_RXQ 0
#define VIRTIO_CONSOLE_TXQ 1

#endif /* __ASSEMBLER__ */
#endif
