-- http.lua: lunik.http, an HTTP/1.1 server (RFC 9112, RFC 9110) over lunik.net.
--
--   local http = require("lunik.http")
--   local server = assert(http.serve(8080, function(req)
--       return 200, { ["Content-Type"] = "text/plain" }, "hi\n"
--   end))
--
-- One handler coroutine per connection (net.listen gives it). The
-- connection runs in C: parsing (runtime/httpparse.c, with llhttp, RFC
-- 9112), response framing (runtime/httprender.c) and the loop that reads,
-- runs the handler on each request and writes its response
-- (runtime/httpserve.c); Lua runs the handler. This file holds the API,
-- its options and the rare paths (a handler that fails, a request that
-- cannot be read). On a lunik.net connection the bytes move in C both
-- ways (parser:next reads them, reply writes the response: netlib.h's
-- lunik_net_stream). Requests on a connection are answered strictly in
-- order, so pipelined requests work. Every limit is in bytes or seconds and
-- bounds the memory one connection can hold: at most max_line plus
-- max_header_bytes of header data plus max_body of body, plus one read.
--
-- The C half is this chunk's argument inside lunik (runtime.c); a plain
-- lua5.4 (the unit tests) passes it too, from build/tests/lunik_httpcore.so
-- (without reply and parser:next: scripted connections go through
-- conn:read and conn:write).

local core, guard = ...
local parser, render, reply = core.parser, core.render, core.reply
local serve = core.serve
-- guard (runtime/guard.c, from lunik.lua): budget stops and counters; a
-- plain lua5.4 (the unit tests) has none.
guard = guard or { expired = function() return false end,
                   grace = function() end,
                   count_handler = function() end,
                   count_error = function(e)
                       return e == "not enough memory" and "memory" or "error"
                   end }
local count_handler = guard.count_handler

local lower = string.lower
local mtype = math.type
local pairs, setmetatable, tostring, type = pairs, setmetatable, tostring, type
local getmetatable, pcall = getmetatable, pcall
local traceback = debug.traceback

local http = {}

local READ_SIZE = 16384     -- bytes asked of conn:read at a time (linger)

