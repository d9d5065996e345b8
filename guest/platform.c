/* platform.c: platform.h on the KVM target: hypercalls, and clocks from the TSC. */
#include "lunik/platform.h"

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

uint32_t plat_yield(uint64_t deadline_ns, uint32_t events)
{
    struct lunik_hc_yield y = { .deadline_ns = deadline_ns,
                                .events = events };

    guest_hypercall(LUNIK_HC_YIELD, &y);
    clock_sync(y.monotonic_ns, y.wall_ns);
    return y.ready & events;
}

_Noreturn void plat_exit(int status)
{
    struct lunik_hc_exit e = { .status = (uint64_t)status & 0xff };

    for (;;)
        guest_hypercall(LUNIK_HC_EXIT, &e);
}

const char *plat_target(void)
{
    return "kvm";
}

/* The NIC: one hypercall per call; the monitor checks every address. */
int plat_net_info(struct plat_net_info *info)
{
    struct lunik_hc_net_info h = { .ret = -1 };

    guest_hypercall(LUNIK_HC_NET_INFO, &h);
    if (h.ret != 0)
        return -1;
    for (int i = 0; i < 6; i++)
        info->mac[i] = h.mac[i];
    info->mtu = h.mtu;
    info->ipv4_addr = h.ipv4_addr;
    info->ipv4_netmask = h.ipv4_netmask;
    info->ipv4_gateway = h.ipv4_gateway;
    return 0;
}

int plat_net_send(const void *p, size_t n)
{
    struct lunik_hc_net_send s = { .data = (uint64_t)(uintptr_t)p,
                                   .len = n, .ret = -1 };

    guest_hypercall(LUNIK_HC_NET_SEND, &s);
    return s.ret == 0 ? 0 : -1;
}

long plat_net_recv(void *p, size_t n)
{
    struct lunik_hc_net_recv r = { .data = (uint64_t)(uintptr_t)p,
                                   .len = n };

    guest_hypercall(LUNIK_HC_NET_RECV, &r);
    return r.ret > 0 ? (long)r.ret : 0;
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
