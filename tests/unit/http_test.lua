-- http_test.lua: lunik.http (runtime/http.lua and its C half) over a scripted conn, as TAP (plain lua5.4).
--
-- Run: lua5.4 tests/unit/http_test.lua (tests/unit/http_test.t does this).
-- A fake conn hands out scripted input in the chunks given (or split into
-- pieces of a chosen size, to test buffering), returns scripted errors
-- ({ err = "timeout" }), then nil, "closed"; it records every write.

local here = arg[0]:match("^(.*)/[^/]*$") or "."
-- The C half (parser, render) as a module lua5.4 loads: make builds it.
package.cpath = here .. "/../../build/tests/?.so;" .. package.cpath
local core = require("lunik_httpcore")
local http = assert(loadfile(here .. "/../../runtime/http.lua"))(core)

------------------------------------------------------------------ TAP

local n, failed = 0, 0
local function ok(cond, name, ...)
    n = n + 1
    if cond then
        print("ok " .. n .. " - " .. name)
    else
        failed = failed + 1
        print("not ok " .. n .. " - " .. name)
        for _, d in ipairs({ ... }) do
            print("# " .. tostring(d):gsub("\n", "\n# "))
        end
    end
    return cond
end
local function show(v)
    if type(v) == "string" then return string.format("%q", v) end
    return tostring(v)
end
local function is(got, want, name)
    return ok(got == want, name, "got:  " .. show(got), "want: " .. show(want))
end
local function like(got, pattern, name)
    return ok(type(got) == "string" and got:find(pattern) ~= nil, name,
              "got:  " .. show(got), "want match: " .. pattern)
end

------------------------------------------------------------- fake conn

