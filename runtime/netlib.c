/* netlib.c: lunik.net's C half: lwIP TCP and UDP endpoints as Lua values, their events queued for net.lua. */
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#include "lwip/ip4_addr.h"
#include "lwip/pbuf.h"
#include "lwip/tcp.h"
#include "lwip/priv/tcp_priv.h"
#include "lwip/udp.h"
#include "lwip/etharp.h"
#include "lwip/ip4.h"
#include "lwip/netif.h"

#include "../net/net.h"
#include "netlib.h"
#include "udata.h"

/*
 * Ownership. lwIP calls back into C with the endpoint's C state (struct
 * nl_ep, malloc'd), never into Lua: a Lua error cannot unwind through lwIP.
 * A Lua userdata (a box holding the nl_ep pointer) is made only when Lua
 * first sees an endpoint. The nl_ep is freed when both sides have let go:
 * lwIP (its PCB is closed, aborted or reset: ep->pcb == NULL) and Lua (the
 * box was closed or collected: ep->box == 0).
 *
 * Events. A callback that changes what Lua could observe (data, FIN, an
 * error, send-buffer room, a connection accepted or established, a
 * datagram) marks the endpoint in a queue; net_poll() returns the ids of
 * the marked endpoints, and net.lua wakes the coroutines waiting on them.
 *
 * Bounds. Received TCP data is acknowledged to the peer (tcp_recved) only
 * when Lua consumes it, so what a connection holds is at most the receive
 * window (TCP_WND, 256 KiB with window scaling: lwipopts.h). A pbuf
 * chain holds at most 64 KiB - 1 (tot_len is a u16_t), so the received
 * bytes are ep->rx, the chain reads look at, then up to NL_RXQ chains
 * queued behind it (ep->rxq), moved into ep->rx as reads make room. The
 * send side is bounded by TCP_SND_BUF; a listener
 * queues at most its backlog of accepted connections between two turns of
 * the event loop (plus the handshakes one poll completes); a UDP endpoint at
 * most NL_UDP_QUEUE datagrams (the rest are dropped, as a full socket
 * buffer drops them).
 */

#define NL_UDP_QUEUE 256
#define NL_RXQ 8        /* chains queued behind ep->rx: any two neighbours
                           hold over 64 KiB together (else they would be
                           one), so 8 hold more than the 256 KiB window */
#define NL_ACCEPT_SLACK 256     /* frames one lwIP poll takes (net/stack.c) */
#define NL_BOX "lunik.net.endpoint"
#define ERR_RST_REFUSED (-100)  /* a connect() answered with RST */

enum nl_kind { NL_LISTENER, NL_CONN, NL_UDP };

struct nl_dgram {
    struct pbuf *p;
    ip4_addr_t addr;
    u16_t port;
};

struct nl_ep {
    enum nl_kind kind;
    lua_Integer id;             /* net.lua's key for this endpoint */
    int box;                    /* a Lua box points here */
    int marked;                 /* in the event queue */
    struct nl_ep *next_marked;
    union {
        struct tcp_pcb *tcp;
        struct udp_pcb *udp;
    } pcb;                      /* NULL once lwIP has let go */
    /* NL_CONN */
    struct pbuf *rx;            /* received, not yet read by Lua */
    struct pbuf *rxq[NL_RXQ];   /* ... and behind it, in order */
    int rxq_head, rxq_len;
    int fin;                    /* the peer sent FIN */
    err_t err;                  /* ERR_OK, or why the PCB is gone */
    int connected;              /* handshake done (accept or connect) */
    int closed;                 /* Lua closed it */
    int wr_shut;                /* Lua half-closed it (shutdown) */
    /* NL_LISTENER: accepted connections Lua has not taken; NL_UDP:
     * datagrams Lua has not read */
    struct nl_ep *accq_head, *accq_tail;
    struct nl_ep *accq_next;
    int accq_len, backlog;
    struct nl_dgram *dq;        /* NL_UDP: a ring of NL_UDP_QUEUE */
    int dq_head, dq_len;
    int starved;                /* in nl_starved (nl_tx) */
    struct nl_ep *next_starved;
};

static struct nl_ep *nl_marked_head, *nl_marked_tail;
static lua_Integer nl_next_id = 1;
/* Connections whose data to send found no room in the memory such data
 * may take (lunik_net_mem_tx_room, net.h): nl_wake_starved marks them,
 * so that their writers try again, once there is some. */
static struct nl_ep *nl_starved;

static void nl_mark(struct nl_ep *ep)
{
    if (ep->marked || !ep->box)
        return;
    ep->marked = 1;
    ep->next_marked = NULL;
    if (nl_marked_tail)
        nl_marked_tail->next_marked = ep;
    else
        nl_marked_head = ep;
    nl_marked_tail = ep;
}

static struct nl_ep *nl_new(enum nl_kind kind)
{
    struct nl_ep *ep = calloc(1, sizeof *ep);
    if (ep) {
        ep->kind = kind;
        ep->id = nl_next_id++;
    }
    return ep;
}

static void nl_free_rx(struct nl_ep *ep)
{
    if (ep->rx)
        pbuf_free(ep->rx);
    ep->rx = NULL;
    for (; ep->rxq_len > 0; ep->rxq_len--) {
        pbuf_free(ep->rxq[ep->rxq_head]);
        ep->rxq_head = (ep->rxq_head + 1) % NL_RXQ;
    }
    for (; ep->dq_len > 0; ep->dq_len--) {
        pbuf_free(ep->dq[ep->dq_head].p);
        ep->dq_head = (ep->dq_head + 1) % NL_UDP_QUEUE;
    }
}

