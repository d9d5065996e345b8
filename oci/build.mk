# oci/build.mk: lunik-oci, the OCI runtime (runc's command line) for podman and containerd.
OCI_SRCS := oci/main.c oci/spec.c oci/state.c oci/container.c oci/net.c
OCI_OBJS := $(OCI_SRCS:%.c=$(B)/host/%.o)

all: $(B)/lunik-oci
$(B)/lunik-oci: $(OCI_OBJS)
	$(HOST_CC) -no-pie -o $@ $^ -ljansson
$(OCI_OBJS): | $(SETUP_STAMP)
