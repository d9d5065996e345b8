/* lunik_lua.S: embeds runtime/lunik.lua (the scheduler) as read-only data. */
    .section .rodata
    .global lunik_runtime_lua
    .global lunik_runtime_lua_end
lunik_runtime_lua:
    .incbin "runtime/lunik.lua"
lunik_runtime_lua_end:
    .byte 0

    .section .note.GNU-stack, "", @progbits
