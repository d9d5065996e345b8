/* guest_syscall_test.c: unit tests (TAP) of the guest's system-call shim, run natively. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>

#include "lunik/image.h"
#include "lunik/platform.h"
#include "lunik/vfs.h"
#include "sys.h"

static int test_n, failed;

static void ok(int cond, const char *name)
{
    test_n++;
    if (!cond)
        failed++;
    printf("%s %d - %s\n", cond ? "ok" : "not ok", test_n, name);
}

/* ---- fakes of platform.h and the shim's hooks ---- */

static char out[2][256];                /* stdout, stderr */
static size_t out_len[2];
static const char *input;               /* scripted console input */
static int input_waits;                 /* reads answered 0 before data */
static int yields;
static uint64_t fake_ns = 5000000000ull;
static int tty;
static jmp_buf exit_jump;

uint64_t plat_clock_monotonic(void) { return fake_ns; }
uint64_t plat_clock_wall(void) { return 1700000000000000000ull + fake_ns; }
const char *plat_target(void) { return "test"; }

void plat_console_write(int stream, const void *p, size_t n)
{
    int s = stream == PLAT_STDOUT ? 0 : 1;

    memcpy(out[s] + out_len[s], p, n);
    out_len[s] += n;
}

long plat_console_read(void *p, size_t n)
{
    size_t k;

    if (input_waits > 0) {
        input_waits--;
        return 0;
    }
    if (input == NULL || *input == '\0')
        return PLAT_EOF;
    k = strlen(input) < n ? strlen(input) : n;
    memcpy(p, input, k);
    input += k;
    return (long)k;
}

uint32_t plat_yield(uint64_t deadline_ns, uint32_t events)
{
    yields++;
    if (deadline_ns != UINT64_MAX && deadline_ns > fake_ns)
        fake_ns = deadline_ns;
    return events;
}

_Noreturn void plat_exit(int status)
{
    longjmp(exit_jump, status + 1);
}

int guest_console_winsize(int fd, uint16_t *rows, uint16_t *cols)
{
    if (!tty)
        return -1;
    *rows = 50;
    *cols = 132;
    return 0;
}

void guest_random(void *p, size_t n) { memset(p, 0x5a, n); }
void guest_set_tls(uint64_t base) { (void)base; }

/* ---- helpers ---- */

static long sys(unsigned nr, long a0, long a1, long a2, long a3)
{
    long args[6] = { a0, a1, a2, a3, 0, 0 };

    return guest_sys_dispatch(nr, args);
}

#define L(p) ((long)(uintptr_t)(p))

/* A bundle with /app/main.lua and /app/data.txt (image.h format). */
static unsigned char bundle[4096];

static size_t make_bundle(void)
{
    static const char *paths[] = { "/app/main.lua", "/app/data.txt" };
    static const char *data[] = { "print(1)\n", "hello data\n" };
    struct lunik_bundle_header *h = (void *)bundle;
    struct lunik_bundle_entry *e = (void *)(h + 1);
    size_t off = sizeof *h + 2 * sizeof *e;

    memcpy(h->magic, LUNIK_BUNDLE_MAGIC, 8);
    h->version = LUNIK_BUNDLE_VERSION;
    h->count = 2;
    for (int i = 0; i < 2; i++) {
        e[i].path_offset = (uint32_t)off;
        e[i].path_len = (uint32_t)strlen(paths[i]);
        memcpy(bundle + off, paths[i], e[i].path_len);
        off += e[i].path_len;
        e[i].data_offset = off;
        e[i].data_size = strlen(data[i]);
        memcpy(bundle + off, data[i], e[i].data_size);
        off += e[i].data_size;
        e[i].flags = i == 0 ? LUNIK_BUNDLE_MAIN : 0;
    }
    h->size = off;
    return off;
}

/* ---- tests ---- */

