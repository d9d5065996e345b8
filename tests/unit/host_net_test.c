/* host_net_test.c: unit tests (TAP) of host/net*.c with real slirp and tap. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "host/host.h"
#include "host/net.h"

static int test_n, test_failed;

static void ok(int cond, const char *name)
{
    test_n++;
    if (!cond)
        test_failed++;
    printf("%sok %d - %s\n", cond ? "" : "not ", test_n, name);
}

static void is(long got, long want, const char *name)
{
    ok(got == want, name);
    if (got != want)
        printf("# got %ld, want %ld\n", got, want);
}

static void skip(int n, const char *why)
{
    for (int i = 0; i < n; i++)
        printf("ok %d # skip %s\n", ++test_n, why);
}

/* ------------------------------------------------------------ frames */

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

#define ETH_ARP  0x0806
#define ETH_IPV4 0x0800

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static uint32_t ip(const char *s)
{
    struct in_addr a;

    inet_pton(AF_INET, s, &a);
    return a.s_addr;
}

/* An Ethernet header; returns the payload's start. */
static uint8_t *eth(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                    unsigned type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, type);
    return f + 14;
}

/* An ARP packet (RFC 826) for IPv4 over Ethernet; 42-byte frame. */
static size_t arp(uint8_t *f, const uint8_t *dst, unsigned op,
                  const uint8_t *sha, uint32_t spa, const uint8_t *tha,
                  uint32_t tpa)
{
    uint8_t *a = eth(f, dst, sha, ETH_ARP);

    put16(a, 1);                /* Ethernet */
    put16(a + 2, ETH_IPV4);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, op);
    memcpy(a + 8, sha, 6);
    memcpy(a + 14, &spa, 4);
    memcpy(a + 18, tha, 6);
    memcpy(a + 24, &tpa, 4);
    return 42;
}

/* The ARP packet in frame f (n bytes), or NULL. */
static const uint8_t *arp_of(const uint8_t *f, long n)
{
    return n >= 42 && get16(f + 12) == ETH_ARP ? f + 14 : NULL;
}

/* RFC 1071 checksum of n bytes. */
static uint16_t cksum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;

    for (size_t i = 0; i + 1 < n; i += 2)
        s += get16(p + i);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

#define XID 0x1c0ffee5u

/* A DHCPDISCOVER (RFC 2131 4.4.1) from guest_mac, broadcast. */
static size_t dhcp_discover(uint8_t *f)
{
    uint8_t *ipv4 = eth(f, broadcast, guest_mac, ETH_IPV4);
    uint8_t *udp = ipv4 + 20, *b = udp + 8, *o = b + 236;
    size_t blen = 236 + 4 + 3 + 1, ulen = 8 + blen;

    memset(ipv4, 0, 20 + ulen);
    ipv4[0] = 0x45;
    put16(ipv4 + 2, (unsigned)(20 + ulen));
    ipv4[8] = 64;
    ipv4[9] = 17;                       /* UDP */
    memset(ipv4 + 16, 0xff, 4);         /* to 255.255.255.255, from 0 */
    put16(ipv4 + 10, cksum(ipv4, 20));
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, (unsigned)ulen);     /* checksum 0: none (RFC 768) */
    b[0] = 1;                           /* BOOTREQUEST */
    b[1] = 1;
    b[2] = 6;
    b[4] = XID >> 24, b[5] = XID >> 16 & 0xff;
    b[6] = XID >> 8 & 0xff, b[7] = XID & 0xff;
    put16(b + 10, 0x8000);              /* broadcast reply */
    memcpy(b + 28, guest_mac, 6);
    o[0] = 99, o[1] = 130, o[2] = 83, o[3] = 99;        /* magic cookie */
    o[4] = 53, o[5] = 1, o[6] = 1;      /* DHCP message type: DISCOVER */
    o[7] = 255;
    return 14 + 20 + ulen;
}

