# tests/build.mk: (filled in by the tests work)
