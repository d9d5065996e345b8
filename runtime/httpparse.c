/* httpparse.c: lunik.http's request parser: llhttp over a connection's bytes, building each request table in C. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lauxlib.h"
#include "llhttp.h"
#include "lua.h"

#include "httpcore.h"
#include "netlib.h"
#include "udata.h"

/*
 * One parser per connection (a full userdata). The connection's bytes are
 * pushed in as they arrive; parse() runs llhttp (RFC 9112, its default
 * strictness, no lenient flags) over what is buffered and stops at the
 * first thing Lua must act on: a complete request, a request that wants
 * "100 Continue", an error status, or the end of the buffered bytes.
 *
 * Invariants:
 *   - in.p[in_off .. in.len) are received bytes llhttp has not seen yet;
 *     llhttp keeps no pointer into them between calls (it hands every
 *     open span to its callback before llhttp_execute returns);
 *   - uservalue 1 is the request table being built (nil between
 *     requests), uservalue 2 its headers, uservalue 3 its trailers; during
 *     parse() they sit at stack slots HP_REQ, HP_HEADERS, HP_TRAILERS;
 *   - status != 0 means the request failed with that HTTP status: parse()
 *     returns it and the connection must close;
 *   - busy is set while llhttp runs; a Lua error (out of memory) inside a
 *     callback leaves it set, and the parser refuses further use.
 */

#define HP_REQ      3       /* stack slots during parse() */
#define HP_HEADERS  4
#define HP_TRAILERS 5

/* A growable byte buffer with a hard limit. */
struct hp_buf {
    char *p;
    size_t len, cap;
};

enum hp_stop { HP_MORE, HP_HEADERS_DONE, HP_DONE, HP_FAILED };

struct hp {
    llhttp_t ll;
    lua_State *L;           /* the state parse() runs in */
    struct hp_limits lim;
    struct hp_buf in;       /* received bytes (see invariants) */
    size_t in_off;
    struct hp_buf url, field, value, body;
    size_t method_len;      /* request line: method bytes */
    size_t version_len;     /* ... bytes after "HTTP/" */
    size_t line_bytes;      /* a chunk-size line's extension bytes */
    uint64_t fed;           /* input bytes llhttp consumed before this run */
    uint64_t method_end;    /* input offset just past the method */
    const char *run_start;  /* the data of the llhttp_execute running */
    char prev_last;         /* the last byte consumed before this run */
    size_t field_bytes;     /* header (or trailer) section bytes so far */
    size_t nfields;         /* field lines in the header section */
    uint64_t body_total;    /* body bytes announced so far (chunked) */
    int status;             /* the error status, or 0 */
    int in_request;         /* a request has begun and is not complete */
    int in_trailers;        /* after the last chunk */
    int pending;            /* a body may still be on its way (for linger) */
    int want_continue;      /* Expect: 100-continue seen (HTTP/1.1) */
    int te_chunked_bad;     /* Transfer-Encoding is not exactly "chunked" */
    int te_other;           /* ... it names another coding before chunked */
    int has_te, has_host;
    enum hp_stop stop;      /* why llhttp paused */
    int busy;
};

static const llhttp_settings_t *hp_settings(void);

/* ------------------------------------------------------------- buffers */

/* Make room for n more bytes after b's length. -> 0 | -1. */
static int buf_room(struct hp_buf *b, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    return 0;
}

/* Append n bytes to b if its length stays within max. -> 0 | -1. */
static int buf_add(struct hp_buf *b, const char *s, size_t n, size_t max)
{
    if (n > max || b->len > max - n || buf_room(b, n) != 0)
        return -1;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    return 0;
}

