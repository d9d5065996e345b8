/* image.c: write lunik images; read them back checking every field. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lunik/run.h"
#include "bundle.h"
#include "cli.h"
#include "image.h"

_Static_assert(sizeof(struct lunik_image_header) == 64, "image header");

#define CLI_WHY(...) (snprintf(why, why_len, __VA_ARGS__), -1)

/* cli_crc32: zlib's CRC-32 of n bytes, fed in pieces zlib's uInt can take. */
static uint32_t cli_crc32(const void *p, size_t n)
{
    const unsigned char *b = p;
    uLong crc = crc32(0L, Z_NULL, 0);
    while (n > 0) {
        uInt piece = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, b, piece);
        b += piece;
        n -= piece;
    }
    return (uint32_t)crc;
}

static uint32_t cli_header_crc(const struct lunik_image_header *h)
{
    return cli_crc32(h, offsetof(struct lunik_image_header, header_crc32));
}

static uint64_t cli_align_up(uint64_t n)
{
    return (n + LUNIK_IMAGE_ALIGN - 1) & ~(uint64_t)(LUNIK_IMAGE_ALIGN - 1);
}

int cli_kernel_check(const unsigned char *p, size_t n, char *why,
                     size_t why_len)
{
    Elf64_Ehdr eh;
    if (n < sizeof eh)
        return CLI_WHY("it is too short for an ELF header");
    memcpy(&eh, p, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0)
        return CLI_WHY("it is not an ELF file");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_X86_64)
        return CLI_WHY("it is not an x86_64 ELF file");
    if (eh.e_type != ET_EXEC)
        return CLI_WHY("it is not an ELF executable (ET_EXEC)");
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 ||
        eh.e_phoff > n ||
        (n - eh.e_phoff) / sizeof(Elf64_Phdr) < eh.e_phnum)
        return CLI_WHY("its program headers lie outside it");
    return 0;
}

int cli_image_looks_like(const unsigned char *data, size_t size)
{
    return size >= 8 && memcmp(data, LUNIK_IMAGE_MAGIC, 8) == 0;
}

/* cli_check_header: the header's own fields; sections inside 2^63. */
static int cli_check_header(const struct lunik_image_header *h, char *why,
                            size_t why_len)
{
    if (cli_header_crc(h) != h->header_crc32)
        return CLI_WHY("the header checksum does not match");
    if (h->version != LUNIK_IMAGE_VERSION)
        return CLI_WHY("image format version %" PRIu32 " is not %u",
                       h->version, LUNIK_IMAGE_VERSION);
    if (h->header_size != sizeof *h || h->reserved != 0)
        return CLI_WHY("the header has an unknown layout");
    if (h->kernel_offset % LUNIK_IMAGE_ALIGN != 0 ||
        h->bundle_offset % LUNIK_IMAGE_ALIGN != 0)
        return CLI_WHY("a section is not aligned to %u bytes",
                       LUNIK_IMAGE_ALIGN);
    if (h->kernel_offset < sizeof *h || h->kernel_size > INT64_MAX ||
        h->kernel_offset > INT64_MAX - h->kernel_size ||
        h->bundle_offset < h->kernel_offset + h->kernel_size ||
        h->bundle_size > INT64_MAX ||
        h->bundle_offset > INT64_MAX - h->bundle_size)
        return CLI_WHY("the sections overlap or lie beyond any file");
    return 0;
}

/* cli_check_sections: checksums and contents, once the file is complete. */
static int cli_check_sections(const unsigned char *data,
                              struct cli_image *img, char *why,
                              size_t why_len)
{
    const struct lunik_image_header *h = &img->header;
    img->kernel = data + h->kernel_offset;
    img->bundle = data + h->bundle_offset;
    if (cli_crc32(img->kernel, h->kernel_size) != h->kernel_crc32)
        return CLI_WHY("the kernel checksum does not match");
    if (cli_crc32(img->bundle, h->bundle_size) != h->bundle_crc32)
        return CLI_WHY("the bundle checksum does not match");
    char elf_why[128];
    if (cli_kernel_check(img->kernel, h->kernel_size, elf_why,
                         sizeof elf_why) != 0)
        return CLI_WHY("the kernel is unusable: %s", elf_why);
    return cli_bundle_check(img->bundle, h->bundle_size, &img->main_path,
                            why, why_len);
}

