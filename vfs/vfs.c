/* vfs.c: the in-memory file tree of vfs.h: read-only bundle + writable /tmp. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lunik/image.h"
#include "lunik/platform.h"
#include "lunik/vfs.h"

#define VFS_PATH_MAX 4096       /* bytes with the NUL, as Linux PATH_MAX */
#define VFS_NAME_MAX 255        /* bytes per component, as Linux NAME_MAX */

/*
 * A node is a directory or a regular file. Bundle nodes (ro) point into the
 * bundle; /tmp nodes own their data. A node is freed when it is neither
 * linked into the tree nor referenced (open handles, working directory).
 * Invariant: a directory's kids are sorted by name (strcmp) and unique.
 */
struct vfs_node {
    struct vfs_node *parent;    /* the root is its own parent */
    uint32_t mode;              /* S_IFDIR or S_IFREG | permission bits */
    uint8_t ro;                 /* 1 for the bundle (and the root) */
    uint8_t linked;             /* 1 while the node is in the tree */
    uint8_t explicit_entry;     /* bundle: named by an entry of its own */
    uint32_t refs;              /* open handles + working directory */
    uint64_t ino;
    uint64_t mtime_ns;
    struct vfs_node **kids;     /* directory: children, sorted */
    size_t nkids, kids_cap;
    const uint8_t *rodata;      /* bundle file: its bytes */
    uint8_t *data;              /* /tmp file: its bytes (size used) */
    uint64_t size, cap;
    char name[];                /* NUL-terminated; "" for the root */
};

/* An open file description: node, offset, O_* flags, reference count. */
struct vfs_file {
    struct vfs_node *node;      /* NULL: the slot is free */
    int64_t off;
    int flags;
    uint32_t refs;
};

static struct vfs_node *vfs_root;
static struct vfs_node *vfs_tmp;
static struct vfs_node *vfs_cwd;
static char *vfs_main;
static struct vfs_file *vfs_files;
static size_t vfs_nfiles;
static uint64_t vfs_next_ino = 1;

/* ---------------------------------------------------------------- nodes */

static struct vfs_node *node_new(const char *name, size_t len, uint32_t mode,
                                 int ro)
{
    struct vfs_node *n = calloc(1, sizeof(*n) + len + 1);
    if (!n)
        return NULL;
    memcpy(n->name, name, len);
    n->name[len] = '\0';
    n->mode = mode;
    n->ro = (uint8_t)ro;
    n->ino = vfs_next_ino++;
    n->parent = n;
    return n;
}

static int node_is_dir(const struct vfs_node *n)
{
    return S_ISDIR(n->mode);
}

/* Free a node that is out of the tree and unreferenced (subtree too). */
static void node_free_tree(struct vfs_node *n)
{
    for (size_t i = 0; i < n->nkids; i++)
        node_free_tree(n->kids[i]);
    free(n->kids);
    free(n->data);
    free(n);
}

static void node_release(struct vfs_node *n)
{
    if (n->refs > 0)
        n->refs--;
    if (n->refs == 0 && !n->linked)
        node_free_tree(n);
}

