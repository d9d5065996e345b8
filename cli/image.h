/* image.h: write lunik images; read them back checking every field. */
#ifndef LUNIK_CLI_IMAGE_H
#define LUNIK_CLI_IMAGE_H

#include <stddef.h>
#include <stdio.h>

#include "lunik/image.h"

/* An image read into memory and accepted by cli_image_parse. */
struct cli_image {
    struct lunik_image_header header;
    const unsigned char *kernel;    /* kernel ELF, header.kernel_size bytes */
    const unsigned char *bundle;    /* bundle, header.bundle_size bytes */
    char *main_path;                /* the bundle's main entry; owned */
};

/*
 * cli_image_looks_like: 1 if data (size bytes) starts with the image magic.
 */
int cli_image_looks_like(const unsigned char *data, size_t size);

/*
 * cli_image_parse: check data (size bytes, the whole file named name) as an
 * image: magic, header checksum and fields, sizes and 4096-byte alignment,
 * the kernel's and the bundle's CRC-32, the kernel's ELF header and the
 * bundle's structure (cli_bundle_check). Returns 0 and fills img (pointing
 * into data), or LUNIK_EXIT_DATAERR after one line on stderr: "lunik: NAME
 * is not a lunik image", "... is truncated: ...", or "... is corrupt: ...".
 */
int cli_image_parse(const char *name, const unsigned char *data, size_t size,
                    struct cli_image *img);

/*
 * cli_image_write: write header, kernel and bundle (sizes in bytes) to path,
 * through a temporary file in the same directory renamed over path, so that
 * path is either the old file or the complete new one. Returns 0, or
 * LUNIK_EXIT_CANTCREAT after one line on stderr.
 */
int cli_image_write(const char *path, const void *kernel, size_t kernel_size,
                    const void *bundle, size_t bundle_size);

/*
 * cli_kernel_check: 0 if p (n bytes) starts with the header of a 64-bit
 * little-endian x86_64 ELF executable (ELF-64 spec, ET_EXEC, EM_X86_64)
 * whose program headers lie inside it, else -1 with a reason in why.
 */
int cli_kernel_check(const unsigned char *p, size_t n, char *why,
                     size_t why_len);

/* cli_image_print: the `lunik inspect` report of an accepted image. */
void cli_image_print(FILE *out, const char *name, size_t size,
                     const struct cli_image *img);

#endif