static void buf_free(struct hp_buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* ---------------------------------------------------------- callbacks */

static struct hp *hp_of(llhttp_t *ll)
{
    return ll->data;
}

/* Fail the request with HTTP status `status`: llhttp stops with HPE_USER. */
static int hp_fail(struct hp *h, int status)
{
    h->status = status;
    return HPE_USER;
}

static int on_message_begin(llhttp_t *ll)
{
    struct hp *h = hp_of(ll);
    lua_State *L = h->L;

    h->in_request = 1;
    h->in_trailers = h->pending = h->want_continue = 0;
    h->te_chunked_bad = h->te_other = h->has_te = h->has_host = 0;
    h->url.len = h->field.len = h->value.len = h->body.len = 0;
    h->method_len = h->version_len = 0;
    h->line_bytes = h->field_bytes = h->nfields = 0;
    h->body_total = 0;
    lua_createtable(L, 0, 10);
    lua_replace(L, HP_REQ);
    lua_createtable(L, 0, 8);
    lua_replace(L, HP_HEADERS);
    lua_pushnil(L);
    lua_replace(L, HP_TRAILERS);
    return 0;
}

/* The input offset of p, a pointer into the running llhttp_execute's
 * data. */
static uint64_t hp_offset(struct hp *h, const char *p)
{
    return h->fed + (uint64_t)(p - h->run_start);
}

/* The input byte just before p. */
static char hp_byte_before(struct hp *h, const char *p)
{
    return p > h->run_start ? p[-1] : h->prev_last;
}

static int on_method(llhttp_t *ll, const char *at, size_t n)
{
    struct hp *h = hp_of(ll);

    h->method_len += n;
    h->method_end = hp_offset(h, at + n);
    return 0;
}

/* One SP between method and target (RFC 9112 3): llhttp 8.1 lets more
 * pass, so they are refused here (400). A target that takes the request
 * line over max_line: 414 (read no further). */
static int on_url(llhttp_t *ll, const char *at, size_t n)
{
    struct hp *h = hp_of(ll);

    if (h->url.len == 0 && hp_offset(h, at) != h->method_end + 1)
        return hp_fail(h, 400);
    if (buf_add(&h->url, at, n, h->lim.max_line) != 0 ||
        h->method_len + 1 + h->url.len > h->lim.max_line)
        return hp_fail(h, 414);
    return 0;
}

static int on_version(llhttp_t *ll, const char *at, size_t n)
{
    hp_of(ll)->version_len += n;
    return 0;
}

/* The request line is complete: at most max_line bytes without its CRLF
 * (else 414), HTTP/1.x only (RFC 9112 2.3; another major version: 505). */
static int on_version_complete(llhttp_t *ll)
{
    struct hp *h = hp_of(ll);

    if (h->method_len + 1 + h->url.len + 6 + h->version_len >
        h->lim.max_line)
        return hp_fail(h, 414);
    if (ll->http_major != 1)
        return hp_fail(h, 505);
    return 0;
}

/* Count a field line's bytes against max_header_bytes: its name, value
 * and 4 for ": " and CRLF. */
static int hp_count_field_bytes(struct hp *h, size_t n)
{
    h->field_bytes += n;
    if (h->field_bytes > h->lim.max_header_bytes)
        return hp_fail(h, 431);
    return 0;
}

static int on_header_field(llhttp_t *ll, const char *at, size_t n)
{
    struct hp *h = hp_of(ll);

    if (hp_count_field_bytes(h, n) != 0 ||
        buf_add(&h->field, at, n, h->lim.max_header_bytes) != 0)
        return hp_fail(h, 431);
    return 0;
}

/* A value's bytes. llhttp 8.1 takes obs-fold (a line that starts with SP
 * or HTAB continues the value before it); RFC 9112 5.2 lets a server
 * refuse it with 400, as lunik does: a value span that starts just after
 * an LF is one. */
static int on_header_value(llhttp_t *ll, const char *at, size_t n)
{
    struct hp *h = hp_of(ll);

    if (n > 0 && hp_byte_before(h, at) == '\n')
        return hp_fail(h, 400);
    if (hp_count_field_bytes(h, n) != 0 ||
        buf_add(&h->value, at, n, h->lim.max_header_bytes) != 0)
        return hp_fail(h, 431);
    return 0;
}

/* Transfer-Encoding's codings (RFC 9112 6.1, 7): chunked must be the
 * last, once; another coding before it is not implemented (501). */
static void hp_check_te(struct hp *h, const char *s, size_t n)
{
    int count = 0, chunked_at = -1;
    size_t pos = 0, a, b;

    h->has_te = 1;
    while (http_list_next(s, n, &pos, &a, &b)) {
        if (a == b)
            continue;
        if (b - a == 7 && strncasecmp(s + a, "chunked", 7) == 0) {
            if (chunked_at >= 0)
                h->te_chunked_bad = 1;
            chunked_at = count;
        }
        count++;
    }
    if (chunked_at != count - 1)
        h->te_chunked_bad = 1;
    else if (count > 1)
        h->te_other = 1;
}

/* Store the field line now complete in the headers (or trailers) table:
 * name lowercased, value without surrounding OWS (RFC 9110 5.5), repeats
 * joined with ", " (5.3). A CTL in the value (bare CR, NUL, an obs-fold's
 * CRLF) is 400, a second Host is 400 (RFC 9112 3.2), more than
 * max_headers lines is 431. */
static int on_header_value_complete(llhttp_t *ll)
{
    struct hp *h = hp_of(ll);
    lua_State *L = h->L;
    char name[64], *lname = name;
    const char *v = h->value.p ? h->value.p : "";
    size_t nlen = h->field.len, vlen = h->value.len;
    int t;

    if (hp_count_field_bytes(h, 4) != 0)
        return HPE_USER;
    if (++h->nfields > h->lim.max_headers)
        return hp_fail(h, 431);
    while (vlen > 0 && (*v == ' ' || *v == '\t'))
        v++, vlen--;
    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
        vlen--;
    if (!http_is_field_text(v, vlen) || nlen == 0)
        return hp_fail(h, 400);
    if (nlen >= sizeof name && !(lname = malloc(nlen)))
        return hp_fail(h, 431);
    for (size_t i = 0; i < nlen; i++) {
        unsigned char c = (unsigned char)h->field.p[i];
        if (!http_is_tchar(c)) {
            if (lname != name)
                free(lname);
            return hp_fail(h, 400);
        }
        lname[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : (char)c;
    }
    t = h->in_trailers ? HP_TRAILERS : HP_HEADERS;
    if (h->in_trailers && lua_isnil(L, HP_TRAILERS)) {
        lua_newtable(L);
        lua_replace(L, HP_TRAILERS);
    }
    if (!h->in_trailers) {
        if (nlen == 4 && memcmp(lname, "host", 4) == 0) {
            if (h->has_host++)
                goto bad;
        } else if (nlen == 17 && memcmp(lname, "transfer-encoding", 17) == 0) {
            hp_check_te(h, v, vlen);
            h->pending = 1;
        } else if (nlen == 14 && memcmp(lname, "content-length", 14) == 0) {
            h->pending = 1;
        } else if (nlen == 6 && memcmp(lname, "expect", 6) == 0) {
            if (vlen != 12 || strncasecmp(v, "100-continue", 12) != 0) {
                if (ll->http_minor >= 1)
                    goto expect_failed;
            } else {
                h->want_continue = ll->http_minor >= 1;
            }
        }
    }
    lua_pushlstring(L, lname, nlen);
    if (lua_rawget(L, t) == LUA_TSTRING) {     /* a repeat: old, new */
        lua_pushlstring(L, lname, nlen);
        lua_insert(L, -2);
        lua_pushliteral(L, ", ");
        lua_pushlstring(L, v, vlen);
        lua_concat(L, 3);
    } else {
        lua_pop(L, 1);
        lua_pushlstring(L, lname, nlen);
        lua_pushlstring(L, v, vlen);
    }
    lua_rawset(L, t);
    if (lname != name)
        free(lname);
    h->field.len = h->value.len = 0;
    return 0;
bad:
    if (lname != name)
        free(lname);
    return hp_fail(h, 400);
expect_failed:
    if (lname != name)
        free(lname);
    return hp_fail(h, 417);
}

/* Split the request-target (RFC 9112 3.2) into req.target, req.path,
 * req.query and, for absolute-form, the authority (pushed, or nil).
 * -> 0 | 400 (asterisk-form for a method other than OPTIONS, or no path). */
static int hp_set_target(struct hp *h, const char *method)
{
    lua_State *L = h->L;
    const char *u = h->url.p ? h->url.p : "", *end = u + h->url.len;
    const char *path = u, *authority = NULL;
    size_t alen = 0;

    lua_pushlstring(L, u, h->url.len);
    lua_setfield(L, HP_REQ, "target");
    if (h->url.len == 1 && u[0] == '*') {
        if (strcmp(method, "OPTIONS") != 0)
            return 400;
        lua_pushliteral(L, "*");
        lua_setfield(L, HP_REQ, "path");
        lua_pushnil(L);
        return 0;
    }
    if (u[0] != '/') {                     /* absolute-form: scheme://a/p */
        const char *s = memchr(u, ':', h->url.len);
        if (!s || end - s < 3 || s[1] != '/' || s[2] != '/')
            return 400;
        authority = s + 3;
        path = authority;
        while (path < end && *path != '/' && *path != '?' && *path != '#')
            path++;
        alen = (size_t)(path - authority);
    }
    const char *q = memchr(path, '?', (size_t)(end - path));
    const char *hash = memchr(path, '#', (size_t)(end - path));
    const char *pend = q ? q : hash ? hash : end;
    if (pend == path)
        lua_pushliteral(L, "/");
    else if (*path != '/') {
        lua_pushliteral(L, "/");
        lua_pushlstring(L, path, (size_t)(pend - path));
        lua_concat(L, 2);
    } else
        lua_pushlstring(L, path, (size_t)(pend - path));
    lua_setfield(L, HP_REQ, "path");
    if (q) {
        const char *qend = (hash && hash > q) ? hash : end;
        lua_pushlstring(L, q + 1, (size_t)(qend - q - 1));
        lua_setfield(L, HP_REQ, "query");
    }
    if (authority)
        lua_pushlstring(L, authority, alen);
    else
        lua_pushnil(L);
    return 0;
}

/* uri-host [":" port] characters (RFC 3986 reg-name, IP-literal, port). */
static int is_host_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("-._~!$&'()*+,;=:[]%", c)))
            return 0;
    }
    return 1;
}