/* Index of name in dir's kids, or -(insertion point) - 1. */
static long dir_find(const struct vfs_node *dir, const char *name,
                     size_t len)
{
    size_t lo = 0, hi = dir->nkids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *k = dir->kids[mid]->name;
        int c = strncmp(k, name, len);
        if (c == 0)
            c = k[len] == '\0' ? 0 : 1;
        if (c == 0)
            return (long)mid;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

static struct vfs_node *dir_lookup(const struct vfs_node *dir,
                                   const char *name, size_t len)
{
    long i = dir_find(dir, name, len);
    return i >= 0 ? dir->kids[i] : NULL;
}

/* Link kid into dir (name must be absent). 0 or -ENOMEM. */
static int dir_insert(struct vfs_node *dir, struct vfs_node *kid)
{
    long i = dir_find(dir, kid->name, strlen(kid->name));
    size_t at = (size_t)(-i - 1);
    if (dir->nkids == dir->kids_cap) {
        size_t cap = dir->kids_cap ? dir->kids_cap * 2 : 4;
        struct vfs_node **k = realloc(dir->kids, cap * sizeof(*k));
        if (!k)
            return -ENOMEM;
        dir->kids = k;
        dir->kids_cap = cap;
    }
    memmove(dir->kids + at + 1, dir->kids + at,
            (dir->nkids - at) * sizeof(*dir->kids));
    dir->kids[at] = kid;
    dir->nkids++;
    kid->parent = dir;
    kid->linked = 1;
    return 0;
}

/* Unlink kid from its parent directory; frees it if unreferenced. */
static void dir_remove(struct vfs_node *kid, int free_if_unused)
{
    struct vfs_node *dir = kid->parent;
    long i = dir_find(dir, kid->name, strlen(kid->name));
    if (i >= 0) {
        memmove(dir->kids + i, dir->kids + i + 1,
                (dir->nkids - (size_t)i - 1) * sizeof(*dir->kids));
        dir->nkids--;
    }
    kid->linked = 0;
    if (free_if_unused && kid->refs == 0)
        node_free_tree(kid);
}

static uint64_t vfs_now(void)
{
    return plat_clock_wall();
}

/* --------------------------------------------------------------- mount */

static void vfs_unmount(void)
{
    /* Closing every handle frees the unlinked /tmp files they kept. */
    for (size_t i = 0; i < vfs_nfiles; i++) {
        struct vfs_node *n = vfs_files[i].node;
        vfs_files[i].node = NULL;
        if (n)
            node_release(n);
    }
    free(vfs_files);
    vfs_files = NULL;
    vfs_nfiles = 0;
    if (vfs_cwd)
        node_release(vfs_cwd);
    if (vfs_root)
        node_free_tree(vfs_root);
    vfs_root = vfs_tmp = vfs_cwd = NULL;
    free(vfs_main);
    vfs_main = NULL;
}

/* A bundle path: absolute, no empty/"."/".." parts, no trailing '/'. */
static int bundle_path_ok(const char *p, uint32_t len)
{
    if (len < 2 || len >= VFS_PATH_MAX || p[0] != '/' || p[len - 1] == '/')
        return 0;
    if (memchr(p, '\0', len))
        return 0;
    uint32_t start = 1;
    for (uint32_t i = 1; i <= len; i++) {
        if (i < len && p[i] != '/')
            continue;
        uint32_t n = i - start;
        if (n == 0 || n > VFS_NAME_MAX)
            return 0;
        if ((n == 1 && p[start] == '.') ||
            (n == 2 && p[start] == '.' && p[start + 1] == '.'))
            return 0;
        start = i + 1;
    }
    /* /tmp belongs to the writable tree. */
    if (len >= 4 && memcmp(p, "/tmp", 4) == 0 && (len == 4 || p[4] == '/'))
        return 0;
    return 1;
}

/* Add one bundle entry to the tree, creating implied directories. */
static int bundle_add(const uint8_t *base, const struct lunik_bundle_entry *e)
{
    const char *p = (const char *)base + e->path_offset;
    uint32_t len = e->path_len, start = 1;
    struct vfs_node *dir = vfs_root;
    int is_dir = (e->flags & LUNIK_BUNDLE_DIR) != 0;
    for (;;) {
        uint32_t end = start;
        while (end < len && p[end] != '/')
            end++;
        int last = end == len;
        struct vfs_node *n = dir_lookup(dir, p + start, end - start);
        if (n && (!node_is_dir(n) || (last && !is_dir)))
            return -EINVAL;     /* duplicate, or a file used as a dir */
        if (n && last && n->explicit_entry)
            return -EINVAL;     /* the same directory named twice */
        if (!n) {
            uint32_t mode = last && !is_dir ? (S_IFREG | 0444)
                                            : (S_IFDIR | 0555);
            n = node_new(p + start, end - start, mode, 1);
            if (!n || dir_insert(dir, n) < 0) {
                free(n);
                return -ENOMEM;
            }
        }
        if (last) {
            n->explicit_entry = 1;
            if (!is_dir) {
                n->rodata = base + e->data_offset;
                n->size = e->data_size;
            }
            return 0;
        }
        dir = n;
        start = end + 1;
    }
}

/* Check every field of entry e against a bundle of size bytes. */
static int bundle_entry_ok(const uint8_t *base, uint64_t size,
                           const struct lunik_bundle_entry *e)
{
    if (e->reserved != 0 || (e->flags & ~(LUNIK_BUNDLE_DIR |
                                          LUNIK_BUNDLE_MAIN)))
        return 0;
    if ((uint64_t)e->path_offset > size ||
        e->path_len > size - e->path_offset)
        return 0;
    if (e->data_offset > size || e->data_size > size - e->data_offset)
        return 0;
    if ((e->flags & LUNIK_BUNDLE_DIR) &&
        (e->data_size != 0 || (e->flags & LUNIK_BUNDLE_MAIN)))
        return 0;
    return bundle_path_ok((const char *)base + e->path_offset, e->path_len);
}

static int vfs_build(const uint8_t *base, uint64_t size, uint32_t count)
{
    const struct lunik_bundle_entry *ents =
        (const void *)(base + sizeof(struct lunik_bundle_header));
    vfs_root = node_new("", 0, S_IFDIR | 0555, 1);
    if (!vfs_root)
        return -ENOMEM;
    vfs_root->linked = 1;
    for (uint32_t i = 0; i < count; i++) {
        struct lunik_bundle_entry e;
        memcpy(&e, &ents[i], sizeof(e));        /* may be unaligned */
        if (!bundle_entry_ok(base, size, &e))
            return -EINVAL;
        int r = bundle_add(base, &e);
        if (r < 0)
            return r;
        if (e.flags & LUNIK_BUNDLE_MAIN) {
            if (vfs_main)
                return -EINVAL;                 /* two main entries */
            vfs_main = malloc(e.path_len + 1);
            if (!vfs_main)
                return -ENOMEM;
            memcpy(vfs_main, base + e.path_offset, e.path_len);
            vfs_main[e.path_len] = '\0';
        }
    }
    if (!vfs_main)
        return -EINVAL;
    vfs_tmp = node_new("tmp", 3, S_IFDIR | 01777, 0);
    if (!vfs_tmp || dir_insert(vfs_root, vfs_tmp) < 0) {
        free(vfs_tmp);
        return -ENOMEM;
    }
    vfs_tmp->mtime_ns = vfs_now();
    return 0;
}

int lunik_vfs_mount(const void *bundle, size_t size)
{
    struct lunik_bundle_header h;
    vfs_unmount();
    if (!bundle || size < sizeof(h))
        return -EINVAL;
    memcpy(&h, bundle, sizeof(h));
    if (memcmp(h.magic, LUNIK_BUNDLE_MAGIC, 8) != 0 ||
        h.version != LUNIK_BUNDLE_VERSION || h.size > size ||
        h.size < sizeof(h) ||
        h.count > (h.size - sizeof(h)) / sizeof(struct lunik_bundle_entry))
        return -EINVAL;
    int r = vfs_build(bundle, h.size, h.count);
    if (r < 0) {
        vfs_unmount();
        return r == -ENOMEM ? -ENOMEM : -EINVAL;
    }
    vfs_cwd = dir_lookup(vfs_root, "app", 3);
    if (!vfs_cwd || !node_is_dir(vfs_cwd))
        vfs_cwd = vfs_root;
    vfs_cwd->refs++;
    return 0;
}

const char *lunik_vfs_main_path(void)
{
    return vfs_main;
}

/* ---------------------------------------------------------- resolution */

/*
 * Walk path from the root or the working directory. On success w->dir is
 * the directory holding the last component, w->name/w->len name that
 * component ("." for the root or an empty walk; "." and ".." kept as given),
 * w->node is it (NULL when absent) and w->slash is set when the path ends
 * in '/'. A missing or non-directory middle component fails.
 */
struct vfs_walk {
    struct vfs_node *dir;
    struct vfs_node *node;
    const char *name;
    size_t len;
    int slash;
};

static int vfs_walk(const char *path, struct vfs_walk *w)
{
    if (!vfs_root)
        return -ENOENT;
    if (!path)
        return -EINVAL;
    size_t plen = strnlen(path, VFS_PATH_MAX);
    if (plen == 0)
        return -ENOENT;
    if (plen >= VFS_PATH_MAX)
        return -ENAMETOOLONG;
    struct vfs_node *cur = path[0] == '/' ? vfs_root : vfs_cwd;
    if (!cur->linked)
        return -ENOENT;                     /* removed working directory */
    const char *p = path;
    w->dir = cur->parent;
    w->node = cur;
    w->name = ".";
    w->len = 1;
    w->slash = plen > 0 && path[plen - 1] == '/';
    for (;;) {
        while (*p == '/')
            p++;
        if (*p == '\0')
            return 0;
        const char *end = p;
        while (*end && *end != '/')
            end++;
        size_t len = (size_t)(end - p);
        if (len > VFS_NAME_MAX)
            return -ENAMETOOLONG;
        if (!w->node)
            return -ENOENT;                 /* a missing middle component */
        if (!node_is_dir(w->node))
            return -ENOTDIR;
        struct vfs_node *dir = w->node, *next;
        if (len == 1 && p[0] == '.')
            next = dir;
        else if (len == 2 && p[0] == '.' && p[1] == '.')
            next = dir->parent;
        else
            next = dir_lookup(dir, p, len);
        w->dir = dir;
        w->node = next;
        w->name = p;
        w->len = len;
        p = end;
    }
}

/* Resolve path to an existing node (a trailing '/' needs a directory). */
static int vfs_resolve(const char *path, struct vfs_node **out)
{
    struct vfs_walk w;
    int r = vfs_walk(path, &w);
    if (r < 0)
        return r;
    if (!w.node)
        return -ENOENT;
    if (w.slash && !node_is_dir(w.node))
        return -ENOTDIR;
    *out = w.node;
    return 0;
}

static int name_is_dot(const struct vfs_walk *w)
{
    return (w->len == 1 && w->name[0] == '.') ||
           (w->len == 2 && w->name[0] == '.' && w->name[1] == '.');
}

/* ------------------------------------------------------------- handles */

static struct vfs_file *file_get(int h)
{
    if (h < 0 || (size_t)h >= vfs_nfiles || !vfs_files[h].node)
        return NULL;
    return &vfs_files[h];
}

/* The lowest free handle for node (takes a node reference), or -ENOMEM. */
static int file_new(struct vfs_node *node, int flags)
{
    size_t h = 0;
    while (h < vfs_nfiles && vfs_files[h].node)
        h++;
    if (h == vfs_nfiles) {
        size_t n = vfs_nfiles ? vfs_nfiles * 2 : 16;
        if (n > INT32_MAX)
            return -ENOMEM;
        struct vfs_file *f = realloc(vfs_files, n * sizeof(*f));
        if (!f)
            return -ENOMEM;
        memset(f + vfs_nfiles, 0, (n - vfs_nfiles) * sizeof(*f));
        vfs_files = f;
        vfs_nfiles = n;
    }
    vfs_files[h] = (struct vfs_file){ node, 0, flags, 1 };
    node->refs++;
    return (int)h;
}

static int can_read(const struct vfs_file *f)
{
    return (f->flags & O_ACCMODE) != O_WRONLY;
}

static int can_write(const struct vfs_file *f)
{
    return (f->flags & O_ACCMODE) != O_RDONLY;
}

/* Make a /tmp file at least size bytes long (zero-filled), 0 or -ENOMEM. */
static int file_reserve(struct vfs_node *n, uint64_t size)
{
    if (size > (uint64_t)INT64_MAX)
        return -EFBIG;
    if (size > n->cap) {
        uint64_t cap = n->cap ? n->cap : 64;
        while (cap < size)
            cap = cap > UINT64_MAX / 2 ? size : cap * 2;
        if (cap != (size_t)cap)
            return -ENOMEM;
        uint8_t *d = realloc(n->data, (size_t)cap);
        if (!d)
            return -ENOMEM;
        n->data = d;
        n->cap = cap;
    }
    if (size > n->size)
        memset(n->data + n->size, 0, (size_t)(size - n->size));
    return 0;
}

static int file_truncate(struct vfs_node *n, uint64_t size)
{
    if (size > n->size) {
        int r = file_reserve(n, size);
        if (r < 0)
            return r;
    }
    n->size = size;
    n->mtime_ns = vfs_now();
    return 0;
}

/* Create a file named by w in a writable directory. */
static int create_file(const struct vfs_walk *w, uint32_t mode,
                       struct vfs_node **out)
{
    if (w->dir->ro)
        return -EROFS;
    if (w->slash || name_is_dot(w))
        return -EISDIR;
    if (!w->dir->linked)
        return -ENOENT;
    struct vfs_node *n = node_new(w->name, w->len, S_IFREG | (mode & 07777),
                                  0);
    if (!n)
        return -ENOMEM;
    if (dir_insert(w->dir, n) < 0) {
        free(n);
        return -ENOMEM;
    }
    n->mtime_ns = w->dir->mtime_ns = vfs_now();
    *out = n;
    return 0;
}

int lunik_vfs_open(const char *path, int flags, uint32_t mode)
{
    struct vfs_walk w;
    int r = vfs_walk(path, &w);
    if (r < 0)
        return r;
    struct vfs_node *n = w.node;
    int acc = flags & O_ACCMODE;
    if (acc == O_ACCMODE)
        return -EINVAL;
    if (n && (flags & O_CREAT) && (flags & O_EXCL))
        return -EEXIST;
    if (!n) {
        if (!(flags & O_CREAT))
            return -ENOENT;
        r = create_file(&w, mode, &n);
        if (r < 0)
            return r;
    } else {
        if (w.slash && !node_is_dir(n))
            return -ENOTDIR;
        if ((flags & O_DIRECTORY) && !node_is_dir(n))
            return -ENOTDIR;
        if (node_is_dir(n) && (acc != O_RDONLY || (flags & O_CREAT)))
            return -EISDIR;
        if (n->ro && (acc != O_RDONLY || (flags & O_TRUNC)))
            return -EROFS;
        if ((flags & O_TRUNC) && acc != O_RDONLY) {
            r = file_truncate(n, 0);
            if (r < 0)
                return r;
        }
    }
    return file_new(n, flags & (O_ACCMODE | O_APPEND | O_DIRECTORY));
}

/* Copy up to len bytes at off of a file into buf; bytes copied. */
static long file_copy_out(const struct vfs_node *n, void *buf, size_t len,
                          int64_t off)
{
    if ((uint64_t)off >= n->size)
        return 0;
    uint64_t left = n->size - (uint64_t)off;
    size_t k = left < len ? (size_t)left : len;
    if (k > (size_t)INT64_MAX / 2)
        k = (size_t)INT64_MAX / 2;
    memcpy(buf, (n->rodata ? n->rodata : n->data) + off, k);
    return (long)k;
}

static long file_copy_in(struct vfs_node *n, const void *buf, size_t len,
                         int64_t off)
{
    if (len > (size_t)INT64_MAX - (uint64_t)off)
        return -EFBIG;
    uint64_t end = (uint64_t)off + len;
    if (len == 0)
        return 0;
    if (end > n->size) {
        int r = file_reserve(n, end);
        if (r < 0)
            return r;
        n->size = end;
    }
    memcpy(n->data + off, buf, len);
    n->mtime_ns = vfs_now();
    return (long)len;
}

long lunik_vfs_pread(int h, void *buf, size_t n, int64_t off)
{
    struct vfs_file *f = file_get(h);
    if (!f || !can_read(f))
        return -EBADF;
    if (node_is_dir(f->node))
        return -EISDIR;
    if (off < 0)
        return -EINVAL;
    return file_copy_out(f->node, buf, n, off);
}

long lunik_vfs_read(int h, void *buf, size_t n)
{
    struct vfs_file *f = file_get(h);
    if (!f)
        return -EBADF;
    long r = lunik_vfs_pread(h, buf, n, f->off);
    if (r > 0)
        f->off += r;
    return r;
}

long lunik_vfs_pwrite(int h, const void *buf, size_t n, int64_t off)
{
    struct vfs_file *f = file_get(h);
    if (!f || !can_write(f))
        return -EBADF;
    if (off < 0)
        return -EINVAL;
    return file_copy_in(f->node, buf, n, off);
}

long lunik_vfs_write(int h, const void *buf, size_t n)
{
    struct vfs_file *f = file_get(h);
    if (!f || !can_write(f))
        return -EBADF;
    if (f->flags & O_APPEND)
        f->off = (int64_t)f->node->size;
    long r = file_copy_in(f->node, buf, n, f->off);
    if (r > 0)
        f->off += r;
    return r;
}

int64_t lunik_vfs_lseek(int h, int64_t off, int whence)
{
    struct vfs_file *f = file_get(h);
    if (!f)
        return -EBADF;
    int64_t base;
    switch (whence) {
    case SEEK_SET: base = 0; break;
    case SEEK_CUR: base = f->off; break;
    case SEEK_END: base = (int64_t)f->node->size; break;
    default: return -EINVAL;
    }
    if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
        return -EINVAL;
    f->off = base + off;
    return f->off;
}

int lunik_vfs_ref(int h)
{
    struct vfs_file *f = file_get(h);
    if (!f)
        return -EBADF;
    f->refs++;
    return 0;
}

int lunik_vfs_close(int h)
{
    struct vfs_file *f = file_get(h);
    if (!f)
        return -EBADF;
    if (--f->refs == 0) {
        struct vfs_node *n = f->node;
        f->node = NULL;
        node_release(n);
    }
    return 0;
}

/* ---------------------------------------------------------- attributes */

static void node_stat(const struct vfs_node *n, struct lunik_vfs_stat *st)
{
    st->mode = n->mode;
    st->size = node_is_dir(n) ? 4096 : n->size;
    st->ino = n->ino;
    st->mtime_ns = n->mtime_ns;
}

int lunik_vfs_fstat(int h, struct lunik_vfs_stat *st)
{
    struct vfs_file *f = file_get(h);
    if (!f)
        return -EBADF;
    node_stat(f->node, st);
    return 0;
}

int lunik_vfs_stat(const char *path, struct lunik_vfs_stat *st)
{
    struct vfs_node *n;
    int r = vfs_resolve(path, &n);
    if (r < 0)
        return r;
    node_stat(n, st);
    return 0;
}

int lunik_vfs_ftruncate(int h, int64_t size)
{
    struct vfs_file *f = file_get(h);
    if (!f)
        return -EBADF;
    if (size < 0 || !can_write(f) || node_is_dir(f->node))
        return -EINVAL;
    return file_truncate(f->node, (uint64_t)size);
}

int lunik_vfs_access(const char *path, int amode)
{
    struct vfs_node *n;
    int r = vfs_resolve(path, &n);
    if (r < 0)
        return r;
    if (amode & ~(R_OK | W_OK | X_OK))
        return -EINVAL;
    if ((amode & W_OK) && n->ro)
        return -EROFS;
    if ((amode & X_OK) && !(n->mode & 0111))
        return -EACCES;
    return 0;
}

/* ------------------------------------------------------ tree changes */

/* Walk to an existing entry that may be changed (not the root, not /tmp). */
static int walk_existing(const char *path, struct vfs_walk *w)
{
    int r = vfs_walk(path, w);
    if (r < 0)
        return r;
    if (!w->node)
        return -ENOENT;
    return 0;
}

int lunik_vfs_unlink(const char *path)
{
    struct vfs_walk w;
    int r = walk_existing(path, &w);
    if (r < 0)
        return r;
    if (node_is_dir(w.node))
        return -EISDIR;
    if (w.slash)
        return -ENOTDIR;
    if (w.node->ro)
        return -EROFS;
    dir_remove(w.node, 1);
    w.dir->mtime_ns = vfs_now();
    return 0;
}

int lunik_vfs_rmdir(const char *path)
{
    struct vfs_walk w;
    int r = walk_existing(path, &w);
    if (r < 0)
        return r;
    if (!node_is_dir(w.node))
        return -ENOTDIR;
    if (w.len == 1 && w.name[0] == '.')
        return -EINVAL;
    if (w.node == vfs_root || w.node == vfs_tmp)
        return w.node->ro ? -EROFS : -EBUSY;
    if (w.node->ro)
        return -EROFS;
    if (w.node->nkids)
        return -ENOTEMPTY;
    if (name_is_dot(&w))
        return -ENOTEMPTY;                  /* "..", as Linux */
    struct vfs_node *dir = w.node->parent;
    dir_remove(w.node, 1);
    dir->mtime_ns = vfs_now();
    return 0;
}

int lunik_vfs_mkdir(const char *path, uint32_t mode)
{
    struct vfs_walk w;
    int r = vfs_walk(path, &w);
    if (r < 0)
        return r;
    if (w.node)
        return -EEXIST;
    if (w.dir->ro)
        return -EROFS;
    if (!w.dir->linked)
        return -ENOENT;
    struct vfs_node *n = node_new(w.name, w.len, S_IFDIR | (mode & 07777),
                                  0);
    if (!n)
        return -ENOMEM;
    if (dir_insert(w.dir, n) < 0) {
        free(n);
        return -ENOMEM;
    }
    n->mtime_ns = w.dir->mtime_ns = vfs_now();
    return 0;
}

static int is_ancestor(const struct vfs_node *a, const struct vfs_node *n)
{
    for (; n != vfs_root; n = n->parent)
        if (n == a)
            return 1;
    return a == vfs_root;
}

/* Check that from may replace to (an existing node), as rename(2). */
static int rename_replace_ok(const struct vfs_node *from,
                             const struct vfs_node *to)
{
    if (node_is_dir(from) && !node_is_dir(to))
        return -ENOTDIR;
    if (!node_is_dir(from) && node_is_dir(to))
        return -EISDIR;
    if (node_is_dir(to) && to->nkids)
        return -ENOTEMPTY;
    if (to == vfs_tmp || to == vfs_root)
        return -EBUSY;
    return 0;
}

int lunik_vfs_rename(const char *from, const char *to)
{
    struct vfs_walk a, b;
    int r = walk_existing(from, &a);
    if (r < 0)
        return r;
    r = vfs_walk(to, &b);
    if (r < 0)
        return r;
    if (!b.node && !b.dir->linked)
        return -ENOENT;
    if (a.node->ro || b.dir->ro)
        return a.node->ro && b.dir->ro ? -EROFS : -EXDEV;
    if (a.node == vfs_tmp || name_is_dot(&a) || name_is_dot(&b))
        return a.node == vfs_tmp ? -EBUSY : -EINVAL;
    if ((a.slash || b.slash) && !node_is_dir(a.node))
        return -ENOTDIR;
    if (a.node == b.node)
        return 0;
    if (node_is_dir(a.node) && is_ancestor(a.node, b.dir))
        return -EINVAL;                     /* into its own subtree */
    if (b.node && (r = rename_replace_ok(a.node, b.node)) < 0)
        return r;
    struct vfs_node *n = node_new(b.name, b.len, a.node->mode, 0);
    if (!n)
        return -ENOMEM;
    /* The node keeps its identity: move its contents into the new name. */
    struct vfs_node *old = a.node, *old_dir = a.dir;
    n->ino = old->ino;
    n->mtime_ns = old->mtime_ns;
    n->refs = old->refs;
    n->kids = old->kids, n->nkids = old->nkids, n->kids_cap = old->kids_cap;
    n->data = old->data, n->size = old->size, n->cap = old->cap;
    if (b.node)
        dir_remove(b.node, 1);
    if (dir_insert(b.dir, n) < 0) {
        free(n);
        return -ENOMEM;
    }
    dir_remove(old, 0);
    for (size_t i = 0; i < n->nkids; i++)
        n->kids[i]->parent = n;
    for (size_t i = 0; i < vfs_nfiles; i++)
        if (vfs_files[i].node == old)
            vfs_files[i].node = n;
    if (vfs_cwd == old)
        vfs_cwd = n;
    free(old);
    old_dir->mtime_ns = b.dir->mtime_ns = vfs_now();
    return 0;
}

/* ------------------------------------------------- working directory */

/* Length of the absolute path of n (without NUL). */
static size_t node_path_len(const struct vfs_node *n)
{
    size_t len = 0;
    for (; n != vfs_root; n = n->parent)
        len += 1 + strlen(n->name);
    return len ? len : 1;
}

long lunik_vfs_getcwd(char *buf, size_t n)
{
    if (!vfs_root)
        return -ENOENT;
    if (!vfs_cwd->linked)
        return -ENOENT;
    for (const struct vfs_node *p = vfs_cwd; p != vfs_root; p = p->parent)
        if (!p->linked)
            return -ENOENT;
    size_t len = node_path_len(vfs_cwd);
    if (len + 1 > n)
        return -ERANGE;
    buf[len] = '\0';
    buf[0] = '/';
    size_t at = len;
    for (const struct vfs_node *p = vfs_cwd; p != vfs_root; p = p->parent) {
        size_t k = strlen(p->name);
        at -= k;
        memcpy(buf + at, p->name, k);
        buf[--at] = '/';
    }
    return (long)(len + 1);
}

int lunik_vfs_chdir(const char *path)
{
    struct vfs_node *n;
    int r = vfs_resolve(path, &n);
    if (r < 0)
        return r;
    if (!node_is_dir(n))
        return -ENOTDIR;
    n->refs++;
    struct vfs_node *old = vfs_cwd;
    vfs_cwd = n;
    node_release(old);
    return 0;
}

/* ------------------------------------------------------------ getdents */

/* struct linux_dirent64, getdents64(2). */
struct vfs_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[];
};

