/* netlib.h: the C half of lunik.net, opened by runtime.c for runtime/net.lua. */
#ifndef LUNIK_NETLIB_H
#define LUNIK_NETLIB_H

#include <stddef.h>

#include "lua.h"

/*
 * lunik_open_netcore: push the table of lunik.net's C functions (start,
 * poll, timeout, address, listen, accept, connect, state, recv, recv_line,
 * send, close, peer, shutdown, drain, udp_bind, udp_recv, udp_sendto; each documented
 * in netlib.c) for net.lua. Raises a Lua memory error like any lua_*.
 */
int lunik_open_netcore(lua_State *L);

/*
 * struct lunik_net_stream: a TCP connection's bytes for the runtime's C
 * code (lunik.http's parser and responses), with no Lua string per read
 * or write. idx is the stack index of the connection's box (net.lua's
 * conn.box); a value that is no lunik.net box raises a Lua argument
 * error, a box Lua has closed reads and writes as "closed".
 *
 *   read(L, idx, dst, max, &err) -> bytes copied to dst (at most max),
 *       taken off the connection and acknowledged to the peer, as
 *       recv(2); 0 with err NULL: nothing has arrived yet; 0 with err:
 *       the stream has ended ("closed" after FIN, "reset", "aborted").
 *   write(L, idx, p, n, push, &err) -> bytes queued in the send buffer
 *       (0..n: as many as it has room for, as send(2) on a non-blocking
 *       socket) | -1 with err ("closed", "reset", ...). push: send what
 *       is queued now (tcp_output); several writes with push only on the
 *       last go out in as few segments as they fit.
 */
struct lunik_net_stream {
    size_t (*read)(lua_State *L, int idx, char *dst, size_t max,
                   const char **err);
    long (*write)(lua_State *L, int idx, const char *p, size_t n, int push,
                  const char **err);
};

/* The stream operations on lunik.net's connections (netlib.c). */
extern const struct lunik_net_stream lunik_net_stream;

#endif