/* Free ep if neither lwIP nor Lua holds it; unlink it from the queue. */
static void nl_release(struct nl_ep *ep)
{
    if (ep->box || ep->pcb.tcp != NULL || ep->marked || ep->starved)
        return;
    nl_free_rx(ep);
    free(ep->dq);
    free(ep);
}

/* ------------------------------------------------------ TCP callbacks */

static void nl_detach_tcp(struct tcp_pcb *pcb)
{
    tcp_arg(pcb, NULL);
    tcp_recv(pcb, NULL);
    tcp_sent(pcb, NULL);
    tcp_err(pcb, NULL);
    tcp_poll(pcb, NULL, 0);
}

/* Can chain p go on the end of chain q (tot_len stays a u16_t)? */
static int nl_fits(const struct pbuf *q, const struct pbuf *p)
{
    return (u32_t)q->tot_len + p->tot_len <= 0xffff;
}

/* Data (p) or FIN (NULL) from lwIP (tcp.h tcp_recv). p goes on the end
 * of the last chain that has room, else into a new queued chain; with
 * the queue full (more than the window can bring) it is refused, and
 * lwIP offers it again later. */
static err_t nl_on_recv(void *arg, struct tcp_pcb *pcb, struct pbuf *p,
                        err_t err)
{
    struct nl_ep *ep = arg;

    (void)pcb;
    (void)err;
    if (p == NULL) {
        ep->fin = 1;
    } else if (ep->rx == NULL) {
        ep->rx = p;
    } else if (ep->rxq_len == 0 && nl_fits(ep->rx, p)) {
        pbuf_cat(ep->rx, p);
    } else {
        int last = (ep->rxq_head + ep->rxq_len - 1) % NL_RXQ;
        if (ep->rxq_len > 0 && nl_fits(ep->rxq[last], p)) {
            pbuf_cat(ep->rxq[last], p);
        } else if (ep->rxq_len < NL_RXQ) {
            ep->rxq[(ep->rxq_head + ep->rxq_len) % NL_RXQ] = p;
            ep->rxq_len++;
        } else {
            return ERR_MEM;
        }
    }
    nl_mark(ep);
    return ERR_OK;
}

static err_t nl_on_sent(void *arg, struct tcp_pcb *pcb, u16_t len)
{
    (void)pcb;
    (void)len;
    nl_mark(arg);
    return ERR_OK;
}

/* The PCB is already freed by lwIP (tcp.h tcp_err). */
static void nl_on_err(void *arg, err_t err)
{
    struct nl_ep *ep = arg;

    ep->pcb.tcp = NULL;
    ep->err = err;
    nl_mark(ep);        /* no-op while it waits in an accept queue */
}

static void nl_attach_conn(struct nl_ep *ep, struct tcp_pcb *pcb)
{
    ep->pcb.tcp = pcb;
    tcp_arg(pcb, ep);
    tcp_recv(pcb, nl_on_recv);
    tcp_sent(pcb, nl_on_sent);
    tcp_err(pcb, nl_on_err);
    tcp_nagle_disable(pcb);                 /* responses go out at once */
}

static err_t nl_on_accept(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct nl_ep *l = arg;

    if (err != ERR_OK || pcb == NULL)
        return ERR_VAL;
    /* Lua takes every queued connection after each poll; one poll can
     * complete up to a batch of handshakes at once, so the queue may
     * hold the backlog plus one batch before lwIP has to refuse one. */
    if (l->accq_len >= l->backlog + NL_ACCEPT_SLACK || l->closed)
        return ERR_MEM;                     /* lwIP aborts the PCB */
    struct nl_ep *ep = nl_new(NL_CONN);
    if (ep == NULL)
        return ERR_MEM;
    nl_attach_conn(ep, pcb);
    ep->connected = 1;
    if (l->accq_tail)
        l->accq_tail->accq_next = ep;
    else
        l->accq_head = ep;
    l->accq_tail = ep;
    l->accq_len++;
    nl_mark(l);
    return ERR_OK;
}

static err_t nl_on_connected(void *arg, struct tcp_pcb *pcb, err_t err)
{
    struct nl_ep *ep = arg;

    (void)pcb;
    (void)err;
    ep->connected = 1;
    nl_mark(ep);
    return ERR_OK;
}

/* ---------------------------------------------------------- UDP */

static void nl_on_udp(void *arg, struct udp_pcb *pcb, struct pbuf *p,
                      const ip_addr_t *addr, u16_t port)
{
    struct nl_ep *ep = arg;
    struct nl_dgram *d;

    (void)pcb;
    if (ep->dq_len >= NL_UDP_QUEUE) {
        pbuf_free(p);
        return;
    }
    d = &ep->dq[(ep->dq_head + ep->dq_len) % NL_UDP_QUEUE];
    d->p = p;
    ip4_addr_copy(d->addr, *ip_2_ip4(addr));
    d->port = port;
    ep->dq_len++;
    nl_mark(ep);
}

/* ------------------------------------------------------ Lua helpers */

static const void *nl_box_mt;   /* NL_BOX's metatable (rt_checkudata) */

static struct nl_ep **nl_checkbox(lua_State *L, int i)
{
    return rt_checkudata(L, i, nl_box_mt, NL_BOX);
}

/* The endpoint in box i, which must be of `kind` and not closed by Lua. */
static struct nl_ep *nl_check(lua_State *L, int i, enum nl_kind kind)
{
    struct nl_ep *ep = *nl_checkbox(L, i);
    if (ep == NULL || ep->kind != kind)
        luaL_argerror(L, i, "closed or wrong kind of endpoint");
    return ep;
}

