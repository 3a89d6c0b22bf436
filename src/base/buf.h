/*
 * buf.h - growable byte buffer and non-owning string view.
 *
 * An sv_buf is never NULL-pointed and always NUL-terminated, even when empty
 * (git's strbuf).  An sv_str is a borrowed {ptr, len} view (nginx's ngx_str_t).
 * Depends on nothing but libc.  On allocation failure the process aborts: a
 * server that cannot allocate a few bytes cannot answer safely anyway.
 */
#ifndef SV_BASE_BUF_H
#define SV_BASE_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct sv_buf {
    char *ptr; /* owned unless it points at sv__buf_empty */
    size_t len;
    size_t cap;
} sv_buf;

typedef struct sv_str {
    const char *ptr; /* borrowed */
    size_t len;
} sv_str;

extern char sv__buf_empty[1];

#define SV_BUF_INIT                                                                                \
    {                                                                                              \
        sv__buf_empty, 0, 0                                                                        \
    }
#define SV_STR(lit) ((sv_str){(lit), sizeof(lit) - 1})

void sv_buf_init(sv_buf *b);
void sv_buf_release(sv_buf *b); /* frees storage, leaves b empty and usable */
void sv_buf_grow(sv_buf *b, size_t extra);
void sv_buf_add(sv_buf *b, const void *data, size_t len);
void sv_buf_adds(sv_buf *b, const char *s);
void sv_buf_addc(sv_buf *b, char c);
void sv_buf_addf(sv_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sv_buf_vaddf(sv_buf *b, const char *fmt, va_list ap);
void sv_buf_reset(sv_buf *b); /* len = 0, keeps storage */
void sv_buf_truncate(sv_buf *b, size_t len);
/* Hands the storage to the caller (caller frees); b is left empty. Never NULL. */
char *sv_buf_detach(sv_buf *b, size_t *ret_len);

sv_str sv_str_from(const char *s);
bool sv_str_eq(sv_str a, sv_str b);
bool sv_str_eqs(sv_str a, const char *s);
bool sv_str_starts(sv_str a, const char *prefix);
/* Returns a malloc'd NUL-terminated copy; caller frees. */
char *sv_str_dup(sv_str s);

#endif
