-- http.lua: lunik.http, an HTTP/1.1 server (RFC 9112, RFC 9110) over lunik.net.
--
--   local http = require("lunik.http")
--   local server = assert(http.serve(8080, function(req)
--       return 200, { ["Content-Type"] = "text/plain" }, "hi\n"
--   end))
--
-- One handler coroutine per connection (net.listen gives it). Requests on a
-- connection are read from one buffered stream and answered strictly in
-- order, so pipelined requests work. Every limit is in bytes or seconds and
-- bounds the memory one connection can hold: at most max_line or
-- max_header_bytes of header data plus max_body of body, plus one read.
--
-- Invariants of the per-connection reader `st`:
--   * st.buf holds received bytes; st.pos is the index of the first byte
--     not yet consumed (st.pos == #st.buf + 1 when nothing is buffered);
--   * st.deadline is the lunik.now() time by which the request being read
--     must be complete (nil while waiting for the first byte of a request);
--   * st.pending is true while a request's body may still be unread.

local byte, find, format = string.byte, string.find, string.format
local gmatch, lower, match = string.gmatch, string.lower, string.match
local sub = string.sub
local concat = table.concat
local tointeger, mtype = math.tointeger, math.type
local pairs, setmetatable, tostring, type = pairs, setmetatable, tostring, type
local getmetatable, pcall, xpcall = getmetatable, pcall, xpcall
local traceback = debug.traceback

local http = {}

local READ_SIZE = 16384     -- bytes asked of conn:read at a time

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

-- Character classes (RFC 9110 5.6.2 token, RFC 9110 5.5 field values).
local TCHAR = "[%w!#%$%%&'%*%+%-%.%^_`|~]"
local TOKEN = "^" .. TCHAR .. "+$"
-- Text of field-vchar, SP and HTAB only: no CTL (bare CR, LF, NUL). An
-- anchored repetition with the common range first: the fastest Lua
-- pattern for a per-byte check.
local FIELD_TEXT = "^[ -~\t\128-\255]*$"
local REQUEST_LINE =                            -- RFC 9112 3, 2.3
    "^(" .. TCHAR .. "+) ([\33-\126]+) HTTP/(%d)%.(%d)$"
local HOST = "^[%w%-%._~!%$&'%(%)%*%+,;=:%[%]%%]*$"  -- uri-host [":" port]

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

local date_sec, date_text
-- The current time as an IMF-fixdate (RFC 9110 5.6.7), made once a second.
local function http_date()
    local t = os.time()
    if t ~= date_sec then
        date_sec, date_text = t, os.date("!%a, %d %b %Y %H:%M:%S GMT", t)
    end
    return date_text
end

------------------------------------------------------------------- reader

-- Read more bytes into st.buf, waiting until st.deadline (or for
-- `timeout` seconds when given). -> true | nil, err (lunik.net's errors).
local function fill(st, timeout)
    if not timeout and st.deadline then
        timeout = st.deadline - now()
        if timeout <= 0 then return nil, "timeout" end
    end
    local data, err = st.conn:read(READ_SIZE, timeout)
    if not data then return nil, err end
    if st.pos > #st.buf then
        st.buf = data
    else
        st.buf = sub(st.buf, st.pos) .. data
    end
    st.pos = 1
    return true
end

-- One line, ended by LF (a CR just before the LF is dropped; RFC 9112 2.2
-- lets a recipient accept a bare LF). max: the most bytes the line may
-- take, its CRLF included. -> line, bytes consumed | nil, "too long" |
-- nil, err from fill.
local function read_line(st, max)
    local scanned = 0
    while true do
        local buf, pos = st.buf, st.pos
        local nl = find(buf, "\n", pos + scanned, true)
        if nl then
            local n = nl - pos + 1
            if n > max then return nil, "too long" end
            local e = nl - 1
            if e >= pos and byte(buf, e) == 13 then e = e - 1 end
            st.pos = nl + 1
            return sub(buf, pos, e), n
        end
        scanned = #buf - pos + 1
        if scanned >= max then return nil, "too long" end
        local ok, err = fill(st)
        if not ok then return nil, err end
    end
end

-- Exactly n bytes. -> string | nil, err from conn:read.
local function read_exact(st, n)
    local buf, pos = st.buf, st.pos
    local have = #buf - pos + 1
    if have >= n then
        st.pos = pos + n
        return sub(buf, pos, pos + n - 1)
    end
    local parts, left = { sub(buf, pos) }, n - have
    st.buf, st.pos = "", 1
    while left > 0 do
        local timeout = st.deadline - now()
        if timeout <= 0 then return nil, "timeout" end
        local data, err = st.conn:read(left > READ_SIZE and left or READ_SIZE,
                                       timeout)
        if not data then return nil, err end
        if #data > left then        -- the start of a pipelined request
            st.buf = sub(data, left + 1)
            data = sub(data, 1, left)
        end
        parts[#parts + 1] = data
        left = left - #data
    end
    return concat(parts)
end

------------------------------------------------------------------ parsing
--
-- Parse failures return nil, status (the error response to send, then
-- close) or nil, nil (close without a response: the peer went away).

-- Map a reader error to a failure: too long -> `long`, timeout -> 408,
-- anything else (closed, reset) -> close silently.
local function io_failure(err, long)
    if err == "too long" then return nil, long end
    if err == "timeout" then return nil, 408 end
    return nil, nil
end

-- s without leading and trailing SP / HTAB (OWS, RFC 9110 5.6.3).
local function trim(s)
    local i = find(s, "[^ \t]")
    if not i then return "" end
    local j = #s
    while true do
        local b = byte(s, j)
        if b ~= 32 and b ~= 9 then break end
        j = j - 1
    end
    return sub(s, i, j)
end

-- Request field names seen -> lowercase (a cache: names repeat across
-- requests; bounded, as names are the client's choice).
local REQUEST_NAMES, nrequest_names = {}, 0

-- Add one field line (without its line end) to fields, keyed by the
-- lowercased name; a repeated name is combined with ", " (RFC 9110 5.3).
-- -> true | nil: 400 for obs-fold, whitespace before the colon (RFC 9112
-- 5.1, 5.2) or the first field, no colon, a CTL (a bare CR too), or a
-- second Host (RFC 9112 3.2).
local function add_field(fields, line)
    local colon = find(line, ":", 1, true)
    if not colon or not find(line, FIELD_TEXT) then return nil end
    local name = sub(line, 1, colon - 1)
    local l = REQUEST_NAMES[name]
    if not l then
        if not find(name, TOKEN) then return nil end
        l = lower(name)
        if nrequest_names < 1000 then
            REQUEST_NAMES[name], nrequest_names = l, nrequest_names + 1
        end
    end
    local i = colon + 1
    local b = byte(line, i)
    while b == 32 or b == 9 do i = i + 1; b = byte(line, i) end
    local value = sub(line, i)
    b = byte(value, -1)
    if b == 32 or b == 9 then value = trim(value) end
    local old = fields[l]
    if old then
        if l == "host" then return nil end
        value = old .. ", " .. value
    end
    fields[l] = value
    return true
end

-- Field lines up to the empty line (RFC 9112 5) -> fields | nil, status.
-- When the whole section is buffered (the common case) its CRLF-ended
-- lines are taken in one pass; else (or from a bare LF on) line by line.
local function read_fields(st, o)
    local fields, count, budget = {}, 0, o.max_header_bytes
    local max = o.max_headers
    while true do
        local buf, pos = st.buf, st.pos
        if byte(buf, pos) == 13 and byte(buf, pos + 1) == 10 then
            st.pos = pos + 2                    -- the empty line
            return fields
        end
        local e = find(buf, "\r\n\r\n", pos, true)
        if e and e + 2 - pos <= budget then     -- e + 2 - pos: field bytes
            local at = pos
            while true do
                local lf = find(buf, "\n", at, true)
                if byte(buf, lf - 1) ~= 13 then break end   -- a bare LF
                count = count + 1
                if count > max then return nil, 431 end
                if not add_field(fields, sub(buf, at, lf - 2)) then
                    return nil, 400
                end
                at = lf + 1
                if lf == e + 1 then
                    st.pos = e + 4
                    return fields
                end
            end
            st.pos = at
            budget = budget - (at - pos)
        end
        local line, n = read_line(st, budget + 2)
        if not line then return io_failure(n, 431) end
        if line == "" then return fields end
        budget = budget - n
        count = count + 1
        if budget < 0 or count > max then return nil, 431 end
        if not add_field(fields, line) then return nil, 400 end
    end
end

-- Check chunk extensions (RFC 9112 7.1.1): *( BWS ";" BWS token
-- [ BWS "=" BWS ( token / quoted-string ) ] ). -> boolean.
local function valid_chunk_ext(s)
    local i, n = 1, #s
    while i <= n do
        i = match(s, "^[ \t]*;[ \t]*" .. TCHAR .. "+()", i)
        if not i then return false end
        local v = match(s, "^[ \t]*=[ \t]*()", i)
        if v then
            i = match(s, "^" .. TCHAR .. "+()", v)
            if not i then                   -- quoted-string
                if byte(s, v) ~= 34 then return false end
                i = v + 1
                while true do
                    local c = byte(s, i)
                    if not c then return false end
                    i = i + 1
                    if c == 34 then break end
                    if c == 92 then i = i + 1 end
                end
            end
        end
    end
    return true
end

-- A chunked body (RFC 9112 7.1) -> body, trailers | nil, status.
local function read_chunked(st, o)
    local parts, total = {}, 0
    while true do
        local line, n = read_line(st, o.max_line)
        if not line then return io_failure(n, 400) end
        local hex, ext = match(line, "^(%x+)(.*)$")
        if not hex or (ext ~= "" and not valid_chunk_ext(ext)) then
            return nil, 400
        end
        hex = match(hex, "^0*(.*)$")
        if #hex > 8 then return nil, 413 end
        local size = hex == "" and 0 or tonumber(hex, 16)
        if size == 0 then break end
        total = total + size
        if total > o.max_body then return nil, 413 end
        local data, err = read_exact(st, size)
        if not data then return io_failure(err) end
        parts[#parts + 1] = data
        line, err = read_line(st, 2)
        if not line then return io_failure(err, 400) end
        if line ~= "" then return nil, 400 end
    end
    local trailers, why = read_fields(st, o)
    if not trailers then return nil, why end
    return concat(parts), next(trailers) and trailers or nil
end

-- Split the request-target (RFC 9112 3.2) -> path, query, authority |
-- nil (invalid for this method).
local function split_target(method, target)
    local b = byte(target, 1)
    local authority
    if b == 47 then                                     -- "/": origin-form
    elseif target == "*" then                           -- asterisk-form
        if method ~= "OPTIONS" then return nil end
        return "*", nil
    else                                                -- absolute-form
        local rest
        authority, rest = match(target, "^%a[%w%+%-%.]*://([^/?#]*)(.*)$")
        if not authority then return nil end
        target = rest
        if byte(target, 1) ~= 47 then target = "/" .. target end
    end
    local q = find(target, "?", 1, true)
    local path, query = target, nil
    if q then path, query = sub(target, 1, q - 1), sub(target, q + 1) end
    local hash = find(query or path, "#", 1, true)      -- never sent; drop
    if hash then
        if query then query = sub(query, 1, hash - 1)
        else path = sub(path, 1, hash - 1) end
    end
    return path, query, authority
end

-- The request line, skipping empty lines before it (RFC 9112 2.2, 3).
-- -> method, target, version | nil, status.
local function read_request_line(st, o)
    local skipped = 0
    while true do
        local line, n = read_line(st, o.max_line + 2)
        if not line then
            if n ~= "too long" then return io_failure(n) end
            -- A method and a space, then no end: the target is too long.
            if find(st.buf, "^" .. TCHAR .. "+ ", st.pos) then
                return nil, 414
            end
            return nil, 400
        end
        if line ~= "" then
            local method, target, major, minor = match(line, REQUEST_LINE)
            if not method then return nil, 400 end
            if major ~= "1" then return nil, 505 end
            return method, target, minor == "0" and "HTTP/1.0" or "HTTP/1.1"
        end
        skipped = skipped + n
        if skipped > o.max_line then return nil, 400 end
    end
end

-- Does the comma-separated list s hold token t (case-insensitive)?
local function has_token(s, t)
    for item in gmatch(lower(s), "[^,]+") do
        if trim(item) == t then return true end
    end
    return false
end

-- Read one request. -> req, close (the connection must close after the
-- response) | nil, status | nil, nil.
local function read_request(st, o)
    local method, target, version = read_request_line(st, o)
    if not method then return nil, target end
    local headers, why = read_fields(st, o)
    if not headers then return nil, why end
    local path, query, authority = split_target(method, target)
    if method == "CONNECT" then return nil, 501 end     -- not a proxy
    if not path then return nil, 400 end
    -- Host: one in HTTP/1.1 (two are refused by add_field), and a valid
    -- value (RFC 9112 3.2).
    local host = headers.host
    if host then
        if not find(host, HOST) then return nil, 400 end
    elseif version == "HTTP/1.1" then
        return nil, 400
    end
    if authority then headers.host = authority end      -- RFC 9112 3.2.2
    local close = false
    local conn_field = headers.connection
    if version == "HTTP/1.1" then
        close = conn_field ~= nil and has_token(conn_field, "close")
    else
        close = not (conn_field and has_token(conn_field, "keep-alive"))
    end

    -- Framing (RFC 9112 6.3).
    local te, cl = headers["transfer-encoding"], headers["content-length"]
    local length, chunked = 0, false
    st.pending = te ~= nil or cl ~= nil     -- a body may be on its way
    if te then
        if version == "HTTP/1.0" then return nil, 400 end       -- 6.1
        local codings = {}
        for item in gmatch(lower(te), "[^,]+") do
            item = trim(item)
            if item ~= "" then codings[#codings + 1] = item end
        end
        -- chunked last (6.3), and once (7); then no other coding: 501.
        if codings[#codings] ~= "chunked" then return nil, 400 end
        for i = 1, #codings - 1 do
            if codings[i] == "chunked" then return nil, 400 end
        end
        if #codings > 1 then return nil, 501 end
        chunked = true
        if cl then                          -- both: TE wins, then close
            headers["content-length"] = nil
            close = true
        end
    elseif cl then
        local value
        for item in gmatch(cl .. ",", "([^,]*),") do
            local digits = trim(item)
            if not find(digits, "^%d+$") then return nil, 400 end
            digits = match(digits, "^0*(.*)$")
            if value and digits ~= value then return nil, 400 end
            value = digits
        end
        if #value > 15 then return nil, 413 end
        length = value == "" and 0 or tonumber(value)
        if length > o.max_body then return nil, 413 end
        headers["content-length"] = tostring(length)
    end

    -- Expect (RFC 9110 10.1.1): ignored in HTTP/1.0 requests.
    local expect = headers.expect
    if expect and version == "HTTP/1.1" then
        if lower(expect) ~= "100-continue" then return nil, 417 end
        if (chunked or length > 0) and st.pos > #st.buf then
            local ok = st.conn:write("HTTP/1.1 100 Continue\r\n\r\n",
                                     o.write_timeout)
            if not ok then return nil, nil end
        end
    end

    local body, trailers = "", nil
    if chunked then
        body, trailers = read_chunked(st, o)
        if not body then return nil, trailers end
    elseif length > 0 then
        local err
        body, err = read_exact(st, length)
        if not body then return io_failure(err) end
    end
    st.pending = false
    return {
        method = method, target = target, path = path, query = query,
        version = version, headers = headers, body = body,
        trailers = trailers,
    }, close
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

-- The status line for code, made once per code.
local STATUS_LINES = {}
local function status_line(code)
    local line = STATUS_LINES[code]
    if not line then
        line = "HTTP/1.1 " .. format("%d", code) .. " " ..
               (REASONS[code] or "") .. "\r\n"
        STATUS_LINES[code] = line
    end
    return line
end

-- Response field names the server handles itself.
local SPECIAL = { connection = true, ["content-length"] = true,
                  ["transfer-encoding"] = true, date = true, server = true }

-- A handler's field name -> its lowercase form | nil (not a token).
-- Names seen are remembered (up to 1000), as handlers reuse a few.
local NAMES, nnames = {}, 0
local function field_name(name)
    local l = NAMES[name]
    if l then return l end
    if type(name) ~= "string" or not find(name, TOKEN) then return nil end
    l = lower(name)
    if nnames < 1000 then NAMES[name], nnames = l, nnames + 1 end
    return l
end

-- A field value as text, or nil when v is not a string or number or holds
-- CR, LF, NUL or another CTL (response splitting).
local function field_text(v)
    if type(v) ~= "string" then
        if mtype(v) == "integer" then return format("%d", v) end
        if type(v) ~= "number" then return nil end
        local i = tointeger(v)
        v = i and format("%d", i) or tostring(v)
    end
    if not find(v, FIELD_TEXT) then return nil end
    return v
end

-- "Date: <now>\r\n" and "Server: lunik\r\nDate: <now>\r\n", made
-- once a second.
local date_line, server_date_line, date_lines_text
local function date_lines()
    local text = http_date()
    if text ~= date_lines_text then
        date_lines_text = text
        date_line = "Date: " .. text .. "\r\n"
        server_date_line = "Server: lunik\r\n" .. date_line
    end
    return date_line, server_date_line
end

-- Nil after telling stderr what is wrong with a handler's response.
local function bad_response(text)
    io.stderr:write("lunik: http handler: ", text, "; sent 500\n")
    return nil
end

-- The bytes of the response to a `method` request from what a handler
-- returned (status, headers, body; see http.serve), with Connection: close
-- when `close` or the handler says so, else Connection: keep-alive when
-- `keep_10` (an HTTP/1.0 keep-alive). -> head, rest (a large body sent
-- separately, or nil), close | nil: a bad response (said on stderr).
local function render(method, status, headers, body, close, keep_10)
    local code = type(status) == "number" and tointeger(status)
    if not code or code < 100 or code > 599 then
        return bad_response("bad status " .. (type(status) == "string" and
            format("%q", status) or tostring(status)) ..
            " (want an integer 100..599)")
    end
    if body == nil then
        body = ""
    elseif type(body) ~= "string" then
        return bad_response("bad body (want a string or nil, got " ..
                            type(body) .. ")")
    end
    local fields = ""           -- the handler's field lines
    local date, server, head_length = true, true, nil
    if headers ~= nil then
        if type(headers) ~= "table" then
            return bad_response("bad headers (want a table, got " ..
                                type(headers) .. ")")
        end
        for name, value in pairs(headers) do
            local l = field_name(name)
            if not l then
                return bad_response("bad header name " ..
                                    format("%q", tostring(name)))
            end
            local list, n = type(value) == "table", 1
            if list then n = #value end
            if n == 0 then
                return bad_response("bad value for header " .. name ..
                                    " (empty list)")
            end
            for i = 1, n do
                local v = field_text(list and value[i] or value)
                if not v then
                    return bad_response("bad value for header " .. name)
                end
                local emit = true
                if SPECIAL[l] then
                    emit = false
                    if l == "connection" then
                        close = close or has_token(v, "close")
                    elseif l == "content-length" then
                        head_length = match(v, "^%d+$")
                    elseif l == "date" then
                        date, emit = false, true
                    elseif l == "server" then
                        server, emit = false, true
                    end                         -- transfer-encoding: ours
                end
                if emit then
                    fields = fields .. name .. ": " .. v .. "\r\n"
                end
            end
        end
    end
    local dated = ""
    if date then
        local d, sd = date_lines()
        dated = server and sd or d
    elseif server then
        dated = "Server: lunik\r\n"
    end
    local ending = close and "Connection: close\r\n\r\n" or
                   keep_10 and "Connection: keep-alive\r\n\r\n" or "\r\n"
    -- No body and no Content-Length for 1xx and 204 (RFC 9110 8.6, 15.3.5);
    -- no body for 304 (15.4.5); the same Content-Length, no body, for HEAD.
    if code < 200 or code == 204 or code == 304 then
        return status_line(code) .. fields .. dated .. ending, nil, close
    end
    local length = #body
    if method == "HEAD" then
        if length == 0 and head_length then length = head_length end
        body = ""
    end
    if #body > 65536 then                       -- not copied again
        return status_line(code) .. fields .. dated .. "Content-Length: " ..
               length .. "\r\n" .. ending, body, close
    end
    return status_line(code) .. fields .. dated .. "Content-Length: " ..
           length .. "\r\n" .. ending .. body, nil, close
end

-- Write a response (one or two writes). -> true | nil.
local function send(st, o, head, body)
    local conn = st.conn
    if not conn:write(head, o.write_timeout) then return nil end
    if body and not conn:write(body, o.write_timeout) then return nil end
    return true
end

local TEXT_PLAIN = { ["Content-Type"] = "text/plain" }

-- Answer a request we could not read with `code` and Connection: close.
local function send_error(st, o, code)
    local head, rest = render(nil, code, TEXT_PLAIN,
                              lower(REASONS[code] or "error") .. "\n", true)
    return send(st, o, head, rest)
end

-- After an error reply to a request whose body may still be coming, read
-- and drop input for up to o.linger seconds (until the peer closes), so
-- that closing with unread input does not reset the connection before the
-- client has read the reply.
local function linger(st, o)
    local deadline = now() + o.linger
    while true do
        local left = deadline - now()
        if left <= 0 then return end
        if not st.conn:read(READ_SIZE, left) then return end
    end
end

------------------------------------------------------------ connection

local function with_traceback(e)
    return traceback(message(e), 2)
end

-- Run handler(req) and send its response; close: the connection must
-- close after it. -> true: read the next request | false.
local function answer(st, o, handler, req, close, server)
    local ok, status, headers, body = xpcall(handler, with_traceback, req)
    close = close or (server ~= nil and server.closed)
    local keep_10 = req.version == "HTTP/1.0"
    local head, rest, closing
    if ok then
        head, rest, closing = render(req.method, status, headers, body,
                                     close, keep_10)
    else
        io.stderr:write("lunik: error in http handler: ", status, "\n")
    end
    if not head then
        head, rest, closing = render(req.method, 500, TEXT_PLAIN,
                                     "internal server error\n", close,
                                     keep_10)
    end
    if not send(st, o, head, rest) then return false end
    return not closing
end

-- Serve HTTP/1.x requests on conn until it closes or must close.
local function serve_conn(conn, handler, o, server)
    local st = { conn = conn, buf = "", pos = 1, deadline = nil }
    local peer = conn:peer()
    while true do
        if st.pos > #st.buf then            -- idle: wait for a request
            st.deadline = nil
            local ok = fill(st, o.idle_timeout)
            if not ok then break end
        end
        st.deadline, st.pending = now() + o.read_timeout, false
        local req, close = read_request(st, o)
        if not req then
            if close and send_error(st, o, close) and
               st.pending and close ~= 408 then   -- close: the status here
                linger(st, o)
            end
            break
        end
        req.peer = peer
        st.deadline = nil
        if not answer(st, o, handler, req, close, server) then break end
    end
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
        elseif type(v) ~= "number" or v ~= v or v < 0 or
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
]]
function http.serve(port, handler, opts)
    if mtype(port) ~= "integer" or port < 0 or port > 65535 then
        error("bad argument #1 to 'serve' (port 0..65535 expected)", 2)
    end
    check_handler(handler, "serve")
    local o = options(opts, "serve")
    local net = require("lunik.net")
    local server = setmetatable({ closed = false }, Server)
    local listener, err = net.listen(port, function(conn)
        serve_conn(conn, handler, o, server)
    end, { backlog = o.backlog })
    if not listener then return nil, err end
    server.listener = listener
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
