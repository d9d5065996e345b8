/* httpcore.c: opens the C half of lunik.http (parser, render, serve, reply) as one table for runtime/http.lua. */
#include "lauxlib.h"
#include "lua.h"

#include "httpcore.h"

int lunik_open_httpcore(lua_State *L, const struct lunik_net_stream *io)
{
    lua_createtable(L, 0, 4);
    lunik_http_push_parser(L, io);
    lua_setfield(L, -2, "parser");
    lua_pushcfunction(L, lunik_http_render);
    lua_setfield(L, -2, "render");
    lunik_http_push_serve(L);
    lua_setfield(L, -2, "serve");
    if (io) {
        lunik_http_push_reply(L, io);
        lua_setfield(L, -2, "reply");
    }
    return 1;
}

/* The same table as a module a stand-alone lua5.4 can require (the unit
 * tests load build/tests/lunik_httpcore.so); it has no reply. */
int luaopen_lunik_httpcore(lua_State *L)
{
    return lunik_open_httpcore(L, NULL);
}
