/* guard.c: handler time budgets (a Lua count hook against a deadline) and the counters of lunik.stats(). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#include "lunik/platform.h"
#include "alloc.h"
#include "guard.h"

/*
 * One handler run is armed at a time (the scheduler resumes one coroutine
 * at a time): deadline_ns is when it must have yielded (0: none armed),
 * budget_s its budget for the message. Once the deadline has passed,
 * `expired` stays set until the next arm(): every hook call in that
 * coroutine raises the budget error again, one VM instruction apart, so a
 * handler that catches it with pcall cannot keep running.
 */
struct rt_stats rt_stats;
static uint64_t deadline_ns;
static double budget_s;
static int expired;
static double default_s = RT_GUARD_DEFAULT_S;

#define RT_GUARD_LARGE (64 * 1024)  /* bytes: an allocation worth a look */

/* Push "handler exceeded its budget (S s)". */
static void guard_push_message(lua_State *L)
{
    char s[32];
    snprintf(s, sizeof s, "%g", budget_s);
    lua_pushfstring(L, "handler exceeded its budget (%s s)", s);
}

/* Is the function running at ar the runtime's own Lua code (lunik.lua,
 * net.lua, http.lua: chunk names "=[lunik...]")? */
static int guard_in_runtime(lua_State *L, lua_Debug *ar)
{
    if (!lua_getinfo(L, "S", ar))
        return 0;
    return strncmp(ar->source, "=[lunik", 7) == 0;
}

/*
 * The count hook. Past the deadline it raises the budget error, and then
 * again at every VM instruction of the program's own code, so that a
 * handler catching it with pcall cannot go on; the runtime's code is let
 * run, so that it can answer 503, reset the connection or report the stop
 * (it calls grace() or the scheduler disarms).
 */
static void guard_hook(lua_State *L, lua_Debug *ar)
{
    if (deadline_ns == 0)
        return;
    if (!expired) {
        if (plat_clock_monotonic() < deadline_ns)
            return;
        expired = 1;
        lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1);
    }
    if (guard_in_runtime(L, ar))
        return;
    guard_push_message(L);
    lua_error(L);
}

void rt_guard_install(lua_State *L)
{
    lua_sethook(L, guard_hook, LUA_MASKCOUNT, RT_GUARD_COUNT);
}

int rt_guard_alloc_ok(size_t n)
{
    if (deadline_ns == 0 || n < RT_GUARD_LARGE)
        return 1;
    if (!expired && plat_clock_monotonic() >= deadline_ns)
        expired = 1;
    return !expired;
}

/* A budget in seconds: a number > 0 and finite, else a Lua error. */
static double guard_check_seconds(lua_State *L, int i)
{
    double s = luaL_checknumber(L, i);
    luaL_argcheck(L, s > 0 && isfinite(s), i,
                  "budget must be seconds > 0");
    return s;
}

/* arm(co [, s]) -> d, b: co's run may take s seconds (default: the
 * default budget) from now; resets co's hook to the normal interval.
 * Returns what was armed before (for disarm). */
static int guard_arm(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);
    double s = lua_isnoneornil(L, 2) ? default_s : guard_check_seconds(L, 2);

    lua_pushinteger(L, (lua_Integer)deadline_ns);
    lua_pushnumber(L, budget_s);
    budget_s = s;
    expired = 0;
    if (co)
        lua_sethook(co, guard_hook, LUA_MASKCOUNT, RT_GUARD_COUNT);
    deadline_ns = plat_clock_monotonic() + (uint64_t)(s * 1e9);
    return 2;
}

/* disarm(d, b): the run has yielded or ended; arm again what arm()
 * returned (0: nothing, the loop itself is never stopped). */
static int guard_disarm(lua_State *L)
{
    deadline_ns = (uint64_t)luaL_optinteger(L, 1, 0);
    budget_s = luaL_optnumber(L, 2, 0);
    expired = 0;
    return 0;
}

/* expired() -> boolean, message: did the armed run overstay its budget? */
static int guard_expired(lua_State *L)
{
    lua_pushboolean(L, expired);
    guard_push_message(L);
    return 2;
}

/* grace(s): after catching a budget stop, trusted runtime code (an HTTP
 * server sending 503) gets s more seconds to clean up. */
static int guard_grace(lua_State *L)
{
    double s = guard_check_seconds(L, 1);

    expired = 0;
    lua_sethook(L, guard_hook, LUA_MASKCOUNT, RT_GUARD_COUNT);
    deadline_ns = plat_clock_monotonic() + (uint64_t)(s * 1e9);
    return 0;
}

/* set_default(s) -> previous: the budget of runs not given their own. */
static int guard_set_default(lua_State *L)
{
    double s = guard_check_seconds(L, 1);

    lua_pushnumber(L, default_s);
    default_s = s;
    return 1;
}

static int guard_default(lua_State *L)
{
    lua_pushnumber(L, default_s);
    return 1;
}

/* count_handler(): a handler run started. */
static int guard_count_handler(lua_State *L)
{
    (void)L;
    rt_stats.handlers++;
    return 0;
}

/* count_error(err) -> "budget" | "memory" | "error": a handler run ended
 * with error value err; classified and counted. */
static int guard_count_error(lua_State *L)
{
    const char *e = lua_tostring(L, 1);

    rt_stats.errors++;
    if (expired) {
        rt_stats.budget_stops++;
        lua_pushliteral(L, "budget");
    } else if (e && strcmp(e, "not enough memory") == 0) {
        rt_stats.oom_stops++;
        lua_pushliteral(L, "memory");
    } else {
        lua_pushliteral(L, "error");
    }
    return 1;
}

/* stats() -> table: the counters, the Lua heap in bytes and its limit. */
static int guard_stats(lua_State *L)
{
    lua_createtable(L, 0, 8);
    lua_pushinteger(L, (lua_Integer)rt_stats.handlers);
    lua_setfield(L, -2, "handlers");
    lua_pushinteger(L, (lua_Integer)rt_stats.errors);
    lua_setfield(L, -2, "errors");
    lua_pushinteger(L, (lua_Integer)rt_stats.budget_stops);
    lua_setfield(L, -2, "budget_stops");
    lua_pushinteger(L, (lua_Integer)rt_stats.oom_stops);
    lua_setfield(L, -2, "oom_stops");
    lua_pushinteger(L, (lua_Integer)rt_alloc_in_use());
    lua_setfield(L, -2, "heap_bytes");
    lua_pushinteger(L, (lua_Integer)rt_alloc_limit());
    lua_setfield(L, -2, "heap_limit");
    return 1;
}

int rt_guard_open(lua_State *L)
{
    static const luaL_Reg fns[] = {
        { "arm", guard_arm },
        { "disarm", guard_disarm },
        { "expired", guard_expired },
        { "grace", guard_grace },
        { "set_default", guard_set_default },
        { "default", guard_default },
        { "count_handler", guard_count_handler },
        { "count_error", guard_count_error },
        { "stats", guard_stats },
        { NULL, NULL },
    };
    luaL_newlib(L, fns);
    return 1;
}
