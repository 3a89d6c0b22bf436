/* include.c - see include.h. */
#include "fhir/include.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/compartment.h"
#include "fhir/searchparam.h"
#include "fhir/types.h"
#include "store/include.h"

void sv_include_spec_clear(sv_include_spec *s)
{
    if (!s)
        return;
    free(s->source_type);
    free(s->param);
    free(s->target_type);
    memset(s, 0, sizeof(*s));
}

sv_found *sv_found_list_add(sv_found_list *l, int64_t rid, const sv_stored *s)
{
    if (l->len == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        sv_found *p = realloc(l->items, cap * sizeof(*p));
        if (!p)
            abort();
        l->items = p;
        l->cap = cap;
    }
    sv_found *f = &l->items[l->len++];
    memset(f, 0, sizeof(*f));
    snprintf(f->type, sizeof(f->type), "%s", s->type);
    snprintf(f->id, sizeof(f->id), "%s", s->id);
    f->rid = rid;
    f->version = s->version;
    f->last_updated = s->last_updated;
    f->json = malloc(s->json_len + 1);
    if (!f->json)
        abort();
    if (s->json_len)
        memcpy(f->json, s->json, s->json_len);
    f->json[s->json_len] = '\0';
    f->json_len = s->json_len;
    return f;
}

void sv_found_list_clear(sv_found_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->len; i++)
        free(l->items[i].json);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* ---- the set of resources already in the result, by "type/id" ---------------------- */

typedef struct seen_set {
    char **keys;
    size_t cap, len;
} seen_set;

