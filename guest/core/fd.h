/* fd.h: the guest's file-descriptor table: console streams and VFS handles. */
#ifndef LUNIK_GUEST_FD_H
#define LUNIK_GUEST_FD_H

#define GUEST_FD_MAX 256                /* as RLIMIT_NOFILE */

enum guest_fd_kind {
    GUEST_FD_FREE = 0,
    GUEST_FD_CONSOLE,                   /* handle: stream 0, 1 or 2 */
    GUEST_FD_VFS,                       /* handle: a lunik_vfs handle */
};

/* One descriptor. A VFS handle is shared by dup()ed descriptors through
 * its reference count (lunik_vfs_ref / lunik_vfs_close). */
struct guest_fd {
    enum guest_fd_kind kind;
    int handle;
    int flags;                          /* O_* status flags (F_GETFL) */
    int cloexec;                        /* FD_CLOEXEC (F_GETFD) */
};

/* guest_fd_init: empty the table, then fds 0, 1, 2 are console streams
 * 0, 1, 2 (without closing VFS handles: call once, at start). */
void guest_fd_init(void);

/* guest_fd_get: the descriptor fd, or NULL if fd is not open. */
struct guest_fd *guest_fd_get(int fd);

/* guest_fd_alloc: the lowest free descriptor >= min, set to kind/handle/
 * flags (as open(2) picks descriptors). Returns it, or -EMFILE, -EINVAL. */
int guest_fd_alloc(int min, enum guest_fd_kind kind, int handle, int flags);

/* guest_fd_close: as close(2): free fd, dropping its VFS reference.
 * 0, or -EBADF. */
int guest_fd_close(int fd);

/* guest_fd_dup: as fcntl(F_DUPFD): copy old to the lowest free fd >= min.
 * Returns the new fd, or -EBADF, -EMFILE, -EINVAL. */
int guest_fd_dup(int old, int min, int cloexec);

/* guest_fd_dup3: as dup3(2) (dup2 when old == new is the caller's job):
 * close new if open, then make it a copy of old. new, or -EBADF, -EINVAL. */
int guest_fd_dup3(int old, int new, int cloexec);

#endif
