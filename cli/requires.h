/* requires.h: find the modules a Lua source requires by name. */
#ifndef LUNIK_CLI_REQUIRES_H
#define LUNIK_CLI_REQUIRES_H

#include <stddef.h>

/*
 * cli_scan_requires: call found(ctx, name, n) for every literal module name
 * in src (len bytes of Lua source) given to the global `require` as
 * `require "m"`, `require 'm'`, `require [[m]]` or `require("m")` (any
 * spacing), in source order, duplicates included. Comments and other
 * strings are skipped as Lua's lexer skips them; a name built at run time
 * (`require("pl." .. x)`) cannot be known and is not reported. name is not
 * NUL-terminated; it holds only letters, digits, '_', '-' and single inner
 * dots.
 */
void cli_scan_requires(const char *src, size_t len,
                       void (*found)(void *ctx, const char *name, size_t n),
                       void *ctx);

#endif
