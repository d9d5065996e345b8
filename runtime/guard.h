/* guard.h: the reactive model's guards: handler time budgets, the Lua heap limit, and the counters lunik.stats() reads. */
#ifndef LUNIK_RT_GUARD_H
#define LUNIK_RT_GUARD_H

#include <stddef.h>
#include <stdint.h>

#include "lua.h"

/* Counters since start-up (lunik.stats()). */
struct rt_stats {
    uint64_t handlers;          /* handler runs started */
    uint64_t errors;            /* handler runs ended by an error */
    uint64_t budget_stops;      /* ... of them, stopped over budget */
    uint64_t oom_stops;         /* ... of them, out of Lua heap */
};
extern struct rt_stats rt_stats;

/*
 * rt_guard_install: after luaL_openlibs and before any coroutine exists:
 * wrap coroutine.resume and coroutine.wrap so the guard knows which thread
 * runs when a deadline passes (a budget stop lands in the coroutine a
 * handler resumed, then in the handler). Runs within budget cost no hook:
 * the target's plat_deadline() sets one when the deadline passes.
 */
void rt_guard_install(lua_State *L);

/*
 * rt_guard_open: push the table of the guard's private Lua calls (for
 * lunik.lua): run(co, s, interruptible, ...), disarm(), expired() ->
 * boolean, grace(s), set_default(s), default() -> s, stats() -> table,
 * counters for the
 * scheduler (count_handler(), count_error(kind)). Documented in guard.c.
 */
int rt_guard_open(lua_State *L);

/*
 * rt_guard_alloc_ok: may an allocation of n bytes go ahead? 0 once the
 * armed handler is over its budget and n is large (a long C call such as
 * string.rep or gsub grows its result in large steps, and its failure is a
 * Lua memory error in that handler, reported as a budget stop).
 */
int rt_guard_alloc_ok(size_t n);

/* Bytes from which an allocation asks rt_guard_alloc_ok. */
#define RT_GUARD_LARGE (64 * 1024)

/* Seconds a handler run may take when nothing else is said: 1. */
#define RT_GUARD_DEFAULT_S 1.0

#endif
