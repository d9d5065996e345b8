/* stdio.c: C streams over VFS handles (fopencookie(3)) for hosted Lua. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lunik/platform.h"
#include "lunik/vfs.h"
#include "lua_redirect.h"

/* This file calls the real functions: undo the renaming of the header. */
#undef fopen
#undef freopen
#undef tmpfile
#undef remove
#undef rename

#define TMP_TEMPLATE "/tmp/lua_XXXXXX"
#define TMP_TRIES 100

/* A bundle is mounted exactly when it has a main entry (vfs.h). */
static int hosted_mounted(void)
{
    return lunik_vfs_main_path() != NULL;
}

/* Map a negative errno result r to -1 with errno set; else r. */
static long hosted_errno(long r)
{
    if (r >= 0)
        return r;
    errno = (int)-r;
    return -1;
}

/* ---------------------------------------------- cookie I/O functions */

static int cookie_handle(void *cookie)
{
    return (int)(intptr_t)cookie;
}

static ssize_t cookie_read(void *cookie, char *buf, size_t n)
{
    return hosted_errno(lunik_vfs_read(cookie_handle(cookie), buf, n));
}

/* fopencookie(3): the write function returns 0 on error. */
static ssize_t cookie_write(void *cookie, const char *buf, size_t n)
{
    long r = hosted_errno(lunik_vfs_write(cookie_handle(cookie), buf, n));
    return r < 0 ? 0 : r;
}

static int cookie_seek(void *cookie, off64_t *pos, int whence)
{
    int64_t r = lunik_vfs_lseek(cookie_handle(cookie), *pos, whence);
    if (r < 0)
        return (int)hosted_errno(r);
    *pos = r;
    return 0;
}

static int cookie_close(void *cookie)
{
    return (int)hosted_errno(lunik_vfs_close(cookie_handle(cookie)));
}

static const cookie_io_functions_t cookie_io = {
    .read = cookie_read,
    .write = cookie_write,
    .seek = cookie_seek,
    .close = cookie_close,
};

/* A stream over VFS handle h (closed on failure), stdio mode `mode`. */
static FILE *hosted_stream(int h, const char *mode)
{
    FILE *f = fopencookie((void *)(intptr_t)h, mode, cookie_io);
    if (!f) {
        int e = errno;
        lunik_vfs_close(h);
        errno = e;
    }
    return f;
}

/*
 * Parse an fopen(3) mode ("r", "w", "a", optional "+", "b", "x", "e") into
 * O_* flags and the plain mode glibc needs. 0, or -EINVAL.
 */
static int hosted_mode(const char *mode, int *flags, char plain[3])
{
    int f;
    switch (mode[0]) {
    case 'r': f = O_RDONLY; break;
    case 'w': f = O_WRONLY | O_CREAT | O_TRUNC; break;
    case 'a': f = O_WRONLY | O_CREAT | O_APPEND; break;
    default: return -EINVAL;
    }
    plain[0] = mode[0];
    plain[1] = plain[2] = '\0';
    for (const char *p = mode + 1; *p && *p != ','; p++) {
        if (*p == '+') {
            f = (f & ~O_ACCMODE) | O_RDWR;
            plain[1] = '+';
        } else if (*p == 'x') {
            f |= O_EXCL;
        }
    }
    *flags = f;
    return 0;
}

/* ------------------------------------------------ the replacements */

/* As fopen(3), on the VFS while a bundle is mounted. */
FILE *lunik_hosted_fopen(const char *path, const char *mode)
{
    if (!hosted_mounted())
        return fopen(path, mode);
    int flags;
    char plain[3];
    if (hosted_errno(hosted_mode(mode, &flags, plain)) < 0)
        return NULL;
    int h = lunik_vfs_open(path, flags, 0666);
    if (hosted_errno(h) < 0)
        return NULL;
    return hosted_stream(h, plain);
}

/* As freopen(3) with a path: closes f, returns the new stream. */
FILE *lunik_hosted_freopen(const char *path, const char *mode, FILE *f)
{
    if (!hosted_mounted() || !path)
        return freopen(path, mode, f);
    FILE *n = lunik_hosted_fopen(path, mode);
    int e = errno;
    fclose(f);
    errno = e;
    return n;
}

/* Create a new file from TMP_TEMPLATE in buf; its handle, or -errno. */
static int hosted_tmp_create(char *buf)
{
    static const char letters[] =
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static uint64_t state;
    int h = -EEXIST;
    for (int t = 0; t < TMP_TRIES && h == -EEXIST; t++) {
        state = (state ^ plat_clock_monotonic()) * 6364136223846793005ull +
                1442695040888963407ull;
        strcpy(buf, TMP_TEMPLATE);
        uint64_t x = state;
        for (char *p = buf + strlen(buf) - 6; *p; p++, x >>= 6)
            *p = letters[(x & 63) % (sizeof(letters) - 1)];
        h = lunik_vfs_open(buf, O_RDWR | O_CREAT | O_EXCL, 0600);
    }
    return h;
}

/* As tmpfile(3): a new file in /tmp, already unlinked, opened "w+". */
FILE *lunik_hosted_tmpfile(void)
{
    if (!hosted_mounted())
        return tmpfile();
    char name[sizeof(TMP_TEMPLATE)];
    int h = hosted_tmp_create(name);
    if (hosted_errno(h) < 0)
        return NULL;
    lunik_vfs_unlink(name);
    return hosted_stream(h, "w+");
}

int lunik_hosted_tmpnam(char *buf)
{
    if (!hosted_mounted()) {
        strcpy(buf, TMP_TEMPLATE);
        int fd = mkstemp(buf);
        if (fd < 0)
            return 1;
        close(fd);
        return 0;
    }
    int h = hosted_tmp_create(buf);
    if (hosted_errno(h) < 0)
        return 1;
    lunik_vfs_close(h);
    return 0;
}

/* As remove(3): unlink(2), or rmdir(2) for a directory. */
int lunik_hosted_remove(const char *path)
{
    if (!hosted_mounted())
        return remove(path);
    int r = lunik_vfs_unlink(path);
    if (r == -EISDIR)
        r = lunik_vfs_rmdir(path);
    return (int)hosted_errno(r);
}

/* As rename(2). */
int lunik_hosted_rename(const char *from, const char *to)
{
    if (!hosted_mounted())
        return rename(from, to);
    return (int)hosted_errno(lunik_vfs_rename(from, to));
}
