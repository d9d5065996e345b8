/* lua_sources.S: embeds the runtime's Lua sources (scheduler, lunik.net, lunik.http, the control channel) as read-only data. */
    .section .rodata

/* embed NAME, FILE: the bytes of FILE between NAME and NAME_end, then a 0. */
.macro embed name, file
    .global \name
    .global \name\()_end
\name:
    .incbin "\file"
\name\()_end:
    .byte 0
.endm

    embed lunik_runtime_lua, "runtime/lunik.lua"
    embed lunik_net_lua, "runtime/net.lua"
    embed lunik_http_lua, "runtime/http.lua"
    embed lunik_control_lua, "runtime/control.lua"

    .section .note.GNU-stack, "", @progbits
