/* sys.c: the guest's Linux system-call shim, so musl runs unmodified. */
#include "sys.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "fd.h"
#include "lunik/platform.h"
#include "lunik/vfs.h"

/* Generated from asm/unistd_64.h by guest/build.mk: [nr] = "name", ... */
static const char *const syscall_names[] = {
#include "syscall_names.h"
};
#define NSYSCALL_NAMES (sizeof syscall_names / sizeof syscall_names[0])

#define NS 1000000000ull
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define S_IFCHR_MODE 0020620u           /* console: a character device */

/* struct stat as the x86_64 Linux kernel writes it (asm/stat.h). */
struct linux_stat {
    uint64_t dev, ino, nlink;
    uint32_t mode, uid, gid, pad0;
    uint64_t rdev;
    int64_t size, blksize, blocks;
    uint64_t atime, atime_ns, mtime, mtime_ns, ctime, ctime_ns;
    int64_t unused[3];
};

struct linux_timespec { int64_t sec, nsec; };
struct linux_timeval { int64_t sec, usec; };
struct linux_winsize { uint16_t rows, cols, xpixel, ypixel; };
struct linux_utsname { char f[6][65]; };

static struct guest_mem *sys_mem;
static uint64_t sys_boot_ns;            /* CLOCK_PROCESS_CPUTIME_ID origin */
static uint64_t sys_tls;
static uint8_t sys_logged[(NSYSCALL_NAMES + 1024 + 7) / 8];
static struct lunik_guest_counters sys_counters;

void guest_sys_init(struct guest_mem *m)
{
    sys_mem = m;
    sys_boot_ns = plat_clock_monotonic();
    guest_fd_init();
}

/* ---- console and files ---- */

/* Console input: block (yield) until some bytes or the end arrive, unless
 * block is 0. Returns bytes, 0 at the end (or nothing, not blocking). */
static long console_read(void *buf, size_t n, int block)
{
    for (;;) {
        long r = plat_console_read(buf, n);
        if (r > 0)
            return r;
        if (r == PLAT_EOF || !block)
            return 0;
        plat_yield(UINT64_MAX, PLAT_READY_CONSOLE);
    }
}

static long fd_read(int fd, void *buf, size_t n, int block)
{
    struct guest_fd *f = guest_fd_get(fd);

    if (f == NULL)
        return -EBADF;
    if (f->kind == GUEST_FD_VFS)
        return lunik_vfs_read(f->handle, buf, n);
    if (f->handle != 0)
        return -EBADF;
    return n == 0 ? 0 : console_read(buf, n, block);
}

static long fd_write(int fd, const void *buf, size_t n)
{
    struct guest_fd *f = guest_fd_get(fd);

    if (f == NULL)
        return -EBADF;
    if (f->kind == GUEST_FD_VFS)
        return lunik_vfs_write(f->handle, buf, n);
    if (f->handle == 0)
        return -EBADF;
    if (f->handle == 2)
        fflush(stdout);                 /* stdio's buffered stdout first
                                           (lua_guest.h): program order */
    if (n > 0)
        plat_console_write(f->handle, buf, n);
    return (long)n;
}

/* readv(2): only the first bytes may block, as a pipe's read. */
/* readv(2) and writev(2): the vector's buffers in turn, stopping at the
 * first short one; a read blocks only for the first buffer. */
static long sys_rwv(int fd, const struct iovec *iov, int cnt, int out)
{
    long total = 0;

    if (cnt < 0 || cnt > 1024)
        return -EINVAL;
    for (int i = 0; i < cnt; i++) {
        long r = out ? fd_write(fd, iov[i].iov_base, iov[i].iov_len)
                     : fd_read(fd, iov[i].iov_base, iov[i].iov_len,
                               total == 0);
        if (r < 0)
            return total > 0 ? total : r;
        total += r;
        if ((size_t)r < iov[i].iov_len)
            break;
    }
    return total;
}

static int vfs_handle(int fd, int *h)
{
    struct guest_fd *f = guest_fd_get(fd);

    if (f == NULL)
        return -EBADF;
    if (f->kind != GUEST_FD_VFS)
        return -ESPIPE;
    *h = f->handle;
    return 0;
}

/* Paths relative to a directory descriptor: only the working directory
 * (AT_FDCWD) is supported; absolute paths ignore dirfd, as Linux. */
