/* deadline.c: plat_deadline on the hosted target: a watcher thread and a signal to the program's thread. */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "lunik/platform.h"
#include "../host/deadline.h"

/*
 * The program stores the deadline (no system call); the watcher
 * (host/deadline.c), once the clock has passed a deadline it has not fired
 * yet, sends DEADLINE_SIGNAL to the program's thread, whose handler calls
 * fn if that deadline is still the one set (a cancel in between wins).
 */
#define DEADLINE_SIGNAL (SIGRTMIN + 1)

static uint64_t deadline_ns;            /* 0: none (atomic) */
static uint64_t fired_ns;               /* the deadline signalled (atomic) */
static void (*deadline_fn)(void);
static pthread_t program_thread;
static int started;

static void on_deadline_signal(int sig)
{
    uint64_t d = __atomic_load_n(&deadline_ns, __ATOMIC_SEQ_CST);

    (void)sig;
    if (d != 0 && d == __atomic_load_n(&fired_ns, __ATOMIC_SEQ_CST) &&
        deadline_fn != NULL)
        deadline_fn();
}

/* The watcher fired (its thread): signal the program's thread. */
static void deadline_fire(void *arg, uint64_t d)
{
    (void)arg;
    __atomic_store_n(&fired_ns, d, __ATOMIC_SEQ_CST);
    pthread_kill(program_thread, DEADLINE_SIGNAL);
}

static struct host_deadline watcher = { .word = &deadline_ns,
                                        .fire = deadline_fire };

/* Start the watcher once, from the program's thread. */
static void deadline_start(void)
{
    struct sigaction sa;
    sigset_t all;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_deadline_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(DEADLINE_SIGNAL, &sa, NULL);
    program_thread = pthread_self();
    /* The watcher takes no signals: every one goes to the program. */
    sigfillset(&all);
    sigset_t old;
    pthread_sigmask(SIG_SETMASK, &all, &old);
    host_deadline_start(&watcher);          /* runs as long as we do */
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    started = 1;
}

/* SIGURG: the control client's interrupt (platform.h plat_interrupt). */
static void (*interrupt_fn)(void);

static void on_interrupt_signal(int sig)
{
    (void)sig;
    if (interrupt_fn != NULL)
        interrupt_fn();
}

void plat_interrupt(void (*fn)(void))
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fn ? on_interrupt_signal : SIG_DFL;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    interrupt_fn = fn;
    sigaction(SIGURG, &sa, NULL);
}

void plat_deadline(uint64_t ns, void (*fn)(void))
{
    if (!started) {
        if (ns == 0)
            return;
        deadline_fn = fn;
        deadline_start();
    }
    deadline_fn = fn;
    __atomic_store_n(&deadline_ns, ns, __ATOMIC_SEQ_CST);
}
