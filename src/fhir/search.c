/*
 * search.c - running a parsed search (search_plan.h) and answering with a
 * searchset Bundle: the matches of one page, what _include/_revinclude add to
 * them (include.h), each resource through the _elements/_summary view
 * (search_result.h), paging links (_cursor from the plan when the matching side
 * gives one, else _offset), _total, _summary=count.  Compartment search
 * is the same search with one more clause: the compartment's index rows
 * (compartment.h).
 */
#include "fhir/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "fhir/compartment.h"
#include "fhir/include.h"
#include "fhir/rest.h"
#include "fhir/search_plan.h"
#include "fhir/search_result.h"
#include "fhir/types.h"
#include "store/search.h"

sv_err sv_search_find(sv_db *db, const sv_access_filter *access, const char *type,
                      const sv_query *q, int64_t offset, int64_t limit, sv_store_visit visit,
                      void *ctx, int64_t *ret_total, sv_outcome *out)
{
    sv_rest r = {.db = db, .base_url = "", .default_count = limit, .max_count = INT64_MAX};
    sv_search_plan p;
    sv__search_plan_init(&p);
    sv_err e = sv__search_parse(&r, type, q, false, &p, out);
    if (!e) {
        sv_buf err = SV_BUF_INIT;
        sv_store_query sq = {.type = type,
                             .clauses = p.clauses,
                             .nclauses = p.n,
                             .offset = offset,
                             .limit = limit,
                             .access = access};
        e = sv_store_search_run(db, &sq, visit, ctx, ret_total, NULL, NULL, &err);
        if (e)
            sv_outcome_add(out, SV_SEV_ERROR, sv_err_issue_code(e), NULL, "search failed: %s",
                           e == SV_ERR_BUSY ? "the database is busy" : "storage failure");
        sv_buf_release(&err);
    }
    sv__search_plan_clear(&p);
    return e;
}

/* ---- the Bundle ---------------------------------------------------------------------- */

static void add_entry(sv_buf *out, const char *base, const sv_found *f, const char *mode,
                      const struct sv_search_result *view, bool match)
{
    if (out->len)
        sv_buf_addc(out, ',');
    sv_buf url = SV_BUF_INIT;
    sv_buf_addf(&url, "%s/%s/%s", base, f->type, f->id);
    sv_buf_adds(out, "{\"fullUrl\":");
    sv_json_quote(out, url.ptr);
    sv_buf_release(&url);
    sv_buf_adds(out, ",\"resource\":");
    sv__search_result_render(view, f->type, match, f->json, f->json_len, out);
    sv_buf_addf(out, ",\"search\":{\"mode\":\"%s\"}}", mode);
}

static void add_outcome_entry(sv_buf *out, const sv_outcome *warnings)
{
    if (out->len)
        sv_buf_addc(out, ',');
    char id[SV_UUID_LEN];
    sv_id_uuid(id);
    sv_buf_addf(out, "{\"fullUrl\":\"urn:uuid:%s\",\"resource\":", id);
    json_t *oo = sv_outcome_to_json(warnings);
    sv_fhir_dump(oo, out);
    json_decref(oo);
    sv_buf_adds(out, ",\"search\":{\"mode\":\"outcome\"}}");
}

void sv__search_bundle_write(sv_rest_result *res, const char *base,
                             const sv__search_bundle_parts *parts)
{
    sv_buf entries = SV_BUF_INIT;
    for (size_t i = 0; i < parts->matches->len; i++)
        add_entry(&entries, base, &parts->matches->items[i], "match", parts->view, true);
    for (size_t i = 0; parts->included && i < parts->included->len; i++)
        add_entry(&entries, base, &parts->included->items[i], "include", parts->view, false);
    if (parts->warnings && parts->warnings->len)
        add_outcome_entry(&entries, parts->warnings);

    sv_buf *out = &res->body;
    sv_buf_reset(out);
    char id[SV_UUID_LEN];
    sv_id_uuid(id);
    sv_buf_addf(out, "{\"resourceType\":\"Bundle\",\"id\":\"%s\",\"type\":\"searchset\"", id);
    if (parts->total >= 0)
        sv_buf_addf(out, ",\"total\":%lld", (long long)parts->total);
    sv_buf_adds(out, ",\"link\":[");
    sv_buf_add(out, parts->links->ptr, parts->links->len);
    sv_buf_addc(out, ']');
    if (entries.len) {
        sv_buf_adds(out, ",\"entry\":[");
        sv_buf_add(out, entries.ptr, entries.len);
        sv_buf_addc(out, ']');
    }
    sv_buf_addc(out, '}');
    sv_buf_release(&entries);
    res->status = 200;
}

