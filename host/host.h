/* host.h: device back ends on Linux, shared by the KVM monitor and the hosted target. */
#ifndef LUNIK_HOST_H
#define LUNIK_HOST_H

#include <stddef.h>
#include <stdint.h>

/*
 * host_init: prepare the back ends for one program: the console is the
 * process's stdin/stdout/stderr; SIGPIPE is ignored so that a closed output
 * pipe drops output instead of killing the process. Returns 0, or -errno
 * (epoll_create1(2), timerfd_create(2)).
 */
int host_init(void);

/* host_clock_monotonic: CLOCK_MONOTONIC in ns (clock_gettime(2)). */
uint64_t host_clock_monotonic(void);

/* host_clock_wall: CLOCK_REALTIME in ns since the Unix epoch. */
uint64_t host_clock_wall(void);

/*
 * host_console_write: write all n bytes to stdout (stream 1) or stderr
 * (any other), retrying short writes and EINTR. Output to a closed pipe or a
 * full disk is dropped. Never fails.
 */
void host_console_write(int stream, const void *p, size_t n);

/*
 * host_console_read: read up to n bytes of stdin without blocking (poll(2)
 * with a zero timeout, then one read(2)). Returns bytes read (> 0), 0 when
 * nothing is waiting, or -1 once stdin has ended or cannot be read (closed,
 * EOF, error); every call after that returns -1.
 */
long host_console_read(void *p, size_t n);

/* host_console_isatty: 1 if stream (0, 1 or 2) is a terminal (isatty(3)). */
int host_console_isatty(int stream);

/* Ready bits returned by host_wait(); equal to PLAT_READY_* in platform.h. */
#define HOST_READY_CONSOLE 0x1u

/*
 * host_wait: block until one of `events` (HOST_READY_* bits) is ready or
 * timeout_ns nanoseconds pass (UINT64_MAX: no timeout; 0: just poll), with
 * epoll(7) and a timerfd (ns resolution). Returns the ready set, a subset of
 * `events`. The console is ready while stdin has input, and once more when it
 * has ended until host_console_read() has returned -1; a stdin that epoll
 * cannot watch (a regular file, /dev/null) is always ready until then.
 */
uint32_t host_wait(uint64_t timeout_ns, uint32_t events);

#endif
