-- tcpbulk.lua: the lunik side of bench/tcpbulk.c: "S N\n" sends N bytes, "R N\n" reads N and answers "k".
local net = require("lunik.net")

local port = tonumber(arg[1]) or 9000
local CHUNK = string.rep("x", 65536)

assert(net.listen(port, function(conn)
    local line = conn:read_line(10)
    local op, n = (line or ""):match("^(%u) (%d+)$")
    n = tonumber(n)
    if op == "S" then
        while n > 0 do
            local k = n < #CHUNK and n or #CHUNK
            if not conn:write(k == #CHUNK and CHUNK or CHUNK:sub(1, k), 60)
            then return end
            n = n - k
        end
    elseif op == "R" then
        while n > 0 do
            local s = conn:read(65536, 60)
            if not s then return end
            n = n - #s
        end
        conn:write("k")
    end
end))
print("tcp bulk on port " .. port)
