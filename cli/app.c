/* app.c: an app, its required modules and --file files, as a bundle. */
#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lunik/image.h"
#include "lunik/run.h"
#include "app.h"
#include "bundle.h"
#include "compile.h"
#include "requires.h"

/* One place to look for modules: a package.path template ('?' for the
 * module name with dots as slashes), as opened and as shown in chunk names. */
struct cli_template {
    char *fs;                   /* "lib/?.lua": opened from the current dir */
    char *label;                /* "./?.lua": what tracebacks show */
};

/* The state of one build. */
struct cli_builder {
    const struct cli_options *opt;
    char *app_dir;              /* the app's directory as typed: "" or "d/" */
    char *app_real;             /* realpath(3) of the app's directory */
    struct cli_template *templates;
    size_t template_count;
    char **modules;             /* names seen, in order; a queue */
    size_t module_count;
    struct cli_bundle bundle;
};

/* Names the runtime provides itself: never searched for on disk. */
static const char *const cli_builtin_modules[] = {
    "_G", "coroutine", "debug", "io", "math", "os", "package", "string",
    "table", "utf8", "lunik", NULL,
};

/* cli_gsub: s with every '?' replaced by name. */
static char *cli_gsub(const char *s, const char *name)
{
    struct cli_buf b = {0};
    for (; *s; s++) {
        if (*s == '?')
            cli_buf_append(&b, name, strlen(name));
        else
            cli_buf_append(&b, s, 1);
    }
    cli_buf_append(&b, "", 1);
    return (char *)b.data;
}

static void cli_add_template(struct cli_builder *b, char *fs, char *label)
{
    b->templates = cli_xrealloc(b->templates, (b->template_count + 1) *
                                sizeof *b->templates);
    b->templates[b->template_count++] = (struct cli_template){fs, label};
}

/* cli_add_dir_templates: DIR/?.lua and DIR/?/init.lua, dir ending in '/'
 * or empty (the current directory). */
static void cli_add_dir_templates(struct cli_builder *b, const char *dir,
                                  const char *label_dir)
{
    cli_add_template(b, cli_xasprintf("%s?.lua", dir),
                     cli_xasprintf("%s?.lua", label_dir));
    cli_add_template(b, cli_xasprintf("%s?/init.lua", dir),
                     cli_xasprintf("%s?/init.lua", label_dir));
}

/* cli_add_path_templates: each template of a package.path; relative ones
 * are taken from the app's directory, where the program runs. */
static void cli_add_path_templates(struct cli_builder *b, const char *path)
{
    char *copy = cli_xstrdup(path), *save = NULL;
    for (char *t = strtok_r(copy, ";", &save); t != NULL;
         t = strtok_r(NULL, ";", &save)) {
        const char *rel = strncmp(t, "./", 2) == 0 ? t + 2 : t;
        char *fs = t[0] == '/' ? cli_xstrdup(t)
                               : cli_xasprintf("%s%s", b->app_dir, rel);
        cli_add_template(b, fs, cli_xstrdup(t));
    }
    free(copy);
}

static void cli_init_search(struct cli_builder *b)
{
    for (size_t i = 0; i < b->opt->include_count; i++) {
        const char *dir = b->opt->includes[i];
        size_t n = strlen(dir);
        char *d = cli_xasprintf("%s%s", dir,
                                n > 0 && dir[n - 1] != '/' ? "/" : "");
        cli_add_dir_templates(b, d, d);
        free(d);
    }
    cli_add_dir_templates(b, b->app_dir, "./");
    char *path = cli_lua_path();
    cli_add_path_templates(b, path);
    free(path);
}

static int cli_readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
           access(path, R_OK) == 0;
}

/*
 * cli_find_module: the first template where the module `slashed` (its name
 * with dots as slashes) is a readable file. Returns its index and sets *fs
 * (a new string), or -1.
 */
static long cli_find_module(const struct cli_builder *b, const char *slashed,
                            char **fs)
{
    for (size_t i = 0; i < b->template_count; i++) {
        char *path = cli_gsub(b->templates[i].fs, slashed);
        if (cli_readable_file(path)) {
            *fs = path;
            return (long)i;
        }
        free(path);
    }
    return -1;
}

/* cli_is_init_template: the template names a package's init.lua. */
static int cli_is_init_template(const char *t)
{
    const char *q = strrchr(t, '?');
    return q != NULL && strcmp(q + 1, "/init.lua") == 0;
}

static void cli_found_require(void *ctx, const char *name, size_t n)
{
    struct cli_builder *b = ctx;
    for (size_t i = 0; cli_builtin_modules[i] != NULL; i++)
        if (strlen(cli_builtin_modules[i]) == n &&
            memcmp(cli_builtin_modules[i], name, n) == 0)
            return;
    for (size_t i = 0; i < b->module_count; i++)
        if (strlen(b->modules[i]) == n && memcmp(b->modules[i], name, n) == 0)
            return;
    b->modules = cli_xrealloc(b->modules,
                              (b->module_count + 1) * sizeof *b->modules);
    b->modules[b->module_count++] = cli_xstrndup(name, n);
}

