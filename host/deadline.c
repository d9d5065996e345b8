/* deadline.c: the deadline watcher shared by the hosted target and the monitor: a thread that fires each deadline a word holds, once. */
#include "deadline.h"

#include <time.h>

#include "host.h"

static void *watch(void *arg)
{
    struct host_deadline *w = arg;
    uint64_t last = 0;

    while (!__atomic_load_n(&w->quit, __ATOMIC_SEQ_CST)) {
        /* The word may be guest memory: any value; it is only compared. */
        uint64_t d = __atomic_load_n(w->word, __ATOMIC_SEQ_CST);
        uint64_t now = host_clock_monotonic(), wait = HOST_DEADLINE_TICK_NS;
        if (d != 0 && d != last && now >= d) {
            last = d;
            w->fire(w->arg, d);
        } else if (d != 0 && d != last && d - now < wait) {
            wait = d - now;
        }
        struct timespec ts = { (time_t)(wait / 1000000000u),
                               (long)(wait % 1000000000u) };
        nanosleep(&ts, NULL);
    }
    return NULL;
}

int host_deadline_start(struct host_deadline *w)
{
    w->quit = 0;
    return pthread_create(&w->thread, NULL, watch, w) == 0 ? 0 : -1;
}

void host_deadline_stop(struct host_deadline *w)
{
    __atomic_store_n(&w->quit, 1, __ATOMIC_SEQ_CST);
    pthread_join(w->thread, NULL);
}