static void test_console(void)
{
    struct iovec iov[2] = { { "ab", 2 }, { "cd\n", 3 } };
    char buf[16];
    struct winsize ws;

    ok(sys(SYS_write, 1, L("hi"), 2, 0) == 2 && out_len[0] == 2 &&
       memcmp(out[0], "hi", 2) == 0, "write(1) goes to the console's stdout");
    ok(sys(SYS_writev, 2, L(iov), 2, 0) == 5 && out_len[1] == 5 &&
       memcmp(out[1], "abcd\n", 5) == 0, "writev(2) goes to stderr");
    input = "abc";
    input_waits = 2;
    yields = 0;
    ok(sys(SYS_read, 0, L(buf), sizeof buf, 0) == 3 && yields == 2 &&
       memcmp(buf, "abc", 3) == 0, "read(0) yields until input arrives");
    ok(sys(SYS_read, 0, L(buf), sizeof buf, 0) == 0,
       "read(0) returns 0 at the end of input");
    ok(sys(SYS_write, 0, L("x"), 1, 0) == -EBADF, "write(0) fails: EBADF");
    tty = 0;
    ok(sys(SYS_ioctl, 1, TIOCGWINSZ, L(&ws), 0) == -ENOTTY,
       "TIOCGWINSZ fails with ENOTTY when the host stream is no terminal");
    tty = 1;
    ok(sys(SYS_ioctl, 1, TIOCGWINSZ, L(&ws), 0) == 0 && ws.ws_col == 132,
       "TIOCGWINSZ succeeds on a terminal");
    ok(sys(SYS_write, 42, L("x"), 1, 0) == -EBADF, "an unopened fd: EBADF");
}

static void test_memory(void)
{
    long brk0 = sys(SYS_brk, 0, 0, 0, 0), a;

    ok(brk0 > 0 && sys(SYS_brk, brk0 + 8192, 0, 0, 0) == brk0 + 8192,
       "brk grows through the shim");
    a = sys(SYS_mmap, 0, 3 * 4096, PROT_READ | PROT_WRITE,
            MAP_PRIVATE | MAP_ANONYMOUS);
    ok(a > 0 && a % 4096 == 0, "mmap through the shim");
    memset((void *)a, 1, 3 * 4096);
    a = sys(SYS_mremap, a, 3 * 4096, 6 * 4096, MREMAP_MAYMOVE);
    ok(a > 0 && ((char *)a)[3 * 4096 - 1] == 1, "mremap through the shim");
    ok(sys(SYS_munmap, a, 6 * 4096, 0, 0) == 0, "munmap through the shim");
    ok(sys(SYS_mprotect, a, 4096, PROT_READ, 0) == 0, "mprotect succeeds");
}

