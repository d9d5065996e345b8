/* lwipopts.h: how lunik builds lwIP: NO_SYS, IPv4, TCP/UDP/DHCP, heap memory. */
#ifndef LUNIK_LWIPOPTS_H
#define LUNIK_LWIPOPTS_H

/*
 * Option names and meanings: lwIP 2.1 src/include/lwip/opt.h. lwIP runs
 * with no operating-system layer (NO_SYS): one thread, the raw callback API
 * (tcp_*, udp_*), driven by the lunik event loop through net/net.h. There
 * is no locking, no sockets or netconn API, no mailboxes.
 */
#define NO_SYS                      1
#define LWIP_SOCKET                 0
#define LWIP_NETCONN                0
#define SYS_LIGHTWEIGHT_PROT        0
#define LWIP_TIMERS                 1
#define LWIP_SINGLE_NETIF           1

/*
 * Memory: every pool and the heap come from the C library's malloc, so
 * lwIP uses guest memory as it needs it (one --mem budget for Lua and the
 * stack) and no compile-time pool limits the number of connections. What a
 * connection may hold is bounded by its windows below.
 */
#define MEM_LIBC_MALLOC             1
#define MEMP_MEM_MALLOC             1
/* ... through net/mem.c's size classes, which keep freed blocks. */
#include <stddef.h>
void *lunik_net_mem_malloc(size_t n);        /* as malloc(3) */
void *lunik_net_mem_calloc(size_t count, size_t size);  /* as calloc(3) */
void lunik_net_mem_free(void *p);           /* as free(3), not NULL */
#define mem_clib_malloc             lunik_net_mem_malloc
#define mem_clib_calloc             lunik_net_mem_calloc
#define mem_clib_free               lunik_net_mem_free
#define MEM_ALIGNMENT               8
#define MEM_SIZE                    (256 * 1024)
#define MEMP_NUM_TCP_PCB            4096    /* unused with MEMP_MEM_MALLOC */
#define MEMP_NUM_TCP_PCB_LISTEN     64
#define MEMP_NUM_UDP_PCB            64
#define MEMP_NUM_TCP_SEG            8192
#define PBUF_POOL_SIZE              64

/* Protocols: IPv4 over Ethernet, ARP, ICMP echo, DHCP client, UDP, TCP. */
#define LWIP_IPV4                   1
#define LWIP_IPV6                   0
#define LWIP_ARP                    1
#define LWIP_ETHERNET               1
#define LWIP_ICMP                   1
#define LWIP_RAW                    0
#define LWIP_DHCP                   1
#define DHCP_DOES_ARP_CHECK         0       /* no 1-2 s ARP probe at start */
#define LWIP_AUTOIP                 0
#define LWIP_IGMP                   0
#define LWIP_DNS                    0
#define LWIP_UDP                    1
#define LWIP_TCP                    1
#define IP_REASSEMBLY               1
#define IP_FRAG                     1
#define ARP_TABLE_SIZE              32
#define ARP_QUEUEING                1
#define ARP_QUEUE_LEN               256     /* a burst of SYN-ACKs waits
                                               for one ARP reply */
#define ETHARP_SUPPORT_STATIC_ENTRIES 0

/*
 * TCP, per connection: an MSS of up to 8960 bytes (a 9000-byte jumbo MTU,
 * host/net.h's HOST_NET_MTU_MAX; lwIP sends and advertises the smaller of
 * this and the link's MTU - 40, so 1460 on a 1500-byte link), a 256 KiB
 * receive window that closes while the Lua program does not read
 * (runtime/netlib.c acknowledges data only as it is consumed), and a
 * 256 KiB send buffer a writer waits on when full. Together these bound
 * the memory one connection can pin; all connections together are bound
 * by --mem (net/net.h). A window past 64 KiB needs window
 * scaling (RFC 7323 2), offered with a shift of 3 (up to 512 KiB); a peer
 * that does not take it gets 64 KiB. Bulk transfers are bound by the
 * window or send buffer / round trip, and on kvm a round trip holds a trap
 * and a nap of the NIC's thread: into lunik, a 64 KiB window held them to
 * 364 MB/s on kvm, 32 KiB to 192; out of it, a 64 KiB send buffer held
 * them to about 410 MB/s, 256 KiB lets them reach about 900 (bench/net.sh's
 * TCP rows). TCP_SNDLOWAT only serves lwIP's socket layer, which lunik
 * does not use; lwIP asks it to stay 4 MSS below 64 KiB.
 */
#define TCP_MSS                     8960
#define TCP_WND                     (256 * 1024)
#define TCP_SND_BUF                 (256 * 1024)
#define TCP_SND_QUEUELEN            ((4 * TCP_SND_BUF + 535) / 536)
#define TCP_SNDLOWAT                (65535 / 4)
/* No cap on half-open (SYN-received) connections: a burst of SYNs (1000
 * clients at once, arriving in one batch) would otherwise be dropped past
 * 255 and wait seconds for retransmission. runtime/netlib.c bounds the
 * established connections the program has not accepted yet instead. */
#define TCP_LISTEN_BACKLOG          0
#define TCP_OVERSIZE                1460    /* at most the pcb's MSS */
#define LWIP_TCP_KEEPALIVE          1
#define LWIP_WND_SCALE              1
#define TCP_RCV_SCALE               3
#define TCP_QUEUE_OOSEQ             1

/* The netif: status callback (DHCP lease), link callback, hostname. */
#define LWIP_NETIF_STATUS_CALLBACK  1
#define LWIP_NETIF_LINK_CALLBACK    0
#define LWIP_NETIF_HOSTNAME         1
#define LWIP_NETIF_API              0
#define LWIP_NETIF_TX_SINGLE_PBUF   0

/* Checksums in software, both ways, unless the NIC offers checksum
 * offload (platform.h; a tap does, slirp does not): net/stack.c then
 * turns TCP checksum generation off for the netif and leaves the
 * checksum partial, and skips the TCP and UDP checks of each frame the
 * NIC says needs none. */
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1
#define CHECKSUM_GEN_IP             1
#define CHECKSUM_GEN_UDP            1
#define CHECKSUM_GEN_TCP            1
#define CHECKSUM_GEN_ICMP           1
#define CHECKSUM_CHECK_IP           1
#define CHECKSUM_CHECK_UDP          1
#define CHECKSUM_CHECK_TCP          1
#define CHECKSUM_CHECK_ICMP         1

/* A SYN for a connection lwIP still holds in TIME-WAIT (net/stack.c):
 * slirp's port forwards reuse the host client's port. */
struct pbuf;
struct netif;
int lunik_net_ip4_input(struct pbuf *p, struct netif *inp);
#define LWIP_HOOK_IP4_INPUT(p, inp) lunik_net_ip4_input((p), (inp))

/* No statistics or debug output. */
#define LWIP_STATS                  0
#define LWIP_STATS_DISPLAY          0
#define LWIP_DEBUG                  0

#endif
