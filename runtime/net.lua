-- net.lua: the lunik.net module: TCP and UDP handlers and connections over lwIP.
--
-- lunik.lua loads this chunk on the first require("lunik.net") with two
-- arguments: `sched`, the scheduler's private interface (start, wait_io,
-- set_net; see lunik.lua), and `core`, the C half (runtime/netlib.c). The
-- network (lwIP and the NIC) starts on the first call that needs it.
--
-- Every endpoint (listener, connection, UDP socket) has an integer id; the
-- C half reports ids with events after each poll, and on_events wakes the
-- coroutines waiting on those ids and runs the per-endpoint dispatchers
-- (accept for listeners, datagram delivery for UDP sockets).
--
-- Conventions (all functions): bad arguments raise errors; run-time
-- failures return nil, err with err one of "timeout", "closed", "reset",
-- "aborted", "refused", "unreachable", "address in use", "too long",
-- "out of memory", "no network: run with -p or --net". Timeouts are in
-- seconds (a number >= 0; nil = no limit). Calls that wait suspend only the
-- calling handler coroutine.

local sched, core = ...

local wait_io = sched.wait_io
local start4 = sched.start4
local start_budget, guard = sched.start_budget, sched.guard
local now = sched.now
local setmetatable, getmetatable = setmetatable, getmetatable
local type, error, tostring = type, error, tostring
local mtype = math.type
local xpcall, traceback = xpcall, debug.traceback
local c_recv, c_recv_line, c_send = core.recv, core.recv_line, core.send
local c_close, c_accept, c_state = core.close, core.accept, core.state

local net = {}

local DEFAULT_LINE_MAX = 65536
local DEFAULT_READ = 65536

