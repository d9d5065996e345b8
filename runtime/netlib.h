/* netlib.h: the C half of lunik.net, opened by runtime.c for runtime/net.lua. */
#ifndef LUNIK_NETLIB_H
#define LUNIK_NETLIB_H

#include "lua.h"

/*
 * lunik_open_netcore: push the table of lunik.net's C functions (start,
 * poll, timeout, address, listen, accept, connect, state, recv, recv_line,
 * send, close, peer, shutdown, drain, udp_bind, udp_recv, udp_sendto; each documented
 * in netlib.c) for net.lua. Raises a Lua memory error like any lua_*.
 */
int lunik_open_netcore(lua_State *L);

#endif
