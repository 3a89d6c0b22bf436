/* reindex.c - see reindex.h. */
#include "fhir/reindex.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fhir/compartment.h"
#include "fhir/index.h"
#include "fhir/rest.h"
#include "store/access.h"
#include "store/resource.h"

typedef struct page {
    sv_stored *items; /* json owned */
    size_t len, cap;
} page;

/* Copies each visited resource: the scan's statement must be finished before
 * the rows are written on the same connection. */
static bool keep(void *ctx, const sv_stored *s)
{
    page *p = ctx;
    if (p->len == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        sv_stored *items = realloc(p->items, cap * sizeof(*items));
        if (!items)
            abort();
        p->items = items;
        p->cap = cap;
    }
    sv_stored *it = &p->items[p->len++];
    *it = *s;
    it->json = s->json ? strndup(s->json, s->json_len) : NULL;
    if (s->json && !it->json)
        abort();
    return true;
}

static void page_clear(page *p)
{
    for (size_t i = 0; i < p->len; i++)
        sv_stored_clear(&p->items[i]);
    p->len = 0;
}

/* The rows of one stored resource, exactly as fhir/rest.c writes them. */
static sv_err reindex_one(sv_db *db, const sv_stored *s, sv_buf *reterr)
{
    json_t *doc = s->json ? sv_json_loadb(s->json, s->json_len, 0, NULL) : NULL;
    if (!doc) {
        if (reterr)
            sv_buf_addf(reterr, "%s/%s: the stored json does not parse", s->type, s->id);
        return SV_ERR_INTERNAL;
    }
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    sv_err e = sv_fhir_index_extract(doc, &rows);
    json_decref(doc);
    if (e) {
        if (reterr)
            sv_buf_addf(reterr, "%s/%s: the stored resource cannot be indexed", s->type, s->id);
        sv_index_rows_clear(&rows);
        return SV_ERR_INTERNAL;
    }
    sv_compartment_rows(s->type, s->id, &rows);
    e = sv_store_replace_rows(db, s->rid, s->type, &rows, reterr);
    sv_index_rows_clear(&rows);
    return e;
}

sv_err sv_fhir_reindex(sv_db *db, size_t batch, sv_reindex_progress progress, void *ctx,
                       int64_t *ret_done, sv_buf *reterr)
{
    if (batch == 0)
        batch = SV_REINDEX_BATCH;
    int64_t total = 0, done = 0, after = 0;
    sv_err e = sv_store_count_current(db, &total, reterr);
    page p = {0};
    while (!e) {
        e = sv_db_begin(db, SV_TX_WRITE, reterr);
        if (e)
            break;
        e = sv_store_current_page(db, after, (int64_t)batch, keep, &p, reterr);
        for (size_t i = 0; i < p.len && !e; i++)
            e = reindex_one(db, &p.items[i], reterr);
        if (!e)
            e = sv_db_commit(db, reterr);
        if (e) {
            sv_db_rollback(db);
            break;
        }
        size_t n = p.len;
        if (n)
            after = p.items[n - 1].rid;
        page_clear(&p);
        done += (int64_t)n;
        /* Resources created during the run may push done past the first count. */
        if (done > total)
            total = done;
        if (progress && n)
            progress(ctx, done, total);
        if (n < batch)
            break;
    }
    page_clear(&p);
    free(p.items);
    /* Categories and access grants follow the stored resources too. */
    if (!e)
        e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (!e)
        e = sv_access_set_built(db, false, reterr);
    if (!e)
        e = sv_db_commit(db, reterr);
    if (!e)
        e = sv_fhir_access_build(db, reterr);
    if (ret_done)
        *ret_done = done;
    return e;
}