/* The header section is complete: check what RFC 9112 asks of a request
 * (Host, framing, Expect, CONNECT), fill the request line's fields, and
 * maybe pause for 100-continue. */
static int on_headers_complete(llhttp_t *ll)
{
    struct hp *h = hp_of(ll);
    lua_State *L = h->L;
    const char *method = llhttp_method_name(ll->method);
    int st;

    if (ll->method == HTTP_CONNECT)
        return hp_fail(h, 501);                 /* not a proxy */
    lua_pushstring(L, method);
    lua_setfield(L, HP_REQ, "method");
    lua_pushstring(L, ll->http_minor == 0 ? "HTTP/1.0" : "HTTP/1.1");
    lua_setfield(L, HP_REQ, "version");
    if ((st = hp_set_target(h, method)) != 0)
        return hp_fail(h, st);
    /* Host (RFC 9112 3.2): required in HTTP/1.1, a valid value; in
     * absolute-form the target's authority replaces it (3.2.2). */
    lua_getfield(L, HP_HEADERS, "host");
    if (lua_isstring(L, -1)) {
        size_t n;
        const char *host = lua_tolstring(L, -1, &n);
        if (!is_host_text(host, n))
            return hp_fail(h, 400);
    } else if (ll->http_minor >= 1) {
        return hp_fail(h, 400);
    }
    lua_pop(L, 1);
    if (!lua_isnil(L, -1))
        lua_setfield(L, HP_HEADERS, "host");
    else
        lua_pop(L, 1);
    /* Framing (RFC 9112 6). llhttp has refused CL with TE, differing
     * Content-Lengths and a TE not ending in chunked. */
    if (h->has_te) {
        if (ll->http_minor == 0 || h->te_chunked_bad)
            return hp_fail(h, 400);
        if (h->te_other)
            return hp_fail(h, 501);
    }
    if ((ll->flags & F_CONTENT_LENGTH) && !(ll->flags & F_CHUNKED)) {
        if (ll->content_length > h->lim.max_body)
            return hp_fail(h, 413);
        lua_pushinteger(L, (lua_Integer)ll->content_length);
        lua_tostring(L, -1);
        lua_setfield(L, HP_HEADERS, "content-length");
    }
    h->line_bytes = 0;
    /* Expect: 100-continue (RFC 9110 10.1.1) with a body to come: pause,
     * so that parse() can hand "continue" to Lua before the body. */
    if (h->want_continue && ((ll->flags & F_CHUNKED) ||
        ((ll->flags & F_CONTENT_LENGTH) && ll->content_length > 0))) {
        h->stop = HP_HEADERS_DONE;
        return HPE_PAUSED;
    }
    return 0;
}

