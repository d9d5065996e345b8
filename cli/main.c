/* main.c: the lunik command: build, run, inspect, help, version. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lua.h"

#include "lunik/run.h"
#include "app.h"
#include "cli.h"
#include "image.h"
#include "pvh.h"

static const char cli_build_help[] =
    "lunik build app.lua [-I DIR]... [--file PATH]... [-o app.img] [-v]\n"
    "            [--pvh]\n"
    "    Compile app.lua and every module it requires (transitively) to Lua\n"
    "    byte code, keeping line information, and pack them with the guest\n"
    "    kernel and the --file files into one image (default: app.img in\n"
    "    the current directory).\n"
    "      -I DIR       look for modules in DIR/?.lua and DIR/?/init.lua,\n"
    "                   before the app's directory and LUA_PATH (or Lua's\n"
    "                   default path); a module not found is left out\n"
    "      --file PATH  bundle a file, or a directory and all below it, at\n"
    "                   its path relative to the app's directory\n"
    "      -o FILE      write the image to FILE\n"
    "      -v           name every module bundled or not found\n"
    "      --pvh        write one bootable PVH ELF instead (default name\n"
    "                   app.elf): the PVH kernel with the bundle inside,\n"
    "                   for QEMU -M microvm -kernel, Firecracker or any\n"
    "                   VMM with the PVH boot protocol\n"
    "      --kernel ELF (for developers) put ELF in the image instead of\n"
    "                   lunik's own guest kernel\n";

static const char cli_run_help[] =
    "lunik run app.lua|app.img [--mem SIZE] [--target kvm|hosted|auto]\n"
    "          [--vmm lunik|qemu|firecracker] [--vmm-dir DIR]\n"
    "          [--budget S] [--stats] [-d] [--name NAME]\n"
    "          [-e KEY=VAL]... [--env-file FILE]\n"
    "          [--net user|tap:NAME|none]"
    " [-p [HOSTADDR:]HOSTPORT:GUESTPORT]...\n"
    "          [--ip ADDR/PREFIX[,GATEWAY]] [--mac MAC]\n"
    "          [-I DIR]... [--file PATH]... [-- ARGS...]\n"
    "    Run an image, or build app.lua in memory (with the options of\n"
    "    build) and run it. ARGS reach the program as arg[1], arg[2], ...\n"
    "      --mem SIZE   guest memory: bytes, or a number with K, M or G\n"
    "                   (powers of 1024: 4M, 4MiB, 64m); default 32M; the\n"
    "                   hosted target ignores it\n"
    "      --target T   kvm: a KVM virtual machine; hosted: this Linux\n"
    "                   process; auto (default): kvm when /dev/kvm opens,\n"
    "                   else hosted\n"
    "      --vmm V      lunik (default): lunik's own KVM monitor, as\n"
    "                   --target says; qemu: the PVH kernel under\n"
    "                   qemu-system-x86_64 -M microvm (KVM where /dev/kvm\n"
    "                   works and is not kvm_pvm, else TCG;\n"
    "                   LUNIK_QEMU_ACCEL=kvm|tcg chooses), where\n"
    "                   lunik.target() is \"pvh/qemu\"; firecracker:\n"
    "                   write Firecracker's config and the PVH ELF (into\n"
    "                   --vmm-dir DIR, else a temporary directory) and run\n"
    "                   firecracker --no-api --config-file when it is on\n"
    "                   PATH (console on its serial port; --net tap:NAME)\n"
    "      --budget S   seconds a handler run may take before it yields\n"
    "                   (default 1; lunik.budget); over it, it is stopped\n"
    "      --stats      at exit, print lunik.stats() on stderr, and on kvm\n"
    "                   VM exits by reason, hypercalls, device\n"
    "                   notifications, frames and bytes each way,\n"
    "                   the guest's system calls and KVM's own counts\n"
    "      -e KEY=VAL   os.getenv(\"KEY\") is VAL (repeatable)\n"
    "      --env-file F KEY=VAL lines of F (# comments, blank lines)\n"
    "      -d           detach: print the instance's name once it runs and\n"
    "                   return; its output goes to `lunik logs NAME`\n"
    "      --name NAME  the instance's name (default: lunik-XXXXXX)\n"
    "    Network (the program gets one NIC, the same on both targets):\n"
    "      --net user   user-mode networking (libslirp), no root needed:\n"
    "                   network 10.0.2.0/24, the host as gateway 10.0.2.2,\n"
    "                   DNS 10.0.2.3, the guest gets 10.0.2.15 by DHCP;\n"
    "                   outgoing TCP and UDP are NATed by the host\n"
    "      --net tap:NAME\n"
    "                   attach to the existing tap interface NAME (made\n"
    "                   with e.g. `ip tuntap add dev NAME mode tap user\n"
    "                   USER`); the guest is a host on NAME's network\n"
    "      --net none   no NIC (the default without -p)\n"
    "      -p [HOSTADDR:]HOSTPORT:GUESTPORT[/udp|/tcp]\n"
    "                   forward HOSTPORT on HOSTADDR (default 127.0.0.1)\n"
    "                   to the guest's GUESTPORT, TCP unless /udp;\n"
    "                   repeatable; implies --net user\n"
    "      --ip ADDR/PREFIX[,GATEWAY]\n"
    "                   a fixed IPv4 address instead of DHCP\n"
    "                   (10.0.2.20/24). With --net user, slirp's network\n"
    "                   becomes ADDR/PREFIX (PREFIX at most 29): the host is\n"
    "                   GATEWAY (default: the network's .2 address) and DNS\n"
    "                   its .3 address\n"
    "      --mac MAC    the NIC's MAC address, XX:XX:XX:XX:XX:XX (unicast);\n"
    "                   default 52:54:00:12:34:56, on a tap 52:54:00 and\n"
    "                   three bytes of the process id; the MTU is 1500\n"
    "    A network that cannot start (no such tap interface, a host port\n"
    "    in use) ends lunik with status 71 before the program runs.\n";

static const char cli_instances_help[] =
    "lunik ps\n"
    "    List the running detached instances: name, pid, target, image,\n"
    "    ports, uptime, memory (RSS).\n"
    "lunik logs [-f] NAME\n"
    "    Print the instance's stdout and stderr; -f: follow until it ends.\n"
    "lunik stop [-t SECONDS] NAME\n"
    "    Ask the instance to stop (SIGTERM: its \"shutdown\" event), wait\n"
    "    up to SECONDS (default 10), then kill it.\n"
    "lunik attach NAME\n"
    "    A Lua REPL inside the running instance NAME (or, for a program run\n"
    "    without -d, its pid): each input runs in the program's own state,\n"
    "    as lua.c's REPL runs it, under the handler budget; Ctrl-C stops a\n"
    "    line that runs. Without a terminal, lines come from stdin and\n"
    "    results go to stdout; the exit status is 1 if any input failed.\n"
    "lunik reload NAME [app.lua|app.img] [-I DIR]... [--file PATH]...\n"
    "    Build app.lua (or take app.img's bundle; default: the file NAME\n"
    "    was started from) and load it into the running instance: its\n"
    "    modules are loaded again and its main chunk runs; listeners it\n"
    "    registers again take over their ports. If the new code fails,\n"
    "    nothing changes and the error is printed (exit 1).\n"
    "    State, logs and control sockets live in $XDG_RUNTIME_DIR/lunik\n"
    "    (root: /run/lunik).\n";

void cli_print_instances_help(void)
{
    fputs(cli_instances_help, stdout);
}

static const char cli_inspect_help[] =
    "lunik inspect app.img\n"
    "    Check an image fully and list its kernel, checksums and bundled\n"
    "    files (flags, bytes, path).\n";

static const char cli_exit_help[] =
    "Exit status:\n"
    "  0..63  the program's own status (lunik.exit(n), os.exit(n)); 0 when\n"
    "         it ends normally\n"
    "  1      an uncaught error in the main chunk\n"
    "  64     bad command line or option value\n"
    "  65     Lua syntax error, or a corrupt or truncated image\n"
    "  66     an input file is missing or unreadable\n"
    "  69     --mem too small for the image\n"
    "  70     guest fault (exception, triple fault, bad hypercall)\n"
    "  71     host failure (KVM unavailable, out of memory, a network\n"
    "         that cannot start, ...)\n"
    "  73     cannot write the output image\n";

static void cli_print_help(void)
{
    printf("Usage: lunik COMMAND [OPTIONS]\n"
           "Run Lua 5.4 handler programs as KVM unikernels or as Linux "
           "processes.\n\n%s\n%s\n%s\n%s\n"
           "lunik help [COMMAND] | lunik COMMAND --help | lunik --help\n"
           "lunik --version\n\n%s",
           cli_build_help, cli_run_help, cli_instances_help,
           cli_inspect_help, cli_exit_help);
}

/* cli_kvm_why: why /dev/kvm cannot be used (lunik_kvm_available said no),
 * as open(2) or KVM_GET_API_VERSION (KVM API 4.1) tells. */
