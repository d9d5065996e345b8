-- hello.lua: the smallest lunik program: print and end.
print("hello from " .. require("lunik").target())