#define VFS_DT_DIR 4
#define VFS_DT_REG 8

/* Append one record; 0 when buf is too small. */
static size_t dirent_put(void *buf, size_t room, const struct vfs_node *n,
                         const char *name, int64_t next)
{
    size_t nlen = strlen(name);
    size_t reclen = (sizeof(struct vfs_dirent64) + nlen + 1 + 7) & ~(size_t)7;
    if (reclen > room)
        return 0;
    struct vfs_dirent64 *d = buf;
    memset(d, 0, reclen);
    d->d_ino = n->ino;
    d->d_off = next;
    d->d_reclen = (uint16_t)reclen;
    d->d_type = node_is_dir(n) ? VFS_DT_DIR : VFS_DT_REG;
    memcpy(d->d_name, name, nlen);
    return reclen;
}

/*
 * The offset of a directory handle counts entries: 0 is ".", 1 is "..",
 * 2 + i is the i-th child in name order.
 */
long lunik_vfs_getdents(int h, void *buf, size_t n)
{
    struct vfs_file *f = file_get(h);
    if (!f)
        return -EBADF;
    struct vfs_node *dir = f->node;
    if (!node_is_dir(dir))
        return -ENOTDIR;
    size_t used = 0;
    while (f->off >= 0 && (uint64_t)f->off < dir->nkids + 2) {
        const struct vfs_node *kid;
        const char *name;
        if (f->off == 0)
            kid = dir, name = ".";
        else if (f->off == 1)
            kid = dir->parent, name = "..";
        else
            kid = dir->kids[f->off - 2], name = kid->name;
        size_t k = dirent_put((char *)buf + used, n - used, kid, name,
                              f->off + 1);
        if (k == 0)
            return used ? (long)used : -EINVAL;
        used += k;
        f->off++;
    }
    return (long)used;
}