static void cli_kvm_why(char *why, size_t n)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, n, "%s", strerror(errno));
        return;
    }
    int v = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (v < 0)
        snprintf(why, n, "KVM_GET_API_VERSION: %s", strerror(errno));
    else if (v != KVM_API_VERSION)
        snprintf(why, n, "KVM API version %d, not %d", v, KVM_API_VERSION);
    else
        snprintf(why, n, "KVM lacks what lunik needs");
    close(fd);
}

/* cli_start_pvh: boot cfg's bundle in the PVH kernel (the embedded one,
 * or --kernel's) under QEMU microvm or Firecracker; its exit status. */
static int cli_start_pvh(const struct cli_options *opt,
                         struct lunik_run_config *cfg)
{
    struct cli_buf elf = {0};
    const unsigned char *k = cli_pvh_elf_start;
    size_t kn = (size_t)(cli_pvh_elf_end - cli_pvh_elf_start);

    if (opt->kernel != NULL) {
        k = cfg->kernel;
        kn = cfg->kernel_size;
    }
    int rc = cli_pvh_elf(k, kn, cfg->bundle, cfg->bundle_size, &elf);
    uint64_t need = rc == 0 ? cli_pvh_load_end(elf.data, elf.len) : 0;
    need = (need + (1u << 20) - 1) >> 20 << 20;     /* whole MiB */
    if (rc == 0 && opt->mem_size < need + (1u << 20))  /* + the boot page */
        rc = cli_fail(LUNIK_EXIT_NOMEM, "--mem is too small for this image: "
                      "the VM must hold it, at least %llu MiB",
                      (unsigned long long)(need >> 20) + 1);
    if (rc == 0 && opt->detach) {
        rc = cli_instance_detach(opt, strcmp(opt->vmm, "qemu") == 0
                                      ? "pvh/qemu" : "pvh/firecracker");
        if (rc >= 0) {
            cli_buf_free(&elf);
            return rc;                      /* the caller: it runs */
        }
        rc = 0;
    }
    if (rc == 0 && strcmp(opt->vmm, "qemu") == 0)
        rc = cli_qemu_run(opt, elf.data, elf.len, cfg->argc, cfg->argv);
    else if (rc == 0)
        rc = cli_firecracker_run(opt, elf.data, elf.len, cfg->argc,
                                 cfg->argv);
    if (opt->detach)
        cli_instance_done();
    cli_buf_free(&elf);
    return rc;
}

