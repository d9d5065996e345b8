/* qemu.c: `lunik run --vmm qemu`: boot the PVH ELF under Debian's qemu-system-x86_64 -M microvm. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
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
        uint32_t net = n->ipv4_addr & n->ipv4_netmask;
        char *a = cli_pvh_ip4(net), *g = cli_pvh_ip4(n->ipv4_gateway), *d = cli_pvh_ip4(n->ipv4_addr);
        s = cli_xasprintf(",net=%s/%d,host=%s,dhcpstart=%s", a,
                          cli_pvh_prefix(n->ipv4_netmask), g, d);
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

int cli_qemu_run(const struct cli_options *opt, const unsigned char *elf,
                 size_t n, int argc, char **argv)
{
    const char *name = getenv("LUNIK_QEMU");
    char *qemu = find_program(name && *name ? name : QEMU_DEFAULT);
    const char *accel = pick_accel();
    struct qargs a = { .n = 0 };
    int kfd, st[2], ep[2], rc;

    if (qemu == NULL)
        return cli_fail(LUNIK_EXIT_OSERR, "%s is not installed (Debian "
                        "package qemu-system-x86): --vmm qemu needs it",
                        name && *name ? name : QEMU_DEFAULT);
    kfd = memfd_create("lunik-pvh.elf", 0);
    if (kfd < 0 || write_all(kfd, elf, n) != 0 || pipe(st) != 0 ||
        pipe(ep) != 0) {
        free(qemu);
        return cli_fail(LUNIK_EXIT_OSERR, "cannot hand the kernel to QEMU: "
                        "%s", strerror(errno));
    }
    fcntl(st[0], F_SETFD, FD_CLOEXEC);
    fcntl(ep[0], F_SETFD, FD_CLOEXEC);

    char *kernel = cli_xasprintf("/dev/fd/%d", kfd);
    char *status = cli_xasprintf("file,id=lunikst,path=/dev/fd/%d", st[1]);
    /* QEMU's stderr chardevs write into a pipe that lunik copies to its
     * own stderr: a file chardev opens its path anew, and some stderr
     * devices (a virtio-serial port) open only once. */
    char *serial = cli_xasprintf("file,id=lunikser,path=/dev/fd/%d", ep[1]);
    char *err1 = cli_xasprintf("file,id=lunikc1,path=/dev/fd/%d", ep[1]);
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
     * multiport, as on lunik's monitor). */
    qa(&a, "-chardev");
    qa(&a, "stdio,id=lunikc0,signal=on");
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
        execv(qemu, a.v);
        fprintf(stderr, "lunik: cannot run %s: %s\n", qemu, strerror(errno));
        _exit(LUNIK_EXIT_OSERR);
    }
    int ws = 0;
    if (pid > 0) {
        struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
        sigaction(SIGINT, &ign, &old_int);     /* QEMU takes ^C (stdio) */
        sigaction(SIGQUIT, &ign, &old_quit);
        close(ep[1]);
        ep[1] = -1;
        char buf[4096];
        for (;;) {                      /* until QEMU closes the pipe */
            ssize_t r = read(ep[0], buf, sizeof buf);
            if (r < 0 && errno == EINTR)
                continue;
            if (r <= 0)
                break;
            (void)write_all(2, buf, (size_t)r);     /* else drop: QEMU
                                                       must never block */
        }
        while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
            ;
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGQUIT, &old_quit, NULL);
    }
    close(st[1]);
    if (ep[1] >= 0)
        close(ep[1]);
    close(ep[0]);
    close(kfd);
    unsigned char code;
    ssize_t got = pid > 0 ? read(st[0], &code, 1) : -1;
    close(st[0]);

    if (pid < 0)
        rc = cli_fail(LUNIK_EXIT_OSERR, "cannot start %s: %s", qemu,
                      strerror(errno));
    else if (got == 1)
        rc = code;
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
    free(mem);
    free(cmdline);
    free(netdev);
    free(nic);
    free(qemu);
    return rc;
}
