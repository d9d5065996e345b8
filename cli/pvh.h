/* pvh.h: PVH ELF images (`lunik build --pvh`) and running them under QEMU microvm (`lunik run --vmm qemu`). */
#ifndef LUNIK_CLI_PVH_H
#define LUNIK_CLI_PVH_H

#include <stddef.h>

#include "cli.h"

/* The PVH guest kernel (build/lunik-pvh.elf), embedded by kernel_blob.S. */
extern const unsigned char cli_pvh_elf_start[];
extern const unsigned char cli_pvh_elf_end[];

/*
 * cli_pvh_elf: into out (emptied first), the PVH kernel k (ksize bytes)
 * with the bundle (blen bytes, image.h) as one more read-only PT_LOAD
 * above the kernel, which the kernel finds at boot (guest/pvh/boot.c):
 * one ELF that any PVH VMM boots (QEMU's -kernel, Firecracker's
 * kernel_image_path). Returns 0, or LUNIK_EXIT_DATAERR after one line
 * when k is not a kernel laid out as the PVH build links it.
 */
int cli_pvh_elf(const unsigned char *k, size_t ksize, const void *bundle,
                size_t blen, struct cli_buf *out);

/*
 * cli_qemu_run: boot the PVH ELF elf (n bytes) under QEMU's microvm
 * machine with the runtime's argv (argc strings), the network of opt->net,
 * --mem of memory, stdin and stdout on one virtio console and stderr on
 * another, the serial port on stderr for the kernel's own reports. Waits
 * for QEMU and returns the program's exit status (read from QEMU's
 * isa-debugcon, so all of 0..255 come through), or a LUNIK_EXIT_* code
 * after one line "lunik: ..." (QEMU missing or failing: OSERR; the guest
 * stopped without a status: GUEST).
 */
int cli_qemu_run(const struct cli_options *opt, const unsigned char *elf,
                 size_t n, int argc, char **argv);

#endif
