/* platform.c: platform.h on the KVM target: hypercalls, and clocks from the TSC. */
#include "lunik/platform.h"

#include <string.h>

#include "boot.h"
#include "cpu.h"
#include "sys.h"

/*
 * The monotonic clock is the host's CLOCK_MONOTONIC, extrapolated with the
 * TSC from the last host reading (at boot and after every yield):
 *   now = base_mono + (rdtsc - base_tsc) * tsc_mult / 2^32
 * and never less than the last value returned. Without a TSC frequency
 * (KVM_GET_TSC_KHZ failed) every read is a LUNIK_HC_CLOCK hypercall.
 */
static uint64_t tsc_mult;               /* ns per TSC tick, 32.32 fixed point */
static uint64_t base_tsc, base_mono, base_wall;
static uint64_t last_mono;

static void clock_sync(uint64_t mono, uint64_t wall)
{
    base_tsc = guest_rdtsc();
    base_mono = mono;
    base_wall = wall;
}

void guest_platform_init(const struct lunik_boot_info *b)
{
    struct lunik_hc_clock c;

    if (b->tsc_khz > 0)
        tsc_mult = (1000000ull << 32) / b->tsc_khz;
    guest_hypercall(LUNIK_HC_CLOCK, &c);
    clock_sync(c.monotonic_ns, c.wall_ns);
    last_mono = c.monotonic_ns;
}

uint64_t plat_clock_monotonic(void)
{
    uint64_t now;

    if (tsc_mult == 0) {
        struct lunik_hc_clock c;
        guest_hypercall(LUNIK_HC_CLOCK, &c);
        clock_sync(c.monotonic_ns, c.wall_ns);
        now = c.monotonic_ns;
    } else {
        uint64_t ticks = guest_rdtsc() - base_tsc;
        now = base_mono +
              (uint64_t)((unsigned __int128)ticks * tsc_mult >> 32);
    }
    if (now < last_mono)
        now = last_mono;
    last_mono = now;
    return now;
}

uint64_t plat_clock_wall(void)
{
    uint64_t mono = plat_clock_monotonic();

    return base_wall + (mono - base_mono);
}

void plat_console_write(int stream, const void *p, size_t n)
{
    struct lunik_hc_write w = {
        .stream = stream == PLAT_STDOUT ? PLAT_STDOUT : PLAT_STDERR,
        .data = (uint64_t)(uintptr_t)p,
        .len = n,
    };

    guest_hypercall(LUNIK_HC_WRITE, &w);
}

long plat_console_read(void *p, size_t n)
{
    struct lunik_hc_read r = { .data = (uint64_t)(uintptr_t)p, .len = n };

    guest_hypercall(LUNIK_HC_READ, &r);
    return r.ret < 0 ? PLAT_EOF : r.ret;
}

const char *plat_target(void)
{
    return "kvm";
}

/*
 * The NIC. A VM exit costs tens of microseconds on kvm_pvm, a frame copy
 * well under one, so frames cross in batches (hypercall.h):
 *   - plat_net_send() appends the frame to the TX batch; the batch goes to
 *     the monitor with the next yield or NIC transfer, or when it is full;
 *   - every yield carries the TX batch and, when the RX batch is used up
 *     and the caller waits for frames, room for the next RX batch (at
 *     most NET_RX_MAX frames, so replies flow between batches), which
 *     the monitor fills after waking;
 *   - plat_net_recv() takes frames from the RX batch; once it is used up,
 *     it asks the monitor (a transfer) unless the last transfer reported
 *     that nothing more waited, in which case it answers 0 once first.
 * So a busy event loop (yield, receive all, send replies) costs one VM
 * exit per turn, however many frames it moves.
 */
#define NET_BATCH (64u << 10)           /* bytes per batch */
#define NET_RX_MAX 64u                  /* frames per RX batch (hypercall.h) */

static struct plat_net_info nic;
static int nic_state;                   /* 0 unknown, 1 present, -1 none */
static uint8_t tx_batch[NET_BATCH], rx_batch[NET_BATCH];
static size_t tx_len;                   /* bytes queued in tx_batch */
static size_t rx_at, rx_len;            /* next record; bytes in rx_batch */
static int rx_drained;                  /* the host had no more frames */

static int nic_present(void)
{
    struct lunik_hc_net_info h = { .ret = -1 };

    if (nic_state != 0)
        return nic_state > 0;
    guest_hypercall(LUNIK_HC_NET_INFO, &h);
    nic_state = -1;
    if (h.ret != 0)
        return 0;
    for (int i = 0; i < 6; i++)
        nic.mac[i] = h.mac[i];
    nic.mtu = h.mtu;
    nic.ipv4_addr = h.ipv4_addr;
    nic.ipv4_netmask = h.ipv4_netmask;
    nic.ipv4_gateway = h.ipv4_gateway;
    nic_state = 1;
    return 1;
}

