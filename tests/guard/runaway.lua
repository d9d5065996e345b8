-- runaway.lua: an HTTP server whose routes misbehave on purpose, for tests/65-guard.t.
--
--   lunik run tests/guard/runaway.lua -p PORT:80 [--mem 64M] [-- BUDGET]
--
-- Routes: / answers "ok"; /spin loops; /tail recurses without end (tail
-- calls); /deep recurses until the stack overflows; /gsub runs gsub for
-- ever; /sort sorts with a comparator that never returns; /rep asks
-- string.rep for 2 TB; /oom fills the heap; /stats answers lunik.stats()
-- as "name=value" lines. Handler budget: BUDGET s (default 0.3).
local http = require("lunik.http")
local lunik = require("lunik")

local routes = {}
function routes.spin() while true do end end
function routes.tail()
    local function f(n) return f(n + 1) end
    return f(1)
end
function routes.deep()
    local function f(n) return 1 + f(n + 1) end
    return f(1)
end
function routes.gsub()
    local s = string.rep("a", 1 << 16)
    while true do s = s:gsub("a", "a") end
end
function routes.sort()
    local t = {}
    for i = 1, 100 do t[i] = 100 - i end
    table.sort(t, function() while true do end end)
end
function routes.rep() return string.rep("ab", 1 << 40) end
function routes.oom()
    local t = {}
    for i = 1, math.huge do t[i] = string.rep("x", 1 << 20) .. i end
end
function routes.stats()
    local out = {}
    for k, v in pairs(lunik.stats()) do out[#out + 1] = k .. "=" .. v end
    table.sort(out)
    return 200, {}, table.concat(out, "\n") .. "\n"
end

assert(http.serve(80, function(req)
    local r = routes[req.path:sub(2)]
    if r then
        local status, headers, body = r()
        return status or 200, headers, body
    end
    return 200, { ["Content-Type"] = "text/plain" }, "ok\n"
end, { budget = tonumber(arg and arg[1]) or 0.3 }))
print("runaway on port 80")
