/* runtime.c: lunik_runtime_main: the Lua state, its C core, the app start. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"
#include "lualib.h"

#include "lunik/platform.h"
#include "lunik/runtime.h"
#include "alloc.h"
#include "guard.h"
#include "httpcore.h"
#include "netlib.h"
#include "../net/net.h"

/* The runtime's Lua sources, embedded by runtime/lua_sources.S. */
extern const char lunik_runtime_lua[], lunik_runtime_lua_end[];
extern const char lunik_net_lua[], lunik_net_lua_end[];
extern const char lunik_http_lua[], lunik_http_lua_end[];
extern const char lunik_control_lua[], lunik_control_lua_end[];

#define RT_PACKAGE_PATH \
    "./?.lua;./?/init.lua;/lib/lua/?.lua;/lib/lua/?/init.lua"
#define RT_CONSOLE_CHUNK 4096   /* bytes read from the console per call */
#define RT_CONTROL_CHUNK 16384  /* bytes read from the control channel */

static uint64_t rt_start_ns;    /* plat_clock_monotonic() at start-up */
static double rt_budget_s;      /* lunik.budget= (0: the default) */
static int rt_print_stats;      /* lunik.stats=1: print lunik.stats() at exit */

/* --------------------------------------------- the C core (lunik.lua) */

/* core.now() -> seconds (float) since rt_start_ns, monotonic. */
static int core_now(lua_State *L)
{
    uint64_t ns = plat_clock_monotonic() - rt_start_ns;
    lua_pushnumber(L, (lua_Number)ns / 1e9);
    return 1;
}

/* Seconds on core_now()'s clock -> a plat_yield() deadline (ns). */
static uint64_t rt_deadline_ns(lua_Number s)
{
    if (!(s > 0))
        return 0;                           /* already due */
    lua_Number ns = ceil(s * 1e9);
    if (ns >= (lua_Number)(UINT64_MAX - rt_start_ns))
        return UINT64_MAX;
    return rt_start_ns + (uint64_t)ns;
}

/*
 * core.wait(deadline, console, net) -> console_ready, net_ready, shutdown,
 * control: flush stdout, then sleep until the deadline (seconds of
 * core.now(); nil = none), a shutdown request, bytes or a hang-up on the
 * control channel, or, when console is true, console input, or, when net
 * is true, a received frame (plat_yield). Each result is true when that
 * event waits (shutdown: once per request).
 */
static int core_wait(lua_State *L)
{
    uint64_t deadline = UINT64_MAX;
    if (!lua_isnoneornil(L, 1))
        deadline = rt_deadline_ns(luaL_checknumber(L, 1));
    uint32_t events = (lua_toboolean(L, 2) ? PLAT_READY_CONSOLE : 0) |
                      (lua_toboolean(L, 3) ? PLAT_READY_NET : 0) |
                      PLAT_READY_SHUTDOWN | PLAT_READY_CONTROL;
    fflush(stdout);
    uint32_t ready = plat_yield(deadline, events);
    lua_pushboolean(L, (ready & PLAT_READY_CONSOLE) != 0);
    lua_pushboolean(L, (ready & PLAT_READY_NET) != 0);
    lua_pushboolean(L, (ready & PLAT_READY_SHUTDOWN) != 0);
    lua_pushboolean(L, (ready & PLAT_READY_CONTROL) != 0);
    return 4;
}

/* core.control_read() -> string: control-channel bytes ("" if none), or
 * false once the client has hung up (plat_control_read). */
static int core_control_read(lua_State *L)
{
    char buf[RT_CONTROL_CHUNK];
    long n = plat_control_read(buf, sizeof(buf));
    if (n == PLAT_CONTROL_HANGUP)
        lua_pushboolean(L, 0);
    else
        lua_pushlstring(L, buf, n > 0 ? (size_t)n : 0);
    return 1;
}

/* core.control_write(s): send s to the control channel's client. */
static int core_control_write(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    plat_control_write(s, n);
    return 0;
}