static int check_dirfd(int dirfd, const char *path)
{
    if (path[0] == '/' || dirfd == AT_FDCWD)
        return 0;
    if (guest_fd_get(dirfd) == NULL)
        return -EBADF;
    return -EOPNOTSUPP;
}

static long sys_openat(int dirfd, const char *path, int flags, uint32_t mode)
{
    int h, fd, r = check_dirfd(dirfd, path);

    if (r < 0)
        return r;
    h = lunik_vfs_open(path, flags, mode);
    if (h < 0)
        return h;
    fd = guest_fd_alloc(0, GUEST_FD_VFS, h,
                        flags & ~(O_CREAT | O_EXCL | O_TRUNC | O_CLOEXEC));
    if (fd < 0) {
        lunik_vfs_close(h);
        return fd;
    }
    guest_fd_get(fd)->cloexec = (flags & O_CLOEXEC) != 0;
    return fd;
}

static void stat_fill(struct linux_stat *st, const struct lunik_vfs_stat *v)
{
    memset(st, 0, sizeof *st);
    st->dev = 1;
    st->ino = v->ino;
    st->nlink = 1;
    st->mode = v->mode;
    st->size = (int64_t)v->size;
    st->blksize = 4096;
    st->blocks = (int64_t)((v->size + 511) / 512);
    st->atime = st->mtime = st->ctime = v->mtime_ns / NS;
    st->atime_ns = st->mtime_ns = st->ctime_ns = v->mtime_ns % NS;
}

static long sys_fstat(int fd, struct linux_stat *st)
{
    struct guest_fd *f = guest_fd_get(fd);
    struct lunik_vfs_stat v;
    int r;

    if (f == NULL)
        return -EBADF;
    if (f->kind == GUEST_FD_CONSOLE) {
        memset(st, 0, sizeof *st);
        st->mode = S_IFCHR_MODE;
        st->nlink = 1;
        st->blksize = 1024;
        return 0;
    }
    r = lunik_vfs_fstat(f->handle, &v);
    if (r == 0)
        stat_fill(st, &v);
    return r;
}

static long sys_fstatat(int dirfd, const char *path, struct linux_stat *st,
                        int flags)
{
    struct lunik_vfs_stat v;
    int r;

    if (path[0] == '\0' && (flags & AT_EMPTY_PATH))
        return sys_fstat(dirfd, st);
    r = check_dirfd(dirfd, path);
    if (r == 0)
        r = lunik_vfs_stat(path, &v);
    if (r == 0)
        stat_fill(st, &v);
    return r;
}

static long sys_ioctl(int fd, unsigned long req, void *arg)
{
    struct guest_fd *f = guest_fd_get(fd);
    struct linux_winsize *ws = arg;
    uint16_t rows, cols;

    if (f == NULL)
        return -EBADF;
    if (f->kind != GUEST_FD_CONSOLE || req != TIOCGWINSZ)
        return -ENOTTY;
    if (guest_console_winsize(f->handle, &rows, &cols) < 0)
        return -ENOTTY;
    *ws = (struct linux_winsize){ rows, cols, 0, 0 };
    return 0;
}

static long sys_fcntl(int fd, int cmd, long arg)
{
    struct guest_fd *f = guest_fd_get(fd);

    if (f == NULL)
        return -EBADF;
    switch (cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        return guest_fd_dup(fd, (int)arg, cmd == F_DUPFD_CLOEXEC);
    case F_GETFD:
        return f->cloexec ? FD_CLOEXEC : 0;
    case F_SETFD:
        f->cloexec = (arg & FD_CLOEXEC) != 0;
        return 0;
    case F_GETFL:
        return f->flags;
    case F_SETFL:                       /* only the changeable flags */
        f->flags = (f->flags & O_ACCMODE) | ((int)arg & ~O_ACCMODE);
        return 0;
    default:
        return -EINVAL;
    }
}

static long sys_dup3(int old, int new, int flags)
{
    if (flags & ~O_CLOEXEC)
        return -EINVAL;
    return guest_fd_dup3(old, new, (flags & O_CLOEXEC) != 0);
}

static long sys_dup2(int old, int new)
{
    if (old == new)
        return guest_fd_get(old) ? new : -EBADF;
    return guest_fd_dup3(old, new, 0);
}

