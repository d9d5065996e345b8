# hosted/build.mk: (filled in by the hosted work)
