/* container.c: the container life cycle: create, start, state, kill and delete (OCI runtime-spec "Operations", runc's command line). */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "oci.h"

#define OCI_MAX_ARGS 512

/* The lunik command beside this one (build/lunik next to build/lunik-oci,
 * or both in the same bin directory). */
static int lunik_path(char *buf, size_t n)
{
    char self[PATH_MAX];
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);

    if (k < 0)
        return -1;
    self[k] = 0;
    snprintf(buf, n, "%s/lunik", dirname(self));
    return access(buf, X_OK);
}

/* Option `name` of argv (as "--name VALUE" or "--name=VALUE"), or NULL;
 * flags (no value) are matched by oci_flag. */
static const char *option(int argc, char **argv, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], name) == 0 && i + 1 < argc)
            return argv[i + 1];
        if (strncmp(argv[i], name, n) == 0 && argv[i][n] == '=')
            return argv[i] + n + 1;
    }
    return NULL;
}

static int flag(int argc, char **argv, const char *name)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return 1;
    return 0;
}

/* The container id: the last argument that is no option or option value.
 * Options taking a value are listed; the rest are flags. */
static const char *container_id(int argc, char **argv)
{
    static const char *valued[] = { "--bundle", "-b", "--pid-file",
                                    "--console-socket", "--preserve-fds",
                                    "--signal", NULL };
    const char *id = NULL;
    for (int i = 0; i < argc; i++) {
        int takes = 0;
        for (int k = 0; valued[k]; k++)
            takes |= strcmp(argv[i], valued[k]) == 0;
        if (takes)
            i++;
        else if (argv[i][0] != '-' && id == NULL)
            id = argv[i];
    }
    return id;
}

/* Send fd over the Unix socket at path (SCM_RIGHTS): --console-socket. */
static int send_fd(const char *path, int fd)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    char byte = 0, ctl[CMSG_SPACE(sizeof(int))];
    struct iovec iov = { &byte, 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
                        .msg_control = ctl, .msg_controllen = sizeof ctl };
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(a.sun_path, sizeof a.sun_path, "%s", path);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    memset(ctl, 0, sizeof ctl);
    struct cmsghdr *c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &fd, sizeof fd);
    int r = sendmsg(s, &m, 0) == 1 ? 0 : -1;
    close(s);
    return r;
}

/* A new pseudo-terminal: its master goes to the console socket, its
 * slave becomes the process's controlling terminal and stdio. */
static int make_console(const char *socket_path)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
    char *name;
    int slave;

    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0 ||
        (name = ptsname(master)) == NULL)
        return oci_error("cannot make a terminal: %s", strerror(errno));
    if ((slave = open(name, O_RDWR | O_NOCTTY)) < 0)
        return oci_error("cannot open %s: %s", name, strerror(errno));
    if (send_fd(socket_path, master) != 0)
        return oci_error("cannot send the terminal to %s: %s", socket_path,
                         strerror(errno));
    close(master);
    setsid();
    ioctl(slave, TIOCSCTTY, 0);
    dup2(slave, 0);
    dup2(slave, 1);
    dup2(slave, 2);
    if (slave > 2)
        close(slave);
    return 0;
}

/* Report to create's parent through fd: "ok", or the error. */
static void tell(int fd, const char *msg)
{
    (void)!write(fd, msg, strlen(msg));
}

/*
 * The container process, between fork and exec: enter the network
 * namespace, attach the NIC, make the terminal, report to the parent,
 * then wait on exec.fifo until `start` opens it, and become
 * `lunik run IMAGE ...`. Never returns.
 */
static void container_process(const struct oci_spec *spec,
                              const char *console, const char *fifo,
                              int report)
{
    char lunik[PATH_MAX], mem[32];
    char *args[OCI_MAX_ARGS];
    int n = 0;

    if (lunik_path(lunik, sizeof lunik) != 0)
        goto fail_msg;
    if (spec->netns_path) {
        int fd = open(spec->netns_path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
            oci_error("cannot enter the network namespace %s: %s",
                      spec->netns_path, strerror(errno));
            goto fail;
        }
        close(fd);
    } else if (spec->netns_new && unshare(CLONE_NEWNET) != 0) {
        oci_error("cannot make a network namespace: %s", strerror(errno));
        goto fail;
    }
    args[n++] = lunik;
    args[n++] = "run";
    args[n++] = spec->image;
    args[n++] = "--target";
    args[n++] = spec->target;
    if (spec->memory_limit) {
        snprintf(mem, sizeof mem, "%lluK",
                 (unsigned long long)(spec->memory_limit / 1024));
        args[n++] = "--mem";
        args[n++] = mem;
    }
    for (size_t i = 0; spec->env && spec->env[i] && n < OCI_MAX_ARGS - 16;
         i++) {
        args[n++] = "-e";
        args[n++] = spec->env[i];
    }
    if ((spec->netns_path || spec->netns_new) &&
        oci_net_attach(args, &n, OCI_MAX_ARGS - 8) != 0)
        goto fail;
    args[n++] = "--";
    for (size_t i = 0; spec->args && spec->args[i] && n < OCI_MAX_ARGS - 1;
         i++)
        args[n++] = spec->args[i];
    args[n] = NULL;
    if (console && make_console(console) != 0)
        goto fail;
    tell(report, "ok");
    close(report);
    int fd = open(fifo, O_WRONLY | O_CLOEXEC);   /* waits for start */
    if (fd < 0 || write(fd, "0", 1) != 1)
        _exit(126);
    close(fd);
    execv(lunik, args);
    oci_error("cannot run %s: %s", lunik, strerror(errno));
    _exit(127);
fail_msg:
    oci_error("the lunik command is not beside lunik-oci (%s)", lunik);
fail:
    tell(report, "error");
    _exit(1);
}