/* cli_add_lua: compile src and add it at bundle path bpath; scan it. */
static int cli_add_lua(struct cli_builder *b, const unsigned char *src,
                       size_t len, const char *chunkname, const char *display,
                       const char *bpath, uint32_t flags)
{
    struct cli_buf code = {0};
    int rc = cli_compile_lua(src, len, chunkname, display, &code);
    if (rc != 0)
        return rc;
    cli_scan_requires((const char *)src, len, cli_found_require, b);
    cli_bundle_add(&b->bundle, bpath, code.data, code.len, flags);
    return 0;
}

/* cli_add_module: find, compile and add one required module, if found. */
static int cli_add_module(struct cli_builder *b, const char *name)
{
    char *slashed = cli_xstrdup(name), *fs = NULL;
    for (char *p = slashed; *p; p++)
        if (*p == '.')
            *p = '/';
    long t = cli_find_module(b, slashed, &fs);
    int rc = 0;
    if (t < 0) {
        if (b->opt->verbose)
            cli_note("module %s: not found, skipped", name);
        free(slashed);
        return 0;
    }
    const struct cli_template *tp = &b->templates[t];
    char *label = cli_gsub(tp->label, slashed);
    char *chunkname = cli_xasprintf("@%s", label);
    char *bpath = cli_xasprintf("/lib/lua/%s%s", slashed,
                                cli_is_init_template(tp->fs) ? "/init.lua"
                                                             : ".lua");
    unsigned char *src;
    size_t len;
    int e = cli_read_file(fs, &src, &len);
    if (e != 0)
        rc = cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", fs,
                      cli_file_error(e));
    else {
        if (b->opt->verbose)
            cli_note("module %s: %s -> %s", name, fs, bpath);
        rc = cli_add_lua(b, src, len, chunkname, fs, bpath, 0);
        free(src);
    }
    free(slashed);
    free(fs);
    free(label);
    free(chunkname);
    free(bpath);
    return rc;
}

/* cli_add_modules: every module required by what is bundled, transitively
 * (modules added while scanning join the end of the queue). */
static int cli_add_modules(struct cli_builder *b)
{
    for (size_t i = 0; i < b->module_count; i++) {
        int rc = cli_add_module(b, b->modules[i]);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/*
 * cli_resolve: the absolute path of path with every directory above its
 * last component resolved (realpath(3)), the last component kept as named
 * (a symbolic link in the app's directory stays there). NULL with errno.
 */
static char *cli_resolve(const char *path)
{
    char *d = cli_xstrdup(path), *f = cli_xstrdup(path), *out = NULL;
    const char *base = basename(f);
    if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
        strcmp(base, "/") == 0)
        out = realpath(path, NULL);
    else {
        char *dir = realpath(dirname(d), NULL);
        if (dir != NULL)
            out = cli_xasprintf("%s%s%s", dir,
                                strcmp(dir, "/") == 0 ? "" : "/", base);
        free(dir);
    }
    free(d);
    free(f);
    return out;
}

/* cli_relative_to_app: path's place below the app's directory ("" for the
 * directory itself): a new string, or NULL when it lies outside. */
static char *cli_relative_to_app(const struct cli_builder *b,
                                 const char *path)
{
    char *abs = cli_resolve(path), *rel = NULL;
    if (abs == NULL)
        return NULL;
    size_t n = strlen(b->app_real);
    if (strcmp(b->app_real, "/") == 0)
        rel = cli_xstrdup(abs + 1);
    else if (strncmp(abs, b->app_real, n) == 0 &&
             (abs[n] == '\0' || abs[n] == '/'))
        rel = cli_xstrdup(abs + n + (abs[n] == '/'));
    free(abs);
    return rel;
}

static int cli_add_raw_file(struct cli_builder *b, const char *fs,
                            const char *bpath)
{
    unsigned char *data;
    size_t size;
    int e = cli_read_file(fs, &data, &size);
    if (e != 0)
        return cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", fs,
                        cli_file_error(e));
    if (cli_bundle_add(&b->bundle, bpath, data, size, 0) != 0 &&
        b->opt->verbose)
        cli_note("%s: %s is already bundled, skipped", fs, bpath);
    return 0;
}

/* The directories being walked, innermost last: a link back to one of them
 * would loop forever and is skipped. */
struct cli_walk {
    dev_t dev;
    ino_t ino;
    const struct cli_walk *up;
};

static int cli_add_tree(struct cli_builder *b, const char *fs,
                        const char *bpath, const struct cli_walk *up);

