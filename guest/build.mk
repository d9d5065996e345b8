# guest/build.mk: (filled in by the guest work)
