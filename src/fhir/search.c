/*
 * search.c - running a parsed search (search_plan.h) and answering with a
 * searchset Bundle: offset paging with next/previous links, _total, _summary=count.
 */
#include "fhir/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "fhir/rest.h"
#include "fhir/search_plan.h"
#include "store/search.h"

sv_err sv_search_find(sv_db *db, const char *type, const sv_query *q, int64_t offset, int64_t limit,
                      sv_store_visit visit, void *ctx, int64_t *ret_total, sv_outcome *out)
{
    sv_rest r = {.db = db, .base_url = "", .default_count = limit, .max_count = INT64_MAX};
    sv_search_plan p;
    sv__search_plan_init(&p);
    sv_err e = sv__search_parse(&r, type, q, false, &p, out);
    if (!e) {
        sv_buf err = SV_BUF_INIT;
        e = sv_store_search(db, type, p.clauses, p.n, offset, limit, visit, ctx, ret_total, &err);
        if (e)
            sv_outcome_add(out, SV_SEV_ERROR, sv_err_issue_code(e), NULL, "search failed: %s",
                           e == SV_ERR_BUSY ? "the database is busy" : "storage failure");
        sv_buf_release(&err);
    }
    sv__search_plan_clear(&p);
    return e;
}

typedef struct bundle_ctx {
    sv_buf *out;
    const char *base;
    int64_t n;
    int64_t limit;
    bool more;
} bundle_ctx;

static bool add_match(void *ctx, const sv_stored *s)
{
    bundle_ctx *b = ctx;
    if (b->n == b->limit) { /* the probe row: a next page exists */
        b->more = true;
        return false;
    }
    if (b->n++)
        sv_buf_addc(b->out, ',');
    sv_buf url = SV_BUF_INIT;
    sv_buf_addf(&url, "%s/%s/%s", b->base, s->type, s->id);
    sv_buf_adds(b->out, "{\"fullUrl\":");
    sv_json_quote(b->out, url.ptr);
    sv_buf_release(&url);
    sv_buf_adds(b->out, ",\"resource\":");
    sv_buf_add(b->out, s->json, s->json_len);
    sv_buf_adds(b->out, ",\"search\":{\"mode\":\"match\"}}");
    return true;
}

static void link_to(sv_buf *out, const char *rel, const sv_rest *r, const char *type,
                    const sv_buf *self, int64_t count, int64_t offset, bool first)
{
    if (!first)
        sv_buf_addc(out, ',');
    sv_buf url = SV_BUF_INIT;
    sv_buf_addf(&url, "%s/%s%s%s_count=%lld", r->base_url, type, self->len ? self->ptr : "",
                self->len ? "&" : "?", (long long)count);
    if (offset)
        sv_buf_addf(&url, "&_offset=%lld", (long long)offset);
    sv_buf_addf(out, "{\"relation\":\"%s\",\"url\":", rel);
    sv_json_quote(out, url.ptr);
    sv_buf_addc(out, '}');
    sv_buf_release(&url);
}

sv_err sv_search_bundle(struct sv_rest *r, const char *type, const sv_query *q, bool lenient,
                        struct sv_rest_result *res)
{
    sv_search_plan p;
    sv__search_plan_init(&p);
    sv_err e = sv__search_parse(r, type, q, lenient, &p, &res->outcome);
    if (e) {
        sv__search_plan_clear(&p);
        return e;
    }
    int64_t limit = p.summary_count ? 0 : p.count;
    int64_t total = -1;
    sv_buf entries = SV_BUF_INIT;
    bundle_ctx b = {.out = &entries, .base = r->base_url, .limit = limit};
    sv_buf err = SV_BUF_INIT;
    /* One more than the page tells whether a next page exists. */
    e = sv_store_search(r->db, type, p.clauses, p.n, p.offset, limit + (limit > 0), add_match, &b,
                        p.total_none ? NULL : &total, &err);
    sv_buf_release(&err);
    if (e) {
        sv_outcome_add(&res->outcome, SV_SEV_ERROR, sv_err_issue_code(e), NULL, "search failed: %s",
                       e == SV_ERR_BUSY ? "the database is busy" : "storage failure");
        sv_buf_release(&entries);
        sv__search_plan_clear(&p);
        return e;
    }
    bool more = b.more;
    sv_buf *out = &res->body;
    sv_buf_reset(out);
    char id[SV_UUID_LEN];
    sv_id_uuid(id);
    sv_buf_addf(out, "{\"resourceType\":\"Bundle\",\"id\":\"%s\",\"type\":\"searchset\"", id);
    if (total >= 0)
        sv_buf_addf(out, ",\"total\":%lld", (long long)total);
    sv_buf_adds(out, ",\"link\":[");
    link_to(out, "self", r, type, &p.self, p.count, p.offset, true);
    if (more)
        link_to(out, "next", r, type, &p.self, p.count, p.offset + p.count, false);
    if (p.offset > 0 && p.count > 0)
        link_to(out, "previous", r, type, &p.self, p.count,
                p.offset > p.count ? p.offset - p.count : 0, false);
    sv_buf_addc(out, ']');
    if (b.n > 0) {
        sv_buf_adds(out, ",\"entry\":[");
        sv_buf_add(out, entries.ptr, entries.len);
        sv_buf_addc(out, ']');
    }
    sv_buf_addc(out, '}');
    res->status = 200;
    sv_buf_release(&entries);
    sv__search_plan_clear(&p);
    return SV_OK;
}
