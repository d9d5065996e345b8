/* compile.c: compile Lua source to byte code, and read the Lua search path. */
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "lunik/run.h"
#include "cli.h"
#include "compile.h"

static int cli_dump_writer(lua_State *L, const void *p, size_t n, void *ud)
{
    cli_buf_append(ud, p, n);
    return 0;
}

/*
 * cli_skip_prefix: the offset of the Lua text in src, after a UTF-8 BOM and
 * a '#' first line (its newline kept, so line numbers stay right), as
 * luaL_loadfilex skips them.
 */
static size_t cli_skip_prefix(const unsigned char *src, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    if (i < len && src[i] == '#')
        while (i < len && src[i] != '\n')
            i++;
    return i;
}

static lua_State *cli_new_state(void)
{
    lua_State *L = luaL_newstate();
    if (L == NULL) {
        cli_fail(LUNIK_EXIT_OSERR, "out of memory");
        exit(LUNIK_EXIT_OSERR);
    }
    return L;
}

/* cli_report_syntax: "lunik: DISPLAY:LINE: MESSAGE" for a chunk that failed
 * to load: loaded again under the chunk name "=", Lua's message is then
 * ":LINE: MESSAGE" (no file name, nothing cut short). */
static int cli_report_syntax(lua_State *L, const char *text, size_t len,
                             const char *display)
{
    lua_settop(L, 0);
    int status = luaL_loadbufferx(L, text, len, "=", NULL);
    const char *msg = lua_tostring(L, -1);
    if (status == LUA_ERRMEM || msg == NULL)
        return cli_fail(LUNIK_EXIT_OSERR, "out of memory");
    return cli_fail(LUNIK_EXIT_DATAERR, "%s%s%s", display,
                    msg[0] == ':' ? "" : ": ", msg);
}

int cli_compile_lua(const unsigned char *src, size_t len,
                    const char *chunkname, const char *display,
                    struct cli_buf *out)
{
    size_t skip = cli_skip_prefix(src, len);
    const char *text = (const char *)src + skip;
    lua_State *L = cli_new_state();
    int rc = 0;
    int status = luaL_loadbufferx(L, text, len - skip, chunkname, NULL);
    if (status == LUA_ERRMEM)
        rc = cli_fail(LUNIK_EXIT_OSERR, "out of memory");
    else if (status != LUA_OK)
        rc = cli_report_syntax(L, text, len - skip, display);
    else if (lua_dump(L, cli_dump_writer, out, 0) != 0)
        rc = cli_fail(LUNIK_EXIT_OSERR, "cannot dump %s", display);
    lua_close(L);
    return rc;
}

char *cli_lua_path(void)
{
    lua_State *L = cli_new_state();
    luaL_requiref(L, LUA_LOADLIBNAME, luaopen_package, 1);
    lua_getfield(L, -1, "path");
    const char *path = lua_tostring(L, -1);
    char *copy = cli_xstrdup(path != NULL ? path : "");
    lua_close(L);
    return copy;
}
