/* attach.c: `lunik attach` (a REPL into a running instance) and `lunik reload`, over its control socket. */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <editline/readline.h>

#include "lunik/run.h"
#include "app.h"
#include "cli.h"
#include "image.h"

/*
 * The control channel's protocol is runtime/control.lua's: frames of one
 * type byte, a 4-byte little-endian length and the payload, both ways.
 * A request ("e" a chunk, "r" a bundle) is answered by "o" frames (text
 * for stdout), then "m" (incomplete chunk: its syntax error), "d" (done)
 * or "x" (failed: the error).
 */

#define ATTACH_HISTORY_MAX 500

static int help(void)
{
    cli_print_instances_help();
    return 0;
}

/* Write all n bytes; 0, or -1 when the instance has gone. */
static int write_all(int fd, const void *p, size_t n)
{
    const char *b = p;

    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Read exactly n bytes; 0, or -1 at the end or on an error. */
static int read_all(int fd, void *p, size_t n)
{
    char *b = p;

    while (n > 0) {
        ssize_t r = read(fd, b, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        b += r;
        n -= (size_t)r;
    }
    return 0;
}

static int send_frame(int fd, char type, const void *p, size_t n)
{
    unsigned char h[5] = { (unsigned char)type, (unsigned char)n,
                           (unsigned char)(n >> 8), (unsigned char)(n >> 16),
                           (unsigned char)(n >> 24) };

    if (n > UINT32_MAX)
        return -1;
    return write_all(fd, h, sizeof h) == 0 && write_all(fd, p, n) == 0
           ? 0 : -1;
}

/* The next frame: its type, and its payload in *text (NUL-terminated,
 * owned by the caller); -1 when the instance has gone. */
static int recv_frame(int fd, char **text)
{
    unsigned char h[5];

    if (read_all(fd, h, sizeof h) != 0)
        return -1;
    uint32_t n = (uint32_t)h[1] | (uint32_t)h[2] << 8 |
                 (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
    char *p = cli_xmalloc((size_t)n + 1);
    if (read_all(fd, p, n) != 0) {
        free(p);
        return -1;
    }
    p[n] = '\0';
    *text = p;
    return h[0];
}

/* The process serving the socket (SO_PEERCRED), for Ctrl-C: 0 unknown. */
static volatile pid_t server_pid;

/* Ctrl-C while a request runs: ask the instance to interrupt it
 * (platform.h plat_interrupt: SIGURG). */
static void on_interrupt(int sig)
{
    (void)sig;
    if (server_pid > 0)
        kill(server_pid, SIGURG);
}

/* Print "o" frames until the request's end; returns 'd', 'm' or 'x'
 * (with the error or syntax message in *msg), or -1 when gone. Ctrl-C
 * meanwhile interrupts the request; outside one it is the default (as
 * lua.c: the REPL ends). */
static int await_reply(int fd, char **msg)
{
    struct sigaction sa, old;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;           /* no SA_RESTART: reads go on */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old);
    int r = -1;
    for (;;) {
        char *t = NULL;
        int type = recv_frame(fd, &t);
        if (type < 0)
            break;
        if (type == 'o') {
            fputs(t, stdout);
            fflush(stdout);
            free(t);
            continue;
        }
        *msg = t;
        r = type;
        break;
    }
    sigaction(SIGINT, &old, NULL);
    return r;
}

/* The instance NAME's control socket, or -1 after one line. */
static int attach_connect(const char *cmd, const char *name, int *fd)
{
    if (!cli_instance_name_ok(name))
        return cli_usage("%s: '%s' is not an instance name.", cmd, name);
    if (!cli_state_dir())
        return LUNIK_EXIT_CANTCREAT;
    *fd = cli_control_connect(name);
    if (*fd < 0)
        return cli_fail(LUNIK_EXIT_NOINPUT, "no instance named '%s' is "
                        "running", name);
    struct ucred cr;
    socklen_t len = sizeof cr;
    if (getsockopt(*fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == 0 &&
        cr.uid == geteuid())
        server_pid = cr.pid;
    return 0;
}

/* One line of input: with a terminal through libedit (prompt, editing,
 * history), else from stdin without a prompt. NULL at the end. */
static char *attach_line(int tty, const char *prompt)
{
    if (tty)
        return readline(prompt);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (n < 0) {
        free(line);
        return NULL;
    }
    if (n > 0 && line[n - 1] == '\n')
        line[n - 1] = '\0';
    return line;
}

int cli_cmd_attach(int argc, char **argv)
{
    int fd, rc, tty = isatty(0) && isatty(1), failed = 0;
    char *chunk = NULL, *pending = NULL, *typed = NULL;

    if (argc == 1 && (strcmp(argv[0], "--help") == 0 ||
                      strcmp(argv[0], "-h") == 0))
        return help();
    if (argc != 1)
        return cli_usage("attach needs one instance name.");
    if ((rc = attach_connect("attach", argv[0], &fd)) != 0)
        return rc;
    signal(SIGPIPE, SIG_IGN);
    if (tty) {
        stifle_history(ATTACH_HISTORY_MAX);
        printf("lunik attach %s: Lua in the running program (Ctrl-D to "
               "leave)\n", argv[0]);
    }
    for (;;) {
        char *line = attach_line(tty, chunk ? ">> " : "> ");
        if (line == NULL) {
            if (chunk) {                /* the input ended inside a chunk */
                failed = 1;
                fprintf(stderr, "%s\n", pending ? pending : "?");
            }
            if (tty)
                putchar('\n');
            break;
        }
        char *next, *t = typed ? cli_xasprintf("%s\n%s", typed, line)
                               : cli_xstrdup(line);
        free(typed);
        typed = t;                      /* the chunk as typed: history */
        if (chunk) {
            next = cli_xasprintf("%s\n%s", chunk, line);
        } else if (line[0] == '=') {    /* "=expr", as lua.c 5.4 */
            next = cli_xasprintf("return %s", line + 1);
        } else if (line[0] == '\0') {
            free(line);
            free(typed);
            typed = NULL;
            continue;
        } else {
            next = cli_xstrdup(line);
        }
        free(line);
        free(chunk);
        chunk = NULL;
        char *msg = NULL;
        int r = send_frame(fd, 'e', next, strlen(next)) == 0
                ? await_reply(fd, &msg) : -1;
        if (r < 0) {
            free(next);
            close(fd);
            return cli_fail(LUNIK_EXIT_ERROR, "the instance '%s' has gone",
                            argv[0]);
        }
        if (r == 'm') {                 /* more lines; msg if none come */
            chunk = next;
            free(pending);
            pending = msg;
            continue;
        }
        if (tty)
            add_history(typed);
        free(typed);
        typed = NULL;
        if (r == 'x') {
            failed = 1;
            fprintf(stderr, "%s\n", msg);
        }
        free(msg);
        free(next);
    }
    free(chunk);
    free(pending);
    free(typed);
    close(fd);
    return failed ? LUNIK_EXIT_ERROR : 0;
}

/* The bundle of app.lua (built as `lunik build` does, with opt's -I and
 * --file) or of app.img, appended to out. */
static int reload_bundle(const struct cli_options *opt, struct cli_buf *out)
{
    struct cli_file in = {0};
    int e = cli_map_file(opt->input, &in);

    if (e != 0)
        return cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", opt->input,
                        cli_file_error(e));
    size_t n = strlen(opt->input);
    int rc;
    if ((n >= 4 && strcmp(opt->input + n - 4, ".img") == 0) ||
        cli_image_looks_like(in.data, in.size)) {
        struct cli_image img;
        rc = cli_image_parse(opt->input, in.data, in.size, &img);
        if (rc == 0) {
            cli_buf_append(out, img.bundle, img.header.bundle_size);
            free(img.main_path);
        }
    } else {
        char *main_rel = NULL;
        rc = cli_build_bundle(opt, in.data, in.size, out, &main_rel);
        free(main_rel);
    }
    cli_unmap_file(&in);
    return rc;
}

int cli_cmd_reload(int argc, char **argv)
{
    struct cli_options opt;
    struct cli_buf bundle = {0};
    char source[512];
    int fd, rc;

    if (argc >= 1 && (strcmp(argv[0], "--help") == 0 ||
                      strcmp(argv[0], "-h") == 0))
        return help();
    if (argc < 1 || argv[0][0] == '-')
        return cli_usage("reload needs an instance name.");
    const char *name = argv[0];
    if (!cli_instance_name_ok(name))
        return cli_usage("reload: '%s' is not an instance name.", name);
    char **args = argv + 1;
    int nargs = argc - 1;
    char *fallback[1];
    if (nargs == 0) {                   /* the file it was started from */
        if (cli_instance_source(name, source, sizeof source) != 0) {
            if (cli_state_dir() && (fd = cli_control_connect(name)) >= 0) {
                close(fd);
                return cli_usage("reload: which file? The instance '%s' "
                                 "was not started with -d.", name);
            }
            return cli_fail(LUNIK_EXIT_NOINPUT, "no instance named '%s' is "
                            "running", name);
        }
        fallback[0] = source;
        args = fallback;
        nargs = 1;
    }
    if ((rc = cli_parse_options("build", nargs, args, &opt)) != 0)
        return rc;
    if (opt.output || opt.kernel) {
        cli_free_options(&opt);
        return cli_usage("reload: -o and --kernel do not apply.");
    }
    if ((rc = attach_connect("reload", name, &fd)) != 0) {
        cli_free_options(&opt);
        return rc;
    }
    signal(SIGPIPE, SIG_IGN);
    rc = reload_bundle(&opt, &bundle);
    if (rc == 0) {
        char *msg = NULL;
        int r = send_frame(fd, 'r', bundle.data, bundle.len) == 0
                ? await_reply(fd, &msg) : -1;
        if (r < 0)
            rc = cli_fail(LUNIK_EXIT_ERROR, "the instance '%s' has gone",
                          name);
        else if (r != 'd')
            rc = cli_fail(LUNIK_EXIT_ERROR, "reload of '%s' failed, nothing "
                          "changed: %s", name, msg ? msg : "?");
        free(msg);
    }
    close(fd);
    cli_buf_free(&bundle);
    cli_free_options(&opt);
    return rc;
}
