/* binding.h: what the virtio drivers need from the binding they run on. */
#ifndef LUNIK_GUEST_VIRTIO_BINDING_H
#define LUNIK_GUEST_VIRTIO_BINDING_H

#include <stdint.h>

/*
 * gv_binding_device: the base address of the virtio-mmio device in slot
 * `slot` (hypercall.h: LUNIK_VIRTIO_SLOT_*) if the boot info lists a
 * device with ID device_id there, else 0.
 */
uintptr_t gv_binding_device(unsigned slot, uint32_t device_id);

/*
 * gv_binding_wait: block until a device makes a used-buffer notification
 * the caller asked for (gv_queue_want()), or until deadline_ns on the
 * monotonic clock (UINT64_MAX: none). On lunik's monitor: the wait
 * hypercall.
 */
void gv_binding_wait(uint64_t deadline_ns);

/* gv_binding_tty: 1 when console stream (0..2) is a terminal. */
int gv_binding_tty(int stream);

/* gv_binding_panic: stop with a libOS message. */
_Noreturn void gv_binding_panic(const char *msg);

#endif
