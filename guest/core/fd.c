/* fd.c: the guest's file-descriptor table: console streams and VFS handles. */
#include "fd.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>

#include "lunik/vfs.h"

static struct guest_fd table[GUEST_FD_MAX];

void guest_fd_init(void)
{
    for (int i = 0; i < GUEST_FD_MAX; i++)
        table[i] = (struct guest_fd){ .kind = GUEST_FD_FREE };
    for (int i = 0; i < 3; i++) {
        table[i].kind = GUEST_FD_CONSOLE;
        table[i].handle = i;
        table[i].flags = i == 0 ? O_RDONLY : O_WRONLY;
    }
}

struct guest_fd *guest_fd_get(int fd)
{
    if (fd < 0 || fd >= GUEST_FD_MAX || table[fd].kind == GUEST_FD_FREE)
        return NULL;
    return &table[fd];
}

int guest_fd_alloc(int min, enum guest_fd_kind kind, int handle, int flags)
{
    if (min < 0 || min >= GUEST_FD_MAX)
        return -EINVAL;
    for (int i = min; i < GUEST_FD_MAX; i++) {
        if (table[i].kind == GUEST_FD_FREE) {
            table[i] = (struct guest_fd){ kind, handle, flags, 0 };
            return i;
        }
    }
    return -EMFILE;
}

int guest_fd_close(int fd)
{
    struct guest_fd *f = guest_fd_get(fd);

    if (f == NULL)
        return -EBADF;
    if (f->kind == GUEST_FD_VFS)
        lunik_vfs_close(f->handle);
    f->kind = GUEST_FD_FREE;
    return 0;
}

int guest_fd_dup(int old, int min, int cloexec)
{
    struct guest_fd *f = guest_fd_get(old);
    int fd;

    if (f == NULL)
        return -EBADF;
    fd = guest_fd_alloc(min, f->kind, f->handle, f->flags);
    if (fd < 0)
        return fd;
    if (f->kind == GUEST_FD_VFS)
        lunik_vfs_ref(f->handle);
    table[fd].cloexec = cloexec;
    return fd;
}

int guest_fd_dup3(int old, int new, int cloexec)
{
    struct guest_fd *f = guest_fd_get(old);

    if (f == NULL || new < 0 || new >= GUEST_FD_MAX)
        return -EBADF;
    if (old == new)
        return -EINVAL;
    if (f->kind == GUEST_FD_VFS)
        lunik_vfs_ref(f->handle);       /* before closing: new may share it */
    guest_fd_close(new);
    table[new] = *f;
    table[new].cloexec = cloexec;
    return new;
}
