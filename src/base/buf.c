/* buf.c - see buf.h. */
#include "base/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char sv__buf_empty[1];

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q) {
        fputs("samverka: out of memory\n", stderr);
        abort();
    }
    return q;
}

void sv_buf_init(sv_buf *b)
{
    b->ptr = sv__buf_empty;
    b->len = 0;
    b->cap = 0;
}

void sv_buf_release(sv_buf *b)
{
    if (!b)
        return;
    if (b->cap)
        free(b->ptr);
    sv_buf_init(b);
}

void sv_buf_grow(sv_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap < SIZE_MAX / 2 ? cap * 2 : need;
    if (b->cap == 0) {
        b->ptr = xrealloc(NULL, cap);
        b->ptr[0] = '\0';
    } else {
        b->ptr = xrealloc(b->ptr, cap);
    }
    b->cap = cap;
}

void sv_buf_add(sv_buf *b, const void *data, size_t len)
{
    if (len == 0)
        return;
    sv_buf_grow(b, len);
    memcpy(b->ptr + b->len, data, len);
    b->len += len;
    b->ptr[b->len] = '\0';
}

void sv_buf_adds(sv_buf *b, const char *s)
{
    sv_buf_add(b, s, strlen(s));
}

void sv_buf_addc(sv_buf *b, char c)
{
    sv_buf_grow(b, 1);
    b->ptr[b->len++] = c;
    b->ptr[b->len] = '\0';
}

void sv_buf_vaddf(sv_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    sv_buf_grow(b, 64);
    int n = vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        return;
    if ((size_t)n >= b->cap - b->len) {
        sv_buf_grow(b, (size_t)n);
        vsnprintf(b->ptr + b->len, b->cap - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void sv_buf_addf(sv_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sv_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

void sv_buf_reset(sv_buf *b)
{
    sv_buf_truncate(b, 0);
}

void sv_buf_truncate(sv_buf *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    if (b->cap)
        b->ptr[len] = '\0';
}

char *sv_buf_detach(sv_buf *b, size_t *ret_len)
{
    char *p;
    if (b->cap == 0) {
        p = xrealloc(NULL, 1);
        p[0] = '\0';
    } else {
        p = b->ptr;
    }
    if (ret_len)
        *ret_len = b->len;
    sv_buf_init(b);
    return p;
}

sv_str sv_str_from(const char *s)
{
    return (sv_str){s, s ? strlen(s) : 0};
}

bool sv_str_eq(sv_str a, sv_str b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

bool sv_str_eqs(sv_str a, const char *s)
{
    return sv_str_eq(a, sv_str_from(s));
}

bool sv_str_starts(sv_str a, const char *prefix)
{
    size_t n = strlen(prefix);
    return a.len >= n && memcmp(a.ptr, prefix, n) == 0;
}

char *sv_str_dup(sv_str s)
{
    char *p = xrealloc(NULL, s.len + 1);
    if (s.len)
        memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}