local dispatch = {}         -- id -> function run on each event of id
local nopen = 0             -- listeners and UDP sockets open (keep alive)
local nconns = 0            -- TCP connections open (lunik.stats)
local conns = setmetatable({}, { __mode = "k" })    -- open Conn -> true
sched.set_net_stats(function() return nconns, nopen end, function()
    local out, t = {}, now()
    for c in pairs(conns) do
        if c.box then
            local ip, port = core.peer(c.box)
            out[#out + 1] = { peer = ip, peer_port = port, port = c.port,
                              age = t - c.since }
        end
    end
    table.sort(out, function(a, b) return a.age > b.age end)
    return out
end)
local naddr = 0             -- handlers in wait_address (keep polling)
-- The open listener (tcp_ports) or UDP socket (udp_ports) on each port,
-- for reload (lunik.lua's staging): new code that registers again on a
-- port older code holds gets a staged endpoint that takes the old one's
-- socket at commit.
local tcp_ports, udp_ports = {}, {}
local started = false

local function on_events(ids)
    for i = 1, #ids do
        local id = ids[i]
        local d = dispatch[id]
        if d then d() end
        sched.wake(id)
    end
end

local function busy()
    return nopen > 0 or naddr > 0 or sched.io_waiting()
end

local NO_NET = "no network: run with -p or --net"

-- Start lwIP on the NIC once; nil, err when the program has none.
local function ensure_started()
    if started then return true end
    if not core.start() then return nil, NO_NET end
    started = true
    sched.set_net({ poll = core.poll, timeout = core.timeout,
                    busy = busy, on_events = on_events,
                    drain = core.drain })
    return true
end

-- Check a timeout argument (seconds >= 0, or nil for none). The hot
-- paths call it only when `t ~= nil and not (mtype(t) and t >= 0)`.
local function check_timeout(t, argn, name)
    if t ~= nil and (type(t) ~= "number" or t ~= t or t < 0) then
        error("bad argument #" .. argn .. " to '" .. name ..
              "' (timeout in seconds >= 0 expected, got " ..
              (t ~= t and "nan" or type(t) == "number" and tostring(t)
               or type(t)) .. ")", 3)
    end
end

-- Wait for an event on endpoint id, `timeout` seconds (nil: no limit)
-- from the first wait of a call, whose deadline (now() + timeout, taken
-- only when the call first has to wait) is *deadline.
-- -> the deadline (or true with no timeout) | false: it has passed.
local function wait_within(id, timeout, deadline)
    if timeout then
        if not deadline then
            if timeout == 0 then return false end
            deadline = now() + timeout
        end
        return wait_io(id, deadline) and deadline
    end
    return wait_io(id, nil)
end

local function check_port(p, argn, name, zero_ok)
    if math.type(p) ~= "integer" or p < (zero_ok and 0 or 1) or p > 65535 then
        error("bad argument #" .. argn .. " to '" .. name .. "' (port " ..
              (zero_ok and "0" or "1") .. "..65535 expected)", 3)
    end
end

local function check_fn(fn, argn, name)
    if type(fn) ~= "function" then
        error("bad argument #" .. argn .. " to '" .. name ..
              "' (function expected, got " .. type(fn) .. ")", 3)
    end
end

----------------------------------------------------------- connections

local Conn = {}
Conn.__index = Conn
Conn.__name = "lunik.net.conn"

local function new_conn(box, id, port)
    nconns = nconns + 1
    local c = setmetatable({ box = box, id = id, port = port, since = now() },
                           Conn)
    conns[c] = true
    return c
end

-- conn:read(n [, timeout]) -> string | nil, err: 1..n bytes as soon as
-- any have arrived (as recv(2)); n >= 1 (default 65536). nil, "closed"
-- once the peer has closed its side and everything was read.
function Conn:read(n, timeout)
    if n == nil then
        n = DEFAULT_READ
    elseif mtype(n) ~= "integer" or n < 1 then
        error("bad argument #1 to 'read' (byte count >= 1 expected)", 2)
    end
    if timeout ~= nil and not (mtype(timeout) and timeout >= 0) then
        check_timeout(timeout, 2, "read")
    end
    local box = self.box
    if not box then return nil, "closed" end
    local deadline
    while true do
        local s, err = c_recv(box, n)
        if s ~= "" then return s, err end
        deadline = wait_within(self.id, timeout, deadline)
        if not deadline then return nil, "timeout" end
        box = self.box
        if not box then return nil, "closed" end        -- closed meanwhile
    end
end

-- conn:read_line([timeout [, max]]) -> line | nil, err [, partial]: the
-- next line without its "\n" (and a "\r" just before it). err: "timeout";
-- "too long" when max bytes (default 65536) hold no "\n", or when the
-- receive window (64 KiB) fills without one (the peer could send no
-- more); "closed" at the end of the stream, with the unterminated rest as
-- partial (maybe "").
function Conn:read_line(timeout, max)
    check_timeout(timeout, 1, "read_line")
    if max == nil then max = DEFAULT_LINE_MAX end
    if math.type(max) ~= "integer" or max < 1 then
        error("bad argument #2 to 'read_line' (byte count >= 1 expected)", 2)
    end
    if not self.box then return nil, "closed", "" end
    local deadline
    while true do
        local line, err, partial = c_recv_line(self.box, max)
        if line then return line end
        if line == nil then return nil, err, partial end
        deadline = wait_within(self.id, timeout, deadline)
        if not deadline then return nil, "timeout" end
        if not self.box then return nil, "closed", "" end
    end
end

-- conn:write(s [, timeout]) -> true | nil, err: queue all of s (a string)
-- for sending. Waits while the send buffer (256 KiB) is full, or the
-- memory all connections' data to send may take (an eighth of --mem), so
-- a fast writer is held back by a slow reader (back-pressure). On a
-- timeout part of s may have been queued.
function Conn:write(s, timeout)
    if type(s) ~= "string" then
        if type(s) == "number" then
            s = tostring(s)
        else
            error("bad argument #1 to 'write' (string expected, got " ..
                  type(s) .. ")", 2)
        end
    end
    if timeout ~= nil and not (mtype(timeout) and timeout >= 0) then
        check_timeout(timeout, 2, "write")
    end
    local box = self.box
    if not box then return nil, "closed" end
    local len = #s
    if len == 0 then return true end
    local k, err = c_send(box, s, 1)
    if not k then return nil, err end
    local i, deadline = 1 + k, nil
    while i <= len do                       -- the send buffer was full
        deadline = wait_within(self.id, timeout, deadline)
        if not deadline then return nil, "timeout" end
        box = self.box
        if not box then return nil, "closed" end
        k, err = c_send(box, s, i)
        if not k then return nil, err end
        i = i + k
    end
    return true
end

-- conn:close() -> true: close the connection: data already written is
-- still delivered, then FIN (RFC 9293 3.6). Unread received data is
-- dropped; other handlers waiting on it get nil, "closed". Closing again
-- does nothing.
function Conn:close()
    if self.box then
        c_close(self.box)
        self.box = nil
        nconns = nconns - 1
        sched.wake(self.id)
    end
    return true
end

-- conn:shutdown() -> true | nil, err: half-close, as shutdown(2) with
-- SHUT_WR: the peer gets FIN after the data already written; reading goes
-- on until the peer closes its side. A write afterwards returns nil,
-- "closed". conn:close() still ends the connection.
function Conn:shutdown()
    if not self.box then return nil, "closed" end
    return core.shutdown(self.box)
end

-- conn:peer() -> ip, port | nil, err: the remote end's address.
function Conn:peer()
    if not self.box then return nil, "closed" end
    return core.peer(self.box)
end

-- net._stream(conn) -> box, id | nil: conn's endpoint box and event id
-- when conn is an open lunik.net connection (lunik.http moves its bytes
-- in C through them; runtime/netlib.h's lunik_net_stream).
function net._stream(conn)
    if getmetatable(conn) == Conn and conn.box then
        return conn.box, conn.id
    end
    return nil
end

-- net._wait_io(id, deadline) -> true (an event on endpoint id) | false
-- (the deadline, in now()'s seconds, has passed): the scheduler's
-- wait_io, for lunik.http's connection loop.
net._wait_io = wait_io

------------------------------------------------------------------- TCP

-- Close a listener or UDP socket: no more events, no longer keeps the
-- program running. Idempotent; returns true. (A staged one, which has no
-- socket yet, is simply dropped.)
local function close_endpoint(self)
    if self.box then
        dispatch[self.id] = nil
        c_close(self.box)
        self.box = nil
        nopen = nopen - 1
        local ports = self.ports
        if ports and ports[self.bound] == self then ports[self.bound] = nil end
    end
    return true
end

local Listener = {}
Listener.__index = Listener
Listener.__name = "lunik.net.listener"

-- Run fn(conn) for one accepted connection; close it when fn ends. A
-- handler stopped over its budget (guard.c) gets its connection reset
-- (RST), as a crashed server's peer would.
local function serve_conn(fn, conn)
    local ok, err = xpcall(fn, function(e)
        return traceback(sched.message(e), 2)
    end, conn)
    if ok then
        conn:close()
        return
    end
    local why = guard.count_error(err)
    if why == "budget" and conn.box then
        local _, text = guard.expired()
        if not err:find(text, 1, true) then err = text .. " (" .. err .. ")" end
        guard.grace(0.5)
        c_close(conn.box, true)
        conn.box = nil
        nconns = nconns - 1
        sched.wake(conn.id)
    else
        conn:close()
    end
    sched.report("tcp", err)
end

-- During a reload (sched.staging()), a listener or UDP socket registered
-- again on a port the old code has open takes over that socket when the
-- reload commits (lunik.lua), so no connection or datagram is refused in
-- between. -> the new endpoint (staged until then) | nil, "address in
-- use" (a second registration of the port) | false (no reload, or a new
-- port). handler(e): the dispatch function of endpoint e, or nil; level:
-- the registering call's, as sched.register takes it from net.listen
-- (the helpers add their own frame, so they are never tail-called).
local function stage_swap(ports, port, mt, kind, level, handler)
    local old = ports[port]
    if port == 0 or not sched.staging() or not (old and old.box) or
       old.gen >= sched.generation() then
        return false
    end
    if old.staged then return nil, "address in use" end
    local e = sched.register(setmetatable({ bound = port, staged = true,
                                            staged_old = old, ports = ports,
                                            close_old = close_endpoint },
                                          mt), kind, level + 1)
    old.staged = e
    local swaps = sched.staging().swaps
    swaps[#swaps + 1] = function()
        e.box, e.id, e.staged, e.staged_old = old.box, old.id, nil, nil
        old.box, old.staged = nil, nil          -- its socket lives on
        dispatch[e.id] = handler(e)
        ports[port] = e
        if old.on_swap then old.on_swap(e) end
    end
    return e
end

-- A new endpoint on socket box (event id, port bound) of metatable mt.
local function open_endpoint(ports, box, id, bound, mt, kind, level, handler)
    local e = sched.register(setmetatable({ box = box, id = id,
                                            bound = bound, ports = ports,
                                            close_old = close_endpoint },
                                          mt), kind, level + 1)
    nopen = nopen + 1
    ports[bound] = e
    dispatch[id] = handler(e)
    return e
end

-- net.listen(port, fn [, opts]) -> listener | nil, err: accept TCP
-- connections on port (0..65535; 0 picks a free one) on every address of
-- the NIC. fn(conn) runs in a fresh handler coroutine per connection; the
-- connection is closed when fn returns or throws (a throw prints a
-- traceback on stderr; the listener goes on). opts.backlog: connections
-- waiting to be accepted, 1..255 (default 128; more are refused).
-- opts.budget: seconds each run of fn may take before it yields (default
-- lunik.budget()); a run over it is stopped and its connection reset.
function net.listen(port, fn, opts)
    check_port(port, 1, "listen", true)
    check_fn(fn, 2, "listen")
    local ok, err = ensure_started()
    if not ok then return nil, err end
    local backlog = opts and opts.backlog or 128
    local budget = opts and opts.budget
    if budget ~= nil and (type(budget) ~= "number" or not (budget > 0) or
                          budget == math.huge) then
        error("bad argument #3 to 'listen' (opts.budget must be seconds > 0)",
              2)
    end
    local kind, level = opts and opts._kind or "tcp", opts and opts._level or 2
    local function accept(l)
        return function()
            while l.box do
                local cbox, cid = c_accept(l.box)
                if not cbox then break end
                l.runs = l.runs + 1
                start_budget("tcp", budget, serve_conn, fn,
                             new_conn(cbox, cid, l.bound))
            end
        end
    end
    local staged, why = stage_swap(tcp_ports, port, Listener, kind, level,
                                   accept)
    if staged ~= false then return staged, why end
    local box, id, bound = core.listen(port, backlog)
    if not box then return nil, id end
    local l = open_endpoint(tcp_ports, box, id, bound, Listener, kind,
                            level, accept)
    return l                            -- not a tail call: see level
end

-- listener:port() -> the port it listens on.
function Listener:port() return self.bound end

-- listener:close() -> true: stop accepting; open connections go on.
Listener.close = close_endpoint

-- net.connect(ip, port [, timeout]) -> conn | nil, err: open a TCP
-- connection to ip (an IPv4 dotted quad) and port (1..65535). err:
-- "refused" (RST), "timeout", "unreachable", "aborted" (no answer after
-- lwIP's SYN retries), or NO_NET.
function net.connect(ip, port, timeout)
    if type(ip) ~= "string" then
        error("bad argument #1 to 'connect' (IPv4 address string expected)",
              2)
    end
    check_port(port, 2, "connect")
    check_timeout(timeout, 3, "connect")
    local ok, err = ensure_started()
    if not ok then return nil, err end
    local box, id = core.connect(ip, port)
    if not box then return nil, id end
    local deadline
    while true do
        local state, e = c_state(box)
        if state == "open" then return new_conn(box, id) end
        if not state then c_close(box); return nil, e end
        deadline = wait_within(id, timeout, deadline)
        if not deadline then
            c_close(box, true)
            return nil, "timeout"
        end
    end
end

------------------------------------------------------------------- UDP

local Udp = {}
Udp.__index = Udp
Udp.__name = "lunik.net.udp"

-- net.udp_bind(port, fn) -> sock | nil, err: receive UDP datagrams on
-- port (0..65535; 0 picks a free one). fn(data, ip, port, sock) runs in a
-- fresh handler coroutine per datagram (data a string, ip/port the
-- sender's). Up to 256 datagrams wait while handlers are busy; more are
-- dropped, as a full socket buffer drops them. fn may be nil for a socket
-- that only sends.
function net.udp_bind(port, fn)
    check_port(port, 1, "udp_bind", true)
    if fn ~= nil then check_fn(fn, 2, "udp_bind") end
    local ok, err = ensure_started()
    if not ok then return nil, err end
    local function deliver(s)
        return function()
            while s.box do
                local data, ip, p = core.udp_recv(s.box)
                if not data then break end
                s.runs = s.runs + 1
                start4("udp", fn, data, ip, p, s)
            end
        end
    end
    local function handler(s) return fn and deliver(s) or nil end
    local staged, why = stage_swap(udp_ports, port, Udp, "udp", 2, handler)
    if staged ~= false then return staged, why end
    local box, id, bound = core.udp_bind(port)
    if not box then return nil, id end
    local s = open_endpoint(udp_ports, box, id, bound, Udp, "udp", 2,
                            handler)
    return s                            -- not a tail call: see level
end

-- sock:sendto(data, ip, port) -> true | nil, err: send data (a string of
-- at most 65507 bytes) as one datagram to ip:port; never waits; nil,
-- "closed" once the socket is closed. In C (netlib.c), where it reads
-- self.box itself: one call per datagram.
Udp.sendto = core.udp_sendto

-- sock:port() -> the port it is bound to.
function Udp:port() return self.bound end

-- sock:close() -> true: stop receiving; queued datagrams are dropped.
Udp.close = close_endpoint

-------------------------------------------------------------- the NIC

-- net.address() -> "a.b.c.d" | nil: the NIC's IPv4 address; nil while
-- DHCP has not finished, or when there is no network.
function net.address()
    if not started then
        if not ensure_started() then return nil end
    end
    return core.address()
end

-- net.wait_address([timeout]) -> "a.b.c.d" | nil, err: wait (in a
-- handler) until the NIC has an IPv4 address (fixed, or leased by DHCP).
function net.wait_address(timeout)
    check_timeout(timeout, 1, "wait_address")
    local deadline = timeout and now() + timeout
    local ok, err = ensure_started()
    if not ok then return nil, err end
    naddr = naddr + 1                   -- the loop polls lwIP meanwhile
    while true do
        local a = core.address()
        if a then naddr = naddr - 1; return a end
        local l = deadline and deadline - now()
        if l and l <= 0 then naddr = naddr - 1; return nil, "timeout" end
        sched.sleep(l and math.min(l, 0.01) or 0.01)
    end
end

return net