/* cli_start: run cfg on the chosen target; its exit status. */
static int cli_start(const struct cli_options *opt,
                     struct lunik_run_config *cfg)
{
    const char *target = opt->target;
    int kvm = strcmp(target, "kvm") == 0;
    if (strcmp(opt->vmm, "lunik") != 0)
        return cli_start_pvh(opt, cfg);
    if (strcmp(target, "auto") == 0)
        kvm = lunik_kvm_available();
    else if (kvm && !lunik_kvm_available()) {
        char why[160];
        cli_kvm_why(why, sizeof why);
        return cli_fail(LUNIK_EXIT_OSERR, "KVM is not available "
                        "(/dev/kvm: %s): use --target hosted, or run the "
                        "command in the nested test VM with "
                        "scripts/kvm-vm.sh", why);
    }
    if (opt->detach) {
        int r = cli_instance_detach(opt, kvm ? "kvm" : "hosted");
        if (r >= 0)
            return r;                       /* the caller: it runs */
    }
    fflush(stdout);
    cfg->control_fd = cli_control_listen();
    int r = kvm ? lunik_kvm_run(cfg) : lunik_hosted_run(cfg);
    cli_control_done();
    if (opt->detach)
        cli_instance_done();
    return r;
}

/* The kernel and bundle of one run or build, and what owns their memory. */
struct cli_payload {
    const unsigned char *kernel;
    size_t kernel_size;
    unsigned char *kernel_file;     /* --kernel contents, or NULL */
    struct cli_buf bundle;
    char *main_rel;                 /* the app's path relative to /app */
};

