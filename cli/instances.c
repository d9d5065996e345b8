/* instances.c: named, detached instances as docker names them: run -d, ps, logs, stop. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lunik/run.h"
#include "cli.h"

/*
 * State lives in one directory per user (mode 0700): $XDG_RUNTIME_DIR/lunik,
 * else /run/lunik for root, else /tmp/lunik-UID. An instance NAME has
 * NAME.state while it runs (one line: pid, start time in s since the
 * epoch, target, image, ports, the input's absolute path; tab-separated),
 * NAME.log (its stdout and stderr) and NAME.sock (the control channel's
 * Unix socket: lunik attach, lunik reload), all mode 0600. A program run
 * without -d has its socket too, named by its pid: pid-PID.sock. A state
 * file whose pid is gone is stale and removed by whoever sees it; so is a
 * socket nobody listens on, and `lunik ps` removes the pid-PID.sock of a
 * program that was killed before it could (SIGKILL).
 */

static char state_dir[512];

/* The state directory, made if missing. NULL after one line on stderr. */
static const char *inst_dir(void)
{
    const char *x = getenv("XDG_RUNTIME_DIR");

    if (state_dir[0])
        return state_dir;
    if (x && x[0] == '/')
        snprintf(state_dir, sizeof state_dir, "%s/lunik", x);
    else if (geteuid() == 0)
        snprintf(state_dir, sizeof state_dir, "/run/lunik");
    else
        snprintf(state_dir, sizeof state_dir, "/tmp/lunik-%u",
                 (unsigned)geteuid());
    if (mkdir(state_dir, 0700) != 0 && errno != EEXIST) {
        cli_fail(LUNIK_EXIT_CANTCREAT, "cannot make %s: %s", state_dir,
                 strerror(errno));
        state_dir[0] = '\0';
        return NULL;
    }
    return state_dir;
}

static void inst_path(char *buf, size_t n, const char *name, const char *ext)
{
    snprintf(buf, n, "%s/%s.%s", state_dir, name, ext);
}

int cli_instance_name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > 64 || name[0] == '.' || name[0] == '-')
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!(name[i] == '-' || name[i] == '_' || name[i] == '.' ||
              (name[i] >= 'a' && name[i] <= 'z') ||
              (name[i] >= 'A' && name[i] <= 'Z') ||
              (name[i] >= '0' && name[i] <= '9')))
            return 0;
    return 1;
}

/* Is pid alive (not gone, not a zombie waiting for its parent)? */
static int inst_alive(long pid)
{
    char path[64], buf[256];
    FILE *f;

    if (kill((pid_t)pid, 0) != 0 && errno == ESRCH)
        return 0;
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if ((f = fopen(path, "r")) == NULL)
        return 1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return !(p && p[1] == ' ' && p[2] == 'Z');
}

/* One instance's state, as read from NAME.state. */
struct inst {
    char name[80];
    long pid;
    long long started;
    char target[16], image[256], ports[256], source[512];
};

/* Read NAME's state; 1 when it runs, 0 when there is none (a stale file
 * is removed). */
static int inst_read(const char *name, struct inst *in)
{
    char path[700], line[1024];
    FILE *f;

    inst_path(path, sizeof path, name, "state");
    if ((f = fopen(path, "r")) == NULL)
        return 0;
    memset(in, 0, sizeof *in);
    snprintf(in->name, sizeof in->name, "%s", name);
    int ok = fgets(line, sizeof line, f) != NULL &&
             sscanf(line, "%ld\t%lld\t%15[^\t]\t%255[^\t]\t%255[^\t\n]"
                    "\t%511[^\t\n]", &in->pid, &in->started, in->target,
                    in->image, in->ports, in->source) >= 4;
    fclose(f);
    if (!ok || in->pid <= 0 || !inst_alive(in->pid)) {
        unlink(path);
        return 0;
    }
    return 1;
}

