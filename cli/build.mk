# cli/build.mk: the lunik command (build, run, inspect), images and bundles.
HOST_SRCS += cli/main.c cli/options.c cli/util.c cli/app.c cli/requires.c \
    cli/compile.c cli/bundle.c cli/image.c cli/kernel_blob.S

# The guest kernel is assembled into the command (.incbin); gcc's -MMD does
# not see .incbin, so the dependency is spelled out.
$(B)/host/cli/kernel_blob.o: $(B)/lunik-guest.elf
$(B)/host/cli/kernel_blob.o: private HOST_CFLAGS += \
    -DLUNIK_GUEST_ELF='"$(B)/lunik-guest.elf"'
