# cli/build.mk: (filled in by the cli work)