/* Push a new box for ep (which Lua had not seen) and its id. */
static void nl_push_box(lua_State *L, struct nl_ep *ep)
{
    struct nl_ep **box = lua_newuserdatauv(L, sizeof *box, 0);
    *box = NULL;
    luaL_setmetatable(L, NL_BOX);
    *box = ep;
    ep->box = 1;
    lua_pushinteger(L, ep->id);
}

/* The error text net.lua passes on (netapi: "reset", "closed", ...). */
static const char *nl_errtext(err_t err)
{
    switch (err) {
    case ERR_OK: return "closed";
    case ERR_RST: return "reset";
    case ERR_ABRT: return "aborted";
    case ERR_CLSD: return "closed";
    case ERR_MEM: return "out of memory";
    case ERR_USE: return "address in use";
    case ERR_RTE: return "unreachable";
    case ERR_TIMEOUT: return "timeout";
    case ERR_CONN: return "not connected";
    case ERR_RST_REFUSED: return "refused";
    default: return "network error";
    }
}

static int nl_fail(lua_State *L, err_t err)
{
    luaL_pushfail(L);
    lua_pushstring(L, nl_errtext(err));
    return 2;
}

/* The address nl_pushaddr pushed last, and its string, which the registry
 * holds at nl_addr_ref so that its characters stay where they are: a reply
 * usually goes to the sender of the datagram just read, and then pushing
 * and parsing that address again are a comparison. lunik_open_netcore
 * resets it. */
static ip4_addr_t nl_addr_last;
static const char *nl_addr_str;
static int nl_addr_ref = LUA_NOREF;

/* An IPv4 dotted quad at index i, or a Lua error. */
static ip4_addr_t nl_checkaddr(lua_State *L, int i)
{
    ip4_addr_t a;
    const char *s = luaL_checkstring(L, i);
    if (s == nl_addr_str)
        return nl_addr_last;
    if (!ip4addr_aton(s, &a))
        luaL_argerror(L, i, "IPv4 address expected (a.b.c.d)");
    return a;
}

static u16_t nl_checkport(lua_State *L, int i, int zero_ok)
{
    lua_Integer port = luaL_checkinteger(L, i);
    luaL_argcheck(L, port >= (zero_ok ? 0 : 1) && port <= 65535, i,
                  zero_ok ? "port must be 0..65535" : "port must be 1..65535");
    return (u16_t)port;
}

/* Push a as a dotted-quad string. */
static void nl_pushaddr(lua_State *L, const ip4_addr_t *a)
{
    char buf[IP4ADDR_STRLEN_MAX];

    if (nl_addr_str != NULL && ip4_addr_cmp(a, &nl_addr_last)) {
        lua_rawgeti(L, LUA_REGISTRYINDEX, nl_addr_ref);
        return;
    }
    const char *s = lua_pushstring(L, ip4addr_ntoa_r(a, buf, sizeof buf));
    lua_pushvalue(L, -1);
    lua_rawseti(L, LUA_REGISTRYINDEX, nl_addr_ref);
    nl_addr_str = s;                    /* only once the registry holds it */
    ip4_addr_copy(nl_addr_last, *a);
}

/* ------------------------------------------------- the Lua functions */

