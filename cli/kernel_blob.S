/* kernel_blob.S: the guest kernels (lunik's and the PVH one), embedded in the lunik command. */
/*
 * LUNIK_GUEST_ELF is the kernel's path, set by cli/build.mk: that of
 * build/lunik-guest.elf less its debug sections. The bytes lie between
 * cli_kernel_elf_start and cli_kernel_elf_end (cli/cli.h), aligned to 4096
 * bytes so that the monitor may copy ELF segments from page offsets.
 */
    .section .rodata.lunik_kernel, "a"
    .balign 4096
    .globl cli_kernel_elf_start
    .globl cli_kernel_elf_end
    .type cli_kernel_elf_start, @object
    .type cli_kernel_elf_end, @object
cli_kernel_elf_start:
    .incbin LUNIK_GUEST_ELF
cli_kernel_elf_end:
    .size cli_kernel_elf_start, cli_kernel_elf_end - cli_kernel_elf_start

/* The PVH kernel (build/lunik-pvh.elf less its debug sections, path in
 * LUNIK_PVH_ELF): `lunik build --pvh` and `lunik run --vmm qemu`. */
    .balign 4096
    .globl cli_pvh_elf_start
    .globl cli_pvh_elf_end
    .type cli_pvh_elf_start, @object
    .type cli_pvh_elf_end, @object
cli_pvh_elf_start:
    .incbin LUNIK_PVH_ELF
cli_pvh_elf_end:
    .size cli_pvh_elf_start, cli_pvh_elf_end - cli_pvh_elf_start

    .section .note.GNU-stack, "", @progbits