/* "127.0.0.1:8080->80/tcp,..." for opt's port forwards, or "-". */
static void inst_ports(const struct cli_options *opt, char *buf, size_t n)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i < opt->net.nforwards && used + 48 < n; i++) {
        const struct lunik_net_forward *fw = &opt->net.forwards[i];
        const unsigned char *a = (const unsigned char *)&fw->host_addr;
        used += (size_t)snprintf(buf + used, n - used,
                                 "%s%u.%u.%u.%u:%u->%u/%s", i ? "," : "",
                                 a[0], a[1], a[2], a[3], fw->host_port,
                                 fw->guest_port, fw->udp ? "udp" : "tcp");
    }
    if (!buf[0])
        snprintf(buf, n, "-");
}

static char inst_running_state[700];   /* this process's NAME.state */
static char inst_running_name[80];     /* this process's instance name */
static char inst_running_sock[700];    /* this process's control socket */
static int inst_sock_fd = -1;          /* its listening descriptor */

static void inst_remove_state(void)
{
    if (inst_running_state[0])
        unlink(inst_running_state);
}

static void inst_remove_sock(void)
{
    if (inst_running_sock[0])
        unlink(inst_running_sock);
    inst_running_sock[0] = '\0';
    inst_sock_fd = -1;
}

const char *cli_state_dir(void)
{
    return inst_dir();
}

int cli_control_listen(void)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char name[80];

    if (inst_sock_fd >= 0)
        return inst_sock_fd;
    if (!inst_dir())
        return -1;
    if (inst_running_name[0])
        snprintf(name, sizeof name, "%s", inst_running_name);
    else
        snprintf(name, sizeof name, "pid-%ld", (long)getpid());
    inst_path(inst_running_sock, sizeof inst_running_sock, name, "sock");
    if (strlen(inst_running_sock) >= sizeof a.sun_path) {
        inst_running_sock[0] = '\0';
        return -1;
    }
    memcpy(a.sun_path, inst_running_sock, strlen(inst_running_sock) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -1;
    unlink(inst_running_sock);              /* stale: its name is ours */
    mode_t old = umask(077);
    int r = bind(fd, (struct sockaddr *)&a, sizeof a);
    umask(old);
    if (r != 0 || chmod(inst_running_sock, 0600) != 0 || listen(fd, 8) != 0) {
        close(fd);
        inst_running_sock[0] = '\0';
        return -1;
    }
    atexit(inst_remove_sock);
    return inst_sock_fd = fd;
}

void cli_control_done(void)
{
    inst_remove_sock();
}

int cli_control_connect(const char *name)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char path[700];
    int digits = name[0] != '\0';

    for (const char *c = name; *c; c++)
        digits &= *c >= '0' && *c <= '9';
    if (!inst_dir())
        return -1;
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 0)
            inst_path(path, sizeof path, name, "sock");
        else if (digits)
            snprintf(path, sizeof path, "%s/pid-%s.sock", state_dir, name);
        else
            break;
        if (strlen(path) >= sizeof a.sun_path)
            continue;
        memcpy(a.sun_path, path, strlen(path) + 1);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -1;
        if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0)
            return fd;
        int e = errno;
        close(fd);
        if (e == ECONNREFUSED)
            unlink(path);                   /* stale: nobody listens */
    }
    return -1;
}

int cli_instance_source(const char *name, char *buf, size_t n)
{
    struct inst in;

    if (!inst_dir() || !inst_read(name, &in) || !in.source[0])
        return -1;
    snprintf(buf, n, "%s", in.source);
    return 0;
}

