/* cli.h: internals of the lunik command: buffers, errors, options. */
#ifndef LUNIK_CLI_H
#define LUNIK_CLI_H

#include <stddef.h>
#include <stdint.h>

#include "lunik/run.h"

#define CLI_VERSION "0.1.0"

/* The guest kernel ELF (build/lunik-guest.elf), embedded by kernel_blob.S. */
extern const unsigned char cli_kernel_elf_start[];
extern const unsigned char cli_kernel_elf_end[];

/* A growable byte buffer; data is NULL until the first append. */
struct cli_buf {
    unsigned char *data;
    size_t len;                 /* bytes in use */
    size_t cap;                 /* bytes allocated */
};

/*
 * cli_buf_append: append n bytes of p (p may be NULL to append n zero bytes).
 * Exits the process with LUNIK_EXIT_OSERR after "lunik: out of memory" when
 * allocation fails, as do cli_xmalloc, cli_xrealloc and cli_xstrdup.
 */
void cli_buf_append(struct cli_buf *b, const void *p, size_t n);

/* cli_buf_align: append zero bytes until len is a multiple of align (> 0). */
void cli_buf_align(struct cli_buf *b, size_t align);

/* cli_buf_free: release the buffer's memory and make it empty. */
void cli_buf_free(struct cli_buf *b);

void *cli_xmalloc(size_t n);
void *cli_xrealloc(void *p, size_t n);
char *cli_xstrdup(const char *s);
char *cli_xstrndup(const char *s, size_t n);

/* cli_xasprintf: a newly allocated string formatted as printf(3). */
char *cli_xasprintf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

/*
 * cli_fail: print "lunik: " and the formatted sentence on stderr, one line,
 * and return code (a LUNIK_EXIT_* value), so that callers can write
 * `return cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", path, strerror(e));`.
 */
