/* httprender.c: lunik.http's responses: status line, header fields and body framing written in C. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lauxlib.h"
#include "lua.h"

#include "httpcore.h"
#include "netlib.h"

/* render: bodies above this many bytes go out as a second write, not
 * copied. reply: bodies above this many bytes are written from their
 * string, not copied into the head's buffer first. */
#define HR_INLINE_BODY 65536
#define HR_INLINE_REPLY 1024

/* Stack slots while composing: the handler's Content-Length digits, and
 * reply()'s connection box. */
#define HR_LENGTH_SLOT 8
#define HR_BOX_SLOT 7

/* The reason phrase of code (RFC 9110 15), or "" for codes it does not
 * name. */
static const char *hr_reason(int code)
{
    static const struct { int code; const char *text; } reasons[] = {
        { 100, "Continue" }, { 101, "Switching Protocols" },
        { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" },
        { 203, "Non-Authoritative Information" }, { 204, "No Content" },
        { 205, "Reset Content" }, { 206, "Partial Content" },
        { 300, "Multiple Choices" }, { 301, "Moved Permanently" },
        { 302, "Found" }, { 303, "See Other" }, { 304, "Not Modified" },
        { 307, "Temporary Redirect" }, { 308, "Permanent Redirect" },
        { 400, "Bad Request" }, { 401, "Unauthorized" },
        { 403, "Forbidden" }, { 404, "Not Found" },
        { 405, "Method Not Allowed" }, { 406, "Not Acceptable" },
        { 408, "Request Timeout" }, { 409, "Conflict" }, { 410, "Gone" },
        { 411, "Length Required" }, { 412, "Precondition Failed" },
        { 413, "Content Too Large" }, { 414, "URI Too Long" },
        { 415, "Unsupported Media Type" }, { 416, "Range Not Satisfiable" },
        { 417, "Expectation Failed" }, { 422, "Unprocessable Content" },
        { 426, "Upgrade Required" }, { 429, "Too Many Requests" },
        { 431, "Request Header Fields Too Large" },
        { 500, "Internal Server Error" }, { 501, "Not Implemented" },
        { 502, "Bad Gateway" }, { 503, "Service Unavailable" },
        { 504, "Gateway Timeout" }, { 505, "HTTP Version Not Supported" },
    };
    for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
        if (reasons[i].code == code)
            return reasons[i].text;
    return "";
}

/* "Date: <IMF-fixdate>\r\n" (RFC 9110 5.6.7, 6.6.1) for now, made once a
 * second. */
static const char *hr_date_line(void)
{
    static time_t made = (time_t)-1;
    static char line[64];
    time_t t = time(NULL);

    if (t != made) {
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(line, sizeof line, "Date: %a, %d %b %Y %H:%M:%S GMT\r\n",
                 &tm);
        made = t;
    }
    return line;
}

/* Write v in decimal at tmp (room for 21 bytes: a sign and 20 digits,
 * no NUL; snprintf costs ten times more here). -> the byte count. */
static size_t hr_decimal(char *tmp, lua_Integer v)
{
    char d[24];
    size_t n = 0, k = 0;
    lua_Unsigned u = v < 0 ? 0u - (lua_Unsigned)v : (lua_Unsigned)v;

    do {
        d[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[k++] = '-';
    while (n)
        tmp[k++] = d[--n];
    return k;
}

/* 1 when s[0..n) is one or more decimal digits. s need not end in NUL
 * (hr_value_text writes numbers to a buffer without one). */
static int hr_digits(const char *s, size_t n)
{
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
    }
    return 1;
}

/* The value at idx as field text, pushing nothing where it can: a string
 * as is, an integer (or an integral float) in decimal written to tmp,
 * another number as tostring does (pushed: *pushed = 1, the caller pops
 * it). -> its bytes | NULL (pushes nothing) when it is no string or
 * number or holds a control character. */
static const char *hr_value_text(lua_State *L, int idx, char tmp[32],
                                 size_t *n, int *pushed)
{
    const char *s;

    *pushed = 0;
    if (lua_type(L, idx) == LUA_TSTRING) {
        s = lua_tolstring(L, idx, n);
    } else if (lua_type(L, idx) == LUA_TNUMBER) {
        int exact;
        lua_Integer i = lua_tointegerx(L, idx, &exact);
        if (exact) {                    /* integers and integral floats */
            *n = hr_decimal(tmp, i);
            s = tmp;
        } else {
            s = luaL_tolstring(L, idx, n);
            *pushed = 1;
        }
    } else {
        return NULL;
    }
    if (!http_is_field_text(s, *n)) {
        if (*pushed)
            lua_pop(L, 1);
        *pushed = 0;
        return NULL;
    }
    return s;
}

/* What the server does with a handler's field (by lowercase name). */
enum hr_special { HR_PLAIN, HR_CONNECTION, HR_LENGTH, HR_TE, HR_DATE,
                  HR_SERVER };

static enum hr_special hr_special(const char *name, size_t n)
{
    switch (n) {                        /* by length first: most are none */
    case 4:
        return strncasecmp(name, "date", 4) == 0 ? HR_DATE : HR_PLAIN;
    case 6:
        return strncasecmp(name, "server", 6) == 0 ? HR_SERVER : HR_PLAIN;
    case 10:
        return strncasecmp(name, "connection", 10) == 0 ? HR_CONNECTION :
               HR_PLAIN;
    case 14:
        return strncasecmp(name, "content-length", 14) == 0 ? HR_LENGTH :
               HR_PLAIN;
    case 17:
        return strncasecmp(name, "transfer-encoding", 17) == 0 ? HR_TE :
               HR_PLAIN;
    default:
        return HR_PLAIN;
    }
}

/* State of one rendering. */
struct hr {
    int close, date, server;
    int head_length;            /* the handler gave Content-Length digits:
                                   the last of them at HR_LENGTH_SLOT */
    size_t bytes;               /* the field lines' size */
    char *out;                  /* NULL: measure; else write here */
    char *end;                  /* ... up to here */
};

/* One pass over the handler's fields (table at index 3): the first
 * (r->out NULL) checks them, notes what the server must know and adds up
 * the size of their "Name: value\r\n" lines; the second writes those lines
 * at r->out. -> NULL | a problem, written to `problem`. */
static const char *hr_fields(lua_State *L, struct hr *r, char *problem,
                             size_t size)
{
    lua_pushnil(L);
    while (lua_next(L, 3)) {
        /* stack: ... key, value */
        size_t nlen, n = 1;
        const char *name = lua_type(L, -2) == LUA_TSTRING ?
                           lua_tolstring(L, -2, &nlen) : NULL;
        if (!name || !http_is_token(name, nlen)) {
            snprintf(problem, size, "bad header name \"%s\"",
                     luaL_tolstring(L, -2, NULL));
            return problem;
        }
        enum hr_special kind = hr_special(name, nlen);
        int list = lua_istable(L, -1);
        if (list && (n = (size_t)luaL_len(L, -1)) == 0) {
            snprintf(problem, size, "bad value for header %s (empty list)",
                     name);
            return problem;
        }
        for (size_t i = 1; i <= n; i++) {
            char tmp[32];
            size_t vlen;
            int pushed;
            if (list)
                lua_geti(L, -1, (lua_Integer)i);
            const char *v = hr_value_text(L, -1, tmp, &vlen, &pushed);
            if (!v) {
                snprintf(problem, size, "bad value for header %s", name);
                return problem;
            }
            /* stack: ... key, value [, element] [, text] */
            int emit = 0;
            switch (kind) {
            case HR_CONNECTION:
                r->close = r->close || http_list_has(v, vlen, "close");
                break;
            case HR_LENGTH:
                if (!r->out && hr_digits(v, vlen)) {
                    lua_pushlstring(L, v, vlen);
                    lua_replace(L, HR_LENGTH_SLOT);
                    r->head_length = 1;
                }
                break;
            case HR_TE:                     /* framing is the server's */
                break;
            case HR_DATE:
                r->date = 0;
                emit = 1;
                break;
            case HR_SERVER:
                r->server = 0;
                emit = 1;
                break;
            case HR_PLAIN:
                emit = 1;
                break;
            }
            if (emit && r->out && (size_t)(r->end - r->out) < nlen + vlen + 4) {
                snprintf(problem, size, "header %s changed while the "
                         "response was written", name);
                return problem;         /* a metamethod's doing */
            }
            if (emit && r->out) {
                memcpy(r->out, name, nlen);
                memcpy(r->out + nlen, ": ", 2);
                memcpy(r->out + nlen + 2, v, vlen);
                memcpy(r->out + nlen + 2 + vlen, "\r\n", 2);
                r->out += nlen + vlen + 4;
            } else if (emit) {
                r->bytes += nlen + vlen + 4;
            }
            lua_pop(L, pushed + list);
        }
        lua_pop(L, 1);                      /* value; key stays for next */
    }
    return NULL;
}

/* Append n bytes at *out. */
static void hr_put(char **out, const char *s, size_t n)
{
    memcpy(*out, s, n);
    *out += n;
}

/* What hr_compose leaves for its caller. */
struct hr_done {
    const char *rest;           /* body bytes not in the buffer (or NULL) */
    size_t rest_n;
    int close;                  /* the connection must close after it */
};

/*
 * Compose the response that render() documents, from its arguments at
 * stack slots 1..6 (slot 7 is the caller's, HR_LENGTH_SLOT is scratch),
 * into b: the head, then the body when it is at most inline_max bytes;
 * a longer body is left in d->rest (it stays alive in slot 4).
 * -> 0 | 2 after pushing nil, problem (the handler's values are bad).
 */
static int hr_compose(lua_State *L, luaL_Buffer *b, size_t inline_max,
                      struct hr_done *d)
{
    struct hr r = { 0, 1, 1, 0, 0, NULL, NULL };
    char problem[256];
    const char *method = lua_tostring(L, 1);
    const char *body = "";
    size_t body_n = 0;
    lua_Integer code = 0;

    r.close = lua_toboolean(L, 5);
    if (lua_type(L, 2) == LUA_TNUMBER) {
        int exact;
        code = lua_tointegerx(L, 2, &exact);   /* integral floats too */
        if (!exact)
            code = 0;
    }
    if (code < 100 || code > 599) {
        if (lua_type(L, 2) == LUA_TSTRING)
            lua_pushfstring(L, "bad status \"%s\" (want an integer "
                            "100..599)", lua_tostring(L, 2));
        else
            lua_pushfstring(L, "bad status %s (want an integer 100..599)",
                            luaL_tolstring(L, 2, NULL));
        lua_pushnil(L);
        lua_insert(L, -2);
        return 2;
    }
    if (lua_type(L, 4) == LUA_TSTRING)
        body = lua_tolstring(L, 4, &body_n);
    else if (!lua_isnil(L, 4)) {
        lua_pushnil(L);
        lua_pushfstring(L, "bad body (want a string or nil, got %s)",
                        luaL_typename(L, 4));
        return 2;
    }
    if (!lua_isnil(L, 3) && !lua_istable(L, 3)) {
        lua_pushnil(L);
        lua_pushfstring(L, "bad headers (want a table, got %s)",
                        luaL_typename(L, 3));
        return 2;
    }
    if (lua_istable(L, 3)) {
        const char *bad = hr_fields(L, &r, problem, sizeof problem);
        if (bad) {
            lua_pushnil(L);
            lua_pushstring(L, bad);
            return 2;
        }
    }
    const char *reason = hr_reason((int)code);
    const char *date = r.date ? hr_date_line() : "";
    int bodyless = code < 200 || code == 204 || code == 304;
    int is_head = method && strcmp(method, "HEAD") == 0;
    int rest = 0;
    char len[32];
    size_t len_n = 0;
    const char *len_s = len;
    const char *conn = r.close ? "Connection: close\r\n\r\n" :
                       lua_toboolean(L, 6) ?
                       "Connection: keep-alive\r\n\r\n" : "\r\n";
    if (!bodyless) {
        if (is_head && body_n == 0 && r.head_length)
            len_s = lua_tolstring(L, HR_LENGTH_SLOT, &len_n);
        else
            len_n = hr_decimal(len, (lua_Integer)body_n);
        if (is_head)
            body_n = 0;
        rest = body_n > inline_max;
    }
    size_t total = 9 + 4 + strlen(reason) + 2 + r.bytes +
                   (r.server ? 15 : 0) + strlen(date) +
                   (bodyless ? 0 : 16 + len_n + 2) + strlen(conn) +
                   (!bodyless && !rest ? body_n : 0);
    char *start = luaL_buffinitsize(L, b, total);
    char *out = start;
    hr_put(&out, "HTTP/1.1 ", 9);
    out += hr_decimal(out, code);           /* 100..599: three digits */
    hr_put(&out, " ", 1);
    hr_put(&out, reason, strlen(reason));
    hr_put(&out, "\r\n", 2);
    if (lua_istable(L, 3) && r.bytes > 0) {
        struct hr w = r;
        w.out = out;
        w.end = out + r.bytes;
        const char *bad = hr_fields(L, &w, problem, sizeof problem);
        if (bad) {
            lua_pushnil(L);
            lua_pushstring(L, bad);
            return 2;
        }
        if (w.out != w.end) {           /* fewer bytes: a metamethod's */
            lua_pushnil(L);
            lua_pushliteral(L, "headers changed while the response was "
                            "written");
            return 2;
        }
        out = w.out;
    }
    if (r.server)
        hr_put(&out, "Server: lunik\r\n", 15);
    hr_put(&out, date, strlen(date));
    if (!bodyless) {
        hr_put(&out, "Content-Length: ", 16);
        hr_put(&out, len_s, len_n);
        hr_put(&out, "\r\n", 2);
    }
    hr_put(&out, conn, strlen(conn));
    if (!bodyless && !rest)
        hr_put(&out, body, body_n);
    luaL_addsize(b, (size_t)(out - start));
    d->rest = rest ? body : NULL;
    d->rest_n = rest ? body_n : 0;
    d->close = r.close;
    return 0;
}

/*
 * render(method, status, headers, body, close, keep_10)
 *   -> head, rest, close | nil, problem
 *
 * The bytes of the response to a `method` request (nil for a request we
 * could not read) from what a handler returned (http.serve documents
 * status, headers and body): the status line, the handler's fields, Server
 * and Date unless given, Content-Length, and Connection: close when
 * `close` or the handler's Connection field says close, else Connection:
 * keep-alive when `keep_10` (an HTTP/1.0 keep-alive, RFC 9112 9.3). No
 * body and no Content-Length for 1xx and 204, no body for 304 (RFC 9110
 * 8.6, 15); for HEAD the Content-Length a GET would get (or the handler's
 * when the body is empty) and no body. rest is a body over 64 KiB, sent
 * as a second write, or nil. problem: what is wrong with the handler's
 * values ("bad status 600 (want an integer 100..599)", ...).
 */
int lunik_http_render(lua_State *L)
{
    luaL_Buffer b;
    struct hr_done d;
    int r;

    lua_settop(L, HR_LENGTH_SLOT);
    if ((r = hr_compose(L, &b, HR_INLINE_BODY, &d)) != 0)
        return r;
    luaL_pushresult(&b);
    if (d.rest)
        lua_pushvalue(L, 4);
    else
        lua_pushnil(L);
    lua_pushboolean(L, d.close);
    return 3;
}

/*
 * reply(box, method, status, headers, body, close, keep_10)
 *   -> true, close | false, close, rest | false, close, nil, err
 *    | nil, problem
 *
 * render()'s response, written to the lunik.net connection in box
 * through the runtime's stream (no string is made for it): true when all
 * of it is queued and pushed out; rest, the part the send buffer had no
 * room for, to be written with conn:write (which waits for room); err
 * when the connection is closed or failed. problem as render's. Only
 * inside lunik.
 */
static int hr_reply(lua_State *L)
{
    const struct lunik_net_stream *io =
        lua_touserdata(L, lua_upvalueindex(1));
    luaL_Buffer b;
    struct hr_done d;
    const char *err = NULL;
    const char *head;
    size_t head_n;
    long k;
    int r;

    lua_settop(L, 7);
    lua_rotate(L, 1, -1);                   /* the box to HR_BOX_SLOT */
    lua_settop(L, HR_LENGTH_SLOT);
    if ((r = hr_compose(L, &b, HR_INLINE_REPLY, &d)) != 0)
        return r;
    head = luaL_buffaddr(&b);
    head_n = luaL_bufflen(&b);
    k = io->write(L, HR_BOX_SLOT, head, head_n, d.rest == NULL, &err);
    if (k >= 0 && d.rest) {                 /* the body, or just a push */
        int all_head = k == (long)head_n;
        long k2 = io->write(L, HR_BOX_SLOT, d.rest, all_head ? d.rest_n : 0,
                            1, &err);
        k = k2 < 0 ? -1 : k + k2;
    }
    lua_pushboolean(L, 0);
    lua_pushboolean(L, d.close);
    if (err) {
        lua_pushnil(L);
        lua_pushstring(L, err);
        return 4;
    }
    size_t sent = (size_t)k, all = head_n + d.rest_n;
    if (sent == all) {
        lua_pushboolean(L, 1);
        lua_replace(L, -3);
        return 2;
    }
    if (sent < head_n) {                    /* what is left, as one string */
        lua_pushlstring(L, head + sent, head_n - sent);
        if (d.rest) {
            lua_pushvalue(L, 4);
            lua_concat(L, 2);
        }
    } else {
        lua_pushlstring(L, d.rest + (sent - head_n), all - sent);
    }
    return 3;
}

void lunik_http_push_reply(lua_State *L, const struct lunik_net_stream *io)
{
    lua_pushlightuserdata(L, (void *)io);
    lua_pushcclosure(L, hr_reply, 1);
}
