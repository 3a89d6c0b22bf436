/*
 * scopes.c - SMART scopes: parsing, validation, and what a client's scopes allow.
 * See identity.h.
 */
#include <string.h>

#include "auth/internal.h"

typedef struct scope {
    char context[8]; /* system, user, patient */
    char type[64];   /* resource type or "*" */
    bool allow[5];   /* by sv_auth_interaction */
} scope;

static bool parse_scope(const char *s, size_t len, scope *ret)
{
    memset(ret, 0, sizeof(*ret));
    const char *slash = memchr(s, '/', len);
    if (!slash)
        return false;
    size_t clen = (size_t)(slash - s);
    if (!((clen == 6 && memcmp(s, "system", 6) == 0) || (clen == 4 && memcmp(s, "user", 4) == 0) ||
          (clen == 7 && memcmp(s, "patient", 7) == 0)))
        return false;
    memcpy(ret->context, s, clen);
    const char *t = slash + 1, *end = s + len;
    const char *dot = memchr(t, '.', (size_t)(end - t));
    if (!dot || dot == t || (size_t)(dot - t) >= sizeof(ret->type))
        return false;
    size_t tlen = (size_t)(dot - t);
    if (!(tlen == 1 && t[0] == '*')) {
        if (t[0] < 'A' || t[0] > 'Z')
            return false;
        for (size_t i = 0; i < tlen; i++)
            if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')))
                return false;
    }
    memcpy(ret->type, t, tlen);
    const char *perm = dot + 1;
    size_t plen = (size_t)(end - perm);
    if (plen == 4 && memcmp(perm, "read", 4) == 0) {
        ret->allow[SV_AUTH_READ] = ret->allow[SV_AUTH_SEARCH] = true;
    } else if (plen == 5 && memcmp(perm, "write", 5) == 0) {
        ret->allow[SV_AUTH_CREATE] = ret->allow[SV_AUTH_UPDATE] = ret->allow[SV_AUTH_DELETE] = true;
    } else if (plen == 1 && perm[0] == '*') {
        for (int i = 0; i < 5; i++)
            ret->allow[i] = true;
    } else {
        /* SMART v2: letters of "cruds", in that order, each at most once. */
        static const char order[] = "cruds";
        static const sv_auth_interaction map[] = {SV_AUTH_CREATE, SV_AUTH_READ, SV_AUTH_UPDATE,
                                                  SV_AUTH_DELETE, SV_AUTH_SEARCH};
        size_t at = 0;
        if (plen == 0)
            return false;
        for (size_t i = 0; i < plen; i++) {
            const char *c = memchr(order + at, perm[i], 5 - at);
            if (!c)
                return false;
            at = (size_t)(c - order) + 1;
            ret->allow[map[c - order]] = true;
        }
    }
    return true;
}

/* Calls fn for each space-separated word of list; stops and returns false when fn does. */
bool sv__auth_each_word(const char *list, bool (*fn)(void *ctx, const char *w, size_t n), void *ctx)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if (p > w && !fn(ctx, w, (size_t)(p - w)))
            return false;
    }
    return true;
}

static bool word_valid(void *ctx, const char *w, size_t n)
{
    scope sc;
    (*(int *)ctx)++;
    return parse_scope(w, n, &sc);
}

bool sv_auth_scopes_valid(const char *scopes)
{
    int count = 0;
    if (!scopes || strlen(scopes) >= SV_AUTH_SCOPES_MAX)
        return false;
    return sv__auth_each_word(scopes, word_valid, &count) && count > 0;
}

typedef struct allow_ctx {
    const char *type;
    sv_auth_interaction interaction;
    bool allowed;
} allow_ctx;

static bool word_allows(void *ctx, const char *w, size_t n)
{
    allow_ctx *a = ctx;
    scope sc;
    if (!parse_scope(w, n, &sc) || strcmp(sc.context, "system") != 0)
        return true;
    bool type_ok = strcmp(sc.type, "*") == 0 || (a->type && strcmp(sc.type, a->type) == 0);
    if (type_ok && sc.allow[a->interaction]) {
        a->allowed = true;
        return false;
    }
    return true;
}

bool sv_auth_scope_allows(const sv_principal *p, const char *type, sv_auth_interaction interaction)
{
    if (!p || p->kind == SV_PRINCIPAL_NONE || (unsigned)interaction > SV_AUTH_DELETE)
        return false;
    if (p->kind != SV_PRINCIPAL_SYSTEM)
        return true;
    allow_ctx a = {.type = type, .interaction = interaction};
    sv__auth_each_word(p->scopes, word_allows, &a);
    return a.allowed;
}
