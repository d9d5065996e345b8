-- control.lua: the control channel's runtime end: the REPL of `lunik attach` and hot reload.
--
-- lunik.lua loads this chunk once, before the app, with the scheduler's
-- private interface (sched), the C core (core: control_read and
-- control_write over platform.h's control channel) and the lunik module,
-- to which it adds lunik.reload. It returns the function the loop calls
-- when the channel has input.
--
-- Protocol: both ways a sequence of frames, each one byte of type, a
-- 4-byte little-endian length and that many bytes (string.pack "<c1s4").
--   client -> runtime  "e" chunk   run Lua source as the REPL does
--                      "r" bundle  reload with this bundle (image.h)
--   runtime -> client  "o" text    output (results, print), to stdout
--                      "m" error   the chunk is incomplete: send more
--                      "d" ""      done: the request succeeded
--                      "x" text    the request failed: the error
-- A request is answered by "o" frames, then one "m", "d" or "x". The
-- target delivers a client's hang-up in the byte stream's place; replies
-- of requests made by a client that has gone are dropped (sessions).

local sched, core, lunik = ...

local pack, unpack = string.pack, string.unpack
local sub, format = string.sub, string.format
local concat, sort = table.concat, table.sort
local co_running = sched.co_running
local guard, message = sched.guard, sched.message
local traceback = debug.traceback
local control_read, control_write = core.control_read, core.control_write

local MAX_FRAME = 64 * 1024 * 1024  -- bytes; a larger request is refused

local session = 0           -- +1 per client hang-up
local inbuf = ""            -- bytes of an incomplete frame
local discard = false       -- a frame was refused: skip to the hang-up
local repl_cos = setmetatable({}, { __mode = "k" })    -- co -> session

-- Send one frame to the client of session sess (dropped if it has gone).
local function send(sess, typ, payload)
    if sess == session then control_write(pack("<c1s4", typ, payload)) end
end

------------------------------------------------------------ pretty-printer

local MAX_DEPTH, MAX_ITEMS = 4, 64

local function is_ident(k)
    return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

-- v as Lua-like text: strings quoted, tables as constructors (keys 1..n
-- first, then the others sorted), up to MAX_DEPTH levels and MAX_ITEMS
-- entries each; a table met again (a cycle) and deeper ones as tostring.
local function pretty(v, depth, seen)
    local t = type(v)
    if t == "string" then return format("%q", v) end
    if t ~= "table" then return tostring(v) end
    local mt = getmetatable(v)
    if (type(mt) == "table" and mt.__tostring) or seen[v] or
       depth >= MAX_DEPTH then
        return tostring(v)
    end
    seen[v] = true
    local parts, n = {}, 0
    local len = rawlen(v)
    for i = 1, len do
        if n >= MAX_ITEMS then break end
        n = n + 1
        parts[n] = pretty(rawget(v, i), depth + 1, seen)
    end
    local keys = {}
    for k in next, v do
        if not (math.type(k) == "integer" and k >= 1 and k <= len) then
            keys[#keys + 1] = k
        end
    end
    sort(keys, function(a, b)
        local ta, tb = type(a), type(b)
        if ta ~= tb then return ta < tb end
        if ta == "number" or ta == "string" then return a < b end
        return tostring(a) < tostring(b)
    end)
    for i = 1, #keys do
        if n >= MAX_ITEMS then n = n + 1; parts[n] = "..."; break end
        local k = keys[i]
        local ks = is_ident(k) and k or "[" .. pretty(k, MAX_DEPTH, seen) .. "]"
        n = n + 1
        parts[n] = ks .. " = " .. pretty(rawget(v, k), depth + 1, seen)
    end
    seen[v] = nil
    if n == 0 then return "{}" end
    return "{ " .. concat(parts, ", ") .. " }"
end

-- The results of a chunk as lua.c prints them (print's tab-separated
-- tostring), tables through pretty().
local function results(t, i, j)
    local parts = {}
    for k = i, j do
        local v = t[k]
        parts[#parts + 1] = type(v) == "table" and pretty(v, 0, {})
                            or tostring(v)
    end
    return concat(parts, "\t")
end

-- print as REPL chunks see it: inside a REPL run its text goes to the
-- client. The program's own print is left alone (no cost to it).
local stock_print = print
local function repl_print(...)
    local sess = repl_cos[co_running()]
    if not sess then return stock_print(...) end
    local n, parts = select("#", ...), {}
    for i = 1, n do parts[i] = tostring((select(i, ...))) end
    send(sess, "o", concat(parts, "\t") .. "\n")
end

------------------------------------------------------------------ the REPL

-- The text of a failed run's error with a traceback; a budget stop says so
-- (as net.lua reports one) and gets time to report.
local function failure(err)
    if guard.count_error(err) == "budget" then
        local _, text = guard.expired()
        if not tostring(err):find(text, 1, true) then
            err = text .. " (" .. tostring(err) .. ")"
        end
        guard.grace(0.5)
    end
    return err
end

-- The traceback of an error in a REPL chunk or a reloaded main chunk,
-- down to that chunk (the runtime's frames below it are left out).
local function with_traceback(e)
    local t = traceback(message(e), 2)
    local cut = t:find("\n\t%[C%]: in function 'xpcall'")
    return cut and sub(t, 1, cut - 1) or t
end

-- The REPL's globals: the program's (_G), where `lunik` is the module
-- even when the program keeps it in a local, and print (while the
-- program's is Lua's) is repl_print.
local repl_env = setmetatable({}, {
    __index = function(_, k)
        local v = _G[k]
        if v == nil and k == "lunik" then return lunik end
        if v == stock_print then return repl_print end
        return v
    end,
    __newindex = _G,
})

-- Run chunk src for session sess in this (fresh handler) coroutine, as
-- lua.c's REPL does: first as "return " .. src (an expression), else as
-- it is; a syntax error at <eof> asks for more lines.
local function eval(sess, src)
    local fn = load("return " .. src, "=stdin", "t", repl_env)
    if not fn then
        local err
        fn, err = load(src, "=stdin", "t", repl_env)
        if not fn then
            if sub(err, -5) == "<eof>" then return send(sess, "m", err) end
            return send(sess, "x", err)
        end
    end
    local co = co_running()
    repl_cos[co] = sess
    local r = table.pack(xpcall(fn, with_traceback))
    repl_cos[co] = nil
    if not r[1] then return send(sess, "x", failure(r[2])) end
    if r.n > 1 then send(sess, "o", results(r, 2, r.n) .. "\n") end
    send(sess, "d", "")
end

------------------------------------------------------------------- reload

-- The files of a bundle (image.h): path -> bytes, and the main entry's
-- path; nil, why when it is malformed.
local function parse_bundle(b)
    local size = #b
    if size < 24 or sub(b, 1, 8) ~= "LUNIKBDL" then
        return nil, "not a lunik bundle"
    end
    local version, count, total = unpack("<I4I4I8", b, 9)
    if version ~= 1 or total ~= size or count > size // 32 then
        return nil, "a corrupt bundle"
    end
    local files, main = {}, nil
    for i = 0, count - 1 do
        local at = 25 + i * 32
        if at + 31 > size then return nil, "a corrupt bundle" end
        local doff, dsize, poff, plen, flags = unpack("<I8I8I4I4I4", b, at)
        if doff + dsize > size or poff + plen > size then
            return nil, "a corrupt bundle"
        end
        local path = sub(b, poff + 1, poff + plen)
        if flags & 1 == 0 then files[path] = sub(b, doff + 1, doff + dsize) end
        if flags & 2 ~= 0 then main = path end
    end
    if not main or not files[main] then return nil, "a bundle without an app" end
    return files, main
end

local files                 -- the bundle of the last reload (nil: the image's)
local app_modules = {}      -- names loaded from a reloaded bundle

-- package.searchers entry (after preload): modules of the last reloaded
-- bundle, where package.path would find them in the image.
local function bundle_searcher(name)
    if not files then return nil end
    local rel = name:gsub("%.", "/")
    local tried = {}
    for _, p in ipairs({ "/app/" .. rel .. ".lua", "/app/" .. rel ..
                         "/init.lua", "/lib/lua/" .. rel .. ".lua",
                         "/lib/lua/" .. rel .. "/init.lua" }) do
        local data = files[p]
        if data then
            local fn, err = load(data, "@" .. p, "bt")
            if not fn then error(err, 0) end
            app_modules[name] = true
            return fn, p
        end
        tried[#tried + 1] = "\n\tno file '" .. p .. "' in the reloaded bundle"
    end
    return concat(tried)
end
table.insert(package.searchers, 2, bundle_searcher)

-- Is the loaded module `name` part of the app (so loaded again)?
local function is_app_module(name, new_files)
    if app_modules[name] then return true end
    if package.preload[name] then return false end
    local rel = name:gsub("%.", "/")
    if new_files and (new_files["/app/" .. rel .. ".lua"] or
                      new_files["/lib/lua/" .. rel .. ".lua"] or
                      new_files["/lib/lua/" .. rel .. "/init.lua"]) then
        return true
    end
    return package.searchpath(name, package.path) ~= nil
end

local reloading = false

--[[
lunik.reload([bundle]) -> true | nil, err

Load the program's code again and run its main chunk, in the calling
handler: bundle is a byte-code bundle (image.h, as `lunik build` packs
it; `lunik reload` sends one), or nil for the code the program has now.
The app's modules (those in the bundle, not lunik's or Lua's libraries)
are loaded again on require. While the new main chunk runs, a listener it
registers on a port that older code holds (http.serve, net.listen,
net.udp_bind) is staged; when the main chunk returns, the reload commits:
each staged listener takes over its port's socket (new connections and
requests run the new handler, those in flight finish on the old), and
listeners, timers and console and shutdown registrations of older code
that the new code did not register again are closed or cancelled. Global
variables survive: the new main chunk reads the old values; those it
assigns become globals at the commit. If the bundle is malformed, a chunk
does not compile, or the main chunk raises, nothing changes (what it
registered is dropped, the modules and globals are as before) and the
result is nil and the error with a traceback. One reload at a time.
Files other than Lua modules (io.open) still come from the image.
]]
function lunik.reload(bundle)
    if bundle ~= nil and type(bundle) ~= "string" then
        error("bad argument #1 to 'reload' (bundle string expected, got " ..
              type(bundle) .. ")", 2)
    end
    if reloading then return nil, "a reload is already running" end
    local new_files, main_path
    if bundle then
        new_files, main_path = parse_bundle(bundle)
        if not new_files then return nil, main_path end
    elseif files then
        new_files, main_path = files, files.main_path
    end
    local main, err
    local env = setmetatable({}, { __index = _G })
    if new_files then
        main, err = load(new_files[main_path], "@" .. main_path, "bt", env)
    else
        local f, e = io.open(arg[0], "rb")
        if not f then return nil, e end
        local data = f:read("a")
        f:close()
        main, err = load(data, "@" .. arg[0], "bt", env)
    end
    if not main then return nil, err end
    if new_files then new_files.main_path = main_path end
    -- Unload the app's modules; keep them for a rollback.
    local saved = {}
    for name, v in pairs(package.loaded) do
        if is_app_module(name, new_files) then
            saved[name] = v
            package.loaded[name] = nil
        end
    end
    local old_files, old_app = files, app_modules
    files, app_modules = new_files, {}
    reloading = true
    sched.begin_reload()
    local ok, e = xpcall(main, with_traceback, table.unpack(arg, 1))
    reloading = false
    if not ok then
        sched.rollback_reload()
        files, app_modules = old_files, old_app
        for name in pairs(package.loaded) do
            if is_app_module(name, new_files) then
                package.loaded[name] = nil
            end
        end
        for name, v in pairs(saved) do package.loaded[name] = v end
        return nil, e
    end
    sched.commit_reload()
    -- The new code's globals join _G; its functions keep env as _ENV,
    -- which from now on reads and writes _G.
    local keys = {}
    for k, v in next, env do keys[#keys + 1] = k; _G[k] = v end
    for i = 1, #keys do rawset(env, keys[i], nil) end
    setmetatable(env, { __index = _G, __newindex = _G })
    return true
end

-- A "r" request: reload with the bundle, in this handler coroutine.
local function reload_request(sess, bundle)
    local ok, err = lunik.reload(bundle)
    if ok then return send(sess, "d", "") end
    send(sess, "x", failure(err))
end

------------------------------------------------------------ the channel

local HANDLERS = { e = eval, r = reload_request }

-- Act on one complete frame of the current session.
local function request(typ, payload)
    local fn = HANDLERS[typ]
    if not fn then
        return send(session, "x", "unknown request '" .. typ .. "'")
    end
    sched.start_budget(typ == "r" and "reload" or "repl", nil, fn, session,
                       payload)
end

-- The loop calls this when the channel has input: read it all, act on
-- every complete frame.
return function()
    while true do
        local data = control_read()
        if data == false then           -- the client went: a new session
            session = session + 1
            inbuf, discard = "", false
        elseif data == "" then
            return
        elseif not discard then
            inbuf = inbuf .. data
            while #inbuf >= 5 do
                local typ, len = unpack("<c1I4", inbuf)
                if len > MAX_FRAME then
                    send(session, "x", "request too large")
                    inbuf, discard = "", true
                    break
                end
                if #inbuf < 5 + len then break end
                local payload = sub(inbuf, 6, 5 + len)
                inbuf = sub(inbuf, 6 + len)
                request(typ, payload)
            end
        end
    end
end
