/* netopts.c: the network options of `lunik run`: --net, -p, --ip, --mac. */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lunik/run.h"
#include "cli.h"

#define IFNAME_MAX 15           /* IFNAMSIZ - 1 (Linux) */

/* cli_parse_port: "1".."65535" in decimal digits only; 0 if not. */
static uint16_t cli_parse_port(const char *s, size_t n)
{
    unsigned long v = 0;

    if (n == 0 || n > 5)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return 0;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    return v <= 65535 ? (uint16_t)v : 0;
}

/* cli_parse_ipv4: a dotted quad (inet_pton(3)) of n bytes at s. */
static int cli_parse_ipv4(const char *s, size_t n, uint32_t *addr)
{
    char buf[INET_ADDRSTRLEN];
    struct in_addr in;

    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, &in) != 1)
        return -1;
    *addr = in.s_addr;
    return 0;
}

/* --net user | tap:NAME | none */
static int cli_opt_net(const char *v, struct cli_options *opt)
{
    struct lunik_net_config *net = &opt->net;

    opt->net_given = 1;
    if (strcmp(v, "user") == 0) {
        net->kind = LUNIK_NET_USER;
    } else if (strcmp(v, "none") == 0) {
        net->kind = LUNIK_NET_NONE;
    } else if (strncmp(v, "tap:", 4) == 0) {
        const char *name = v + 4;
        size_t n = strlen(name);
        if (n == 0 || n > IFNAME_MAX || strcmp(name, ".") == 0 ||
            strcmp(name, "..") == 0 || strpbrk(name, "/: \t\n") != NULL)
            return cli_fail(LUNIK_EXIT_USAGE, "--net '%s': '%s' is not a "
                            "network interface name (1 to %d characters, "
                            "no '/', ':' or spaces).", v, name, IFNAME_MAX);
        net->kind = LUNIK_NET_TAP;
        memcpy(net->tap_name, name, n + 1);
    } else {
        return cli_fail(LUNIK_EXIT_USAGE, "--net '%s' is not a network "
                        "(user, tap:NAME or none).", v);
    }
    return 0;
}

/* -p [HOSTADDR:]HOSTPORT:GUESTPORT[/udp|/tcp] */
static int cli_opt_port(const char *v, struct cli_options *opt)
{
    struct lunik_net_config *net = &opt->net;
    struct lunik_net_forward f = { .host_addr = htonl(0x7f000001u) };
    const char *end = v + strlen(v), *slash = strchr(v, '/');
    const char *c1, *c2, *hp;

    if (slash != NULL) {
        if (strcmp(slash, "/udp") == 0)
            f.udp = 1;
        else if (strcmp(slash, "/tcp") != 0)
            return cli_fail(LUNIK_EXIT_USAGE, "-p '%s': the protocol must "
                            "be /tcp or /udp.", v);
        end = slash;
    }
    c1 = memchr(v, ':', (size_t)(end - v));
    c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
    if (c1 == NULL || (c2 && memchr(c2 + 1, ':', (size_t)(end - c2 - 1))))
        return cli_fail(LUNIK_EXIT_USAGE, "-p '%s' is not "
                        "[HOSTADDR:]HOSTPORT:GUESTPORT[/udp|/tcp].", v);
    hp = v;
    if (c2 != NULL) {
        if (cli_parse_ipv4(v, (size_t)(c1 - v), &f.host_addr) != 0)
            return cli_fail(LUNIK_EXIT_USAGE, "-p '%s': '%.*s' is not an "
                            "IPv4 address.", v, (int)(c1 - v), v);
        hp = c1 + 1;
        c1 = c2;
    }
    f.host_port = cli_parse_port(hp, (size_t)(c1 - hp));
    f.guest_port = cli_parse_port(c1 + 1, (size_t)(end - c1 - 1));
    if (f.host_port == 0 || f.guest_port == 0)
        return cli_fail(LUNIK_EXIT_USAGE, "-p '%s': ports are numbers from "
                        "1 to 65535.", v);
    for (int i = 0; i < net->nforwards; i++) {
        const struct lunik_net_forward *g = &net->forwards[i];
        if (g->host_addr == f.host_addr && g->host_port == f.host_port &&
            g->udp == f.udp)
            return cli_fail(LUNIK_EXIT_USAGE, "-p '%s': host port %u/%s is "
                            "already forwarded.", v, f.host_port,
                            f.udp ? "udp" : "tcp");
    }
    if (net->nforwards == LUNIK_NET_MAX_FORWARDS)
        return cli_fail(LUNIK_EXIT_USAGE, "-p '%s': at most %d port "
                        "forwards.", v, LUNIK_NET_MAX_FORWARDS);
    net->forwards[net->nforwards++] = f;
    return 0;
}

