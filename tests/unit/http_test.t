#!/bin/sh
# http_test.t: run lunik.http's unit tests (http_test.lua) under plain lua5.4.
exec lua5.4 "$(dirname "$0")/http_test.lua"
