/* qemu.c: `lunik run --vmm qemu`: boot the PVH ELF under Debian's qemu-system-x86_64 -M microvm. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "host/net.h"
#include "pvh.h"

#define QEMU_DEFAULT "qemu-system-x86_64"
#define MAX_QEMU_ARGS 128

/* A growing argv for execvp. */
struct qargs {
    char *v[MAX_QEMU_ARGS + 1];
    int n;
};

static void qa(struct qargs *a, char *s)
{
    if (a->n < MAX_QEMU_ARGS)
        a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

/* The program's path when it is on PATH (or a path that exists). */
static char *find_program(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? cli_xstrdup(name) : NULL;
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *c = strchr(path, ':');
        size_t len = c ? (size_t)(c - path) : strlen(path);
        char *p = cli_xasprintf("%.*s/%s", (int)len, path, name);
        if (access(p, X_OK) == 0)
            return p;
        free(p);
        path += len + (c != NULL);
    }
    return NULL;
}

/*
 * -accel: LUNIK_QEMU_ACCEL (kvm or tcg) if set; else kvm when /dev/kvm
 * opens and is not kvm_pvm, else tcg. kvm_pvm delivers neither port I/O
 * at CPL 3 under IOPL 3 nor `int` into a CPL-0 gate to a guest that is
 * not PVM-aware (docs/design.md), and the PVH binding needs both.
 */
static const char *pick_accel(void)
{
    const char *e = getenv("LUNIK_QEMU_ACCEL");
    struct stat st;

    if (e && (strcmp(e, "kvm") == 0 || strcmp(e, "tcg") == 0))
        return e;
    if (stat("/sys/module/kvm_pvm", &st) == 0)
        return "tcg";
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return "tcg";
    close(fd);
    return "kvm";
}

/* -netdev for opt->net: QEMU's user networking (slirp, as lunik's own)
 * with a hostfwd per -p, or a tap. */
static char *make_netdev(const struct lunik_net_config *n)
{
    struct cli_buf b = {0};
    char *s;

    if (n->kind == LUNIK_NET_TAP) {
        s = cli_xasprintf("tap,id=lunikn0,ifname=%s,script=no,downscript=no",
                          n->tap_name);
        return s;
    }
    cli_buf_append(&b, "user,id=lunikn0", 15);
    if (n->ipv4_addr != 0) {
        struct host_net_user_addrs ua;  /* the network lunik's slirp uses */
        host_net_user_network(n, &ua);
        char *a = cli_pvh_ip4(ua.network), *g = cli_pvh_ip4(ua.host),
             *d = cli_pvh_ip4(ua.guest);
        s = cli_xasprintf(",net=%s/%d,host=%s,dhcpstart=%s", a,
                          cli_pvh_prefix(ua.netmask), g, d);
        cli_buf_append(&b, s, strlen(s));
        free(s);
        free(a);
        free(g);
        free(d);
    }
    for (int i = 0; i < n->nforwards; i++) {
        const struct lunik_net_forward *f = &n->forwards[i];
        char *h = cli_pvh_ip4(f->host_addr);
        s = cli_xasprintf(",hostfwd=%s:%s:%u-:%u", f->udp ? "udp" : "tcp", h,
                          f->host_port, f->guest_port);
        cli_buf_append(&b, s, strlen(s));
        free(s);
        free(h);
    }
    cli_buf_append(&b, "", 1);
    return (char *)b.data;
}