/* --ip ADDR/PREFIX[,GATEWAY]; checked against the network in
 * cli_net_finish(). */
static int cli_opt_ip(const char *v, struct cli_options *opt)
{
    struct lunik_net_config *net = &opt->net;
    const char *slash = strchr(v, '/'), *comma = strchr(v, ',');
    const char *pend = comma ? comma : v + strlen(v);
    unsigned prefix = 0;

    if (slash == NULL || (comma != NULL && comma < slash) ||
        cli_parse_ipv4(v, (size_t)(slash - v), &net->ipv4_addr) != 0 ||
        pend - slash < 2 || pend - slash > 3)
        return cli_fail(LUNIK_EXIT_USAGE, "--ip '%s' is not "
                        "ADDR/PREFIX[,GATEWAY] (10.0.2.20/24).", v);
    for (const char *p = slash + 1; p < pend; p++) {
        if (!isdigit((unsigned char)*p))
            return cli_fail(LUNIK_EXIT_USAGE, "--ip '%s' is not "
                            "ADDR/PREFIX[,GATEWAY] (10.0.2.20/24).", v);
        prefix = prefix * 10 + (unsigned)(*p - '0');
    }
    if (prefix < 1 || prefix > 30)
        return cli_fail(LUNIK_EXIT_USAGE, "--ip '%s': the prefix length "
                        "must be 1 to 30.", v);
    net->ipv4_netmask = htonl(0xffffffffu << (32 - prefix));
    net->ipv4_gateway = 0;
    if (comma != NULL && cli_parse_ipv4(comma + 1, strlen(comma + 1),
                                        &net->ipv4_gateway) != 0)
        return cli_fail(LUNIK_EXIT_USAGE, "--ip '%s': the gateway '%s' is "
                        "not an IPv4 address.", v, comma + 1);
    opt->ip_arg = v;
    return 0;
}

/* --mac XX:XX:XX:XX:XX:XX, a unicast address */
static int cli_opt_mac(const char *v, struct cli_options *opt)
{
    uint8_t mac[6];
    const char *p = v;

    for (int i = 0; i < 6; i++) {
        char hex[3] = { p[0], p[0] ? p[1] : 0, 0 };
        if (!isxdigit((unsigned char)hex[0]) ||
            !isxdigit((unsigned char)hex[1]) ||
            p[2] != (i == 5 ? '\0' : ':'))
            return cli_fail(LUNIK_EXIT_USAGE, "--mac '%s' is not a MAC "
                            "address (XX:XX:XX:XX:XX:XX, hexadecimal).", v);
        mac[i] = (uint8_t)strtoul(hex, NULL, 16);
        p += 3;
    }
    if (mac[0] & 1)
        return cli_fail(LUNIK_EXIT_USAGE, "--mac '%s' is a multicast "
                        "address; a NIC needs a unicast one.", v);
    if ((mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) == 0)
        return cli_fail(LUNIK_EXIT_USAGE, "--mac '%s' is all zeros.", v);
    memcpy(opt->net.mac, mac, sizeof mac);
    opt->mac_given = 1;
    return 0;
}