void sv__search_link(sv_buf *links, const char *rel, const char *url)
{
    if (links->len)
        sv_buf_addc(links, ',');
    sv_buf_addf(links, "{\"relation\":\"%s\",\"url\":", rel);
    sv_json_quote(links, url);
    sv_buf_addc(links, '}');
}

/* [base]/[path][self]&_count=N, then _offset or _cursor when set. */
static void page_link(sv_buf *links, const char *rel, const sv_rest *r, const char *path,
                      const sv_buf *self, int64_t count, int64_t offset, const char *cursor)
{
    sv_buf url = SV_BUF_INIT, query = SV_BUF_INIT;
    sv_buf_add(&query, self->ptr, self->len);
    char n[24];
    snprintf(n, sizeof(n), "%lld", (long long)count);
    sv__search_link_param(&query, "_count", n);
    if (cursor) {
        sv__search_link_param(&query, "_cursor", cursor);
    } else if (offset) {
        snprintf(n, sizeof(n), "%lld", (long long)offset);
        sv__search_link_param(&query, "_offset", n);
    }
    sv_buf_addf(&url, "%s/%s%s", r->base_url, path, query.ptr);
    sv__search_link(links, rel, url.ptr);
    sv_buf_release(&url);
    sv_buf_release(&query);
}

sv_err sv__search_storage_fail(sv_outcome *out, sv_err e)
{
    sv_outcome_add(out, SV_SEV_ERROR, sv_err_issue_code(e), NULL, "search failed: %s",
                   e == SV_ERR_BUSY ? "the database is busy" : "storage failure");
    return e;
}

/* ---- running one search -------------------------------------------------------------- */

typedef struct page_ctx {
    sv_found_list *matches;
    int64_t limit;
    bool more;
} page_ctx;

static bool collect(void *ctx, const sv_stored *s)
{
    page_ctx *c = ctx;
    if ((int64_t)c->matches->len == c->limit) { /* the probe row: a next page exists */
        c->more = true;
        return false;
    }
    sv_found_list_add(c->matches, 0, s);
    return true;
}

/* The compartment as one more clause: a reference row _compartment -> Patient/id. */
static void add_compartment_clause(sv_search_plan *p, const char *patient_id)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->clauses = realloc(p->clauses, p->cap * sizeof(sv_clause));
        if (!p->clauses)
            abort();
    }
    sv_clause *c = &p->clauses[p->n++];
    memset(c, 0, sizeof(*c));
    c->param = SV_COMPARTMENT_PARAM;
    c->values = calloc(1, sizeof(sv_clause_value));
    if (!c->values)
        abort();
    c->nvalues = 1;
    c->values[0].kind = SV_CLAUSE_REFERENCE;
    c->values[0].system = "Patient";
    c->values[0].value = patient_id;
}

/* Begins a read transaction so that a page, its total and its includes are one
 * snapshot; not when the caller (a transaction Bundle) already holds one. */
static sv_err snapshot_begin(sv_db *db, bool *owned)
{
    *owned = !sv_db_in_tx(db);
    if (!*owned)
        return SV_OK;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_begin(db, SV_TX_READ, &err);
    sv_buf_release(&err);
    return e;
}

static void snapshot_end(sv_db *db, bool owned)
{
    if (owned)
        sv_db_rollback(db); /* nothing was written */
}

