# runtime/build.mk: the Lua runtime (event loop, lunik, lunik.net, lunik.http), guest and host.
BOTH_SRCS += runtime/runtime.c runtime/alloc.c runtime/guard.c runtime/netlib.c \
    runtime/httpcore.c runtime/httpparse.c runtime/httprender.c \
    runtime/httpserve.c runtime/lua_sources.S

# llhttp 8.1's C sources from Debian's node-llhttp, linked into
# third_party/llhttp by scripts/setup.sh; third-party code, built as shipped.
LLHTTP_DIR := third_party/llhttp
LLHTTP_SRCS := $(LLHTTP_DIR)/api.c $(LLHTTP_DIR)/http.c $(LLHTTP_DIR)/llhttp.c
BOTH_SRCS += $(LLHTTP_SRCS)
GUEST_CFLAGS += -I$(LLHTTP_DIR)
HOST_CFLAGS += -I$(LLHTTP_DIR)
$(LLHTTP_SRCS) $(LLHTTP_DIR)/llhttp.h: | $(SETUP_STAMP)
$(B)/guest/$(LLHTTP_DIR)/%.o: private GUEST_CFLAGS += -Wno-unused-parameter \
    -Wno-implicit-fallthrough
$(B)/host/$(LLHTTP_DIR)/%.o: private HOST_CFLAGS += -Wno-unused-parameter \
    -Wno-implicit-fallthrough

# The C half as a module for the stand-alone lua5.4 that runs
# tests/unit/http_test.lua.
HTTPCORE_SRCS := runtime/httpcore.c runtime/httpparse.c runtime/httprender.c \
    runtime/httpserve.c
$(B)/tests/lunik_httpcore.so: $(HTTPCORE_SRCS) runtime/httpcore.h \
    runtime/udata.h runtime/netlib.h $(LLHTTP_SRCS) | $(LUA_DIR)/lua.h
	@mkdir -p $(@D)
	$(HOST_CC) -O2 -g -std=gnu11 -Wall -Wextra -Wno-unused-parameter \
	    -Wno-implicit-fallthrough -fPIC -shared -I$(LUA_DIR) \
	    -I$(LLHTTP_DIR) -o $@ $(HTTPCORE_SRCS) $(LLHTTP_SRCS)
tests/unit/http_test.t: $(B)/tests/lunik_httpcore.so

# The assembler's .incbin is invisible to -MMD: name the embedded files here.
RUNTIME_LUA := runtime/lunik.lua runtime/net.lua runtime/http.lua \
    runtime/control.lua
$(B)/guest/runtime/lua_sources.o $(B)/host/runtime/lua_sources.o: \
    $(RUNTIME_LUA)
