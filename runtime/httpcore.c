/* httpcore.c: opens the C half of lunik.http (parser and render) as one table for runtime/http.lua. */
#include "lauxlib.h"
#include "lua.h"

#include "httpcore.h"

int lunik_open_httpcore(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "parser", lunik_http_parser },
        { "render", lunik_http_render },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    return 1;
}

/* The same table as a module a stand-alone lua5.4 can require (the unit
 * tests load build/tests/lunik_httpcore.so). */
int luaopen_lunik_httpcore(lua_State *L)
{
    return lunik_open_httpcore(L);
}
