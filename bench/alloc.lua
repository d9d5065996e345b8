-- alloc.lua: an allocation-heavy workload: trees, strings, closures and tables that die young.
local N = tonumber(arg and arg[1]) or 14

-- binary trees (as the benchmarks game): many small tables, deep GC work
local function tree(d)
    if d == 0 then return {} end
    d = d - 1
    return { tree(d), tree(d) }
end
local function check(t)
    if t[1] then return 1 + check(t[1]) + check(t[2]) end
    return 1
end

local total = 0
for d = 4, N, 2 do
    local iters = 1 << (N - d + 4)
    for _ = 1, iters do total = total + check(tree(d)) end
end

-- strings: build, concatenate, split, intern
local parts = {}
for i = 1, 200000 do parts[#parts + 1] = ("item%d:%x"):format(i, i * 7919) end
local joined = table.concat(parts, ",")
local count = 0
for w in joined:gmatch("[^,]+") do count = count + #w end

-- closures and growing/shrinking tables
local acc = 0
for i = 1, 300000 do
    local f = function(x) return x + i end
    local t = { i, i + 1, f(i), name = "k" .. (i % 1000) }
    acc = acc + t[3] + #t.name
end

print(total, count, acc)
