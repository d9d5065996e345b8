# host/build.mk: Linux back ends shared by the monitor and the hosted target.
HOST_SRCS += host/host.c
