/* options.c: options of `lunik build` and `lunik run`; memory sizes. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lunik/run.h"
#include "cli.h"

enum cli_opt_id { OPT_I, OPT_FILE, OPT_O, OPT_V, OPT_KERNEL, OPT_MEM,
                  OPT_TARGET, OPT_HELP, OPT_NET, OPT_BUDGET, OPT_STATS,
                  OPT_DETACH, OPT_NAME, OPT_ENV, OPT_ENV_FILE, OPT_PVH,
                  OPT_VMM, OPT_VMM_DIR };

#define FOR_BUILD 0x1u
#define FOR_RUN   0x2u

struct cli_optdef {
    const char *name;           /* as typed, with its dashes */
    int takes_value;
    unsigned commands;          /* FOR_* */
    enum cli_opt_id id;
};

static const struct cli_optdef cli_optdefs[] = {
    {"-I", 1, FOR_BUILD | FOR_RUN, OPT_I},
    {"--file", 1, FOR_BUILD | FOR_RUN, OPT_FILE},
    {"--kernel", 1, FOR_BUILD | FOR_RUN, OPT_KERNEL},
    {"-v", 0, FOR_BUILD | FOR_RUN, OPT_V},
    {"--verbose", 0, FOR_BUILD | FOR_RUN, OPT_V},
    {"-o", 1, FOR_BUILD, OPT_O},
    {"--output", 1, FOR_BUILD, OPT_O},
    {"--mem", 1, FOR_RUN, OPT_MEM},
    {"--budget", 1, FOR_RUN, OPT_BUDGET},
    {"-d", 0, FOR_RUN, OPT_DETACH},
    {"--detach", 0, FOR_RUN, OPT_DETACH},
    {"--name", 1, FOR_RUN, OPT_NAME},
    {"-e", 1, FOR_RUN, OPT_ENV},
    {"--env", 1, FOR_RUN, OPT_ENV},
    {"--env-file", 1, FOR_RUN, OPT_ENV_FILE},
    {"--stats", 0, FOR_RUN, OPT_STATS},
    {"--target", 1, FOR_RUN, OPT_TARGET},
    {"--vmm", 1, FOR_RUN, OPT_VMM},
    {"--vmm-dir", 1, FOR_RUN, OPT_VMM_DIR},
    {"--pvh", 0, FOR_BUILD, OPT_PVH},
    {"--net", 1, FOR_RUN, OPT_NET},
    {"-p", 1, FOR_RUN, OPT_NET},
    {"--ip", 1, FOR_RUN, OPT_NET},
    {"--mac", 1, FOR_RUN, OPT_NET},
    {"-h", 0, FOR_BUILD | FOR_RUN, OPT_HELP},
    {"--help", 0, FOR_BUILD | FOR_RUN, OPT_HELP},
};

int cli_parse_size(const char *s, uint64_t *bytes)
{
    uint64_t n = 0;
    const char *p = s;
    if (!isdigit((unsigned char)*p))
        return -1;
    for (; isdigit((unsigned char)*p); p++) {
        unsigned d = (unsigned)(*p - '0');
        if (n > (UINT64_MAX - d) / 10)
            return -1;
        n = n * 10 + d;
    }
    unsigned shift = 0;
    switch (tolower((unsigned char)*p)) {
    case '\0': break;
    case 'k': shift = 10; break;
    case 'm': shift = 20; break;
    case 'g': shift = 30; break;
    default: return -1;
    }
    if (shift != 0) {
        p++;
        if (strcasecmp(p, "") != 0 && strcasecmp(p, "iB") != 0)
            return -1;
        if (n > (UINT64_MAX >> shift))
            return -1;
    }
    *bytes = n << shift;
    return 0;
}

/*
 * cli_match_option: the definition `arg` names, for either "--name VALUE",
 * "--name=VALUE" or (one-letter options) "-xVALUE"; *inline_value is set to
 * the value's start in the last two forms, else NULL.
 */
static const struct cli_optdef *cli_match_option(const char *arg,
                                                 const char **inline_value)
{
    *inline_value = NULL;
    for (size_t i = 0; i < sizeof cli_optdefs / sizeof cli_optdefs[0]; i++) {
        const struct cli_optdef *d = &cli_optdefs[i];
        size_t n = strlen(d->name);
        if (strncmp(arg, d->name, n) != 0)
            continue;
        if (arg[n] == '\0')
            return d;
        if (d->takes_value && d->name[1] == '-' && arg[n] == '=') {
            *inline_value = arg + n + 1;
            return d;
        }
        if (d->takes_value && d->name[1] != '-') {
            *inline_value = arg + n;
            return d;
        }
    }
    return NULL;
}

/* Add one KEY=VALUE (KEY a C identifier, as a shell variable). */
static int cli_env_add(struct cli_options *opt, const char *kv,
                       const char *from)
{
    const char *eq = strchr(kv, '=');
    int ok = eq != NULL && eq != kv &&
             !(kv[0] >= '0' && kv[0] <= '9');
    for (const char *c = kv; ok && c < eq; c++)
        ok = *c == '_' || (*c >= 'a' && *c <= 'z') ||
             (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9');
    if (!ok)
        return cli_usage("run: %s '%s' is not KEY=VALUE.", from, kv);
    opt->env = cli_xrealloc(opt->env, (opt->env_count + 1) *
                            sizeof *opt->env);
    opt->env[opt->env_count++] = cli_xstrdup(kv);
    return 0;
}

/* --env-file F: KEY=VALUE lines; blank lines and # comments skipped. */
static int cli_env_file(struct cli_options *opt, const char *path)
{
    char line[4096];
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return cli_fail(LUNIK_EXIT_NOINPUT, "--env-file %s: %s", path,
                        strerror(errno));
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] == '\0' || line[0] == '#')
            continue;
        int rc = cli_env_add(opt, line, "--env-file line");
        if (rc != 0) {
            fclose(f);
            return rc;
        }
    }
    fclose(f);
    return 0;
}

