/* kvmstats.c: the vCPU's own KVM statistics (page faults, exits, emulated instructions) for `lunik run --stats`. */
#include "monitor.h"

#include <inttypes.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

/*
 * KVM_GET_STATS_FD (KVM API 4.133) gives a file: a header, then one
 * descriptor per statistic (name, type, size in u64s, offset) and the
 * values. What lunik cannot count itself shows here: traps that KVM
 * handles without returning to the monitor, above all the shadow MMU's
 * page faults when the guest first touches a page (pf_fixed, pf_guest).
 * Every cumulative counter that is not zero is printed; a kernel without
 * binary statistics prints nothing.
 */
void mon_kvm_stats_print(const struct mon_vm *vm)
{
    struct kvm_stats_header h;
    char *descs = NULL;
    size_t dsize;
    int fd, printed = 0;

    fd = ioctl(vm->vcpu_fd, KVM_GET_STATS_FD, NULL);
    if (fd < 0)
        return;
    if (pread(fd, &h, sizeof h, 0) != (ssize_t)sizeof h || h.num_desc == 0 ||
        h.num_desc > 4096 || h.name_size > 256)
        goto out;
    dsize = sizeof(struct kvm_stats_desc) + h.name_size;
    descs = malloc(dsize * h.num_desc);
    if (descs == NULL || pread(fd, descs, dsize * h.num_desc, h.desc_offset) !=
                         (ssize_t)(dsize * h.num_desc))
        goto out;
    for (uint32_t i = 0; i < h.num_desc; i++) {
        const struct kvm_stats_desc *d =
            (const struct kvm_stats_desc *)(descs + dsize * i);
        uint64_t v;
        if ((d->flags & KVM_STATS_TYPE_MASK) != KVM_STATS_TYPE_CUMULATIVE ||
            d->size != 1 ||
            pread(fd, &v, sizeof v, h.data_offset + d->offset) !=
                (ssize_t)sizeof v || v == 0)
            continue;
        fprintf(stderr, "%s %.*s %" PRIu64,
                printed++ ? "," : "lunik: stats: kvm vcpu:",
                (int)h.name_size, d->name, v);
    }
    if (printed)
        fprintf(stderr, "\n");
out:
    free(descs);
    close(fd);
}