int cli_fail(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* cli_usage: as cli_fail with LUNIK_EXIT_USAGE, adding " Try 'lunik --help'."
 * to the line. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* cli_note: print "lunik: " and the formatted line on stderr (for -v). */
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * cli_read_file: read the whole regular file at path into a new buffer
 * (NUL-terminated, the NUL not counted in *size), or a pipe to its end.
 * Returns 0, or an errno value (ENOENT, EACCES, EISDIR for a directory,
 * EINVAL for a device or socket) with nothing allocated.
 */
int cli_read_file(const char *path, unsigned char **data, size_t *size);

/* cli_file_error: the message for an errno value from cli_read_file or
 * cli_map_file: strerror(3)'s, or "Not a regular file" for EINVAL. */
const char *cli_file_error(int e);

/* A whole file in memory: mapped (mmap(2)) or, failing that, read. */
struct cli_file {
    unsigned char *data;        /* read-only while mapped */
    size_t size;                /* bytes */
    int mapped;                 /* 1: munmap on release; 0: free */
};

/*
 * cli_map_file: map the whole file at path read-only (MAP_PRIVATE,
 * MAP_POPULATE: one system call, no copy), or read it as cli_read_file
 * does when it cannot be mapped (empty, a pipe). Returns 0, or an errno
 * value with f empty. Release with cli_unmap_file.
 */
int cli_map_file(const char *path, struct cli_file *f);

void cli_unmap_file(struct cli_file *f);

/* Options of `build` and `run`, as parsed from the command line. */
struct cli_options {
    const char *input;          /* app.lua or app.img, as typed */
    const char *output;         /* -o, or NULL */
    const char *kernel;         /* --kernel ELF, or NULL: the embedded one */
    const char **includes;      /* -I directories, in order */
    size_t include_count;
    const char **files;         /* --file paths, in order */
    size_t file_count;
    uint64_t mem_size;          /* --mem, bytes */
    const char *target;         /* "kvm", "hosted" or "auto" */
    const char *vmm;            /* --vmm: "lunik" (default), "qemu" or
                                   "firecracker" */
    const char *vmm_dir;        /* --vmm-dir: where firecracker's files go */
    int pvh;                    /* build --pvh: write a PVH ELF */
    int verbose;                /* -v */
    int stats;                  /* --stats (run) */
    int help;                   /* --help was given */
    int argc;                   /* script arguments after "--" */
    char **argv;
    struct lunik_net_config net; /* --net, -p, --ip, --mac (run) */
    int net_given;              /* --net was given */
    int mac_given;              /* --mac was given */
    const char *ip_arg;         /* --ip as typed, or NULL */
    const char *budget;         /* --budget seconds as typed, or NULL */
    int detach;                 /* -d */
    const char *name;           /* --name, or NULL */
    const char **env;           /* -e KEY=VAL and --env-file lines */
    size_t env_count;
};

/*
 * cli_instance_name_ok: is name an instance name: 1..64 of [A-Za-z0-9_.-],
 * not starting with '.' or '-'?
 */
int cli_instance_name_ok(const char *name);

/*
 * cli_instance_detach: `run -d` (instances.c): fork; the caller's side
 * waits until the instance runs, prints its name (--name, or a generated
 * lunik-XXXXXX) and returns 0; the instance's side starts a session, sends
 * stdout and stderr to the instance's log, records its state and returns
 * -1 (go on and run). A name already running, or state that cannot be
 * written: one line and an exit code.
 */
int cli_instance_detach(const struct cli_options *opt, const char *target);

/* cli_instance_done: the instance ends: remove its state (its log stays). */
void cli_instance_done(void);

/* cli_state_dir: the per-user state directory (made, mode 0700, if
 * missing), or NULL after one line on stderr. */
const char *cli_state_dir(void);

/*
 * cli_control_listen: make this process's control-channel socket
 * (platform.h) in the state directory: NAME.sock for the detached
 * instance this process is, else pid-PID.sock; mode 0600, removed at
 * exit. Returns the listening descriptor (non-blocking, close-on-exec),
 * or -1 when it cannot be made (the program then runs without one).
 */
int cli_control_listen(void);

/* cli_control_done: remove the socket cli_control_listen made. */
void cli_control_done(void);

/*
 * cli_control_connect: connect to the control socket of the instance
 * NAME (or, for digits, of the program run without -d with that pid).
 * Returns the connected descriptor, or -1 when no instance of that name
 * listens (a socket nobody listens on is stale and removed).
 */
int cli_control_connect(const char *name);

/* cli_instance_source: the absolute path of the file the instance NAME
 * was started from, into buf; 0, or -1 when unknown. */
int cli_instance_source(const char *name, char *buf, size_t n);

/* cli_print_instances_help: the help of ps, logs, stop, attach and
 * reload on stdout (main.c). */
void cli_print_instances_help(void);

/* `lunik attach NAME` and `lunik reload NAME [FILE]` (attach.c). */
int cli_cmd_attach(int argc, char **argv);
int cli_cmd_reload(int argc, char **argv);

/* `lunik ps`, `lunik logs [-f] NAME`, `lunik stop [-t S] NAME`
 * (instances.c, as docker's commands of the same names). */
int cli_cmd_ps(int argc, char **argv);
int cli_cmd_logs(int argc, char **argv);
int cli_cmd_stop(int argc, char **argv);

#define CLI_DEFAULT_MEM (32ull << 20)   /* bytes */

/*
 * cli_parse_options: parse argv[0..argc) of command `command` ("build" or
 * "run"; options and the input may be given in any order, "--" ends options
 * and, for run, starts the script arguments). Returns 0, or
 * LUNIK_EXIT_USAGE after one line on stderr. opt->includes and opt->files
 * point into a new array owned by opt (cli_free_options releases it).
 */
int cli_parse_options(const char *command, int argc, char **argv,
                      struct cli_options *opt);

void cli_free_options(struct cli_options *opt);

/*
 * cli_net_option: apply the network option `name` of run ("--net", "-p",
 * "--ip" or "--mac") with its value to opt->net. Returns 0, or
 * LUNIK_EXIT_USAGE after one line naming the bad value.
 */
int cli_net_option(const char *name, const char *value,
                   struct cli_options *opt);

/*
 * cli_net_finish: after every option: settle opt->net (-p means --net
 * user; MTU 1500; the default MAC 52:54:00:12:34:56, or on a tap
 * 52:54:00 and the low 24 bits of the pid) and check what only the whole
 * set can tell (-p with a tap, --ip against the network). Returns 0, or
 * LUNIK_EXIT_USAGE after one line.
 */
int cli_net_finish(struct cli_options *opt);

/*
 * cli_parse_size: parse a memory size: decimal bytes, optionally followed by
 * K, M or G (powers of 1024, any case, optionally with "iB": "4M", "4MiB",
 * "64m", "4194304"). Returns 0 and sets *bytes, or -1 when malformed or
 * above 2^64 - 1.
 */
int cli_parse_size(const char *s, uint64_t *bytes);

#endif
