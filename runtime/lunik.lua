-- lunik.lua: the `lunik` Lua module and the cooperative event loop (scheduler).
--
-- runtime.c loads this chunk once, before the app, with the C core
-- (runtime.c: now, wait, read, exit, errwrite, target; net_chunk and
-- http_chunk, the compiled runtime/net.lua and runtime/http.lua; netcore,
-- the C half of lunik.net; httpcore, the C half of lunik.http) as its
-- argument. It registers the module as
-- package.loaded.lunik and package.preload.lunik, lunik.net and lunik.http
-- as package.preload entries, and returns run(main, ...), which runs the
-- main chunk as the first handler coroutine, then the loop until no handler
-- can fire again.
--
-- Invariants:
--   * every handler runs in a fresh coroutine, listed in `kinds` (coroutine
--     -> "main" | "timer" | "console" | "tcp" | "udp") until it ends;
--   * the heap holds the active timers and the sleeping handlers, ordered by
--     (at, seq): deadline in seconds of core.now(), then creation order
--     (FIFO among equal deadlines); entry.pos is the entry's index in the
--     heap, nil while the entry is not in it;
--   * `ready` holds handlers that yielded with plain coroutine.yield; they
--     are resumed on the next loop turn;
--   * io_waiters[id] holds the handlers waiting (wait_io) for an event of
--     network endpoint id: the coroutine itself when it is the only one
--     (the usual case: no table made per wait), else a set of them; nio
--     counts them. A handler waits on at most one id at a time; the heap
--     may still hold its last I/O timeout entry, disarmed (wait_io).

local core = ...

local co_create = coroutine.create
local co_running, co_status = coroutine.running, coroutine.status
local co_yield = coroutine.yield
local traceback = debug.traceback
local error, getmetatable, pcall = error, getmetatable, pcall
local setmetatable, tostring, type = setmetatable, tostring, type
local floor, find, sub = math.floor, string.find, string.sub
local now, wait, read_console_bytes = core.now, core.wait, core.read
local errwrite = core.errwrite
local guard = core.guard
local disarm, guard_run = guard.disarm, guard.run
if core.budget > 0 then guard.set_default(core.budget) end

local lunik = {}

------------------------------------------------------------- the timer heap

local heap, nheap, seq = {}, 0, 0

local function before(a, b)
    return a.at < b.at or (a.at == b.at and a.seq < b.seq)
end

local function sift_up(i)
    local e = heap[i]
    while i > 1 do
        local p = i // 2
        local pe = heap[p]
        if not before(e, pe) then break end
        heap[i] = pe; pe.pos = i
        i = p
    end
    heap[i] = e; e.pos = i
end

local function sift_down(i)
    local e = heap[i]
    while true do
        local c = 2 * i
        if c > nheap then break end
        if c < nheap and before(heap[c + 1], heap[c]) then c = c + 1 end
        local ce = heap[c]
        if not before(ce, e) then break end
        heap[i] = ce; ce.pos = i
        i = c
    end
    heap[i] = e; e.pos = i
end

-- Insert entry e with deadline `at` (seconds); it goes after every entry
-- already in the heap with the same deadline.
local function heap_push(e, at)
    seq = seq + 1
    e.at, e.seq = at, seq
    nheap = nheap + 1
    heap[nheap] = e
    sift_up(nheap)
end

