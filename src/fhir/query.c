/* query.c - see query.h. */
#include "fhir/query.h"

#include <stdlib.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes in place; returns false on a bad escape or an encoded NUL. */
static bool url_decode(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        if (*p == '+') {
            *w++ = ' ';
        } else if (*p == '%') {
            int h = hexval(p[1]), l = h >= 0 ? hexval(p[2]) : -1;
            if (h < 0 || l < 0 || (h == 0 && l == 0))
                return false;
            *w++ = (char)(h * 16 + l);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return true;
}

sv_err sv_query_parse(const char *text, sv_query *ret, sv_buf *reterr)
{
    sv_query q = {0};
    q.storage = strdup(text ? text : "");
    if (!q.storage)
        return SV_ERR_NOMEM;
    q.owned = true;
    char *s = q.storage;
    if (*s == '?')
        s++;
    /* params is never NULL, even for no parameters, so that callers may copy from it
     * (memcpy from NULL is undefined even for 0 bytes; api/router.c does this). */
    size_t cap = 8;
    q.params = malloc(cap * sizeof(*q.params));
    if (!q.params) {
        free(q.storage);
        return SV_ERR_NOMEM;
    }
    while (*s) {
        char *amp = strchr(s, '&');
        if (amp)
            *amp = '\0';
        if (*s) {
            char *eq = strchr(s, '=');
            const char *value = s + strlen(s); /* "" inside our own copy: url_decode writes */
            if (eq) {
                *eq = '\0';
                value = eq + 1;
            }
            if (!url_decode(s) || !url_decode((char *)value)) {
                if (reterr)
                    sv_buf_addf(reterr, "bad percent-encoding in query parameter '%s'", s);
                sv_query_clear(&q);
                return SV_ERR_INVALID;
            }
            if (q.len == SV_QUERY_MAX_PARAMS) {
                if (reterr)
                    sv_buf_addf(reterr, "more than %d query parameters", SV_QUERY_MAX_PARAMS);
                sv_query_clear(&q);
                return SV_ERR_INVALID;
            }
            if (q.len == cap) {
                cap *= 2;
                sv_query_param *p = realloc(q.params, cap * sizeof(*p));
                if (!p)
                    abort();
                q.params = p;
            }
            q.params[q.len].name = s;
            q.params[q.len].value = value;
            q.len++;
        }
        if (!amp)
            break;
        s = amp + 1;
    }
    *ret = q;
    return SV_OK;
}

void sv_query_view(sv_query *q, const sv_query_param *params, size_t len)
{
    q->params = (sv_query_param *)params;
    q->len = len;
    q->storage = NULL;
    q->owned = false;
}

void sv_query_clear(sv_query *q)
{
    if (!q)
        return;
    if (q->owned)
        free(q->params);
    free(q->storage);
    memset(q, 0, sizeof(*q));
}

const char *sv_query_get(const sv_query *q, const char *name)
{
    for (size_t i = 0; i < q->len; i++)
        if (strcmp(q->params[i].name, name) == 0)
            return q->params[i].value;
    return NULL;
}
