/* platform.c: platform.h on the KVM target: virtio drivers, the wait hypercall, clocks from the TSC. */
#include "lunik/platform.h"

#include <string.h>

#include "boot.h"
#include "cpu.h"
#include "sys.h"
#include "virtio/binding.h"
#include "virtio/console.h"
#include "virtio/control.h"
#include "virtio/net.h"

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
static int console_eof_told;            /* plat_console_read gave PLAT_EOF */

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
    gv_console_write(stream == PLAT_STDOUT ? 1 : 2, p, n);
}

long plat_console_read(void *p, size_t n)
{
    long r;

    if (console_eof_told)
        return PLAT_EOF;
    r = gv_console_read(p, n);
    if (r < 0) {
        console_eof_told = 1;
        return PLAT_EOF;
    }
    return r;
}

const char *plat_target(void)
{
    return "kvm";
}

/* The NIC: the virtio-net driver (virtio/net.c); its IPv4 set-up comes
 * from the boot info. */
int plat_net_info(struct plat_net_info *info)
{
    const struct lunik_boot_info *b = guest_boot_info();
    uint16_t mtu;

    if (gv_net_start(info->mac, &mtu) != 0)
        return -1;
    info->mtu = mtu;
    info->ipv4_addr = b->net_ipv4_addr;
    info->ipv4_netmask = b->net_ipv4_netmask;
    info->ipv4_gateway = b->net_ipv4_gateway;
    return 0;
}

int plat_net_send(const void *p, size_t n)
{
    if (n < PLAT_ETH_MIN)
        return -1;
    return gv_net_send(p, n);
}

long plat_net_recv(void *p, size_t n)
{
    return gv_net_recv(p, n);
}

/* The ready set right now; for each event not ready, the device is asked
 * to notify when it comes. */
static uint32_t ready_now(uint32_t events)
{
    uint32_t ready = 0;

    if ((events & PLAT_READY_CONSOLE) && !console_eof_told &&
        gv_console_want_input())
        ready |= PLAT_READY_CONSOLE;
    if ((events & PLAT_READY_NET) && gv_net_want())
        ready |= PLAT_READY_NET;
    if ((events & PLAT_READY_CONTROL) && gv_control_want())
        ready |= PLAT_READY_CONTROL;
    return ready;
}

/*
 * Devices notify only when asked (virtio.h): before waiting, hand over
 * buffered output and held-back frames, ask for a notification on each
 * queue waited for, look once more, then wait in the monitor.
 */
static int shutdown_pending;     /* the monitor reported a shutdown */

uint32_t plat_yield(uint64_t deadline_ns, uint32_t events)
{
    uint32_t ready;

    gv_console_flush();
    gv_net_flush();
    for (;;) {
        struct lunik_hc_wait w = { .deadline_ns = deadline_ns };
        ready = ready_now(events);
        if (shutdown_pending && (events & PLAT_READY_SHUTDOWN)) {
            shutdown_pending = 0;
            ready |= PLAT_READY_SHUTDOWN;
        }
        if (ready != 0 || plat_clock_monotonic() >= deadline_ns)
            break;
        if ((events & PLAT_READY_CONTROL) && gv_control_start() == 0 &&
            gv_control_want())          /* set up before the first wait */
            continue;
        guest_hypercall(LUNIK_HC_WAIT, &w);
        clock_sync(w.monotonic_ns, w.wall_ns);
        if (w.shutdown)
            shutdown_pending = 1;           /* kept until asked for */
    }
    if (events & PLAT_READY_CONSOLE)
        gv_console_quiet();
    if (events & PLAT_READY_NET)
        gv_net_quiet();
    if (events & PLAT_READY_CONTROL)
        gv_control_quiet();
    return ready;
}

_Noreturn void plat_exit(int status)
{
    struct lunik_hc_exit e = { .status = (uint64_t)status & 0xff };

    gv_console_flush();                 /* the monitor drains the queues */
    gv_net_flush();
    for (;;)
        guest_hypercall(LUNIK_HC_EXIT, &e);
}

/* ---- what the virtio drivers need (virtio/binding.h) ---- */

uintptr_t gv_binding_device(unsigned slot, uint32_t device_id)
{
    const struct lunik_boot_info *b = guest_boot_info();

    if (slot >= LUNIK_VIRTIO_SLOTS || b->virtio_ids[slot] != device_id)
        return 0;
    return (uintptr_t)LUNIK_VIRTIO_MMIO_ADDR(slot);
}

void gv_binding_wait(uint64_t deadline_ns)
{
    struct lunik_hc_wait w = { .deadline_ns = deadline_ns };

    guest_hypercall(LUNIK_HC_WAIT, &w);
    clock_sync(w.monotonic_ns, w.wall_ns);
}

int gv_binding_tty(int stream)
{
    return (guest_boot_info()->console_tty >> stream) & 1;
}

_Noreturn void gv_binding_panic(const char *msg)
{
    guest_cpu_panic(msg);
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

/* ---- the control channel (platform.h): virtio/control.c ---- */

long plat_control_read(void *p, size_t n)
{
    long r = gv_control_read(p, n);
    return r < 0 ? PLAT_CONTROL_HANGUP : r;
}

void plat_control_write(const void *p, size_t n)
{
    if (n > 0)
        gv_control_write(p, n);
}
