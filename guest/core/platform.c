/* platform.c: the parts of platform.h every binding shares: console and NIC through the virtio drivers, and the wait loop. */
#include "lunik/platform.h"

#include "binding.h"
#include "cpu.h"
#include "sys.h"
#include "virtio/binding.h"
#include "virtio/console.h"
#include "virtio/control.h"
#include "virtio/net.h"

static int console_eof_told;            /* plat_console_read gave PLAT_EOF */
static int serial_console = -1;         /* the binding's serial port is the
                                           console (binding.h); -1 unknown */

static int on_serial(void)
{
    if (serial_console < 0)
        serial_console = guest_bind_serial_write("", 0) == 0;
    return serial_console;
}
static int shutdown_pending;            /* the binding reported a shutdown */

void plat_console_write(int stream, const void *p, size_t n)
{
    if (on_serial())
        guest_bind_serial_write(p, n);
    else
        gv_console_write(stream == PLAT_STDOUT ? 1 : 2, p, n);
}

long plat_console_read(void *p, size_t n)
{
    long r;

    if (console_eof_told)
        return PLAT_EOF;
    if (on_serial()) {                  /* a serial console has no input */
        console_eof_told = 1;
        return PLAT_EOF;
    }
    r = gv_console_read(p, n);
    if (r < 0) {
        console_eof_told = 1;
        return PLAT_EOF;
    }
    return r;
}

/* The NIC: the virtio-net driver (virtio/net.c); its IPv4 set-up comes
 * from the binding, as virtio-net does not carry one. */
int plat_net_info(struct plat_net_info *info)
{
    const struct guest_boot *b = guest_bind_boot();
    uint16_t mtu;

    if (gv_net_start(info->mac, &mtu, &info->csum_offload) != 0)
        return -1;
    info->mtu = mtu;
    info->ipv4_addr = b->ipv4_addr;
    info->ipv4_netmask = b->ipv4_netmask;
    info->ipv4_gateway = b->ipv4_gateway;
    return 0;
}

int plat_net_send(const void *p, size_t n, const struct virtio_net_hdr *h)
{
    if (n < PLAT_ETH_MIN)
        return -1;
    return gv_net_send(p, n, h);
}

long plat_net_recv(void *p, size_t n, struct virtio_net_hdr *h)
{
    return gv_net_recv(p, n, h);
}

/* The ready set right now; for each event not ready, the device is asked
 * to notify when it comes. */
static uint32_t ready_now(uint32_t events)
{
    uint32_t ready = 0;

    if ((events & PLAT_READY_CONSOLE) && !console_eof_told &&
        (on_serial() || gv_console_want_input()))
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
 * queue waited for, look once more, then wait in the binding.
 */
uint32_t plat_yield(uint64_t deadline_ns, uint32_t events)
{
    uint32_t ready;

    gv_console_flush();
    gv_net_flush();
    for (;;) {
        ready = ready_now(events);
        if (guest_bind_shutdown())
            shutdown_pending = 1;           /* kept until asked for */
        if (shutdown_pending && (events & PLAT_READY_SHUTDOWN)) {
            shutdown_pending = 0;
            ready |= PLAT_READY_SHUTDOWN;
        }
        if (ready != 0 || plat_clock_monotonic() >= deadline_ns)
            break;
        if ((events & PLAT_READY_CONTROL) && gv_control_start() == 0 &&
            gv_control_want())          /* set up before the first wait */
            continue;
        gv_binding_wait(deadline_ns);
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
    gv_console_flush();
    gv_net_flush();
    guest_bind_exit(status & 0xff);
}

int gv_binding_tty(int stream)
{
    return (guest_bind_boot()->console_tty >> stream) & 1;
}

_Noreturn void gv_binding_panic(const char *msg)
{
    guest_cpu_panic(msg);
}

/* ---- hooks of the system-call shim (sys.h) ---- */

int guest_console_winsize(int fd, uint16_t *rows, uint16_t *cols)
{
    const struct guest_boot *b = guest_bind_boot();

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

/* ---- the control channel (platform.h): virtio/control.c, where the
 * binding has its device (lunik's monitor; not the PVH binding) ---- */

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
