/* console.h: the guest's virtio console driver: stdout and stderr in batches, stdin. */
#ifndef LUNIK_GUEST_VIRTIO_CONSOLE_H
#define LUNIK_GUEST_VIRTIO_CONSOLE_H

#include <stddef.h>
#include <stdint.h>

/*
 * Console 0 (stdin, stdout) and console 1 (stderr) of lunik's monitor
 * (include/lunik/virtio.h), each started at its first use. Output is
 * copied into the driver's buffers and handed to the device a buffer at
 * a time: stdout when a buffer is full, at gv_console_flush() (the
 * platform calls it before every wait and at exit) and, when stdout is a
 * terminal, after every write; stderr after every write, stdout's
 * buffered bytes first. A buffer of one stream is handed over only once
 * the device has written all of the other's, so every byte arrives in
 * order, per stream and across the two.
 */

/* gv_console_write: queue n bytes at p for stream 1 (stdout) or 2 (any
 * other: stderr). May wait for the device to free a buffer. */
void gv_console_write(int stream, const void *p, size_t n);

/* gv_console_flush: hand every buffered byte to the device and notify it
 * if it asked to be told. */
void gv_console_flush(void);

/* gv_console_drain: gv_console_flush(), then wait until the devices have
 * used every buffer handed to them: for a VMM that stops the moment the
 * guest exits (QEMU's isa-debug-exit). */
void gv_console_drain(void);

/*
 * gv_console_read: copy up to n bytes of received stdin to p. Never
 * blocks (the first call gives the device receive buffers). Returns
 * bytes (> 0), 0 none yet, -1 once the end of stdin has arrived.
 */
long gv_console_read(void *p, size_t n);

/*
 * gv_console_want_input: before waiting for stdin: 1 when input (or its
 * end) is already there, else 0 after asking the device to notify when it
 * comes (the receive queue's used_event).
 */
int gv_console_want_input(void);

/* gv_console_quiet: after a wait: no more notifications for stdin (nor
 * from the event console). */
void gv_console_quiet(void);

/*
 * The event console: the third console (GV_CONSOLE_SLOT_EVENTS), where
 * the binding has one (the PVH binding under `lunik run --vmm qemu`;
 * lunik's monitor says these things in its own ways). Receive only; its
 * lines: "E<n>": stdin has ended after n bytes in all (gv_console_read
 * gives -1 once they are read); "T": a shutdown was asked for.
 */
#define GV_CONSOLE_SLOT_EVENTS 4       /* not a slot of lunik's monitor
                                           (hypercall.h): its slot 3 is
                                           the control channel */

/* gv_console_shutdown: 1 once for each "T" the event console sent. */
int gv_console_shutdown(void);

/* gv_console_events_want: before waiting: 1 when the event console
 * has something already, else 0 after asking it to notify (0 too when
 * there is none). */
int gv_console_events_want(void);

/* gv_console_events_quiet: after a wait: no more notifications. */
void gv_console_events_quiet(void);

#endif