static long sys_unlinkat(int dirfd, const char *path, int flags)
{
    int r = check_dirfd(dirfd, path);

    if (r < 0)
        return r;
    if (flags & ~AT_REMOVEDIR)
        return -EINVAL;
    return flags ? lunik_vfs_rmdir(path) : lunik_vfs_unlink(path);
}

static long sys_renameat2(int olddir, const char *from, int newdir,
                          const char *to, unsigned flags)
{
    int r = check_dirfd(olddir, from);

    if (r == 0)
        r = check_dirfd(newdir, to);
    if (r < 0)
        return r;
    return flags ? -EINVAL : lunik_vfs_rename(from, to);
}

static long sys_getcwd(char *buf, size_t n)
{
    return lunik_vfs_getcwd(buf, n);
}

/* ---- time ---- */

static long clock_ns(int clk, uint64_t *ns)
{
    switch (clk) {
    case CLOCK_REALTIME:
    case CLOCK_REALTIME_COARSE:
    case 8:                             /* CLOCK_REALTIME_ALARM */
    case 11:                            /* CLOCK_TAI */
        *ns = plat_clock_wall();
        return 0;
    case CLOCK_MONOTONIC:
    case CLOCK_MONOTONIC_RAW:
    case CLOCK_MONOTONIC_COARSE:
    case CLOCK_BOOTTIME:
    case 9:                             /* CLOCK_BOOTTIME_ALARM */
        *ns = plat_clock_monotonic();
        return 0;
    case CLOCK_PROCESS_CPUTIME_ID:      /* the only thread, never descheduled */
    case CLOCK_THREAD_CPUTIME_ID:
        *ns = plat_clock_monotonic() - sys_boot_ns;
        return 0;
    default:
        return -EINVAL;
    }
}

static long sys_clock_gettime(int clk, struct linux_timespec *ts)
{
    uint64_t ns;
    long r = clock_ns(clk, &ns);

    if (r == 0)
        *ts = (struct linux_timespec){ (int64_t)(ns / NS),
                                       (int64_t)(ns % NS) };
    return r;
}

static long sys_clock_getres(int clk, struct linux_timespec *ts)
{
    uint64_t ns;
    long r = clock_ns(clk, &ns);

    if (r == 0 && ts != NULL)
        *ts = (struct linux_timespec){ 0, 1 };
    return r;
}

static long sys_gettimeofday(struct linux_timeval *tv)
{
    uint64_t ns = plat_clock_wall();

    if (tv != NULL)
        *tv = (struct linux_timeval){ (int64_t)(ns / NS),
                                      (int64_t)(ns % NS / 1000) };
    return 0;
}

static long sys_time(int64_t *t)
{
    int64_t s = (int64_t)(plat_clock_wall() / NS);

    if (t != NULL)
        *t = s;
    return s;
}

/* clock_nanosleep(2): yield to the monitor until the clock passes the
 * deadline; console input does not wake us (events mask 0). */
static long sys_clock_nanosleep(int clk, int flags,
                                const struct linux_timespec *req,
                                struct linux_timespec *rem)
{
    uint64_t now, want, mono;
    long r = clock_ns(clk, &now);

    if (r < 0)
        return r;
    if (req->sec < 0 || req->nsec < 0 || (uint64_t)req->nsec >= NS)
        return -EINVAL;
    want = (uint64_t)req->sec * NS + (uint64_t)req->nsec;
    if (flags & TIMER_ABSTIME)
        want = want > now ? want - now : 0;
    mono = plat_clock_monotonic();
    while (plat_clock_monotonic() - mono < want)
        plat_yield(mono + want, 0);
    if (rem != NULL)
        *rem = (struct linux_timespec){ 0, 0 };
    return 0;
}

/* ---- process ---- */

static long sys_uname(struct linux_utsname *u)
{
    static const char *const fields[6] = {
        "lunik", "lunik", "0.1", "lunik unikernel", "x86_64", "(none)",
    };

    memset(u, 0, sizeof *u);
    for (int i = 0; i < 6; i++)
        strcpy(u->f[i], fields[i]);
    return 0;
}

static long sys_arch_prctl(int code, uint64_t addr)
{
    switch (code) {
    case ARCH_SET_FS:
        sys_tls = addr;
        guest_set_tls(addr);
        return 0;
    case ARCH_GET_FS:
        *(uint64_t *)(uintptr_t)addr = sys_tls;
        return 0;
    default:
        return -EINVAL;
    }
}