/* Fill x for a transfer: the TX batch, and RX room when `receive`. */
static void xfer_prepare(struct lunik_hc_net_xfer *x, int receive)
{
    x->tx = (uint64_t)(uintptr_t)tx_batch;
    x->tx_len = tx_len;
    x->rx = receive ? (uint64_t)(uintptr_t)rx_batch : 0;
    x->rx_room = receive ? sizeof rx_batch : 0;
    x->rx_max = NET_RX_MAX;
}

/* After a transfer: the TX batch is gone, the RX batch is new. */
static void xfer_done(const struct lunik_hc_net_xfer *x, int receive)
{
    tx_len = 0;
    if (receive) {
        rx_at = 0;
        rx_len = x->rx_len <= sizeof rx_batch ? x->rx_len : 0;
        rx_drained = !x->rx_more;
    }
}

static void net_transfer(int receive)
{
    struct lunik_hc_net_xfer x;

    xfer_prepare(&x, receive);
    guest_hypercall(LUNIK_HC_NET_XFER, &x);
    xfer_done(&x, receive);
}

int plat_net_info(struct plat_net_info *info)
{
    if (!nic_present())
        return -1;
    *info = nic;
    return 0;
}

int plat_net_send(const void *p, size_t n)
{
    if (!nic_present() || n < PLAT_ETH_MIN ||
        n > (size_t)nic.mtu + PLAT_ETH_HEADER ||
        n > NET_BATCH - LUNIK_NET_RECORD_HEADER)
        return -1;
    if (tx_len + LUNIK_NET_RECORD_HEADER + n > sizeof tx_batch)
        net_transfer(0);
    tx_batch[tx_len] = (uint8_t)n;
    tx_batch[tx_len + 1] = (uint8_t)(n >> 8);
    memcpy(tx_batch + tx_len + LUNIK_NET_RECORD_HEADER, p, n);
    tx_len += LUNIK_NET_RECORD_HEADER + n;
    return 0;
}

long plat_net_recv(void *p, size_t n)
{
    if (nic_state <= 0)
        return 0;
    for (;;) {
        if (rx_at + LUNIK_NET_RECORD_HEADER <= rx_len) {
            size_t len = (size_t)rx_batch[rx_at] |
                         (size_t)rx_batch[rx_at + 1] << 8;
            const uint8_t *f = rx_batch + rx_at + LUNIK_NET_RECORD_HEADER;
            rx_at += LUNIK_NET_RECORD_HEADER + len;
            if (rx_at > rx_len)
                break;                  /* a broken batch: drop the rest */
            if (len > n)
                continue;               /* too long for p: dropped */
            memcpy(p, f, len);
            return (long)len;
        }
        if (rx_drained) {
            rx_drained = 0;             /* the host was just asked */
            return 0;
        }
        net_transfer(1);
        if (rx_len == 0) {
            rx_drained = 0;
            return 0;
        }
    }
    rx_at = rx_len = 0;
    return 0;
}

uint32_t plat_yield(uint64_t deadline_ns, uint32_t events)
{
    struct lunik_hc_yield y = { .deadline_ns = deadline_ns,
                                .events = events };
    struct lunik_hc_net_xfer x;
    int receive = 0;

    if (nic_state > 0) {
        if ((events & PLAT_READY_NET) && rx_at < rx_len)
            return PLAT_READY_NET;      /* frames are here already */
        receive = (events & PLAT_READY_NET) != 0;
        xfer_prepare(&x, receive);
        y.net = (uint64_t)(uintptr_t)&x;
    }
    guest_hypercall(LUNIK_HC_YIELD, &y);
    clock_sync(y.monotonic_ns, y.wall_ns);
    if (nic_state > 0) {
        xfer_done(&x, receive);
        if (rx_at < rx_len)
            y.ready |= PLAT_READY_NET;
    }
    return y.ready & events;
}

_Noreturn void plat_exit(int status)
{
    struct lunik_hc_exit e = { .status = (uint64_t)status & 0xff };

    if (nic_state > 0 && tx_len > 0)
        net_transfer(0);                /* frames sent before the end */
    for (;;)
        guest_hypercall(LUNIK_HC_EXIT, &e);
}

/* ---- hooks of the system-call shim (sys.h) ---- */

int guest_console_winsize(int fd, uint16_t *rows, uint16_t *cols)
{
    const struct lunik_boot_info *b = guest_boot_info();

    if (fd < 0 || fd > 2 || !(b->console_tty & (1u << fd)))
        return -1;
    *rows = b->tty_rows ? b->tty_rows : 24;
    *cols = b->tty_cols ? b->tty_cols : 80;
    return 0;
}

void guest_random(void *p, size_t n)
{
    guest_cpu_random(p, n);
}

void guest_set_tls(uint64_t base)
{
    guest_cpu_set_fs_base(base);
}
