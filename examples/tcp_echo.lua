-- tcp_echo.lua: a TCP echo server: every line a client sends comes back.
--
--   lunik run examples/tcp_echo.lua -p 7007:7      (then, on the host:)
--   socat - TCP:127.0.0.1:7007                     (type lines; ^D ends)
--
-- Each connection runs in its own handler coroutine; a client that says
-- nothing for 60 s is disconnected.
local net = require("lunik.net")

local port = tonumber(arg[1]) or 7

local listener = assert(net.listen(port, function(conn)
    while true do
        local line, err = conn:read_line(60)
        if not line then
            if err ~= "closed" then print("echo: " .. err) end
            return                      -- the connection closes
        end
        assert(conn:write(line .. "\n"))
    end
end))
print("tcp echo on port " .. listener:port())
