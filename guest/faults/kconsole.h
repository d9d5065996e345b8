/* kconsole.h: a minimal virtio console writer for the freestanding test kernels. */
#ifndef LUNIK_GUEST_FAULTS_KCONSOLE_H
#define LUNIK_GUEST_FAULTS_KCONSOLE_H

#include "../virtio/virtq.h"

/*
 * kcon_start: start console `slot` (hypercall.h LUNIK_VIRTIO_SLOT_CONSOLE
 * or _STDERR) with only its transmit queue, 8 entries in static memory,
 * and return the queue (NULL when the device is missing or refuses).
 * Again for the same slot: the same queue.
 */
struct gv_queue *kcon_start(unsigned slot);

/* kcon_write: write the NUL-terminated s to stream 1 (stdout) or 2
 * (stderr) and wait until the device has taken it. */
void kcon_write(int stream, const char *s);

/* kcon_wait: the wait hypercall with no deadline. */
void kcon_wait(void);

#endif
