/* bundle.h: build, check and list bundles (include/lunik/image.h). */
#ifndef LUNIK_CLI_BUNDLE_H
#define LUNIK_CLI_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"

/* One file or directory to pack. */
struct cli_bundle_file {
    char *path;                 /* absolute, normalised (image.h rules) */
    unsigned char *data;        /* owned; NULL for a directory */
    size_t size;                /* bytes */
    uint32_t flags;             /* LUNIK_BUNDLE_* */
};

/* A bundle being built: files in the order added, paths unique. */
struct cli_bundle {
    struct cli_bundle_file *files;
    size_t count;
    size_t cap;
};

/*
 * cli_bundle_add: add a file (or, with LUNIK_BUNDLE_DIR, an empty
 * directory: data NULL, size 0) at path, taking ownership of data (from
 * malloc). Returns 0, or -1 when path is already in the bundle (the first
 * one stays; data is freed).
 */
int cli_bundle_add(struct cli_bundle *b, const char *path,
                   unsigned char *data, size_t size, uint32_t flags);

/* cli_bundle_contains: 1 if path is in the bundle, else 0. */
int cli_bundle_contains(const struct cli_bundle *b, const char *path);

/*
 * cli_bundle_pack: append the bundle, laid out as image.h describes, to out:
 * header, entries sorted by path, paths, then each file's data aligned to 16
 * bytes. The same files always give the same bytes.
 */
void cli_bundle_pack(struct cli_bundle *b, struct cli_buf *out);

/* cli_bundle_free: release every path and data buffer. */
void cli_bundle_free(struct cli_bundle *b);

/*
 * cli_bundle_check: check that p (n bytes) is a well-formed bundle: magic,
 * version, size, every entry's path and data inside it, paths absolute and
 * normalised and unique, no file also used as a directory, known flags,
 * exactly one LUNIK_BUNDLE_MAIN and it a file under /app. Returns 0 and sets
 * *main_path to the main entry's path (a new string), or -1 with a short
 * reason in why (why_len bytes).
 */
int cli_bundle_check(const unsigned char *p, size_t n, char **main_path,
                     char *why, size_t why_len);

/* cli_bundle_list: print one line per entry (flags, size, path) of a bundle
 * already accepted by cli_bundle_check. */
void cli_bundle_list(FILE *out, const unsigned char *p);

#endif
