/* main.c: the guest kernel's main: mount the bundle, run the Lua runtime. */
#include <stdio.h>

#include "binding.h"
#include "lunik/run.h"
#include "lunik/runtime.h"
#include "lunik/vfs.h"

#define STDOUT_BUF 32768                /* bytes of stdio's stdout buffer */

/* main: called by musl's start code with the binding's argv. Returns the
 * program's status (as lunik_runtime_main), or LUNIK_EXIT_DATAERR when the
 * bundle is malformed. */
int main(int argc, char **argv)
{
    const struct guest_boot *b = guest_bind_boot();
    static char outbuf[STDOUT_BUF];

    /* A system call costs a trap on kvm: stdio gathers more per write
     * (full buffering, or by lines on a terminal, as musl would). */
    setvbuf(stdout, outbuf, b->console_tty & 0x2 ? _IOLBF : _IOFBF,
            sizeof outbuf);

    if (lunik_vfs_mount(b->bundle, b->bundle_size) < 0) {
        fputs("lunik: the image's bundle is malformed\n", stderr);
        return LUNIK_EXIT_DATAERR;
    }
    return lunik_runtime_main(argc, argv);
}