static int on_chunk_header(llhttp_t *ll)
{
    struct hp *h = hp_of(ll);

    if (ll->content_length == 0) {
        h->in_trailers = 1;
        h->field_bytes = h->nfields = 0;
        return 0;
    }
    h->body_total += ll->content_length;
    if (ll->content_length > h->lim.max_body ||
        h->body_total > h->lim.max_body)
        return hp_fail(h, 413);
    return 0;
}

/* Chunk extensions (RFC 9112 7.1.1) count against max_line. */
static int on_chunk_ext(llhttp_t *ll, const char *at, size_t n)
{
    struct hp *h = hp_of(ll);

    h->line_bytes += n;
    if (h->line_bytes > h->lim.max_line)
        return hp_fail(h, 400);
    return 0;
}

static int on_chunk_complete(llhttp_t *ll)
{
    hp_of(ll)->line_bytes = 0;
    return 0;
}

static int on_body(llhttp_t *ll, const char *at, size_t n)
{
    struct hp *h = hp_of(ll);

    if (buf_add(&h->body, at, n, h->lim.max_body) != 0)
        return hp_fail(h, 413);
    return 0;
}

/* The request is complete: finish its table and pause, so the next
 * (pipelined) request waits until Lua has answered this one. */
static int on_message_complete(llhttp_t *ll)
{
    struct hp *h = hp_of(ll);
    lua_State *L = h->L;

    lua_pushlstring(L, h->body.p ? h->body.p : "", h->body.len);
    lua_setfield(L, HP_REQ, "body");
    lua_pushvalue(L, HP_HEADERS);
    lua_setfield(L, HP_REQ, "headers");
    if (!lua_isnil(L, HP_TRAILERS)) {
        lua_pushvalue(L, HP_TRAILERS);
        lua_setfield(L, HP_REQ, "trailers");
    }
    h->in_request = h->pending = 0;
    h->stop = HP_DONE;
    return HPE_PAUSED;
}

