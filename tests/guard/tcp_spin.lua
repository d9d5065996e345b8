-- tcp_spin.lua: a raw TCP server whose handler spins after reading a line, for tests/65-guard.t.
local net = require("lunik.net")
assert(net.listen(7, function(conn)
    local line = conn:read_line(5)
    if line == "spin" then while true do end end
    conn:write("echo " .. tostring(line) .. "\n")
end, { budget = 0.2 }))
print("tcp_spin on port 7")