/* mkdir -p path (mode 0700 for what it makes). */
static void mkdir_p(const char *path)
{
    char p[4096];

    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            mkdir(p, 0700);
            *s = '/';
        }
    }
    mkdir(p, 0700);
}

static void remove_dir(const char *id)
{
    char p[4096];
    const char *names[] = { "state.json", "state.json.tmp", "exec.fifo" };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (oci_dir(id, names[i], p, sizeof p) == 0)
            unlink(p);
    if (oci_dir(id, NULL, p, sizeof p) == 0)
        rmdir(p);
}

int oci_cmd_create(int argc, char **argv)
{
    const char *bundle = option(argc, argv, "--bundle");
    const char *pid_file = option(argc, argv, "--pid-file");
    const char *console = option(argc, argv, "--console-socket");
    const char *id = container_id(argc, argv);
    char dir[4096], fifo[4096], msg[16] = "";
    struct oci_spec spec;
    struct oci_state st;
    int report[2];

    if (bundle == NULL)
        bundle = option(argc, argv, "-b");
    if (bundle == NULL)
        bundle = ".";
    if (id == NULL || oci_dir(id, NULL, dir, sizeof dir) != 0)
        return oci_error("create needs a container id ([A-Za-z0-9_.-])"), 1;
    if (oci_spec_load(bundle, &spec) != 0)
        return 1;
    if (spec.terminal && console == NULL) {
        oci_spec_free(&spec);
        return oci_error("process.terminal is set but no --console-socket "
                         "was given"), 1;
    }
    mkdir_p(oci_root);
    if (mkdir(dir, 0700) != 0) {
        oci_spec_free(&spec);
        return oci_error(errno == EEXIST ? "container %s exists"
                         : "cannot make the state of %s", id), 1;
    }
    oci_dir(id, "exec.fifo", fifo, sizeof fifo);
    if (mkfifo(fifo, 0600) != 0 || pipe2(report, O_CLOEXEC) != 0) {
        oci_error("cannot make %s: %s", fifo, strerror(errno));
        remove_dir(id);
        oci_spec_free(&spec);
        return 1;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(report[0]);
        container_process(&spec, console, fifo, report[1]);
    }
    close(report[1]);
    ssize_t k = pid > 0 ? read(report[0], msg, sizeof msg - 1) : -1;
    close(report[0]);
    if (k != 2 || strncmp(msg, "ok", 2) != 0) {
        if (pid > 0) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        } else {
            oci_error("cannot fork: %s", strerror(errno));
        }
        remove_dir(id);
        oci_spec_free(&spec);
        return 1;
    }
    memset(&st, 0, sizeof st);
    snprintf(st.id, sizeof st.id, "%s", id);
    st.pid = pid;
    st.start = oci_proc_start(pid);
    snprintf(st.bundle, sizeof st.bundle, "%s", spec.bundle);
    time_t now = time(NULL);
    strftime(st.created, sizeof st.created, "%Y-%m-%dT%H:%M:%SZ",
             gmtime(&now));
    st.annotations_json = spec.annotations_json;
    int rc = oci_state_write(&st);
    oci_spec_free(&spec);
    if (rc == 0 && pid_file) {
        FILE *f = fopen(pid_file, "w");
        rc = f && fprintf(f, "%d", (int)pid) > 0 ? 0 : -1;
        if (f)
            fclose(f);
        if (rc != 0)
            oci_error("cannot write the pid file %s", pid_file);
    }
    if (rc != 0) {
        kill(pid, SIGKILL);
        remove_dir(id);
        return 1;
    }
    return 0;
}