/* cli_load_kernel: the --kernel ELF, checked, or the embedded kernel. */
static int cli_load_kernel(const struct cli_options *opt,
                           struct cli_payload *p)
{
    if (opt->kernel == NULL && opt->pvh) {
        p->kernel = cli_pvh_elf_start;
        p->kernel_size = (size_t)(cli_pvh_elf_end - cli_pvh_elf_start);
        return 0;
    }
    if (opt->kernel == NULL) {
        p->kernel = cli_kernel_elf_start;
        p->kernel_size = (size_t)(cli_kernel_elf_end - cli_kernel_elf_start);
        return 0;
    }
    int e = cli_read_file(opt->kernel, &p->kernel_file, &p->kernel_size);
    if (e != 0)
        return cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", opt->kernel,
                        cli_file_error(e));
    char why[128];
    if (cli_kernel_check(p->kernel_file, p->kernel_size, why, sizeof why))
        return cli_fail(LUNIK_EXIT_DATAERR, "--kernel %s: %s", opt->kernel,
                        why);
    p->kernel = p->kernel_file;
    return 0;
}

/* cli_make_payload: kernel and bundle for the Lua app opt->input. */
static int cli_make_payload(const struct cli_options *opt,
                            const unsigned char *src, size_t len,
                            struct cli_payload *p)
{
    int rc = cli_load_kernel(opt, p);
    if (rc == 0)
        rc = cli_build_bundle(opt, src, len, &p->bundle, &p->main_rel);
    return rc;
}

static void cli_free_payload(struct cli_payload *p)
{
    free(p->kernel_file);
    free(p->main_rel);
    cli_buf_free(&p->bundle);
}

/* cli_read_input: the whole input file, or NOINPUT after one line. */
static int cli_read_input(const char *path, struct cli_file *f)
{
    int e = cli_map_file(path, f);
    if (e != 0)
        return cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", path,
                        cli_file_error(e));
    return 0;
}

/* cli_default_output: NAME.img, or NAME.elf with --pvh (NAME the app's
 * file name less ".lua"). */
static char *cli_default_output(const char *input, int pvh)
{
    const char *slash = strrchr(input, '/');
    const char *name = slash ? slash + 1 : input;
    size_t n = strlen(name);
    if (n > 4 && strcmp(name + n - 4, ".lua") == 0)
        n -= 4;
    return cli_xasprintf("%.*s.%s", (int)n, name, pvh ? "elf" : "img");
}

/* cli_same_file: 1 if both paths name one existing file (stat(2)). */
static int cli_same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return stat(a, &sa) == 0 && stat(b, &sb) == 0 &&
           sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

/* cli_write_pvh: the PVH ELF of p (pvh.h) to path, executable. */
static int cli_write_pvh(const char *path, const struct cli_payload *p)
{
    struct cli_buf elf = {0};
    int rc = cli_pvh_elf(p->kernel, p->kernel_size, p->bundle.data,
                         p->bundle.len, &elf);
    if (rc != 0)
        return rc;
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(elf.data, 1, elf.len, f) != elf.len ||
        fchmod(fileno(f), 0755) != 0 || fclose(f) != 0) {
        int e = errno;
        if (f != NULL)
            fclose(f);
        cli_buf_free(&elf);
        return cli_fail(LUNIK_EXIT_CANTCREAT, "%s: %s", path, strerror(e));
    }
    cli_buf_free(&elf);
    return 0;
}

static int cli_cmd_build(int argc, char **argv)
{
    struct cli_options opt;
    struct cli_payload p = {0};
    struct cli_file src = {0};
    int rc = cli_parse_options("build", argc, argv, &opt);
    if (rc == 0 && opt.help)
        fputs(cli_build_help, stdout);
    else if (rc == 0 && (rc = cli_read_input(opt.input, &src)) == 0)
        rc = cli_make_payload(&opt, src.data, src.size, &p);
    if (rc == 0 && !opt.help) {
        char *out = opt.output ? cli_xstrdup(opt.output)
                               : cli_default_output(opt.input, opt.pvh);
        rc = cli_same_file(out, opt.input)
           ? cli_usage("build: the image %s would overwrite the app.", out)
           : opt.pvh ? cli_write_pvh(out, &p)
           : cli_image_write(out, p.kernel, p.kernel_size, p.bundle.data,
                             p.bundle.len);
        if (rc == 0 && opt.verbose)
            cli_note("wrote %s: kernel %zu bytes, bundle %zu bytes", out,
                     p.kernel_size, p.bundle.len);
        free(out);
    }
    cli_unmap_file(&src);
    cli_free_payload(&p);
    cli_free_options(&opt);
    return rc;
}

/* The argv a run hands the runtime, and the strings it made for it. */
struct cli_argv {
    char **argv;
    char *heap, *netmem, *budget;
    char **env;                     /* "lunik.env=K=V" for each -e */
    size_t nenv;
};

