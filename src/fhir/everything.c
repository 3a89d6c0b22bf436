/*
 * everything.c - Patient/[id]/$everything (search.h).
 *
 * A page is the next _count resources of the patient's compartment in storage
 * order (the compartment rows of compartment.h, read with keyset paging, so a
 * write meanwhile neither skips nor repeats a resource), plus, as
 * search.mode=include, the resources they reference that belong to no
 * patient (shared types below).  Those may appear again on a later page that
 * references them too.  There is no cap: the next link is there until the
 * compartment is exhausted.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/id.h"
#include "fhir/compartment.h"
#include "fhir/include.h"
#include "fhir/rest.h"
#include "fhir/search.h"
#include "fhir/search_result.h"
#include "fhir/types.h"
#include "store/include.h"

#define MAX_TYPES 64

/* Types that hold no patient's data and that compartment resources point at. */
static const char *const shared_types[] = {
    "ActivityDefinition", "Device",       "Endpoint",         "HealthcareService",
    "Location",           "Measure",      "Medication",       "Organization",
    "PlanDefinition",     "Practitioner", "PractitionerRole", "Questionnaire",
    "Substance",
};

static bool is_shared(const char *type)
{
    for (size_t i = 0; i < sizeof(shared_types) / sizeof(shared_types[0]); i++)
        if (strcmp(shared_types[i], type) == 0)
            return true;
    return false;
}

typedef struct args {
    int64_t count;
    int64_t since;  /* INT64_MIN: all */
    int64_t cursor; /* rid of the last resource of the previous page; 0: first page */
    bool cursor_set;
    char *types[MAX_TYPES]; /* owned; none: every type */
    size_t ntypes;
    sv_buf self; /* the parameters that were used, for links (not _count, _cursor) */
} args;

static void args_clear(args *a)
{
    for (size_t i = 0; i < a->ntypes; i++)
        free(a->types[i]);
    sv_buf_release(&a->self);
}

static bool listed(const args *a, const char *type);

/* Whether _type (absent: every type) asks for type. */
static bool wanted_type(const args *a, const char *type)
{
    return !a->ntypes || listed(a, type);
}

static bool listed(const args *a, const char *type)
{
    for (size_t i = 0; i < a->ntypes; i++)
        if (strcmp(a->types[i], type) == 0)
            return true;
    return false;
}

static sv_err bad(sv_outcome *out, const char *name, const char *fmt, const char *a)
{
    sv_outcome_add(out, SV_SEV_ERROR, "invalid", name, fmt, a);
    return SV_ERR_INVALID;
}

static bool whole_number(const char *v, int64_t *ret)
{
    char *end = NULL;
    if (!isdigit((unsigned char)*v))
        return false;
    long long n = strtoll(v, &end, 10);
    if (*end || n < 0)
        return false;
    *ret = n;
    return true;
}

/* One parameter; unknown ones are refused unless lenient. */
static sv_err take(args *a, const sv_rest *r, const char *name, const char *value, bool lenient,
                   sv_outcome *out)
{
    sv_outcome scratch = SV_OUTCOME_INIT;
    sv_outcome *where = lenient ? &scratch : out;
    sv_err e = SV_OK;
    if (strcmp(name, "_count") == 0) {
        if (!whole_number(value, &a->count))
            e = bad(where, name, "_count '%s' is not a whole number", value);
        else if (a->count > r->max_count)
            a->count = r->max_count;
    } else if (strcmp(name, "_cursor") == 0) {
        if (!whole_number(value, &a->cursor))
            e = bad(where, name, "_cursor '%s' is not from a next link", value);
        else
            a->cursor_set = true;
    } else if (strcmp(name, "_since") == 0) {
        sv_datetime_range range;
        if (!sv_datetime_parse(value, strlen(value), &range) || !strchr(value, 'T'))
            e = bad(where, name, "_since '%s' is not an instant", value);
        else
            a->since = range.low;
        if (!e)
            sv__search_link_param(&a->self, name, value);
    } else if (strcmp(name, "_type") == 0) {
        char *copy = strdup(value);
        if (!copy)
            abort();
        size_t first = a->ntypes;
        for (char *t = copy, *next; t && !e; t = next) {
            next = strchr(t, ',');
            if (next)
                *next++ = '\0';
            if (!sv_fhir_type_supported(t))
                e = bad(where, name, "'%s' in _type is not a supported resource type", t);
            else if (a->ntypes == MAX_TYPES)
                e = bad(where, name, "more than %s types in _type", "64");
            else if (!listed(a, t) && !(a->types[a->ntypes++] = strdup(t)))
                abort();
        }
        if (e)
            while (a->ntypes > first)
                free(a->types[--a->ntypes]);
        else
            sv__search_link_param(&a->self, name, value);
        free(copy);
    } else if (strcmp(name, "_format") == 0 || strcmp(name, "_pretty") == 0) {
        /* how to answer, not what */
    } else if (strcmp(name, "start") == 0 || strcmp(name, "end") == 0) {
        sv_outcome_add(where, SV_SEV_ERROR, "not-supported", name,
                       "$everything '%s' (care dates) is not supported; use _since", name);
        e = SV_ERR_INVALID;
    } else {
        e = bad(where, name, "'%s' is not a parameter of $everything", name);
    }
    sv_outcome_clear(&scratch);
    return lenient ? SV_OK : e;
}

