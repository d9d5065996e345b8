/* vfs_test.c: unit tests (TAP) of the in-memory file tree vfs/vfs.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lunik/image.h"
#include "lunik/platform.h"
#include "lunik/vfs.h"

/* The VFS stamps /tmp changes with the wall clock; a fixed one here. */
uint64_t plat_clock_wall(void)
{
    return 1000000000ull;
}

static int test_n, test_failed;

static void ok(int cond, const char *name)
{
    test_n++;
    if (!cond)
        test_failed++;
    printf("%sok %d - %s\n", cond ? "" : "not ", test_n, name);
}

static void is(long got, long want, const char *name)
{
    ok(got == want, name);
    if (got != want)
        printf("# got %ld, want %ld\n", got, want);
}

/* ------------------------------------------------------ bundle builder */

struct file_spec {
    const char *path;
    const char *data;           /* NULL: a directory entry */
    uint32_t flags;
};

static uint8_t bundle[8192];

/* Lay out specs as a bundle in `bundle`; returns its size in bytes. */
static size_t build(const struct file_spec *specs, size_t n)
{
    struct lunik_bundle_header h;
    struct lunik_bundle_entry *e;
    size_t at = sizeof(h) + n * sizeof(*e);
    memset(bundle, 0, sizeof(bundle));
    for (size_t i = 0; i < n; i++) {
        e = (struct lunik_bundle_entry *)(bundle + sizeof(h)) + i;
        size_t plen = strlen(specs[i].path);
        size_t dlen = specs[i].data ? strlen(specs[i].data) : 0;
        e->path_offset = (uint32_t)at;
        e->path_len = (uint32_t)plen;
        memcpy(bundle + at, specs[i].path, plen);
        at += plen;
        e->data_offset = at;
        e->data_size = dlen;
        if (dlen)
            memcpy(bundle + at, specs[i].data, dlen);
        at += dlen;
        e->flags = specs[i].flags | (specs[i].data ? 0 : LUNIK_BUNDLE_DIR);
    }
    memcpy(h.magic, LUNIK_BUNDLE_MAGIC, 8);
    h.version = LUNIK_BUNDLE_VERSION;
    h.count = (uint32_t)n;
    h.size = at;
    memcpy(bundle, &h, sizeof(h));
    return at;
}

static const struct file_spec good[] = {
    { "/lib/lua/pl/init.lua", "return 'pl'", 0 },
    { "/app/main.lua", "print('hi')\n", LUNIK_BUNDLE_MAIN },
    { "/app/data/greeting.txt", "hello file\nsecond line\n", 0 },
    { "/app/empty", NULL, 0 },
    { "/lib/lua/util.lua", "return {}", 0 },
};
#define NGOOD (sizeof(good) / sizeof(good[0]))

static size_t mount_good(void)
{
    size_t size = build(good, NGOOD);
    int r = lunik_vfs_mount(bundle, size);
    if (r != 0) {
        printf("Bail out! cannot mount the good bundle (%d)\n", r);
        exit(1);
    }
    return size;
}

/* ------------------------------------------------------------- tests */

