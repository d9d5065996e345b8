/* deadline.h: the deadline watcher shared by the hosted target and the monitor (platform.h plat_deadline). */
#ifndef LUNIK_HOST_DEADLINE_H
#define LUNIK_HOST_DEADLINE_H

#include <pthread.h>
#include <stdint.h>

/* How often the watcher looks, ns (platform.h PLAT_DEADLINE_TICK_NS). */
#define HOST_DEADLINE_TICK_NS 5000000ull

/*
 * A watcher: a thread reads *word (CLOCK_MONOTONIC ns, 0 = none) every
 * HOST_DEADLINE_TICK_NS (or at the deadline if sooner) and, once the clock
 * has passed a value it has not fired yet, calls fire(arg, value) on its
 * own thread. The caller sets word, fire and arg; the rest is the
 * watcher's.
 */
struct host_deadline {
    const uint64_t *word;
    void (*fire)(void *arg, uint64_t deadline_ns);
    void *arg;
    int quit;
    pthread_t thread;
};

/* host_deadline_start: start w's thread. 0, or -1 (pthread_create). */
int host_deadline_start(struct host_deadline *w);

/* host_deadline_stop: end w's thread and wait for it. */
void host_deadline_stop(struct host_deadline *w);

#endif
