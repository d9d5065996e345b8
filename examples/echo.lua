-- echo.lua: a console handler: echo each input line until "quit" or end of input.
local lunik = require "lunik"

local lines = 0
lunik.on("console", function(line)
    if line == "quit" then
        print("bye after " .. lines .. " lines")
        lunik.exit(0)
    end
    lines = lines + 1
    print(string.format("%d: %s", lines, line:upper()))
end)

print("type lines; 'quit' or end of input stops")