/* The parameters of a POSTed Parameters resource, as name/value text. */
static sv_err take_parameters(args *a, const sv_rest *r, const json_t *params, bool lenient,
                              sv_outcome *out)
{
    const char *rt = json_string_value(json_object_get(params, "resourceType"));
    if (!json_is_object(params) || !rt || strcmp(rt, "Parameters") != 0)
        return bad(out, NULL, "the body of $everything must be a %s resource", "Parameters");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(params, "parameter"), i, p)
    {
        const char *name = json_string_value(json_object_get(p, "name"));
        if (!name)
            continue;
        char text[32];
        const char *value = NULL;
        const char *key;
        json_t *v;
        json_object_foreach(p, key, v)
        {
            if (strncmp(key, "value", 5) != 0)
                continue;
            if (json_is_string(v)) {
                value = json_string_value(v);
            } else if (json_is_integer(v)) {
                snprintf(text, sizeof(text), "%lld", (long long)json_integer_value(v));
                value = text;
            }
        }
        if (!value) {
            sv_err e = bad(out, name, "parameter '%s' has no value this server reads", name);
            if (!lenient)
                return e;
            continue;
        }
        sv_err e = take(a, r, name, value, lenient, out);
        if (e)
            return e;
    }
    return SV_OK;
}

/* ---- the page ------------------------------------------------------------------------ */

static bool collect(void *ctx, int64_t rid, const sv_stored *s)
{
    sv_found_list_add(ctx, rid, s);
    return true;
}

static int by_rid(const void *x, const void *y)
{
    const sv_found *a = x, *b = y;
    return (a->rid > b->rid) - (a->rid < b->rid);
}

typedef struct accept_ctx {
    const args *a;
} accept_ctx;

static bool accept_reference(void *ctx, const sv_stored *s)
{
    const args *a = ((accept_ctx *)ctx)->a;
    return is_shared(s->type) && wanted_type(a, s->type) && s->last_updated >= a->since;
}

/* Replaces the (empty) text of a found resource with the stored one. */
static bool fill_json(void *ctx, int64_t rid, const sv_stored *s)
{
    sv_found *f = ctx;
    (void)rid;
    char *json = malloc(s->json_len + 1);
    if (!json)
        abort();
    memcpy(json, s->json ? s->json : "", s->json_len);
    json[s->json_len] = '\0';
    free(f->json);
    f->json = json;
    f->json_len = s->json_len;
    return true;
}

/* Reads the next limit compartment resources after the cursor: one index range
 * per type (the asked ones, or every stored type that can be in a Patient
 * compartment), keys only (the text is read for the page only), merged by row
 * id; and the total. */
static sv_err read_page(sv_db *db, const sv_access_filter *acc, const char *patient_id,
                        const args *a, int64_t limit, sv_found_list *ret, int64_t *ret_total,
                        sv_buf *err)
{
    sv_store_referrers_query q = {.param = SV_COMPARTMENT_PARAM,
                                  .target_type = "Patient",
                                  .target_id = patient_id,
                                  .since = a->since,
                                  .after_rid = a->cursor,
                                  .limit = limit,
                                  .keys_only = true,
                                  .access = acc};
    size_t ntypes = a->ntypes;
    const char *const *types = (const char *const *)a->types;
    if (!ntypes)
        types = sv_fhir_supported_types(&ntypes);
    *ret_total = 0;
    for (size_t i = 0; i < ntypes; i++) {
        if (!sv_compartment_patient_has_type(types[i]))
            continue; /* shared types come only as references */
        q.type = types[i];
        int64_t n = 0;
        sv_err e = sv_store_referrers(db, &q, collect, ret, &n, err);
        if (e)
            return e;
        *ret_total += n;
    }
    if (ret->len > 1)
        qsort(ret->items, ret->len, sizeof(ret->items[0]), by_rid);
    while ((int64_t)ret->len > limit) { /* the smallest row ids over all types */
        ret->len--;
        free(ret->items[ret->len].json);
    }
    return SV_OK;
}