static void test_lookup(void)
{
    struct lunik_vfs_stat st;
    char buf[64];
    is(lunik_vfs_getcwd(buf, sizeof(buf)), 5, "getcwd length with NUL");
    ok(strcmp(buf, "/app") == 0, "working directory starts at /app");
    ok(strcmp(lunik_vfs_main_path(), "/app/main.lua") == 0, "main path");
    is(lunik_vfs_stat("/app", &st), 0, "stat /app");
    ok(S_ISDIR(st.mode), "implied /app is a directory");
    is(lunik_vfs_stat("main.lua", &st), 0, "stat relative main.lua");
    ok(S_ISREG(st.mode) && st.size == 12 && st.mtime_ns == 0,
       "bundle file: regular, size, mtime 0");
    is(lunik_vfs_stat("./data/../data/./greeting.txt", &st), 0,
       "'.' and '..' resolve");
    is(st.size, 23, "greeting size");
    is(lunik_vfs_stat("../lib/lua/pl/init.lua", &st), 0, "relative '..'");
    is(lunik_vfs_stat("/../../app//main.lua", &st), 0, "'..' at the root");
    is(lunik_vfs_stat("empty", &st), 0, "explicit empty directory");
    ok(S_ISDIR(st.mode), "explicit directory is a directory");
    is(lunik_vfs_stat("nope", &st), -ENOENT, "missing file: ENOENT");
    is(lunik_vfs_stat("nope/x", &st), -ENOENT, "missing middle: ENOENT");
    is(lunik_vfs_stat("main.lua/x", &st), -ENOTDIR, "file as dir: ENOTDIR");
    is(lunik_vfs_stat("main.lua/", &st), -ENOTDIR, "trailing '/': ENOTDIR");
    is(lunik_vfs_stat("", &st), -ENOENT, "empty path: ENOENT");
    is(lunik_vfs_stat("/tmp", &st), 0, "/tmp exists");
    is(lunik_vfs_access("main.lua", R_OK), 0, "access R_OK");
    is(lunik_vfs_access("main.lua", W_OK), -EROFS, "access W_OK: EROFS");
    is(lunik_vfs_access("/tmp", W_OK), 0, "/tmp writable");
}

static void test_read_seek(void)
{
    char buf[64];
    int h = lunik_vfs_open("data/greeting.txt", O_RDONLY, 0);
    ok(h >= 0, "open bundled file");
    is(lunik_vfs_read(h, buf, 5), 5, "read 5 bytes");
    ok(memcmp(buf, "hello", 5) == 0, "read the right bytes");
    is(lunik_vfs_lseek(h, 0, SEEK_CUR), 5, "offset advanced");
    is(lunik_vfs_lseek(h, -4, SEEK_END), 19, "SEEK_END");
    is(lunik_vfs_read(h, buf, sizeof(buf)), 4, "short read at the end");
    is(lunik_vfs_read(h, buf, sizeof(buf)), 0, "0 at end of file");
    is(lunik_vfs_lseek(h, -1, SEEK_SET), -EINVAL, "negative seek: EINVAL");
    is(lunik_vfs_pread(h, buf, 4, 6), 4, "pread");
    ok(memcmp(buf, "file", 4) == 0, "pread bytes");
    is(lunik_vfs_write(h, "x", 1), -EBADF, "write on read-only: EBADF");
    is(lunik_vfs_ref(h), 0, "ref");
    is(lunik_vfs_close(h), 0, "close one reference");
    is(lunik_vfs_read(h, buf, 1), 0, "still open after one close");
    is(lunik_vfs_close(h), 0, "close the last reference");
    is(lunik_vfs_read(h, buf, 1), -EBADF, "closed handle: EBADF");
    is(lunik_vfs_open("/app", O_RDONLY, 0) >= 0, 1, "open a directory");
    h = lunik_vfs_open("/app", O_RDONLY | O_DIRECTORY, 0);
    is(lunik_vfs_read(h, buf, 1), -EISDIR, "read a directory: EISDIR");
    lunik_vfs_close(h);
    is(lunik_vfs_open("/app", O_WRONLY, 0), -EISDIR, "write a dir: EISDIR");
    is(lunik_vfs_open("main.lua", O_RDONLY | O_DIRECTORY, 0), -ENOTDIR,
       "O_DIRECTORY on a file: ENOTDIR");
}

