-- api_client.lua: lunik.net client calls against host servers (60-net.t).
--
--   lunik run tests/net/api_client.lua --net user -- HOST TCPPORT CLOSEDPORT \
--       UDPPORT
--
-- HOST is the host as the guest sees it (10.0.2.2 with user-mode
-- networking). Connects to HOST:TCPPORT, sends "ping from guest", prints
-- the line the host answers; connects to HOST:CLOSEDPORT (nothing listens
-- there) and prints the error; sends one UDP datagram "udp from guest" to
-- HOST:UDPPORT, then shows sendto's errors for bad arguments and on a
-- closed socket. Each result is one line on stdout.
local net = require("lunik.net")

local host = arg[1]
local tport, closed, uport = tonumber(arg[2]), tonumber(arg[3]),
    tonumber(arg[4])

-- The UDP socket is opened first: it keeps the network running while the
-- address is leased.
local sock = assert(net.udp_bind(0))
print("address " .. tostring(net.wait_address(20)))

local conn, err = net.connect(host, tport, 10)
print("connect " .. (conn and "ok" or tostring(err)))
if conn then
    print("write " .. tostring(conn:write("ping from guest\n", 10)))
    local line, e = conn:read_line(10)
    print("host said " .. tostring(line or e))
    conn:close()
end

local c2, err2 = net.connect(host, closed, 10)
print("closed port " .. tostring(c2) .. " " .. tostring(err2))

print("sendto " .. tostring(sock:sendto("udp from guest\n", host, uport)))
-- Bad arguments are errors that name sendto and the argument.
for _, args in ipairs({ { 42, host, uport }, { "x", nil, uport },
                        { "x", "10.0.2.x", uport }, { "x", host, 0 },
                        { "x", host, 1.5 },
                        { string.rep("x", 65508), host, uport } }) do
    local ok, e = pcall(function() return sock:sendto(table.unpack(args, 1, 3)) end)
    print("sendto error " .. tostring(ok) .. " " .. tostring(e))
end
sock:close()
print("sendto closed " .. table.concat({ tostring(sock:sendto("x", host, uport)) }, " ")
      .. " " .. select(2, sock:sendto("x", host, uport)))
print("client done")