/* start() -> true | nil, "no network": lunik_net_start(). */
static int nl_start(lua_State *L)
{
    if (lunik_net_start() != 0) {
        luaL_pushfail(L);
        lua_pushliteral(L, "no network");
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* Mark the starved connections (nl_starved) if data to send may take
 * memory again: ACKs, closes and aborts free it. */
static void nl_wake_starved(void)
{
    if (nl_starved == NULL || lunik_net_mem_tx_room() == 0)
        return;
    while (nl_starved) {
        struct nl_ep *ep = nl_starved;
        nl_starved = ep->next_starved;
        ep->starved = 0;
        if (ep->box)
            nl_mark(ep);
        else
            nl_release(ep);
    }
}

/*
 * poll(frames) -> {id, ...} | nil: run lwIP on the waiting frames (when
 * frames is true) and its due timers, then return the ids of endpoints
 * with events (nil when none).
 */
static int nl_poll(lua_State *L)
{
    lunik_net_poll(lua_toboolean(L, 1));
    nl_wake_starved();
    if (nl_marked_head == NULL) {
        lua_pushnil(L);
        return 1;
    }
    lua_newtable(L);
    lua_Integer n = 0;
    while (nl_marked_head) {
        struct nl_ep *ep = nl_marked_head;
        nl_marked_head = ep->next_marked;
        ep->marked = 0;
        if (ep->box) {
            lua_pushinteger(L, ep->id);
            lua_rawseti(L, -2, ++n);
        } else {
            nl_release(ep);
        }
    }
    nl_marked_tail = NULL;
    return 1;
}

/* timeout() -> seconds until lwIP's next timer (nil: none). */
static int nl_timeout(lua_State *L)
{
    uint64_t ns = lunik_net_timeout_ns();
    if (nl_starved != NULL && lunik_net_mem_tx_room() > 0)
        ns = 0;                         /* poll now: nl_wake_starved */
    if (ns == UINT64_MAX)
        lua_pushnil(L);
    else
        lua_pushnumber(L, (lua_Number)ns / 1e9);
    return 1;
}

/* address() -> "a.b.c.d" | nil. */
static int nl_address(lua_State *L)
{
    ip4_addr_t a;
    ip4_addr_set_u32(&a, lunik_net_address());
    if (ip4_addr_isany_val(a))
        lua_pushnil(L);
    else
        nl_pushaddr(L, &a);
    return 1;
}

/* listen(port, backlog) -> box, id, port | nil, err. */
static int nl_listen(lua_State *L)
{
    u16_t port = nl_checkport(L, 1, 1);
    lua_Integer backlog = luaL_optinteger(L, 2, 128);
    luaL_argcheck(L, backlog >= 1 && backlog <= 0xff, 2,
                  "backlog must be 1..255");
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    if (pcb == NULL)
        return nl_fail(L, ERR_MEM);
    ip_set_option(pcb, SOF_REUSEADDR);
    err_t err = tcp_bind(pcb, IP4_ADDR_ANY, port);
    if (err != ERR_OK) {
        tcp_close(pcb);
        return nl_fail(L, err);
    }
    struct tcp_pcb *lpcb = tcp_listen_with_backlog_and_err(
        pcb, (u8_t)backlog, &err);
    if (lpcb == NULL) {
        tcp_close(pcb);
        return nl_fail(L, err);
    }
    struct nl_ep *ep = nl_new(NL_LISTENER);
    if (ep == NULL) {
        tcp_close(lpcb);
        return nl_fail(L, ERR_MEM);
    }
    ep->pcb.tcp = lpcb;
    ep->backlog = (int)backlog;
    tcp_arg(lpcb, ep);
    tcp_accept(lpcb, nl_on_accept);
    nl_push_box(L, ep);
    lua_pushinteger(L, lpcb->local_port);
    return 3;
}

/* accept(listener) -> box, id | nil: the oldest accepted connection. */
static int nl_accept(lua_State *L)
{
    struct nl_ep *l = nl_check(L, 1, NL_LISTENER);
    struct nl_ep *ep = l->accq_head;
    if (ep == NULL) {
        lua_pushnil(L);
        return 1;
    }
    l->accq_head = ep->accq_next;
    if (l->accq_head == NULL)
        l->accq_tail = NULL;
    l->accq_len--;
    ep->accq_next = NULL;
    nl_push_box(L, ep);
    return 2;
}

/* connect(ip, port) -> box, id | nil, err: start a connection; net.lua
 * waits for its event, then asks state(). */
static int nl_connect(lua_State *L)
{
    ip4_addr_t a = nl_checkaddr(L, 1);
    u16_t port = nl_checkport(L, 2, 0);
    struct tcp_pcb *pcb = tcp_new_ip_type(IPADDR_TYPE_V4);
    struct nl_ep *ep = nl_new(NL_CONN);
    if (pcb == NULL || ep == NULL) {
        if (pcb)
            tcp_abort(pcb);
        free(ep);
        return nl_fail(L, ERR_MEM);
    }
    nl_attach_conn(ep, pcb);
    ip_addr_t dst;
    ip_addr_copy_from_ip4(dst, a);
    err_t err = tcp_connect(pcb, &dst, port, nl_on_connected);
    if (err != ERR_OK) {
        nl_detach_tcp(pcb);
        tcp_abort(pcb);
        ep->pcb.tcp = NULL;
        nl_release(ep);
        return nl_fail(L, err);
    }
    nl_push_box(L, ep);
    return 2;
}

/*
 * state(conn) -> "connecting" | "open" | nil, err: whether a connection
 * is established, still in its handshake, or gone (err as nl_errtext).
 */
static int nl_state(lua_State *L)
{
    struct nl_ep *ep = nl_check(L, 1, NL_CONN);
    if (ep->pcb.tcp == NULL) {
        if (ep->connected && ep->err == ERR_OK)
            lua_pushliteral(L, "open");
        else
            return nl_fail(L, ep->connected || ep->err != ERR_RST
                              ? ep->err : ERR_RST_REFUSED);
        return 1;
    }
    lua_pushstring(L, ep->connected ? "open" : "connecting");
    return 1;
}

/* Acknowledge n consumed bytes to the peer, re-opening the window. */
static void nl_consumed(struct nl_ep *ep, size_t n)
{
    while (n > 0 && ep->pcb.tcp) {
        u16_t k = n > 0xffff ? 0xffff : (u16_t)n;
        tcp_recved(ep->pcb.tcp, k);
        n -= k;
    }
}

/* Drop the first n bytes of ep->rx (n <= what it holds), freeing the
 * pbufs they emptied (lwIP pbuf_free_header), then move queued bytes
 * into ep->rx while they fit: whole chains, then single pbufs off the
 * head of the next, so that ep->rx is never short of 64 KiB by more than
 * one pbuf (a frame) while bytes wait behind it. */
static void nl_rx_drop(struct nl_ep *ep, size_t n)
{
    if (ep->rx)
        ep->rx = pbuf_free_header(ep->rx, (u16_t)n);
    while (ep->rxq_len > 0) {
        struct pbuf *q = ep->rxq[ep->rxq_head];
        if (ep->rx == NULL) {
            ep->rx = q;
        } else if (nl_fits(ep->rx, q)) {
            pbuf_cat(ep->rx, q);
        } else if ((u32_t)ep->rx->tot_len + q->len <= 0xffff) {
            /* Take q's first pbuf (a chain made by pbuf_cat holds one
             * reference to each: unlinking moves it, no ref change);
             * the rest's tot_len already counts the rest alone. */
            ep->rxq[ep->rxq_head] = q->next;
            q->next = NULL;
            q->tot_len = q->len;
            pbuf_cat(ep->rx, q);
            continue;
        } else {
            break;
        }
        ep->rxq_head = (ep->rxq_head + 1) % NL_RXQ;
        ep->rxq_len--;
    }
}

/* Bytes in ep->rx: what one read can take now (the queue waits). */
static size_t nl_rx_len(const struct nl_ep *ep)
{
    return ep->rx ? ep->rx->tot_len : 0;
}

/* Why ep's received stream has ended (FIN: ERR_CLSD; or the error that
 * took its PCB), or ERR_OK while more can come. */
static err_t nl_rx_ended(const struct nl_ep *ep)
{
    if (ep->fin || ep->pcb.tcp == NULL)
        return ep->fin || ep->err == ERR_OK ? ERR_CLSD : ep->err;
    return ERR_OK;
}

/* No data: "" while more can come; nil, err at the end of the stream. */
static int nl_rx_empty(lua_State *L, struct nl_ep *ep)
{
    err_t end = nl_rx_ended(ep);
    if (end != ERR_OK)
        return nl_fail(L, end);
    lua_pushliteral(L, "");
    return 1;
}

/*
 * recv(conn, n) -> string of 1..n bytes | "" (nothing yet) | nil, err
 * ("closed" after FIN, "reset", ...): as recv(2) without blocking.
 */
static int nl_recv(lua_State *L)
{
    struct nl_ep *ep = nl_check(L, 1, NL_CONN);
    lua_Integer want = luaL_checkinteger(L, 2);
    luaL_argcheck(L, want >= 1, 2, "byte count must be >= 1");
    size_t have = nl_rx_len(ep);
    if (have == 0)
        return nl_rx_empty(L, ep);
    size_t n = have < (size_t)want ? have : (size_t)want;
    /* One copy into the string: straight from the first pbuf when it
     * holds all n bytes, else through a static buffer (a chain holds at
     * most 64 KiB - 1: pbuf tot_len), not through a luaL_Buffer, whose
     * box is a second large block per read. */
    static char flat[0xffff];
    if (ep->rx->len >= n) {
        lua_pushlstring(L, ep->rx->payload, n);
    } else {
        pbuf_copy_partial(ep->rx, flat, (u16_t)n, 0);
        lua_pushlstring(L, flat, n);
    }
    nl_rx_drop(ep, n);
    nl_consumed(ep, n);
    return 1;
}

/*
 * recv_line(conn, max) -> line | false (no full line yet) | nil, err,
 * partial: the next line without "\n" (and a "\r" before it); err is
 * "too long" when max bytes arrive without "\n", or when ep->rx (the
 * bytes a line is searched in: 64 KiB - 1 at most, one pbuf chain, and
 * never less than that minus one frame while more waits) or the receive
 * window fills without one, or the end of stream (then partial holds
 * what remained, possibly "").
 */
static int nl_recv_line(lua_State *L)
{
    struct nl_ep *ep = nl_check(L, 1, NL_CONN);
    lua_Integer max = luaL_checkinteger(L, 2);
    size_t have = nl_rx_len(ep);
    u16_t at = have ? pbuf_memfind(ep->rx, "\n", 1, 0) : 0xffff;
    if (have == 0 || at == 0xffff) {
        /* A full chain or a receive window used up without "\n" is too
         * long as well: the line cannot be found, or the peer can send
         * no more until something is read. */
        if (have >= (size_t)max || ep->rxq_len > 0 ||
            (ep->pcb.tcp && ep->pcb.tcp->rcv_ann_wnd == 0)) {
            luaL_pushfail(L);
            lua_pushliteral(L, "too long");
            return 2;
        }
        if (ep->fin || ep->pcb.tcp == NULL) {
            int r = nl_fail(L, ep->fin || ep->err == ERR_OK ? ERR_CLSD
                                                            : ep->err);
            luaL_Buffer b;
            char *dst = luaL_buffinitsize(L, &b, have);
            if (have)
                pbuf_copy_partial(ep->rx, dst, (u16_t)have, 0);
            luaL_pushresultsize(&b, have);
            nl_rx_drop(ep, have);
            return r + 1;
        }
        lua_pushboolean(L, 0);
        return 1;
    }
    size_t len = at;                        /* bytes before "\n" */
    if (len >= (size_t)max) {
        luaL_pushfail(L);
        lua_pushliteral(L, "too long");
        return 2;
    }
    size_t keep = len;
    if (keep > 0 && pbuf_get_at(ep->rx, (u16_t)(at - 1)) == '\r')
        keep--;
    luaL_Buffer b;
    char *dst = luaL_buffinitsize(L, &b, keep);
    if (keep)
        pbuf_copy_partial(ep->rx, dst, (u16_t)keep, 0);
    luaL_pushresultsize(&b, keep);
    nl_rx_drop(ep, len + 1);
    nl_consumed(ep, len + 1);
    return 1;
}

/* Queue as many of the len bytes at p as the send buffer takes
 * (tcp_write with TCP_WRITE_FLAG_COPY, at most 64 KiB - 1 per call, as
 * many calls as there is room), then, with push, send them (tcp_output).
 * What they take of lwIP's heap counts as data to send (net.h); when
 * that has no room left, ep waits in nl_starved.
 * -> bytes queued | -1 with *err (the connection is closed or failed). */
static long nl_tx(struct nl_ep *ep, const char *p, size_t len, int push,
                  err_t *err)
{
    if (ep->pcb.tcp == NULL || ep->closed || ep->wr_shut) {
        *err = ep->err == ERR_OK ? ERR_CLSD : ep->err;
        return -1;
    }
    struct tcp_pcb *pcb = ep->pcb.tcp;
    size_t done = 0;
    err_t e = ERR_OK;
    enum lunik_net_mem_use was = lunik_net_mem_for(LUNIK_NET_MEM_TX);
    for (;;) {
        size_t room = tcp_sndbuf(pcb), mem = lunik_net_mem_tx_room();
        size_t n = len - done;
        if (n > room)
            n = room;
        if (n > mem)
            n = mem;
        if (n > 0xffff)
            n = 0xffff;
        while (n > 0) {
            e = tcp_write(pcb, p + done, (u16_t)n,
                          TCP_WRITE_FLAG_COPY |
                          (push ? 0 : TCP_WRITE_FLAG_MORE));
            if (e != ERR_MEM)
                break;
            n /= 2;                         /* queue length limit */
        }
        if (e != ERR_OK && e != ERR_MEM)
            break;
        if (n == 0)
            break;
        done += n;
    }
    lunik_net_mem_for(was);
    if (e != ERR_OK && e != ERR_MEM) {
        *err = e;
        return -1;
    }
    if (done < len && !ep->starved && lunik_net_mem_tx_room() == 0) {
        ep->starved = 1;
        ep->next_starved = nl_starved;
        nl_starved = ep;
    }
    if (push)
        tcp_output(pcb);
    return (long)done;
}

/*
 * send(conn, s, i) -> k | nil, err: queue bytes i.. (1-based) of s in
 * the send buffer, as many as fit (k >= 0 of them), and push them out
 * (tcp_write with TCP_WRITE_FLAG_COPY, then tcp_output).
 */
static int nl_send(lua_State *L)
{
    struct nl_ep *ep = nl_check(L, 1, NL_CONN);
    size_t len;
    const char *s = luaL_checklstring(L, 2, &len);
    lua_Integer i = luaL_optinteger(L, 3, 1);
    luaL_argcheck(L, i >= 1 && (size_t)i <= len + 1, 3, "out of range");
    err_t err;
    long n = nl_tx(ep, s + i - 1, len - (size_t)(i - 1), 1, &err);
    if (n < 0)
        return nl_fail(L, err);
    lua_pushinteger(L, (lua_Integer)n);
    return 1;
}

/* Close ep's PCB gracefully (FIN after queued data), or abort. A
 * listening PCB takes no data callbacks (lwIP asserts on them): it only
 * loses its accept callback, and tcp_close frees it at once. */
static void nl_close_pcb(struct nl_ep *ep, int abort)
{
    struct tcp_pcb *pcb = ep->pcb.tcp;
    if (pcb == NULL)
        return;
    ep->pcb.tcp = NULL;
    if (ep->kind == NL_LISTENER) {
        tcp_arg(pcb, NULL);
        tcp_accept(pcb, NULL);
        tcp_close(pcb);
        return;
    }
    nl_detach_tcp(pcb);
    if (abort || tcp_close(pcb) != ERR_OK)
        tcp_abort(pcb);
}

/* Let go of a listener's accepted connections Lua never took. */
static void nl_drop_accq(struct nl_ep *l)
{
    while (l->accq_head) {
        struct nl_ep *ep = l->accq_head;
        l->accq_head = ep->accq_next;
        nl_close_pcb(ep, 1);
        nl_release(ep);
    }
    l->accq_tail = NULL;
    l->accq_len = 0;
}

/*
 * close(box [, abort]) -> true: close the endpoint (TCP: FIN after queued
 * data, or RST when abort is true; unread data is discarded). Idempotent.
 */
static int nl_close(lua_State *L)
{
    struct nl_ep **box = nl_checkbox(L, 1);
    struct nl_ep *ep = *box;
    int abort = lua_toboolean(L, 2);
    if (ep == NULL) {
        lua_pushboolean(L, 1);
        return 1;
    }
    *box = NULL;
    ep->box = 0;
    ep->closed = 1;
    if (ep->kind == NL_UDP) {
        if (ep->pcb.udp)
            udp_remove(ep->pcb.udp);
        ep->pcb.udp = NULL;
    } else {
        if (ep->kind == NL_LISTENER)
            nl_drop_accq(ep);
        /* Data the peer sent and nobody read: an abort would be
         * RFC 1122 4.2.2.13; a plain close is friendlier to clients
         * that pipeline, and lwIP discards it. */
        nl_close_pcb(ep, abort);
    }
    nl_free_rx(ep);
    nl_release(ep);
    lua_pushboolean(L, 1);
    return 1;
}

/*
 * shutdown(conn) -> true | nil, err: half-close, as shutdown(2) with
 * SHUT_WR: FIN after the data already written (RFC 9293 3.6); reading
 * goes on until the peer's FIN. Writing afterwards fails with "closed".
 */
static int nl_shutdown(lua_State *L)
{
    struct nl_ep *ep = nl_check(L, 1, NL_CONN);
    if (ep->pcb.tcp == NULL || ep->closed)
        return nl_fail(L, ep->err == ERR_OK ? ERR_CLSD : ep->err);
    err_t err = tcp_shutdown(ep->pcb.tcp, 0, 1);
    if (err != ERR_OK)
        return nl_fail(L, err);
    tcp_output(ep->pcb.tcp);
    ep->wr_shut = 1;
    lua_pushboolean(L, 1);
    return 1;
}

/* The next hops of recent UDP sends: a datagram to a hop whose MAC lwIP
 * has not resolved yet waits in its ARP queue (RFC 826), and drain()
 * waits for it. */
#define NL_HOPS 8
static ip4_addr_t nl_hops[NL_HOPS];
static int nl_nhops, nl_hop_next;

static void nl_note_hop(const ip4_addr_t *dst)
{
    struct netif *nif = ip4_route(dst);
    ip4_addr_t hop = *dst;

    if (nif == NULL)
        return;
    if (!ip4_addr_netcmp(dst, netif_ip4_addr(nif), netif_ip4_netmask(nif)))
        hop = *netif_ip4_gw(nif);
    for (int i = 0; i < nl_nhops; i++)
        if (ip4_addr_cmp(&nl_hops[i], &hop))
            return;
    nl_hops[nl_hop_next] = hop;
    nl_hop_next = (nl_hop_next + 1) % NL_HOPS;
    if (nl_nhops < NL_HOPS)
        nl_nhops++;
}

/* Is a recent UDP hop still waiting for its ARP answer? */
static int nl_hops_pending(void)
{
    for (int i = 0; i < nl_nhops; i++) {
        struct eth_addr *eth;
        const ip4_addr_t *ip;
        struct netif *nif = ip4_route(&nl_hops[i]);
        if (nif && etharp_find_addr(nif, &nl_hops[i], &eth, &ip) < 0)
            return 1;
    }
    return 0;
}

/* Does lwIP still owe the peer something on pcb: data not sent or not
 * acknowledged, or a FIN not acknowledged? */
static int nl_tcp_owes(const struct tcp_pcb *pcb)
{
    return pcb->unsent != NULL || pcb->unacked != NULL ||
           pcb->state == SYN_SENT || pcb->state == FIN_WAIT_1 ||
           pcb->state == CLOSING || pcb->state == LAST_ACK;
}

/*
 * drain() -> pending: the program is ending (lunik.exit or its natural
 * end). Every open connection is closed gracefully (FIN after what was
 * written; its box stays valid and closes as a no-op), then the result
 * says whether any TCP connection still has data or a FIN the peer has
 * not acknowledged, or a UDP datagram waits for its next hop's ARP answer.
 * The caller polls the stack until nothing is pending, within its linger
 * time.
 */
static int nl_drain(lua_State *L)
{
    int pending = 0;
    struct tcp_pcb *pcb = tcp_active_pcbs, *next;

    for (; pcb != NULL; pcb = next) {
        next = pcb->next;                   /* tcp_close may free it */
        struct nl_ep *ep = pcb->callback_arg;
        if (ep != NULL && ep->kind == NL_CONN && ep->pcb.tcp == pcb &&
            (pcb->state == ESTABLISHED || pcb->state == CLOSE_WAIT))
            nl_close_pcb(ep, 0);
    }
    for (pcb = tcp_active_pcbs; pcb != NULL; pcb = pcb->next)
        pending |= nl_tcp_owes(pcb);
    pending |= nl_hops_pending();
    lua_pushboolean(L, pending);
    return 1;
}

/* peer(conn) -> ip, port | nil, err. */
static int nl_peer(lua_State *L)
{
    struct nl_ep *ep = nl_check(L, 1, NL_CONN);
    if (ep->pcb.tcp == NULL)
        return nl_fail(L, ep->err == ERR_OK ? ERR_CLSD : ep->err);
    nl_pushaddr(L, ip_2_ip4(&ep->pcb.tcp->remote_ip));
    lua_pushinteger(L, ep->pcb.tcp->remote_port);
    return 2;
}

/* udp_bind(port) -> box, id, port | nil, err. */
static int nl_udp_bind(lua_State *L)
{
    u16_t port = nl_checkport(L, 1, 1);
    struct udp_pcb *pcb = udp_new_ip_type(IPADDR_TYPE_V4);
    struct nl_ep *ep = nl_new(NL_UDP);
    struct nl_dgram *dq = calloc(NL_UDP_QUEUE, sizeof *dq);
    if (pcb == NULL || ep == NULL || dq == NULL) {
        if (pcb)
            udp_remove(pcb);
        free(ep);
        free(dq);
        return nl_fail(L, ERR_MEM);
    }
    err_t err = udp_bind(pcb, IP4_ADDR_ANY, port);
    if (err != ERR_OK) {
        udp_remove(pcb);
        free(ep);
        free(dq);
        return nl_fail(L, err);
    }
    ep->pcb.udp = pcb;
    ep->dq = dq;
    udp_recv(pcb, nl_on_udp, ep);
    nl_push_box(L, ep);
    lua_pushinteger(L, pcb->local_port);
    return 3;
}

/* udp_recv(sock) -> data, ip, port | nil: the oldest queued datagram. */
static int nl_udp_recv(lua_State *L)
{
    struct nl_ep *ep = nl_check(L, 1, NL_UDP);
    if (ep->dq_len == 0) {
        lua_pushnil(L);
        return 1;
    }
    /* Taken off the ring only once pushed: a Lua error (no memory) on
     * the way leaves it queued, not leaked. */
    struct nl_dgram *d = &ep->dq[ep->dq_head];
    if (d->p->len == d->p->tot_len) {       /* one pbuf: the usual case */
        lua_pushlstring(L, d->p->payload, d->p->len);
    } else {
        luaL_Buffer b;
        char *dst = luaL_buffinitsize(L, &b, d->p->tot_len);
        pbuf_copy_partial(d->p, dst, d->p->tot_len, 0);
        luaL_pushresultsize(&b, d->p->tot_len);
    }
    nl_pushaddr(L, &d->addr);
    lua_pushinteger(L, d->port);
    pbuf_free(d->p);
    ep->dq_head = (ep->dq_head + 1) % NL_UDP_QUEUE;
    ep->dq_len--;
    return 3;
}

/* sock:sendto(data, ip, port) -> true | nil, err: net.lua's Udp:sendto
 * itself (sock: the Udp object, whose .box is nil once closed): send data
 * (a string of at most 65507 bytes) as one datagram to ip:port (a dotted
 * quad, 1..65535), as udp_sendto (lwIP) does; never waits. Bad arguments
 * are Lua errors, counted as a method's (data is #1); "closed" once the
 * socket is closed, lwIP's reason when it refuses (no route, no memory). */
static int nl_udp_sendto(lua_State *L)
{
    size_t len;
    if (lua_type(L, 2) != LUA_TSTRING)      /* before lua_tolstring, which */
        luaL_typeerror(L, 2, "string");     /* would turn a number into one */
    const char *s = lua_tolstring(L, 2, &len);
    if (lua_type(L, 3) != LUA_TSTRING)
        luaL_argerror(L, 3, "IPv4 address string expected");
    ip4_addr_t a = nl_checkaddr(L, 3);
    lua_Integer port = lua_tointeger(L, 4);
    luaL_argcheck(L, lua_isinteger(L, 4) && port >= 1 && port <= 65535, 4,
                  "port 1..65535 expected");
    luaL_argcheck(L, len <= 65507, 2, "datagram longer than 65507 bytes");
    luaL_checktype(L, 1, LUA_TTABLE);
    if (lua_getfield(L, 1, "box") == LUA_TNIL) {
        luaL_pushfail(L);
        lua_pushliteral(L, "closed");
        return 2;
    }
    struct nl_ep *ep = nl_check(L, -1, NL_UDP);
    struct pbuf *p = pbuf_alloc(PBUF_TRANSPORT, (u16_t)len, PBUF_RAM);
    if (p == NULL)
        return nl_fail(L, ERR_MEM);
    memcpy(p->payload, s, len);
    ip_addr_t dst;
    ip_addr_copy_from_ip4(dst, a);
    err_t err = udp_sendto(ep->pcb.udp, p, &dst, (u16_t)port);
    pbuf_free(p);
    if (err != ERR_OK)
        return nl_fail(L, err);
    nl_note_hop(&a);
    lua_pushboolean(L, 1);
    return 1;
}

/* __gc of a box: Lua dropped an endpoint it never closed: abort it. */
static int nl_gc(lua_State *L)
{
    struct nl_ep **box = nl_checkbox(L, 1);
    if (*box) {
        lua_settop(L, 1);
        lua_pushboolean(L, 1);
        nl_close(L);
    }
    return 0;
}

/* ------------------------------------------- lunik_net_stream (C) */

/* The connection in box idx, or NULL when Lua has closed the box. */
static struct nl_ep *nl_stream_ep(lua_State *L, int idx)
{
    struct nl_ep *ep = *nl_checkbox(L, idx);
    if (ep != NULL && ep->kind != NL_CONN)
        luaL_argerror(L, idx, "not a TCP connection");
    return ep;
}

static size_t nl_stream_read(lua_State *L, int idx, char *dst, size_t max,
                             const char **err)
{
    struct nl_ep *ep = nl_stream_ep(L, idx);
    size_t have, n;

    *err = NULL;
    if (ep == NULL) {
        *err = nl_errtext(ERR_CLSD);
        return 0;
    }
    have = nl_rx_len(ep);
    if (have == 0) {
        err_t end = nl_rx_ended(ep);
        if (end != ERR_OK)
            *err = nl_errtext(end);
        return 0;
    }
    n = have < max ? have : max;
    pbuf_copy_partial(ep->rx, dst, (u16_t)n, 0);
    nl_rx_drop(ep, n);
    nl_consumed(ep, n);
    return n;
}

static long nl_stream_write(lua_State *L, int idx, const char *p, size_t n,
                            int push, const char **err)
{
    struct nl_ep *ep = nl_stream_ep(L, idx);
    err_t e = ERR_CLSD;
    long k = ep ? nl_tx(ep, p, n, push, &e) : -1;

    if (k < 0)
        *err = nl_errtext(e);
    return k;
}

const struct lunik_net_stream lunik_net_stream = {
    nl_stream_read,
    nl_stream_write,
};

static const luaL_Reg nl_funcs[] = {
    { "start", nl_start },
    { "poll", nl_poll },
    { "timeout", nl_timeout },
    { "address", nl_address },
    { "listen", nl_listen },
    { "accept", nl_accept },
    { "connect", nl_connect },
    { "state", nl_state },
    { "recv", nl_recv },
    { "recv_line", nl_recv_line },
    { "send", nl_send },
    { "close", nl_close },
    { "peer", nl_peer },
    { "shutdown", nl_shutdown },
    { "drain", nl_drain },
    { "udp_bind", nl_udp_bind },
    { "udp_recv", nl_udp_recv },
    { "udp_sendto", nl_udp_sendto },
    { NULL, NULL },
};

int lunik_open_netcore(lua_State *L)
{
    luaL_newmetatable(L, NL_BOX);
    nl_box_mt = lua_topointer(L, -1);
    lua_pushliteral(L, "");
    nl_addr_ref = luaL_ref(L, LUA_REGISTRYINDEX);
    nl_addr_str = NULL;
    lua_pushcfunction(L, nl_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushliteral(L, "lunik.net endpoint");
    lua_setfield(L, -2, "__name");
    lua_pop(L, 1);
    luaL_newlib(L, nl_funcs);
    return 1;
}
