-- http.lua: hello and a small JSON API (dkjson) served by lunik.http.
--
-- Run it with a host port forwarded to guest port 80 (or give the guest
-- port as the first argument: lunik run examples/http.lua 8000 -p 8080:8000):
--
--   lunik run examples/http.lua -p 8080:80
--
-- then from the host:
--
--   curl http://127.0.0.1:8080/                       hello from lunik
--   curl http://127.0.0.1:8080/api/items              the items, a JSON list
--   curl -d '{"name":"tea"}' http://127.0.0.1:8080/api/items     201, new item
--   curl http://127.0.0.1:8080/api/items/1            one item (404 if none)
--   curl http://127.0.0.1:8080/api/time               the guest's clocks
--   curl http://127.0.0.1:8080/boom                   a handler error: 500
local http = require("lunik.http")
local json = require("dkjson")
local lunik = require("lunik")

local port = tonumber(arg and arg[1]) or 80
local items, next_id = {}, 1

local function reply(status, value)
    return status, { ["Content-Type"] = "application/json" },
        json.encode(value) .. "\n"
end

local function not_found()
    return reply(404, { error = "not found" })
end

local function add_item(body)
    local item, _, err = json.decode(body)
    if type(item) ~= "table" or type(item.name) ~= "string" then
        return reply(400, { error = err or 'want {"name": "..."}' })
    end
    item = { id = next_id, name = item.name }
    items[next_id], next_id = item, next_id + 1
    return reply(201, item)
end

local function handle(req)
    local m, path = req.method, req.path
    if path == "/" and (m == "GET" or m == "HEAD") then
        return 200, { ["Content-Type"] = "text/plain" }, "hello from lunik\n"
    elseif path == "/api/items" and m == "GET" then
        local list = {}
        for id = 1, next_id - 1 do list[#list + 1] = items[id] end
        return reply(200, list)
    elseif path == "/api/items" and m == "POST" then
        return add_item(req.body)
    elseif path:match("^/api/items/%d+$") and m == "GET" then
        local item = items[tonumber(path:match("%d+$"))]
        if not item then return not_found() end
        return reply(200, item)
    elseif path == "/api/time" and m == "GET" then
        return reply(200, { utc = os.date("!%Y-%m-%dT%H:%M:%SZ"),
                            uptime = lunik.now(), target = lunik.target() })
    elseif path == "/boom" then
        error("this handler fails on purpose")
    end
    return not_found()
end

local server = assert(http.serve(port, handle))
print("serving HTTP on port " .. server:port())
