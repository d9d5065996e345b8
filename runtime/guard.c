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
 * at a time; a nested resume saves the outer run on `saved`): deadline_ns
 * is when it must have yielded (0: none armed), budget_s its budget for
 * the message, `running` the Lua thread executing now (the armed
 * coroutine, or a coroutine it resumed: coroutine.resume and wrap are
 * wrapped to track it). No hook is set while a run is within budget, so
 * it costs nothing: the target calls guard_on_deadline (plat_deadline, as
 * a signal handler) when the deadline passes, which sets a count hook of 1
 * on `running`; the hook raises the budget error. From then on `expired`
 * stays set until the next arm(), and every VM instruction of the
 * program's own code raises it again, so a handler catching it with pcall
 * cannot go on.
 */
struct rt_stats rt_stats;
static volatile uint64_t deadline_ns;
static double budget_s;
static volatile int expired;
static lua_State *volatile running;
static double default_s = RT_GUARD_DEFAULT_S;
/* An armed run that Ctrl-C in `lunik attach` may stop (a REPL chunk), and
 * whether it was (plat_interrupt): the stop is then the budget's, with
 * its own message. */
static volatile int interruptible, interrupted;

#define RT_GUARD_DEPTH 32
static struct { uint64_t deadline; double budget; lua_State *running;
                int interruptible; } saved[RT_GUARD_DEPTH];
static int nsaved;


/* Push "handler exceeded its budget (S s)", or "interrupted". */
static void guard_push_message(lua_State *L)
{
    char s[32];
    if (interrupted) {
        lua_pushliteral(L, "interrupted");
        return;
    }
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
 * The count hook, set only once a deadline has passed. It raises the
 * budget error, and then again at every VM instruction of the program's
 * own code; the runtime's code is let run, so that it can answer 503,
 * reset the connection or report the stop. A hook left on a thread from
 * an earlier run removes itself.
 */
static void guard_hook(lua_State *L, lua_Debug *ar)
{
    if (deadline_ns == 0 ||
        (!expired && plat_clock_monotonic() < deadline_ns)) {
        lua_sethook(L, NULL, 0, 0);
        return;
    }
    expired = 1;
    if (guard_in_runtime(L, ar))
        return;
    guard_push_message(L);
    lua_error(L);
}

/* plat_deadline's handler: async-signal-safe (lua_sethook only). */
static void guard_on_deadline(void)
{
    lua_State *L = running;
    uint64_t d = deadline_ns;

    /* The watcher's clock may run a little ahead of this one (kvm: the
     * host's clock, the guest's TSC): within a tick it is this deadline
     * that passed, not a later one armed since. */
    if (L == NULL || d == 0 ||
        plat_clock_monotonic() + 2 * PLAT_DEADLINE_TICK_NS < d)
        return;
    expired = 1;
    lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1);
}

/* plat_interrupt's handler: stop the armed run now if it may be
 * (async-signal-safe: stores and lua_sethook). */
static void guard_on_interrupt(void)
{
    lua_State *L = running;

    if (L == NULL || deadline_ns == 0 || !interruptible)
        return;
    interrupted = 1;
    expired = 1;
    lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1);
}

/* Call the function at upvalue 1 with this call's arguments while `co`
 * runs; after a stop inside it, the caller is stopped too. */
static int guard_call_tracked(lua_State *L, lua_State *co)
{
    lua_State *prev = running;
    int st;

    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    running = co;
    st = lua_pcall(L, lua_gettop(L) - 1, LUA_MULTRET, 0);
    running = prev;
    if (expired && deadline_ns != 0)
        lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1);
    if (st != LUA_OK)
        return lua_error(L);
    return lua_gettop(L);
}

/* coroutine.resume (upvalue 1: Lua's own), tracking the running thread. */
static int guard_co_resume(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1);

    luaL_argexpected(L, co != NULL, 1, "coroutine");
    return guard_call_tracked(L, co);
}

/* The function coroutine.wrap returns (upvalue 1: the one Lua's own wrap
 * made, upvalue 2: its coroutine), tracking the running thread. */
static int guard_co_wrapped(lua_State *L)
{
    return guard_call_tracked(L, lua_tothread(L, lua_upvalueindex(2)));
}

/* coroutine.wrap (upvalue 1: Lua's own): its function, tracked. */
static int guard_co_wrap(lua_State *L)
{
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, 1);
    lua_getupvalue(L, -1, 1);               /* the coroutine it resumes */
    lua_pushcclosure(L, guard_co_wrapped, 2);
    return 1;
}

