/* main.c: lunik-oci's command line: runc's global options and commands, and its error log. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "oci.h"

static FILE *log_file;
static int log_json;

void oci_log_open(const char *path, int json)
{
    log_json = json;
    if (path && *path)
        log_file = fopen(path, "a");
}

int oci_error(const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "lunik-oci: %s\n", msg);
    if (log_file) {
        char when[40];
        time_t now = time(NULL);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
        if (log_json) {
            for (char *p = msg; *p; p++)        /* JSON strings are UTF-8 */
                if ((unsigned char)*p >= 0x80 || (unsigned char)*p < 0x20)
                    *p = '?';
            json_t *o = json_pack("{s:s, s:s, s:s}", "level", "error",
                                  "msg", msg, "time", when);
            char *line = o ? json_dumps(o, JSON_COMPACT) : NULL;
            if (line)
                fprintf(log_file, "%s\n", line);
            free(line);
            json_decref(o);
        } else {
            fprintf(log_file, "%s error: %s\n", when, msg);
        }
        fflush(log_file);
    }
    return -1;
}

/* features: what this runtime supports (runtime-spec features.md). */
static int oci_cmd_features(void)
{
    printf("{\n"
           "  \"ociVersionMin\": \"1.0.0\",\n"
           "  \"ociVersionMax\": \"%s\",\n"
           "  \"hooks\": [],\n"
           "  \"mountOptions\": [],\n"
           "  \"linux\": {\n"
           "    \"namespaces\": [\"network\"],\n"
           "    \"capabilities\": [],\n"
           "    \"cgroup\": {\"v1\": false, \"v2\": false, "
           "\"systemd\": false, \"systemdUser\": false},\n"
           "    \"seccomp\": {\"enabled\": false},\n"
           "    \"apparmor\": {\"enabled\": false},\n"
           "    \"selinux\": {\"enabled\": false}\n"
           "  },\n"
           "  \"annotations\": {\n"
           "    \"org.lunik.runtime\": \"a lunik image in a KVM VM (or a "
           "process where /dev/kvm does not open)\"\n"
           "  }\n"
           "}\n", OCI_SPEC_VERSION);
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: lunik-oci [--root DIR] [--log FILE] [--log-format "
            "text|json] COMMAND ...\n"
            "  create [--bundle DIR] [--pid-file FILE] [--console-socket "
            "SOCK] ID\n"
            "  start ID | state ID | kill ID [SIGNAL] | "
            "delete [--force] ID\n"
            "  features | --version\n");
    return 2;
}

int main(int argc, char **argv)
{
    const char *log_path = NULL;
    int json = 0, i = 1;

    /* Global options (runc's); those lunik-oci has no use for are taken
     * and ignored, so that podman and containerd may pass them. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        const char *v = strchr(a, '=');
        size_t n = v ? (size_t)(v - a) : strlen(a);
        int valued = (n == 6 && !strncmp(a, "--root", n)) ||
                     (n == 5 && !strncmp(a, "--log", n)) ||
                     (n == 12 && !strncmp(a, "--log-format", n)) ||
                     (n == 10 && !strncmp(a, "--criu", n)) ||
                     (n == 10 && !strncmp(a, "--rootless", n));
        if (!strcmp(a, "--version") || !strcmp(a, "-v")) {
            printf("lunik-oci version 0.1\nspec: %s\n", OCI_SPEC_VERSION);
            return 0;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h"))
            return usage(), 0;
        if (!valued)
            continue;                   /* --debug, --systemd-cgroup, ... */
        if (!v && i + 1 >= argc)
            return usage();
        v = v ? v + 1 : argv[++i];
        if (n == 6)
            oci_root = v;
        else if (n == 5)
            log_path = v;
        else if (n == 12)
            json = strcmp(v, "json") == 0;
    }
    oci_log_open(log_path, json);
    if (i >= argc)
        return usage();
    const char *cmd = argv[i++];
    int rest = argc - i;
    char **args = argv + i;
    if (!strcmp(cmd, "create"))
        return oci_cmd_create(rest, args);
    if (!strcmp(cmd, "start"))
        return oci_cmd_start(rest, args);
    if (!strcmp(cmd, "state"))
        return oci_cmd_state(rest, args);
    if (!strcmp(cmd, "kill"))
        return oci_cmd_kill(rest, args);
    if (!strcmp(cmd, "delete"))
        return oci_cmd_delete(rest, args);
    if (!strcmp(cmd, "features"))
        return oci_cmd_features();
    oci_error("unknown command %s (lunik-oci runs lunik images: create, "
              "start, state, kill, delete, features)", cmd);
    return 1;
}
