/* run.c: lunik_hosted_run: a program in this process, the bundle as files. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../host/control.h"
#include "../host/host.h"
#include "../host/net.h"
#include "lunik/run.h"
#include "lunik/runtime.h"
#include "lunik/vfs.h"

/*
 * The process becomes the program: no environment but TZ=UTC (so that
 * os.getenv and os.date answer as in the guest, which has no environment and
 * no /etc/localtime), the bundle and an empty /tmp as its only files (through
 * hosted/stdio.c), stdin/stdout/stderr as its console, and the NIC
 * cfg->net asks for (host/net.h; a back end that cannot start is reported
 * in one line and LUNIK_EXIT_OSERR, before the program runs). cfg->kernel
 * and cfg->mem_size are ignored: the program uses the process's own memory.
 */
int lunik_hosted_run(const struct lunik_run_config *cfg)
{
    int r = host_init();
    if (r < 0) {
        fprintf(stderr, "lunik: cannot start the hosted target: %s\n",
                strerror(-r));
        return LUNIK_EXIT_OSERR;
    }
    if (cfg->net != NULL && cfg->net->kind != LUNIK_NET_NONE) {
        char why[200];
        struct host_net_info info;
        if (host_net_open(cfg->net, why, sizeof why) < 0) {
            fprintf(stderr, "lunik: %s\n", why);
            return LUNIK_EXIT_OSERR;
        }
        /* net/stack.c takes frames with partial checksums (platform.h):
         * let a tap leave them so. */
        if (host_net_info(&info) == 0 && info.csum_offload)
            host_net_set_csum_offload(1);
    }
    if (clearenv() != 0 || setenv("TZ", "UTC", 1) != 0) {
        fprintf(stderr, "lunik: cannot set the program's environment\n");
        return LUNIK_EXIT_OSERR;
    }
    tzset();
    r = lunik_vfs_mount(cfg->bundle, cfg->bundle_size);
    if (r == -ENOMEM) {
        fprintf(stderr, "lunik: not enough memory for the file bundle\n");
        return LUNIK_EXIT_OSERR;
    }
    if (r < 0) {
        fprintf(stderr, "lunik: the image's file bundle is corrupt\n");
        return LUNIK_EXIT_DATAERR;
    }
    extern struct host_control hosted_control;  /* platform.c */
    host_control_init(&hosted_control, cfg->control_fd);
    host_wait_control(&hosted_control);
    return lunik_runtime_main(cfg->argc, cfg->argv);
}