int cli_instance_detach(const struct cli_options *opt, const char *target)
{
    char name[80], path[700], ports[256];
    struct inst old;
    int sync[2];

    if (!inst_dir())
        return LUNIK_EXIT_CANTCREAT;
    if (opt->name) {
        snprintf(name, sizeof name, "%s", opt->name);
        if (inst_read(name, &old))
            return cli_fail(LUNIK_EXIT_USAGE, "an instance named '%s' is "
                            "already running (pid %ld): lunik stop %s",
                            name, old.pid, name);
    } else {
        srand((unsigned)(time(NULL) ^ getpid()));
        do
            snprintf(name, sizeof name, "lunik-%06x",
                     (unsigned)rand() & 0xffffff);
        while (inst_read(name, &old));
    }
    inst_ports(opt, ports, sizeof ports);
    if (pipe(sync) != 0)
        return cli_fail(LUNIK_EXIT_OSERR, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return cli_fail(LUNIK_EXIT_OSERR, "fork: %s", strerror(errno));
    if (pid > 0) {                          /* the caller: wait, report */
        char b;
        close(sync[1]);
        ssize_t r = read(sync[0], &b, 1);
        close(sync[0]);
        if (r != 1)
            return cli_fail(LUNIK_EXIT_OSERR, "the instance '%s' did not "
                            "start (see lunik logs %s)", name, name);
        printf("%s\n", name);
        return 0;
    }
    close(sync[0]);
    setsid();
    inst_path(path, sizeof path, name, "log");
    int log = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (log < 0 || null < 0 || dup2(null, 0) < 0 || dup2(log, 1) < 0 ||
        dup2(log, 2) < 0)
        _exit(LUNIK_EXIT_CANTCREAT);
    close(log);
    close(null);
    inst_path(inst_running_state, sizeof inst_running_state, name, "state");
    FILE *f = fopen(inst_running_state, "w");
    if (f == NULL)
        _exit(LUNIK_EXIT_CANTCREAT);
    fchmod(fileno(f), 0600);
    char *abs = opt->input ? realpath(opt->input, NULL) : NULL;
    fprintf(f, "%ld\t%lld\t%s\t%s\t%s\t%s\n", (long)getpid(),
            (long long)time(NULL), target, opt->input ? opt->input : "-",
            ports, abs ? abs : "-");
    free(abs);
    snprintf(inst_running_name, sizeof inst_running_name, "%s", name);
    cli_control_listen();                   /* attach works once we said so */
    fclose(f);
    atexit(inst_remove_state);
    if (write(sync[1], "", 1) != 1)
        _exit(LUNIK_EXIT_OSERR);
    close(sync[1]);
    return -1;                              /* the instance: run on */
}

void cli_instance_done(void)
{
    inst_remove_state();
}

/* RSS of pid in KiB (/proc/PID/status VmRSS), or -1. */
static long inst_rss_kib(long pid)
{
    char path[64], line[256];
    long kib = -1;
    FILE *f;

    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if ((f = fopen(path, "r")) == NULL)
        return -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static int inst_cmp(const void *a, const void *b)
{
    return strcmp(((const struct inst *)a)->name,
                  ((const struct inst *)b)->name);
}

int cli_cmd_ps(int argc, char **argv)
{
    struct inst *list = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    DIR *d;

    (void)argv;
    if (argc != 0)
        return cli_usage("ps takes no arguments.");
    if (!inst_dir())
        return LUNIK_EXIT_CANTCREAT;
    if ((d = opendir(state_dir)) == NULL)
        return cli_fail(LUNIK_EXIT_OSERR, "%s: %s", state_dir,
                        strerror(errno));
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        char *end = NULL;
        long pid = strncmp(e->d_name, "pid-", 4) == 0 ?
                   strtol(e->d_name + 4, &end, 10) : 0;
        if (pid > 0 && strcmp(end, ".sock") == 0 && !inst_alive(pid)) {
            unlinkat(dirfd(d), e->d_name, 0);   /* a killed program's */
            continue;
        }
        if (len <= 6 || strcmp(e->d_name + len - 6, ".state") != 0)
            continue;
        char name[80];
        snprintf(name, sizeof name, "%.*s", (int)(len - 6), e->d_name);
        if (n == cap)
            list = cli_xrealloc(list, (cap = cap ? cap * 2 : 8) *
                                sizeof *list);
        if (inst_read(name, &list[n]))
            n++;
    }
    closedir(d);
    qsort(list, n, sizeof *list, inst_cmp);
    printf("%-20s %-8s %-15s %-24s %-28s %-9s %s\n", "NAME", "PID", "TARGET",
           "IMAGE", "PORTS", "UPTIME", "MEMORY");
    for (size_t i = 0; i < n; i++) {
        long long up = (long long)time(NULL) - list[i].started;
        char upt[32], mem[32];
        long rss = inst_rss_kib(list[i].pid);
        if (up < 120)
            snprintf(upt, sizeof upt, "%llds", up);
        else if (up < 7200)
            snprintf(upt, sizeof upt, "%lldm", up / 60);
        else
            snprintf(upt, sizeof upt, "%lldh", up / 3600);
        if (rss < 0)
            snprintf(mem, sizeof mem, "-");
        else
            snprintf(mem, sizeof mem, "%.1fMiB", rss / 1024.0);
        printf("%-20s %-8ld %-15s %-24s %-28s %-9s %s\n", list[i].name,
               list[i].pid, list[i].target, list[i].image, list[i].ports,
               upt, mem);
    }
    free(list);
    return 0;
}

/* The one NAME argument of logs and stop, after their options. */
static int inst_arg(const char *cmd, int argc, char **argv, int i,
                    const char **name)
{
    if (i != argc - 1)
        return cli_usage("%s needs one instance name.", cmd);
    *name = argv[i];
    if (!cli_instance_name_ok(*name))
        return cli_usage("%s: '%s' is not an instance name.", cmd, *name);
    return 0;
}

int cli_cmd_logs(int argc, char **argv)
{
    const char *name = NULL;
    char path[700], buf[65536];
    int follow = 0, i = 0, rc;

    if (argc > 0 && (strcmp(argv[0], "-f") == 0 ||
                     strcmp(argv[0], "--follow") == 0))
        follow = 1, i = 1;
    if ((rc = inst_arg("logs", argc, argv, i, &name)) != 0)
        return rc;
    if (!inst_dir())
        return LUNIK_EXIT_CANTCREAT;
    inst_path(path, sizeof path, name, "log");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cli_fail(LUNIK_EXIT_NOINPUT, "no instance named '%s' has a "
                        "log", name);
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r > 0) {
            fwrite(buf, 1, (size_t)r, stdout);
            continue;
        }
        struct inst in;
        if (!follow || !inst_read(name, &in))
            break;
        fflush(stdout);
        usleep(100000);
    }
    close(fd);
    return 0;
}

