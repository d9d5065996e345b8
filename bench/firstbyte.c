/* firstbyte.c: time from starting a command to its first byte of output, and its peak RSS. */
/*
 * Usage: firstbyte RUNS CMD [ARGS...]
 * Runs CMD RUNS times (stdin /dev/null, stderr discarded) and prints one line:
 *   "median_us MIN_us p90_us maxrss_kib"
 * first byte = the first read(2) returning data on CMD's stdout pipe,
 * measured with CLOCK_MONOTONIC from just before fork(2). maxrss is the
 * largest ru_maxrss (getrusage(2), KiB) over the runs.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

/* run_once: one run; returns microseconds to the first byte, or -1. */
static double run_once(char **argv, long *maxrss)
{
    int fds[2];
    char buf[4096];
    double t0, first = -1;
    struct rusage ru;
    int status;
    pid_t pid;

    if (pipe(fds) < 0)
        return -1;
    t0 = now_us();
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        dup2(null, 0);
        dup2(null, 2);
        dup2(fds[1], 1);
        close(fds[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n <= 0)
            break;
        if (first < 0)
            first = now_us() - t0;
    }
    close(fds[0]);
    wait4(pid, &status, 0, &ru);
    if (ru.ru_maxrss > *maxrss)
        *maxrss = ru.ru_maxrss;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return -1;
    return first;
}

int main(int argc, char **argv)
{
    int runs = argc > 2 ? atoi(argv[1]) : 0;
    double *t;
    long maxrss = 0;

    if (runs < 1) {
        fprintf(stderr, "usage: firstbyte RUNS CMD [ARGS...]\n");
        return 64;
    }
    t = calloc((size_t)runs, sizeof *t);
    for (int i = 0; i < runs; i++) {
        t[i] = run_once(argv + 2, &maxrss);
        if (t[i] < 0) {
            fprintf(stderr, "firstbyte: %s failed or printed nothing\n",
                    argv[2]);
            return 1;
        }
    }
    qsort(t, (size_t)runs, sizeof *t, cmp);
    printf("%.0f %.0f %.0f %ld\n", t[runs / 2], t[0], t[runs * 9 / 10],
           maxrss);
    return 0;
}