static int write_all(int fd, const void *p, size_t n)
{
    const unsigned char *c = p;
    while (n > 0) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

/* The event console's write end, for the SIGTERM handler. */
static volatile sig_atomic_t ctl_fd = -1;
static volatile sig_atomic_t got_int;

/* SIGTERM: ask the program to stop (its `shutdown` event), as lunik's
 * monitor does; QEMU runs on. */
static void on_term(int sig)
{
    (void)sig;
    if (ctl_fd >= 0) {
        int e = errno;
        (void)!write(ctl_fd, "T\n", 2);
        errno = e;
    }
}

/* SIGINT (^C on the terminal, which QEMU, in its own process group, does
 * not get): stop the VM. */
static pid_t qemu_pid;
static void on_int(int sig)
{
    (void)sig;
    got_int = 1;
    if (qemu_pid > 0)
        kill(qemu_pid, SIGTERM);
}

/*
 * Copy until QEMU is gone: stdin to console 0 (a socket), whose end
 * becomes "E<bytes>" on the event console; console 0 to stdout; the
 * stderr pipe to stderr. Writes to QEMU never block the loop (pending
 * stdin waits for POLLOUT), so the guest's output always drains.
 */
static void relay(int lfd, int efd, int cfd)
{
    int conn = -1, in_open = 1, err_open = 1, conn_open = 1;
    char pend[4096], buf[4096];
    size_t plen = 0, poff = 0;
    unsigned long long total = 0;

    while (err_open || (conn >= 0 && conn_open)) {
        struct pollfd p[4];
        int np = 0, ie = -1, ic = -1, il = -1, ii = -1;
        if (err_open) {
            p[np] = (struct pollfd){ .fd = efd, .events = POLLIN };
            ie = np++;
        }
        if (conn < 0 && err_open) {
            p[np] = (struct pollfd){ .fd = lfd, .events = POLLIN };
            il = np++;
        }
        if (conn >= 0 && conn_open) {
            p[np] = (struct pollfd){ .fd = conn, .events = POLLIN |
                                     (plen > poff ? POLLOUT : 0) };
            ic = np++;
        }
        if (conn >= 0 && conn_open && in_open && plen == poff) {
            p[np] = (struct pollfd){ .fd = 0, .events = POLLIN };
            ii = np++;
        }
        if (poll(p, (nfds_t)np, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (ie >= 0 && p[ie].revents) {
            ssize_t r = read(efd, buf, sizeof buf);
            if (r > 0)
                (void)write_all(2, buf, (size_t)r);
            else if (r == 0 || errno != EINTR)
                err_open = 0;           /* QEMU has closed it: gone */
        }
        if (il >= 0 && p[il].revents) {
            conn = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        }
        if (ic >= 0 && (p[ic].revents & (POLLIN | POLLHUP | POLLERR))) {
            ssize_t r = read(conn, buf, sizeof buf);
            if (r > 0)
                (void)write_all(1, buf, (size_t)r);
            else if (r == 0 || (errno != EINTR && errno != EAGAIN))
                conn_open = 0;
        }
        if (ic >= 0 && conn_open && (p[ic].revents & POLLOUT)) {
            ssize_t w = write(conn, pend + poff, plen - poff);
            if (w > 0)
                poff += (size_t)w;
            else if (w < 0 && errno != EINTR && errno != EAGAIN)
                conn_open = 0;
        }
        if (ii >= 0 && p[ii].revents) {
            ssize_t r = read(0, pend, sizeof pend);
            if (r > 0) {
                plen = (size_t)r;
                poff = 0;
                total += (unsigned long long)r;
            } else if (r == 0 || errno != EINTR) {
                char e[32];
                int k = snprintf(e, sizeof e, "E%llu\n", total);
                in_open = 0;
                (void)write_all(cfd, e, (size_t)k);
            }
        }
    }
    if (conn >= 0)
        close(conn);
}

int cli_qemu_run(const struct cli_options *opt, const unsigned char *elf,
                 size_t n, int argc, char **argv)
{
    const char *name = getenv("LUNIK_QEMU");
    char *qemu = find_program(name && *name ? name : QEMU_DEFAULT);
    const char *accel = pick_accel();
    struct qargs a = { .n = 0 };
    int kfd, st[2], ep[2], cp[2], lfd, rc;
    struct sockaddr_un sun = { .sun_family = AF_UNIX };
    char sockname[64];

    if (qemu == NULL)
        return cli_fail(LUNIK_EXIT_OSERR, "%s is not installed (Debian "
                        "package qemu-system-x86): --vmm qemu needs it",
                        name && *name ? name : QEMU_DEFAULT);
    kfd = memfd_create("lunik-pvh.elf", 0);
    /* Console 0 is a socket lunik relays (an abstract name: no file). */
    snprintf(sockname, sizeof sockname, "lunik-c0-%ld-%lx", (long)getpid(),
             (unsigned long)random());
    memcpy(sun.sun_path + 1, sockname, strlen(sockname));
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (kfd < 0 || write_all(kfd, elf, n) != 0 || pipe(st) != 0 ||
        pipe(ep) != 0 || pipe(cp) != 0 || lfd < 0 ||
        bind(lfd, (struct sockaddr *)&sun,
             (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
                         strlen(sockname))) != 0 || listen(lfd, 1) != 0) {
        free(qemu);
        return cli_fail(LUNIK_EXIT_OSERR, "cannot hand the kernel to QEMU: "
                        "%s", strerror(errno));
    }
    fcntl(st[0], F_SETFD, FD_CLOEXEC);
    fcntl(ep[0], F_SETFD, FD_CLOEXEC);
    fcntl(cp[1], F_SETFD, FD_CLOEXEC);

    char *kernel = cli_xasprintf("/dev/fd/%d", kfd);
    char *status = cli_xasprintf("file,id=lunikst,path=/dev/fd/%d", st[1]);
    /* QEMU's stderr chardevs write into a pipe that lunik copies to its
     * own stderr: a file chardev opens its path anew, and some stderr
     * devices (a virtio-serial port) open only once. */
    char *serial = cli_xasprintf("file,id=lunikser,path=/dev/fd/%d", ep[1]);
    char *err1 = cli_xasprintf("file,id=lunikc1,path=/dev/fd/%d", ep[1]);
    char *con0 = cli_xasprintf("socket,id=lunikc0,path=%s,abstract=on,"
                               "server=off", sockname);
    char *ctl = cli_xasprintf("pipe,id=lunikctl,path=/dev/fd/%d", cp[0]);
    char *mem = cli_xasprintf("%lluM", (unsigned long long)
                              ((opt->mem_size + (1u << 20) - 1) >> 20));
    char *cmdline = cli_pvh_cmdline(opt, "qemu", argc, argv);
    char *netdev = NULL, *nic = NULL;

    qa(&a, qemu);
    /* Without ACPI, microvm appends virtio_mmio.device=SIZE@BASE:IRQ for
     * each device to the command line, in -device order. */
    qa(&a, "-M");
    qa(&a, "microvm,acpi=off,pic=off,pit=off,rtc=on,isa-serial=on");
    qa(&a, "-accel");
    qa(&a, (char *)accel);
    qa(&a, "-cpu");
    qa(&a, strcmp(accel, "kvm") == 0 ? "host" : "max");
    qa(&a, "-m");
    qa(&a, mem);
    qa(&a, "-smp");
    qa(&a, "1");
    qa(&a, "-nodefaults");
    qa(&a, "-no-user-config");
    qa(&a, "-display");
    qa(&a, "none");
    qa(&a, "-no-reboot");
    qa(&a, "-kernel");
    qa(&a, kernel);
    qa(&a, "-append");
    qa(&a, cmdline);
    /* virtio 1.x register layout (version 2), which the drivers speak. */
    qa(&a, "-global");
    qa(&a, "virtio-mmio.force-legacy=false");
    /* The exit status: its byte on isa-debugcon, then isa-debug-exit. */
    qa(&a, "-device");
    qa(&a, "isa-debug-exit,iobase=0xf4,iosize=4");
    qa(&a, "-chardev");
    qa(&a, status);
    qa(&a, "-device");
    qa(&a, "isa-debugcon,iobase=0xe9,chardev=lunikst");
    /* COM1: the kernel's own one-line reports, on stderr. */
    qa(&a, "-chardev");
    qa(&a, serial);
    qa(&a, "-serial");
    qa(&a, "chardev:lunikser");
    /* Console 0: stdin and stdout; console 1: stderr (one port each, no
     * multiport, as on lunik's monitor); console 2: control (the end of
     * stdin, SIGTERM; guest/virtio/console.h). */
    qa(&a, "-chardev");
    qa(&a, con0);
    qa(&a, "-device");
    qa(&a, "virtio-serial-device,id=lunikvs0,max_ports=1");
    qa(&a, "-device");
    qa(&a, "virtconsole,bus=lunikvs0.0,chardev=lunikc0");
    qa(&a, "-chardev");
    qa(&a, err1);
    qa(&a, "-device");
    qa(&a, "virtio-serial-device,id=lunikvs1,max_ports=1");
    qa(&a, "-device");
    qa(&a, "virtconsole,bus=lunikvs1.0,chardev=lunikc1");
    qa(&a, "-chardev");
    qa(&a, ctl);
    qa(&a, "-device");
    qa(&a, "virtio-serial-device,id=lunikvs2,max_ports=1");
    qa(&a, "-device");
    qa(&a, "virtconsole,bus=lunikvs2.0,chardev=lunikctl");
    if (opt->net.kind != LUNIK_NET_NONE) {
        const uint8_t *m = opt->net.mac;
        netdev = make_netdev(&opt->net);
        nic = cli_xasprintf("virtio-net-device,netdev=lunikn0,"
                            "mac=%02x:%02x:%02x:%02x:%02x:%02x",
                            m[0], m[1], m[2], m[3], m[4], m[5]);
        qa(&a, "-netdev");
        qa(&a, netdev);
        qa(&a, "-device");
        qa(&a, nic);
    }
    if (getenv("LUNIK_QEMU_SHOW")) {
        for (int i = 0; i < a.n; i++)
            fprintf(stderr, "%s%s", i ? " " : "", a.v[i]);
        fputc('\n', stderr);
    }

    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);   /* never outlive lunik */
        setpgid(0, 0);                  /* ^C and group signals: to lunik */
        execv(qemu, a.v);
        fprintf(stderr, "lunik: cannot run %s: %s\n", qemu, strerror(errno));
        _exit(LUNIK_EXIT_OSERR);
    }
    int ws = 0;
    if (pid > 0) {
        struct sigaction term = { .sa_handler = on_term },
                         intr = { .sa_handler = on_int }, old_term, old_int;
        qemu_pid = pid;
        ctl_fd = cp[1];
        sigaction(SIGTERM, &term, &old_term);
        sigaction(SIGINT, &intr, &old_int);
        close(ep[1]);
        ep[1] = -1;
        close(cp[0]);
        cp[0] = -1;
        relay(lfd, ep[0], cp[1]);
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGINT, &old_int, NULL);
        ctl_fd = -1;
        qemu_pid = 0;
    }
    close(st[1]);
    if (ep[1] >= 0)
        close(ep[1]);
    close(ep[0]);
    if (cp[0] >= 0)
        close(cp[0]);
    close(cp[1]);
    close(lfd);
    close(kfd);
    unsigned char code;
    ssize_t got = pid > 0 ? read(st[0], &code, 1) : -1;
    close(st[0]);

    if (pid < 0)
        rc = cli_fail(LUNIK_EXIT_OSERR, "cannot start %s: %s", qemu,
                      strerror(errno));
    else if (got == 1)
        rc = code;
    else if (got_int)
        rc = 130;                       /* ^C, as a shell reports it */
    else if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0)
        rc = cli_fail(LUNIK_EXIT_GUEST, "guest fault: the VM stopped without "
                      "an exit status (a triple fault or a reset)");
    else if (WIFEXITED(ws))
        rc = WEXITSTATUS(ws) == LUNIK_EXIT_OSERR ? LUNIK_EXIT_OSERR
           : cli_fail(LUNIK_EXIT_OSERR, "%s failed (exit status %d)", qemu,
                      WEXITSTATUS(ws));
    else
        rc = cli_fail(LUNIK_EXIT_OSERR, "%s was stopped by signal %d", qemu,
                      WTERMSIG(ws));
    free(kernel);
    free(status);
    free(serial);
    free(err1);
    free(con0);
    free(ctl);
    free(mem);
    free(cmdline);
    free(netdev);
    free(nic);
    free(qemu);
    return rc;
}
