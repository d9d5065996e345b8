# Makefile: builds the guest kernel, the `lunik` command, tests and benchmarks.
#
#   make demo       install what is needed (scripts/setup.sh), build, and run
#                   examples/hello.lua on the default target
#   make check      the same set-up and build, then the test suite (TAP,
#                   through prove)
#   make check-kvm  the same, but only the kvm-target tests: on /dev/kvm, or
#                   in the nested test VM where it does not open
#   make bench      the same set-up and build, then the benchmarks (bench/)
#   make oci-examples  build examples/hello.lua and http.lua into podman's
#                   store as localhost/lunik/hello and localhost/lunik/http
#   make            build build/lunik (the CLI, monitor and hosted target,
#                   with the guest kernel build/lunik-guest.elf inside it)
#
# Sources are listed by one build.mk per folder, in three lists:
#   GUEST_SRCS  compiled with musl-gcc into the guest kernel only
#   HOST_SRCS   compiled with gcc into build/lunik only
#   BOTH_SRCS   compiled for both (runtime/, vfs/, net/ with lwIP)
# Lua 5.4 (third_party/lua, fetched by scripts/setup.sh) is compiled for both.

B := build
# Set-up runs once per build, however many jobs make runs: everything it
# fetches hangs off one stamp file, which setup.sh writes when it is done.
SETUP_STAMP := third_party/.setup-done
LUA_DIR := third_party/lua/src

HOST_CC := gcc
GUEST_CC := musl-gcc

COMMON_CFLAGS := -O2 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
    -Iinclude -fno-pie -fno-plt
HOST_CFLAGS := $(COMMON_CFLAGS) -D_GNU_SOURCE -MMD -MP
GUEST_CFLAGS := $(COMMON_CFLAGS) -D_GNU_SOURCE -DLUNIK_GUEST -MMD -MP \
    -fno-stack-protector -fno-omit-frame-pointer

# Lua: the core and standard libraries (Lua 5.4's CORE_O and LIB_O), not
# the stand-alone interpreter and compiler. Listed, not globbed: on a fresh
# clone the sources only appear once set-up has run, after make has read
# this file.
LUA_CFLAGS := -DLUA_USE_POSIX \
    -Wno-sign-compare -Wno-implicit-fallthrough
LUA_NAMES := lapi lcode lctype ldebug ldo ldump lfunc lgc llex lmem \
    lobject lopcodes lparser lstate lstring ltable ltm lundump lvm lzio \
    lauxlib lbaselib lcorolib ldblib liolib lmathlib loadlib loslib \
    lstrlib ltablib lutf8lib linit
GUEST_LUA_OBJS := $(LUA_NAMES:%=$(B)/guest/lua/%.o)
HOST_LUA_OBJS := $(LUA_NAMES:%=$(B)/host/lua/%.o)

GUEST_SRCS :=
HOST_SRCS :=
BOTH_SRCS :=
TEST_PROGS :=
GUEST_LDFLAGS := -static -no-pie
GUEST_LDLIBS :=
HOST_LDLIBS := -lz -lm

all: $(B)/lunik

# $(call objs,DIR,SOURCES): the object files of SOURCES under DIR.
objs = $(patsubst %.S,$(1)/%.o,$(patsubst %.c,$(1)/%.o,$(2)))

include host/build.mk
include vfs/build.mk
include net/build.mk
include runtime/build.mk
include guest/build.mk
include monitor/build.mk
include hosted/build.mk
include cli/build.mk
include oci/build.mk
include tests/build.mk

GUEST_OBJS := $(call objs,$(B)/guest,$(GUEST_SRCS) $(BOTH_SRCS))
HOST_OBJS := $(call objs,$(B)/host,$(HOST_SRCS) $(BOTH_SRCS))

# Link rules; guest/build.mk sets GUEST_LDFLAGS (and GUEST_LDLIBS),
# cli/build.mk sets HOST_LDLIBS.
$(B)/lunik-guest.elf: $(GUEST_OBJS) $(GUEST_LUA_OBJS)
	$(GUEST_CC) $(GUEST_LDFLAGS) -o $@ $^ $(GUEST_LDLIBS)