int cli_net_option(const char *name, const char *value,
                   struct cli_options *opt)
{
    if (strcmp(name, "--net") == 0)
        return cli_opt_net(value, opt);
    if (strcmp(name, "-p") == 0)
        return cli_opt_port(value, opt);
    if (strcmp(name, "--ip") == 0)
        return cli_opt_ip(value, opt);
    return cli_opt_mac(value, opt);
}

/* An address in a user-mode network that is slirp's own. */
static int cli_check_user_ip(const struct cli_options *opt)
{
    const struct lunik_net_config *net = &opt->net;
    uint32_t network = net->ipv4_addr & net->ipv4_netmask;
    uint32_t host = net->ipv4_gateway ? net->ipv4_gateway
                                      : network | htonl(2);
    uint32_t dns = network | htonl(3);

    if (ntohl(net->ipv4_netmask) > 0xfffffff8u)
        return cli_fail(LUNIK_EXIT_USAGE, "--ip '%s': with --net user the "
                        "prefix length must be at most 29.", opt->ip_arg);
    if (net->ipv4_addr == host || net->ipv4_addr == dns || host == dns)
        return cli_fail(LUNIK_EXIT_USAGE, "--ip '%s': with --net user the "
                        "network's .3 address is the DNS server and the "
                        "gateway (default .2) is the host; the guest needs "
                        "another address.", opt->ip_arg);
    return 0;
}

/* The address, the gateway, and the network they share. */
static int cli_check_ip(const struct cli_options *opt)
{
    const struct lunik_net_config *net = &opt->net;
    uint32_t mask = net->ipv4_netmask, a = net->ipv4_addr;
    uint32_t gw = net->ipv4_gateway;

    if ((a & ~mask) == 0 || (a & ~mask) == ~mask)
        return cli_fail(LUNIK_EXIT_USAGE, "--ip '%s': the address is its "
                        "network's own or broadcast address.", opt->ip_arg);
    if (gw != 0 && ((gw & mask) != (a & mask) || (gw & ~mask) == 0 ||
                    (gw & ~mask) == ~mask || gw == a))
        return cli_fail(LUNIK_EXIT_USAGE, "--ip '%s': the gateway must be "
                        "another host address in the same network.",
                        opt->ip_arg);
    return net->kind == LUNIK_NET_USER ? cli_check_user_ip(opt) : 0;
}

int cli_net_finish(struct cli_options *opt)
{
    struct lunik_net_config *net = &opt->net;
    static const uint8_t user_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };

    if (net->nforwards > 0) {
        if (opt->net_given && net->kind == LUNIK_NET_TAP)
            return cli_usage("run: -p forwards host ports with --net user "
                             "only; on a tap interface the guest has its "
                             "own address.");
        if (opt->net_given && net->kind == LUNIK_NET_NONE)
            return cli_usage("run: -p needs a network, not --net none.");
        net->kind = LUNIK_NET_USER;
    }
    if (net->kind == LUNIK_NET_NONE) {
        if (opt->ip_arg != NULL || opt->mac_given)
            return cli_usage("run: --ip and --mac need a network (--net "
                             "user, --net tap:NAME or -p).");
        return 0;
    }
    net->mtu = 0;                   /* the link's: host_net_open */
    if (opt->ip_arg != NULL) {
        int rc = cli_check_ip(opt);
        if (rc != 0)
            return rc;
    } else {
        net->ipv4_addr = net->ipv4_netmask = net->ipv4_gateway = 0;
    }
    if (!opt->mac_given) {
        /* Locally administered (52:54:00, as QEMU's); on a tap, which may
         * share a bridge with other instances, unique per process. */
        memcpy(net->mac, user_mac, sizeof user_mac);
        if (net->kind == LUNIK_NET_TAP) {
            unsigned pid = (unsigned)getpid();
            net->mac[3] = (uint8_t)(pid >> 16);
            net->mac[4] = (uint8_t)(pid >> 8);
            net->mac[5] = (uint8_t)pid;
        }
    }
    return 0;
}
