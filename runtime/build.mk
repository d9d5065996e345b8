# runtime/build.mk: the Lua runtime (event loop, lunik module), guest and host.
BOTH_SRCS += runtime/runtime.c runtime/alloc.c runtime/lunik_lua.S

# The assembler's .incbin is invisible to -MMD: name the embedded file here.
$(B)/guest/runtime/lunik_lua.o $(B)/host/runtime/lunik_lua.o: runtime/lunik.lua