int cli_cmd_stop(int argc, char **argv)
{
    const char *name = NULL;
    double grace = 10;
    int i = 0, rc;
    struct inst in;

    if (argc > 1 && (strcmp(argv[0], "-t") == 0 ||
                     strcmp(argv[0], "--time") == 0)) {
        char *end;
        grace = strtod(argv[1], &end);
        if (end == argv[1] || *end || !(grace >= 0))
            return cli_usage("stop: -t '%s' is not a number of seconds.",
                             argv[1]);
        i = 2;
    }
    if ((rc = inst_arg("stop", argc, argv, i, &name)) != 0)
        return rc;
    if (!inst_dir())
        return LUNIK_EXIT_CANTCREAT;
    if (!inst_read(name, &in))
        return cli_fail(LUNIK_EXIT_NOINPUT, "no instance named '%s' is "
                        "running", name);
    kill((pid_t)in.pid, SIGTERM);           /* its "shutdown" event */
    for (int t = 0; t < (int)(grace * 20) && inst_alive(in.pid); t++)
        usleep(50000);
    if (inst_alive(in.pid)) {
        kill((pid_t)in.pid, SIGKILL);
        for (int t = 0; t < 100 && inst_alive(in.pid); t++)
            usleep(20000);
    }
    char path[700];
    inst_path(path, sizeof path, name, "state");
    unlink(path);
    printf("%s\n", name);
    return 0;
}