/* The DHCP message type of a BOOTREPLY to XID in f, or -1. */
static int dhcp_reply_type(const uint8_t *f, long n, uint32_t *yiaddr)
{
    const uint8_t *ipv4 = f + 14, *udp, *b;
    long at;

    if (n < 14 + 20 + 8 + 240 || get16(f + 12) != ETH_IPV4 || ipv4[9] != 17)
        return -1;
    udp = ipv4 + (ipv4[0] & 15) * 4;
    b = udp + 8;
    if (get16(udp + 2) != 68 || b[0] != 2 ||
        ((uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 |
         (uint32_t)b[6] << 8 | b[7]) != XID)
        return -1;
    memcpy(yiaddr, b + 16, 4);
    for (at = (b - f) + 240; at + 2 < n && f[at] != 255;) {
        if (f[at] == 0) {
            at++;
            continue;
        }
        if (f[at] == 53)
            return f[at + 2];
        at += 2 + f[at + 1];
    }
    return -1;
}

/*
 * Wait for frames (host_wait with HOST_READY_NET, at most `rounds` waits
 * of one second: a bound so that a broken back end cannot hang the test)
 * until match() accepts one; its length, or 0.
 */
static struct virtio_net_hdr last_hdr;  /* the header of wait_frame's */

static long wait_frame(uint8_t *f, size_t room, int rounds,
                       int (*match)(const uint8_t *, long, void *),
                       void *arg)
{
    for (int i = 0; i < rounds; i++) {
        long n;
        if (!(host_wait(1000000000u, HOST_READY_NET) & HOST_READY_NET))
            continue;
        while ((n = host_net_recv(&last_hdr, f, room)) > 0)
            if (match(f, n, arg))
                return n;
    }
    return 0;
}

static int match_arp_op(const uint8_t *f, long n, void *arg)
{
    const uint8_t *a = arp_of(f, n);

    return a != NULL && get16(a + 6) == *(unsigned *)arg;
}

static int match_dhcp(const uint8_t *f, long n, void *arg)
{
    return dhcp_reply_type(f, n, arg) >= 0;
}

/* --------------------------------------------------------- user mode */

static struct lunik_net_config user_cfg(void)
{
    struct lunik_net_config c;

    memset(&c, 0, sizeof c);
    c.kind = LUNIK_NET_USER;
    memcpy(c.mac, guest_mac, 6);
    c.mtu = 1500;
    return c;
}

/* A TCP port on 127.0.0.1 that was free a moment ago. */
static int free_port(void)
{
    struct sockaddr_in a = { .sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof a;
    int s = socket(AF_INET, SOCK_STREAM, 0), port;

    bind(s, (struct sockaddr *)&a, sizeof a);
    getsockname(s, (struct sockaddr *)&a, &len);
    port = ntohs(a.sin_port);
    close(s);
    return port;
}

static void test_user(void)
{
    struct lunik_net_config c = user_cfg();
    struct host_net_info info;
    struct host_net_stats st;
    static uint8_t f[2048];
    static const uint8_t zero[6];
    char why[200];
    unsigned op;
    uint32_t yiaddr = 0;
    long n;
    const uint8_t *a;

    is(host_net_info(&info), -1, "no NIC before host_net_open");
    is(host_net_recv(&last_hdr, f, sizeof f), 0, "no frames without a NIC");
    is(host_net_open(&c, why, sizeof why), 0, "user-mode networking opens");
    is(host_net_info(&info), 0, "the NIC is described");
    ok(memcmp(info.mac, guest_mac, 6) == 0 && info.mtu == 1500 &&
       info.ipv4_addr == 0, "MAC, MTU 1500 and DHCP as configured");
    is(host_wait(0, HOST_READY_NET), 0, "no frame waits at first");

    /* ARP: who has 10.0.2.2 (the gateway)? */
    n = (long)arp(f, broadcast, 1, guest_mac, ip("10.0.2.15"), zero,
                  ip("10.0.2.2"));
    is(host_net_send(NULL, f, (size_t)n), 0, "an ARP request is sent");
    is(host_wait(UINT64_MAX, HOST_READY_NET), HOST_READY_NET,
       "host_wait reports a frame");
    op = 2;
    n = wait_frame(f, sizeof f, 5, match_arp_op, &op);
    a = arp_of(f, n);
    ok(a != NULL, "slirp answers with an ARP reply");
    if (a != NULL) {
        ok(memcmp(f, guest_mac, 6) == 0, "the reply is sent to our MAC");
        ok(memcmp(a + 14, (uint32_t[]){ ip("10.0.2.2") }, 4) == 0,
           "10.0.2.2 is at the MAC in the reply");
        ok(memcmp(a + 18, guest_mac, 6) == 0 &&
           memcmp(a + 24, (uint32_t[]){ ip("10.0.2.15") }, 4) == 0,
           "the reply's target is us");
        ok(memcmp(a + 8, zero, 6) != 0 && !(a[8] & 1),
           "the gateway's MAC is a unicast address");
    } else {
        skip(4, "no ARP reply");
    }

    /* DHCP: slirp's server offers the first address, 10.0.2.15. */
    n = (long)dhcp_discover(f);
    is(host_net_send(NULL, f, (size_t)n), 0, "a DHCPDISCOVER is sent");
    n = wait_frame(f, sizeof f, 5, match_dhcp, &yiaddr);
    is(n > 0 ? dhcp_reply_type(f, n, &yiaddr) : -1, 2,
       "slirp answers with a DHCPOFFER");
    ok(yiaddr == ip("10.0.2.15"), "the offer is 10.0.2.15");

    /* Frame checks. */
    memset(f, 0, sizeof f);
    eth(f, broadcast, guest_mac, 0x88b5);       /* local experimental */
    host_net_stats(&st);
    is(host_net_send(NULL, f, 13), -1, "a 13-byte frame is refused");
    is(host_net_send(NULL, f, 1500 + 15), -1, "an mtu+15-byte frame is refused");
    is(host_net_send(NULL, f, 1500 + 14), 0, "an mtu+14-byte frame is taken");
    is(host_net_send(NULL, f, 14), 0, "a header-only frame is taken");
    {
        struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                    .csum_start = 34, .csum_offset = 6 };
        is(host_net_send(&h, f, 60), -1,
           "slirp refuses a partial checksum (it offers no offload)");
    }
    {
        struct host_net_stats st2;
        host_net_stats(&st2);
        is((long)(st2.tx_refused - st.tx_refused), 3,
           "the refusals are counted");
        is((long)(st2.tx_frames - st.tx_frames), 2,
           "both good frames are counted");
    }
    ok(!info.csum_offload, "slirp offers no checksum offload");
    is(host_wait(1000000u, HOST_READY_NET), 0,
       "host_wait times out when nothing comes");

    /* A host port forward reaches the guest network: slirp accepts the
     * connection and asks who has 10.0.2.15 to send the guest its SYN. */
    host_net_close();
    c.nforwards = 1;
    c.forwards[0] = (struct lunik_net_forward){
        .host_addr = htonl(INADDR_LOOPBACK), .host_port = free_port(),
        .guest_port = 80 };
    is(host_net_open(&c, why, sizeof why), 0, "a port forward opens");
    {
        struct sockaddr_in to = {
            .sin_family = AF_INET, .sin_port = htons(c.forwards[0].host_port),
            .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        int r = connect(s, (struct sockaddr *)&to, sizeof to);
        ok(r == 0 || errno == EINPROGRESS, "a client connects to the port");
        op = 1;
        n = wait_frame(f, sizeof f, 5, match_arp_op, &op);
        a = arp_of(f, n);
        ok(a != NULL && memcmp(a + 24, (uint32_t[]){ ip("10.0.2.15") },
                               4) == 0,
           "slirp looks for the guest at 10.0.2.15 for the connection");
        close(s);
    }

    /* A forward whose host port is taken: the open fails, naming why. */
    {
        struct sockaddr_in at = {
            .sin_family = AF_INET, .sin_port = htons(free_port()),
            .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        int s = socket(AF_INET, SOCK_STREAM, 0);
        bind(s, (struct sockaddr *)&at, sizeof at);
        listen(s, 1);
        host_net_close();
        c.forwards[0].host_port = ntohs(at.sin_port);
        is(host_net_open(&c, why, sizeof why), -1,
           "a forward of a port in use fails");
        ok(strstr(why, "Address already in use") != NULL &&
           strstr(why, "127.0.0.1:") != NULL, "... and says so");
        printf("# %s\n", why);
        is(host_net_info(&info), -1, "... leaving no NIC open");
        close(s);
    }
}

/* --------------------------------------------------------------- tap */

/*
 * The tap: a name unique to this process, on a subnet no other test uses
 * (tests/60-net.t puts lunikt0 on 10.0.77.0/24), so that runs side by
 * side do not meet.
 */
static char tap[16];
#define TAP_HOST  "10.0.91.1"
#define TAP_GUEST "10.0.91.2"

/* sh(fmt): system(3) on fmt, every %s in it (at most two) the tap. */
static int sh(const char *fmt)
{
    char cmd[256];

    snprintf(cmd, sizeof cmd, fmt, tap, tap);
    return system(cmd);
}

/* The kernel's ARP request for TAP_GUEST on the tap. */
static int match_kernel_arp(const uint8_t *f, long n, void *arg)
{
    const uint8_t *a = arp_of(f, n);

    (void)arg;
    return a != NULL && get16(a + 6) == 1 &&
           memcmp(a + 24, (uint32_t[]){ ip(TAP_GUEST) }, 4) == 0;
}

/* The UDP datagram the test sent, delivered to the guest's MAC. */
static int match_udp(const uint8_t *f, long n, void *arg)
{
    const uint8_t *ipv4 = f + 14;
    const char *msg = arg;
    size_t len = strlen(msg);

    return n >= (long)(14 + 20 + 8 + len) && get16(f + 12) == ETH_IPV4 &&
           memcmp(f, guest_mac, 6) == 0 && ipv4[9] == 17 &&
           get16(ipv4 + 20 + 2) == 9 &&
           memcmp(ipv4 + 28, msg, len) == 0;
}

/* A UDP datagram from TAP_GUEST:9 to TAP_HOST:port with payload msg,
 * its UDP checksum left partial (the pseudo-header sum, RFC 768 and
 * virtio 1.2 §5.1.6.2); the frame's length. */
static size_t udp_partial(uint8_t *f, const uint8_t *dst, unsigned port,
                          const char *msg)
{
    uint8_t *ipv4 = eth(f, dst, guest_mac, ETH_IPV4), *udp = ipv4 + 20;
    size_t len = strlen(msg), ulen = 8 + len;
    uint32_t src = ip(TAP_GUEST), to = ip(TAP_HOST), sum;

    memset(ipv4, 0, 20 + 8);
    ipv4[0] = 0x45;
    put16(ipv4 + 2, (unsigned)(20 + ulen));
    ipv4[8] = 64;
    ipv4[9] = 17;
    memcpy(ipv4 + 12, &src, 4);
    memcpy(ipv4 + 16, &to, 4);
    put16(ipv4 + 10, cksum(ipv4, 20));
    put16(udp, 9);
    put16(udp + 2, port);
    put16(udp + 4, (unsigned)ulen);
    memcpy(udp + 8, msg, len);
    sum = get16(ipv4 + 12) + get16(ipv4 + 14) + get16(ipv4 + 16) +
          get16(ipv4 + 18) + 17 + (uint32_t)ulen;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    put16(udp + 6, sum);                /* not complemented: partial */
    return 14 + 20 + ulen;
}

/* Frames to the kernel: a partial checksum with NEEDS_CSUM is delivered;
 * headers that break the rules are refused before the tap. */
static void test_tap_send(int s, uint8_t *f, const uint8_t *kernel_mac)
{
    const char *msg = "partial checksum";
    struct sockaddr_in at = { .sin_family = AF_INET,
                              .sin_addr.s_addr = ip(TAP_HOST) };
    socklen_t alen = sizeof at;
    struct virtio_net_hdr h = { .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
                                .csum_start = 34, .csum_offset = 6 };
    char got[64] = "";
    size_t n;
    struct timeval tv = { .tv_sec = 5 };

    bind(s, (struct sockaddr *)&at, sizeof at);
    getsockname(s, (struct sockaddr *)&at, &alen);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    n = udp_partial(f, kernel_mac, ntohs(at.sin_port), msg);
    is(host_net_send(&h, f, n), 0, "a frame with NEEDS_CSUM is written");
    ok(recv(s, got, sizeof got - 1, 0) == (ssize_t)strlen(msg) &&
       strcmp(got, msg) == 0,
       "... and the kernel delivers its datagram (checksum completed)");
    h.csum_start = (uint16_t)(n - 7);
    is(host_net_send(&h, f, n), -1,
       "a checksum field past the frame's end is refused");
    h = (struct virtio_net_hdr){ .gso_type = 1 };
    is(host_net_send(&h, f, n), -1, "segmentation offload is refused");
}

static void test_tap(void)
{
    struct lunik_net_config c = user_cfg();
    static uint8_t f[2048];
    uint8_t kernel_mac[6];
    char why[200];
    long n;

    c.kind = LUNIK_NET_TAP;
    snprintf(c.tap_name, sizeof c.tap_name, "%s", "nosuchtap9");
    is(host_net_open(&c, why, sizeof why), -1, "a missing tap is refused");
    is(strcmp(why, "no network interface named 'nosuchtap9'"), 0,
       "... naming it");
    snprintf(c.tap_name, sizeof c.tap_name, "%s", "lo");
    is(host_net_open(&c, why, sizeof why), -1, "lo is not a tap");

    /* The tap and its address live in a network namespace of this
     * process's own, which goes away with it. */
    if (unshare(CLONE_NEWNET) != 0) {
        printf("# cannot make a network namespace (unshare(CLONE_NEWNET): "
               "%s)\n", strerror(errno));
        skip(13, "no network namespace");
        return;
    }
    snprintf(tap, sizeof tap, "lunu%u", (unsigned)getpid() % 100000000u);
    if (sh("ip tuntap add dev %s mode tap >/dev/null 2>&1") != 0 ||
        sh("ip addr add " TAP_HOST "/24 dev %s && ip link set %s up") != 0) {
        printf("# cannot create a tap here (ip tuntap add dev %s mode tap "
               "failed: it needs CAP_NET_ADMIN and /dev/net/tun)\n", tap);
        skip(13, "no tap interface");
        sh("ip link del %s >/dev/null 2>&1");
        return;
    }
    snprintf(c.tap_name, sizeof c.tap_name, "%s", tap);
    if (host_net_open(&c, why, sizeof why) != 0)
        printf("# %s\n", why);
    {
        struct host_net_info ti = { 0 };
        is(host_net_info(&ti), 0, "a tap attaches");
        ok(ti.csum_offload, "... offering checksum offload");
    }

    /* A datagram to TAP_GUEST makes the kernel ask, on the tap, who has
     * it; the guest answers, and the kernel then delivers the datagram. */
    {
        const char *msg = "lunik tap test";
        struct sockaddr_in to = { .sin_family = AF_INET,
                                  .sin_port = htons(9),
                                  .sin_addr.s_addr = ip(TAP_GUEST) };
        int s = socket(AF_INET, SOCK_DGRAM, 0);
        sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&to, sizeof to);
        n = wait_frame(f, sizeof f, 5, match_kernel_arp, NULL);
        ok(n > 0, "the kernel's ARP request for " TAP_GUEST " arrives");
        if (n > 0) {
            memcpy(kernel_mac, f + 6, 6);
            n = (long)arp(f, kernel_mac, 2, guest_mac, ip(TAP_GUEST),
                          kernel_mac, ip(TAP_HOST));
            is(host_net_send(NULL, f, (size_t)n), 0, "the guest's ARP reply is "
               "written to the tap");
            n = wait_frame(f, sizeof f, 5, match_udp, (void *)msg);
            ok(n > 0, "the kernel then sends the datagram to the guest");
            ok(n > 0 && !(last_hdr.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM),
               "... with its checksum complete (offload is off)");
            is(host_net_set_csum_offload(1), 0, "checksum offload turns on");
            sendto(s, msg, strlen(msg), 0, (struct sockaddr *)&to,
                   sizeof to);
            n = wait_frame(f, sizeof f, 5, match_udp, (void *)msg);
            ok(n > 0 && last_hdr.flags == VIRTIO_NET_HDR_F_NEEDS_CSUM &&
               last_hdr.csum_start == 34 && last_hdr.csum_offset == 6,
               "then the kernel leaves the datagram's checksum partial");
            test_tap_send(s, f, kernel_mac);
        } else {
            skip(9, "no ARP request");
        }
        close(s);
    }
    host_net_close();
    is(sh("ip link del %s"), 0, "the tap is removed");
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (host_init() != 0) {
        printf("Bail out! host_init failed\n");
        return 1;
    }
    test_user();
    test_tap();
    printf("1..%d\n", test_n);
    return test_failed != 0;
}
