/* platform.c: the hosted target's platform.h over host/'s Linux back ends. */
#include <stdlib.h>

#include "../host/host.h"
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
    return host_wait(timeout, events & HOST_READY_CONSOLE);
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

/* The NIC: none yet (host/net.c comes next). */
int plat_net_info(struct plat_net_info *info)
{
    (void)info;
    return -1;
}

int plat_net_send(const void *p, size_t n)
{
    (void)p;
    (void)n;
    return -1;
}

long plat_net_recv(void *p, size_t n)
{
    (void)p;
    (void)n;
    return 0;
}