static void test_readonly(void)
{
    is(lunik_vfs_open("main.lua", O_WRONLY, 0), -EROFS, "write: EROFS");
    is(lunik_vfs_open("new.txt", O_WRONLY | O_CREAT | O_TRUNC, 0666),
       -EROFS, "create in /app: EROFS");
    is(lunik_vfs_open("main.lua", O_WRONLY | O_CREAT | O_EXCL, 0666),
       -EEXIST, "O_EXCL on an existing file: EEXIST");
    is(lunik_vfs_unlink("main.lua"), -EROFS, "unlink in bundle: EROFS");
    is(lunik_vfs_unlink("nope"), -ENOENT, "unlink missing: ENOENT");
    is(lunik_vfs_mkdir("/app/d", 0755), -EROFS, "mkdir in bundle: EROFS");
    is(lunik_vfs_mkdir("/app", 0755), -EEXIST, "mkdir existing: EEXIST");
    is(lunik_vfs_rmdir("empty"), -EROFS, "rmdir in bundle: EROFS");
    is(lunik_vfs_rename("main.lua", "x.lua"), -EROFS, "rename: EROFS");
    is(lunik_vfs_rename("main.lua", "/tmp/x"), -EXDEV, "rename out: EXDEV");
    is(lunik_vfs_unlink("/app"), -EISDIR, "unlink a directory: EISDIR");
}