static const llhttp_settings_t *hp_settings(void)
{
    static llhttp_settings_t s;
    static int ready;

    if (!ready) {
        llhttp_settings_init(&s);
        s.on_message_begin = on_message_begin;
        s.on_method = on_method;
        s.on_url = on_url;
        s.on_version = on_version;
        s.on_version_complete = on_version_complete;
        s.on_header_field = on_header_field;
        s.on_header_value = on_header_value;
        s.on_header_value_complete = on_header_value_complete;
        s.on_headers_complete = on_headers_complete;
        s.on_chunk_header = on_chunk_header;
        s.on_chunk_extension_name = on_chunk_ext;
        s.on_chunk_extension_value = on_chunk_ext;
        s.on_chunk_complete = on_chunk_complete;
        s.on_body = on_body;
        s.on_message_complete = on_message_complete;
        ready = 1;
    }
    return &s;
}

/* -------------------------------------------------------------- parse */

/* The status for an llhttp error that no callback chose. */
static int hp_error_status(struct hp *h, llhttp_errno_t e)
{
    const char *why = llhttp_get_error_reason(&h->ll);

    if (h->status)
        return h->status;
    if (why && (strcmp(why, "Content-Length overflow") == 0 ||
                strcmp(why, "Chunk size overflow") == 0))
        return 413;
    if (e == HPE_INVALID_VERSION)           /* not 0.9, 1.0, 1.1 or 2.0 */
        return 505;
    return 400;
}

/* Make room for n more input bytes, dropping what llhttp has consumed.
 * -> 0 | -1 (no memory). */
static int hp_reserve(struct hp *h, size_t n)
{
    if (h->in_off > 0) {
        memmove(h->in.p, h->in.p + h->in_off, h->in.len - h->in_off);
        h->in.len -= h->in_off;
        h->in_off = 0;
    }
    return buf_room(&h->in, n);
}

/* Append data to the input. */
static void hp_push(lua_State *L, struct hp *h, const char *s, size_t n)
{
    if (hp_reserve(h, n) != 0 || buf_add(&h->in, s, n, SIZE_MAX) != 0)
        luaL_error(L, "not enough memory");
}

/* llhttp has consumed the input up to in[end]. */
static void hp_consumed(struct hp *h, size_t end)
{
    if (end > h->in_off) {
        h->fed += end - h->in_off;
        h->prev_last = h->in.p[end - 1];
    }
    h->in_off = end;
}

static const void *hp_mt;       /* the parsers' metatable (rt_checkudata) */

static struct hp *hp_check(lua_State *L)
{
    return rt_checkudata(L, 1, hp_mt, "lunik.http.parser");
}

