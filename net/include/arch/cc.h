/* cc.h: lwIP's compiler and C-library port for lunik (lwIP 2.1 doc/sys_arch.txt). */
#ifndef LUNIK_LWIP_ARCH_CC_H
#define LUNIK_LWIP_ARCH_CC_H

#include <stdio.h>
#include <stdlib.h>

/*
 * The C library (musl in the guest, glibc hosted) provides stdint.h,
 * inttypes.h, limits.h, ctype.h and errno.h, so lwIP's own defaults in
 * lwip/arch.h apply. x86_64 is little-endian.
 */
#ifndef BYTE_ORDER
#define BYTE_ORDER LITTLE_ENDIAN
#endif

/* Diagnostics go to stderr; a failed lwIP assertion is a bug: abort. */
void lunik_net_diag(const char *fmt, ...);
#define LWIP_PLATFORM_DIAG(x) do { lunik_net_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) do { \
        fprintf(stderr, "lunik: lwIP assertion failed: %s (%s:%d)\n", \
                x, __FILE__, __LINE__); \
        abort(); \
    } while (0)

/* Random numbers for TCP's first local port and DHCP's transaction ids. */
unsigned int lunik_net_rand(void);
#define LWIP_RAND() ((u32_t)lunik_net_rand())

#endif