/*
 * cli_runtime_argv: cfg->argc/argv for the runtime (runtime.h): the app's
 * path, the runtime options, "--", the script arguments. The Lua heap may
 * hold --mem less the kernel, the bundle and a quarter of --mem (at least
 * 1 MiB) kept for the C side (lwIP, buffers, stack), so that a program
 * runs out of Lua heap at the same point on every target, with room left
 * to answer. lwIP may fill that quarter with received data, and half of
 * it with data waiting to be sent (lunik.netmem, net.h), not more, so
 * that traffic cannot take the Lua heap's memory.
 */
static void cli_runtime_argv(const struct cli_options *opt, char *app,
                             struct lunik_run_config *cfg,
                             struct cli_argv *av)
{
    uint64_t used = cfg->kernel_size + cfg->bundle_size, reserve;
    uint64_t heap = 1u << 20;
    int n = 0;

    reserve = opt->mem_size / 4 > (1u << 20) ? opt->mem_size / 4 : 1u << 20;
    if (opt->mem_size > used + reserve + heap)
        heap = opt->mem_size - used - reserve;
    av->heap = cli_xmalloc(48);
    snprintf(av->heap, 48, "lunik.heap=%llu", (unsigned long long)heap);
    av->netmem = cli_xmalloc(48);
    snprintf(av->netmem, 48, "lunik.netmem=%llu",
             (unsigned long long)reserve);
    av->budget = NULL;
    if (opt->budget) {
        size_t len = strlen(opt->budget) + 16;
        av->budget = cli_xmalloc(len);
        snprintf(av->budget, len, "lunik.budget=%s", opt->budget);
    }
    av->nenv = opt->env_count;
    av->env = cli_xmalloc(sizeof(char *) * (opt->env_count + 1));
    for (size_t i = 0; i < opt->env_count; i++) {
        size_t len = strlen(opt->env[i]) + 16;
        av->env[i] = cli_xmalloc(len);
        snprintf(av->env[i], len, "lunik.env=%s", opt->env[i]);
    }
    av->argv = cli_xmalloc(sizeof(char *) *
                           ((size_t)opt->argc + opt->env_count + 7));
    av->argv[n++] = app;
    av->argv[n++] = av->heap;
    av->argv[n++] = av->netmem;
    for (size_t i = 0; i < opt->env_count; i++)
        av->argv[n++] = av->env[i];
    if (av->budget)
        av->argv[n++] = av->budget;
    if (opt->stats)
        av->argv[n++] = "lunik.stats=1";
    av->argv[n++] = "--";
    memcpy(av->argv + n, opt->argv, sizeof(char *) * (size_t)opt->argc);
    n += opt->argc;
    av->argv[n] = NULL;
    cfg->argc = n;
    cfg->argv = av->argv;
}

static void cli_free_argv(struct cli_argv *av)
{
    for (size_t i = 0; i < av->nenv; i++)
        free(av->env[i]);
    free(av->env);
    free(av->argv);
    free(av->heap);
    free(av->netmem);
    free(av->budget);
}

/* cli_run_image: check the image in data and start it. */
static int cli_run_image(const struct cli_options *opt,
                         const unsigned char *data, size_t size)
{
    if (opt->include_count || opt->file_count || opt->kernel || opt->verbose)
        return cli_usage("run: -I, --file, --kernel and -v apply only when "
                         "running a .lua file, not the image %s.",
                         opt->input);
    struct cli_image img;
    int rc = cli_image_parse(opt->input, data, size, &img);
    if (rc != 0)
        return rc;
    struct lunik_run_config cfg = {
        .kernel = img.kernel, .kernel_size = img.header.kernel_size,
        .bundle = img.bundle, .bundle_size = img.header.bundle_size,
        .mem_size = opt->mem_size,
        .net = opt->net.kind != LUNIK_NET_NONE ? &opt->net : NULL,
        .stats = opt->stats};
    struct cli_argv av;
    cli_runtime_argv(opt, img.main_path + strlen("/app/"), &cfg, &av);
    rc = cli_start(opt, &cfg);
    cli_free_argv(&av);
    free(img.main_path);
    return rc;
}

