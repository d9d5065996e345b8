/* app.h: an app, its required modules and --file files, as a bundle. */
#ifndef LUNIK_CLI_APP_H
#define LUNIK_CLI_APP_H

#include <stddef.h>

#include "cli.h"

/*
 * cli_build_bundle: build the bundle of the app opt->input, whose contents
 * are src (len bytes), as `lunik build` describes it: the app compiled at
 * /app/NAME (main entry, chunk name "@NAME"), every module it requires,
 * transitively, compiled at /lib/lua/... (searched in opt->includes, the
 * app's directory, then cli_lua_path(); a module not found is skipped, with
 * a note under -v), and every opt->files entry as raw bytes under /app.
 * Appends the packed bundle to out and sets *main_rel to the app's path
 * relative to /app (a new string). Returns 0, or a LUNIK_EXIT_* code after
 * one line on stderr: DATAERR (syntax error), NOINPUT (a module or --file
 * unreadable or missing), USAGE (a --file outside the app's directory).
 */
int cli_build_bundle(const struct cli_options *opt, const unsigned char *src,
                     size_t len, struct cli_buf *out, char **main_rel);

#endif