static int cli_apply_option(const char *command, const struct cli_optdef *d,
                            const char *value, struct cli_options *opt)
{
    switch (d->id) {
    case OPT_I:
        opt->includes[opt->include_count++] = value;
        break;
    case OPT_FILE:
        opt->files[opt->file_count++] = value;
        break;
    case OPT_O:
        opt->output = value;
        break;
    case OPT_V:
        opt->verbose = 1;
        break;
    case OPT_KERNEL:
        opt->kernel = value;
        break;
    case OPT_HELP:
        opt->help = 1;
        break;
    case OPT_MEM:
        if (cli_parse_size(value, &opt->mem_size) != 0)
            return cli_fail(LUNIK_EXIT_USAGE, "--mem '%s' is not a size "
                            "(bytes, or a number with K, M or G).", value);
        break;
    case OPT_TARGET:
        if (strcmp(value, "kvm") != 0 && strcmp(value, "hosted") != 0 &&
            strcmp(value, "auto") != 0)
            return cli_usage("%s: unknown target '%s' (kvm, hosted or "
                             "auto).", command, value);
        opt->target = value;
        break;
    case OPT_VMM:
        if (strcmp(value, "lunik") != 0 && strcmp(value, "qemu") != 0 &&
            strcmp(value, "firecracker") != 0)
            return cli_usage("%s: unknown VMM '%s' (lunik, qemu or "
                             "firecracker).", command, value);
        opt->vmm = value;
        break;
    case OPT_VMM_DIR:
        opt->vmm_dir = value;
        break;
    case OPT_PVH:
        opt->pvh = 1;
        break;
    case OPT_NET:
        return cli_net_option(d->name, value, opt);
    case OPT_BUDGET: {
        char *end;
        double s = strtod(value, &end);
        if (end == value || *end != '\0' || !(s > 0) || s > 1e9)
            return cli_fail(LUNIK_EXIT_USAGE, "--budget '%s' is not a "
                            "number of seconds > 0.", value);
        opt->budget = value;
        break;
    }
    case OPT_STATS:
        opt->stats = 1;
        break;
    case OPT_DETACH:
        opt->detach = 1;
        break;
    case OPT_NAME:
        if (!cli_instance_name_ok(value))
            return cli_usage("%s: --name '%s' is not a name (1..64 of "
                             "A-Z a-z 0-9 _ . -).", command, value);
        opt->name = value;
        break;
    case OPT_ENV:
        return cli_env_add(opt, value, "-e");
    case OPT_ENV_FILE:
        return cli_env_file(opt, value);
    }
    return 0;
}

int cli_parse_options(const char *command, int argc, char **argv,
                      struct cli_options *opt)
{
    unsigned mask = strcmp(command, "run") == 0 ? FOR_RUN : FOR_BUILD;
    memset(opt, 0, sizeof *opt);
    opt->mem_size = CLI_DEFAULT_MEM;
    /* LUNIK_BUDGET: the default of --budget (a test suite on a slow
     * machine sets it; --budget and lunik.budget still win). */
    const char *eb = getenv("LUNIK_BUDGET");
    if (eb && *eb) {
        char *end;
        double b = strtod(eb, &end);
        if (end != eb && *end == '\0' && b > 0 && b <= 1e9)
            opt->budget = eb;
    }
    opt->target = "auto";
    opt->vmm = "lunik";
    /* Every -I or --file takes at least one argument: argc bounds both. */
    opt->includes = cli_xmalloc(sizeof(char *) * (size_t)(argc + 1));
    opt->files = cli_xmalloc(sizeof(char *) * (size_t)(argc + 1));
    int i = 0;
    for (; i < argc; i++) {
        const char *arg = argv[i], *value;
        if (strcmp(arg, "--") == 0) {
            i++;
            break;
        }
        if (arg[0] != '-' || arg[1] == '\0') {
            if (opt->input != NULL)
                return cli_usage("%s: unexpected argument '%s'%s.", command,
                                 arg, mask == FOR_RUN ? " (script arguments "
                                 "go after '--')" : "");
            opt->input = arg;
            continue;
        }
        const struct cli_optdef *d = cli_match_option(arg, &value);
        if (d == NULL || !(d->commands & mask))
            return cli_usage("%s: unknown option '%s'.", command, arg);
        if (d->takes_value && value == NULL) {
            if (i + 1 >= argc)
                return cli_usage("%s: option '%s' needs a value.", command,
                                 arg);
            value = argv[++i];
        }
        int rc = cli_apply_option(command, d, value, opt);
        if (rc != 0)
            return rc;
    }
    if (opt->help)
        return 0;
    if (i < argc && mask != FOR_RUN)
        return cli_usage("%s: takes no script arguments after '--'.",
                         command);
    opt->argc = argc - i;
    opt->argv = argv + i;
    if (opt->input == NULL)
        return cli_usage("%s: no app given (app.lua%s).", command,
                         mask == FOR_RUN ? " or app.img" : "");
    return mask == FOR_RUN ? cli_net_finish(opt) : 0;
}

void cli_free_options(struct cli_options *opt)
{
    free(opt->includes);
    free(opt->files);
    opt->includes = opt->files = NULL;
    for (size_t i = 0; i < opt->env_count; i++)
        free((char *)opt->env[i]);
    free(opt->env);
    opt->env = NULL;
    opt->env_count = 0;
}
