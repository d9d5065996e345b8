-- api_server.lua: lunik.net read, read_line, back-pressure (60-net.t).
--
--   lunik run tests/net/api_server.lua -p 8080:80 [-- PORT]
--
-- A TCP server; the first line a client sends picks what the connection
-- tests, and the server reports on the connection (one line per check):
--   read      conn:read(4) then conn:read(100): "A=<bytes>", "B=<bytes>"
--             (at most 4 bytes; then what has arrived, without waiting for
--             100)
--   line      conn:read_line(0.5) with part of a line sent, then
--             conn:read_line(10): "1=<line or nil>,<err>", "2=<line>" (the
--             part read before the timeout is kept)
--   long      conn:read_line(10, 8) on more than 8 bytes without "\n":
--             "3=nil,too long"
--   huge      conn:read_line(10) (the default max) on a line longer than
--             the receive window (64 KiB): "5=nil,too long", not a wait
--             for bytes the window no longer lets the peer send
--   eof       conn:read_line(10) on "tail" then end of stream:
--             "4=nil,closed,tail"
--   flood     write 10 MiB ("0123456789abcde\n" repeated) in 64 KiB
--             writes; the client is expected not to read at first. A
--             timer prints "flood stalled at N bytes" on stdout once the
--             writes have made no progress for 1 s (the writer waits:
--             back-pressure), then "flood done N bytes" when all is
--             queued.
local net = require("lunik.net")
local lunik = require("lunik")

local port = tonumber(arg and arg[1]) or 80
local FLOOD = 10 * 1024 * 1024
local CHUNK = string.rep("0123456789abcde\n", 4096)        -- 64 KiB

local function show(v) return v == nil and "nil" or tostring(v) end

local function flood(conn)
    local written, last, still = 0, -1, 0
    local ticker = lunik.every(0.1, function()
        if written == last then
            still = still + 1
            if still == 10 then
                print("flood stalled at " .. written .. " bytes")
            end
        else
            last, still = written, 0
        end
    end)
    while written < FLOOD do
        assert(conn:write(CHUNK))
        written = written + #CHUNK
    end
    ticker:cancel()
    print("flood done " .. written .. " bytes")
end

local modes = {
    read = function(conn)
        local a, err = conn:read(4, 10)
        conn:write("A=" .. show(a or err) .. "\n")
        local b
        b, err = conn:read(100, 10)
        conn:write("B=" .. show(b or err) .. "\n")
    end,
    line = function(conn)
        local l, err = conn:read_line(0.5)
        conn:write("1=" .. show(l) .. "," .. show(err) .. "\n")
        l, err = conn:read_line(10)
        conn:write("2=" .. show(l or err) .. "\n")
    end,
    long = function(conn)
        local l, err = conn:read_line(10, 8)
        conn:write("3=" .. show(l) .. "," .. show(err) .. "\n")
    end,
    huge = function(conn)
        local l, err = conn:read_line(10)
        conn:write("5=" .. show(l) .. "," .. show(err) .. "\n")
    end,
    eof = function(conn)
        local l, err, partial = conn:read_line(10)
        conn:write("4=" .. show(l) .. "," .. show(err) .. "," ..
                   show(partial) .. "\n")
    end,
    flood = flood,
}

local listener = assert(net.listen(port, function(conn)
    local mode = conn:read_line(10)
    local fn = mode and modes[mode]
    if fn then fn(conn) else conn:write("unknown mode\n") end
end))
print("api server on port " .. listener:port())
