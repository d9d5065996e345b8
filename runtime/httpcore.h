/* httpcore.h: the C half of lunik.http (request parsing with llhttp, response rendering), for runtime/http.lua. */
#ifndef LUNIK_HTTPCORE_H
#define LUNIK_HTTPCORE_H

#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "lua.h"

/* A connection's request limits, in bytes or field lines (http.serve's
 * options of the same names). */
struct hp_limits {
    size_t max_line;            /* request line; each chunk-size line */
    size_t max_header_bytes;    /* header (or trailer) section */
    size_t max_headers;         /* field lines in a section */
    size_t max_body;            /* body after de-chunking */
};

/* Is c a tchar (RFC 9110 5.6.2)? */
static inline int http_is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* Is s[0..n) a token (RFC 9110 5.6.2: one or more tchars)? */
static inline int http_is_token(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!http_is_tchar((unsigned char)s[i]))
            return 0;
    return n > 0;
}

/* Is s[0..n) field text: field-vchar, SP and HTAB only (RFC 9110 5.5),
 * no CR, LF, NUL or other CTL, no DEL? */
static inline int http_is_field_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return 0;
    }
    return 1;
}

/*
 * http_list_next: the next element of the comma-separated list s[0..n)
 * (RFC 9110 5.6.1) from *pos on: sets [*a, *b) to it without its OWS and
 * moves *pos past it. -> 1 | 0 at the end. Empty elements are returned
 * too (a == b); the caller skips them if it wants.
 */
static inline int http_list_next(const char *s, size_t n, size_t *pos,
                                 size_t *a, size_t *b)
{
    size_t i = *pos, j = i;

    if (i > n)
        return 0;
    while (j < n && s[j] != ',')
        j++;
    *a = i;
    *b = j;
    while (*a < *b && (s[*a] == ' ' || s[*a] == '\t'))
        (*a)++;
    while (*b > *a && (s[*b - 1] == ' ' || s[*b - 1] == '\t'))
        (*b)--;
    *pos = j + 1;
    return 1;
}

/* Does the comma-separated list s[0..n) hold tok (case-insensitive)? */
static inline int http_list_has(const char *s, size_t n, const char *tok)
{
    size_t tn = strlen(tok), pos = 0, a, b;

    while (http_list_next(s, n, &pos, &a, &b))
        if (b - a == tn && strncasecmp(s + a, tok, tn) == 0)
            return 1;
    return 0;
}

struct lunik_net_stream;

/*
 * lunik_http_push_parser(L, io): push parser(opts) -> parser, which makes
 * a request parser for one connection (httpparse.c); opts holds
 * max_line, max_header_bytes, max_headers and max_body (integers >= 1;
 * missing ones get http.serve's defaults). parser:parse([data]) and, with
 * io (lunik.net's streams; NULL in the stand-alone module),
 * parser:next(box) are documented in httpparse.c.
 */
void lunik_http_push_parser(lua_State *L, const struct lunik_net_stream *io);

/*
 * lunik_http_render(method, status, headers, body, close, keep_10)
 *   -> head, rest, close | nil, problem
 * The bytes of a response (httprender.c; RFC 9112 4, 6, 9.6).
 */
int lunik_http_render(lua_State *L);

/*
 * lunik_http_push_reply(L, io): push reply(box, ...), render()'s response
 * written to a lunik.net connection through io (httprender.c).
 */
void lunik_http_push_reply(lua_State *L, const struct lunik_net_stream *io);

/*
 * lunik_http_push_serve(L): push serve(conn, handler, opts, server,
 * parser, box, id, lib), the connection loop (httpserve.c).
 */
void lunik_http_push_serve(lua_State *L);

/*
 * lunik_open_httpcore(L, io): push the table { parser, render, serve
 * [, reply] }
 * that runtime/http.lua takes as its argument; reply (and parser's next
 * method) only with io, lunik.net's streams (netlib.h). Raises a Lua
 * memory error like any lua_* call.
 */
int lunik_open_httpcore(lua_State *L, const struct lunik_net_stream *io);

#endif
