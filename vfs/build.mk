# vfs/build.mk: (filled in by the vfs work)
