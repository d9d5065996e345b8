/* requires.c: the modules a Lua source requires, by a small lexer. */
#include <string.h>

#include "requires.h"

/* The cursor of one scan: src[pos..len) is still to read. */
struct cli_lexer {
    const char *src;
    size_t len;
    size_t pos;
};

static int cli_is_ident(int c, int first)
{
    return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (!first && c >= '0' && c <= '9');
}

static int cli_peek(const struct cli_lexer *lx, size_t ahead)
{
    size_t i = lx->pos + ahead;
    return i < lx->len ? (unsigned char)lx->src[i] : -1;
}

/*
 * cli_long_level: if a long bracket "[", "="*level, "[" opens at pos, return
 * level, else -1.
 */
static int cli_long_level(const struct cli_lexer *lx)
{
    if (cli_peek(lx, 0) != '[')
        return -1;
    size_t n = 1;
    while (cli_peek(lx, n) == '=')
        n++;
    return cli_peek(lx, n) == '[' ? (int)n - 1 : -1;
}

/*
 * cli_skip_long: skip a long string or comment of `level` opening at pos;
 * sets *body and *body_len to its contents. An unterminated one runs to the
 * end of the source (the compiler reports it).
 */
static void cli_skip_long(struct cli_lexer *lx, int level, const char **body,
                          size_t *body_len)
{
    lx->pos += (size_t)level + 2;
    size_t start = lx->pos;
    while (lx->pos < lx->len) {
        if (lx->src[lx->pos] == ']') {
            size_t n = 1;
            while (cli_peek(lx, n) == '=')
                n++;
            if (cli_peek(lx, n) == ']' && n - 1 == (size_t)level) {
                *body = lx->src + start;
                *body_len = lx->pos - start;
                lx->pos += n + 1;
                return;
            }
        }
        lx->pos++;
    }
    *body = lx->src + start;
    *body_len = lx->len - start;
}

/*
 * cli_skip_short: skip a quoted string opening at pos. Sets *body and
 * *body_len to its raw contents and returns 1 when it holds no escape
 * sequence (its contents are then its value), else 0.
 */
static int cli_skip_short(struct cli_lexer *lx, const char **body,
                          size_t *body_len)
{
    int quote = cli_peek(lx, 0), plain = 1;
    size_t start = ++lx->pos;
    while (lx->pos < lx->len) {
        int c = (unsigned char)lx->src[lx->pos];
        if (c == quote || c == '\n')
            break;
        if (c == '\\') {
            plain = 0;
            lx->pos++;
        }
        lx->pos++;
    }
    *body = lx->src + start;
    *body_len = (lx->pos < lx->len ? lx->pos : lx->len) - start;
    if (lx->pos < lx->len)
        lx->pos++;
    return plain;
}

static void cli_skip_space(struct cli_lexer *lx)
{
    while (lx->pos < lx->len && strchr(" \t\r\n\f\v", lx->src[lx->pos]))
        lx->pos++;
}

static int cli_valid_module_name(const char *s, size_t n)
{
    if (n == 0 || s[0] == '.' || s[n - 1] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.' && s[i + 1] == '.')     /* s[n - 1] is not '.' */
            return 0;
        if (!cli_is_ident((unsigned char)s[i], 0) && s[i] != '.' &&
            s[i] != '-')
            return 0;
    }
    return 1;
}

/*
 * cli_require_argument: after the word `require`, read a literal module
 * name as in `require "m"`, `require 'm'`, `require [[m]]`, `require("m")`;
 * a call whose argument is an expression (`require("m" .. x)`) names none.
 * Returns 1 and sets *name / *n when one is found.
 */
static int cli_require_argument(struct cli_lexer *lx, const char **name,
                                size_t *n)
{
    cli_skip_space(lx);
    int paren = cli_peek(lx, 0) == '(';
    if (paren) {
        lx->pos++;
        cli_skip_space(lx);
    }
    int c = cli_peek(lx, 0), level = cli_long_level(lx), plain = 1;
    if (c == '"' || c == '\'')
        plain = cli_skip_short(lx, name, n);
    else if (level >= 0)
        cli_skip_long(lx, level, name, n);
    else
        return 0;
    if (paren) {
        cli_skip_space(lx);
        if (cli_peek(lx, 0) != ')')
            return 0;
    }
    return plain && cli_valid_module_name(*name, *n);
}

void cli_scan_requires(const char *src, size_t len,
                       void (*found)(void *ctx, const char *name, size_t n),
                       void *ctx)
{
    struct cli_lexer lx = {src, len, 0};
    int prev = 0, prev2 = 0;    /* last two punctuation characters seen */
    const char *body;
    size_t body_len;
    if (len > 0 && src[0] == '#')               /* "#!" first line */
        while (lx.pos < len && src[lx.pos] != '\n')
            lx.pos++;
    while (lx.pos < lx.len) {
        int c = cli_peek(&lx, 0), level;
        if (c == '-' && cli_peek(&lx, 1) == '-') {
            lx.pos += 2;
            if ((level = cli_long_level(&lx)) >= 0)
                cli_skip_long(&lx, level, &body, &body_len);
            else
                while (lx.pos < lx.len && src[lx.pos] != '\n')
                    lx.pos++;
        } else if (c == '"' || c == '\'') {
            cli_skip_short(&lx, &body, &body_len);
            prev2 = prev, prev = 's';
        } else if ((level = cli_long_level(&lx)) >= 0) {
            cli_skip_long(&lx, level, &body, &body_len);
            prev2 = prev, prev = 's';
        } else if (cli_is_ident(c, 0)) {
            size_t start = lx.pos;
            while (cli_is_ident(cli_peek(&lx, 0), 0) ||
                   (!cli_is_ident(c, 1) && cli_peek(&lx, 0) == '.'))
                lx.pos++;
            /* A field or method named require (t.require, t:require) is
             * not the global function; ".." before it is concatenation. */
            int field = prev == ':' || (prev == '.' && prev2 != '.');
            if (!field && lx.pos - start == 7 &&
                memcmp(src + start, "require", 7) == 0) {
                const char *name;
                size_t n;
                if (cli_require_argument(&lx, &name, &n))
                    found(ctx, name, n);
            }
            prev2 = prev, prev = 'w';
        } else {
            if (!strchr(" \t\r\n\f\v", c))
                prev2 = prev, prev = c;
            lx.pos++;
        }
    }
}
