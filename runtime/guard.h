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
 * rt_guard_install: give L (the main thread, before any coroutine exists,
 * so every coroutine inherits it: lua_newthread copies the hook) the count
 * hook that stops a handler over its budget. Every RT_GUARD_COUNT VM
 * instructions it reads the monotonic clock (plat_clock_monotonic: the TSC
 * on kvm, clock_gettime on hosted; no signal, no VM exit).
 */
void rt_guard_install(lua_State *L);

/*
 * rt_guard_open: push the table of the guard's private Lua calls (for
 * lunik.lua): arm(co, s), disarm(), expired() -> boolean, grace(s),
 * set_default(s), default() -> s, stats() -> table, counters for the
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

/* Seconds a handler run may take when nothing else is said: 1. */
#define RT_GUARD_DEFAULT_S 1.0
/* VM instructions between two looks at the clock. */
#define RT_GUARD_COUNT 10000

#endif