/* kill(2), tkill(2), tgkill(2) of ourselves: no handlers run here, so a
 * signal ends the program with the shell's status for it (abort(): 134). */
static long sys_kill_self(long pid, int sig)
{
    if (pid != 1 && pid != 0 && pid != -1)
        return -ESRCH;
    if (sig < 0 || sig > 64)
        return -EINVAL;
    if (sig == 0)
        return 0;
    plat_exit(128 + sig);
}

static long sys_getrandom(void *buf, size_t n)
{
    guest_random(buf, n);
    return (long)n;
}

static long sys_unsupported(unsigned nr)
{
    static const char head[] = "lunik: guest: unsupported system call ";
    char line[96];
    const char *name = nr < NSYSCALL_NAMES ? syscall_names[nr] : NULL;
    size_t n = sizeof head - 1;

    if (nr < sizeof sys_logged * 8) {
        if (sys_logged[nr / 8] & (1u << (nr % 8)))
            return -ENOSYS;
        sys_logged[nr / 8] |= (uint8_t)(1u << (nr % 8));
    }
    memcpy(line, head, n);
    if (name != NULL) {
        size_t k = strlen(name);
        if (k > sizeof line - n - 1)
            k = sizeof line - n - 1;
        memcpy(line + n, name, k);
        n += k;
    } else {
        char digits[12];
        int k = 0;
        do
            digits[k++] = (char)('0' + nr % 10);
        while ((nr /= 10) > 0);
        while (k > 0)
            line[n++] = digits[--k];
    }
    line[n++] = '\n';
    plat_console_write(PLAT_STDERR, line, n);
    return -ENOSYS;
}

/* ---- dispatch ---- */

#define A(i) args[i]
#define P(i) ((void *)(uintptr_t)args[i])
#define S(i) ((const char *)(uintptr_t)args[i])
#define I(i) ((int)args[i])
#define U(i) ((size_t)args[i])

static long dispatch_other(unsigned nr, const long *args);

static long dispatch_files(unsigned nr, const long *args)
{
    int h, r;

    switch (nr) {
    case SYS_read:      return fd_read(I(0), P(1), U(2), 1);
    case SYS_write:     return fd_write(I(0), P(1), U(2));
    case SYS_readv:     return sys_rwv(I(0), P(1), I(2), 0);
    case SYS_writev:    return sys_rwv(I(0), P(1), I(2), 1);
    case SYS_pread64:
        r = vfs_handle(I(0), &h);
        return r < 0 ? r : lunik_vfs_pread(h, P(1), U(2), A(3));
    case SYS_pwrite64:
        r = vfs_handle(I(0), &h);
        return r < 0 ? r : lunik_vfs_pwrite(h, P(1), U(2), A(3));
    case SYS_lseek:
        r = vfs_handle(I(0), &h);
        return r < 0 ? r : lunik_vfs_lseek(h, A(1), I(2));
    case SYS_open:      return sys_openat(AT_FDCWD, S(0), I(1), (uint32_t)A(2));
    case SYS_openat:    return sys_openat(I(0), S(1), I(2), (uint32_t)A(3));
    case SYS_close:     return guest_fd_close(I(0));
    case SYS_fstat:     return sys_fstat(I(0), P(1));
    case SYS_stat:      return sys_fstatat(AT_FDCWD, S(0), P(1), 0);
    case SYS_lstat:     return sys_fstatat(AT_FDCWD, S(0), P(1), 0);
    case SYS_newfstatat: return sys_fstatat(I(0), S(1), P(2), I(3));
    case SYS_access:    return lunik_vfs_access(S(0), I(1));
    case SYS_faccessat:
    case SYS_faccessat2:
        r = check_dirfd(I(0), S(1));
        return r < 0 ? r : lunik_vfs_access(S(1), I(2));
    case SYS_unlink:    return lunik_vfs_unlink(S(0));
    case SYS_unlinkat:  return sys_unlinkat(I(0), S(1), I(2));
    case SYS_rename:    return lunik_vfs_rename(S(0), S(1));
    case SYS_renameat:  return sys_renameat2(I(0), S(1), I(2), S(3), 0);
    case SYS_renameat2:
        return sys_renameat2(I(0), S(1), I(2), S(3), (unsigned)A(4));
    case SYS_mkdir:     return lunik_vfs_mkdir(S(0), (uint32_t)A(1));
    case SYS_mkdirat:
        r = check_dirfd(I(0), S(1));
        return r < 0 ? r : lunik_vfs_mkdir(S(1), (uint32_t)A(2));
    case SYS_rmdir:     return lunik_vfs_rmdir(S(0));
    case SYS_getcwd:    return sys_getcwd(P(0), U(1));
    case SYS_chdir:     return lunik_vfs_chdir(S(0));
    case SYS_dup:       return guest_fd_dup(I(0), 0, 0);
    case SYS_dup2:      return sys_dup2(I(0), I(1));
    case SYS_dup3:      return sys_dup3(I(0), I(1), I(2));
    case SYS_fcntl:     return sys_fcntl(I(0), I(1), A(2));
    case SYS_ioctl:     return sys_ioctl(I(0), (unsigned long)A(1), P(2));
    case SYS_ftruncate:
        r = vfs_handle(I(0), &h);
        return r < 0 ? (r == -ESPIPE ? -EINVAL : r)
                     : lunik_vfs_ftruncate(h, A(1));
    case SYS_getdents64:
        r = vfs_handle(I(0), &h);
        return r < 0 ? (r == -ESPIPE ? -ENOTDIR : r)
                     : lunik_vfs_getdents(h, P(1), U(2));
    case SYS_fsync:
    case SYS_fdatasync:
        return guest_fd_get(I(0)) ? 0 : -EBADF;
    default:
        return dispatch_other(nr, args);
    }
}