/* cli_run_lua: build the app in memory and start it. */
static int cli_run_lua(const struct cli_options *opt,
                       const unsigned char *src, size_t len)
{
    struct cli_payload p = {0};
    int rc = cli_make_payload(opt, src, len, &p);
    if (rc == 0) {
        struct lunik_run_config cfg = {
            .kernel = p.kernel, .kernel_size = p.kernel_size,
            .bundle = p.bundle.data, .bundle_size = p.bundle.len,
            .mem_size = opt->mem_size,
            .net = opt->net.kind != LUNIK_NET_NONE ? &opt->net : NULL,
            .stats = opt->stats};
        struct cli_argv av;
        cli_runtime_argv(opt, p.main_rel, &cfg, &av);
        rc = cli_start(opt, &cfg);
        cli_free_argv(&av);
    }
    cli_free_payload(&p);
    return rc;
}

/* cli_is_image_name: the input is taken as an image when it is named *.img
 * or starts with the image magic; anything else is Lua. */
static int cli_is_image_name(const char *path)
{
    size_t n = strlen(path);
    return n >= 4 && strcmp(path + n - 4, ".img") == 0;
}

static int cli_cmd_run(int argc, char **argv)
{
    struct cli_options opt;
    struct cli_file in = {0};
    int rc = cli_parse_options("run", argc, argv, &opt);
    if (rc == 0 && opt.help)
        fputs(cli_run_help, stdout);
    else if (rc == 0 && (rc = cli_read_input(opt.input, &in)) == 0)
        rc = cli_is_image_name(opt.input) ||
             cli_image_looks_like(in.data, in.size)
           ? cli_run_image(&opt, in.data, in.size)
           : cli_run_lua(&opt, in.data, in.size);
    cli_unmap_file(&in);
    cli_free_options(&opt);
    return rc;
}

static int cli_cmd_inspect(int argc, char **argv)
{
    if (argc == 1 && (strcmp(argv[0], "--help") == 0 ||
                      strcmp(argv[0], "-h") == 0)) {
        fputs(cli_inspect_help, stdout);
        return 0;
    }
    if (argc != 1 || argv[0][0] == '-')
        return cli_usage("inspect takes one image file.");
    struct cli_file in;
    struct cli_image img;
    int rc = cli_read_input(argv[0], &in);
    if (rc != 0)
        return rc;
    rc = cli_image_parse(argv[0], in.data, in.size, &img);
    if (rc == 0)
        cli_image_print(stdout, argv[0], in.size, &img);
    free(img.main_path);
    cli_unmap_file(&in);
    return rc;
}

static int cli_cmd_help(int argc, char **argv)
{
    if (argc == 0)
        cli_print_help();
    else if (strcmp(argv[0], "build") == 0)
        fputs(cli_build_help, stdout);
    else if (strcmp(argv[0], "run") == 0)
        fputs(cli_run_help, stdout);
    else if (strcmp(argv[0], "inspect") == 0)
        fputs(cli_inspect_help, stdout);
    else if (strcmp(argv[0], "ps") == 0 || strcmp(argv[0], "logs") == 0 ||
             strcmp(argv[0], "stop") == 0 || strcmp(argv[0], "attach") == 0 ||
             strcmp(argv[0], "reload") == 0)
        fputs(cli_instances_help, stdout);
    else
        return cli_usage("help: unknown command '%s'.", argv[0]);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return cli_usage("no command given.");
    const char *cmd = argv[1];
    if (strcmp(cmd, "build") == 0)
        return cli_cmd_build(argc - 2, argv + 2);
    if (strcmp(cmd, "run") == 0)
        return cli_cmd_run(argc - 2, argv + 2);
    if (strcmp(cmd, "inspect") == 0)
        return cli_cmd_inspect(argc - 2, argv + 2);
    if (strcmp(cmd, "ps") == 0)
        return cli_cmd_ps(argc - 2, argv + 2);
    if (strcmp(cmd, "logs") == 0)
        return cli_cmd_logs(argc - 2, argv + 2);
    if (strcmp(cmd, "stop") == 0)
        return cli_cmd_stop(argc - 2, argv + 2);
    if (strcmp(cmd, "attach") == 0)
        return cli_cmd_attach(argc - 2, argv + 2);
    if (strcmp(cmd, "reload") == 0)
        return cli_cmd_reload(argc - 2, argv + 2);
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 ||
        strcmp(cmd, "-h") == 0)
        return cli_cmd_help(argc - 2, argv + 2);
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("lunik %s (%s, image format %u)\n", CLI_VERSION, LUA_RELEASE,
               LUNIK_IMAGE_VERSION);
        return 0;
    }
    if (cmd[0] == '-')
        return cli_usage("unknown option '%s'.", cmd);
    return cli_usage("unknown command '%s'.", cmd);
}
