/* net_tap.c: the tap back end: an existing tap interface (/dev/net/tun), frames behind virtio-net headers. */
#include "net_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

static int tap_fd = -1;
static int tap_idx = -1;                /* tap_fd's index in this wait's set */
static int tap_gone;                    /* the interface went away */
static char tap_name[IFNAMSIZ];

/* Room for the longest frame a tap can hold, to tell a long frame from a
 * fitting one in net_tap_recv(). */
static unsigned char overflow[65536];

int net_tap_open(const struct lunik_net_config *cfg, char *why, size_t n)
{
    struct ifreq ifr;
    int e;

    snprintf(tap_name, sizeof tap_name, "%s", cfg->tap_name);
    if (tap_name[0] == '\0' || if_nametoindex(tap_name) == 0) {
        snprintf(why, n, "no network interface named '%s'", tap_name);
        return -1;
    }
    tap_fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (tap_fd < 0) {
        snprintf(why, n, "cannot open /dev/net/tun for tap interface '%s': "
                 "%s", tap_name, strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, tap_name, sizeof ifr.ifr_name);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (ioctl(tap_fd, TUNSETIFF, &ifr) < 0) {
        e = errno;
        if (e == EINVAL)
            snprintf(why, n, "network interface '%s' is not a tap "
                     "interface", tap_name);
        else if (e == EBUSY)
            snprintf(why, n, "tap interface '%s' is in use by another "
                     "program", tap_name);
        else
            snprintf(why, n, "cannot attach to tap interface '%s': %s%s",
                     tap_name, strerror(e), e == EPERM ? " (it needs "
                     "CAP_NET_ADMIN or to be the tap's owner)" : "");
        net_tap_close();
        return -1;
    }
    int hdr = (int)sizeof(struct virtio_net_hdr);
    if (ioctl(tap_fd, TUNSETVNETHDRSZ, &hdr) < 0 || net_tap_offload(0) < 0) {
        snprintf(why, n, "cannot set up tap interface '%s' for virtio-net "
                 "headers: %s", tap_name, strerror(errno));
        net_tap_close();
        return -1;
    }
    tap_gone = 0;
    return 0;
}

int net_tap_offload(int on)
{
    return ioctl(tap_fd, TUNSETOFFLOAD, on ? TUN_F_CSUM : 0u) < 0 ? -1 : 0;
}

int net_tap_mtu(void)
{
    struct ifreq ifr;
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), r = -1;

    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, tap_name, sizeof ifr.ifr_name);
    if (s >= 0 && ioctl(s, SIOCGIFMTU, &ifr) == 0)
        r = ifr.ifr_mtu;
    if (s >= 0)
        close(s);
    return r;
}

void net_tap_close(void)
{
    /* Offloads belong to the interface and outlive this descriptor:
     * leave it as a program without virtio-net headers expects. */
    if (tap_fd >= 0) {
        net_tap_offload(0);
        close(tap_fd);
    }
    tap_fd = -1;
}

int net_tap_send(const struct virtio_net_hdr *h, const void *p, size_t n)
{
    struct iovec iov[2] = {
        { .iov_base = (void *)h, .iov_len = sizeof *h },
        { .iov_base = (void *)p, .iov_len = n },
    };
    ssize_t w;

    if (tap_gone)
        return -1;
    do
        w = writev(tap_fd, iov, 2);
    while (w < 0 && errno == EINTR);
    /* EAGAIN: the tap's queue is full; EIO: its link is down. */
    return w == (ssize_t)(sizeof *h + n) ? 0 : -1;
}

long net_tap_recv(struct virtio_net_hdr *h, void *p, size_t n,
                  size_t max_frame)
{
    for (;;) {
        struct iovec iov[3] = {
            { .iov_base = h, .iov_len = sizeof *h },
            { .iov_base = p, .iov_len = n },
            { .iov_base = overflow, .iov_len = sizeof overflow },
        };
        ssize_t r;

        if (tap_gone)
            return 0;
        r = readv(tap_fd, iov, 3);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                tap_gone = 1;           /* EBADFD: the interface is gone */
            return 0;
        }
        r -= (ssize_t)sizeof *h;
        if (r < (ssize_t)HOST_NET_ETH_HEADER || (size_t)r > n ||
            (size_t)r > max_frame) {
            net_stats.rx_dropped++;
            continue;
        }
        return (long)r;
    }
}

void net_tap_poll_fill(struct host_pollset *ps, int want_frames)
{
    tap_idx = -1;
    if (want_frames && !tap_gone)
        tap_idx = host_pollset_add(ps, tap_fd, POLLIN);
}

int net_tap_poll_done(const struct host_pollset *ps, int failed)
{
    short re;

    if (failed || tap_idx < 0 || (unsigned)tap_idx >= ps->n)
        return 0;
    re = ps->fds[tap_idx].revents;
    if (re & (POLLERR | POLLHUP | POLLNVAL)) {
        if (!tap_gone)
            fprintf(stderr, "lunik: network: tap interface '%s' went "
                    "away\n", tap_name);
        tap_gone = 1;
        return 0;
    }
    return (re & POLLIN) != 0;
}
