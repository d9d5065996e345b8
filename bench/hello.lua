-- hello.lua: the start-up benchmark's program: one line of output, as plain Lua so lua5.4 runs it too.
print("hello")