static sv_err search_bundle(sv_rest *r, const char *path, const char *type,
                            const char *compartment_id, const sv_query *q, bool lenient,
                            sv_rest_result *res)
{
    sv_search_plan p;
    sv__search_plan_init(&p);
    sv_found_list matches = SV_FOUND_LIST_INIT, included = SV_FOUND_LIST_INIT;
    sv_outcome warnings = SV_OUTCOME_INIT;
    sv_buf err = SV_BUF_INIT, links = SV_BUF_INIT;
    bool owned = false;
    sv_err e = sv__search_parse(r, type, q, lenient, &p, &res->outcome);
    if (!e)
        e = sv__search_result_prepare(&p, type, lenient, &res->outcome);
    if (e)
        goto out;
    if (compartment_id)
        add_compartment_clause(&p, compartment_id);
    p.access = sv_policy_filter(r->access);
    int64_t limit = p.summary_count ? 0 : p.count;
    int64_t total = -1;
    page_ctx page = {.matches = &matches, .limit = limit};
    e = snapshot_begin(r->db, &owned);
    /* One more than the page tells whether a next page exists (and sets
     * p.next_cursor: keyset paging, exact while others write). */
    if (!e)
        e = sv__search_plan_run(r->db, type, &p, limit + (limit > 0), collect, &page,
                                p.total_none ? NULL : &total, &err);
    if (!e && p.result && p.result->nincludes)
        e = sv_include_run(r->db, p.result->includes, p.result->nincludes, &matches,
                           &(sv_include_options){.access = p.access}, &included, &warnings, &err);
    snapshot_end(r->db, owned);
    if (e) {
        sv__search_storage_fail(&res->outcome, e);
        goto out;
    }
    page_link(&links, "self", r, path, &p.self, p.count, p.offset, p.cursor);
    if (page.more)
        page_link(&links, "next", r, path, &p.self, p.count, p.offset + p.count, p.next_cursor);
    if (p.prev_cursor)
        page_link(&links, "previous", r, path, &p.self, p.count, 0, p.prev_cursor);
    else if (!p.cursor && p.offset > 0 && p.count > 0)
        page_link(&links, "previous", r, path, &p.self, p.count,
                  p.offset > p.count ? p.offset - p.count : 0, NULL);
    sv__search_bundle_parts parts = {.matches = &matches,
                                     .included = &included,
                                     .warnings = &warnings,
                                     .view = p.result,
                                     .total = total,
                                     .links = &links};
    sv__search_bundle_write(res, r->base_url, &parts);
out:
    sv_buf_release(&err);
    sv_buf_release(&links);
    sv_outcome_clear(&warnings);
    sv_found_list_clear(&matches);
    sv_found_list_clear(&included);
    sv__search_plan_clear(&p);
    return e;
}

sv_err sv_search_bundle(struct sv_rest *r, const char *type, const sv_query *q, bool lenient,
                        struct sv_rest_result *res)
{
    return search_bundle(r, type, type, NULL, q, lenient, res);
}

sv_err sv_search_compartment_bundle(struct sv_rest *r, const char *patient_id, const char *type,
                                    const sv_query *q, bool lenient, struct sv_rest_result *res)
{
    if (!sv_fhir_type_supported(type)) {
        sv_outcome_add(&res->outcome, SV_SEV_ERROR, "not-found", NULL,
                       "resource type '%s' is not supported", type);
        return SV_ERR_NOT_FOUND;
    }
    if (!sv_compartment_patient_has_type(type)) {
        sv_outcome_add(&res->outcome, SV_SEV_ERROR, "invalid", NULL,
                       "%s resources are not in the Patient compartment", type);
        return SV_ERR_INVALID;
    }
    if (!sv_id_valid(patient_id, strlen(patient_id))) {
        sv_outcome_add(&res->outcome, SV_SEV_ERROR, "not-found", NULL,
                       "'%s' is not a valid Patient id", patient_id);
        return SV_ERR_NOT_FOUND;
    }
    sv_buf path = SV_BUF_INIT;
    sv_buf_addf(&path, "Patient/%s/%s", patient_id, type);
    sv_err e = search_bundle(r, path.ptr, type, patient_id, q, lenient, res);
    sv_buf_release(&path);
    return e;
}