-- Option names, defaults and units (see http.serve).
local DEFAULTS = {
    max_line = 8192,            -- bytes, request line (and chunk-size line)
    max_header_bytes = 16384,   -- bytes, header section (or trailer section)
    max_headers = 100,          -- field lines in the header section
    max_body = 1048576,         -- bytes, request body after de-chunking
    idle_timeout = 5,           -- s, waiting for a request's first byte
    read_timeout = 10,          -- s, from a request's first byte to its end
    write_timeout = 10,         -- s, for each conn:write of a response
    linger = 1,                 -- s, draining input after an error reply
    backlog = 128,              -- listen backlog (net.listen's opts.backlog)
    budget = 0,                 -- s per handler run; 0: lunik.budget()'s
}

-- Reason phrases (RFC 9110 15); other codes get an empty reason.
local REASONS = {
    [100] = "Continue", [101] = "Switching Protocols",
    [200] = "OK", [201] = "Created", [202] = "Accepted",
    [203] = "Non-Authoritative Information", [204] = "No Content",
    [205] = "Reset Content", [206] = "Partial Content",
    [300] = "Multiple Choices", [301] = "Moved Permanently", [302] = "Found",
    [303] = "See Other", [304] = "Not Modified", [307] = "Temporary Redirect",
    [308] = "Permanent Redirect",
    [400] = "Bad Request", [401] = "Unauthorized", [403] = "Forbidden",
    [404] = "Not Found", [405] = "Method Not Allowed",
    [406] = "Not Acceptable", [408] = "Request Timeout", [409] = "Conflict",
    [410] = "Gone", [411] = "Length Required", [412] = "Precondition Failed",
    [413] = "Content Too Large", [414] = "URI Too Long",
    [415] = "Unsupported Media Type", [416] = "Range Not Satisfiable",
    [417] = "Expectation Failed", [422] = "Unprocessable Content",
    [426] = "Upgrade Required", [429] = "Too Many Requests",
    [431] = "Request Header Fields Too Large",
    [500] = "Internal Server Error", [501] = "Not Implemented",
    [502] = "Bad Gateway", [503] = "Service Unavailable",
    [504] = "Gateway Timeout", [505] = "HTTP Version Not Supported",
}
http.reasons = REASONS

------------------------------------------------------------------- clock

local clock
-- The monotonic clock in seconds: lunik.now inside lunik, os.clock in a
-- plain Lua (the unit tests, where conns are scripted and never wait).
local function now()
    if not clock then
        local ok, lunik = pcall(require, "lunik")
        clock = ok and type(lunik) == "table" and lunik.now or os.clock
    end
    return clock()
end

----------------------------------------------------------------- response

-- The text of an error value, as lua.c's message handler makes it.
local function message(e)
    local t = type(e)
    if t == "string" or t == "number" then return tostring(e) end
    local mt = getmetatable(e)
    if type(mt) == "table" and mt.__tostring then
        local ok, s = pcall(tostring, e)
        if ok and type(s) == "string" then return s end
    end
    return "(error object is a " .. t .. " value)"
end

-- Write a response (one or two writes). -> true | nil.
local function send(conn, o, head, body)
    if not conn:write(head, o.write_timeout) then return nil end
    if body and not conn:write(body, o.write_timeout) then return nil end
    return true
end

local TEXT_PLAIN = { ["Content-Type"] = "text/plain" }

-- Answer a request we could not read with `code` and Connection: close.
local function send_error(conn, o, code)
    local head, rest = render(nil, code, TEXT_PLAIN,
                              lower(REASONS[code] or "error") .. "\n", true)
    return send(conn, o, head, rest)
end

-- After an error reply to a request whose body may still be coming, read
-- and drop input for up to o.linger seconds (until the peer closes), so
-- that closing with unread input does not reset the connection before the
-- client has read the reply.
local function linger(conn, o)
    local deadline = now() + o.linger
    while true do
        local left = deadline - now()
        if left <= 0 then return end
        if not conn:read(READ_SIZE, left) then return end
    end
end

------------------------------------------------------------ connection

local function with_traceback(e)
    return traceback(message(e), 2)
end

-- lunik.net's private hooks (net._stream, net._wait_io), fetched on the
-- first connection that can use them: inside lunik (core.reply) only.
local stream_of, wait_io

-- The box and event id of conn when it is a lunik.net connection whose
-- bytes the parser and reply() can move in C; nil otherwise (a scripted
-- conn in the unit tests, or any other object with conn's methods).
local function fast_stream(conn)
    if not reply then return nil end
    if not stream_of then
        local net = require("lunik.net")
        stream_of, wait_io = net._stream, net._wait_io
    end
    return stream_of(conn)
end

-- The handler threw (err: its message with a traceback) or returned
-- values that are no response (problem: what is wrong with them).
-- -> status, headers, body: the response to send instead | nil: the
-- connection closes (a handler stopped over its budget, answered with
-- 503 here).
local function failed(conn, o, err, problem)
    if problem then
        io.stderr:write("lunik: http handler: ", problem, "; sent 500\n")
        return 500, TEXT_PLAIN, "internal server error\n"
    end
    local why = guard.count_error(err)
    if why == "budget" then                 -- stopped: 503, then close
        local _, text = guard.expired()
        if not string.find(err, text, 1, true) then
            err = text .. " (" .. err .. ")"
        end
        guard.grace(0.5)
        io.stderr:write("lunik: error in http handler: ", err, "\n")
        send_error(conn, o, 503)
        return nil
    end
    io.stderr:write("lunik: error in http handler: ", err, "\n")
    if why == "memory" then                 -- the heap is full: 503
        return 503, TEXT_PLAIN, "service unavailable\n"
    end
    return 500, TEXT_PLAIN, "internal server error\n"
end

-- A request could not be read: answer `code` and close; pending: its
-- body may still be coming (linger first).
local function bad(conn, o, code, pending)
    if send_error(conn, o, code) and pending then linger(conn, o) end
end

-- The Lua helpers of the C connection loop (httpserve.c's lib), made on
-- the first connection (after fast_stream has fetched wait_io).
local lib

-- Serve HTTP/1.x requests on conn until it closes or must close, then
-- close it. The loop is C (httpserve.c's serve): it reads (within
-- idle_timeout between requests, read_timeout from a request's first
-- byte to its end), lets the parser say what to do next (read more, send
-- 100 Continue, answer a request, or answer an error status and close),
-- runs the handler and writes its response. On a lunik.net connection the
-- parser reads the bytes itself (parser:next) and reply() writes the
-- responses.
local function serve_conn(conn, handler, o, server)
    local box, id = fast_stream(conn)
    if not lib then
        now()                               -- resolves clock
        lib = { traceback = with_traceback, now = clock, wait_io = wait_io,
                count_handler = count_handler, failed = failed, bad = bad,
                reply = reply, render = render }
    end
    serve(conn, handler, o, server, parser(o), box, id, lib)
    conn:close()
end

-- Options that count bytes or things (integers >= 1); the rest are times.
local COUNTS = { max_line = true, max_header_bytes = true, max_headers = true,
                 max_body = true, backlog = true }

-- Options with defaults; errors name the bad option.
local function options(opts, fname)
    if opts ~= nil and type(opts) ~= "table" then
        error("bad argument #3 to '" .. fname .. "' (table expected, got " ..
              type(opts) .. ")", 3)
    end
    local o = {}
    for k, v in pairs(opts or {}) do
        if DEFAULTS[k] == nil then
            error("bad argument #3 to '" .. fname .. "' (unknown option '" ..
                  tostring(k) .. "')", 3)
        end
        local want
        if COUNTS[k] then
            if mtype(v) ~= "integer" or v < 1 then want = "an integer >= 1" end
        elseif type(v) ~= "number" or v ~= v or v < 0 or v == math.huge or
               (k ~= "linger" and v == 0) then
            want = k == "linger" and "seconds >= 0" or "seconds > 0"
        end
        if want then
            error("bad argument #3 to '" .. fname .. "' (option '" .. k ..
                  "' must be " .. want .. ")", 3)
        end
        o[k] = v
    end
    for k, v in pairs(DEFAULTS) do
        if o[k] == nil then o[k] = v end
    end
    return o
end

local function check_handler(handler, fname)
    local mt = getmetatable(handler)
    if type(handler) ~= "function" and
       not (type(mt) == "table" and mt.__call) then
        error("bad argument #2 to '" .. fname .. "' (function expected, got " ..
              type(handler) .. ")", 3)
    end
end

local Server = { __name = "lunik.http.server" }
Server.__index = Server

-- server:close() -> true: stop accepting connections (listener:close()).
-- Open connections end after their next response, which says Connection:
-- close; idle ones when idle_timeout passes. Idempotent.
function Server:close()
    if not self.closed then
        self.closed = true
        self.listener:close()
    end
    return true
end

-- server:port() -> number: the TCP port listened on (useful after port 0).
function Server:port()
    return self.listener:port()
end

--[[
http.serve(port, handler [, opts]) -> server | nil, err

Listen for HTTP/1.0 and HTTP/1.1 on TCP port (0..65535; 0 = ephemeral)
with lunik.net's net.listen; every connection runs in its own handler
coroutine. Bad arguments raise errors; a failed listen returns nil and
net.listen's error ("address in use", "no network", ...).

handler(req) -> status, headers, body runs in the connection's coroutine
(it may sleep or use lunik.net; the connection waits for it):
  req.method   "GET", "POST", ... (case-sensitive token)
  req.target   the request-target as sent: "/a/b?x=1", "*" (OPTIONS only)
               or "http://host/a" (absolute-form)
  req.path     the target's path, not percent-decoded ("/a/b"; "*")
  req.query    the raw query after "?" (not decoded), or nil
  req.version  "HTTP/1.1" (also for 1.2..1.9) or "HTTP/1.0"
  req.headers  field names lowercased -> value with OWS trimmed; repeated
               fields combined with ", " (RFC 9110 5.3); host replaced by
               the target's authority in absolute-form (RFC 9112 3.2.2);
               content-length normalised to one decimal, or removed when
               Transfer-Encoding framed the body
  req.body     the body (de-chunked), "" when there is none
  req.trailers trailer fields of a chunked body, as headers, or nil
  req.peer     the client's IPv4 address (conn:peer())
Return:
  status       integer 100..599 (anything else: a 500 is sent and the
               problem goes to stderr)
  headers      nil or a table name -> value (string or number, or a list
               of them for repeated fields); values must not hold CR, LF
               or other controls (else 500). Content-Length and
               Transfer-Encoding are set by the server (the handler's
               Content-Length is used only for HEAD with an empty body);
               "Connection: close" makes the server close afterwards.
  body         string or nil ("")
The server adds Server: lunik and Date (unless given), Content-Length
(never for 1xx/204; no body for HEAD, 1xx, 204, 304) and Connection:
close when it will close. A handler that throws gets a 500 reply with a
short text body, and "lunik: error in http handler: " plus a traceback on
stderr; the connection stays usable.

Connections are persistent by default in HTTP/1.1 ("Connection: close"
ends them) and in HTTP/1.0 only with "Connection: keep-alive" (RFC 9112
9.3). Requests that cannot be parsed get 400 (bad syntax, RFC 9112 2-7),
408 (read_timeout), 413 (body over max_body; said before reading it when
Content-Length is known), 414 (request line over max_line with a target),
417 (an Expect other than 100-continue), 431 (header section over
max_header_bytes or max_headers), 501 (a transfer coding other than
chunked, or CONNECT), 505 (HTTP major version not 1); each with
Connection: close, after which the connection closes. "Expect:
100-continue" is answered with a 100 before the body is read.

opts (all optional; sizes in bytes, times in seconds):
  max_line = 8192          request line, and each chunk-size line
  max_header_bytes = 16384 field lines of the header (or trailer) section
  max_headers = 100        field lines in the header section
  max_body = 1048576       body after de-chunking
  idle_timeout = 5         waiting for the first byte of a request (first
                           or next on a kept-alive connection); then the
                           connection closes without a response
  read_timeout = 10        from a request's first byte to its last; then
                           408 and close
  write_timeout = 10       each write of a response (conn:write's timeout)
  linger = 1               after an error reply to a request with a body,
                           input is drained for up to this long before
                           closing (0: close at once)
  backlog = 128            net.listen's backlog
  budget                   seconds each run of a request's handler may
                           take before it yields (default: lunik.budget());
                           a handler over it is stopped, its client gets
                           503 and the connection closes. A handler out of
                           Lua heap ("not enough memory") gets 503 too.
]]
function http.serve(port, handler, opts)
    if mtype(port) ~= "integer" or port < 0 or port > 65535 then
        error("bad argument #1 to 'serve' (port 0..65535 expected)", 2)
    end
    check_handler(handler, "serve")
    local o = options(opts, "serve")
    local net = require("lunik.net")
    local server = setmetatable({ closed = false, handler = handler }, Server)
    local listener, err = net.listen(port, function(conn)
        serve_conn(conn, handler, o, server)
    end, { backlog = o.backlog, budget = o.budget > 0 and o.budget or nil,
           _kind = "http", _level = 3 })
    if not listener then return nil, err end
    server.listener = listener
    -- Reload (net.lua): a listener retired by newer code closes as a
    -- server does; one whose port newer code took sends its connections'
    -- next requests to the newer server's handler.
    listener.close_old = function() return server:close() end
    listener.on_swap = function(newer) server.next = newer.server end
    listener.server = server
    return server
end

-- http.serve_connection(conn, handler [, opts]): serve requests on one
-- already-accepted connection, as http.serve does for each of its
-- connections, and close it at the end. conn is anything with lunik.net's
-- conn methods (read, write, close, peer); useful with your own
-- net.listen, or with a scripted connection in tests. Returns nothing.
function http.serve_connection(conn, handler, opts)
    check_handler(handler, "serve_connection")
    serve_conn(conn, handler, options(opts, "serve_connection"), nil)
end

return http
