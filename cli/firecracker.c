/* firecracker.c: `lunik run --vmm firecracker`: Firecracker's JSON config for the PVH ELF, and running it. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "pvh.h"

#define FC_DEFAULT "firecracker"

/* s as a JSON string body: '"' and '\' escaped, control bytes as \u00XX
 * (RFC 8259 section 7). */
static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}

/*
 * The config Firecracker's --config-file takes (Firecracker's
 * docs/getting-started.md and its API's request bodies: boot-source,
 * drives, machine-config, network-interfaces). Firecracker appends
 * virtio_mmio.device= for each device to boot_args itself.
 */
static int write_config(const char *path, const char *kernel,
                        const char *boot_args,
                        const struct cli_options *opt)
{
    FILE *f = fopen(path, "w");
    const uint8_t *m = opt->net.mac;

    if (f == NULL)
        return -1;
    fputs("{\n  \"boot-source\": {\n    \"kernel_image_path\": ", f);
    json_str(f, kernel);
    fputs(",\n    \"boot_args\": ", f);
    json_str(f, boot_args);
    fputs("\n  },\n  \"drives\": [],\n", f);
    fprintf(f, "  \"machine-config\": {\n    \"vcpu_count\": 1,\n"
            "    \"mem_size_mib\": %llu,\n    \"smt\": false\n  },\n",
            (unsigned long long)((opt->mem_size + (1u << 20) - 1) >> 20));
    fputs("  \"network-interfaces\": [", f);
    if (opt->net.kind == LUNIK_NET_TAP) {
        fprintf(f, "\n    {\n      \"iface_id\": \"eth0\",\n"
                "      \"guest_mac\": \"%02x:%02x:%02x:%02x:%02x:%02x\",\n"
                "      \"host_dev_name\": ", m[0], m[1], m[2], m[3], m[4], m[5]);
        json_str(f, opt->net.tap_name);
        fputs("\n    }\n  ", f);
    }
    fputs("]\n}\n", f);
    return fclose(f);
}

int cli_firecracker_run(const struct cli_options *opt,
                        const unsigned char *elf, size_t n, int argc,
                        char **argv)
{
    char tmpl[] = "/tmp/lunik-fc-XXXXXX";
    const char *dir = opt->vmm_dir;
    const char *name = getenv("LUNIK_FIRECRACKER");
    int rc;

    if (opt->net.kind == LUNIK_NET_USER)
        return cli_usage("run: Firecracker has no user-mode networking "
                         "(-p, --net user): use --net tap:NAME.");
    if (dir == NULL && (dir = mkdtemp(tmpl)) == NULL)
        return cli_fail(LUNIK_EXIT_CANTCREAT, "cannot make a directory for "
                        "Firecracker's files: %s", strerror(errno));
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return cli_fail(LUNIK_EXIT_CANTCREAT, "%s: %s", dir, strerror(errno));
    char *kernel = cli_xasprintf("%s/app.elf", dir);
    char *config = cli_xasprintf("%s/config.json", dir);
    char *args = cli_pvh_cmdline(opt, "firecracker", argc, argv);
    FILE *k = fopen(kernel, "wb");
    if (k == NULL || fwrite(elf, 1, n, k) != n || fclose(k) != 0 ||
        write_config(config, kernel, args, opt) != 0) {
        rc = cli_fail(LUNIK_EXIT_CANTCREAT, "cannot write %s: %s", dir,
                      strerror(errno));
        goto out;
    }

    char fc[4096];
    const char *want = name && *name ? name : FC_DEFAULT;
    int found = 0;
    if (strchr(want, '/')) {
        found = access(want, X_OK) == 0;
        snprintf(fc, sizeof fc, "%s", want);
    } else {
        const char *path = getenv("PATH");
        while (path && *path && !found) {
            const char *c = strchr(path, ':');
            int len = c ? (int)(c - path) : (int)strlen(path);
            snprintf(fc, sizeof fc, "%.*s/%s", len, path, want);
            found = access(fc, X_OK) == 0;
            path += len + (c != NULL);
        }
    }
    if (!found) {
        rc = cli_fail(LUNIK_EXIT_OSERR, "%s is not on PATH: its config is "
                      "%s (on a Firecracker host: firecracker --no-api "
                      "--config-file %s)", want, config, config);
        goto out;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        execl(fc, fc, "--no-api", "--config-file", config, (char *)NULL);
        fprintf(stderr, "lunik: cannot run %s: %s\n", fc, strerror(errno));
        _exit(LUNIK_EXIT_OSERR);
    }
    int ws = 0;
    while (pid > 0 && waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    if (pid < 0)
        rc = cli_fail(LUNIK_EXIT_OSERR, "cannot start %s: %s", fc,
                      strerror(errno));
    else if (WIFEXITED(ws))
        rc = WEXITSTATUS(ws);
    else
        rc = cli_fail(LUNIK_EXIT_OSERR, "%s was stopped by signal %d", fc,
                      WTERMSIG(ws));
    if (opt->vmm_dir == NULL) {             /* our temporary files */
        unlink(kernel);
        unlink(config);
        rmdir(dir);
    }
out:
    free(kernel);
    free(config);
    free(args);
    return rc;
}
