/* httpserve.c: lunik.http's connection loop in C: read, parse, run the handler, write its response, until the connection must close. */
#include <string.h>

#include "lauxlib.h"
#include "lua.h"

#include "httpcore.h"

/*
 * serve(conn, handler, opts, server, parser, box, id, lib) runs in the
 * connection's handler coroutine (runtime/http.lua's serve_conn calls it)
 * and returns when the connection must close; http.lua then closes it.
 * Every step that may wait (lunik.net's wait_io, conn:read, conn:write,
 * the handler itself) is a Lua call made with lua_callk or lua_pcallk and
 * continued in sv_run (Lua 5.4 manual 4.5, "Handling Yields in C"), so
 * the coroutine can yield there and the C loop goes on when it is
 * resumed. Its state lives in a userdata and in fixed stack slots, never
 * in C locals across a call.
 *
 * Two ways to move bytes, chosen by box:
 *   - box (a lunik.net connection's): parser:next(box) reads straight
 *     into the parser, lib.wait_io(id, deadline) waits for more, and
 *     lib.reply(box, ...) writes the response into the send buffer; only
 *     what does not fit goes through conn:write;
 *   - nil (any conn with lunik.net's methods: the unit tests' scripted
 *     ones): conn:read, parser:parse(data), lib.render and conn:write.
 *
 * lib holds the Lua helpers (runtime/http.lua): now, wait_io, reply,
 * render, traceback (the handler's message handler), count_handler,
 * failed (a handler that threw or returned no response) and bad (a
 * request that cannot be read: error reply, linger).
 */

/* Fixed stack slots while serve() runs. */
enum {
    SV_CONN = 1, SV_HANDLER, SV_OPTS, SV_SERVER, SV_PARSER, SV_BOX, SV_ID,
    SV_LIB,
    SV_STATE,       /* struct sv */
    SV_MSGH,        /* lib.traceback */
    SV_NOW,         /* lib.now */
    SV_WAIT,        /* lib.wait_io (box only) */
    SV_COUNT,       /* lib.count_handler */
    SV_FAILED,      /* lib.failed */
    SV_BAD,         /* lib.bad */
    SV_REPLY,       /* lib.reply (box only) */
    SV_RENDER,      /* lib.render */
    SV_READ,        /* conn.read */
    SV_WRITE,       /* conn.write */
    SV_PULL,        /* parser.next (box) or parser.parse */
    SV_PEER,        /* conn:peer() */
    SV_REQ,         /* the request being answered, or nil */
    SV_DATA,        /* bytes read for parse(), or nil */
    SV_TOP = SV_DATA
};

/* Where sv_run goes on: each names the call whose results it takes. */
enum sv_step {
    K_PULL,         /* parse what is buffered (nothing to take) */
    K_WAITED,       /* wait_io(id, due) -> woke */
    K_READ,         /* conn:read(n, timeout) -> data | nil, err */
    K_ENDED,        /* the input ended or timed out: err or nil on top */
    K_CONTINUED,    /* conn:write("100 Continue") -> ok */
    K_HANDLED,      /* handler(req) -> status, headers, body | error */
    K_FAILED,       /* failed(conn, opts, err, problem) -> status, ... */
    K_HEAD_SENT,    /* conn:write(head) -> ok (scripted conns) */
    K_REST_SENT,    /* conn:write(rest) -> ok */
    K_SENT,         /* the response is written whole */
    K_END           /* bad(...) or the end: return */
};

#define SV_READ_SIZE 16384      /* bytes asked of conn:read at a time */

/* The field names the loop reads and writes, kept as the serve closure's
 * upvalues: a key pushed from there is found without hashing a C string
 * (lua_getfield's luaS_new) each time. */
enum sv_key {
    KEY_NEXT = 1, KEY_HANDLER, KEY_LISTENER, KEY_REQUESTS, KEY_CLOSED,
    KEY_VERSION, KEY_METHOD, KEY_PEER, KEY_BOX, KEY_HTTP_10,
    SV_NKEYS = KEY_HTTP_10
};
static const char *const sv_keys[SV_NKEYS + 1] = {
    NULL, "next", "handler", "listener", "requests", "closed", "version",
    "method", "peer", "box", "HTTP/1.0"
};