/* core.read() -> string: waiting console bytes ("" if none), nil at end. */
static int core_read(lua_State *L)
{
    char buf[RT_CONSOLE_CHUNK];
    long n = plat_console_read(buf, sizeof(buf));
    if (n == PLAT_EOF)
        lua_pushnil(L);
    else
        lua_pushlstring(L, buf, n > 0 ? (size_t)n : 0);
    return 1;
}

/* core.exit([code]): lunik.exit, documented in lunik.lua. */
static int core_exit(lua_State *L)
{
    int status;
    if (lua_isboolean(L, 1)) {
        status = lua_toboolean(L, 1) ? 0 : 1;
    } else {
        lua_Integer code = luaL_optinteger(L, 1, 0);
        luaL_argcheck(L, code >= 0 && code <= 255, 1,
                      "exit code must be 0..255");
        status = (int)code;
    }
    fflush(NULL);
    plat_exit(status);
}

/* core.errwrite(s): write s to stderr at once. */
static int core_errwrite(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    fwrite(s, 1, n, stderr);
    fflush(stderr);
    return 0;
}

/* core.target() -> "kvm" | "hosted" (plat_target()). */
static int core_target(lua_State *L)
{
    lua_pushstring(L, plat_target());
    return 1;
}

static const luaL_Reg rt_core[] = {
    { "now", core_now },
    { "wait", core_wait },
    { "read", core_read },
    { "exit", core_exit },
    { "errwrite", core_errwrite },
    { "target", core_target },
    { "control_read", core_control_read },
    { "control_write", core_control_write },
    { NULL, NULL },
};

/* ------------------------------------ what a unikernel does not have */

/* os.execute(cmd): an error; os.execute() is false (no shell), as
 * system(NULL) returning 0. */
static int rt_execute(lua_State *L)
{
    if (lua_isnoneornil(L, 1)) {
        lua_pushboolean(L, 0);
        return 1;
    }
    return luaL_error(L, "os.execute is not available in a lunik unikernel");
}

static int rt_popen(lua_State *L)
{
    return luaL_error(L, "io.popen is not available in a lunik unikernel");
}

/* os.setlocale(locale [, category]): as stock Lua, but the only locales
 * are "C", "POSIX" and "C.UTF-8" ("" selects "C"): the image carries no
 * locale data, so any other name fails (returns nil) on every target, as
 * on a Linux host without that locale installed. The stock function is
 * upvalue 1. */
static int rt_setlocale(lua_State *L)
{
    const char *name = luaL_optstring(L, 1, NULL);
    static const char *const known[] = {
        "", "C", "POSIX", "C.UTF-8", "C.utf8", NULL
    };

    if (name != NULL) {
        int i = 0;
        while (known[i] != NULL && strcmp(known[i], name) != 0)
            i++;
        if (known[i] == NULL) {
            luaL_checkoption(L, 2, "all", (const char *const[]){ "all",
                "collate", "ctype", "monetary", "numeric", "time", NULL });
            luaL_pushfail(L);
            return 1;
        }
        if (name[0] == '\0') {
            lua_pushliteral(L, "C");
            lua_replace(L, 1);
        }
    }
    lua_pushvalue(L, lua_upvalueindex(1));
    lua_insert(L, 1);
    lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
    return lua_gettop(L);
}

/* Wrap os.setlocale with rt_setlocale. */
static void rt_wrap_setlocale(lua_State *L)
{
    lua_getglobal(L, "os");
    lua_getfield(L, -1, "setlocale");
    lua_pushcclosure(L, rt_setlocale, 1);
    lua_setfield(L, -2, "setlocale");
    lua_pop(L, 1);
}

/* Replace lib[name] (lib a global table) with f. */
static void rt_replace(lua_State *L, const char *lib, const char *name,
                       lua_CFunction f)
{
    lua_getglobal(L, lib);
    lua_pushcfunction(L, f);
    lua_setfield(L, -2, name);
    lua_pop(L, 1);
}

