/* spec.c: a bundle's config.json (OCI runtime-spec "config") as lunik-oci needs it. */
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lunik/image.h"
#include "oci.h"

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A JSON array of strings as a NULL-terminated vector from index `from`;
 * NULL with *bad set when an element is no string. */
static char **string_vector(json_t *a, size_t from, int *bad)
{
    size_t n = json_is_array(a) ? json_array_size(a) : 0;
    char **v = calloc(n + 1, sizeof *v);

    if (v == NULL) {
        *bad = 1;
        return NULL;
    }
    for (size_t i = from, k = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (s == NULL) {
            *bad = 1;
            return v;
        }
        v[k++] = strdup(s);
    }
    return v;
}

/* Is the file at path a lunik image (its magic)? */
static int is_lunik_image(const char *path)
{
    char magic[8];
    FILE *f = fopen(path, "rb");
    int ok = f && fread(magic, 1, sizeof magic, f) == sizeof magic &&
             memcmp(magic, LUNIK_IMAGE_MAGIC, sizeof magic) == 0;

    if (f)
        fclose(f);
    return ok;
}

int oci_spec_load(const char *bundle, struct oci_spec *spec)
{
    char path[PATH_MAX + 64], abs[PATH_MAX];
    json_error_t jerr;
    json_t *cfg, *proc, *args, *linux_, *ns;
    int bad = 0;

    memset(spec, 0, sizeof *spec);
    if (realpath(bundle, abs) == NULL)
        return oci_error("bundle %s: %s", bundle, strerror(errno));
    spec->bundle = strdup(abs);
    snprintf(path, sizeof path, "%s/config.json", abs);
    cfg = json_load_file(path, 0, &jerr);
    if (cfg == NULL)
        return oci_error("%s: %s%s (line %d)", path,
                         errno == ENOENT ? "no such file: " : "",
                         jerr.text, jerr.line);
    if (!json_is_object(cfg)) {
        json_decref(cfg);
        return oci_error("%s: not a JSON object", path);
    }
    const char *version = json_string_value(json_object_get(cfg,
                                                            "ociVersion"));
    if (version == NULL || strncmp(version, "1.", 2) != 0) {
        oci_error("%s: ociVersion %s is not 1.x", path,
                  version ? version : "(missing)");
        json_decref(cfg);
        return -1;
    }
    const char *root = json_string_value(
        json_object_get(json_object_get(cfg, "root"), "path"));
    if (root == NULL) {
        json_decref(cfg);
        return oci_error("%s: no root.path", path);
    }
    if (snprintf(path, sizeof path, "%s%s%s", root[0] == '/' ? "" : abs,
                 root[0] == '/' ? "" : "/", root) >= (int)sizeof path) {
        json_decref(cfg);
        return oci_error("%s/config.json: root.path is too long", abs);
    }
    spec->rootfs = strdup(path);

    proc = json_object_get(cfg, "process");
    args = json_object_get(proc, "args");
    const char *arg0 = json_string_value(json_array_get(args, 0));
    if (!json_is_object(proc) || arg0 == NULL) {
        json_decref(cfg);
        return oci_error("%s/config.json: no process.args", abs);
    }
    if (snprintf(path, sizeof path, "%s/%s", spec->rootfs, arg0) >=
        (int)sizeof path) {
        json_decref(cfg);
        return oci_error("%s/config.json: process.args[0] is too long", abs);
    }
    if (!is_lunik_image(path)) {
        oci_error("%s in the container's root is not a lunik image (build "
                  "one with lunik build; docs/oci.md)", arg0);
        json_decref(cfg);
        return -1;
    }
    spec->image = strdup(path);
    spec->args = string_vector(args, 1, &bad);
    spec->env = string_vector(json_object_get(proc, "env"), 0, &bad);
    spec->terminal = json_is_true(json_object_get(proc, "terminal"));
    if (bad) {
        json_decref(cfg);
        return oci_error("%s/config.json: process.args and process.env "
                         "must hold strings", abs);
    }

    linux_ = json_object_get(cfg, "linux");
    json_t *limit = json_object_get(json_object_get(json_object_get(
        linux_, "resources"), "memory"), "limit");
    if (json_is_integer(limit) && json_integer_value(limit) > 0)
        spec->memory_limit = (uint64_t)json_integer_value(limit);
    size_t i;
    json_array_foreach(json_object_get(linux_, "namespaces"), i, ns) {
        const char *type = json_string_value(json_object_get(ns, "type"));
        if (type == NULL || strcmp(type, "network") != 0)
            continue;
        spec->netns_path = dup_or_null(
            json_string_value(json_object_get(ns, "path")));
        spec->netns_new = spec->netns_path == NULL;
    }
    json_t *ann = json_object_get(cfg, "annotations");
    const char *target = json_string_value(json_object_get(ann,
                                                           "org.lunik.target"));
    if (target && strcmp(target, "kvm") && strcmp(target, "hosted") &&
        strcmp(target, "auto")) {
        oci_error("annotation org.lunik.target is %s, not kvm, hosted or "
                  "auto", target);
        json_decref(cfg);
        return -1;
    }
    spec->target = strdup(target ? target : "auto");
    spec->annotations_json = json_is_object(ann) ?
        json_dumps(ann, JSON_COMPACT) : strdup("{}");
    json_decref(cfg);
    return 0;
}

static void free_vector(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void oci_spec_free(struct oci_spec *spec)
{
    free(spec->bundle);
    free(spec->rootfs);
    free(spec->image);
    free_vector(spec->args);
    free_vector(spec->env);
    free(spec->netns_path);
    free(spec->annotations_json);
    free(spec->target);
    memset(spec, 0, sizeof *spec);
}
