# monitor/build.mk: the KVM monitor inside the `lunik` command.
HOST_SRCS += monitor/vm.c monitor/layout.c monitor/hypercall.c monitor/run.c

# The monitor includes the shared back ends as "host/host.h".
$(B)/host/monitor/%.o: private HOST_CFLAGS += -I.