int cli_image_parse(const char *name, const unsigned char *data, size_t size,
                    struct cli_image *img)
{
    struct lunik_image_header *h = &img->header;
    char why[256];
    memset(img, 0, sizeof *img);
    if (!cli_image_looks_like(data, size))
        return cli_fail(LUNIK_EXIT_DATAERR, "%s is not a lunik image", name);
    if (size < sizeof *h)
        return cli_fail(LUNIK_EXIT_DATAERR, "%s is truncated: %zu bytes, "
                        "shorter than the %zu-byte header", name, size,
                        sizeof *h);
    memcpy(h, data, sizeof *h);
    if (cli_check_header(h, why, sizeof why) != 0)
        return cli_fail(LUNIK_EXIT_DATAERR, "%s is corrupt: %s", name, why);
    uint64_t end = h->bundle_offset + h->bundle_size;
    if (size < end)
        return cli_fail(LUNIK_EXIT_DATAERR, "%s is truncated: %zu bytes of "
                        "%" PRIu64, name, size, end);
    if (size > end)
        return cli_fail(LUNIK_EXIT_DATAERR, "%s is corrupt: %zu bytes "
                        "follow the bundle", name, (size_t)(size - end));
    if (cli_check_sections(data, img, why, sizeof why) != 0)
        return cli_fail(LUNIK_EXIT_DATAERR, "%s is corrupt: %s", name, why);
    return 0;
}

/* cli_write_all: write(2) n bytes, retrying short writes; 0 or errno. */
static int cli_write_all(int fd, const void *p, size_t n)
{
    const unsigned char *b = p;
    while (n > 0) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return errno;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

/* cli_write_sections: the image's bytes, padding included, to fd. */
static int cli_write_sections(int fd, const struct lunik_image_header *h,
                              const void *kernel, const void *bundle)
{
    static const unsigned char zeros[LUNIK_IMAGE_ALIGN];
    int e = cli_write_all(fd, h, sizeof *h);
    if (e == 0)
        e = cli_write_all(fd, zeros, h->kernel_offset - sizeof *h);
    if (e == 0)
        e = cli_write_all(fd, kernel, h->kernel_size);
    if (e == 0)
        e = cli_write_all(fd, zeros, h->bundle_offset - h->kernel_offset -
                          h->kernel_size);
    if (e == 0)
        e = cli_write_all(fd, bundle, h->bundle_size);
    return e;
}

/* cli_temp_beside: a new file beside path, mode 0666 & ~umask; fd or -1. */
static int cli_temp_beside(const char *path, char **temp)
{
    char *copy = cli_xstrdup(path);
    *temp = cli_xasprintf("%s/.lunik-image.XXXXXX", dirname(copy));
    free(copy);
    int fd = mkostemp(*temp, O_CLOEXEC);
    if (fd < 0)
        return -1;
    mode_t mask = umask(0);
    umask(mask);
    if (fchmod(fd, 0666 & ~mask) != 0) {
        int e = errno;
        close(fd);
        unlink(*temp);
        errno = e;
        return -1;
    }
    return fd;
}

int cli_image_write(const char *path, const void *kernel, size_t kernel_size,
                    const void *bundle, size_t bundle_size)
{
    struct lunik_image_header h = {0};
    memcpy(h.magic, LUNIK_IMAGE_MAGIC, sizeof h.magic);
    h.version = LUNIK_IMAGE_VERSION;
    h.header_size = sizeof h;
    h.kernel_offset = LUNIK_IMAGE_ALIGN;
    h.kernel_size = kernel_size;
    h.bundle_offset = cli_align_up(h.kernel_offset + kernel_size);
    h.bundle_size = bundle_size;
    h.kernel_crc32 = cli_crc32(kernel, kernel_size);
    h.bundle_crc32 = cli_crc32(bundle, bundle_size);
    h.header_crc32 = cli_header_crc(&h);

    struct stat st;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return cli_fail(LUNIK_EXIT_CANTCREAT, "cannot write %s: %s", path,
                        strerror(EISDIR));
    char *temp;
    int fd = cli_temp_beside(path, &temp), e = 0;
    if (fd < 0)
        e = errno;
    else {
        e = cli_write_sections(fd, &h, kernel, bundle);
        if (close(fd) != 0 && e == 0)
            e = errno;
        if (e == 0 && rename(temp, path) != 0)
            e = errno;
        if (e != 0)
            unlink(temp);
    }
    free(temp);
    if (e != 0)
        return cli_fail(LUNIK_EXIT_CANTCREAT, "cannot write %s: %s", path,
                        strerror(e));
    return 0;
}

void cli_image_print(FILE *out, const char *name, size_t size,
                     const struct cli_image *img)
{
    const struct lunik_image_header *h = &img->header;
    Elf64_Ehdr eh;
    memcpy(&eh, img->kernel, sizeof eh);
    struct lunik_bundle_header bh;
    memcpy(&bh, img->bundle, sizeof bh);
    fprintf(out, "image   %s: %zu bytes, format version %" PRIu32 "\n",
            name, size, h->version);
    fprintf(out, "kernel  %10" PRIu64 " bytes at %" PRIu64
            ", crc32 %08" PRIx32 ", x86_64 ELF, entry 0x%" PRIx64 "\n",
            h->kernel_size, h->kernel_offset, h->kernel_crc32,
            (uint64_t)eh.e_entry);
    fprintf(out, "bundle  %10" PRIu64 " bytes at %" PRIu64
            ", crc32 %08" PRIx32 ", %" PRIu32 " entries, main %s\n",
            h->bundle_size, h->bundle_offset, h->bundle_crc32, bh.count,
            img->main_path);
    cli_bundle_list(out, img->bundle);
}