/* FNV-1a over "type/id", the key as stored. */
static uint64_t fnv(uint64_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static uint64_t hash_key(const char *type, const char *id)
{
    return fnv(fnv(fnv(1469598103934665603u, type), "/"), id);
}

static bool key_is(const char *key, const char *type, const char *id)
{
    size_t tl = strlen(type);
    return strncmp(key, type, tl) == 0 && key[tl] == '/' && strcmp(key + tl + 1, id) == 0;
}

static void seen_grow(seen_set *s);

/* Adds type/id; false when it was already there. */
static bool seen_add(seen_set *s, const char *type, const char *id)
{
    if ((s->len + 1) * 2 > s->cap)
        seen_grow(s);
    size_t mask = s->cap - 1;
    for (size_t i = hash_key(type, id) & mask;; i = (i + 1) & mask) {
        if (!s->keys[i]) {
            size_t tl = strlen(type), il = strlen(id);
            char *k = malloc(tl + il + 2);
            if (!k)
                abort();
            memcpy(k, type, tl);
            k[tl] = '/';
            memcpy(k + tl + 1, id, il + 1);
            s->keys[i] = k;
            s->len++;
            return true;
        }
        if (key_is(s->keys[i], type, id))
            return false;
    }
}

static bool seen_has(const seen_set *s, const char *type, const char *id)
{
    if (!s->cap)
        return false;
    size_t mask = s->cap - 1;
    for (size_t i = hash_key(type, id) & mask; s->keys[i]; i = (i + 1) & mask)
        if (key_is(s->keys[i], type, id))
            return true;
    return false;
}

static void seen_grow(seen_set *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    char **old = s->keys;
    size_t oldcap = s->cap;
    s->keys = calloc(cap, sizeof(char *));
    if (!s->keys)
        abort();
    s->cap = cap;
    size_t mask = cap - 1;
    for (size_t k = 0; k < oldcap; k++) {
        if (!old[k])
            continue;
        uint64_t h = fnv(1469598103934665603u, old[k]);
        size_t i = h & mask;
        while (s->keys[i])
            i = (i + 1) & mask;
        s->keys[i] = old[k];
    }
    free(old);
}

static void seen_clear(seen_set *s)
{
    for (size_t i = 0; i < s->cap; i++)
        free(s->keys[i]);
    free(s->keys);
    memset(s, 0, sizeof(*s));
}

/* ---- one level of inclusion ---------------------------------------------------------- */

typedef struct level_ctx {
    sv_found_list *out;
    seen_set *seen;
    const sv_include_options *opt;
    size_t max;      /* cap on out->len */
    bool probe;      /* only find out whether anything new is reachable */
    bool found_more; /* probe: something new was reachable */
    bool full;       /* the cap stopped us */
} level_ctx;

static bool on_hit(void *ctx, int64_t rid, const sv_stored *s)
{
    level_ctx *c = ctx;
    if (seen_has(c->seen, s->type, s->id))
        return true;
    if (c->opt->accept && !c->opt->accept(c->opt->accept_ctx, s))
        return true;
    if (c->probe) {
        c->found_more = true;
        return false;
    }
    if (c->out->len >= c->max) {
        c->full = true;
        return false;
    }
    seen_add(c->seen, s->type, s->id);
    sv_found_list_add(c->out, rid, s);
    return true;
}

static bool targets_type(const sv_searchparam *sp, const char *type)
{
    if (!sp->targets)
        return true;
    for (size_t i = 0; sp->targets[i]; i++)
        if (strcmp(sp->targets[i], type) == 0)
            return true;
    return false;
}

/* _revinclude from one source type: the spec's parameter, or for "*" every
 * reference parameter of source_type that may point at the target's type. */
static sv_err reverse_from(sv_db *db, const sv_include_spec *spec, const char *source_type,
                           const char *type, const char *id, int64_t limit, level_ctx *c,
                           sv_buf *reterr)
{
    if (spec->param)
        return sv_store_refs_to(db, c->opt->access, type, id, spec->param, source_type, limit,
                                on_hit, c, reterr);
    size_t nsp = 0;
    const sv_searchparam *const *list = sv_searchparam_list(source_type, &nsp);
    for (size_t k = 0; k < nsp && !c->full && !c->found_more; k++) {
        const sv_searchparam *sp = list[k];
        if (sp->type != SV_SEARCHPARAM_REFERENCE || !targets_type(sp, type))
            continue;
        sv_err e = sv_store_refs_to(db, c->opt->access, type, id, sp->code, source_type, limit,
                                    on_hit, c, reterr);
        if (e)
            return e;
    }
    return SV_OK;
}

/* Applies one spec to one resource of the frontier. */
static sv_err apply(sv_db *db, const sv_include_spec *spec, const char *type, const char *id,
                    level_ctx *c, sv_buf *reterr)
{
    if (!spec->reverse) {
        if (spec->source_type && strcmp(spec->source_type, type) != 0)
            return SV_OK;
        /* A resource holds few references: no need to bound the rows read. */
        return sv_store_refs_from(db, c->opt->access, type, id, spec->param, SV_COMPARTMENT_PARAM,
                                  spec->target_type, INT64_MAX, on_hit, c, reterr);
    }
    if (spec->target_type && strcmp(spec->target_type, type) != 0)
        return SV_OK;
    /* Rows of resources already seen use up the limit too: ask for enough. */
    int64_t limit = (int64_t)(c->max - c->out->len) + 1 + (int64_t)c->seen->len;
    if (spec->source_type)
        return reverse_from(db, spec, spec->source_type, type, id, limit, c, reterr);
    size_t ntypes = 0;
    const char *const *types = sv_fhir_supported_types(&ntypes);
    for (size_t t = 0; t < ntypes && !c->full && !c->found_more; t++) {
        if (spec->param) { /* "*:param" is not a form; kept simple: only where it exists */
            const sv_searchparam *sp = sv_searchparam_find(types[t], spec->param);
            if (!sp || sp->type != SV_SEARCHPARAM_REFERENCE)
                continue;
        }
        sv_err e = reverse_from(db, spec, types[t], type, id, limit, c, reterr);
        if (e)
            return e;
    }
    return SV_OK;
}

/* Runs every applicable spec over items [from, to) of list. */
static sv_err level(sv_db *db, const sv_include_spec *specs, size_t nspecs, bool first,
                    const sv_found_list *list, size_t from, size_t to, level_ctx *c, sv_buf *reterr)
{
    for (size_t i = from; i < to; i++) {
        /* list may be c->out, which grows (and moves) while we visit: copy the key */
        char type[64], id[65];
        snprintf(type, sizeof(type), "%s", list->items[i].type);
        snprintf(id, sizeof(id), "%s", list->items[i].id);
        for (size_t k = 0; k < nspecs; k++) {
            if (!first && !specs[k].iterate)
                continue;
            sv_err e = apply(db, &specs[k], type, id, c, reterr);
            if (e)
                return e;
            if (c->full || c->found_more)
                return SV_OK;
        }
    }
    return SV_OK;
}

sv_err sv_include_run(sv_db *db, const sv_include_spec *specs, size_t nspecs,
                      const sv_found_list *matches, const sv_include_options *opt,
                      sv_found_list *ret_included, sv_outcome *warnings, sv_buf *reterr)
{
    static const sv_include_options defaults = {0};
    if (!opt)
        opt = &defaults;
    if (!nspecs || !matches->len)
        return SV_OK;
    size_t max = opt->max_resources ? opt->max_resources : SV_INCLUDE_MAX_RESOURCES;
    int max_depth = opt->max_depth > 0 ? opt->max_depth : SV_INCLUDE_MAX_DEPTH;
    bool any_iterate = false;
    for (size_t k = 0; k < nspecs; k++)
        any_iterate |= specs[k].iterate;

    seen_set seen = {0};
    for (size_t i = 0; i < matches->len; i++)
        seen_add(&seen, matches->items[i].type, matches->items[i].id);
    for (size_t i = 0; i < ret_included->len; i++)
        seen_add(&seen, ret_included->items[i].type, ret_included->items[i].id);
    level_ctx c = {.out = ret_included, .seen = &seen, .opt = opt, .max = ret_included->len + max};

    size_t start = ret_included->len;
    sv_err e = level(db, specs, nspecs, true, matches, 0, matches->len, &c, reterr);
    int depth = 1;
    while (!e && !c.full && any_iterate && ret_included->len > start) {
        size_t from = start, to = ret_included->len;
        start = to;
        if (depth == max_depth) {
            c.probe = true; /* would one more level find anything? */
            e = level(db, specs, nspecs, false, ret_included, from, to, &c, reterr);
            break;
        }
        e = level(db, specs, nspecs, false, ret_included, from, to, &c, reterr);
        depth++;
    }
    if (!e && c.full)
        sv_outcome_add(warnings, SV_SEV_WARNING, "too-costly", NULL,
                       "_include/_revinclude stopped at %zu included resources: more are "
                       "referenced; the result is incomplete (ask for fewer matches with _count)",
                       max);
    else if (!e && c.found_more)
        sv_outcome_add(warnings, SV_SEV_WARNING, "too-costly", NULL,
                       ":iterate stopped after %d levels: more resources are reachable; the "
                       "result is incomplete",
                       max_depth);
    seen_clear(&seen);
    return e;
}
