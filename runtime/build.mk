# runtime/build.mk: (filled in by the runtime work)
