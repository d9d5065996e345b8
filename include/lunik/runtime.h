/* runtime.h: the target-independent entry point of the lunik Lua runtime. */
#ifndef LUNIK_RUNTIME_H
#define LUNIK_RUNTIME_H

/*
 * lunik_runtime_main: run a lunik program to its end. The target has mounted
 * the bundle (lunik_vfs_mount) and made /app the working directory.
 * argv[0] is the app's path relative to /app; argv[1..argc-1] are the script
 * arguments (Lua's arg[1..]), unless they begin with runtime options:
 * entries "lunik.NAME=VALUE" ended by an entry "--", which are taken out
 * (the `lunik` command always passes them so, on every target):
 *   lunik.budget=S   seconds a handler run may take (default 1; --budget)
 *   lunik.heap=N     most bytes the Lua heap may hold (from --mem)
 *   lunik.netmem=N   most bytes lwIP's heap may hold when a frame arrives
 *                    (from --mem; net.h)
 *   lunik.stats=1    print lunik.stats() on stderr at exit (--stats)
 *   lunik.env=K=V    os.getenv("K") is V (-e, --env-file; repeatable)
 * A bad option is one line on stderr and status 1. Loads the bundle entry marked main, runs the
 * main chunk, then the event loop until no handler can fire again.
 * Returns 0 on a normal end, 1 after printing the traceback of an error in
 * the main chunk; lunik.exit(n) and os.exit(n) end the program through
 * plat_exit() and never return here.
 */
int lunik_runtime_main(int argc, char **argv);

#endif
