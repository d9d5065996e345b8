/* devthread.h: a virtio device's service thread in the monitor: its eventfd kick, start and stop. */
#ifndef LUNIK_MONITOR_DEVTHREAD_H
#define LUNIK_MONITOR_DEVTHREAD_H

#include <pthread.h>
#include <stdint.h>

/*
 * Each device model (console, net, control) serves its queues on a thread
 * of its own. The vCPU thread kicks it through an eventfd when the guest
 * notifies a queue (virtio 1.2 §4.2.3.3, a write to QueueNotify), and the
 * monitor asks it to drain and end when the VM stops.
 */
struct mon_devthread {
    int kick_fd;                        /* eventfd, -1 when closed */
    int stopping;                       /* atomic: drain, then end */
    int running;
    pthread_t thread;
};
#define MON_DEVTHREAD_INIT { .kick_fd = -1 }

/* mon_devthread_start(t, fn, what): make the eventfd and run fn(NULL) on
 * a new thread. 0, or LUNIK_EXIT_OSERR after "lunik: cannot start the
 * WHAT: REASON" on stderr. */
int mon_devthread_start(struct mon_devthread *t, void *(*fn)(void *),
                        const char *what);

/* mon_devthread_kick(t): wake the thread (eventfd write; a full counter
 * already wakes it). */
void mon_devthread_kick(struct mon_devthread *t);

/* mon_devthread_drain(t): on the thread, after poll(2) saw kick_fd
 * readable: reset the counter. -> the number of kicks since the last
 * drain (guest notifications, through KVM's ioeventfd or the vCPU
 * thread, plus the monitor's own start and stop kicks). */
uint64_t mon_devthread_drain(struct mon_devthread *t);

/* mon_devthread_stopping(t): 1 once mon_devthread_stop asked the thread
 * to end (it drains its queues first). */
int mon_devthread_stopping(struct mon_devthread *t);

/* mon_devthread_stop(t): ask the thread to end, wait for it, close the
 * eventfd. Harmless on one never started. */
void mon_devthread_stop(struct mon_devthread *t);

#endif
