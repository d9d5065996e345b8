# tests/build.mk: (filled in by the tests work)
# lunik.http's parser and responses over a scripted conn, under plain lua5.4.
TEST_PROGS += tests/unit/http_test.t
# Helper programs the TAP scripts run (built by `make`, so `make check`
# has them): tests/net/conc.c, the 1,000-connection HTTP client.
TEST_TOOLS := $(B)/tests/net/conc
all: $(TEST_TOOLS)
$(B)/tests/net/%: tests/net/%.c
	@mkdir -p $(@D)
	$(HOST_CC) -O2 -g -Wall -Wextra -D_GNU_SOURCE -o $@ $<