int oci_cmd_start(int argc, char **argv)
{
    const char *id = container_id(argc, argv);
    struct oci_state st;
    char fifo[4096], byte;

    if (id == NULL)
        return oci_error("start needs a container id"), 1;
    if (oci_state_read(id, &st) != 0)
        return 1;
    const char *status = oci_status(&st);
    free(st.annotations_json);
    if (strcmp(status, "created") != 0)
        return oci_error("container %s is %s, not created", id, status), 1;
    oci_dir(id, "exec.fifo", fifo, sizeof fifo);
    int fd = open(fifo, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, &byte, 1) != 1) {
        if (fd >= 0)
            close(fd);
        return oci_error("container %s did not start", id), 1;
    }
    close(fd);
    unlink(fifo);
    return 0;
}

int oci_cmd_state(int argc, char **argv)
{
    const char *id = container_id(argc, argv);
    struct oci_state st;
    json_error_t jerr;

    if (id == NULL)
        return oci_error("state needs a container id"), 1;
    if (oci_state_read(id, &st) != 0)
        return 1;
    const char *status = oci_status(&st);
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o}",
                          "ociVersion", OCI_SPEC_VERSION, "id", st.id,
                          "status", status,
                          "pid", strcmp(status, "stopped") ? (int)st.pid : 0,
                          "bundle", st.bundle, "created", st.created,
                          "annotations", json_loads(st.annotations_json, 0,
                                                    &jerr));
    free(st.annotations_json);
    if (o == NULL)
        return oci_error("cannot describe container %s", id), 1;
    json_dumpf(o, stdout, JSON_INDENT(2));
    putchar('\n');
    json_decref(o);
    return 0;
}

/* A signal by name ("TERM", "SIGTERM") or number. -> it | -1. */
static int signal_number(const char *s)
{
    static const struct { const char *name; int sig; } sigs[] = {
        { "HUP", SIGHUP }, { "INT", SIGINT }, { "QUIT", SIGQUIT },
        { "KILL", SIGKILL }, { "USR1", SIGUSR1 }, { "USR2", SIGUSR2 },
        { "TERM", SIGTERM }, { "STOP", SIGSTOP }, { "CONT", SIGCONT },
        { "WINCH", SIGWINCH }, { "ALRM", SIGALRM }, { "PIPE", SIGPIPE },
    };
    char *end;
    long n = strtol(s, &end, 10);

    if (*s && *end == 0)
        return n > 0 && n < NSIG ? (int)n : -1;
    if (strncmp(s, "SIG", 3) == 0)
        s += 3;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        if (strcmp(s, sigs[i].name) == 0)
            return sigs[i].sig;
    return -1;
}

int oci_cmd_kill(int argc, char **argv)
{
    const char *id = NULL, *sig_name = "TERM";
    struct oci_state st;
    int seen = 0;

    for (int i = 0; i < argc; i++) {           /* kill [--all] ID [SIGNAL] */
        if (argv[i][0] == '-')
            continue;
        if (seen++ == 0)
            id = argv[i];
        else
            sig_name = argv[i];
    }
    int sig = signal_number(sig_name);
    if (id == NULL)
        return oci_error("kill needs a container id"), 1;
    if (sig < 0)
        return oci_error("unknown signal %s", sig_name), 1;
    if (oci_state_read(id, &st) != 0)
        return 1;
    const char *status = oci_status(&st);
    free(st.annotations_json);
    if (strcmp(status, "stopped") == 0)
        return oci_error("container %s is not running", id), 1;
    if (kill(st.pid, sig) != 0)
        return oci_error("cannot signal container %s: %s", id,
                         strerror(errno)), 1;
    return 0;
}

int oci_cmd_delete(int argc, char **argv)
{
    const char *id = container_id(argc, argv);
    int force = flag(argc, argv, "--force") || flag(argc, argv, "-f");
    struct oci_state st;
    char p[4096];

    if (id == NULL)
        return oci_error("delete needs a container id"), 1;
    if (force && oci_dir(id, "state.json", p, sizeof p) == 0 &&
        access(p, F_OK) != 0)
        return 0;                       /* nothing to delete: as runc */
    if (oci_state_read(id, &st) != 0)
        return 1;
    const char *status = oci_status(&st);
    free(st.annotations_json);
    if (strcmp(status, "stopped") != 0) {
        if (!force)
            return oci_error("container %s is %s: stop it first, or delete "
                             "--force", id, status), 1;
        kill(st.pid, SIGKILL);
        for (int i = 0; i < 500 && oci_proc_start(st.pid) == st.start; i++)
            usleep(10000);              /* its parent (conmon) reaps it */
    }
    remove_dir(id);
    return 0;
}
