/* image.h: the on-disk format of a lunik image and of its file bundle. */
#ifndef LUNIK_IMAGE_H
#define LUNIK_IMAGE_H

/*
 * An image is one file: a header, the guest kernel (an x86_64 ELF executable)
 * and the bundle, each section aligned to 4096 bytes. All integers are
 * little-endian. Written by `lunik build` (cli/), read and checked by
 * cli/image.c before either target sees it.
 *
 *   offset 0                    struct lunik_image_header
 *   kernel_offset               kernel_size bytes: guest kernel ELF
 *   bundle_offset               bundle_size bytes: the bundle (below)
 *
 * The bundle is copied unchanged into guest memory (kvm target) or kept in
 * process memory (hosted target) and read by the VFS (vfs/). It holds every
 * file the program sees besides /tmp:
 *
 *   struct lunik_bundle_header
 *   struct lunik_bundle_entry [count]
 *   path bytes and file data, wherever the entries point
 *
 * Paths are absolute, '/'-separated, without "." or ".." components or a
 * trailing '/', and unique. Directories that hold a file are implied; an
 * entry with LUNIK_BUNDLE_DIR names an (empty) directory explicitly. The
 * tree is laid out as:
 *
 *   /app/...          the app's directory: the app (Lua byte code) and every
 *                     --file, at their paths relative to the app's directory;
 *                     the program's working directory
 *   /lib/lua/...      modules the app requires, as Lua byte code, at
 *                     NAME-with-dots-as-slashes.lua (or .../init.lua), so that
 *                     package.path "/lib/lua/?.lua;/lib/lua/?/init.lua" finds
 *                     them
 *
 * Exactly one entry has LUNIK_BUNDLE_MAIN: the app, run as the main chunk.
 */

#include <stdint.h>

#define LUNIK_IMAGE_MAGIC "LUNIKIMG"     /* 8 bytes, no NUL */
#define LUNIK_IMAGE_VERSION 1u
#define LUNIK_BUNDLE_MAGIC "LUNIKBDL"    /* 8 bytes, no NUL */
#define LUNIK_BUNDLE_VERSION 1u
#define LUNIK_IMAGE_ALIGN 4096u

struct lunik_image_header {
    char magic[8];              /* LUNIK_IMAGE_MAGIC */
    uint32_t version;           /* LUNIK_IMAGE_VERSION */
    uint32_t header_size;       /* sizeof(struct lunik_image_header) */
    uint64_t kernel_offset;     /* from the start of the file, bytes */
    uint64_t kernel_size;       /* bytes */
    uint64_t bundle_offset;     /* from the start of the file, bytes */
    uint64_t bundle_size;       /* bytes */
    uint32_t kernel_crc32;      /* CRC-32 (zlib crc32()) of the kernel */
    uint32_t bundle_crc32;      /* CRC-32 of the bundle */
    uint32_t header_crc32;      /* CRC-32 of this header up to this field */
    uint32_t reserved;          /* 0 */
};

struct lunik_bundle_header {
    char magic[8];              /* LUNIK_BUNDLE_MAGIC */
    uint32_t version;           /* LUNIK_BUNDLE_VERSION */
    uint32_t count;             /* number of entries after this header */
    uint64_t size;              /* bytes in the whole bundle, header included */
};

#define LUNIK_BUNDLE_DIR  0x1u  /* the entry is a directory (data_size 0) */
#define LUNIK_BUNDLE_MAIN 0x2u  /* the entry is the app's main chunk */

struct lunik_bundle_entry {
    uint64_t data_offset;       /* from the start of the bundle, bytes */
    uint64_t data_size;         /* bytes */
    uint32_t path_offset;       /* from the start of the bundle, bytes */
    uint32_t path_len;          /* bytes, no NUL counted (none required) */
    uint32_t flags;             /* LUNIK_BUNDLE_* */
    uint32_t reserved;          /* 0 */
};

#endif
