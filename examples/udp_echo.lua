-- udp_echo.lua: a UDP echo server: every datagram goes back to its sender.
--
--   lunik run examples/udp_echo.lua -p 7007:7/udp  (then, on the host:)
--   echo hi | socat - UDP:127.0.0.1:7007
local net = require("lunik.net")

local port = tonumber(arg[1]) or 7

local sock = assert(net.udp_bind(port, function(data, ip, from, sock)
    sock:sendto(data, ip, from)
end))
print("udp echo on port " .. sock:port())
