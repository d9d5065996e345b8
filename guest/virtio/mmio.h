/* mmio.h: the driver side of the virtio-mmio transport (virtio 1.2 §4.2.3). */
#ifndef LUNIK_GUEST_VIRTIO_MMIO_H
#define LUNIK_GUEST_VIRTIO_MMIO_H

#include <stdint.h>

#include "virtq.h"

/*
 * Every register access is one 32-bit load or store to the device's
 * registers (uncached, unbacked: on lunik's monitor a VM exit each), so
 * these calls are for set-up only; the data path is the queues.
 */

/*
 * gv_mmio_init: initialise the device at base (§3.1.1 steps 1-6): check
 * MagicValue, Version 2 and DeviceID == device_id, reset, set
 * ACKNOWLEDGE and DRIVER, accept the offered features that are in
 * `wanted` (VIRTIO_F_VERSION_1 must be offered), set FEATURES_OK and
 * check it stuck. Returns the accepted features, or 0 (after setting
 * FAILED when the device was found) when the device is missing or
 * refuses.
 */
uint64_t gv_mmio_init(uintptr_t base, uint32_t device_id, uint64_t wanted);

/*
 * gv_mmio_queue: set up queue `index` (§4.2.3.2) with at most `size`
 * entries (fewer if QueueNumMax says so; always a power of 2) in mem
 * (gv_queue_bytes(size) bytes, 16-aligned, zeroed) and fill q. Returns
 * the size used, or 0 when the device has no such queue.
 */
uint16_t gv_mmio_queue(uintptr_t base, struct gv_queue *q, uint16_t index,
                       uint16_t size, void *mem);

/* gv_mmio_ready: set DRIVER_OK (§3.1.1 step 8): the device is live. Call
 * only after gv_mmio_init() succeeded: the status written is the one it
 * left plus DRIVER_OK, without reading it back (a read is an exit). */
void gv_mmio_ready(uintptr_t base);

/* gv_mmio_config8, gv_mmio_config16: read device-specific configuration
 * at off (§4.2.2: accesses sized as the field). */
uint8_t gv_mmio_config8(uintptr_t base, uint32_t off);
uint16_t gv_mmio_config16(uintptr_t base, uint32_t off);

#endif
