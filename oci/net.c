/* net.c: the guest's NIC inside the container's network namespace: a tap joined to the namespace's interface by tc redirects. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "oci.h"

#define OCI_TAP "lunik0"        /* the tap's name inside the namespace */

/* Run argv (PATH search), its stdout into out[0..n) (NUL-terminated) when
 * out is given. -> its exit status, or -1. */
static int run(char *const argv[], char *out, size_t n)
{
    int p[2];
    pid_t pid;
    int status;

    if (pipe(p) != 0)
        return -1;
    if ((pid = fork()) < 0)
        return -1;
    if (pid == 0) {
        dup2(p[1], 1);
        if (!out)
            dup2(p[1], 2);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t k = 0;
    ssize_t r;
    char sink[256];
    while ((r = read(p[0], out && k + 1 < n ? out + k : sink,
                     out && k + 1 < n ? n - 1 - k : sizeof sink)) > 0)
        if (out && k + 1 < n)
            k += (size_t)r;
    if (out)
        out[k] = 0;
    close(p[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Read the one-line sysfs attribute /sys/class/net/IF/name. */
static int sysfs(const char *ifname, const char *name, char *buf, size_t n)
{
    char path[256];
    FILE *f;

    snprintf(path, sizeof path, "/sys/class/net/%s/%s", ifname, name);
    if ((f = fopen(path, "r")) == NULL || !fgets(buf, (int)n, f)) {
        if (f)
            fclose(f);
        return -1;
    }
    fclose(f);
    buf[strcspn(buf, "\n")] = 0;
    return 0;
}

static char *arg(const char *s)
{
    return strdup(s);
}

int oci_net_attach(char **args, int *nargs, int max)
{
    char out[4096], ifname[64] = "", addr[64] = "", gw[64] = "";
    char mac[32], mtu[16], ip[160];

    if (*nargs + 8 > max)
        return oci_error("too many arguments");
    /* "2: eth0    inet 10.88.0.5/16 brd ... scope global eth0 ..." */
    char *show[] = { "ip", "-o", "-4", "addr", "show", "scope", "global",
                     NULL };
    if (run(show, out, sizeof out) != 0)
        return oci_error("cannot list the container's addresses (ip addr)");
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        char name[64], inet[16], a[64];
        if (sscanf(line, "%*d: %63s %15s %63s", name, inet, a) == 3 &&
            strcmp(inet, "inet") == 0) {
            name[strcspn(name, "@")] = 0;       /* eth0@if5 */
            snprintf(ifname, sizeof ifname, "%s", name);
            snprintf(addr, sizeof addr, "%s", a);
            break;
        }
    }
    if (ifname[0] == 0) {                       /* --network none */
        args[(*nargs)++] = arg("--net");
        args[(*nargs)++] = arg("none");
        return 0;
    }
    char *route[] = { "ip", "-4", "route", "show", "default", NULL };
    if (run(route, out, sizeof out) == 0)
        sscanf(out, "default via %63s", gw);
    if (sysfs(ifname, "address", mac, sizeof mac) != 0 ||
        sysfs(ifname, "mtu", mtu, sizeof mtu) != 0)
        return oci_error("cannot read %s's MAC address and MTU", ifname);

    char *steps[][16] = {
        { "ip", "tuntap", "add", "dev", OCI_TAP, "mode", "tap", NULL },
        { "ip", "link", "set", OCI_TAP, "mtu", mtu, "up", NULL },
        { "tc", "qdisc", "add", "dev", ifname, "ingress", NULL },
        { "tc", "filter", "add", "dev", ifname, "parent", "ffff:",
          "protocol", "all", "u32", "match", "u32", "0", "0", "action",
          "mirred" },
        { "tc", "qdisc", "add", "dev", OCI_TAP, "ingress", NULL },
        { "tc", "filter", "add", "dev", OCI_TAP, "parent", "ffff:",
          "protocol", "all", "u32", "match", "u32", "0", "0", "action",
          "mirred" },
    };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        char *argv[24];
        int k = 0;
        for (; k < 16 && steps[i][k]; k++)
            argv[k] = steps[i][k];
        if (k == 16) {                          /* the redirect's tail */
            argv[k++] = "egress";
            argv[k++] = "redirect";
            argv[k++] = "dev";
            argv[k++] = strcmp(steps[i][4], OCI_TAP) == 0 ? ifname
                                                          : OCI_TAP;
        }
        argv[k] = NULL;
        if (run(argv, NULL, 0) != 0)
            return oci_error("cannot join %s to the guest's tap (%s %s %s "
                             "failed; the kernel needs tun, sch_ingress, "
                             "cls_u32 and act_mirred)", ifname, argv[0],
                             argv[1], argv[2]);
    }
    if (gw[0])
        snprintf(ip, sizeof ip, "%s,%s", addr, gw);
    else
        snprintf(ip, sizeof ip, "%s", addr);
    args[(*nargs)++] = arg("--net");
    args[(*nargs)++] = arg("tap:" OCI_TAP);
    args[(*nargs)++] = arg("--ip");
    args[(*nargs)++] = arg(ip);
    args[(*nargs)++] = arg("--mac");
    args[(*nargs)++] = arg(mac);
    return 0;
}
