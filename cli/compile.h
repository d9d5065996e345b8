/* compile.h: compile Lua source to byte code, and read the Lua search path. */
#ifndef LUNIK_CLI_COMPILE_H
#define LUNIK_CLI_COMPILE_H

#include <stddef.h>

#include "cli.h"

/*
 * cli_compile_lua: compile src (len bytes: Lua source, or a precompiled
 * chunk; a first line starting with '#' and a UTF-8 byte order mark are
 * skipped as luaL_loadfile skips them) under chunkname ("@hello.lua": what
 * tracebacks show) and append its byte code, with debug information (line
 * numbers, local names: lua_dump with strip 0), to out. Returns 0; or, for
 * a syntax error, LUNIK_EXIT_DATAERR after "lunik: DISPLAY:LINE: MESSAGE"
 * on stderr, where DISPLAY names the file for the user (its path as typed).
 */
int cli_compile_lua(const unsigned char *src, size_t len,
                    const char *chunkname, const char *display,
                    struct cli_buf *out);

/*
 * cli_lua_path: package.path of a fresh Lua state (from LUA_PATH_5_4 or
 * LUA_PATH, ";;" replaced by Lua's default path, as Lua's package library
 * sets it up; Debian's default otherwise). A new string.
 */
char *cli_lua_path(void);

#endif
