/* platform.h: the whole machine interface between the lunik runtime and a target. */
#ifndef LUNIK_PLATFORM_H
#define LUNIK_PLATFORM_H

/*
 * The runtime (runtime/) calls nothing outside the C library and this file.
 * Each target implements every function here:
 *
 *   kvm     guest/core/platform.c: virtio drivers (guest/virtio/) for
 *           console, NIC and control channel; guest/lunik/platform.c: the
 *           wait hypercall for plat_yield (hypercall.h), clocks from the
 *           TSC calibrated at boot.
 *   pvh     the same core and drivers (no control channel);
 *           guest/pvh/platform.c: an idle gate woken by the LAPIC timer
 *           and device IRQs, the TSC, the CMOS RTC (any PVH VMM: QEMU
 *           microvm, Firecracker, Xen).
 *   hosted  hosted/platform.c: a few Linux system calls, through host/.
 *
 * Both targets reach the same network back ends (host/net.c: libslirp
 * user-mode networking or a tap interface), so a program sees the same NIC
 * on either.
 *
 * Every function may be called at any time after the target has started the
 * runtime; none is reentrant (the runtime is single-threaded).
 */

#include <stddef.h>
#include <stdint.h>

#include "lunik/virtio.h"

/* Bits of the ready set returned by plat_yield(). */
#define PLAT_READY_CONSOLE 0x1u /* console input (or its end) is waiting */
#define PLAT_READY_NET     0x2u /* at least one received frame is waiting */
#define PLAT_READY_SHUTDOWN 0x4u /* a shutdown was asked for (SIGTERM to the
                                   lunik process: `lunik stop`, docker stop);
                                   ready once per request */
#define PLAT_READY_CONTROL 0x8u /* the control channel has bytes or a
                                   hang-up waiting (plat_control_read) */

/* Streams for plat_console_write(). */
#define PLAT_STDOUT 1
#define PLAT_STDERR 2

/* plat_console_read() result once input has ended (and will never resume). */
#define PLAT_EOF (-1L)

/*
 * plat_clock_monotonic: nanoseconds since an arbitrary point before the
 * program started; never goes backwards, not affected by wall-clock changes
 * (as CLOCK_MONOTONIC, clock_gettime(2)). Resolution: 1 us or better.
 */
uint64_t plat_clock_monotonic(void);

/*
 * plat_clock_wall: nanoseconds since the Unix epoch, UTC (as CLOCK_REALTIME,
 * clock_gettime(2)). Read from the host at boot and advanced with the
 * monotonic clock on the kvm target; may jump on the hosted target.
 */
uint64_t plat_clock_wall(void);

/*
 * plat_console_write: write all of the n bytes at p to the console stream
 * (PLAT_STDOUT or PLAT_STDERR; anything else means PLAT_STDERR). The hosted
 * target returns once the host has accepted every byte; the kvm target
 * buffers stdout (handing it over when a buffer fills, before every
 * plat_yield() wait, at plat_exit(), before any stderr write, and after
 * every write when stdout is a terminal) and hands stderr over at once.
 * Every byte arrives, in order. Output the host cannot take (closed pipe)
 * is dropped silently; the program goes on.
 */
void plat_console_write(int stream, const void *p, size_t n);

/*
 * plat_console_read: copy up to n bytes of waiting console input to p.
 * Never blocks. Returns the number of bytes copied (> 0), 0 when no input is
 * waiting right now, or PLAT_EOF once the input has ended (every later call
 * returns PLAT_EOF too). Input is a byte stream: lines may arrive split.
 */
long plat_console_read(void *p, size_t n);

/*
 * plat_yield: sleep until one of the events in the `events` mask
 * (PLAT_READY_* bits) is ready or the monotonic clock reaches deadline_ns
 * (plat_clock_monotonic() units; UINT64_MAX = no deadline), and return the
 * ready set (a subset of `events`; 0 = the deadline passed). Returns at once
 * if an event is already ready or the deadline is in the past. A ready bit
 * stays set until the event is consumed: console input until
 * plat_console_read() returns 0, the end of input until it has returned
 * PLAT_EOF once (after that the console is never ready again), the NIC
 * while plat_net_recv() has a frame to return, the control channel while
 * plat_control_read() has bytes or a hang-up to return. Events
 * outside `events` stay pending and do not wake the caller. The kvm target
 * polls its virtqueues and, when nothing is ready, blocks the vCPU in the
 * monitor (LUNIK_HC_WAIT) until a device notifies; the hosted target
 * blocks in host_wait (ppoll(2)).
 */
uint32_t plat_yield(uint64_t deadline_ns, uint32_t events);

/*
 * plat_exit: end the program with status (0..255; as exit_group(2)). The
 * caller flushes its own buffers first. On the kvm target the status becomes
 * the monitor's exit status.
 */
_Noreturn void plat_exit(int status);

/*
 * The NIC: one Ethernet interface (IEEE 802.3 frames: destination MAC,
 * source MAC, EtherType, payload; no preamble, no FCS), present when the
 * command line asked for a network (`--net user|tap:NAME`, `-p ...`).
 * The guest's TCP/IP stack (net/, lwIP) sits on these three calls.
 */
#define PLAT_ETH_HEADER 14u     /* bytes of Ethernet header in a frame */
#define PLAT_ETH_MIN    14u     /* shortest frame plat_net_send() accepts */

