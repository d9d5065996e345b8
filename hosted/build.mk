# hosted/build.mk: the hosted target (platform.h, VFS-backed stdio) in build/lunik.
HOST_SRCS += hosted/platform.c hosted/run.c hosted/stdio.c