static void test_tmp_files(void)
{
    char buf[64];
    struct lunik_vfs_stat st;
    int h = lunik_vfs_open("/tmp/a.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ok(h >= 0, "create /tmp/a.txt");
    is(lunik_vfs_write(h, "abc\n", 4), 4, "write");
    is(lunik_vfs_read(h, buf, 1), -EBADF, "read on write-only: EBADF");
    lunik_vfs_close(h);
    h = lunik_vfs_open("/tmp/a.txt", O_WRONLY | O_APPEND, 0);
    lunik_vfs_lseek(h, 0, SEEK_SET);
    is(lunik_vfs_write(h, "more\n", 5), 5, "append");
    lunik_vfs_close(h);
    is(lunik_vfs_stat("/tmp/a.txt", &st), 0, "stat /tmp/a.txt");
    is(st.size, 9, "size after append");
    ok(st.mtime_ns == 1000000000ull && (st.mode & 0777) == 0644,
       "mtime and mode");
    h = lunik_vfs_open("/tmp/a.txt", O_RDWR, 0);
    is(lunik_vfs_read(h, buf, sizeof(buf)), 9, "read back");
    ok(memcmp(buf, "abc\nmore\n", 9) == 0, "contents after append");
    is(lunik_vfs_pwrite(h, "Z", 1, 20), 1, "pwrite past the end");
    is(lunik_vfs_pread(h, buf, 32, 8), 13, "hole is read back");
    ok(buf[1] == 0 && buf[11] == 0 && buf[12] == 'Z', "hole is zeros");
    is(lunik_vfs_ftruncate(h, 3), 0, "ftruncate shrink");
    is(lunik_vfs_fstat(h, &st), 0, "fstat");
    is(st.size, 3, "size after truncate");
    lunik_vfs_close(h);
    h = lunik_vfs_open("/tmp/a.txt", O_RDWR | O_TRUNC, 0);
    is(lunik_vfs_fstat(h, &st) == 0 ? (long)st.size : -1, 0, "O_TRUNC");
    lunik_vfs_close(h);
    is(lunik_vfs_open("/tmp/a.txt", O_CREAT | O_EXCL | O_RDWR, 0600),
       -EEXIST, "O_EXCL: EEXIST");
    is(lunik_vfs_open("/tmp/none/x", O_CREAT | O_RDWR, 0600), -ENOENT,
       "create in a missing directory: ENOENT");
    is(lunik_vfs_open("/tmp/a.txt/x", O_CREAT | O_RDWR, 0600), -ENOTDIR,
       "create under a file: ENOTDIR");
}

static void test_tmp_tree(void)
{
    char buf[64];
    struct lunik_vfs_stat st;
    int h = lunik_vfs_open("/tmp/b", O_RDWR | O_CREAT, 0644);
    lunik_vfs_write(h, "kept", 4);
    is(lunik_vfs_unlink("/tmp/b"), 0, "unlink an open file");
    is(lunik_vfs_stat("/tmp/b", &st), -ENOENT, "the name is gone");
    is(lunik_vfs_pread(h, buf, 4, 0), 4, "data kept until the last close");
    ok(memcmp(buf, "kept", 4) == 0, "unlinked file still reads");
    is(lunik_vfs_close(h), 0, "close frees it");
    is(lunik_vfs_mkdir("/tmp/d", 0755), 0, "mkdir /tmp/d");
    is(lunik_vfs_mkdir("/tmp/d", 0755), -EEXIST, "mkdir again: EEXIST");
    is(lunik_vfs_chdir("/tmp/d"), 0, "chdir /tmp/d");
    h = lunik_vfs_open("f", O_WRONLY | O_CREAT, 0644);
    lunik_vfs_write(h, "12345", 5);
    lunik_vfs_close(h);
    is(lunik_vfs_stat("/tmp/d/f", &st), 0, "relative create in cwd");
    is(lunik_vfs_rmdir("/tmp/d"), -ENOTEMPTY, "rmdir non-empty: ENOTEMPTY");
    is(lunik_vfs_rename("f", "../g"), 0, "rename into the parent");
    is(lunik_vfs_stat("/tmp/g", &st), 0, "renamed file exists");
    is(st.size, 5, "renamed file keeps its data");
    is(lunik_vfs_stat("f", &st), -ENOENT, "old name gone");
    h = lunik_vfs_open("/tmp/h", O_WRONLY | O_CREAT, 0644);
    lunik_vfs_close(h);
    is(lunik_vfs_rename("/tmp/g", "/tmp/h"), 0, "rename replaces a file");
    is(lunik_vfs_stat("/tmp/h", &st) == 0 ? (long)st.size : -1, 5,
       "replaced with the new data");
    is(lunik_vfs_rename("/tmp/h", "/tmp/d"), -EISDIR, "file over dir");
    is(lunik_vfs_rename("/tmp/d", "/tmp/h"), -ENOTDIR, "dir over file");
    is(lunik_vfs_rename("/tmp/d", "/tmp/d/x"), -EINVAL, "dir into itself");
    is(lunik_vfs_rename("/tmp/h", "/app/h"), -EXDEV, "rename to bundle");
    is(lunik_vfs_rename("/tmp/d", "/tmp/e"), 0, "rename a directory");
    is(lunik_vfs_getcwd(buf, sizeof(buf)), 7, "cwd follows the rename");
    ok(strcmp(buf, "/tmp/e") == 0, "cwd is /tmp/e");
    is(lunik_vfs_getcwd(buf, 3), -ERANGE, "getcwd small buffer: ERANGE");
    is(lunik_vfs_chdir("/app/main.lua"), -ENOTDIR, "chdir to a file");
    is(lunik_vfs_chdir("/app"), 0, "chdir back to /app");
    is(lunik_vfs_rmdir("/tmp/e"), 0, "rmdir empty directory");
    is(lunik_vfs_rmdir("/tmp/h"), -ENOTDIR, "rmdir a file: ENOTDIR");
    is(lunik_vfs_rmdir("/tmp"), -EBUSY, "rmdir /tmp: EBUSY");
    is(lunik_vfs_unlink("/tmp/h"), 0, "unlink");
    is(lunik_vfs_unlink("/tmp/h"), -ENOENT, "unlink again: ENOENT");
}

/* Names listed by getdents64 on path, joined with ',' into out. */
static long list_dir(const char *path, char *out, size_t room)
{
    char buf[256];
    int h = lunik_vfs_open(path, O_RDONLY | O_DIRECTORY, 0);
    if (h < 0)
        return h;
    out[0] = '\0';
    long n;
    while ((n = lunik_vfs_getdents(h, buf, sizeof(buf))) > 0) {
        for (long at = 0; at < n;) {
            uint16_t reclen;
            memcpy(&reclen, buf + at + 16, 2);
            if (out[0])
                strncat(out, ",", room - strlen(out) - 1);
            strncat(out, buf + at + 19, room - strlen(out) - 1);
            at += reclen;
        }
    }
    lunik_vfs_close(h);
    return n;
}

static void test_getdents(void)
{
    char names[256];
    is(list_dir("/app", names, sizeof(names)), 0, "getdents /app");
    ok(strcmp(names, ".,..,data,empty,main.lua") == 0, "sorted listing");
    list_dir("/", names, sizeof(names));
    ok(strcmp(names, ".,..,app,lib,tmp") == 0, "root lists app, lib, tmp");
    int h = lunik_vfs_open("/app", O_RDONLY, 0);
    char tiny[8];
    is(lunik_vfs_getdents(h, tiny, sizeof(tiny)), -EINVAL,
       "buffer too small: EINVAL");
    lunik_vfs_close(h);
}

/* Mount a variant of the good bundle changed by `mutate`; result. */
static int mount_mutated(void (*mutate)(size_t *size))
{
    size_t size = build(good, NGOOD);
    mutate(&size);
    return lunik_vfs_mount(bundle, size);
}

static struct lunik_bundle_entry *entry(int i)
{
    return (struct lunik_bundle_entry *)
        (bundle + sizeof(struct lunik_bundle_header)) + i;
}

static void bad_magic(size_t *s) { bundle[0] = 'X'; }
static void bad_version(size_t *s) { bundle[8] = 9; }
static void truncated(size_t *s) { *s -= 1; }
static void tiny(size_t *s) { *s = 10; }
static void huge_count(size_t *s) { bundle[12] = 0xff; bundle[13] = 0xff; }
static void path_out(size_t *s) { entry(1)->path_offset = 9000; }
static void data_out(size_t *s) { entry(1)->data_size = ~0ull - 5; }
static void dotdot(size_t *s) { memcpy(bundle + entry(1)->path_offset,
                                       "/app/../x", 9); }
static void relative(size_t *s) { bundle[entry(1)->path_offset] = 'a'; }
static void no_main(size_t *s) { entry(1)->flags = 0; }
static void two_mains(size_t *s) { entry(0)->flags = LUNIK_BUNDLE_MAIN; }
static void dup_path(size_t *s) { *entry(4) = *entry(0); }
static void in_tmp(size_t *s) { memcpy(bundle + entry(1)->path_offset,
                                       "/tmp/", 5); }
static void dir_data(size_t *s) { entry(3)->data_size = 1; }
static void file_dir(size_t *s) { memcpy(bundle + entry(2)->path_offset,
                                        "/app/main.lua/aaaaaaaa", 22); }
static void bad_flags(size_t *s) { entry(2)->flags = 0x80; }

static void test_malformed(void)
{
    static const struct { void (*f)(size_t *); const char *name; } cases[] = {
        { bad_magic, "bad magic" }, { bad_version, "bad version" },
        { truncated, "truncated bundle" }, { tiny, "shorter than a header" },
        { huge_count, "entry count beyond the bundle" },
        { path_out, "path offset out of range" },
        { data_out, "data length overflows" }, { dotdot, "'..' in a path" },
        { relative, "relative path" }, { no_main, "no main entry" },
        { two_mains, "two main entries" }, { dup_path, "duplicate path" },
        { in_tmp, "entry under /tmp" }, { dir_data, "directory with data" },
        { file_dir, "path both file and directory" },
        { bad_flags, "unknown flags" },
    };
    char name[96];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        snprintf(name, sizeof(name), "malformed bundle rejected: %s",
                 cases[i].name);
        is(mount_mutated(cases[i].f), -EINVAL, name);
    }
    struct lunik_vfs_stat st;
    is(lunik_vfs_stat("/app", &st), -ENOENT, "nothing mounted after that");
    is(lunik_vfs_mount(NULL, 0), -EINVAL, "NULL bundle rejected");
}

int main(void)
{
    mount_good();
    test_lookup();
    test_read_seek();
    test_readonly();
    test_tmp_files();
    test_tmp_tree();
    test_getdents();
    test_malformed();
    mount_good();
    int h = lunik_vfs_open("/tmp/left-open", O_RDWR | O_CREAT, 0644);
    lunik_vfs_unlink("/tmp/left-open");
    ok(h >= 0 && mount_good() > 0, "remount frees unlinked open files");
    printf("1..%d\n", test_n);
    return test_failed != 0;
}
