# cli/build.mk: the lunik command (build, run, inspect, ps, logs, stop), images and bundles.
HOST_SRCS += cli/main.c cli/options.c cli/netopts.c cli/util.c cli/app.c \
    cli/requires.c cli/compile.c cli/bundle.c cli/image.c cli/instances.c \
    cli/kernel_blob.S cli/pvh.c cli/qemu.c \
    cli/firecracker.c cli/attach.c
HOST_LDLIBS += -ledit

# The guest kernel is assembled into the command (.incbin) without its debug
# sections: --strip-debug keeps every loaded byte, address and symbol, and
# makes images a third of the size (addr2line works on build/lunik-guest.elf).
# gcc's -MMD does not see .incbin, so the dependencies are spelled out.
$(B)/host/cli/lunik-guest.elf: $(B)/lunik-guest.elf
	@mkdir -p $(@D)
	strip --strip-debug -o $@ $<

$(B)/host/cli/lunik-pvh.elf: $(B)/lunik-pvh.elf
	@mkdir -p $(@D)
	strip --strip-debug -o $@ $<

$(B)/host/cli/kernel_blob.o: $(B)/lunik-guest.elf $(B)/host/cli/lunik-guest.elf \
    $(B)/lunik-pvh.elf $(B)/host/cli/lunik-pvh.elf
$(B)/host/cli/kernel_blob.o: private HOST_CFLAGS += \
    -DLUNIK_GUEST_ELF='"$(B)/host/cli/lunik-guest.elf"' \
    -DLUNIK_PVH_ELF='"$(B)/host/cli/lunik-pvh.elf"'

# qemu.c and pvh.c use host/net.h (slirp's network for --ip with -p).
$(B)/host/cli/qemu.o $(B)/host/cli/pvh.o: private HOST_CFLAGS += -I.
