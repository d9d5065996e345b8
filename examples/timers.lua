-- timers.lua: one-shot and repeating timers, a sleeping handler, cancel, exit.
local lunik = require "lunik"

local start = lunik.now()
local function stamp(what)
    print(string.format("%6.3f s  %s", lunik.now() - start, what))
end

local ticks = 0
local ticker = lunik.every(0.25, function()
    ticks = ticks + 1
    stamp("tick " .. ticks)
end)

lunik.after(0.1, function()
    stamp("after 0.1 s; this handler now sleeps 0.3 s")
    lunik.sleep(0.3)
    stamp("woke up; other handlers ran meanwhile")
end)

lunik.after(1.1, function()
    ticker:cancel()
    stamp("ticker cancelled after " .. ticks .. " ticks")
end)

lunik.after(1.3, function()
    stamp("done")
    lunik.exit(0)
end)
