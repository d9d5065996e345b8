/* run.h: how the CLI starts a program on a target, and lunik's exit codes. */
#ifndef LUNIK_RUN_H
#define LUNIK_RUN_H

#include <stddef.h>
#include <stdint.h>

/*
 * Exit codes of the `lunik` command (sysexits.h values for lunik's own
 * failures). A program's own status (lunik.exit(n), os.exit(n)) passes
 * through unchanged, so 0..63 belong to the program.
 */
#define LUNIK_EXIT_OK        0   /* the program ended normally */
#define LUNIK_EXIT_ERROR     1   /* uncaught error in the main chunk (as lua) */
#define LUNIK_EXIT_USAGE     64  /* bad command line or option value */
#define LUNIK_EXIT_DATAERR   65  /* Lua syntax error, corrupt or truncated image */
#define LUNIK_EXIT_NOINPUT   66  /* an input file is missing or unreadable */
#define LUNIK_EXIT_NOMEM     69  /* --mem too small for the image */
#define LUNIK_EXIT_GUEST     70  /* guest fault: exception, triple fault,
                                    bad hypercall, unexpected VM exit */
#define LUNIK_EXIT_OSERR     71  /* host failure: KVM unavailable, mmap, ... */
#define LUNIK_EXIT_CANTCREAT 73  /* cannot write the output image */

/* The network a program gets (`--net`, `-p`, `--ip`); see host/net.h. */
#define LUNIK_NET_NONE 0        /* no NIC (the default without -p/--net) */
#define LUNIK_NET_USER 1        /* libslirp user-mode networking, no root */
#define LUNIK_NET_TAP  2        /* an existing tap interface */
#define LUNIK_NET_MAX_FORWARDS 32

/* One `-p [HOSTADDR:]HOSTPORT:GUESTPORT[/udp]` host port forward. */
struct lunik_net_forward {
    uint32_t host_addr;         /* network byte order; default 127.0.0.1 */
    uint16_t host_port;         /* 1..65535 */
    uint16_t guest_port;        /* 1..65535 */
    int udp;                    /* 1 = UDP, 0 = TCP */
};

struct lunik_net_config {
    int kind;                   /* LUNIK_NET_* */
    char tap_name[16];          /* LUNIK_NET_TAP: interface name (IFNAMSIZ) */
    uint8_t mac[6];             /* the guest NIC's MAC address */
    uint16_t mtu;               /* bytes; 0: the link's (host/net.h) */
    uint32_t ipv4_addr;         /* fixed guest address (network byte order); */
    uint32_t ipv4_netmask;      /*   0 = DHCP (slirp's server on user) */
    uint32_t ipv4_gateway;
    int nforwards;              /* LUNIK_NET_USER: host port forwards */
    struct lunik_net_forward forwards[LUNIK_NET_MAX_FORWARDS];
};

/* What a target needs to run a program. Nothing here is owned by the target. */
struct lunik_run_config {
    const void *kernel;         /* guest kernel ELF (kvm target only) */
    size_t kernel_size;         /* bytes */
    const void *bundle;         /* bundle, as in image.h */
    size_t bundle_size;         /* bytes */
    uint64_t mem_size;          /* guest memory, bytes (kvm; hosted ignores) */
    int argc;                   /* argv[0]: the app's path in /app; then the */
    char **argv;                /* script arguments; becomes Lua's `arg` */
    const struct lunik_net_config *net; /* NULL = no NIC */
    int stats;                  /* print counters on stderr at exit */
    int control_fd;             /* listening Unix socket of the control
                                   channel (platform.h), or -1: none; the
                                   target serves it and closes it at exit */
};

/*
 * lunik_kvm_available: 1 if /dev/kvm opens read-write and answers
 * KVM_GET_API_VERSION with 12 (KVM API 4.1), else 0.
 */
int lunik_kvm_available(void);

/*
 * lunik_kvm_run: boot cfg in a new KVM virtual machine with one vCPU and run
 * it to the end (monitor/). Returns the guest's exit status, or a
 * LUNIK_EXIT_* code after printing one line "lunik: ..." on stderr when the
 * VM cannot be created (OSERR), memory is too small (NOMEM), or the guest
 * faults (GUEST; the line names the reason and the guest RIP).
 */
int lunik_kvm_run(const struct lunik_run_config *cfg);

/*
 * lunik_hosted_run: run cfg in this process (hosted/), with the bundle as
 * its file tree. Returns the program's exit status; does not return when
 * the program calls lunik.exit() or os.exit() (the process exits).
 */
int lunik_hosted_run(const struct lunik_run_config *cfg);

#endif