/* Push t[key] (t: an absolute index); -> its type, as lua_getfield. */
static int sv_get(lua_State *L, int t, enum sv_key key)
{
    lua_pushvalue(L, lua_upvalueindex(key));
    return lua_gettable(L, t);
}

/* t[key] = the value on top, popped (t: an absolute index). */
static void sv_set(lua_State *L, int t, enum sv_key key)
{
    lua_pushvalue(L, lua_upvalueindex(key));
    lua_insert(L, -2);
    lua_settable(L, t);
}

struct sv {
    double read_timeout, idle_timeout, write_timeout;   /* s */
    double deadline;        /* now() at which a part-read request 408s */
    double idle;            /* now() at which an idle connection closes */
    int has_deadline, has_idle;
    int started;            /* "more": a request is part-read */
    int close;              /* the request's close flag, then the reply's */
    int keep_10;            /* the request was HTTP/1.0 */
    int fallback;           /* the response being written is failed()'s */
    int box;                /* SV_BOX holds a box: bytes move in C */
};

static int sv_run(lua_State *L, int status, lua_KContext ctx);

static double sv_opt(lua_State *L, const char *name)
{
    double v;

    lua_getfield(L, SV_OPTS, name);
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

/* now() in seconds (lib.now: lunik.now, or os.clock in a plain lua5.4). */
static double sv_now(lua_State *L)
{
    double t;

    lua_pushvalue(L, SV_NOW);
    lua_call(L, 0, 1);
    t = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return t;
}

/* After a reload the newest server's handler answers (http.lua's
 * listener.on_swap sets server.next). */
static void sv_follow_reload(lua_State *L)
{
    if (lua_isnil(L, SV_SERVER))
        return;
    for (;;) {
        sv_get(L, SV_SERVER, KEY_NEXT);
        if (!lua_toboolean(L, -1))
            break;
        lua_replace(L, SV_SERVER);
    }
    lua_pop(L, 1);
    sv_get(L, SV_SERVER, KEY_HANDLER);
    lua_replace(L, SV_HANDLER);
}

/* Call conn:write(s, write_timeout) with s on top. -> k, the step that
 * takes its result. Like every helper below, it returns the next step to
 * sv_run's loop instead of calling sv_run: the C stack stays flat however
 * many requests are answered without a yield (pipelining). */
static int sv_write(lua_State *L, struct sv *s, int k)
{
    lua_pushvalue(L, SV_WRITE);
    lua_insert(L, -2);
    lua_pushvalue(L, SV_CONN);
    lua_insert(L, -2);
    lua_pushnumber(L, s->write_timeout);
    lua_callk(L, 3, 1, k, sv_run);
    return k;
}

/* Answer with bad(conn, opts, status, pending), then end. -> K_END. */
static int sv_bad(lua_State *L, int status, int pending)
{
    lua_settop(L, SV_TOP);
    lua_pushvalue(L, SV_BAD);
    lua_pushvalue(L, SV_CONN);
    lua_pushvalue(L, SV_OPTS);
    lua_pushinteger(L, status);
    lua_pushboolean(L, pending);
    lua_callk(L, 4, 0, K_END, sv_run);
    return K_END;
}

/* Call failed(conn, opts, err, problem) with err and problem on top.
 * -> K_FAILED. */
static int sv_failed(lua_State *L)
{
    lua_pushvalue(L, SV_FAILED);
    lua_insert(L, -3);
    lua_pushvalue(L, SV_CONN);
    lua_insert(L, -3);
    lua_pushvalue(L, SV_OPTS);
    lua_insert(L, -3);
    lua_callk(L, 4, 3, K_FAILED, sv_run);
    return K_FAILED;
}

/*
 * Write the response whose status, headers and body are the three values
 * on top, for the request in SV_REQ: through reply() to the box, or
 * render() and conn:write. -> the next step: K_SENT, K_END (the
 * connection failed), or the step that takes the result of the call made
 * (conn:write, failed()).
 */
static int sv_respond(lua_State *L, struct sv *s)
{
    int top = lua_gettop(L);

    if (s->box) {
        lua_pushvalue(L, SV_REPLY);
        lua_pushvalue(L, SV_BOX);
    } else {
        lua_pushvalue(L, SV_RENDER);
    }
    sv_get(L, SV_REQ, KEY_METHOD);
    lua_pushvalue(L, top - 2);
    lua_pushvalue(L, top - 1);
    lua_pushvalue(L, top);
    lua_pushboolean(L, s->close);
    lua_pushboolean(L, s->keep_10);
    if (s->box) {
        /* -> true, close | false, close, rest | false, close, nil, err |
         *    nil, problem */
        lua_call(L, 7, 3);
        if (lua_isnil(L, -3))
            goto problem;
        s->close = lua_toboolean(L, -2);
        if (lua_toboolean(L, -3))
            return K_SENT;
        if (lua_isnil(L, -1))
            return K_END;                       /* the connection failed */
        lua_replace(L, top + 1);
        lua_settop(L, top + 1);
        return sv_write(L, s, K_REST_SENT);
    }
    /* -> head, rest, close | nil, problem */
    lua_call(L, 6, 3);
    if (lua_isnil(L, -3))
        goto problem;
    s->close = lua_toboolean(L, -1);
    lua_pop(L, 1);
    lua_copy(L, -1, SV_DATA);                   /* rest, kept meanwhile */
    lua_pop(L, 1);
    return sv_write(L, s, K_HEAD_SENT);
problem:
    /* nil, problem, nil on top (both reply and render) */
    if (s->fallback)
        return K_END;                           /* failed()'s own reply */
    lua_pushvalue(L, -2);
    lua_replace(L, top + 2);
    lua_pushnil(L);
    lua_replace(L, top + 1);
    lua_settop(L, top + 2);                     /* err = nil, problem */
    return sv_failed(L);
}

/*
 * The loop: take the results of the call named by k (status: lua_callk's
 * or lua_pcallk's), then do the next step. Every call that may yield has
 * this function as its continuation; when the call returns without
 * yielding, the loop goes on at the step it named. Nothing calls sv_run
 * but Lua (a continuation) and sv_serve, once.
 */
static int sv_run(lua_State *L, int status, lua_KContext ctx)
{
    struct sv *s = lua_touserdata(L, SV_STATE);
    int k = (int)ctx;

    for (;;) {
        switch (k) {
        case K_PULL:
            lua_settop(L, SV_TOP);
            lua_pushvalue(L, SV_PULL);
            lua_pushvalue(L, SV_PARSER);
            if (s->box) {
                lua_pushvalue(L, SV_BOX);
            } else {
                lua_pushvalue(L, SV_DATA);
                lua_pushnil(L);
                lua_replace(L, SV_DATA);
            }
            lua_call(L, 2, 3);
            if (lua_type(L, -3) == LUA_TSTRING) {
                const char *what = lua_tostring(L, -3);
                if (what[0] == 'c') {           /* "continue" */
                    lua_settop(L, SV_TOP);
                    lua_pushliteral(L, "HTTP/1.1 100 Continue\r\n\r\n");
                    k = sv_write(L, s, K_CONTINUED);
                    continue;
                }
                /* "more", started [, err] */
                s->started = lua_toboolean(L, -2);
                /* A request's read_timeout runs from when the parser
                 * first finds it part-read; idle_timeout from when the
                 * connection has nothing to do. */
                if (!s->started) {
                    s->has_deadline = 0;
                } else if (!s->has_deadline) {
                    s->deadline = sv_now(L) + s->read_timeout;
                    s->has_deadline = 1;
                }
                if (s->box) {
                    double due = s->deadline;
                    if (!lua_isnil(L, -1)) {    /* err: the input ended */
                        lua_replace(L, SV_TOP + 1);
                        lua_settop(L, SV_TOP + 1);
                        k = K_ENDED;            /* err on top: no wait */
                        continue;
                    }
                    if (!s->started) {
                        if (!s->has_idle) {
                            s->idle = sv_now(L) + s->idle_timeout;
                            s->has_idle = 1;
                        }
                        due = s->idle;
                    }
                    lua_settop(L, SV_TOP);
                    lua_pushvalue(L, SV_WAIT);
                    lua_pushvalue(L, SV_ID);
                    lua_pushnumber(L, due);
                    lua_callk(L, 2, 1, K_WAITED, sv_run);
                    k = K_WAITED;
                    continue;
                }
                double timeout = s->started ? s->deadline - sv_now(L)
                                            : s->idle_timeout;
                lua_settop(L, SV_TOP);
                if (timeout <= 0) {
                    lua_pushliteral(L, "timeout");
                    k = K_ENDED;
                    continue;
                }
                lua_pushvalue(L, SV_READ);
                lua_pushvalue(L, SV_CONN);
                lua_pushinteger(L, SV_READ_SIZE);
                lua_pushnumber(L, timeout);
                lua_callk(L, 3, 2, K_READ, sv_run);
                k = K_READ;
                continue;
            }
            if (lua_istable(L, -3)) {           /* req, close */
                s->close = lua_toboolean(L, -2);
                lua_pushvalue(L, -3);
                lua_replace(L, SV_REQ);
                lua_settop(L, SV_TOP);
                lua_pushvalue(L, SV_PEER);
                sv_set(L, SV_REQ, KEY_PEER);
                s->has_deadline = s->has_idle = 0;
                lua_pushvalue(L, SV_COUNT);
                lua_call(L, 0, 0);
                if (!lua_isnil(L, SV_SERVER)) {
                    sv_follow_reload(L);
                    sv_get(L, SV_SERVER, KEY_LISTENER);
                    sv_get(L, SV_TOP + 1, KEY_REQUESTS);
                    lua_pushinteger(L, lua_tointeger(L, -1) + 1);
                    sv_set(L, SV_TOP + 1, KEY_REQUESTS);
                    lua_settop(L, SV_TOP);
                }
                lua_pushvalue(L, SV_HANDLER);
                lua_pushvalue(L, SV_REQ);
                status = lua_pcallk(L, 1, 3, SV_MSGH, K_HANDLED, sv_run);
                k = K_HANDLED;
                continue;
            }
            /* nil, status, pending: a request that cannot be read */
            k = sv_bad(L, (int)lua_tointeger(L, -2), lua_toboolean(L, -1));
            continue;
        case K_WAITED: {                        /* -> woke */
            int woke = lua_toboolean(L, -1);
            lua_settop(L, SV_TOP);
            if (woke)
                lua_pushnil(L);
            else
                lua_pushliteral(L, "timeout");
        }
            /* fall through */
        case K_ENDED:                    /* err or nil on top */
            if (s->box) {
                sv_get(L, SV_CONN, KEY_BOX);        /* closed meanwhile */
                lua_replace(L, SV_BOX);
                s->box = !lua_isnil(L, SV_BOX);
                if (!s->box && lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    lua_pushliteral(L, "closed");
                }
            }
            if (lua_isnil(L, -1)) {
                k = K_PULL;
                continue;
            }
            if (s->started && strcmp(lua_tostring(L, -1), "timeout") == 0)
                k = sv_bad(L, 408, 0);
            else
                k = K_END;
            continue;
        case K_READ:                            /* -> data | nil, err */
            if (lua_isnil(L, -2)) {
                lua_remove(L, -2);
                if (lua_isnil(L, -1)) {
                    lua_pop(L, 1);
                    lua_pushliteral(L, "closed");
                }
                k = K_ENDED;
                continue;
            }
            lua_pop(L, 1);
            lua_replace(L, SV_DATA);
            k = K_PULL;
            continue;
        case K_CONTINUED:                       /* -> ok */
            k = lua_toboolean(L, -1) ? K_PULL : K_END;
            continue;
        case K_HANDLED:         /* -> status, headers, body | error */
            if (!lua_isnil(L, SV_SERVER)) {
                sv_get(L, SV_SERVER, KEY_CLOSED);
                if (lua_toboolean(L, -1))
                    s->close = 1;
                lua_pop(L, 1);
            }
            sv_get(L, SV_REQ, KEY_VERSION);
            s->keep_10 = lua_rawequal(L, -1, lua_upvalueindex(KEY_HTTP_10));
            lua_pop(L, 1);
            s->fallback = 0;
            if (status == LUA_OK || status == LUA_YIELD) {
                k = sv_respond(L, s);
            } else {
                lua_pushnil(L);                 /* err, problem = nil */
                k = sv_failed(L);
            }
            continue;
        case K_FAILED:          /* -> status, headers, body | nil */
            if (lua_isnil(L, -3)) {
                k = K_END;
                continue;
            }
            s->fallback = 1;
            k = sv_respond(L, s);
            continue;
        case K_HEAD_SENT:                       /* -> ok; rest in SV_DATA */
            if (!lua_toboolean(L, -1)) {
                k = K_END;
                continue;
            }
            lua_settop(L, SV_TOP);
            if (!lua_isnil(L, SV_DATA)) {
                lua_pushvalue(L, SV_DATA);
                lua_pushnil(L);
                lua_replace(L, SV_DATA);
                k = sv_write(L, s, K_REST_SENT);
                continue;
            }
            /* fall through */
        case K_SENT:                 /* written whole */
            lua_settop(L, SV_TOP);
            lua_pushboolean(L, 1);
            /* fall through */
        case K_REST_SENT:                       /* -> ok */
            if (!lua_toboolean(L, -1) || s->close) {
                k = K_END;
                continue;
            }
            lua_pushnil(L);
            lua_replace(L, SV_REQ);
            k = K_PULL;
            continue;
        case K_END:
        default:
            lua_settop(L, SV_TOP);
            return 0;
        }
    }
}

/*
 * serve(conn, handler, opts, server, parser, box, id, lib) -> nothing,
 * when the connection must close (the caller closes it). opts: http.serve's
 * checked options (read_timeout, idle_timeout, write_timeout in s);
 * server: the http.serve server (reload, close, its listener's request
 * count) or nil; parser: httpparse.c's parser for this connection; box,
 * id: the lunik.net connection's box and event id, or nil for a conn
 * served through its methods; lib: the Lua helpers named above. Errors
 * of the Lua calls it makes (out of memory, a budget stop outside the
 * handler) propagate.
 */
static int sv_serve(lua_State *L)
{
    static const char *const fields[] = {
        "traceback", "now", "wait_io", "count_handler", "failed", "bad",
        "reply", "render"
    };
    struct sv *s;

    luaL_checktype(L, SV_PARSER, LUA_TUSERDATA);
    luaL_checktype(L, SV_LIB, LUA_TTABLE);
    lua_settop(L, SV_LIB);
    s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    s->box = !lua_isnil(L, SV_BOX);
    s->read_timeout = sv_opt(L, "read_timeout");
    s->idle_timeout = sv_opt(L, "idle_timeout");
    s->write_timeout = sv_opt(L, "write_timeout");
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        lua_getfield(L, SV_LIB, fields[i]);     /* SV_MSGH .. SV_RENDER */
    lua_getfield(L, SV_CONN, "read");
    lua_getfield(L, SV_CONN, "write");
    lua_getfield(L, SV_PARSER, s->box ? "next" : "parse");
    lua_getfield(L, SV_CONN, "peer");
    lua_pushvalue(L, SV_CONN);
    lua_call(L, 1, 1);                          /* SV_PEER */
    lua_pushnil(L);                             /* SV_REQ */
    lua_pushnil(L);                             /* SV_DATA */
    return sv_run(L, LUA_OK, K_PULL);
}

void lunik_http_push_serve(lua_State *L)
{
    for (int i = 1; i <= SV_NKEYS; i++)
        lua_pushstring(L, sv_keys[i]);
    lua_pushcclosure(L, sv_serve, SV_NKEYS);
}
