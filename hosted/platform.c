/* platform.c: the hosted target's platform.h over host/'s Linux back ends. */
#include <stdlib.h>
#include <string.h>

#include "../host/control.h"
#include "../host/host.h"
#include "../host/net.h"
#include "lunik/platform.h"

uint64_t plat_clock_monotonic(void)
{
    return host_clock_monotonic();
}

uint64_t plat_clock_wall(void)
{
    return host_clock_wall();
}

void plat_console_write(int stream, const void *p, size_t n)
{
    host_console_write(stream == PLAT_STDOUT ? 1 : 2, p, n);
}

long plat_console_read(void *p, size_t n)
{
    long r = host_console_read(p, n);
    return r < 0 ? PLAT_EOF : r;
}

/* The absolute deadline becomes host_wait()'s relative timeout. */
uint32_t plat_yield(uint64_t deadline_ns, uint32_t events)
{
    uint64_t timeout = UINT64_MAX;
    if (deadline_ns != UINT64_MAX) {
        uint64_t now = host_clock_monotonic();
        timeout = deadline_ns > now ? deadline_ns - now : 0;
    }
    return host_wait(timeout, events & (HOST_READY_CONSOLE | HOST_READY_NET |
                                        HOST_READY_SHUTDOWN |
                                        HOST_READY_CONTROL));
}

/* The control channel: served in host_wait() (host/control.h). */
struct host_control hosted_control = { -1, -1, 0 };

long plat_control_read(void *p, size_t n)
{
    long r = host_control_read(&hosted_control, p, n);
    return r < 0 ? PLAT_CONTROL_HANGUP : r;
}

void plat_control_write(const void *p, size_t n)
{
    host_control_write(&hosted_control, p, n);
}

/* exit(3), so that the lunik command's own exit handlers run too. */
_Noreturn void plat_exit(int status)
{
    exit(status & 0xff);
}

const char *plat_target(void)
{
    return "hosted";
}

/* The NIC: host/net.c's back end, opened by lunik_hosted_run(). */
int plat_net_info(struct plat_net_info *info)
{
    struct host_net_info h;

    if (host_net_info(&h) != 0)
        return -1;
    memcpy(info->mac, h.mac, sizeof info->mac);
    info->mtu = h.mtu;
    info->ipv4_addr = h.ipv4_addr;
    info->ipv4_netmask = h.ipv4_netmask;
    info->ipv4_gateway = h.ipv4_gateway;
    info->csum_offload = h.csum_offload;
    return 0;
}

int plat_net_send(const void *p, size_t n, const struct virtio_net_hdr *h)
{
    return host_net_send(h, p, n);
}

long plat_net_recv(void *p, size_t n, struct virtio_net_hdr *h)
{
    return host_net_recv(h, p, n);
}