static int hp_run(lua_State *L, struct hp *h);

/* Has the request failed? A callback that raised a Lua error (out of
 * memory) left busy set: that is a 500. */
static int hp_broken(struct hp *h)
{
    if (h->busy && !h->status)
        h->status = 500;
    return h->status != 0;
}

/* Push the results for "every buffered byte is parsed": "more", started
 * [, err: the input has ended]. */
static int hp_more(lua_State *L, struct hp *h, const char *err)
{
    lua_pushliteral(L, "more");
    lua_pushboolean(L, h->in_request);
    if (err)
        lua_pushstring(L, err);
    return err ? 3 : 2;
}

/* Push the results for a failed request: nil, status, pending. */
static int hp_failed(lua_State *L, struct hp *h)
{
    lua_pushnil(L);
    lua_pushinteger(L, h->status);
    lua_pushboolean(L, h->pending);
    return 3;
}

/*
 * parser:parse([data]) -> one of
 *   req, close        a complete request (the table http.serve documents,
 *                     without peer); close: the connection must close
 *                     after the response (RFC 9112 9.3, 9.6)
 *   "continue"        the request asked for 100-continue and its body has
 *                     not begun: send "100 Continue", then parse() again
 *   "more", started   every buffered byte is parsed: read more, then
 *                     parse(data); started: a request is part-read
 *   nil, status, pending
 *                     the request is bad: answer `status` (400, 413, 414,
 *                     417, 431, 501, 505) and close; pending: its body
 *                     may still be arriving (linger before closing)
 * data (a string) is appended to the buffered input first. After a
 * failure every later call fails the same way.
 */
static int hp_parse(lua_State *L)
{
    struct hp *h = hp_check(L);
    size_t n = 0;
    const char *data = luaL_optlstring(L, 2, NULL, &n);
    int r;

    if (hp_broken(h))
        return hp_failed(L, h);
    if (data && n > 0)
        hp_push(L, h, data, n);
    lua_settop(L, 2);
    if ((r = hp_run(L, h)) >= 0)
        return r;
    return hp_more(L, h, NULL);
}

/* Bytes parser:next reads from the connection at a time. */
#define HP_READ_SIZE 16384

/*
 * parser:next(box) -> what parse() returns, parsing first what is
 * buffered and then what has arrived on the lunik.net connection in box
 * (read straight into the parser: no string per read); "more" comes as
 * "more", started, err, with err set ("closed", "reset", ...) when the
 * connection's input has ended and nothing more will come. Only inside
 * lunik (the runtime opens httpcore with lunik.net's streams).
 */
static int hp_next(lua_State *L)
{
    struct hp *h = hp_check(L);
    const struct lunik_net_stream *io =
        lua_touserdata(L, lua_upvalueindex(1));
    const char *err = NULL;

    if (hp_broken(h))
        return hp_failed(L, h);
    lua_settop(L, 2);
    for (;;) {
        size_t got;
        int r;
        if (h->in_off < h->in.len && (r = hp_run(L, h)) >= 0)
            return r;
        lua_settop(L, 2);
        if (h->in_off == h->in.len)
            h->in.len = h->in_off = 0;      /* all consumed: start over */
        if (hp_reserve(h, HP_READ_SIZE) != 0)
            return luaL_error(L, "not enough memory");
        got = io->read(L, 2, h->in.p + h->in.len, HP_READ_SIZE, &err);
        if (got == 0)
            break;
        h->in.len += got;
    }
    return hp_more(L, h, err);
}

/* Parse the buffered input up to the first thing Lua must act on (a
 * request, "continue", a failure) and push parse()'s results for it;
 * -> their count | -1 when every buffered byte is parsed (pushes
 * nothing: the caller says "more"). Runs with the parser at index 1 and
 * nothing above index 2. */