-- script: list of strings (chunks) and { err = "..." } items.
-- split: nil (chunks as given) or a size to re-cut every string into.
local function fake_conn(script, split)
    local items = {}
    for _, item in ipairs(script) do
        if type(item) == "string" and split then
            for i = 1, #item, split do
                items[#items + 1] = item:sub(i, i + split - 1)
            end
        else
            items[#items + 1] = item
        end
    end
    local c = { items = items, writes = {}, timeouts = {}, closed = false,
                reads = 0 }
    function c:read(want, timeout)
        assert(math.type(want) == "integer" and want > 0, "read(n): bad n")
        assert(not self.closed, "read after close")
        self.reads = self.reads + 1
        self.timeouts[#self.timeouts + 1] = timeout or false
        local item = table.remove(self.items, 1)
        if item == nil then return nil, "closed" end
        if type(item) == "table" then return nil, item.err end
        if #item > want then
            table.insert(self.items, 1, item:sub(want + 1))
            item = item:sub(1, want)
        end
        return item
    end
    function c:write(s, timeout)
        assert(type(s) == "string", "write(s): bad s")
        assert(not self.closed, "write after close")
        self.writes[#self.writes + 1] = s
        return true
    end
    function c:close() self.closed = true; return true end
    function c:peer() return "10.0.0.2", 40000 end
    return c
end

-- The handler most tests use: it records each request and describes it.
local seen = {}
local function echo(req)
    seen[#seen + 1] = req
    if req.path == "/boom" then error("boom on purpose") end
    return 200, { ["Content-Type"] = "text/plain" },
        req.method .. " " .. req.path .. " q=" .. tostring(req.query) ..
        " body=" .. req.body
end

-- Serve `script` (split as asked); -> output text, conn, stderr text.
local function serve(script, handler, opts, split)
    seen = {}
    if type(script) == "string" then script = { script } end
    local conn = fake_conn(script, split)
    local err = {}
    local real = io.stderr
    io.stderr = { write = function(self, ...)
        for _, s in ipairs({ ... }) do err[#err + 1] = s end
        return self
    end }
    local okc, e = pcall(http.serve_connection, conn, handler or echo, opts)
    io.stderr = real
    if not okc then error(e, 0) end
    return table.concat(conn.writes), conn, table.concat(err)
end

-- Responses in out: list of { status, head, headers (lowercased), body }.
-- methods: the request methods in order (HEAD responses have no body).
local function responses(out, methods)
    local list, pos = {}, 1
    while pos <= #out do
        local e = out:find("\r\n\r\n", pos, true)
        if not e then
            list[#list + 1] = { status = 0, head = out:sub(pos), headers = {},
                                body = "" }
            break
        end
        local head = out:sub(pos, e - 1)
        local r = { status = tonumber(head:match("^HTTP/1%.1 (%d%d%d) ")),
                    head = head, headers = {}, body = "" }
        for name, value in head:gmatch("\r\n([^:\r\n]+): ([^\r\n]*)") do
            r.headers[name:lower()] = value
        end
        pos = e + 4
        local m = methods and methods[#list + 1]
        local len = tonumber(r.headers["content-length"] or 0)
        if m ~= "HEAD" and r.status and r.status >= 200 then
            r.body = out:sub(pos, pos + len - 1)
            pos = pos + len
        end
        list[#list + 1] = r
    end
    return list
end

-- The output with the Date value replaced (it changes between runs).
local function undated(out)
    return (out:gsub("\r\nDate: [^\r]*", "\r\nDate: X"))
end

local function get(path, extra)
    return "GET " .. path .. " HTTP/1.1\r\nHost: a\r\n" .. (extra or "") ..
           "\r\n"
end

------------------------------------------------------------------ GET

do
    local out, conn = serve(get("/hello?x=1"))
    local r = responses(out)
    is(#r, 1, "GET: one response")
    is(r[1].status, 200, "GET: 200")
    is(r[1].body, "GET /hello q=x=1 body=", "GET: the handler's body")
    is(r[1].headers["content-length"], tostring(#r[1].body),
       "GET: Content-Length is the body's length")
    is(r[1].headers["server"], "lunik", "GET: Server: lunik")
    like(r[1].headers["date"],
         "^%a%a%a, %d%d %a%a%a %d%d%d%d %d%d:%d%d:%d%d GMT$",
         "GET: Date is an IMF-fixdate")
    is(r[1].headers["content-type"], "text/plain",
       "GET: the handler's header is sent")
    is(r[1].headers["connection"], nil, "GET: no Connection: close")
    like(r[1].head, "^HTTP/1%.1 200 OK\r\n", "GET: status line")
    local req = seen[1]
    is(req.method, "GET", "req.method")
    is(req.target, "/hello?x=1", "req.target")
    is(req.path, "/hello", "req.path")
    is(req.query, "x=1", "req.query")
    is(req.version, "HTTP/1.1", "req.version")
    is(req.headers.host, "a", "req.headers.host")
    is(req.body, "", "req.body is empty without a body")
    is(req.peer, "10.0.0.2", "req.peer is the conn's peer address")
    is(req.trailers, nil, "req.trailers is nil without trailers")
    ok(conn.closed, "GET: the conn is closed once the peer closes")
    is(conn.timeouts[1], 5, "the first read waits idle_timeout (5 s)")
    serve(get("/p"))
    is(seen[1].query, nil, "req.query is nil without '?'")
end

---------------------------------------------------- splits and buffering

do
    local inputs = {
        get("/a") .. get("/b"),
        "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\n" ..
            "hello world" .. get("/after"),
        "POST /c HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n" ..
            "5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nT: 1\r\n\r\n" ..
            get("/after"),
        "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET /x HTTP/1.1\nHost: a\n\n",
    }
    for i, input in ipairs(inputs) do
        local whole = undated((serve(input)))
        local same = true
        for _, size in ipairs({ 1, 2, 3, 7, 64 }) do
            local out = undated((serve(input, nil, nil, size)))
            if out ~= whole then
                same = ok(false, "input " .. i .. " split " .. size, out,
                          whole)
                break
            end
        end
        if same then
            ok(true, "input " .. i .. ": same output in 1, 2, 3, 7, 64-byte " ..
               "pieces as whole")
        end
    end
end

------------------------------------------------- keep-alive, pipelining

do
    local out, conn = serve({ get("/one"), get("/two") })
    local r = responses(out)
    is(#r, 2, "keep-alive: two requests, two responses")
    is(r[1].body .. "|" .. r[2].body,
       "GET /one q=nil body=|GET /two q=nil body=",
       "keep-alive: answered in order")
    is(r[1].headers.connection, nil, "keep-alive: the first stays open")
    is(conn.timeouts[2], 5, "keep-alive: the next request waits idle_timeout")

    out = serve(get("/1") .. get("/2") .. get("/3"))
    r = responses(out)
    is(#r, 3, "pipelining: three requests in one chunk, three responses")
    is(r[1].body .. r[2].body .. r[3].body,
       "GET /1 q=nil body=GET /2 q=nil body=GET /3 q=nil body=",
       "pipelining: in request order")

    -- 100,000 pipelined requests that never wait: the C loop answers
    -- them without its C stack growing per request. Its first version
    -- called itself per step; built with -O0 it died here with SIGSEGV
    -- (gcc -O2 had turned those calls into jumps).
    local many = string.rep(get("/p"), 100000)
    local count = 0
    out = serve(many, function()
        count = count + 1
        return 204
    end)
    local _, n204 = out:gsub("HTTP/1.1 204 No Content\r\n", "")
    ok(count == 100000 and n204 == 100000,
       "pipelining: 100,000 requests without a wait, all answered",
       "handler ran " .. count .. " times, " .. n204 .. " responses")

    out, conn = serve({ get("/idle") }, nil, { idle_timeout = 0.5 })
    is(conn.timeouts[1], 0.5, "idle_timeout option is passed to conn:read")

    out, conn = serve({ get("/a"), { err = "timeout" }, get("/b") })
    r = responses(out)
    is(#r, 1, "idle timeout between requests: closed without a response")
    ok(conn.closed, "idle timeout: the conn is closed")

    out, conn = serve({ get("/a", "Connection: close\r\n") .. get("/b") })
    r = responses(out)
    is(#r, 1, "Connection: close: the next pipelined request is not read")
    is(r[1].headers.connection, "close", "Connection: close is answered " ..
       "with Connection: close")
    ok(conn.closed, "Connection: close: the conn is closed")

    out = serve(get("/a", "Connection: keep-alive, Close\r\n") .. get("/b"))
    is(#responses(out), 1, "Connection tokens are case-insensitive lists")

    out = serve("\r\n\r\n" .. get("/lead") .. "\r\n" .. get("/next"))
    r = responses(out)
    is(#r, 2, "empty lines before a request line are ignored")
    is(r[1].status, 200, "... and the request is answered")
end

---------------------------------------------------------------- HTTP/1.0

do
    local out, conn = serve("GET /old HTTP/1.0\r\n\r\n" .. get("/b"))
    local r = responses(out)
    is(#r, 1, "HTTP/1.0: one request per connection by default")
    is(r[1].status, 200, "HTTP/1.0: no Host needed")
    is(r[1].headers.connection, "close", "HTTP/1.0: Connection: close")
    is(seen[1].version, "HTTP/1.0", "HTTP/1.0: req.version")
    ok(conn.closed, "HTTP/1.0: closed after the response")

    out = serve("GET /a HTTP/1.0\r\nConnection: keep-alive\r\n\r\n" ..
                "GET /b HTTP/1.0\r\n\r\n")
    r = responses(out)
    is(#r, 2, "HTTP/1.0 keep-alive: the next request is served")
    is(r[1].headers.connection, "keep-alive",
       "HTTP/1.0 keep-alive: Connection: keep-alive in the response")
    is(r[2].headers.connection, "close",
       "HTTP/1.0 keep-alive: then a request without it closes")

    -- llhttp knows HTTP/0.9, 1.0, 1.1 and 2.0 only: 505, not served as 1.1.
    out = serve("GET / HTTP/1.5\r\nHost: a\r\n\r\n")
    is(responses(out)[1].status, 505, "HTTP/1.5: 505 (llhttp's versions)")
end

-------------------------------------------------------------------- bodies

do
    local out = serve({ "POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n",
                        "\r\nhello", " world" })
    local r = responses(out)
    is(r[1].body, "POST /p q=nil body=hello world", "POST: Content-Length body")
    is(seen[1].headers["content-length"], "11", "POST: content-length header")

    -- A list is not a Content-Length to llhttp (RFC 9110 8.6 lets a
    -- recipient reject it): 400, even with equal values.
    out = serve("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n" ..
                "abcde")
    is(responses(out)[1].status, 400, "Content-Length: 5, 5 is 400")

    out = serve("POST /p HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n")
    is(responses(out)[1].body, "POST /p q=nil body=", "Content-Length: 0")

    out = serve("POST /c HTTP/1.1\r\nHost: a\r\n" ..
                "Transfer-Encoding: chunked\r\n\r\n" ..
                -- (llhttp 8.1 refuses a token value followed by another
                -- extension, "5;a=b;c": so the quoted value comes first)
                "5;c=\"q s\";a=b\r\nhello\r\n" ..
                "00A;ext\r\n 123456789\r\n" ..
                "0;last\r\nX-Trailer: yes\r\nX-Other:  two \r\n\r\n")
    r = responses(out)
    is(r[1].body, "POST /c q=nil body=hello 123456789",
       "chunked: body with extensions, hex sizes, trailers")
    is(seen[1].trailers and seen[1].trailers["x-trailer"], "yes",
       "chunked: trailers in req.trailers")
    is(seen[1].trailers and seen[1].trailers["x-other"], "two",
       "chunked: trailer values trimmed")

    out = serve("POST /c HTTP/1.1\r\nHost: a\r\n" ..
                "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" .. get("/after"))
    r = responses(out)
    is(#r, 2, "chunked: an empty chunked body, then the next request")
    is(r[1].body, "POST /c q=nil body=", "chunked: empty body is \"\"")

    -- Content-Length with Transfer-Encoding (RFC 9112 6.3 item 3, request
    -- smuggling): llhttp refuses it, so 400 and close; nothing after it
    -- is read.
    out = serve("POST /c HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n" ..
                "Transfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n" ..
                get("/smuggled"))
    r = responses(out)
    is(#r, 1, "TE and CL: one response, the smuggled request is not read")
    is(r[1].status, 400, "TE and CL: 400")
    is(r[1].headers.connection, "close", "TE and CL: Connection: close")
    is(#seen, 0, "TE and CL: the handler is not called")

    out = serve({ "POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n" ..
                  "Expect: 100-continue\r\n\r\n", "body" })
    like(out, "^HTTP/1%.1 100 Continue\r\n\r\nHTTP/1%.1 200 ",
         "Expect: 100-continue: a 100 before reading the body")
    is(seen[1].body, "body", "Expect: 100-continue: then the body is read")

    out = serve("POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n" ..
                "Expect: 100-continue\r\n\r\nbody")
    like(out, "^HTTP/1%.1 200 ", "Expect: no 100 when the body is already here")

    out = serve("POST /e HTTP/1.1\r\nHost: a\r\nContent-Length: 4000000\r\n" ..
                "Expect: 100-continue\r\n\r\n")
    like(out, "^HTTP/1%.1 413 ", "Expect: 413 (no 100) for a body too large")

    out = serve("POST /e HTTP/1.1\r\nHost: a\r\nExpect: teapot\r\n\r\n")
    is(responses(out)[1].status, 417, "Expect other than 100-continue: 417")
end

------------------------------------------------------------------ HEAD etc.

do
    local out = serve("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n" .. get("/g"))
    local r = responses(out, { "HEAD", "GET" })
    is(#r, 2, "HEAD: then the next request is parsed right")
    is(r[1].headers["content-length"], tostring(#"HEAD /h q=nil body="),
       "HEAD: the Content-Length a GET would get")
    is(r[2].body, "GET /g q=nil body=", "HEAD: no body sent")

    out = serve("HEAD /h HTTP/1.1\r\nHost: a\r\n\r\n", function()
        return 200, { ["Content-Length"] = 1234 }, nil
    end)
    is(responses(out, { "HEAD" })[1].headers["content-length"], "1234",
       "HEAD: the handler's Content-Length when it returns no body")

    out = serve(get("/a") .. get("/b"), function()
        return 204, { ["X-A"] = "1" }, "ignored"
    end)
    local r2 = responses(out)
    is(#r2, 2, "204: no body, the next response follows")
    is(r2[1].headers["content-length"], nil, "204: no Content-Length")
    is(r2[1].headers["x-a"], "1", "204: headers kept")

    out = serve(get("/a"), function() return 304, nil, "ignored" end)
    ok(out:sub(-4) == "\r\n\r\n", "304: no body")

    out = serve(get("/a"), function() return 299 end)
    like(out, "^HTTP/1%.1 299 \r\n", "unknown status code: empty reason phrase")
    is(responses(out)[1].headers["content-length"], "0",
       "nil body: Content-Length: 0")
end

-------------------------------------------------------------- targets

do
    serve("GET http://example.com:8080/x/y?z=1 HTTP/1.1\r\nHost: other\r\n\r\n")
    is(seen[1] and seen[1].path, "/x/y", "absolute-form: path")
    is(seen[1] and seen[1].query, "z=1", "absolute-form: query")
    is(seen[1] and seen[1].headers.host, "example.com:8080",
       "absolute-form: Host is the target's authority")

    serve("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n")
    is(seen[1] and seen[1].path, "*", "asterisk-form for OPTIONS")

    local out = serve("GET * HTTP/1.1\r\nHost: a\r\n\r\n")
    is(responses(out)[1].status, 400, "asterisk-form for GET: 400")

    serve("GET / HTTP/1.1\r\nAccept: a\r\nHost: h\r\naccept: b\r\n\r\n")
    is(seen[1] and seen[1].headers.accept, "a, b",
       "repeated fields are combined with \", \"")

    serve("GET / HTTP/1.1\r\nHost: h\r\nX-Empty:\r\nX-Tab:\tv\t\r\n\r\n")
    is(seen[1] and seen[1].headers["x-empty"], "", "an empty field value")
    is(seen[1] and seen[1].headers["x-tab"], "v", "OWS around values trimmed")
end

--------------------------------------------------------------- errors

-- Each: a request that must get `status`, Connection: close, no handler
-- call, and no answer to a request pipelined after it.
local bad = {
    { "space before colon", 400, "GET / HTTP/1.1\r\nHost : a\r\n\r\n" },
    { "obs-fold", 400, "GET / HTTP/1.1\r\nHost: a\r\nX: b\r\n c\r\n\r\n" },
    { "whitespace before the first field", 400,
      "GET / HTTP/1.1\r\n Host: a\r\n\r\n" },
    { "bare CR in a field value", 400,
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n" },
    { "bare CR in the request line", 400,
      "GET /a\rb HTTP/1.1\r\nHost: a\r\n\r\n" },
    { "NUL in a field value", 400,
      "GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n" },
    { "no colon", 400, "GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n" },
    { "missing Host in HTTP/1.1", 400, "GET / HTTP/1.1\r\nX: y\r\n\r\n" },
    { "two Host fields", 400, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n" },
    { "a bad Host value", 400, "GET / HTTP/1.1\r\nHost: a/b\r\n\r\n" },
    { "two spaces in the request line", 400,
      "GET  / HTTP/1.1\r\nHost: a\r\n\r\n" },
    { "a lowercase version", 400, "GET / http/1.1\r\nHost: a\r\n\r\n" },
    { "no version (HTTP/0.9 style)", 400, "GET /\r\n\r\n" },
    { "a method that is no token", 400, "G(T / HTTP/1.1\r\nHost: a\r\n\r\n" },
    { "a relative target", 400, "GET a/b HTTP/1.1\r\nHost: a\r\n\r\n" },
    { "Content-Length: abc", 400,
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n" },
    { "Content-Length: -1", 400,
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n" },
    { "Content-Length: +5", 400,
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\nabcde" },
    { "differing Content-Lengths", 400,
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n" ..
      "Content-Length: 6\r\n\r\nabcdef" },
    { "a bad chunk size", 400, "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n" },
    { "a bad chunk extension", 400, "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: chunked\r\n\r\n5 x\r\nhello\r\n0\r\n\r\n" },
    { "chunk data longer than its size", 400,
      "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n" },
    { "Transfer-Encoding in HTTP/1.0", 400, "POST / HTTP/1.0\r\n" ..
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n" },
    { "chunked not the final coding", 400, "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: chunked, gzip\r\n\r\n" },
    { "only an unknown coding", 400, "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: gzip\r\n\r\n" },
    { "chunked twice", 400, "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n" },
    { "chunked twice after another coding", 400, "POST / HTTP/1.1\r\n" ..
      "Host: a\r\nTransfer-Encoding: gzip, chunked, chunked\r\n\r\n0\r\n\r\n" },
    { "an unknown coding before chunked", 501,
      "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n" },
    { "CONNECT", 501, "CONNECT a:443 HTTP/1.1\r\nHost: a:443\r\n\r\n" },
    { "HTTP/2.0", 505, "GET / HTTP/2.0\r\nHost: a\r\n\r\n" },
    { "HTTP/0.9 with a version", 505, "GET / HTTP/0.9\r\nHost: a\r\n\r\n" },
    { "a body over max_body (Content-Length)", 413,
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1048577\r\n\r\n" },
    { "a huge Content-Length", 413, "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Content-Length: 99999999999999999999999\r\n\r\n" },
    { "a chunk size over 32 bits", 413, "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: chunked\r\n\r\n1000000000\r\n" },
    { "a chunked body over max_body", 413, "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: chunked\r\n\r\n" ..
      string.rep("10000\r\n" .. string.rep("x", 65536) .. "\r\n", 16) ..
      "1\r\nx\r\n0\r\n\r\n" },
    { "a target over max_line", 414,
      "GET /" .. string.rep("a", 9000) .. " HTTP/1.1\r\nHost: a\r\n\r\n" },
    { "101 header fields", 431, "GET / HTTP/1.1\r\nHost: a\r\n" ..
      string.rep("X-A: b\r\n", 100) .. "\r\n" },
    { "a header section over 16384 bytes", 431,
      "GET / HTTP/1.1\r\nHost: a\r\n" ..
      string.rep("X-Long: " .. string.rep("v", 990) .. "\r\n", 17) .. "\r\n" },
    { "one field line over 16384 bytes", 431, "GET / HTTP/1.1\r\nHost: a\r\n" ..
      "X-Long: " .. string.rep("v", 20000) .. "\r\n\r\n" },
    { "a trailer section over the limit", 431,
      "POST / HTTP/1.1\r\nHost: a\r\n" ..
      "Transfer-Encoding: chunked\r\n\r\n0\r\n" ..
      string.rep("T: " .. string.rep("v", 1000) .. "\r\n", 17) .. "\r\n" },
}
for _, case in ipairs(bad) do
    local name, status, input = case[1], case[2], case[3]
    local out, conn = serve({ input .. get("/next") }, nil, nil)
    local r = responses(out)
    ok(#r == 1 and r[1].status == status and
       r[1].headers.connection == "close" and #seen == 0 and conn.closed,
       status .. " for " .. name .. ", then close",
       "responses: " .. #r, "status: " .. tostring(r[1] and r[1].status),
       "connection: " .. tostring(r[1] and r[1].headers.connection),
       "handler calls: " .. #seen, "closed: " .. tostring(conn.closed))
end

do
    local out = serve("POST / HTTP/1.1\r\nHost: a\r\n" ..
                      "Content-Length: 11\r\n\r\nhello world", nil,
                      { max_body = 10 })
    is(responses(out)[1].status, 413, "max_body option (10 bytes): 413")
    out = serve("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n" ..
                "hello worl", nil, { max_body = 10 })
    is(responses(out)[1].status, 200, "max_body option: a body of 10 is fine")
    out = serve(get("/", string.rep("X-A: b\r\n", 99)))
    is(responses(out)[1].status, 200, "100 header fields (the default limit)")
    out = serve(get("/", "X: 1\r\nY: 2\r\n"), nil, { max_headers = 2 })
    is(responses(out)[1].status, 431, "max_headers option (2): 3 fields: 431")
    out = serve(get("/", "X: 1\r\n"), nil, { max_headers = 2 })
    is(responses(out)[1].status, 200, "max_headers option (2): 2 fields: 200")
    out = serve(get("/" .. string.rep("a", 100)), nil, { max_line = 64 })
    is(responses(out)[1].status, 414, "max_line option (64): 414")
    out = serve(get("/", string.rep("x", 200) .. ": y\r\n"), nil,
                { max_header_bytes = 100 })
    is(responses(out)[1].status, 431, "max_header_bytes option (100): 431")
    local text = "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
    out = serve(text, nil, { max_line = #"GET / HTTP/1.1" })
    is(responses(out)[1].status, 200, "a request line of exactly max_line")
    out = serve(text, nil, { max_line = #"GET / HTTP/1.1" - 1 })
    is(responses(out)[1].status, 414, "a request line one over max_line")
    out = serve(text, nil, { max_header_bytes = #"Host: a\r\n" })
    is(responses(out)[1].status, 200, "a header section of exactly the limit")
    out = serve(text, nil, { max_header_bytes = #"Host: a\r\n" - 1 })
    is(responses(out)[1].status, 431, "a header section one byte over")

    -- 413 is sent before the body is read: the script has no body at all.
    local conn
    out, conn = serve({ "POST / HTTP/1.1\r\nHost: a\r\n" ..
                        "Content-Length: 2000000\r\n\r\n",
                        { err = "timeout" } })
    is(responses(out)[1].status, 413, "413 before reading the body")

    out, conn = serve({ "GET / HTTP/1.1\r\nHo", { err = "timeout" } })
    local r = responses(out)
    is(r[1] and r[1].status, 408, "a stalled request: 408")
    is(r[1] and r[1].headers.connection, "close", "408: Connection: close")
    ok(conn.closed, "408: the conn is closed")
    local within = true
    for i = 2, #conn.timeouts do
        local t = conn.timeouts[i]
        within = within and t and t > 0 and t <= 10
    end
    ok(within, "reads inside a request wait at most read_timeout (10 s)")

    out, conn = serve({ "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n" ..
                        "\r\nabc", { err = "timeout" } })
    is(responses(out)[1].status, 408, "a stalled body: 408")

    out, conn = serve({ "GET / HTTP/1.1\r\nHo" })
    is(out, "", "the peer closing mid-request: no response")
    ok(conn.closed, "... and the conn is closed")

    out, conn = serve({ { err = "timeout" } })
    is(out, "", "idle timeout before any request: no response")
    ok(conn.closed, "... and the conn is closed")

    out, conn = serve({ { err = "reset" } })
    ok(out == "" and conn.closed, "a reset before any request: closed quietly")

    -- After an error reply to a request with a body, input is drained
    -- (until the peer closes) before closing.
    out, conn = serve({ "POST / HTTP/1.1\r\nHost: a\r\n" ..
                        "Content-Length: 99\r\n" ..
                        "Content-Length: 98\r\n\r\n", "more", "body" })
    is(#conn.items, 0, "after an error reply, the rest of the body is drained")
    out, conn = serve({ "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "more" },
                      nil, { linger = 0 })
    is(#conn.items, 1, "linger = 0: no draining")
end

-------------------------------------------------------- handler results

do
    local out, conn, err = serve(get("/boom") .. get("/fine"))
    local r = responses(out)
    is(#r, 2, "handler throws: a response, and the next request is served")
    is(r[1].status, 500, "handler throws: 500")
    is(r[1].body, "internal server error\n", "handler throws: a short body")
    is(r[1].headers.connection, nil, "handler throws: the conn stays open")
    is(r[2].status, 200, "handler throws: the next request succeeds")
    like(err, "^lunik: error in http handler: [^\n]*boom on purpose\n" ..
         "stack traceback:\n", "handler throws: traceback on stderr")

    out, conn, err = serve(get("/a"), function() error({}) end)
    like(err, "^lunik: error in http handler: " ..
         "%(error object is a table value%)",
         "handler throws a table: named on stderr")

    local function status_of(handler)
        local o, _, e = serve(get("/x"), handler)
        return responses(o)[1].status, e
    end
    local s, e = status_of(function() return 600 end)
    is(s, 500, "status 600: 500")
    like(e, "^lunik: http handler: bad status 600", "status 600: on stderr")
    is(status_of(function() return 99 end), 500, "status 99: 500")
    is(status_of(function() return "200" end), 500, "status \"200\": 500")
    is(status_of(function() return nil end), 500, "no status: 500")
    is(status_of(function() return 200.5 end), 500, "status 200.5: 500")
    is(status_of(function() return 201.0 end), 201, "status 201.0 is 201")
    is(status_of(function() return 200, "x" end), 500, "headers a string: 500")
    is(status_of(function() return 200, nil, {} end), 500, "body a table: 500")
    is(status_of(function() return 200, { X = "a\r\nb" } end), 500,
       "a header value with CRLF: 500")
    is(status_of(function() return 200, { ["X Y"] = "a" } end), 500,
       "a header name that is no token: 500")
    is(status_of(function() return 200, { X = true } end), 500,
       "a header value that is a boolean: 500")
    is(status_of(function()             -- a list that grows as it is read
        local n = 0
        return 200, { X = setmetatable({}, {
            __len = function() n = n + 1; return n end,
            __index = function() return "v" end }) }
    end), 500, "a header list whose __len changes while written: 500")

    out = serve(get("/x"), function()
        return 201, { ["X-N"] = 42, ["Set-Cookie"] = { "a=1", "b=2" },
                      ["Content-Length"] = 999, ["transfer-encoding"] = "x",
                      Server = "mine", Date = "then" }, "made"
    end)
    r = responses(out)
    like(r[1].head, "^HTTP/1%.1 201 Created\r\n", "201 Created")
    is(r[1].headers["x-n"], "42", "a number value is sent as digits")
    ok(select(2, out:gsub("\r\nSet%-Cookie: ", "")) == 2 and
       out:find("Set-Cookie: a=1\r\n", 1, true) and
       out:find("Set-Cookie: b=2\r\n", 1, true),
       "a list value is sent as repeated fields")
    is(r[1].headers["content-length"], "4",
       "Content-Length is the server's, not the handler's")
    is(r[1].headers["transfer-encoding"], nil, "no handler Transfer-Encoding")
    is(r[1].headers.server, "mine", "the handler's Server wins")
    is(r[1].headers.date, "then", "the handler's Date wins")
    is(select(2, out:gsub("\r\n[Ss]erver: ", "")), 1, "Server sent once")

    out, conn = serve(get("/x") .. get("/y"), function()
        return 200, { Connection = "close" }, "bye"
    end)
    is(#responses(out), 1, "a handler's Connection: close closes")
    ok(conn.closed, "... the conn")

    local big = string.rep("0123456789abcdef", 8192)
    out = serve(get("/big"), function() return 200, nil, big end)
    r = responses(out)
    ok(r[1].body == big, "a 128 KiB body is sent whole")
end

---------------------------------------------------------------- arguments

do
    local function raises(f, pattern, name)
        local okc, e = pcall(f)
        ok(not okc and tostring(e):find(pattern) ~= nil, name, tostring(e))
    end
    raises(function() http.serve_connection(fake_conn({}), 5) end,
           "function expected", "a handler that is no function: error")
    raises(function() http.serve_connection(fake_conn({}), echo,
           { max_bdy = 1 }) end, "unknown option 'max_bdy'",
           "an unknown option: error")
    raises(function() http.serve_connection(fake_conn({}), echo,
           { read_timeout = -1 }) end, "read_timeout",
           "a negative timeout: error")
    raises(function() http.serve_connection(fake_conn({}), echo,
           { max_body = 1.5 }) end, "max_body' must be an integer",
           "a size that is no integer: error")
    raises(function() http.serve(80, "x") end, "function expected",
           "http.serve checks its handler")
    raises(function() http.serve(70000, echo) end, "port 0..65535",
           "http.serve checks its port")
    local callable = setmetatable({}, { __call = function(_, req)
        return 200, nil, "called"
    end })
    is(responses(serve(get("/"), callable))[1].body, "called",
       "a callable table is a handler")
end

------------------------------------------- examples/http.lua, fake net

-- The example program over a lunik.net whose listen hands back its fn, so
-- its routes can be driven with scripted conns.
do
    local has_dkjson = pcall(require, "dkjson")
    if not has_dkjson then
        ok(true, "# skip examples/http.lua: lua-dkjson is not installed")
    else
        local listened = {}
        package.loaded["lunik.net"] = {
            listen = function(port, fn, opts)
                listened[#listened + 1] = { port = port, fn = fn }
                return { close = function() return true end,
                         port = function() return port end }
            end,
        }
        package.loaded["lunik.http"] = http
        package.loaded.lunik = package.loaded.lunik or
            { now = os.clock, target = function() return "hosted" end }
        local printed = {}
        local real_print, real_arg = print, arg
        print = function(...)
            printed[#printed + 1] = table.concat({ ... }, "\t")
        end
        arg = { [0] = "http.lua" }
        local okd, e = pcall(dofile, here .. "/../../examples/http.lua")
        print, arg = real_print, real_arg
        ok(okd, "examples/http.lua runs", tostring(e))
        is(listened[1] and listened[1].port, 80, "example: listens on port 80")
        is(printed[1], "serving HTTP on port 80", "example: says where")
        -- One request to the example -> status, body.
        local function call(method, path, body)
            local text = method .. " " .. path .. " HTTP/1.1\r\nHost: a\r\n"
            if body then
                text = text .. "Content-Length: " .. #body .. "\r\n\r\n" .. body
            else
                text = text .. "\r\n"
            end
            local conn = fake_conn({ text })
            local real = io.stderr
            io.stderr = { write = function(self) return self end }
            listened[1].fn(conn)
            io.stderr = real
            local r = responses(table.concat(conn.writes), { method })[1]
            return r.status, r.body, r.headers["content-type"]
        end
        local function check(method, path, body, status, want, name)
            local s, b = call(method, path, body)
            ok(s == status and b == want, "example: " .. name,
               "got: " .. tostring(s) .. " " .. show(b),
               "want: " .. status .. " " .. show(want))
        end
        check("GET", "/", nil, 200, "hello from lunik\n", "GET /")
        check("GET", "/api/items", nil, 200, "[]\n", "no items yet")
        local s, b = call("POST", "/api/items", '{"name":')
        ok(s == 400 and b:find('^{"error":".+"}\n$'),
           "example: POST invalid JSON: 400 with the parser's message",
           tostring(s) .. " " .. show(b))
        s, b = call("POST", "/api/items", '{"name":"tea"}')
        local item = require("dkjson").decode(b)
        ok(s == 201 and item and item.id == 1 and item.name == "tea",
           "example: POST an item: 201 with it", tostring(s) .. " " .. show(b))
        s, b = call("GET", "/api/items/1")
        item = require("dkjson").decode(b)
        ok(s == 200 and item.id == 1 and item.name == "tea",
           "example: GET /api/items/1", tostring(s) .. " " .. show(b))
        s, b = call("GET", "/api/items")
        item = require("dkjson").decode(b)
        ok(s == 200 and #item == 1 and item[1].name == "tea",
           "example: GET /api/items lists it", tostring(s) .. " " .. show(b))
        check("GET", "/api/items/2", nil, 404, '{"error":"not found"}\n',
              "an unknown item: 404")
        local t
        s, b, t = call("GET", "/api/time")
        like(b, '"utc":"%d%d%d%d%-%d%d%-%d%dT', "example: /api/time: utc")
        is(t, "application/json", "example: JSON has its Content-Type")
        is((call("GET", "/boom")), 500, "example: /boom: 500")
        is((call("GET", "/nowhere")), 404, "example: an unknown path: 404")
    end
end

print("1.." .. n)
os.exit(failed == 0 and 0 or 1)