struct plat_net_info {
    uint8_t mac[6];             /* the NIC's own MAC address */
    uint16_t mtu;               /* largest payload, bytes (frame <= mtu+14) */
    uint32_t ipv4_addr;         /* fixed IPv4 address, network byte order; */
    uint32_t ipv4_netmask;      /*   0.0.0.0 = ask DHCP (RFC 2131) */
    uint32_t ipv4_gateway;      /* 0.0.0.0 = none */
    int csum_offload;           /* 1: checksum offload (below) */
};

/*
 * plat_net_info: describe the NIC in *info. Returns 0, or -1 when the
 * program has no NIC (no network was asked for); *info is then untouched.
 */
int plat_net_info(struct plat_net_info *info);

/*
 * Checksum offload. Each frame crosses with a struct virtio_net_hdr
 * (lunik/virtio.h, virtio 1.2 §5.1.6), which both NIC back ends speak (a
 * tap with IFF_VNET_HDR, and virtio-net). With csum_offload a frame sent
 * may leave its TCP or UDP checksum partial (flags NEEDS_CSUM: the field
 * holds the pseudo-header sum, and the sum over bytes csum_start.. is
 * stored at csum_start + csum_offset by whoever delivers it), and a frame
 * received may come so too, or with DATA_VALID (its checksum was
 * checked); either way it needs no check. Without csum_offload headers
 * are ignored on sending and all zero on receiving: every checksum is
 * complete. The NICs offer it on a tap (both targets), not on slirp.
 */

/*
 * plat_net_send: send one frame of n bytes at p, with its header h (NULL:
 * every checksum is complete). Never blocks. The target checks the frame
 * first: PLAT_ETH_MIN <= n <= mtu + PLAT_ETH_HEADER.
 * Returns 0 when the back end took the frame, -1 when it was refused (bad
 * length, no NIC) or dropped (the back end is full, as a NIC's full TX
 * ring); TCP retransmits what is lost, UDP loses it. The kvm target puts
 * the frame on the virtio-net transmit queue, which a monitor thread
 * serves while the guest runs (the device is told at most every 32 frames
 * and at the next plat_yield(), and only if it went idle); there 0 means
 * the frame is queued, and one the back end drops later is only counted.
 */
int plat_net_send(const void *p, size_t n, const struct virtio_net_hdr *h);

/*
 * plat_net_recv: copy the oldest waiting received frame to p (n bytes of
 * room; n >= mtu + PLAT_ETH_HEADER always suffices) and its header to *h
 * (see checksum offload above). Never blocks. Returns
 * the frame's length (> 0), or 0 when no frame waits (or there is no NIC).
 * A frame longer than n is dropped and the next one is tried. Frames that
 * arrive while the program is busy are queued by the back end up to a
 * bound, then dropped (as a full RX ring).
 */
long plat_net_recv(void *p, size_t n, struct virtio_net_hdr *h);

/*
 * plat_deadline: call fn() once the monotonic clock passes deadline_ns
 * (plat_clock_monotonic() units) while the program runs; 0 cancels. fn
 * runs as a signal handler does: between any two instructions of the
 * program, on its stack, with every register restored afterwards, so it
 * may only do what is async-signal-safe (lua_sethook is; Lua 5.4 manual
 * 4.7). Setting it is a store, with no system call or VM exit: a watcher
 * outside the program's thread (a host thread on the hosted target, a
 * monitor thread on kvm, which enters fn through an upcall) looks about
 * every PLAT_DEADLINE_TICK_NS, so fn comes up to that much late. fn is
 * called at most once per deadline set and never nested; set 0 before
 * plat_yield(), or fn may interrupt the wait (which then goes on).
 */
#define PLAT_DEADLINE_TICK_NS 5000000ull
void plat_deadline(uint64_t deadline_ns, void (*fn)(void));

/*
 * The control channel: a byte stream between the program and one client
 * at a time on the host (`lunik attach`, `lunik reload`), through a Unix
 * socket that only the instance's owner may connect to (cli/instances.c
 * makes it; the hosted target serves it in plat_yield, the kvm target's
 * monitor relays it over a third virtio console, virtio 1.2 §5.3). It is
 * never reachable through the program's NIC. The bytes are the runtime's
 * own protocol (runtime/control.lua); the target only moves them.
 *
 * plat_control_read: copy up to n bytes the client sent to p. Never
 * blocks. Returns the number of bytes (> 0), 0 when none wait (or there
 * is no channel), or PLAT_CONTROL_HANGUP once after the client has gone;
 * the next client's bytes come only after that hang-up was returned.
 */
#define PLAT_CONTROL_HANGUP (-1L)
long plat_control_read(void *p, size_t n);

/*
 * plat_control_write: send all n bytes at p to the current client. May
 * block while the client is slow to read (the host gives up on a client
 * that takes no bytes for 5 s and hangs up on it). Bytes written when
 * there is no client, or after it has gone and before its hang-up was
 * read, are dropped: they never reach a later client.
 */
void plat_control_write(const void *p, size_t n);

/*
 * plat_interrupt: call fn() when the control channel's client asks to
 * interrupt what the program runs now (Ctrl-C in `lunik attach`: the
 * client sends SIGURG to the process serving its socket). fn runs as
 * plat_deadline's does (signal-handler context, async-signal-safe calls
 * only), only while the program runs, never during plat_yield's wait; a
 * request that comes while it waits is dropped. NULL: none.
 */
void plat_interrupt(void (*fn)(void));

/* plat_target: the target's name: "kvm" or "hosted". Never NULL. */
const char *plat_target(void);

#endif