static long dispatch_other(unsigned nr, const long *args)
{
    struct guest_mem *m = sys_mem;

    switch (nr) {
    case SYS_brk:       return (long)guest_mem_brk(m, (uintptr_t)A(0));
    case SYS_mmap:
        return guest_mem_mmap(m, (uintptr_t)A(0), U(1), I(2), I(3), I(4),
                              A(5));
    case SYS_munmap:    return guest_mem_munmap(m, (uintptr_t)A(0), U(1));
    case SYS_mremap:
        return guest_mem_mremap(m, (uintptr_t)A(0), U(1), U(2), I(3),
                                (uintptr_t)A(4));
    case SYS_madvise:
        return guest_mem_madvise(m, (uintptr_t)A(0), U(1), I(2));
    case SYS_mprotect:  return 0;
    case SYS_clock_gettime: return sys_clock_gettime(I(0), P(1));
    case SYS_clock_getres:  return sys_clock_getres(I(0), P(1));
    case SYS_gettimeofday:  return sys_gettimeofday(P(0));
    case SYS_time:          return sys_time(P(0));
    case SYS_nanosleep:
        return sys_clock_nanosleep(CLOCK_MONOTONIC, 0, P(0), P(1));
    case SYS_clock_nanosleep:
        return sys_clock_nanosleep(I(0), I(1), P(2), P(3));
    case SYS_arch_prctl:    return sys_arch_prctl(I(0), (uint64_t)A(1));
    case SYS_set_tid_address:
    case SYS_getpid:
    case SYS_gettid:
        return 1;
    case SYS_getppid:
    case SYS_getuid:
    case SYS_geteuid:
    case SYS_getgid:
    case SYS_getegid:
    case SYS_rt_sigprocmask:
    case SYS_rt_sigaction:
        return 0;
    case SYS_kill:      return sys_kill_self(A(0), I(1));
    case SYS_tkill:     return sys_kill_self(A(0), I(1));
    case SYS_tgkill:    return sys_kill_self(A(1), I(2));
    case SYS_getrandom: return sys_getrandom(P(0), U(1));
    case SYS_uname:     return sys_uname(P(0));
    case SYS_exit:
    case SYS_exit_group:
        plat_exit(I(0) & 0xff);
    default:
        return sys_unsupported(nr);
    }
}

static unsigned slot(unsigned nr)
{
    return nr < LUNIK_GUEST_NSYSCALLS ? nr : LUNIK_GUEST_NSYSCALLS - 1;
}

long guest_sys_dispatch(unsigned nr, const long args[6])
{
    sys_counters.syscalls[slot(nr)]++;
    return dispatch_files(nr, args);
}

long guest_sys_call(unsigned nr, const long args[6])
{
    sys_counters.direct[slot(nr)]++;
    return dispatch_files(nr, args);
}

struct lunik_guest_counters *guest_sys_counters(void)
{
    return &sys_counters;
}
