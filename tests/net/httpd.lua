-- httpd.lua: an HTTP server with small limits, for tests/60-net.t.
--
--   lunik run tests/net/httpd.lua -p 8080:80 [-- PORT [TIMEOUT]]
--
-- Routes: GET / (hello), GET /echo/N (the body is N), POST /size (the body
-- is the request body's length in bytes), GET /boom (the handler throws:
-- 500). Limits: header section 1024 bytes, body 4096 bytes; a connection
-- idle for TIMEOUT s (default 2) is closed, a request not complete within
-- TIMEOUT s gets 408.
local http = require("lunik.http")

local port = tonumber(arg and arg[1]) or 80
local timeout = tonumber(arg and arg[2]) or 2

local function handle(req)
    local path = req.path
    if path == "/" then
        return 200, { ["Content-Type"] = "text/plain" }, "hello from lunik\n"
    end
    local n = path:match("^/echo/(%d+)$")
    if n and req.method == "GET" then
        return 200, { ["Content-Type"] = "text/plain" }, n
    elseif path == "/size" and req.method == "POST" then
        return 200, { ["Content-Type"] = "text/plain" }, tostring(#req.body)
    elseif path == "/boom" then
        error("boom handler fails on purpose")
    end
    return 404, { ["Content-Type"] = "text/plain" }, "not found\n"
end

local server = assert(http.serve(port, handle, {
    max_header_bytes = 1024, max_body = 4096,
    idle_timeout = timeout, read_timeout = timeout, backlog = 255,
}))
print("httpd on port " .. server:port())