$(B)/lunik: $(HOST_OBJS) $(HOST_LUA_OBJS)
	$(HOST_CC) -no-pie -o $@ $^ $(HOST_LDLIBS)

$(SETUP_STAMP): scripts/setup.sh
	scripts/setup.sh

# Fetched files exist once the stamp does (no recipe of their own, so no
# job but the stamp's ever runs setup.sh).
$(LUA_DIR)/lua.h $(LUA_DIR)/lua5.4-deb-multiarch.h: | $(SETUP_STAMP)
$(LUA_NAMES:%=$(LUA_DIR)/%.c): | $(SETUP_STAMP)

$(B)/guest/lua/%.o: $(LUA_DIR)/%.c | $(LUA_DIR)/lua.h $(LUA_DIR)/lua5.4-deb-multiarch.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) $(LUA_CFLAGS) -c $< -o $@

$(B)/host/lua/%.o: $(LUA_DIR)/%.c hosted/lua_redirect.h | $(LUA_DIR)/lua.h $(LUA_DIR)/lua5.4-deb-multiarch.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) $(LUA_CFLAGS) -include hosted/lua_redirect.h \
	    -c $< -o $@

$(B)/guest/%.o: %.c | $(LUA_DIR)/lua.h $(LUA_DIR)/lua5.4-deb-multiarch.h
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -I$(LUA_DIR) -c $< -o $@

$(B)/guest/%.o: %.S | $(SETUP_STAMP)
	@mkdir -p $(@D)
	$(GUEST_CC) $(GUEST_CFLAGS) -c $< -o $@

$(B)/host/%.o: %.c | $(LUA_DIR)/lua.h $(LUA_DIR)/lua5.4-deb-multiarch.h
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -I$(LUA_DIR) -c $< -o $@

$(B)/host/%.o: %.S | $(SETUP_STAMP)
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_CFLAGS) -c $< -o $@

JOBS ?= 2
# What `make check` runs (TESTS=tests/60-net.t for one file).
TESTS = tests/*.t $(TEST_PROGS)

# demo, check and bench run setup.sh every time (cheap when all is there;
# it installs what a newer checkout lists), then build in a sub-make.
setup:
	scripts/setup.sh

demo: setup
	$(MAKE) -j$(JOBS) all
	$(B)/lunik run examples/hello.lua

# The examples as OCI images in podman's store (docs/oci.md).
oci-examples: setup
	$(MAKE) -j$(JOBS) all
	scripts/oci-image.sh examples/hello.lua localhost/lunik/hello
	scripts/oci-image.sh examples/http.lua localhost/lunik/http

check: setup
	$(MAKE) -j$(JOBS) all $(TEST_PROGS)
	@echo "check: kvm tests: $$(scripts/kvm-vm.sh --mode)"
	prove -v $(TESTS)

# check-kvm: only the kvm-target cases (LUNIK_TEST_PART=kvm), on /dev/kvm
# where it opens, else in one boot of the nested test VM (scripts/kvm-vm.sh).
KVM_TESTS := $(filter-out tests/70-kvm-vm.t,$(wildcard tests/*.t)) \
    tests/unit/guest_kernels_test.t
check-kvm: setup
	$(MAKE) -j$(JOBS) all $(TEST_PROGS)
	@mode=$$(scripts/kvm-vm.sh --mode); echo "check-kvm: kvm tests: $$mode"; \
	case $$mode in \
	direct:*) LUNIK_TEST_PART=kvm prove -v $(KVM_TESTS) ;; \
	nested:*) LUNIK_TEST_PART=kvm scripts/kvm-vm.sh prove -v $(KVM_TESTS) ;; \
	*) echo "check-kvm: the kvm tests cannot run here ($$mode)" >&2; exit 1 ;; \
	esac

bench: setup
	$(MAKE) -j$(JOBS) all
	bench/run.sh

clean:
	rm -rf $(B)

.PHONY: all setup demo check check-kvm bench oci-examples clean
-include $(shell find $(B) -name '*.d' 2>/dev/null)
