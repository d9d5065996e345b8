/* net.h: the guest's TCP/IP stack (lwIP) on the platform NIC, driven by the event loop. */
#ifndef LUNIK_NET_H
#define LUNIK_NET_H

#include <stddef.h>
#include <stdint.h>

/*
 * lwIP (third_party/lwip, Debian's lwip source package) runs with NO_SYS:
 * no threads, no locks; its raw callback API is called from the event loop
 * only. The loop's part in that:
 *
 *   lunik_net_start()     once, before any tcp_* / udp_* call;
 *   lunik_net_poll()      whenever plat_yield() reports PLAT_READY_NET or
 *                         lunik_net_timeout_ns() has passed; lwIP's
 *                         callbacks run inside it;
 *   lunik_net_timeout_ns() to bound the next plat_yield().
 */

/*
 * lunik_net_start: initialise lwIP and add the platform NIC as its only
 * netif, with the fixed address from plat_net_info() or a DHCP client
 * (RFC 2131, lwIP dhcp_start). Idempotent. Returns 0, or -1 when the
 * program has no NIC (plat_net_info() fails) or lwIP cannot allocate it.
 */
int lunik_net_start(void);

/*
 * lunik_net_poll: when `frames` is nonzero, hand every waiting received
 * frame (at most a budget of 256 per call, so timers are not starved) to
 * lwIP; then run lwIP's due timers (sys_check_timeouts). Returns the
 * number of frames taken.
 */
int lunik_net_poll(int frames);

/*
 * lunik_net_timeout_ns: nanoseconds until lwIP's next timer is due (0 when
 * one is already due), or UINT64_MAX when none is pending.
 */
uint64_t lunik_net_timeout_ns(void);

/*
 * lunik_net_address: the netif's IPv4 address in network byte order; 0
 * while it has none (DHCP not finished, or not started).
 */
uint32_t lunik_net_address(void);

/*
 * lunik_net_mem_set_limit: received data may hold at most `bytes` of
 * lwIP's heap (net/mem.c), and data queued to send half as much (0: no
 * limit, the default). A received frame that would take its use past the
 * limit is dropped, as a NIC out of receive buffers drops it, and TCP
 * sends it again: data programs have not read yet (up to a 256 KiB window
 * per connection) cannot take the Lua heap's memory. Sends wait instead
 * (lunik_net_mem_tx_room). The two are counted apart so that data waiting
 * to be sent never keeps out the ACKs that would free it. lwIP's other
 * allocations (PCBs, ACKs it makes) are not held to it. The runtime sets
 * it from `lunik.netmem` (cli/main.c: the part of --mem kept for the C
 * side, a quarter).
 */
void lunik_net_mem_set_limit(size_t bytes);

/* What lwIP's next allocations are for (lunik_net_mem_for). */
enum lunik_net_mem_use {
    LUNIK_NET_MEM_OTHER,
    LUNIK_NET_MEM_RX,           /* a received frame (net/stack.c) */
    LUNIK_NET_MEM_TX,           /* data queued to send (tcp_write) */
    LUNIK_NET_MEM_USES
};

/* lunik_net_mem_for: count lwIP's next allocations as `use`, until the
 * next call; -> the use before. */
enum lunik_net_mem_use lunik_net_mem_for(enum lunik_net_mem_use use);

/* lunik_net_mem_room: may a received frame take n more bytes? */
int lunik_net_mem_room(size_t n);

/* lunik_net_mem_tx_room: bytes more that data queued to send may take
 * (SIZE_MAX without a limit). */
size_t lunik_net_mem_tx_room(void);

#endif
