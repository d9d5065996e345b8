/* lua_redirect.h: sends the host Lua library's file-name calls to the VFS. */
#ifndef LUNIK_LUA_REDIRECT_H
#define LUNIK_LUA_REDIRECT_H

/*
 * Forced into every file of the host Lua library (the Makefile's
 * `-include`), so that lauxlib.c (luaL_loadfilex), liolib.c (io.open,
 * io.lines, io.tmpfile), loslib.c (os.remove, os.rename, os.tmpname) and
 * loadlib.c (require's searchers) see the bundle and /tmp instead of the
 * host's files, as the guest does. Each lunik_hosted_* function behaves as
 * the C function it replaces, and IS that function while no bundle is
 * mounted: `lunik build` reads real host files through the same library.
 * The streams returned are ordinary glibc FILEs (fopencookie(3)), so every
 * other stdio call works on them unchanged; stdin, stdout and stderr stay
 * the process's own.
 *
 * The system headers come first so that their prototypes keep their names;
 * only the Lua sources' calls are renamed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

FILE *lunik_hosted_fopen(const char *path, const char *mode);
FILE *lunik_hosted_freopen(const char *path, const char *mode, FILE *f);
FILE *lunik_hosted_tmpfile(void);
int lunik_hosted_remove(const char *path);
int lunik_hosted_rename(const char *from, const char *to);

/*
 * lunik_hosted_tmpnam: create a new empty file named /tmp/lua_XXXXXX (as
 * mkstemp(3), then closed) and copy its name to buf (at least
 * LUA_TMPNAMBUFSIZE bytes). Returns 0, or 1 with errno set.
 */
int lunik_hosted_tmpnam(char *buf);

#define fopen lunik_hosted_fopen
#define freopen lunik_hosted_freopen
#define tmpfile lunik_hosted_tmpfile
#define remove lunik_hosted_remove
#define rename lunik_hosted_rename

/* loslib.c's os.tmpname hook (luaconf.h style). */
#define LUA_TMPNAMBUFSIZE 32
#define lua_tmpnam(b, e) { e = lunik_hosted_tmpnam(b); }

#endif
