# monitor/build.mk: the KVM monitor inside the `lunik` command.
HOST_SRCS += monitor/vm.c monitor/layout.c monitor/hypercall.c monitor/run.c \
    monitor/devices.c monitor/virtq.c monitor/virtio_mmio.c \
    monitor/virtio_console.c monitor/virtio_net.c monitor/virtio_control.c \
    monitor/devthread.c monitor/stats.c \
    monitor/upcall.c monitor/kvmstats.c
HOST_LDLIBS += -lpthread

# The monitor includes the shared back ends as "host/host.h".
$(B)/host/monitor/%.o: private HOST_CFLAGS += -I.

# --stats names the guest's system calls as the guest's shim does.
$(B)/host/monitor/stats.o: $(GUEST_GEN)/syscall_names.h
$(B)/host/monitor/stats.o: private HOST_CFLAGS += -I$(GUEST_GEN)
