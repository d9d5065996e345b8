/* vfs.h: the in-memory file system every target shows a program: bundle + /tmp. */
#ifndef LUNIK_VFS_H
#define LUNIK_VFS_H

/*
 * The tree is the bundle (image.h), read-only, plus a writable, initially
 * empty /tmp held in memory (lost at exit). The working directory starts at
 * /app. Served to the program by the guest's system-call shim (kvm target)
 * and by the hosted target's stdio redirection; both see the same tree.
 *
 * Conventions (as the Linux system calls named): paths may be relative to
 * the working directory and may hold "." and ".."; flags and mode bits are
 * Linux's O_* and S_IF* values; every call that can fail returns a negative
 * Linux errno value (-ENOENT, -EROFS, -EISDIR, -ENOTDIR, -EEXIST, -EBADF,
 * -EINVAL, -ENOMEM, -ENAMETOOLONG, -ENOTEMPTY, -EXDEV). Writes outside /tmp
 * fail with -EROFS. Memory comes from malloc(). Not thread-safe.
 *
 * An open file is a handle: a small integer >= 0 naming an open file
 * description (offset, flags, reference count), like a Linux file
 * description shared by dup(2)ed descriptors.
 */

#include <stddef.h>
#include <stdint.h>

struct lunik_vfs_stat {
    uint32_t mode;              /* S_IFREG or S_IFDIR | permission bits */
    uint64_t size;              /* bytes */
    uint64_t ino;               /* unique per file while it exists */
    uint64_t mtime_ns;          /* wall clock ns of the last change; bundle: 0 */
};

/*
 * lunik_vfs_mount: make bundle (size bytes, image.h format; must stay valid
 * and unchanged while mounted) the tree, with an empty /tmp, working
 * directory /app. Checks every offset and length; returns 0, or -EINVAL for a
 * malformed bundle (nothing mounted).
 */
int lunik_vfs_mount(const void *bundle, size_t size);

/* lunik_vfs_main_path: absolute path of the bundle's main entry, or NULL. */
const char *lunik_vfs_main_path(void);

/* lunik_vfs_open: as open(2) (O_RDONLY/O_WRONLY/O_RDWR, O_CREAT, O_EXCL,
 * O_TRUNC, O_APPEND, O_DIRECTORY; others ignored). Returns a handle. */
int lunik_vfs_open(const char *path, int flags, uint32_t mode);

/* lunik_vfs_read: as read(2) at the handle's offset; 0 at end of file. */
long lunik_vfs_read(int h, void *buf, size_t n);

/* lunik_vfs_write: as write(2) (O_APPEND writes at the end). */
long lunik_vfs_write(int h, const void *buf, size_t n);

/* lunik_vfs_pread / lunik_vfs_pwrite: as pread(2) / pwrite(2). */
long lunik_vfs_pread(int h, void *buf, size_t n, int64_t off);
long lunik_vfs_pwrite(int h, const void *buf, size_t n, int64_t off);

/* lunik_vfs_lseek: as lseek(2) (SEEK_SET, SEEK_CUR, SEEK_END); new offset. */
int64_t lunik_vfs_lseek(int h, int64_t off, int whence);

/* lunik_vfs_ref: one more reference to the description (for dup(2)); 0. */
int lunik_vfs_ref(int h);

/* lunik_vfs_close: drop one reference; the last frees the handle. 0. */
int lunik_vfs_close(int h);

/* lunik_vfs_fstat / lunik_vfs_stat: as fstat(2) / stat(2). 0. */
int lunik_vfs_fstat(int h, struct lunik_vfs_stat *st);
int lunik_vfs_stat(const char *path, struct lunik_vfs_stat *st);

/* lunik_vfs_ftruncate: as ftruncate(2). 0. */
int lunik_vfs_ftruncate(int h, int64_t size);

/* lunik_vfs_unlink / rmdir / mkdir / rename: as the system calls. 0.
 * rename replaces an existing target file atomically (within /tmp only). */
int lunik_vfs_unlink(const char *path);
int lunik_vfs_rmdir(const char *path);
int lunik_vfs_mkdir(const char *path, uint32_t mode);
int lunik_vfs_rename(const char *from, const char *to);

/* lunik_vfs_access: as access(2) (F_OK, R_OK, W_OK, X_OK). 0. */
int lunik_vfs_access(const char *path, int amode);

/* lunik_vfs_getcwd: as getcwd(2): copies the NUL-terminated working
 * directory into buf; returns its length with the NUL, or -ERANGE. */
long lunik_vfs_getcwd(char *buf, size_t n);

/* lunik_vfs_chdir: as chdir(2). 0. */
int lunik_vfs_chdir(const char *path);

/* lunik_vfs_getdents: as getdents64(2): fill buf with struct linux_dirent64
 * records for a directory handle; bytes filled, 0 at the end. */
long lunik_vfs_getdents(int h, void *buf, size_t n);

#endif