/* Replace coroutine[name] with f, given the original as upvalue 1. */
static void guard_wrap_co(lua_State *L, const char *name, lua_CFunction f)
{
    lua_getglobal(L, "coroutine");
    lua_getfield(L, -1, name);
    lua_pushcclosure(L, f, 1);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

void rt_guard_install(lua_State *L)
{
    guard_wrap_co(L, "resume", guard_co_resume);
    guard_wrap_co(L, "wrap", guard_co_wrap);
    plat_interrupt(guard_on_interrupt);
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

/* Arm co's run: it may take s seconds from now; with intr, Ctrl-C in the
 * REPL (plat_interrupt) stops it too. The run armed before (if any) is
 * saved for disarm(). */
static void guard_arm_run(lua_State *co, double s, int intr)
{
    if (nsaved < RT_GUARD_DEPTH) {
        saved[nsaved].deadline = deadline_ns;
        saved[nsaved].budget = budget_s;
        saved[nsaved].running = running;
        saved[nsaved].interruptible = interruptible;
    }
    nsaved++;
    if (co)
        lua_sethook(co, NULL, 0, 0);
    budget_s = s;
    expired = 0;
    interrupted = 0;
    interruptible = intr;
    running = co;
    deadline_ns = plat_clock_monotonic() + (uint64_t)(s * 1e9);
    plat_deadline(deadline_ns, guard_on_deadline);
}

/* disarm(): the run has yielded or ended; the run it interrupted (if any)
 * is armed again. */
static void guard_disarm_run(void)
{
    expired = 0;
    interrupted = 0;
    rt_alloc_reserve(0);
    if (nsaved > 0 && --nsaved < RT_GUARD_DEPTH) {
        running = saved[nsaved].running;
        budget_s = saved[nsaved].budget;
        interruptible = saved[nsaved].interruptible;
        deadline_ns = saved[nsaved].deadline;
    } else {
        running = NULL;
        interruptible = 0;
        deadline_ns = 0;
    }
    plat_deadline(deadline_ns, guard_on_deadline);
}

static int guard_disarm(lua_State *L)
{
    (void)L;
    guard_disarm_run();
    return 0;
}

/* run(co, s, interruptible, ...) -> true, dead, values... | false, err:
 * the scheduler's resume in one call: arm co's run for s seconds (nil:
 * the default budget; interruptible: Ctrl-C in the REPL stops it too),
 * resume co with the other arguments as coroutine.resume does (its
 * yielded or returned values follow; dead: it returned), then disarm().
 * A run that failed stays armed, so that count_error() and expired() can
 * tell how it ended; the caller disarms it. */
static int guard_run(lua_State *L)
{
    lua_State *co = lua_tothread(L, 1), *prev = running;
    double s;
    int nargs, nres, st;

    luaL_argexpected(L, co != NULL, 1, "coroutine");
    s = lua_isnoneornil(L, 2) ? default_s : guard_check_seconds(L, 2);
    if (lua_gettop(L) < 3)
        lua_settop(L, 3);
    nargs = lua_gettop(L) - 3;
    luaL_checkstack(co, nargs, "too many arguments to resume");
    guard_arm_run(co, s, lua_toboolean(L, 3));
    lua_xmove(L, co, nargs);
    st = lua_resume(co, L, nargs, &nres);
    running = prev;
    if (expired && deadline_ns != 0)
        lua_sethook(L, guard_hook, LUA_MASKCOUNT, 1);
    if (st != LUA_OK && st != LUA_YIELD) {
        if (st == LUA_ERRMEM)           /* room to report it (count_error) */
            rt_alloc_reserve(1);
        lua_pushboolean(L, 0);
        lua_xmove(co, L, 1);            /* the error */
        return 2;
    }
    guard_disarm_run();
    lua_pushboolean(L, 1);
    lua_pushboolean(L, st == LUA_OK);
    if (!lua_checkstack(L, nres + 1)) {
        lua_pop(co, nres);
        return 2;
    }
    lua_xmove(co, L, nres);
    return 2 + nres;
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
    interruptible = 0;
    lua_sethook(L, NULL, 0, 0);
    deadline_ns = plat_clock_monotonic() + (uint64_t)(s * 1e9);
    plat_deadline(deadline_ns, guard_on_deadline);
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
        rt_alloc_reserve(1);                /* until the next disarm() */
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
        { "disarm", guard_disarm },
        { "run", guard_run },
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
