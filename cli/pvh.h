/* pvh.h: PVH ELF images (`lunik build --pvh`) and running them under QEMU microvm (`lunik run --vmm qemu`). */
#ifndef LUNIK_CLI_PVH_H
#define LUNIK_CLI_PVH_H

#include <stddef.h>
#include <stdint.h>

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
 * cli_pvh_load_end: the guest physical address just past the highest
 * PT_LOAD segment of a PVH ELF made by cli_pvh_elf (elf, n bytes): a VM
 * with less memory cannot even hold the image, and its vCPU would run
 * whatever the VMM left there. 0 when elf has no valid program headers.
 */
uint64_t cli_pvh_load_end(const unsigned char *elf, size_t n);

/*
 * cli_pvh_cmdline: the kernel command line guest/pvh/boot.c reads:
 * lunik.vmm=VMM (lunik.target() is "pvh/VMM"), lunik.console=serial for
 * Firecracker, lunik.ip= for a fixed address, then "--" and the runtime's
 * argv (argc strings), each percent-encoded (space, '%', '=', quotes,
 * control bytes as %XX; "" as a lone "%"). A new string.
 */
char *cli_pvh_cmdline(const struct cli_options *opt, const char *vmm,
                      int argc, char **argv);

/* cli_pvh_ip4: a dotted quad for a network-byte-order address (new
 * string); cli_pvh_prefix: the prefix length of a netmask. */
char *cli_pvh_ip4(uint32_t a);
int cli_pvh_prefix(uint32_t mask_be);

/*
 * cli_firecracker_run: write the PVH ELF elf (n bytes) and Firecracker's
 * JSON config (boot-source with the command line, machine-config with
 * one vCPU and --mem, network-interfaces for --net tap:NAME; Firecracker
 * has no user networking, so -p is a usage error) into opt->vmm_dir or a
 * new temporary directory, then run `firecracker --no-api --config-file`
 * when it is on PATH (LUNIK_FIRECRACKER names another binary) and return
 * its status (Firecracker exits 0 whatever the program's status: it has
 * no exit device). Without it: one line naming the config, and
 * LUNIK_EXIT_OSERR, the files kept.
 */
int cli_firecracker_run(const struct cli_options *opt,
                        const unsigned char *elf, size_t n, int argc,
                        char **argv);

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