static int hp_run(lua_State *L, struct hp *h)
{
    lua_getiuservalue(L, 1, 1);             /* HP_REQ */
    lua_getiuservalue(L, 1, 2);             /* HP_HEADERS */
    lua_getiuservalue(L, 1, 3);             /* HP_TRAILERS */
    h->L = L;
    while (h->in_off < h->in.len) {
        const char *p = h->in.p + h->in_off;
        h->stop = HP_MORE;
        h->busy = 1;
        h->run_start = p;
        llhttp_errno_t e = llhttp_execute(&h->ll, p, h->in.len - h->in_off);
        h->busy = 0;
        if (e == HPE_OK) {
            hp_consumed(h, h->in.len);
            break;
        }
        if (e != HPE_PAUSED && e != HPE_PAUSED_UPGRADE) {
            h->status = hp_error_status(h, e);
            return hp_failed(L, h);
        }
        hp_consumed(h, (size_t)(llhttp_get_error_pos(&h->ll) - h->in.p));
        if (e == HPE_PAUSED_UPGRADE)        /* Upgrade is not offered */
            llhttp_resume_after_upgrade(&h->ll);
        else
            llhttp_resume(&h->ll);
        if (h->stop == HP_DONE) {
            int keep = llhttp_should_keep_alive(&h->ll);
            lua_pushvalue(L, HP_REQ);
            lua_pushnil(L);
            lua_setiuservalue(L, 1, 1);
            lua_pushboolean(L, !keep);
            return 2;
        }
        if (h->stop == HP_HEADERS_DONE) {
            lua_pushvalue(L, HP_REQ);
            lua_setiuservalue(L, 1, 1);
            lua_pushvalue(L, HP_HEADERS);
            lua_setiuservalue(L, 1, 2);
            lua_pushvalue(L, HP_TRAILERS);
            lua_setiuservalue(L, 1, 3);
            if (h->in_off == h->in.len) {
                lua_pushliteral(L, "continue");
                return 1;
            }
        }
    }
    /* Keep the request being built for the next call. */
    lua_pushvalue(L, HP_REQ);
    lua_setiuservalue(L, 1, 1);
    lua_pushvalue(L, HP_HEADERS);
    lua_setiuservalue(L, 1, 2);
    lua_pushvalue(L, HP_TRAILERS);
    lua_setiuservalue(L, 1, 3);
    return -1;
}

static int hp_gc(lua_State *L)
{
    struct hp *h = hp_check(L);

    buf_free(&h->in);
    h->in_off = 0;
    buf_free(&h->url);
    buf_free(&h->field);
    buf_free(&h->value);
    buf_free(&h->body);
    return 0;
}

/* Read limit `name` from the options table at index 1 (an integer >= 1;
 * http.lua has checked it), or `dflt`. */
static size_t hp_limit(lua_State *L, const char *name, size_t dflt)
{
    lua_Integer v;

    lua_getfield(L, 1, name);
    v = lua_isinteger(L, -1) ? lua_tointeger(L, -1) : 0;
    lua_pop(L, 1);
    return v >= 1 ? (size_t)v : dflt;
}

/*
 * parser(opts) -> a new parser; upvalue 1 is the lunik_net_stream its
 * next() method reads through (a light userdata), or nil when there is
 * none (the stand-alone module): then it has parse() only.
 */
static int hp_new(lua_State *L)
{
    struct hp *h;

    luaL_checktype(L, 1, LUA_TTABLE);
    h = lua_newuserdatauv(L, sizeof *h, 3);
    memset(h, 0, sizeof *h);
    h->lim.max_line = hp_limit(L, "max_line", 8192);
    h->lim.max_header_bytes = hp_limit(L, "max_header_bytes", 16384);
    h->lim.max_headers = hp_limit(L, "max_headers", 100);
    h->lim.max_body = hp_limit(L, "max_body", 1048576);
    llhttp_init(&h->ll, HTTP_REQUEST, hp_settings());
    h->ll.data = h;
    if (luaL_newmetatable(L, "lunik.http.parser")) {
        lua_createtable(L, 0, 2);
        lua_pushcfunction(L, hp_parse);
        lua_setfield(L, -2, "parse");
        if (!lua_isnil(L, lua_upvalueindex(1))) {
            lua_pushvalue(L, lua_upvalueindex(1));
            lua_pushcclosure(L, hp_next, 1);
            lua_setfield(L, -2, "next");
        }
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, hp_gc);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, hp_gc);
        lua_setfield(L, -2, "__close");
    }
    hp_mt = lua_topointer(L, -1);
    lua_setmetatable(L, -2);
    return 1;
}

void lunik_http_push_parser(lua_State *L, const struct lunik_net_stream *io)
{
    if (io)
        lua_pushlightuserdata(L, (void *)io);
    else
        lua_pushnil(L);
    lua_pushcclosure(L, hp_new, 1);
}