/* cli_add_entry: one name found in a --file directory. */
static int cli_add_entry(struct cli_builder *b, const char *fs,
                         const char *bpath, const struct cli_walk *up)
{
    struct stat st;
    if (stat(fs, &st) != 0)
        return cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", fs, strerror(errno));
    if (S_ISREG(st.st_mode))
        return cli_add_raw_file(b, fs, bpath);
    if (!S_ISDIR(st.st_mode)) {
        if (b->opt->verbose)
            cli_note("%s: not a file or directory, skipped", fs);
        return 0;
    }
    for (const struct cli_walk *w = up; w != NULL; w = w->up)
        if (w->dev == st.st_dev && w->ino == st.st_ino) {
            if (b->opt->verbose)
                cli_note("%s: a link to a directory above, skipped", fs);
            return 0;
        }
    struct cli_walk here = {st.st_dev, st.st_ino, up};
    return cli_add_tree(b, fs, bpath, &here);
}

static int cli_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cli_add_tree(struct cli_builder *b, const char *fs,
                        const char *bpath, const struct cli_walk *up)
{
    DIR *d = opendir(fs);
    if (d == NULL)
        return cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", fs, strerror(errno));
    char **names = NULL;
    size_t count = 0;
    for (struct dirent *de; (de = readdir(d)) != NULL;) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        names = cli_xrealloc(names, (count + 1) * sizeof *names);
        names[count++] = cli_xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, count, sizeof *names, cli_name_cmp);
    if (count == 0 && strcmp(bpath, "/app") != 0)
        cli_bundle_add(&b->bundle, bpath, NULL, 0, LUNIK_BUNDLE_DIR);
    int rc = 0;
    for (size_t i = 0; i < count; i++) {
        if (rc == 0) {
            char *f = cli_xasprintf("%s/%s", fs, names[i]);
            char *p = cli_xasprintf("%s/%s", bpath, names[i]);
            rc = cli_add_entry(b, f, p, up);
            free(f);
            free(p);
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

/* cli_add_file_arg: one --file PATH, a file or a directory tree. */
static int cli_add_file_arg(struct cli_builder *b, const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", path, strerror(errno));
    char *rel = cli_relative_to_app(b, path);
    if (rel == NULL)
        return cli_usage("--file %s is outside the app's directory %s.",
                         path, b->app_real);
    char *bpath = rel[0] ? cli_xasprintf("/app/%s", rel)
                         : cli_xstrdup("/app");
    int rc;
    if (S_ISDIR(st.st_mode)) {
        struct cli_walk top = {st.st_dev, st.st_ino, NULL};
        char *dir = cli_xstrdup(path);
        for (size_t n = strlen(dir); n > 1 && dir[n - 1] == '/'; n--)
            dir[n - 1] = '\0';                 /* "data/" + "/x" */
        rc = cli_add_tree(b, dir, bpath, &top);
        free(dir);
    } else
        rc = cli_add_entry(b, path, bpath, NULL);
    free(rel);
    free(bpath);
    return rc;
}

/* cli_init_builder: the app's directory, as typed and resolved. */
static int cli_init_builder(struct cli_builder *b,
                            const struct cli_options *opt)
{
    memset(b, 0, sizeof *b);
    b->opt = opt;
    const char *slash = strrchr(opt->input, '/');
    b->app_dir = cli_xstrndup(opt->input,
                              slash ? (size_t)(slash - opt->input) + 1 : 0);
    b->app_real = realpath(b->app_dir[0] ? b->app_dir : ".", NULL);
    if (b->app_real == NULL)
        return cli_fail(LUNIK_EXIT_NOINPUT, "%s: %s", opt->input,
                        strerror(errno));
    cli_init_search(b);
    return 0;
}

static void cli_free_builder(struct cli_builder *b)
{
    for (size_t i = 0; i < b->template_count; i++) {
        free(b->templates[i].fs);
        free(b->templates[i].label);
    }
    for (size_t i = 0; i < b->module_count; i++)
        free(b->modules[i]);
    free(b->templates);
    free(b->modules);
    free(b->app_dir);
    free(b->app_real);
    cli_bundle_free(&b->bundle);
}

int cli_build_bundle(const struct cli_options *opt, const unsigned char *src,
                     size_t len, struct cli_buf *out, char **main_rel)
{
    struct cli_builder b;
    int rc = cli_init_builder(&b, opt);
    const char *slash = strrchr(opt->input, '/');
    const char *name = slash ? slash + 1 : opt->input;
    char *chunkname = cli_xasprintf("@%s", name);
    char *bpath = cli_xasprintf("/app/%s", name);
    if (rc == 0)
        rc = cli_add_lua(&b, src, len, chunkname, opt->input, bpath,
                         LUNIK_BUNDLE_MAIN);
    if (rc == 0)
        rc = cli_add_modules(&b);
    for (size_t i = 0; rc == 0 && i < opt->file_count; i++)
        rc = cli_add_file_arg(&b, opt->files[i]);
    if (rc == 0) {
        cli_bundle_pack(&b.bundle, out);
        *main_rel = cli_xstrdup(name);
    }
    free(chunkname);
    free(bpath);
    cli_free_builder(&b);
    return rc;
}
