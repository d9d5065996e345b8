/* control.h: the guest's driver for the control channel: a third virtio console (virtio 1.2 §5.3). */
#ifndef LUNIK_GUEST_VIRTIO_CONTROL_H
#define LUNIK_GUEST_VIRTIO_CONTROL_H

#include <stddef.h>

/*
 * The control channel of platform.h (plat_control_read/write) on lunik's
 * monitor: the console device in slot LUNIK_VIRTIO_SLOT_CONTROL
 * (hypercall.h), without VIRTIO_CONSOLE_F_MULTIPORT: its receiveq carries
 * the client's bytes, its transmitq the program's. Two lunik conventions
 * (include/lunik/virtio.h): a receive buffer used with length 0 says the
 * client hung up; the driver answers with a transmit buffer of length 0,
 * after which the monitor may serve the next client (what the driver sent
 * before it is dropped, never shown to that client).
 */

/* gv_control_start: set the device up if the monitor offers one (set-up
 * costs register exits, so the platform does it before its first wait).
 * 0, or -1 when there is none. Idempotent. */
int gv_control_start(void);

/* gv_control_read: as plat_control_read: bytes (> 0), 0 none, -1 once per
 * hang-up (acknowledged to the device). Never blocks. */
long gv_control_read(void *p, size_t n);

/* gv_control_write: hand all n bytes to the device (waiting while every
 * transmit buffer is with it). */
void gv_control_write(const void *p, size_t n);

/* gv_control_want: before a wait: 1 when input or a hang-up is there,
 * else 0 after asking the device to notify when some comes. */
int gv_control_want(void);

/* gv_control_quiet: after a wait: no more notifications for input. */
void gv_control_quiet(void);

#endif
