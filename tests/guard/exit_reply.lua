-- exit_reply.lua: replies written just before lunik.exit must arrive (tests/65-guard.t).
--
--   lunik run tests/guard/exit_reply.lua -p P:7 -p U:9/udp -- tcp|udp|half
--
-- tcp: on a TCP connection, reads a line, writes 200 KB and "end\n", and
-- calls lunik.exit(0) at once. udp: answers the first datagram with
-- "reply: <it>" and exits at once. half: reads a line, writes "bye\n",
-- half-closes (conn:shutdown), then reads what the peer still sends and
-- prints it before exiting.
local lunik = require("lunik")
local net = require("lunik.net")
local mode = arg[1]

if mode == "udp" then
    assert(net.udp_bind(9, function(data, ip, port, sock)
        sock:sendto("reply: " .. data, ip, port)
        lunik.exit(0)
    end))
else
    assert(net.listen(7, function(conn)
        local line = conn:read_line(10)
        if mode == "half" then
            assert(conn:write("bye\n"))
            assert(conn:shutdown())
            print("write after shutdown:", conn:write("x"))
            local rest = {}
            while true do
                local d = conn:read(100, 10)
                if not d then break end
                rest[#rest + 1] = d
            end
            print("after shutdown the peer sent: " .. table.concat(rest))
            lunik.exit(0)
        end
        assert(conn:write(string.rep("x", 200000) .. "\nend\n"))
        lunik.exit(0)
    end))
end
print("ready " .. mode)