/* -------------------------------------------------------------- start */

static void rt_set_paths(lua_State *L)
{
    lua_getglobal(L, "package");
    lua_pushliteral(L, RT_PACKAGE_PATH);
    lua_setfield(L, -2, "path");
    lua_pushliteral(L, "");
    lua_setfield(L, -2, "cpath");
    lua_pop(L, 1);
}

/* The global `arg`, as lua.c makes it: arg[0] the script, arg[1..]. */
static void rt_set_arg(lua_State *L, int argc, char **argv)
{
    lua_createtable(L, argc, 1);
    for (int i = 0; i < argc; i++) {
        lua_pushstring(L, argv[i]);
        lua_rawseti(L, -2, i);
    }
    lua_setglobal(L, "arg");
}

/* Compile an embedded Lua source; leaves its chunk on the stack. */
static void rt_load_embedded(lua_State *L, const char *p, const char *end,
                             const char *name)
{
    if (luaL_loadbufferx(L, p, (size_t)(end - p), name, "t") != LUA_OK)
        lua_error(L);
}

/* Load lunik.lua with the core; leaves its run function on the stack. */
static void rt_load_scheduler(lua_State *L)
{
    rt_load_embedded(L, lunik_runtime_lua, lunik_runtime_lua_end, "=[lunik]");
    luaL_newlib(L, rt_core);
    rt_load_embedded(L, lunik_net_lua, lunik_net_lua_end, "=[lunik.net]");
    lua_setfield(L, -2, "net_chunk");
    rt_load_embedded(L, lunik_http_lua, lunik_http_lua_end,
                     "=[lunik.http]");
    lua_setfield(L, -2, "http_chunk");
    rt_load_embedded(L, lunik_control_lua, lunik_control_lua_end,
                     "=[lunik.control]");
    lua_setfield(L, -2, "control_chunk");
    lunik_open_netcore(L);
    lua_setfield(L, -2, "netcore");
    lunik_open_httpcore(L, &lunik_net_stream);
    lua_setfield(L, -2, "httpcore");
    rt_guard_open(L);
    lua_setfield(L, -2, "guard");
    lua_pushboolean(L, rt_print_stats);
    lua_setfield(L, -2, "print_stats");
    lua_pushnumber(L, rt_budget_s);
    lua_setfield(L, -2, "budget");
    lua_call(L, 1, 1);
}

/* Protected body of lunik_runtime_main: returns its status as an integer. */
static int rt_pmain(lua_State *L)
{
    int argc = (int)lua_tointeger(L, 1);
    char **argv = lua_touserdata(L, 2);
    lua_gc(L, LUA_GCSTOP);
    luaL_openlibs(L);
    rt_guard_install(L);
    lua_gc(L, LUA_GCRESTART);
    lua_gc(L, LUA_GCGEN, 0, 0);             /* as lua.c (Lua 5.4) */
    rt_set_paths(L);
    rt_replace(L, "os", "execute", rt_execute);
    rt_replace(L, "io", "popen", rt_popen);
    rt_wrap_setlocale(L);
    rt_set_arg(L, argc, argv);
    rt_load_scheduler(L);
    if (luaL_loadfilex(L, argv[0], NULL) != LUA_OK) {
        fprintf(stderr, "lunik: %s\n", lua_tostring(L, -1));
        lua_pushinteger(L, 1);
        return 1;
    }
    luaL_checkstack(L, argc, "too many arguments");
    for (int i = 1; i < argc; i++)
        lua_pushstring(L, argv[i]);
    lua_call(L, argc, 1);                   /* run(main, ...) */
    return 1;
}

/* Warnings (Lua 5.4 manual, warn): off until "@on", as lua.c; each
 * message goes to stderr as "Lua warning: ...". ud: a static flag. */
