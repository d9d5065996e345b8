/* httprender.c: lunik.http's responses: status line, header fields and body framing written in C. */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lauxlib.h"
#include "lua.h"

#include "httpcore.h"

/* Bodies above this many bytes go out as a second write, not copied. */
#define HR_INLINE_BODY 65536

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

/* Push the value at idx as field text: a string as is, an integer (or an
 * integral float) in decimal, another number as tostring does. -> its
 * bytes | NULL (pushes nothing) when it is no string or number or holds a
 * control character. */
static const char *hr_value_text(lua_State *L, int idx, size_t *n)
{
    const char *s;

    idx = lua_absindex(L, idx);
    if (lua_type(L, idx) == LUA_TSTRING) {
        lua_pushvalue(L, idx);
    } else if (lua_type(L, idx) == LUA_TNUMBER) {
        int exact;
        lua_Integer i = lua_tointegerx(L, idx, &exact);
        if (exact)                      /* integers and integral floats */
            lua_pushfstring(L, "%I", (LUAI_UACINT)i);
        else
            luaL_tolstring(L, idx, NULL);
    } else {
        return NULL;
    }
    s = lua_tolstring(L, -1, n);
    if (!http_is_field_text(s, *n)) {
        lua_pop(L, 1);
        return NULL;
    }
    return s;
}

/* What the server does with a handler's field (by lowercase name). */
enum hr_special { HR_PLAIN, HR_CONNECTION, HR_LENGTH, HR_TE, HR_DATE,
                  HR_SERVER };

static enum hr_special hr_special(const char *name, size_t n)
{
    static const struct { const char *name; enum hr_special kind; } s[] = {
        { "connection", HR_CONNECTION }, { "content-length", HR_LENGTH },
        { "transfer-encoding", HR_TE }, { "date", HR_DATE },
        { "server", HR_SERVER },
    };
    for (size_t i = 0; i < sizeof s / sizeof s[0]; i++)
        if (strlen(s[i].name) == n && strncasecmp(s[i].name, name, n) == 0)
            return s[i].kind;
    return HR_PLAIN;
}

/* State of one rendering. */
struct hr {
    int close, date, server;
    int head_length;            /* the handler gave Content-Length digits */
    lua_Integer nparts;         /* field lines collected */
};

/* Collect the handler's fields (table at index 3) as "Name: value\r\n"
 * strings in the table at index 7 (1..r->nparts; the handler's
 * Content-Length digits at key "length"). -> NULL | a problem, written to
 * `problem`. */
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
            size_t vlen;
            const char *v;
            if (list)
                lua_geti(L, -1, (lua_Integer)i);
            v = hr_value_text(L, -1, &vlen);
            if (list)
                lua_remove(L, v ? -2 : -1);
            if (!v) {
                snprintf(problem, size, "bad value for header %s", name);
                return problem;
            }
            /* stack: ... key, value, text */
            switch (kind) {
            case HR_CONNECTION:
                r->close = r->close || http_list_has(v, vlen, "close");
                lua_pop(L, 1);
                continue;
            case HR_LENGTH:
                if (vlen > 0 && strspn(v, "0123456789") == vlen) {
                    lua_setfield(L, 7, "length");
                    r->head_length = 1;
                } else {
                    lua_pop(L, 1);
                }
                continue;
            case HR_TE:                     /* framing is the server's */
                lua_pop(L, 1);
                continue;
            case HR_DATE:
                r->date = 0;
                break;
            case HR_SERVER:
                r->server = 0;
                break;
            case HR_PLAIN:
                break;
            }
            lua_pushlstring(L, name, nlen);
            lua_pushliteral(L, ": ");
            lua_rotate(L, -3, 2);           /* name, ": ", text */
            lua_pushliteral(L, "\r\n");
            lua_concat(L, 4);
            lua_rawseti(L, 7, ++r->nparts);
        }
        lua_pop(L, 1);                      /* value; key stays for next */
    }
    return NULL;
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
    struct hr r = { 0, 1, 1, 0, 0 };
    char problem[256];
    const char *method = lua_tostring(L, 1);
    const char *body = "";
    size_t body_n = 0;
    lua_Integer code = 0;
    luaL_Buffer b;

    lua_settop(L, 6);
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
    lua_newtable(L);                        /* 7: the field lines */
    if (lua_istable(L, 3)) {
        const char *bad = hr_fields(L, &r, problem, sizeof problem);
        if (bad) {
            lua_pushnil(L);
            lua_pushstring(L, bad);
            return 2;
        }
    }
    luaL_buffinit(L, &b);
    lua_pushfstring(L, "HTTP/1.1 %d %s\r\n", (int)code,
                    hr_reason((int)code));
    luaL_addvalue(&b);
    for (lua_Integer i = 1; i <= r.nparts; i++) {
        lua_rawgeti(L, 7, i);
        luaL_addvalue(&b);
    }
    if (r.server)
        luaL_addstring(&b, "Server: lunik\r\n");
    if (r.date)
        luaL_addstring(&b, hr_date_line());
    int bodyless = code < 200 || code == 204 || code == 304;
    int rest = 0;
    if (!bodyless) {
        char len[32];
        int is_head = method && strcmp(method, "HEAD") == 0;
        luaL_addstring(&b, "Content-Length: ");
        if (is_head && body_n == 0 && r.head_length) {
            lua_getfield(L, 7, "length");
            luaL_addvalue(&b);
        } else {
            snprintf(len, sizeof len, "%zu", body_n);
            luaL_addstring(&b, len);
        }
        luaL_addstring(&b, "\r\n");
        if (is_head)
            body_n = 0;
        rest = body_n > HR_INLINE_BODY;
    }
    if (r.close)
        luaL_addstring(&b, "Connection: close\r\n\r\n");
    else if (lua_toboolean(L, 6))
        luaL_addstring(&b, "Connection: keep-alive\r\n\r\n");
    else
        luaL_addstring(&b, "\r\n");
    if (!bodyless && !rest)
        luaL_addlstring(&b, body, body_n);
    luaL_pushresult(&b);
    if (rest)
        lua_pushvalue(L, 4);
    else
        lua_pushnil(L);
    lua_pushboolean(L, r.close);
    return 3;
}
