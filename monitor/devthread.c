/* devthread.c: a virtio device's service thread in the monitor: its eventfd kick, start and stop. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "lunik/run.h"
#include "devthread.h"

int mon_devthread_start(struct mon_devthread *t, void *(*fn)(void *),
                        const char *what)
{
    int e;

    t->stopping = 0;
    t->kick_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (t->kick_fd < 0 ||
        (e = pthread_create(&t->thread, NULL, fn, NULL)) != 0) {
        fprintf(stderr, "lunik: cannot start the %s: %s\n", what,
                strerror(t->kick_fd < 0 ? errno : e));
        return LUNIK_EXIT_OSERR;
    }
    t->running = 1;
    return 0;
}

void mon_devthread_kick(struct mon_devthread *t)
{
    uint64_t one = 1;

    if (write(t->kick_fd, &one, sizeof one) < 0)
        return;                         /* a full counter already wakes it */
}

uint64_t mon_devthread_drain(struct mon_devthread *t)
{
    uint64_t v;

    if (read(t->kick_fd, &v, sizeof v) < 0)
        return 0;                       /* EAGAIN: nothing to reset */
    return v;
}

int mon_devthread_stopping(struct mon_devthread *t)
{
    return __atomic_load_n(&t->stopping, __ATOMIC_ACQUIRE);
}

void mon_devthread_stop(struct mon_devthread *t)
{
    if (t->running) {
        __atomic_store_n(&t->stopping, 1, __ATOMIC_RELEASE);
        mon_devthread_kick(t);
        pthread_join(t->thread, NULL);
        t->running = 0;
    }
    if (t->kick_fd >= 0)
        close(t->kick_fd);
    t->kick_fd = -1;
}
