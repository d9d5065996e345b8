# hosted/build.mk: the hosted target: platform.h, VFS-backed stdio, run.
HOST_SRCS += hosted/platform.c hosted/run.c hosted/stdio.c hosted/deadline.c
