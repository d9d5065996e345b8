# runtime/build.mk: the Lua runtime (event loop, lunik, lunik.net, lunik.http), guest and host.
BOTH_SRCS += runtime/runtime.c runtime/alloc.c runtime/netlib.c \
    runtime/lua_sources.S

# The assembler's .incbin is invisible to -MMD: name the embedded files here.
RUNTIME_LUA := runtime/lunik.lua runtime/net.lua runtime/http.lua
$(B)/guest/runtime/lua_sources.o $(B)/host/runtime/lua_sources.o: \
    $(RUNTIME_LUA)