static void link_to(sv_buf *links, const char *rel, const sv_rest *r, const char *patient_id,
                    const args *a, int64_t cursor)
{
    sv_buf url = SV_BUF_INIT, query = SV_BUF_INIT;
    sv_buf_add(&query, a->self.ptr, a->self.len);
    char n[24];
    snprintf(n, sizeof(n), "%lld", (long long)a->count);
    sv__search_link_param(&query, "_count", n);
    if (cursor) {
        snprintf(n, sizeof(n), "%lld", (long long)cursor);
        sv__search_link_param(&query, "_cursor", n);
    }
    sv_buf_addf(&url, "%s/Patient/%s/$everything%s", r->base_url, patient_id, query.ptr);
    sv__search_link(links, rel, url.ptr);
    sv_buf_release(&url);
    sv_buf_release(&query);
}

static sv_err patient_exists(sv_db *db, const sv_access_filter *acc, const char *id,
                             sv_outcome *out)
{
    sv_stored s;
    sv_buf err = SV_BUF_INIT;
    bool visible = true;
    sv_err e = sv_id_valid(id, strlen(id)) ? SV_OK : SV_ERR_NOT_FOUND;
    if (!e && acc)
        e = sv_access_visible(db, acc, "Patient", id, &visible, &err);
    if (!e && !visible)
        e = SV_ERR_NOT_FOUND; /* invisible: exactly like missing */
    if (!e)
        e = sv_store_current(db, "Patient", id, false, &s, &err);
    sv_buf_release(&err);
    if (e == SV_ERR_NOT_FOUND) {
        sv_outcome_add(out, SV_SEV_ERROR, "not-found", NULL, "Patient/%s is not known", id);
        return e;
    }
    if (e)
        return sv__search_storage_fail(out, e);
    bool deleted = s.deleted;
    sv_stored_clear(&s);
    if (deleted) {
        sv_outcome_add(out, SV_SEV_ERROR, "deleted", NULL, "Patient/%s was deleted", id);
        return SV_ERR_GONE;
    }
    return SV_OK;
}

sv_err sv_search_everything(struct sv_rest *r, const char *patient_id, const sv_query *q,
                            const json_t *params, bool lenient, struct sv_rest_result *res)
{
    args a = {.count = r->default_count, .since = INT64_MIN};
    sv_buf_init(&a.self);
    sv_found_list page = SV_FOUND_LIST_INIT, included = SV_FOUND_LIST_INIT;
    sv_outcome warnings = SV_OUTCOME_INIT;
    sv_buf err = SV_BUF_INIT, links = SV_BUF_INIT;
    bool owned = false;
    sv_err e = SV_OK;
    for (size_t i = 0; q && i < q->len && !e; i++)
        e = take(&a, r, q->params[i].name, q->params[i].value, lenient, &res->outcome);
    if (!e && params)
        e = take_parameters(&a, r, params, lenient, &res->outcome);
    if (e)
        goto out;

    owned = !sv_db_in_tx(r->db);
    if (owned && (e = sv_db_begin(r->db, SV_TX_READ, &err)) != SV_OK) {
        owned = false;
        sv__search_storage_fail(&res->outcome, e);
        goto out;
    }
    const sv_access_filter *acc = sv_policy_filter(r->access);
    e = patient_exists(r->db, acc, patient_id, &res->outcome);
    if (e)
        goto out;
    int64_t total = 0;
    /* One more than the page tells whether a next page exists. */
    e = read_page(r->db, acc, patient_id, &a, a.count + (a.count > 0), &page, &total, &err);
    bool more = (int64_t)page.len > a.count;
    if (more) {
        page.len--;
        free(page.items[page.len].json);
    }
    for (size_t i = 0; !e && i < page.len; i++)
        e = sv_store_by_rid(r->db, acc, page.items[i].rid, fill_json, &page.items[i], &err);
    if (!e && page.len) {
        sv_include_spec refs = {0}; /* every reference of every matched resource */
        accept_ctx actx = {&a};
        sv_include_options opt = {.accept = accept_reference, .accept_ctx = &actx, .access = acc};
        e = sv_include_run(r->db, &refs, 1, &page, &opt, &included, &warnings, &err);
    }
    if (e) {
        sv__search_storage_fail(&res->outcome, e);
        goto out;
    }
    link_to(&links, "self", r, patient_id, &a, a.cursor_set ? a.cursor : 0);
    if (more && page.len)
        link_to(&links, "next", r, patient_id, &a, page.items[page.len - 1].rid);
    sv__search_bundle_parts parts = {.matches = &page,
                                     .included = &included,
                                     .warnings = &warnings,
                                     .total = total,
                                     .links = &links};
    sv__search_bundle_write(res, r->base_url, &parts);
out:
    if (owned)
        sv_db_rollback(r->db); /* a read snapshot: nothing to keep */
    sv_buf_release(&err);
    sv_buf_release(&links);
    sv_outcome_clear(&warnings);
    sv_found_list_clear(&page);
    sv_found_list_clear(&included);
    args_clear(&a);
    return e;
}
