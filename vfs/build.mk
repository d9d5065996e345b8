# vfs/build.mk: the in-memory file tree (bundle + /tmp), for guest and host.
BOTH_SRCS += vfs/vfs.c

# Unit test: native gcc, TAP on stdout.
$(B)/tests/vfs_test: tests/unit/vfs_test.c vfs/vfs.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -fsanitize=address,undefined -no-pie -o $@ $^
TEST_PROGS += $(B)/tests/vfs_test
