/* main.c: the guest kernel's main: mount the bundle, run the Lua runtime. */
#include <stdio.h>

#include "boot.h"
#include "lunik/run.h"
#include "lunik/runtime.h"
#include "lunik/vfs.h"

#define STDOUT_BUF 32768                /* bytes of stdio's stdout buffer */

/* main: called by musl's start code with the monitor's argv. Returns the
 * program's status (as lunik_runtime_main), or LUNIK_EXIT_DATAERR when the
 * bundle is malformed. */
int main(int argc, char **argv)
{
    const struct lunik_boot_info *b = guest_boot_info();
    static char outbuf[STDOUT_BUF];

    /* A system call costs a trap on kvm: stdio gathers more per write
     * (full buffering, or by lines on a terminal, as musl would). */
    setvbuf(stdout, outbuf, b->console_tty & LUNIK_TTY_STDOUT ? _IOLBF
                                                              : _IOFBF,
            sizeof outbuf);

    if (lunik_vfs_mount((const void *)(uintptr_t)b->bundle_gpa,
                        b->bundle_size) < 0) {
        fputs("lunik: the image's bundle is malformed\n", stderr);
        return LUNIK_EXIT_DATAERR;
    }
    return lunik_runtime_main(argc, argv);
}
