/* util.c: buffers, checked allocation, error lines, file reading. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lunik/run.h"
#include "cli.h"

static _Noreturn void cli_out_of_memory(void)
{
    fputs("lunik: out of memory\n", stderr);
    exit(LUNIK_EXIT_OSERR);
}

void *cli_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        cli_out_of_memory();
    return p;
}

void *cli_xrealloc(void *p, size_t n)
{
    p = realloc(p, n ? n : 1);
    if (p == NULL)
        cli_out_of_memory();
    return p;
}

char *cli_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(cli_xmalloc(n), s, n);
}

char *cli_xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (p == NULL)
        cli_out_of_memory();
    return p;
}

char *cli_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    int n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0)
        cli_out_of_memory();
    return s;
}

void cli_buf_append(struct cli_buf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX - b->len)
        cli_out_of_memory();
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n)
            cap = cap > SIZE_MAX / 2 ? b->len + n : cap * 2;
        b->data = cli_xrealloc(b->data, cap);
        b->cap = cap;
    }
    if (p != NULL)
        memcpy(b->data + b->len, p, n);
    else
        memset(b->data + b->len, 0, n);
    b->len += n;
}

void cli_buf_align(struct cli_buf *b, size_t align)
{
    size_t rem = b->len % align;
    if (rem != 0)
        cli_buf_append(b, NULL, align - rem);
}

void cli_buf_free(struct cli_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void cli_vline(const char *fmt, va_list ap, const char *tail)
{
    /* One write per line, so that lines of concurrent writers do not mix. */
    char line[4096];
    int n = vsnprintf(line, sizeof line, fmt, ap);
    if (n < 0)
        n = 0;
    fprintf(stderr, "lunik: %.*s%s\n", (int)sizeof line - 1, line, tail);
}

int cli_fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vline(fmt, ap, "");
    va_end(ap);
    return code;
}

int cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vline(fmt, ap, " Try 'lunik --help'.");
    va_end(ap);
    return LUNIK_EXIT_USAGE;
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    cli_vline(fmt, ap, "");
    va_end(ap);
}

const char *cli_file_error(int e)
{
    return e == EINVAL ? "Not a regular file" : strerror(e);
}

int cli_read_file(const char *path, unsigned char **data, size_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno
          : S_ISDIR(st.st_mode) ? EISDIR
          : !S_ISREG(st.st_mode) && !S_ISFIFO(st.st_mode) ? EINVAL : 0;
    if (e != 0) {
        close(fd);
        return e;
    }
    struct cli_buf b = {0};
    if (S_ISREG(st.st_mode))
        cli_buf_append(&b, NULL, (size_t)st.st_size + 1);  /* reserve */
    b.len = 0;
    unsigned char chunk[65536];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            e = errno;
            close(fd);
            cli_buf_free(&b);
            return e;
        }
        if (n == 0)
            break;
        cli_buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    cli_buf_append(&b, "", 1);
    *data = b.data;
    *size = b.len - 1;
    return 0;
}

int cli_map_file(const char *path, struct cli_file *f)
{
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    int e = fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
    if (e == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
        void *p = mmap(NULL, (size_t)st.st_size, PROT_READ,
                       MAP_PRIVATE | MAP_POPULATE, fd, 0);
        if (p != MAP_FAILED) {
            f->data = p;
            f->size = (size_t)st.st_size;
            f->mapped = 1;
        }
    }
    close(fd);
    if (e == 0 && !f->mapped)           /* empty, a pipe, or mmap refused */
        e = cli_read_file(path, &f->data, &f->size);
    return e;
}

void cli_unmap_file(struct cli_file *f)
{
    if (f->mapped)
        munmap(f->data, f->size);
    else
        free(f->data);
    memset(f, 0, sizeof *f);
}