-- Remove entry e (which must be in the heap) in O(log n).
local function heap_remove(e)
    local i, last = e.pos, heap[nheap]
    e.pos = nil
    heap[nheap] = nil
    nheap = nheap - 1
    if i <= nheap then
        heap[i] = last; last.pos = i
        if i > 1 and before(last, heap[i // 2]) then
            sift_up(i)
        else
            sift_down(i)
        end
    end
end

----------------------------------------------------------------- handlers

local kinds = setmetatable({}, { __mode = "k" })
local budgets = setmetatable({}, { __mode = "k" })  -- co -> seconds
-- co -> its I/O timeout entry (wait_io), kept and reused: a handler that
-- waits again moves its deadline without touching the heap.
local io_timers = setmetatable({}, { __mode = "k" })
local interruptible = setmetatable({}, { __mode = "k" })  -- co -> true:
                            -- Ctrl-C in `lunik attach` may stop its runs
                            -- (the REPL's: kind "repl")
local SLEEP = {}            -- yielded by lunik.sleep (private token)
local IO = {}               -- yielded by wait_io (private token)
local IO_EVENT = {}         -- passed to a handler woken by its event
local MAIN_FAILED = {}      -- raised to end the loop after a main error
local main_co
local ready, nready, spare = {}, 0, {}
local console_done          -- (co): a console handler has ended; below
local note_lag              -- (seconds): a timer fired this late; below
local print_stats           -- (): lunik.stats() on stderr; below
local on_shutdown, drain    -- (): a shutdown request; (s): below
local control_ready         -- (): control-channel input (control.lua)
local DEFAULT_LINGER = 1    -- seconds drain() waits at most

-- The text of an error value, as lua.c's msghandler makes it.
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

-- Report the error `err` of the failed handler coroutine co. An error in
-- the main chunk ends the program (run returns 1), as lua5.4 does. A run
-- stopped over its budget says so, whatever error the stop surfaced as (a
-- long C call is stopped by refusing its next large allocation).
local function fail(co, err)
    local kind = kinds[co]
    console_done(co)
    kinds[co] = nil
    if guard.count_error(err) == "budget" then
        local _, text = guard.expired()
        err = text
    end
    local ok, text = pcall(traceback, co, message(err))
    if not ok then              -- no memory for it: free the stack first
        coroutine.close(co)
        collectgarbage()
        text = message(err) .. " (no traceback: not enough memory)"
    end
    if co == main_co then
        errwrite("lunik: " .. text .. "\n")
        error(MAIN_FAILED, 0)
    end
    errwrite("lunik: error in " .. tostring(kind) .. " handler: " ..
             text .. "\n")
end

-- After a run of handler coroutine co (ok, dead, what: guard.run's first
-- results): report a failure; forget a handler that ended; queue one that
-- yielded plainly for the next turn; one that sleeps or waits on I/O has
-- its heap entry or its waker.
local function ran(co, ok, dead, what)
    if not ok then              -- still armed: fail() asks how it ended
        fail(co, dead)          -- (dead: the error)
        local e = io_timers[co]
        if e and e.pos then heap_remove(e) end
        return disarm()
    end
    if dead then
        if kinds[co] == "console" then console_done(co) end
        kinds[co] = nil
        local e = io_timers[co]
        if e and e.pos then heap_remove(e) end
    elseif what ~= SLEEP and what ~= IO then  -- plain yield: next turn
        nready = nready + 1
        ready[nready] = co
    end                             -- asleep: its heap entry wakes it
end

-- Resume handler coroutine co until it ends, fails, sleeps or yields,
-- within its budget (guard.c). A handler may resume another (closing a
-- connection wakes its waiters): the outer run's deadline comes back.
local function resume(co, ...)
    return ran(co, guard_run(co, budgets[co], interruptible[co], ...))
end

-- Run fn(...) as a new handler of the given kind in a fresh coroutine,
-- with `budget` seconds per run (nil: the default).
local function start_budget(kind, budget, fn, ...)
    local co = co_create(fn)
    kinds[co] = kind
    budgets[co] = budget
    if kind == "repl" then interruptible[co] = true end
    guard.count_handler()
    return resume(co, ...)
end

local function start(kind, fn, ...)
    return start_budget(kind, nil, fn, ...)
end

-- start(kind, fn, a, b, c, d) for a handler of exactly four arguments and
-- the default budget (a UDP datagram's), without a vararg function on
-- the way: three of them had cost about a fifth of an echoed datagram's
-- instructions.
local function start4(kind, fn, a, b, c, d)
    local co = co_create(fn)
    kinds[co] = kind
    guard.count_handler()
    return ran(co, guard_run(co, nil, nil, a, b, c, d))
end

---------------------------------------------------------- the registry
--
-- What the program registered, for lunik.handlers(): timers, console and
-- shutdown registrations, listeners and UDP sockets (net.lua), each an
-- object with .kind, .where ("file:line" of the registering call) and
-- .runs; it is live while in the timer heap (.pos), active (.active) or
-- open (.box).

local registry, nregistry = {}, 0
-- Reload (control.lua): every entry carries the generation of the code
-- that registered it (gen: 0 for the first main chunk, +1 per reload);
-- while a reload runs its new main chunk, `staging` lists what it
-- registered (.new) and the swaps of listeners it registered again on a
-- port an older one holds (.swaps), for commit_reload or rollback_reload.
local gen, staging = 0, nil

-- "file:line" of the function `level` levels above the caller.
local function where(level)
    local info = debug.getinfo(level + 1, "Sl")
    if not info then return "?" end
    return info.short_src .. ":" .. (info.currentline or 0)
end

local function live(e) return e.pos ~= nil or e.active or e.box ~= nil end

local function register(e, kind, at)
    e.kind, e.where, e.runs, e.gen = kind, at, 0, gen
    if staging then staging.new[#staging.new + 1] = e end
    if nregistry >= 64 and nregistry % 64 == 0 then     -- drop dead ones
        local n = 0
        for i = 1, nregistry do
            local x = registry[i]
            registry[i] = nil
            if live(x) then n = n + 1; registry[n] = x end
        end
        nregistry = n
    end
    nregistry = nregistry + 1
    registry[nregistry] = e
    return e
end

------------------------------------------------------------------- timers

local Timer = { __name = "lunik.timer" }
local Registration = { __name = "lunik.registration" }
local console_regs = {}     -- active console registrations, in order
local shutdown_regs = {}    -- active "shutdown" registrations, in order

local function cancel(h)
    local mt = getmetatable(h)
    if mt == Timer then
        if h.pos then heap_remove(h); return true end
        return false
    elseif mt == Registration then
        local list = h.event == "shutdown" and shutdown_regs or console_regs
        for i = 1, #list do
            if list[i] == h then
                table.remove(list, i)
                h.active = false
                return true
            end
        end
        return false
    end
    error("bad argument #1 to 'cancel' (lunik timer or registration " ..
          "expected, got " .. type(h) .. ")", 2)
end
Timer.__index = { cancel = cancel }
Registration.__index = { cancel = cancel }

local function check_fn(fn, name)
    if type(fn) ~= "function" then
        error("bad argument #2 to '" .. name .. "' (function expected, got " ..
              type(fn) .. ")", 3)
    end
end

local function check_seconds(s, name, positive)
    if type(s) ~= "number" or s ~= s then
        error("bad argument #1 to '" .. name .. "' (number of seconds " ..
              "expected, got " .. (s ~= s and "nan" or type(s)) .. ")", 3)
    elseif positive and s <= 0 then
        error("bad argument #1 to '" .. name .. "' (interval must be > 0)", 3)
    elseif s < 0 then
        error("bad argument #1 to '" .. name .. "' (delay must be >= 0)", 3)
    end
end

-- Event-loop lag: how late timers and sleepers fire (seconds), the last
-- LAG_N of them in a ring, and the largest ever.
local LAG_N = 1024
local lags, nlags, lag_max = {}, 0, 0
function note_lag(late)
    nlags = nlags + 1
    lags[(nlags - 1) % LAG_N + 1] = late
    if late > lag_max then lag_max = late end
end

-- Fire every heap entry due at time t that existed when the turn began
-- (entries made by these handlers wait for the next turn).
local function run_timers(t)
    local last = seq
    while nheap > 0 do
        local e = heap[1]
        if e.at > t or e.seq > last then break end
        heap_remove(e)
        local co, every = e.co, e.every
        if e.io then                -- an I/O timeout (wait_io): lazy
            if not e.armed then     -- stale: its wait has ended
            elseif e.due > t then   -- pushed back meanwhile: re-arm
                heap_push(e, e.due)
            else
                note_lag(t - e.at)
                if co_status(co) == "suspended" then resume(co) end
            end
        elseif co then
            note_lag(t - e.at)
            if co_status(co) == "suspended" then resume(co) end
        elseif every then
            note_lag(t - e.at)
            -- Next tick on the original grid; skip the ones already missed.
            local at = e.at + every
            if at <= t then at = at + every * (floor((t - at) / every) + 1) end
            if at <= t then at = t + every end
            heap_push(e, at)
            e.runs = e.runs + 1
            start("timer", e.fn)
        else
            note_lag(t - e.at)
            e.runs = e.runs + 1
            start("timer", e.fn)
        end
    end
end

------------------------------------------------------------------ console
--
-- Lines are delivered in input order: the handlers for a line start when
-- every handler of the previous line has ended (one that sleeps holds back
-- later lines, not timers). Input is read only while no line is waiting.

local console_buf = ""      -- the unterminated end of the input so far
local console_ended = false
local lines, first, last = {}, 1, 0     -- lines waiting: lines[first..last]
local console_busy = 0      -- console handlers started and not yet ended

function console_done(co)
    if kinds[co] == "console" then console_busy = console_busy - 1 end
end

-- Start the handlers of waiting lines while no console handler is alive.
local function dispatch_lines()
    while console_busy == 0 and first <= last and console_regs[1] do
        local line = lines[first]
        lines[first] = nil
        first = first + 1
        local n = #console_regs
        local regs = n == 1 and console_regs
                     or table.move(console_regs, 1, n, 1, {})
        for i = 1, n do
            if regs[i].active then
                regs[i].runs = regs[i].runs + 1
                console_busy = console_busy + 1
                start("console", regs[i].fn, line)
            end
        end
    end
end

-- Read one chunk of console input and queue its complete lines.
local function read_console()
    local chunk = read_console_bytes()
    if chunk == nil then
        console_ended = true
        if console_buf ~= "" then
            last = last + 1
            lines[last] = console_buf
            console_buf = ""
        end
        return
    end
    local data, pos = console_buf .. chunk, 1
    while true do
        local nl = find(data, "\n", pos, true)
        if not nl then break end
        last = last + 1
        lines[last] = sub(data, pos, nl - 1)
        pos = nl + 1
    end
    console_buf = sub(data, pos)
end

------------------------------------------------------------ network I/O
--
-- lunik.net (net.lua) suspends handlers with wait_io and installs its hooks
-- with set_net once the network has started; the loop then polls lwIP each
-- turn and hands the ids of endpoints with events to net_hooks.on_events,
-- which wakes their waiters.

local io_waiters, nio = {}, 0
local net_hooks             -- { poll, timeout, busy, on_events } or nil

-- Suspend the calling handler until wake(id) or the time `deadline`
-- (seconds of now(); nil = none; one already past ends the wait on the
-- next turn). Returns true when woken by an event, false on the deadline.
local function wait_io(id, deadline)
    local co, is_main = co_running()
    if is_main or not kinds[co] then
        error("lunik.net: not inside a lunik handler coroutine", 3)
    end
    local w = io_waiters[id]
    if w == nil then
        io_waiters[id] = co
    elseif type(w) == "thread" then
        io_waiters[id] = { [w] = true, [co] = true }
    else
        w[co] = true
    end
    nio = nio + 1
    local e
    if deadline then
        -- The entry stays in the heap after the wait (armed = false) and
        -- is reused: a later deadline is only noted (due), and run_timers
        -- re-pushes it when its old time comes; one heap operation per
        -- timeout period instead of two per wait.
        e = io_timers[co]
        if not e then
            e = { co = co, io = true }
            io_timers[co] = e
        end
        e.due, e.armed = deadline, true
        local pos = e.pos
        if pos and deadline < e.at then heap_remove(e); pos = nil end
        if not pos then heap_push(e, deadline) end
    end
    local woke = co_yield(IO)
    nio = nio - 1
    w = io_waiters[id]                  -- wake() has taken co out when
    if w ~= nil then                    -- it was the only waiter
        if w == co then
            io_waiters[id] = nil
        elseif type(w) == "table" then
            w[co] = nil
            if next(w) == nil then io_waiters[id] = nil end
        end
    end
    if e then e.armed = false end
    return woke == IO_EVENT
end

-- Resume every handler waiting on id (each may wait again).
local function wake(id)
    local w = io_waiters[id]
    if w == nil then return end
    if type(w) == "thread" then             -- one waiter: the usual case
        if co_status(w) == "suspended" then
            io_waiters[id] = nil
            resume(w, IO_EVENT)
        end
        return
    end
    local list, n = {}, 0
    for c in next, w do n = n + 1; list[n] = c end
    for i = 1, n do
        local co = list[i]
        if w[co] and co_status(co) == "suspended" then
            w[co] = nil
            resume(co, IO_EVENT)
        end
    end
end

--------------------------------------------------------------------- loop

-- A shutdown was asked for (SIGTERM: `lunik stop`, docker stop): run each
-- "shutdown" handler; with none, end the program as SIGTERM's default
-- action would (status 143 = 128 + 15), after draining the network.
function on_shutdown()
    if shutdown_regs[1] == nil then
        drain(DEFAULT_LINGER)
        if core.print_stats then print_stats() end
        return core.exit(143)
    end
    local regs = table.move(shutdown_regs, 1, #shutdown_regs, 1, {})
    for i = 1, #regs do
        if regs[i].active then
            regs[i].runs = regs[i].runs + 1
            start("shutdown", regs[i].fn)
        end
    end
end

local function run_ready()
    local list, n = ready, nready
    ready, nready, spare = spare, 0, list
    for i = 1, n do
        local co = list[i]
        list[i] = nil
        if co_status(co) == "suspended" then resume(co) end
    end
end

-- Turn until no handler can fire again: no timers, no sleeping or yielded
-- handlers, no console handler (or the console input has ended), and no
-- open listener, UDP socket or handler waiting on the network.
local function loop()
    while true do
        if nready > 0 then run_ready() end
        run_timers(now())
        dispatch_lines()
        local handled = console_regs[1] ~= nil
        local console = handled and not console_ended and first > last and
                        console_busy == 0
        local net_on = net_hooks ~= nil and net_hooks.busy()
        if nheap == 0 and nready == 0 and not console and not net_on then
            return
        end
        local deadline = nil
        if nready > 0 then
            deadline = 0
        elseif nheap > 0 then
            deadline = heap[1].at
        end
        if net_on then
            local t = net_hooks.timeout()   -- lwIP's next timer
            if t then
                t = now() + t
                if not deadline or t < deadline then deadline = t end
            end
        end
        local console_ready, net_ready, shutdown, control =
            wait(deadline, console, net_on)
        if shutdown then on_shutdown() end
        if control then control_ready() end
        if console_ready then read_console() end
        if net_on then
            local ids = net_hooks.poll(net_ready)
            if ids then net_hooks.on_events(ids) end
        end
    end
end

-- The program ends: let the network deliver what it owes (guard against
-- losing a reply written just before the end): every open TCP connection
-- is closed gracefully and the stack runs, handlers not, until the peers
-- have acknowledged all data and FINs, or `linger` seconds pass.
function drain(linger)
    if not net_hooks or not net_hooks.drain then return end
    local deadline = now() + linger
    while net_hooks.drain() do
        local left = deadline - now()
        if left <= 0 then return end
        local t = net_hooks.timeout()
        local d = now() + ((t and t < left) and t or left)
        local _, net_ready = wait(d, false, true)
        net_hooks.poll(net_ready)
    end
end


local function run(main, ...)
    main_co = co_create(main)
    kinds[main_co] = "main"
    guard.count_handler()
    local ok, err = pcall(function(...)
        resume(main_co, ...)
        return loop()
    end, ...)
    if ok or err == MAIN_FAILED then drain(DEFAULT_LINGER) end
    if core.print_stats then print_stats() end
    if ok then return 0 end
    if err == MAIN_FAILED then return 1 end
    error(err, 0)
end

---------------------------------------------------------------- the module

-- lunik.after(s, fn) -> timer: run fn() once, in a fresh handler
-- coroutine, s seconds (a number >= 0) from now. Errors on a bad argument.
function lunik.after(s, fn)
    check_seconds(s, "after")
    check_fn(fn, "after")
    local t = register(setmetatable({ fn = fn }, Timer), "after", where(2))
    heap_push(t, now() + s)
    return t
end

-- lunik.every(s, fn) -> timer: run fn() every s seconds (s > 0), first at
-- now + s, each in a fresh handler coroutine. Ticks stay on the grid
-- now + k*s (no drift); ticks missed while the loop was busy are skipped,
-- not run in a burst. Active until cancelled.
function lunik.every(s, fn)
    check_seconds(s, "every", true)
    check_fn(fn, "every")
    local t = register(setmetatable({ fn = fn, every = s }, Timer),
                       "every", where(2))
    heap_push(t, now() + s)
    return t
end

-- lunik.cancel(h) / h:cancel() -> boolean: stop a timer (from after or
-- every) or a registration (from on). Returns true if h was still active
-- (a one-shot timer that has fired is not). Errors on any other value.
lunik.cancel = cancel

-- lunik.on(event, fn) -> registration. Events: "console": fn(line) runs
-- in a fresh handler coroutine for each line of console input, without its
-- "\n"; a last unterminated line is delivered at the end of input. Lines
-- arrive in order: a line's handlers start once every handler of the line
-- before has ended. "shutdown": fn() runs in a fresh handler coroutine
-- when the program is asked to stop (SIGTERM to the lunik process, as
-- `lunik stop` and `docker stop` send it); it may finish work and call
-- lunik.exit. Without a shutdown handler the request ends the program
-- with status 143, after the network has delivered what it owes. An
-- unknown event name is an error.
function lunik.on(event, fn)
    if event ~= "console" and event ~= "shutdown" then
        error("bad argument #1 to 'on' (unknown event " ..
              (type(event) == "string" and ("'" .. event .. "'")
               or type(event)) .. "; known: 'console', 'shutdown')", 2)
    end
    check_fn(fn, "on")
    local reg = register(setmetatable({ fn = fn, event = event,
                                        active = true }, Registration),
                         event, where(2))
    local list = event == "console" and console_regs or shutdown_regs
    list[#list + 1] = reg
    return reg
end

-- lunik.sleep(s): suspend the calling handler for s seconds (>= 0) while
-- other handlers run; returns nothing. Error when called outside a lunik
-- handler coroutine (the main chunk and every event handler are ones;
-- coroutines they create are not).
function lunik.sleep(s)
    check_seconds(s, "sleep")
    local co, is_main = co_running()
    if is_main or not kinds[co] then
        error("lunik.sleep: not inside a lunik handler coroutine", 2)
    end
    local e = { co = co }
    heap_push(e, now() + s)
    co_yield(SLEEP)
    if e.pos then heap_remove(e) end    -- resumed early by other code
end

-- lunik.now() -> seconds (float) on the monotonic clock, since the runtime
-- started; never goes backwards. Resolution 1 us or better.
lunik.now = now

-- lunik.exit([code [, linger]]): end the program with code: an integer
-- 0..255, or a boolean (true = 0, false = 1), as os.exit; default 0.
-- First the network delivers what it owes: open TCP connections are
-- closed gracefully (queued data, then FIN) and the stack runs until the
-- peers have acknowledged everything, for at most linger seconds
-- (default 1; UDP datagrams already sent need no wait); then io.stdout
-- and io.stderr (every C stream) are flushed. Never returns.
function lunik.exit(code, linger)
    if linger ~= nil and (type(linger) ~= "number" or not (linger >= 0)) then
        error("bad argument #2 to 'exit' (seconds >= 0 expected)", 2)
    end
    disarm()                        -- the drain is not the handler's run
    drain(linger or DEFAULT_LINGER)
    if core.print_stats then print_stats() end
    return core.exit(code)
end

-- lunik.target() -> "kvm" | "hosted": where the program runs.
lunik.target = core.target

-- lunik.budget([s]) -> seconds: with s (a number > 0), every handler run
-- that has no budget of its own (from http.serve or net.listen's opts)
-- may take at most s seconds of CPU time before it yields, from now on;
-- returns the budget in force before. Without s, returns the budget. The
-- default is 1 s, or `lunik run --budget S`. A run over budget is stopped
-- at its next VM instruction (or large allocation) with the error
-- "handler exceeded its budget (S s)" and a traceback on stderr; an HTTP
-- client of that handler gets 503, a raw TCP connection is reset; the
-- program goes on. Errors on a bad s.
function lunik.budget(s)
    if s == nil then return guard.default() end
    if type(s) ~= "number" or not (s > 0) or s == math.huge then
        error("bad argument #1 to 'budget' (seconds > 0 expected)", 2)
    end
    return guard.set_default(s)
end

local gc_cycles = 0
-- A sentinel whose finalizer counts each GC cycle that reaches it and
-- makes the next one.
local function gc_sentinel()
    setmetatable({}, { __gc = function()
        gc_cycles = gc_cycles + 1
        gc_sentinel()
    end })
end
gc_sentinel()

local net_stats                 -- () -> connections, sockets (net.lua)

-- lunik.stats() -> table: the program's health since it started:
--   handlers      handler runs started (each event, HTTP request, timer)
--   errors        of them, ended by an error (budget and memory included)
--   budget_stops  stopped over their time budget (lunik.budget)
--   oom_stops     stopped by "not enough memory"
--   heap_bytes    bytes the Lua heap holds; heap_limit its limit (0: none)
--   gc_cycles     garbage-collection cycles completed
--   lag_max_us, lag_p99_us  event-loop lag: how late timers and sleepers
--                 fired, in microseconds (p99 over the last 1024)
--   connections   open TCP connections; sockets: listeners and UDP sockets
function lunik.stats()
    local t = guard.stats()
    t.gc_cycles = gc_cycles
    local n = nlags < LAG_N and nlags or LAG_N
    local sorted = table.move(lags, 1, n, 1, {})
    table.sort(sorted)
    local p99 = n > 0 and sorted[math.max(1, math.ceil(n * 0.99))] or 0
    t.lag_max_us = floor(lag_max * 1e6 + 0.5)
    t.lag_p99_us = floor(p99 * 1e6 + 0.5)
    t.connections, t.sockets = 0, 0
    if net_stats then t.connections, t.sockets = net_stats() end
    return t
end

-- lunik.handlers() -> list: what the program has registered and is still
-- active, in registration order, each a table:
--   kind     "after", "every", "console", "shutdown", "tcp" (net.listen),
--            "udp" (net.udp_bind) or "http" (http.serve)
--   where    "file:line" of the call that registered it
--   runs     handler runs so far (timer firings, lines, connections,
--            datagrams; for "http" connections, and requests in .requests)
--   due      seconds until a timer fires next; every: its interval (s)
--   port     the port a listener or socket is bound to
function lunik.handlers()
    local out, t = {}, now()
    for i = 1, nregistry do
        local e = registry[i]
        if live(e) then
            out[#out + 1] = { kind = e.kind, where = e.where, runs = e.runs,
                              due = e.pos and e.at - t or nil,
                              every = e.every, port = e.bound,
                              requests = e.requests }
        end
    end
    return out
end

local net_conns                 -- () -> list (net.lua), once started

-- lunik.connections() -> list: the open TCP connections, each a table
-- { peer = "a.b.c.d", peer_port = n, port = n (ours, when accepted by a
-- listener), age = s (seconds since it opened) }.
function lunik.connections()
    return net_conns and net_conns() or {}
end

local STAT_ORDER = { "handlers", "errors", "budget_stops", "oom_stops",
                     "heap_bytes", "heap_limit", "gc_cycles", "lag_max_us",
                     "lag_p99_us", "connections", "sockets" }
-- One line "lunik: stats: name=value ..." on stderr (lunik run --stats).
function print_stats()
    local t, parts = lunik.stats(), {}
    for i, k in ipairs(STAT_ORDER) do parts[i] = k .. "=" .. t[k] end
    errwrite("lunik: stats: " .. table.concat(parts, " ") .. "\n")
end

package.loaded.lunik = lunik
package.preload.lunik = function() return lunik end

-- The scheduler's private interface for net.lua.
local sched = {
    now = now,
    start = start,
    start_budget = start_budget,
    start4 = start4,
    guard = guard,
    set_net_stats = function(f, conns) net_stats, net_conns = f, conns end,
    register = function(e, kind, level) return register(e, kind,
                                                        where(level + 1)) end,
    wait_io = wait_io,
    wake = wake,
    io_waiting = function() return nio > 0 end,
    set_net = function(hooks) net_hooks = hooks end,
    sleep = lunik.sleep,
    message = message,
    -- report(kind, text): a handler error caught by net.lua, reported as
    -- fail() reports one.
    report = function(kind, text)
        errwrite("lunik: error in " .. kind .. " handler: " .. text .. "\n")
    end,
}

-- Reload transactions (control.lua runs them; net.lua stages swaps).
-- Stop an entry of older code: a timer or registration is cancelled, a
-- listener or socket closed through its .close_old (net.lua sets it).
local function retire(e)
    local mt = getmetatable(e)
    if mt == Timer or mt == Registration then
        cancel(e)
    elseif e.close_old and e.box ~= nil then
        e.close_old(e)
    end
end
sched.generation = function() return gen end
sched.staging = function() return staging end
-- begin_reload(): what is registered from now on belongs to new code.
sched.begin_reload = function()
    gen = gen + 1
    staging = { new = {}, swaps = {} }
end
-- commit_reload(): the new code's listeners take over the ports older ones
-- held (each swap is one assignment: new connections go to the new
-- handler, running ones finish on the old), then whatever older code had
-- registered and the new code did not register again is stopped.
sched.commit_reload = function()
    local st = staging
    staging = nil
    for i = 1, #st.swaps do st.swaps[i]() end
    for i = 1, nregistry do
        local e = registry[i]
        if e.gen < gen and live(e) then retire(e) end
    end
end
-- rollback_reload(): stop what the new code registered; nothing older
-- was touched.
sched.rollback_reload = function()
    local st = staging
    staging = nil
    gen = gen - 1
    for i = 1, #st.new do
        local e = st.new[i]
        if live(e) then retire(e) end
        if e.staged_old then e.staged_old.staged = nil end
        e.gen = -1
    end
end
sched.co_running = co_running

local net_chunk, http_chunk = core.net_chunk, core.http_chunk
local netcore, httpcore = core.netcore, core.httpcore
package.preload["lunik.net"] = function() return net_chunk(sched, netcore) end
package.preload["lunik.http"] = function()
    return http_chunk(httpcore, guard)
end
control_ready = core.control_chunk(sched, core, lunik)
return run
