# host/build.mk: Linux back ends shared by the monitor and the hosted target.
HOST_SRCS += host/host.c host/net.c host/net_slirp.c host/net_tap.c \
    host/deadline.c host/control.c

# libslirp (Debian libslirp-dev). Its slirp.pc requires glib-2.0's .pc,
# which lunik does not need (libslirp.so brings its own glib), so plain
# -lslirp when pkg-config cannot answer.
SLIRP_CFLAGS := $(shell pkg-config --silence-errors --cflags slirp)
SLIRP_LIBS := $(shell pkg-config --silence-errors --libs slirp || \
    echo -lslirp)
HOST_LDLIBS += $(SLIRP_LIBS)
$(B)/host/host/%.o: private HOST_CFLAGS += $(SLIRP_CFLAGS)

# Unit test: the back ends against real slirp and a real tap (TAP output).
HOST_NET_SRCS := host/host.c host/control.c host/net.c host/net_slirp.c host/net_tap.c
$(B)/tests/host_net_test: tests/unit/host_net_test.c $(HOST_NET_SRCS) \
    host/host.h host/control.h host/net.h host/net_backend.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) $(SLIRP_CFLAGS) -I. \
	    -fsanitize=address,undefined -no-pie -o $@ $(filter %.c,$^) \
	    $(SLIRP_LIBS)
TEST_PROGS += $(B)/tests/host_net_test
