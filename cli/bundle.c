/* bundle.c: build, check and list bundles (include/lunik/image.h). */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "lunik/image.h"
#include "bundle.h"

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
               "image.h integers are little-endian; so must the host be");
_Static_assert(sizeof(struct lunik_bundle_header) == 24, "bundle header");
_Static_assert(sizeof(struct lunik_bundle_entry) == 32, "bundle entry");

#define CLI_DATA_ALIGN 16u      /* bytes; every file's data starts aligned */

int cli_bundle_contains(const struct cli_bundle *b, const char *path)
{
    for (size_t i = 0; i < b->count; i++)
        if (strcmp(b->files[i].path, path) == 0)
            return 1;
    return 0;
}

int cli_bundle_add(struct cli_bundle *b, const char *path,
                   unsigned char *data, size_t size, uint32_t flags)
{
    if (cli_bundle_contains(b, path)) {
        free(data);
        return -1;
    }
    if (b->count == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->files = cli_xrealloc(b->files, b->cap * sizeof *b->files);
    }
    b->files[b->count++] = (struct cli_bundle_file){
        cli_xstrdup(path), data, size, flags};
    return 0;
}

static int cli_file_cmp(const void *a, const void *b)
{
    return strcmp(((const struct cli_bundle_file *)a)->path,
                  ((const struct cli_bundle_file *)b)->path);
}

void cli_bundle_pack(struct cli_bundle *b, struct cli_buf *out)
{
    qsort(b->files, b->count, sizeof *b->files, cli_file_cmp);
    size_t base = out->len;
    size_t entries = sizeof(struct lunik_bundle_header);
    size_t paths = entries + b->count * sizeof(struct lunik_bundle_entry);
    cli_buf_append(out, NULL, paths);
    for (size_t i = 0; i < b->count; i++)
        cli_buf_append(out, b->files[i].path, strlen(b->files[i].path));
    size_t path_pos = paths;
    for (size_t i = 0; i < b->count; i++) {
        const struct cli_bundle_file *f = &b->files[i];
        struct lunik_bundle_entry e = {0};
        e.path_offset = (uint32_t)path_pos;
        e.path_len = (uint32_t)strlen(f->path);
        e.flags = f->flags;
        path_pos += e.path_len;
        if (f->size > 0) {
            cli_buf_align(out, CLI_DATA_ALIGN);
            e.data_offset = out->len - base;
            e.data_size = f->size;
            cli_buf_append(out, f->data, f->size);
        }
        memcpy(out->data + base + entries + i * sizeof e, &e, sizeof e);
    }
    struct lunik_bundle_header h = {0};
    memcpy(h.magic, LUNIK_BUNDLE_MAGIC, sizeof h.magic);
    h.version = LUNIK_BUNDLE_VERSION;
    h.count = (uint32_t)b->count;
    h.size = out->len - base;
    memcpy(out->data + base, &h, sizeof h);
}

void cli_bundle_free(struct cli_bundle *b)
{
    for (size_t i = 0; i < b->count; i++) {
        free(b->files[i].path);
        free(b->files[i].data);
    }
    free(b->files);
    memset(b, 0, sizeof *b);
}

/* A path as it lies in a bundle (not NUL-terminated). */
struct cli_span {
    const char *s;
    size_t n;
};

static int cli_span_cmp(const void *a, const void *b)
{
    const struct cli_span *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c != 0 ? c : (x->n > y->n) - (x->n < y->n);
}

/* cli_path_ok: absolute, '/'-separated, no empty, "." or ".." component,
 * no trailing '/', no NUL byte, not "/" itself. */
static int cli_path_ok(const char *s, size_t n)
{
    if (n < 2 || s[0] != '/' || s[n - 1] == '/' || memchr(s, 0, n))
        return 0;
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && s[j] != '/')
            j++;
        size_t len = j - i - 1;       /* component s[i+1 .. j) */
        if (len == 0 || (len == 1 && s[i + 1] == '.') ||
            (len == 2 && s[i + 1] == '.' && s[i + 2] == '.'))
            return 0;
        i = j;
    }
    return 1;
}

#define CLI_WHY(...) (snprintf(why, why_len, __VA_ARGS__), -1)

/* cli_check_entry: one entry's bounds, flags and path. */
static int cli_check_entry(const unsigned char *p, size_t n, size_t i,
                           const struct lunik_bundle_entry *e,
                           char *why, size_t why_len)
{
    if (e->flags & ~(uint32_t)(LUNIK_BUNDLE_DIR | LUNIK_BUNDLE_MAIN) ||
        e->reserved != 0)
        return CLI_WHY("bundle entry %zu has unknown flags", i);
    if ((uint64_t)e->path_offset + e->path_len > n)
        return CLI_WHY("bundle entry %zu's path lies outside the bundle", i);
    if (e->data_offset > n || e->data_size > n - e->data_offset)
        return CLI_WHY("bundle entry %zu's data lies outside the bundle", i);
    if ((e->flags & LUNIK_BUNDLE_DIR) &&
        (e->data_size != 0 || (e->flags & LUNIK_BUNDLE_MAIN)))
        return CLI_WHY("bundle entry %zu is a directory with data", i);
    if (!cli_path_ok((const char *)p + e->path_offset, e->path_len))
        return CLI_WHY("bundle entry %zu has a malformed path", i);
    return 0;
}