static void rt_warn(void *ud, const char *msg, int tocont)
{
    static int on, continuing;

    (void)ud;
    if (!continuing && msg[0] == '@') {
        if (strcmp(msg, "@on") == 0)
            on = 1;
        else if (strcmp(msg, "@off") == 0)
            on = 0;
        return;
    }
    if (on) {
        if (!continuing)
            fputs("Lua warning: ", stderr);
        fputs(msg, stderr);
        if (!tocont)
            fputs("\n", stderr);
    }
    continuing = tocont;
}

static int rt_panic(lua_State *L)
{
    const char *msg = lua_tostring(L, -1);

    fprintf(stderr, "lunik: unprotected error: %s\n", msg ? msg : "?");
    return 0;
}

/*
 * Take the runtime options (runtime.h) from argv[1..]: "lunik.NAME=VALUE"
 * entries up to a "--", which must be there for any to count. Returns the
 * index of that "--" (the entries to skip after argv[0]), or 0 when there
 * is none. A bad one is reported on stderr and makes it return -1.
 */
static int rt_options(int argc, char **argv)
{
    int end = 1;

    while (end < argc && strncmp(argv[end], "lunik.", 6) == 0)
        end++;
    if (end >= argc || strcmp(argv[end], "--") != 0)
        return 0;               /* no "--": every entry is the script's */
    for (int i = 1; i < end; i++) {
        const char *o = argv[i] + 6, *eq = strchr(o, '=');
        char *rest = NULL;
        if (!eq)
            goto bad;
        if (strncmp(o, "budget=", 7) == 0) {
            rt_budget_s = strtod(eq + 1, &rest);
            if (!(rt_budget_s > 0) || *rest)
                goto bad;
        } else if (strncmp(o, "heap=", 5) == 0) {
            unsigned long long b = strtoull(eq + 1, &rest, 10);
            if (*rest || b == 0)
                goto bad;
            rt_alloc_set_limit((size_t)b);
        } else if (strncmp(o, "netmem=", 7) == 0) {
            unsigned long long b = strtoull(eq + 1, &rest, 10);
            if (*rest || b == 0)
                goto bad;
            lunik_net_mem_set_limit((size_t)b);
        } else if (strncmp(o, "env=", 4) == 0) {
            const char *kv = eq + 1, *e2 = strchr(kv, '=');
            if (!e2 || e2 == kv)
                goto bad;
            char name[256];
            size_t n = (size_t)(e2 - kv);
            if (n >= sizeof name)
                goto bad;
            memcpy(name, kv, n);
            name[n] = '\0';
            if (setenv(name, e2 + 1, 1) != 0)
                goto bad;
        } else if (strncmp(o, "stats=", 6) == 0) {
            rt_print_stats = strcmp(eq + 1, "1") == 0;
        } else {
            goto bad;
        }
        continue;
bad:
        fprintf(stderr, "lunik: bad runtime option '%s'\n", argv[i]);
        return -1;
    }
    return end;
}

int lunik_runtime_main(int argc, char **argv)
{
    if (argc < 1 || !argv || !argv[0]) {
        fputs("lunik: no program to run\n", stderr);
        return 1;
    }
    int skip = rt_options(argc, argv);
    if (skip < 0)
        return 1;
    if (skip > 0) {                 /* argv[0] stays: the app */
        argv[skip] = argv[0];
        argv += skip;
        argc -= skip;
    }
    rt_start_ns = plat_clock_monotonic();
    lua_State *L = lua_newstate(rt_alloc, NULL);
    if (!L) {
        fputs("lunik: cannot create the Lua state: not enough memory\n",
              stderr);
        return 1;
    }
    lua_atpanic(L, rt_panic);
    lua_setwarnf(L, rt_warn, NULL);
    lua_pushcfunction(L, rt_pmain);
    lua_pushinteger(L, argc);
    lua_pushlightuserdata(L, argv);
    int status = 1;
    if (lua_pcall(L, 2, 1, 0) == LUA_OK) {
        status = (int)lua_tointeger(L, -1);
    } else {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "lunik: internal error: %s\n",
                msg ? msg : "(no message)");
    }
    lua_close(L);
    fflush(stdout);
    return status;
}