static void test_files(void)
{
    char buf[64];
    struct stat st;
    int fd, fd2;

    fd = (int)sys(SYS_open, L("main.lua"), O_RDONLY, 0, 0);
    ok(fd == 3, "open of a bundled file, relative to /app, gives fd 3");
    ok(sys(SYS_read, fd, L(buf), sizeof buf, 0) == 9 &&
       memcmp(buf, "print(1)\n", 9) == 0, "read of a bundled file");
    ok(sys(SYS_fstat, fd, L(&st), 0, 0) == 0 && st.st_size == 9 &&
       S_ISREG(st.st_mode), "fstat of a bundled file");
    ok(sys(SYS_lseek, fd, 6, SEEK_SET, 0) == 6 &&
       sys(SYS_read, fd, L(buf), sizeof buf, 0) == 3, "lseek");
    ok(sys(SYS_write, fd, L("x"), 1, 0) < 0, "a read-only file refuses writes");
    ok(sys(SYS_lseek, 1, 0, SEEK_SET, 0) == -ESPIPE,
       "lseek on the console: ESPIPE");
    ok(sys(SYS_newfstatat, AT_FDCWD, L("/app/data.txt"), L(&st), 0) == 0 &&
       st.st_size == 11, "newfstatat by path");
    ok(sys(SYS_open, L("/app/missing"), O_RDONLY, 0, 0) == -ENOENT,
       "a missing file: ENOENT");
    fd2 = (int)sys(SYS_openat, AT_FDCWD, L("/tmp/t.txt"),
                   O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ok(fd2 == 4 && sys(SYS_fcntl, fd2, F_GETFD, 0, 0) == FD_CLOEXEC,
       "create in /tmp; O_CLOEXEC shows in F_GETFD");
    ok(sys(SYS_write, fd2, L("tmp data"), 8, 0) == 8 &&
       sys(SYS_close, fd2, 0, 0, 0) == 0, "write and close a /tmp file");
    ok(sys(SYS_rename, L("/tmp/t.txt"), L("/tmp/u.txt"), 0, 0) == 0 &&
       sys(SYS_access, L("/tmp/u.txt"), F_OK, 0, 0) == 0, "rename in /tmp");
    ok(sys(SYS_unlink, L("/tmp/u.txt"), 0, 0, 0) == 0 &&
       sys(SYS_stat, L("/tmp/u.txt"), L(&st), 0, 0) == -ENOENT, "unlink");
    ok(sys(SYS_getcwd, L(buf), sizeof buf, 0, 0) == 5 &&
       strcmp(buf, "/app") == 0, "getcwd is /app, length with the NUL");
    ok(sys(SYS_close, fd, 0, 0, 0) == 0 && sys(SYS_close, fd, 0, 0, 0) ==
       -EBADF, "close, then close again: EBADF");
}

/* musl's freopen: open the new file, dup3 it over the old fd, close it. */
static void test_dup(void)
{
    char buf[64];
    int a, b, d;

    a = (int)sys(SYS_open, L("/app/main.lua"), O_RDONLY, 0, 0);
    b = (int)sys(SYS_open, L("/app/data.txt"), O_RDONLY | O_CLOEXEC, 0, 0);
    ok(sys(SYS_dup3, b, a, O_CLOEXEC, 0) == a && sys(SYS_close, b, 0, 0, 0) == 0,
       "dup3 over an open fd, then close the source");
    ok(sys(SYS_read, a, L(buf), sizeof buf, 0) == 11 &&
       memcmp(buf, "hello data\n", 11) == 0,
       "the dup3 target now reads the new file (freopen pattern)");
    ok(sys(SYS_dup3, a, a, 0, 0) == -EINVAL, "dup3 onto itself: EINVAL");
    d = (int)sys(SYS_fcntl, a, F_DUPFD, 10, 0);
    ok(d == 10 && sys(SYS_lseek, d, 0, SEEK_CUR, 0) == 11,
       "F_DUPFD shares the file offset");
    ok(sys(SYS_dup2, 1, 20, 0, 0) == 20 &&
       sys(SYS_write, 20, L("!"), 1, 0) == 1 && out[0][out_len[0] - 1] == '!',
       "dup2 of the console");
    sys(SYS_close, a, 0, 0, 0);
    sys(SYS_close, d, 0, 0, 0);
    sys(SYS_close, 20, 0, 0, 0);
}

static void test_time_and_process(void)
{
    struct timespec ts, req = { 0, 2000000 };
    char uts[6 * 65];
    uint64_t before = fake_ns;

    ok(sys(SYS_clock_gettime, CLOCK_MONOTONIC, L(&ts), 0, 0) == 0 &&
       (uint64_t)ts.tv_sec == fake_ns / 1000000000u, "clock_gettime");
    ok(sys(SYS_clock_gettime, 99, L(&ts), 0, 0) == -EINVAL,
       "an unknown clock: EINVAL");
    ok(sys(SYS_nanosleep, L(&req), 0, 0, 0) == 0 &&
       fake_ns >= before + 2000000, "nanosleep yields until the deadline");
    ok(sys(SYS_uname, L(uts), 0, 0, 0) == 0 && strcmp(uts, "lunik") == 0,
       "uname: sysname lunik");
    ok(sys(SYS_getpid, 0, 0, 0, 0) == 1 && sys(SYS_getrandom, L(uts), 16, 0,
                                                  0) == 16, "getpid, getrandom");
}

static void test_unsupported(void)
{
    size_t before = out_len[1];

    ok(sys(SYS_socket, 2, 1, 0, 0) == -ENOSYS, "an unsupported call: ENOSYS");
    ok(strncmp(out[1] + before, "lunik: guest: unsupported system call "
               "socket\n", out_len[1] - before) == 0 &&
       out_len[1] > before, "its name is logged on stderr");
    before = out_len[1];
    sys(SYS_socket, 2, 1, 0, 0);
    ok(out_len[1] == before, "only once per call number");
}

static void test_exit(void)
{
    int r = setjmp(exit_jump);

    if (r == 0)
        sys(SYS_exit_group, 300, 0, 0, 0);
    ok(r == 300 % 256 + 1, "exit_group ends through plat_exit(status & 0xff)");
}

int main(void)
{
    static struct guest_mem mem;
    void *region = mmap(NULL, 64 << 12, PROT_READ | PROT_WRITE,
                        MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

    guest_mem_init(&mem, (uintptr_t)region, (uintptr_t)region + (64 << 12));
    guest_sys_init(&mem);
    ok(lunik_vfs_mount(bundle, make_bundle()) == 0, "a test bundle mounts");
    test_console();
    test_memory();
    test_files();
    test_dup();
    test_time_and_process();
    test_unsupported();
    test_exit();
    printf("1..%d\n", test_n);
    return failed != 0;
}