/* cli_check_tree: sorted paths are unique and no file is also a directory. */
static int cli_check_tree(struct cli_span *paths, const uint32_t *flags,
                          size_t count, char *why, size_t why_len)
{
    for (size_t i = 0; i + 1 < count; i++)
        if (cli_span_cmp(&paths[i], &paths[i + 1]) == 0)
            return CLI_WHY("the bundle holds %.*s twice", (int)paths[i].n,
                           paths[i].s);
    for (size_t i = 0; i < count; i++) {
        if (flags[i] & LUNIK_BUNDLE_DIR)
            continue;
        /* Any path below paths[i] sorts after paths[i] + "/" and before
         * paths[i] + "0" ('/' + 1); look at the first path after it. */
        for (size_t j = i + 1; j < count; j++) {
            if (paths[j].n <= paths[i].n ||
                memcmp(paths[j].s, paths[i].s, paths[i].n) != 0)
                break;
            if (paths[j].s[paths[i].n] == '/')
                return CLI_WHY("%.*s is both a file and a directory",
                               (int)paths[i].n, paths[i].s);
            if (paths[j].s[paths[i].n] > '/')
                break;
        }
    }
    return 0;
}

struct cli_sorted_entry {
    struct cli_span path;
    uint32_t flags;
};

static int cli_sorted_cmp(const void *a, const void *b)
{
    return cli_span_cmp(&((const struct cli_sorted_entry *)a)->path,
                        &((const struct cli_sorted_entry *)b)->path);
}

/* cli_check_entries: every entry, the tree, and the one main entry. */
static int cli_check_entries(const unsigned char *p, size_t n, size_t count,
                             char **main_path, char *why, size_t why_len)
{
    struct cli_sorted_entry *s = cli_xmalloc(count * sizeof *s + 1);
    struct cli_span *paths = cli_xmalloc(count * sizeof *paths + 1);
    uint32_t *flags = cli_xmalloc(count * sizeof *flags + 1);
    size_t mains = 0;
    int rc = 0;
    for (size_t i = 0; i < count && rc == 0; i++) {
        struct lunik_bundle_entry e;
        memcpy(&e, p + sizeof(struct lunik_bundle_header) + i * sizeof e,
               sizeof e);
        rc = cli_check_entry(p, n, i, &e, why, why_len);
        s[i].path = (struct cli_span){(const char *)p + e.path_offset,
                                      e.path_len};
        s[i].flags = e.flags;
        if (rc == 0 && (e.flags & LUNIK_BUNDLE_MAIN) && mains++ == 0) {
            if (e.path_len < 6 || memcmp(s[i].path.s, "/app/", 5) != 0)
                rc = CLI_WHY("the main entry is not under /app");
            else
                *main_path = strndup(s[i].path.s, e.path_len);
        }
    }
    if (rc == 0 && mains != 1)
        rc = CLI_WHY("the bundle has %zu main entries, not 1", mains);
    if (rc == 0) {
        qsort(s, count, sizeof *s, cli_sorted_cmp);
        for (size_t i = 0; i < count; i++)
            paths[i] = s[i].path, flags[i] = s[i].flags;
        rc = cli_check_tree(paths, flags, count, why, why_len);
    }
    if (rc != 0 && mains > 0) {
        free(*main_path);
        *main_path = NULL;
    }
    free(s);
    free(paths);
    free(flags);
    return rc;
}

int cli_bundle_check(const unsigned char *p, size_t n, char **main_path,
                     char *why, size_t why_len)
{
    struct lunik_bundle_header h;
    *main_path = NULL;
    if (n < sizeof h)
        return CLI_WHY("the bundle is shorter than its header");
    memcpy(&h, p, sizeof h);
    if (memcmp(h.magic, LUNIK_BUNDLE_MAGIC, sizeof h.magic) != 0)
        return CLI_WHY("the bundle has no bundle magic");
    if (h.version != LUNIK_BUNDLE_VERSION)
        return CLI_WHY("the bundle has version %" PRIu32 ", not %u",
                       h.version, LUNIK_BUNDLE_VERSION);
    if (h.size != n)
        return CLI_WHY("the bundle says %" PRIu64 " bytes but has %zu",
                       h.size, n);
    if (h.count > (n - sizeof h) / sizeof(struct lunik_bundle_entry))
        return CLI_WHY("the bundle's %" PRIu32 " entries do not fit in it",
                       h.count);
    int rc = cli_check_entries(p, n, h.count, main_path, why, why_len);
    if (rc == 0 && *main_path == NULL)
        return CLI_WHY("out of memory");
    return rc;
}

void cli_bundle_list(FILE *out, const unsigned char *p)
{
    struct lunik_bundle_header h;
    memcpy(&h, p, sizeof h);
    fprintf(out, "  %-5s %10s  %s\n", "flags", "bytes", "path");
    for (uint32_t i = 0; i < h.count; i++) {
        struct lunik_bundle_entry e;
        memcpy(&e, p + sizeof h + i * sizeof e, sizeof e);
        const char *kind = (e.flags & LUNIK_BUNDLE_MAIN) ? "main"
                         : (e.flags & LUNIK_BUNDLE_DIR) ? "dir" : "-";
        fprintf(out, "  %-5s %10" PRIu64 "  %.*s%s\n", kind, e.data_size,
                (int)e.path_len, (const char *)p + e.path_offset,
                (e.flags & LUNIK_BUNDLE_DIR) ? "/" : "");
    }
}
