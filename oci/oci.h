/* oci.h: lunik-oci, an OCI runtime (the runc command line) that runs lunik images as containers. */
#ifndef LUNIK_OCI_H
#define LUNIK_OCI_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The runtime-spec version this runtime implements (config.json's
 * ociVersion is accepted for any 1.x). */
#define OCI_SPEC_VERSION "1.0.2"
#define OCI_DEFAULT_ROOT "/run/lunik-oci"

/*
 * oci_error(fmt, ...): report one sentence (no "lunik-oci: " prefix, no
 * full stop) on stderr and, with --log, in the log file: a JSON line
 * {"level":"error","msg":...,"time":...} with --log-format json (what
 * podman and containerd's shim read back on a failure), else plain text.
 * Returns -1 for `return oci_error(...)`.
 */
int oci_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* oci_log_open(path, json): where oci_error also writes (NULL: nowhere). */
void oci_log_open(const char *path, int json);

/* What lunik-oci takes from a bundle's config.json (OCI runtime-spec
 * "config"); strings are owned by the struct (oci_spec_free). */
struct oci_spec {
    char *bundle;               /* absolute bundle directory */
    char *rootfs;               /* absolute root.path */
    char *image;                /* rootfs + process.args[0]: the lunik image */
    char **args;                /* process.args[1..], NULL-terminated */
    char **env;                 /* process.env, NULL-terminated */
    int terminal;               /* process.terminal */
    uint64_t memory_limit;      /* linux.resources.memory.limit, 0: none */
    int netns_new;              /* a network namespace without a path */
    char *netns_path;           /* linux.namespaces network path, or NULL */
    char *annotations_json;     /* the annotations object, as JSON text */
    char *target;               /* annotation org.lunik.target: kvm, hosted
                                   or auto (default: kvm where /dev/kvm
                                   opens) */
};

/*
 * oci_spec_load(bundle, spec): read bundle/config.json into spec and check
 * that process.args[0] names a lunik image in the root filesystem (its
 * first 8 bytes are LUNIK_IMAGE_MAGIC, include/lunik/image.h).
 * 0, or -1 after oci_error() naming what is missing or malformed.
 */
int oci_spec_load(const char *bundle, struct oci_spec *spec);
void oci_spec_free(struct oci_spec *spec);

/* The state of one container, kept in ROOT/ID/state.json. */
struct oci_state {
    char id[256];
    pid_t pid;                  /* the container process (lunik run) */
    unsigned long long start;   /* its start time (/proc/PID/stat field
                                   22), to tell it from a reused pid */
    char bundle[4096];
    char created[40];           /* RFC 3339, UTC */
    char *annotations_json;     /* "{}" if none; owned */
};

/* oci_root: the state directory (--root, default OCI_DEFAULT_ROOT). */
extern const char *oci_root;

/* oci_dir(id, name, buf, n): ROOT/ID[/name] in buf; -1 if too long or
 * the id is not a valid container id ([A-Za-z0-9][A-Za-z0-9_.-]*). */
int oci_dir(const char *id, const char *name, char *buf, size_t n);

/* oci_state_write / oci_state_read: ROOT/ID/state.json (mode 0600).
 * 0 | -1 (read: oci_error "container ID does not exist"). */
int oci_state_write(const struct oci_state *st);
int oci_state_read(const char *id, struct oci_state *st);

/* oci_status(st): "created" (the process waits for start), "running" or
 * "stopped", as the runtime-spec's state "status". */
const char *oci_status(const struct oci_state *st);

/* oci_proc_start(pid): /proc/PID/stat's start time, 0 if no such
 * process (or a zombie). */
unsigned long long oci_proc_start(pid_t pid);

/*
 * oci_net_attach(args, nargs, max): inside the container's network
 * namespace, give the guest that namespace's interface, as Kata and urunc
 * do: a tap beside the first non-loopback interface with an IPv4 address,
 * joined to it both ways by tc mirred redirects, and lunik run options
 * that take its address, gateway, MAC and MTU (appended to args).
 * No such interface: "--net none". 0, or -1 after oci_error().
 */
int oci_net_attach(char **args, int *nargs, int max);

/* The commands (runc's command line: runtime-spec "Operations"); each
 * returns the process's exit status. */
int oci_cmd_create(int argc, char **argv);
int oci_cmd_start(int argc, char **argv);
int oci_cmd_state(int argc, char **argv);
int oci_cmd_kill(int argc, char **argv);
int oci_cmd_delete(int argc, char **argv);

#endif
