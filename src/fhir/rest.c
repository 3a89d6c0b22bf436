/* rest.c - see rest.h. */
#include "fhir/rest.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/id.h"
#include "base/json.h"
#include "fhir/compartment.h"
#include "fhir/index.h"
#include "fhir/patch.h"
#include "fhir/search.h"
#include "fhir/types.h"
#include "fhir/validate.h"
#include "store/resource.h"

void sv_rest_result_init(sv_rest_result *res)
{
    memset(res, 0, sizeof(*res));
    sv_buf_init(&res->body);
    sv_outcome_init(&res->outcome);
}

void sv_rest_result_clear(sv_rest_result *res)
{
    if (!res)
        return;
    sv_buf_release(&res->body);
    sv_outcome_clear(&res->outcome);
    memset(res, 0, sizeof(*res));
    sv_buf_init(&res->body);
}

void sv_fhir_dump(const json_t *j, sv_buf *out)
{
    if (sv_json_dumpb(j, out) != SV_OK)
        abort(); /* only on a NULL value or out of memory */
}

void sv_json_quote(sv_buf *out, const char *s)
{
    json_t *j = json_string(s ? s : "");
    if (!j) { /* not valid UTF-8: never happens for our own strings */
        sv_buf_adds(out, "\"\"");
        return;
    }
    char *t = json_dumps(j, JSON_ENCODE_ANY | JSON_COMPACT);
    sv_buf_adds(out, t);
    free(t);
    json_decref(j);
}

static void set_name(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src);
}

static sv_err fail(sv_rest_result *res, sv_err e, const char *expression, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static sv_err fail(sv_rest_result *res, sv_err e, const char *expression, const char *fmt, ...)
{
    sv_buf b = SV_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sv_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    sv_outcome_add(&res->outcome, SV_SEV_ERROR, sv_err_issue_code(e), expression, "%s", b.ptr);
    sv_buf_release(&b);
    return e;
}

static sv_err fail_id(sv_rest_result *res, sv_err e, const char *type, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* As fail, with the resource's id as the element at fault ("Patient.id"), so
 * that the expression is a FHIRPath like the validator's. */
static sv_err fail_id(sv_rest_result *res, sv_err e, const char *type, const char *fmt, ...)
{
    char path[96];
    snprintf(path, sizeof(path), "%s.id", type);
    sv_buf b = SV_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sv_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    sv_outcome_add(&res->outcome, SV_SEV_ERROR, sv_err_issue_code(e), path, "%s", b.ptr);
    sv_buf_release(&b);
    return e;
}

static sv_err storage_fail(sv_rest_result *res, sv_err e, sv_buf *err)
{
    /* Storage details may name tables, never patient data; keep them out of the
     * response all the same and say only what kind of failure it was. */
    (void)err;
    if (e == SV_ERR_BUSY)
        return fail(res, e, NULL, "the database is busy; try again");
    return fail(res, e, NULL, "storage failure");
}

static sv_err check_type(sv_rest_result *res, const char *type)
{
    if (!sv_fhir_type_supported(type))
        return fail(res, SV_ERR_NOT_FOUND, NULL, "resource type '%s' is not supported", type);
    return SV_OK;
}

static sv_err check_id(sv_rest_result *res, const char *id)
{
    if (!sv_id_valid(id, strlen(id)))
        return fail(res, SV_ERR_INVALID, NULL, "'%s' is not a valid resource id", id);
    /* R4 allows them, but clients remove "." and ".." from urls (RFC 3986 5.2.4):
     * [type]/.. could never be read back. */
    if (strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return fail(res, SV_ERR_INVALID, NULL,
                    "'%s' cannot be a resource id: it is a dot segment in a url", id);
    return SV_OK;
}

static sv_err tx_begin(sv_rest *r, bool *owned, sv_rest_result *res)
{
    *owned = !sv_db_in_tx(r->db);
    if (!*owned)
        return SV_OK;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_begin(r->db, SV_TX_WRITE, &err);
    if (e)
        storage_fail(res, e, &err);
    sv_buf_release(&err);
    return e;
}

static sv_err tx_end(sv_rest *r, bool owned, sv_err e, sv_rest_result *res)
{
    if (!owned)
        return e;
    if (e) {
        sv_db_rollback(r->db);
        return e;
    }
    sv_buf err = SV_BUF_INIT;
    e = sv_db_commit(r->db, &err);
    if (e)
        storage_fail(res, e, &err);
    sv_buf_release(&err);
    return e;
}

json_t *sv_rest_with_meta(const json_t *resource, const char *id, int64_t version,
                          int64_t last_updated)
{
    json_t *out = json_object();
    json_object_set(out, "resourceType", json_object_get(resource, "resourceType"));
    json_object_set_new(out, "id", json_string(id));
    json_t *meta = json_object();
    char v[24], ts[SV_INSTANT_LEN];
    snprintf(v, sizeof(v), "%lld", (long long)version);
    sv_datetime_format_instant(last_updated, ts);
    json_object_set_new(meta, "versionId", json_string(v));
    json_object_set_new(meta, "lastUpdated", json_string(ts));
    const json_t *old_meta = json_object_get(resource, "meta");
    const char *key;
    json_t *value;
    if (json_is_object(old_meta)) {
        json_object_foreach((json_t *)old_meta, key, value)
        {
            if (strcmp(key, "versionId") != 0 && strcmp(key, "lastUpdated") != 0 &&
                strcmp(key, "_versionId") != 0 && strcmp(key, "_lastUpdated") != 0)
                json_object_set(meta, key, value);
        }
    }
    json_object_set_new(out, "meta", meta);
    json_object_foreach((json_t *)resource, key, value)
    {
        if (strcmp(key, "resourceType") != 0 && strcmp(key, "id") != 0 && strcmp(key, "meta") != 0)
            json_object_set(out, key, value);
    }
    return out;
}

/* Validates the body as a resource of type; issues go to res->outcome. */
static sv_err check_body(sv_rest_result *res, const char *type, const json_t *resource)
{
    if (!json_is_object(resource))
        return fail(res, SV_ERR_INVALID, NULL, "the body must be a json object");
    const char *rt = json_string_value(json_object_get(resource, "resourceType"));
    if (!rt)
        return fail(res, SV_ERR_INVALID, "resourceType", "resourceType is missing");
    if (strcmp(rt, type) != 0)
        return fail(res, SV_ERR_INVALID, "resourceType",
                    "resourceType '%s' does not match the url's type '%s'", rt, type);
    if (sv_fhir_validate(resource, &res->outcome) > 0)
        return SV_ERR_PROCESSING;
    return SV_OK;
}

/* The audit action of a stored method. */
static const char *audit_action(const char *method)
{
    if (strcmp(method, "POST") == 0)
        return "create";
    if (strcmp(method, "PATCH") == 0)
        return "patch";
    if (strcmp(method, "DELETE") == 0)
        return "delete";
    return "update";
}

/* Appends the audit record of a write in the write's own transaction, so that
 * an acknowledged write has its record and a rolled-back one has neither.
 * citizen may be NULL or "". */
static sv_err audit_write(sv_rest *r, const char *method, const char *type, const char *id,
                          int64_t version, int64_t now, const char *citizen, int status,
                          sv_buf *err)
{
    sv_audit_record rec = {.time_ms = now,
                           .citizen = citizen && *citizen ? citizen : NULL,
                           .action = audit_action(method),
                           .resource_type = type,
                           .resource_id = id,
                           .resource_version = version,
                           .outcome = status};
    sv_audit_record_set_actor(&rec, r->actor);
    rec.purpose = sv_policy_purpose(r->db, r->access, rec.citizen, rec.purpose);
    return sv_audit_append(r->db, &rec, NULL, err);
}

/* The citizen of a resource about to be written: the smallest patient id among
 * its compartment rows (as sv_audit_citizen_of picks for reads), or NULL. */
static const char *rows_citizen(const sv_index_rows *rows)
{
    const char *best = NULL;
    for (size_t i = 0; i < rows->len; i++) {
        const sv_index_row *row = &rows->rows[i];
        if (row->kind == SV_INDEX_REFERENCE && strcmp(row->param, SV_COMPARTMENT_PARAM) == 0 &&
            row->value && (!best || strcmp(row->value, best) < 0))
            best = row->value;
    }
    return best;
}

/* The citizens whose grants a write of type/id changes, as sv_policy_patients_of
 * finds them after the write, added to list: for the types whose citizens are their
 * Patient compartments, from the compartment rows just written (in the statement's
 * order, the ids ascending) instead of reading them back. */
static sv_err patients_written(sv_db *db, const char *type, const char *id,
                               const sv_index_rows *rows, sv_policy_patients *list, sv_buf *err)
{
    if (strcmp(type, "Patient") == 0 || strcmp(type, "PractitionerRole") == 0)
        return sv_policy_patients_of(db, type, id, list, err);
    for (const char *last = NULL;;) {
        const char *next = NULL;
        for (size_t i = 0; i < rows->len; i++) {
            const sv_index_row *row = &rows->rows[i];
            if (row->kind == SV_INDEX_REFERENCE && strcmp(row->param, SV_COMPARTMENT_PARAM) == 0 &&
                row->value && (!last || strcmp(row->value, last) > 0) &&
                (!next || strcmp(row->value, next) < 0))
                next = row->value;
        }
        if (!next)
            return SV_OK;
        sv_policy_patients_add(list, next);
        last = next;
    }
}

/* Writes a new version of an already validated resource, fills res.  status is
 * the answer's status (201 or 200), for the audit record. */
/* The current, not deleted version of type/id parsed into *ret_old for the write
 * hooks (NULL when there is none). */
static sv_err hook_old_version(sv_rest *r, const char *type, const char *id, int64_t version,
                               json_t **ret_old, sv_rest_result *res)
{
    *ret_old = NULL;
    if (!r->hooks || version <= 1)
        return SV_OK;
    sv_stored cur;
    sv_err e = sv_store_current(r->db, type, id, true, &cur, NULL);
    if (e == SV_ERR_NOT_FOUND)
        return SV_OK;
    if (e)
        return storage_fail(res, e, NULL);
    if (!cur.deleted && cur.json)
        *ret_old = sv_json_loadb(cur.json, cur.json_len, 0, NULL);
    sv_stored_clear(&cur);
    return SV_OK;
}

/* Runs the before_write hook on a copy of resource; *ret_resource is the copy to
 * store (caller decrefs), or NULL without a hook. */
static sv_err hook_before(sv_rest *r, const char *type, const char *id, const json_t *old,
                          const json_t *resource, json_t **ret_resource, sv_rest_result *res)
{
    *ret_resource = NULL;
    if (!r->hooks || !r->hooks->before_write)
        return SV_OK;
    json_t *copy = json_deep_copy(resource);
    if (!copy)
        return fail(res, SV_ERR_NOMEM, NULL, "out of memory");
    sv_err e = r->hooks->before_write(r->hooks->ctx, r, type, id, old, copy, &res->outcome);
    /* resource passed validation already; most hooks leave most types as they are */
    if (!e && !json_equal(copy, resource) && sv_fhir_validate(copy, &res->outcome) > 0)
        e = SV_ERR_PROCESSING;
    if (e) {
        json_decref(copy);
        return e;
    }
    *ret_resource = copy;
    return SV_OK;
}

static sv_err write_version(sv_rest *r, const char *type, const char *id, int64_t version,
                            const char *method, const json_t *resource, int status,
                            sv_rest_result *res)
{
    json_t *old = NULL, *changed = NULL;
    sv_err e = hook_old_version(r, type, id, version, &old, res);
    if (!e)
        e = hook_before(r, type, id, old, resource, &changed, res);
    if (e) {
        json_decref(old);
        return e;
    }
    if (changed)
        resource = changed;
    int64_t now = sv_clock_now_ms();
    json_t *stored = sv_rest_with_meta(resource, id, version, now);
    json_decref(changed);
    sv_buf_reset(&res->body);
    sv_fhir_dump(stored, &res->body);
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    sv_fhir_index_extract(stored, &rows);
    sv_compartment_rows(type, id, &rows); /* Patient compartments, from the rows above */
    int category = sv_policy_category(type, sv_compartment_patient_has_type(type), stored);
    sv_buf err = SV_BUF_INIT;
    sv_policy_patients before = {0};
    /* Grants as they are before this write decide whether it is allowed. */
    e = sv_policy_check_write(r->db, r->access, type, version == 1 || status == 201, stored,
                              category, &rows, &err);
    if (e == SV_ERR_FORBIDDEN) {
        fail(res, e, NULL, "%s", err.ptr ? err.ptr : "forbidden");
        goto out;
    }
    /* What the grants are derived from is as it was (old: only with hooks): no
     * citizen's grants change, nothing is derived.  A first version has nothing
     * before it. */
    bool grants_kept = sv_policy_grant_inputs_same(type, old, stored);
    if (!e && version > 1 && sv_policy_type_grants(type) && !grants_kept)
        e = sv_policy_patients_of(r->db, type, id, &before, &err);
    if (!e) /* the category with the row: the worklist rows take it as they are written */
        e = sv_store_write_category(r->db, type, id, version, now, method, res->body.ptr,
                                    res->body.len, &rows, category, &err);
    if (!e && res->keep_recent) /* stored shares the caller's values, which it leaves alone */
        sv_store_recent_put(r->db, type, id, version, stored);
    if (!e && grants_kept) {
        /* nothing to derive */
    } else if (!e && r->defer_grants && !r->access && sv_policy_type_grants(type)) {
        for (size_t i = 0; i < before.len; i++)
            sv_policy_patients_add(r->defer_grants, before.ids[i]);
        e = patients_written(r->db, type, id, &rows, r->defer_grants, &err);
    } else if (!e) {
        e = sv_policy_after_write(r->db, r->access, type, id, stored, version == 1 || status == 201,
                                  &before, &err);
    }
    if (e == SV_ERR_FORBIDDEN) {
        fail(res, e, NULL, "%s", err.ptr ? err.ptr : "forbidden");
        goto out;
    }
    if (!e)
        e = audit_write(r, method, type, id, version, now, rows_citizen(&rows), status, &err);
    if (e)
        storage_fail(res, e, &err);
    if (!e && r->hooks && r->hooks->after_write)
        e = r->hooks->after_write(r->hooks->ctx, r, type, id, version, old, stored, &res->outcome);
out:
    if (e && res->keep_recent)
        sv_store_recent_forget(r->db, type, id);
    sv_policy_patients_clear(&before);
    sv_index_rows_clear(&rows);
    sv_buf_release(&err);
    json_decref(stored);
    json_decref(old);
    if (e) {
        sv_buf_reset(&res->body);
        return e;
    }
    set_name(res->type, sizeof(res->type), type);
    set_name(res->id, sizeof(res->id), id);
    res->version = version;
    res->last_updated = now;
    return SV_OK;
}

/* Whether type/id is hidden from the caller by the access policy (then it is
 * answered exactly like a missing resource). */
static sv_err hidden(sv_rest *r, const char *type, const char *id, bool *ret_hidden,
                     sv_rest_result *res)
{
    *ret_hidden = false;
    const sv_access_filter *f = sv_policy_filter(r->access);
    if (!f)
        return SV_OK;
    bool visible = false;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_access_visible(r->db, f, type, id, &visible, &err);
    if (e)
        storage_fail(res, e, &err);
    sv_buf_release(&err);
    *ret_hidden = !visible;
    return e;
}

/* hidden() that answers 404 itself: SV_ERR_NOT_FOUND when hidden. */
static sv_err check_visible(sv_rest *r, const char *type, const char *id, sv_rest_result *res)
{
    bool h = false;
    sv_err e = hidden(r, type, id, &h, res);
    if (!e && h)
        e = fail(res, SV_ERR_NOT_FOUND, NULL, "%s/%s is not known", type, id);
    return e;
}

static sv_err answer_stored(sv_rest_result *res, sv_stored *s, int status)
{
    sv_buf_reset(&res->body);
    if (s->json)
        sv_buf_add(&res->body, s->json, s->json_len);
    set_name(res->type, sizeof(res->type), s->type);
    set_name(res->id, sizeof(res->id), s->id);
    res->version = s->version;
    res->last_updated = s->last_updated;
    res->status = status;
    return SV_OK;
}

/* The current version of type/id into *ret (caller clears); a missing resource or a
 * storage failure is answered in res->outcome. */
static sv_err load_current(sv_rest *r, const char *type, const char *id, bool with_json,
                           sv_stored *ret, sv_rest_result *res)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_store_current(r->db, type, id, with_json, ret, &err);
    if (e == SV_ERR_NOT_FOUND)
        fail(res, e, NULL, "%s/%s is not known", type, id);
    else if (e)
        storage_fail(res, e, &err);
    sv_buf_release(&err);
    return e;
}

sv_err sv_rest_read(sv_rest *r, const char *type, const char *id, sv_rest_result *res)
{
    sv_err e = check_type(res, type);
    if (e)
        return e;
    if (!sv_id_valid(id, strlen(id)))
        return fail(res, SV_ERR_NOT_FOUND, NULL, "%s/%s is not known", type, id);
    /* The policy's check in the read's own statement: one statement, not two. */
    sv_stored s;
    sv_buf err = SV_BUF_INIT;
    e = sv_store_current_visible(r->db, sv_policy_filter(r->access), type, id, &s, &err);
    if (e == SV_ERR_NOT_FOUND)
        fail(res, e, NULL, "%s/%s is not known", type, id);
    else if (e)
        storage_fail(res, e, &err);
    sv_buf_release(&err);
    if (e)
        return e;
    if (s.deleted) {
        res->version = s.version;
        res->last_updated = s.last_updated;
        sv_stored_clear(&s);
        return fail(res, SV_ERR_GONE, NULL, "%s/%s was deleted", type, id);
    }
    answer_stored(res, &s, 200);
    sv_stored_clear(&s);
    return SV_OK;
}

sv_err sv_rest_vread(sv_rest *r, const char *type, const char *id, const char *version,
                     sv_rest_result *res)
{
    sv_err e = check_type(res, type);
    if (e)
        return e;
    char *end = NULL;
    long long v = strtoll(version, &end, 10);
    if (!sv_id_valid(id, strlen(id)) || !end || *end || v < 1)
        return fail(res, SV_ERR_NOT_FOUND, NULL, "%s/%s version '%s' is not known", type, id,
                    version);
    bool h = false;
    e = hidden(r, type, id, &h, res);
    if (e)
        return e;
    if (h)
        return fail(res, SV_ERR_NOT_FOUND, NULL, "%s/%s version '%s' is not known", type, id,
                    version);
    sv_stored s;
    sv_buf err = SV_BUF_INIT;
    e = sv_store_vread(r->db, type, id, v, &s, &err);
    if (e == SV_ERR_NOT_FOUND) {
        sv_buf_release(&err);
        return fail(res, e, NULL, "%s/%s version '%s' is not known", type, id, version);
    }
    if (e) {
        storage_fail(res, e, &err);
        sv_buf_release(&err);
        return e;
    }
    sv_buf_release(&err);
    if (s.deleted) {
        res->version = s.version;
        sv_stored_clear(&s);
        return fail(res, SV_ERR_GONE, NULL, "%s/%s version %s is a deletion", type, id, version);
    }
    answer_stored(res, &s, 200);
    sv_stored_clear(&s);
    return SV_OK;
}

typedef struct first_match {
    sv_stored first;
    int64_t n;
} first_match;

static bool keep_first(void *ctx, const sv_stored *s)
{
    first_match *m = ctx;
    if (m->n++ == 0) {
        m->first = *s;
        m->first.json = s->json ? strndup(s->json, s->json_len) : NULL;
    }
    return m->n < 2;
}

/* Runs a parsed conditional query; *ret_match gets the single match (caller
 * clears).  Returns SV_ERR_MULTIPLE on more than one match. */
static sv_err conditional_match_query(sv_rest *r, const char *type, const sv_query *q,
                                      first_match *ret_match, sv_rest_result *res)
{
    /* _format and _pretty say how to answer, not what to match: a condition of
     * only those would match every resource of the type. */
    size_t criteria = 0;
    for (size_t i = 0; i < q->len; i++)
        if (strcmp(q->params[i].name, "_format") != 0 && strcmp(q->params[i].name, "_pretty") != 0)
            criteria++;
    if (criteria == 0)
        return fail(res, SV_ERR_INVALID, NULL, "a conditional request needs search parameters");
    memset(ret_match, 0, sizeof(*ret_match));
    sv_err e = sv_search_find(r->db, sv_policy_filter(r->access), type, q, 0, 2, keep_first,
                              ret_match, NULL, &res->outcome);
    if (e) {
        sv_stored_clear(&ret_match->first); /* a match may have been copied before the failure */
        return e;
    }
    if (ret_match->n > 1) {
        sv_stored_clear(&ret_match->first);
        return fail(res, SV_ERR_MULTIPLE, NULL, "the conditional request matched more than one %s",
                    type);
    }
    return SV_OK;
}

/* As conditional_match_query, for a query in its text form ("a=b&c=d"). */
static sv_err conditional_match(sv_rest *r, const char *type, const char *query,
                                first_match *ret_match, sv_rest_result *res)
{
    sv_query q;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_query_parse(query, &q, &err);
    if (e) {
        fail(res, e, NULL, "%s", err.ptr);
        sv_buf_release(&err);
        return e;
    }
    sv_buf_release(&err);
    e = conditional_match_query(r, type, &q, ret_match, res);
    sv_query_clear(&q);
    return e;
}

sv_err sv_rest_create(sv_rest *r, const char *type, const json_t *resource,
                      const char *if_none_exist, sv_rest_result *res)
{
    sv_err e = check_type(res, type);
    if (!e)
        e = check_body(res, type, resource);
    if (e)
        return e;
    bool owned;
    e = tx_begin(r, &owned, res);
    if (e)
        return e;
    if (if_none_exist && *if_none_exist) {
        first_match m;
        e = conditional_match(r, type, if_none_exist, &m, res);
        if (!e && m.n == 1) {
            answer_stored(res, &m.first, 200);
            sv_stored_clear(&m.first);
            return tx_end(r, owned, SV_OK, res);
        }
        if (e)
            return tx_end(r, owned, e, res);
    }
    char id[SV_UUID_LEN];
    sv_id_uuid(id);
    e = write_version(r, type, id, 1, "POST", resource, 201, res);
    e = tx_end(r, owned, e, res);
    if (!e) {
        res->status = 201;
        res->created = true;
    }
    return e;
}

sv_err sv_rest_create_as(sv_rest *r, const char *type, const json_t *resource, const char *id,
                         sv_rest_result *res)
{
    sv_err e = check_type(res, type);
    if (!e)
        e = check_id(res, id);
    if (!e)
        e = check_body(res, type, resource);
    if (e)
        return e;
    bool owned;
    e = tx_begin(r, &owned, res);
    if (e)
        return e;
    e = write_version(r, type, id, 1, "POST", resource, 201, res);
    e = tx_end(r, owned, e, res);
    if (!e) {
        res->status = 201;
        res->created = true;
    }
    return e;
}

sv_err sv_rest_match(sv_rest *r, const char *type, const char *query, int *ret_count,
                     char ret_id[65], sv_rest_result *res)
{
    sv_err e = check_type(res, type);
    if (e)
        return e;
    first_match m;
    e = conditional_match(r, type, query, &m, res);
    if (e == SV_ERR_MULTIPLE) {
        *ret_count = 2;
        return e;
    }
    if (e)
        return e;
    *ret_count = (int)m.n;
    if (m.n == 1)
        set_name(ret_id, 65, m.first.id);
    sv_stored_clear(&m.first);
    return SV_OK;
}

/* Parses an ETag value W/"3" (or "3") into a version number; -1 when malformed. */
static int64_t etag_version(const char *etag)
{
    const char *p = etag;
    if (strncmp(p, "W/", 2) == 0)
        p += 2;
    size_t n = strlen(p);
    if (n >= 2 && p[0] == '"' && p[n - 1] == '"') {
        p++;
        n -= 2;
    }
    if (n == 0 || n > 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* The update core, inside a transaction; resource already validated. */
static sv_err update_locked(sv_rest *r, const char *type, const char *id, const json_t *resource,
                            const char *if_match, const char *method, sv_rest_result *res)
{
    sv_stored cur;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_store_current(r->db, type, id, false, &cur, &err);
    bool exists = e == SV_OK;
    if (e && e != SV_ERR_NOT_FOUND) {
        storage_fail(res, e, &err);
        sv_buf_release(&err);
        return e;
    }
    sv_buf_release(&err);
    if (exists && !cur.deleted && (e = check_visible(r, type, id, res)) != SV_OK)
        return e;
    if (if_match) {
        int64_t want = etag_version(if_match);
        if (want < 0)
            return fail(res, SV_ERR_INVALID, NULL, "If-Match '%s' is not a version etag", if_match);
        if (!exists || cur.deleted || cur.version != want)
            return fail(res, SV_ERR_PRECONDITION, NULL,
                        "If-Match %s does not match the current version of %s/%s", if_match, type,
                        id);
    }
    int64_t version = exists ? cur.version + 1 : 1;
    bool created = !exists || cur.deleted;
    e = write_version(r, type, id, version, method, resource, created ? 201 : 200, res);
    if (!e) {
        res->created = !exists || cur.deleted;
        res->status = res->created ? 201 : 200;
    }
    return e;
}

sv_err sv_rest_update(sv_rest *r, const char *type, const char *id, const json_t *resource,
                      const char *if_match, sv_rest_result *res)
{
    sv_err e = check_type(res, type);
    if (!e)
        e = check_id(res, id);
    if (!e)
        e = check_body(res, type, resource);
    if (e)
        return e;
    const json_t *body_id = json_object_get(resource, "id");
    if (!body_id)
        return fail_id(res, SV_ERR_INVALID, type, "the resource has no id; an update needs one");
    if (!json_is_string(body_id) || strcmp(json_string_value(body_id), id) != 0)
        return fail_id(res, SV_ERR_INVALID, type,
                       "the resource's id does not match the url's id '%s'", id);
    bool owned;
    e = tx_begin(r, &owned, res);
    if (e)
        return e;
    e = update_locked(r, type, id, resource, if_match, "PUT", res);
    return tx_end(r, owned, e, res);
}

sv_err sv_rest_update_conditional(sv_rest *r, const char *type, const sv_query *criteria,
                                  const json_t *resource, const char *if_match, sv_rest_result *res)
{
    sv_err e = check_type(res, type);
    if (!e)
        e = check_body(res, type, resource);
    if (e)
        return e;
    const json_t *body_id = json_object_get(resource, "id");
    if (body_id && !json_is_string(body_id))
        return fail_id(res, SV_ERR_INVALID, type, "the resource's id must be a string");
    const char *given = json_string_value(body_id);
    if (given && (e = check_id(res, given)))
        return e;
    bool owned;
    e = tx_begin(r, &owned, res);
    if (e)
        return e;
    /* The search and the write share one transaction, so that two conditional
     * updates with the same criteria cannot both create. */
    first_match m;
    e = conditional_match_query(r, type, criteria, &m, res);
    if (e)
        return tx_end(r, owned, e, res);
    _Static_assert(SV_UUID_LEN <= 65, "a generated id fits an id buffer");
    char id[65];
    if (m.n == 1) {
        snprintf(id, sizeof(id), "%s", m.first.id);
        sv_stored_clear(&m.first);
        if (given && strcmp(given, id) != 0)
            return tx_end(r, owned,
                          fail_id(res, SV_ERR_INVALID, type,
                                  "the resource's id '%s' is not the id of the match '%s'", given,
                                  id),
                          res);
    } else if (given) {
        /* No match, but the client named an id: update-as-create, unless that
         * id is taken by a resource the criteria did not match. */
        sv_stored cur;
        sv_buf err = SV_BUF_INIT;
        e = sv_store_current(r->db, type, given, false, &cur, &err);
        sv_buf_release(&err);
        if (e == SV_OK && !cur.deleted)
            return tx_end(r, owned,
                          fail_id(res, SV_ERR_CONFLICT, type,
                                  "%s/%s exists but does not match the conditional update", type,
                                  given),
                          res);
        if (e && e != SV_ERR_NOT_FOUND)
            return tx_end(r, owned, storage_fail(res, e, NULL), res);
        snprintf(id, sizeof(id), "%s", given);
    } else {
        sv_id_uuid(id);
    }
    e = update_locked(r, type, id, resource, if_match, "PUT", res);
    return tx_end(r, owned, e, res);
}

sv_err sv_rest_patch(sv_rest *r, const char *type, const char *id, const json_t *patch,
                     const char *if_match, sv_rest_result *res)
{
    sv_err e = check_type(res, type);
    if (e)
        return e;
    if (!sv_id_valid(id, strlen(id)))
        return fail(res, SV_ERR_NOT_FOUND, NULL, "%s/%s is not known", type, id);
    bool owned;
    e = tx_begin(r, &owned, res);
    if (e)
        return e;
    sv_stored cur;
    e = check_visible(r, type, id, res);
    if (!e)
        e = load_current(r, type, id, true, &cur, res);
    if (e)
        return tx_end(r, owned, e, res);
    if (cur.deleted) {
        sv_stored_clear(&cur);
        return tx_end(r, owned, fail(res, SV_ERR_GONE, NULL, "%s/%s was deleted", type, id), res);
    }
    json_error_t jerr;
    json_t *doc = sv_json_loadb(cur.json, cur.json_len, JSON_REJECT_DUPLICATES, &jerr);
    sv_stored_clear(&cur);
    if (!doc)
        return tx_end(r, owned, fail(res, SV_ERR_INTERNAL, NULL, "stored resource unreadable"),
                      res);
    e = sv_json_patch_apply(doc, patch, &res->outcome);
    if (!e) {
        const char *rt = json_string_value(json_object_get(doc, "resourceType"));
        const char *pid = json_string_value(json_object_get(doc, "id"));
        if (!rt || strcmp(rt, type) != 0)
            e = fail(res, SV_ERR_PROCESSING, "resourceType", "a patch may not change resourceType");
        else if (!pid || strcmp(pid, id) != 0)
            e = fail_id(res, SV_ERR_PROCESSING, type, "a patch may not change or remove the id");
    }
    if (!e && sv_fhir_validate(doc, &res->outcome) > 0)
        e = SV_ERR_PROCESSING;
    if (!e)
        e = update_locked(r, type, id, doc, if_match, "PATCH", res);
    json_decref(doc);
    return tx_end(r, owned, e, res);
}

/* The write rule for a delete, and the patients whose grants it may change (the
 * current compartments, before the rows go).  SV_ERR_FORBIDDEN is answered in res. */
static sv_err check_delete(sv_rest *r, const char *type, const char *id, sv_policy_patients *before,
                           sv_rest_result *res, sv_buf *err)
{
    sv_policy_patients comp = {0};
    sv_err e = sv_access_compartments(r->db, type, id, sv_policy_patients_add, &comp, err);
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    for (size_t i = 0; !e && i < comp.len; i++)
        sv_index_rows_add(&rows, SV_INDEX_REFERENCE, SV_COMPARTMENT_PARAM, "Patient", comp.ids[i],
                          NULL);
    if (!e) {
        int category = sv_policy_category(type, sv_compartment_patient_has_type(type), NULL);
        e = sv_policy_check_write(r->db, r->access, type, false, NULL, category, &rows, err);
        if (e == SV_ERR_FORBIDDEN)
            fail(res, e, NULL, "%s", err->ptr ? err->ptr : "forbidden");
    }
    if (!e && sv_policy_type_grants(type))
        e = sv_policy_patients_of(r->db, type, id, before, err);
    sv_index_rows_clear(&rows);
    sv_policy_patients_clear(&comp);
    return e;
}

sv_err sv_rest_delete(sv_rest *r, const char *type, const char *id, const char *if_match,
                      sv_rest_result *res)
{
    sv_err e = check_type(res, type);
    if (e)
        return e;
    if (!sv_id_valid(id, strlen(id)))
        return fail(res, SV_ERR_NOT_FOUND, NULL, "%s/%s is not known", type, id);
    int64_t want = if_match ? etag_version(if_match) : 0;
    if (want < 0)
        return fail(res, SV_ERR_INVALID, NULL, "If-Match '%s' is not a version etag", if_match);
    bool owned;
    e = tx_begin(r, &owned, res);
    if (e)
        return e;
    sv_stored cur;
    e = check_visible(r, type, id, res);
    if (!e)
        e = load_current(r, type, id, false, &cur, res);
    if (e)
        return tx_end(r, owned, e, res);
    /* RFC 9110 13.2.1: an unknown resource stays 404 (the precondition is not
     * evaluated then); a deleted one has no current version to match, as in
     * update_locked. */
    if (if_match && (cur.deleted || cur.version != want))
        return tx_end(r, owned,
                      fail(res, SV_ERR_PRECONDITION, NULL,
                           "If-Match %s does not match the current version of %s/%s", if_match,
                           type, id),
                      res);
    sv_buf err = SV_BUF_INIT;
    if (!cur.deleted) {
        int64_t now = sv_clock_now_ms();
        /* The citizen from the compartment rows before the deletion removes them. */
        char citizen[65];
        sv_policy_patients before = {0};
        e = sv_audit_citizen_of(r->db, type, id, citizen, &err);
        if (!e)
            e = check_delete(r, type, id, &before, res, &err);
        if (!e)
            e = sv_store_write(r->db, type, id, cur.version + 1, now, "DELETE", NULL, 0, NULL,
                               &err);
        if (!e) {
            e = sv_policy_after_write(r->db, r->access, type, id, NULL, false, &before, &err);
            if (e == SV_ERR_FORBIDDEN)
                fail(res, e, NULL, "%s", err.ptr ? err.ptr : "forbidden");
        }
        sv_policy_patients_clear(&before);
        if (e == SV_ERR_FORBIDDEN) {
            sv_buf_release(&err);
            return tx_end(r, owned, e, res);
        }
        if (!e)
            e = audit_write(r, "DELETE", type, id, cur.version + 1, now, citizen, 204, &err);
        if (!e) {
            res->version = cur.version + 1;
            res->last_updated = now;
        }
    }
    if (e)
        storage_fail(res, e, &err);
    sv_buf_release(&err);
    set_name(res->type, sizeof(res->type), type);
    set_name(res->id, sizeof(res->id), id);
    res->status = 204;
    return tx_end(r, owned, e, res);
}

/* ---- history ------------------------------------------------------------ */

typedef struct history_ctx {
    sv_rest *r;
    sv_buf *out;
    int64_t n;
    int64_t max;
    int64_t last_seq;
    bool more;
} history_ctx;

static bool history_visit(void *ctx, const sv_stored *s)
{
    history_ctx *h = ctx;
    if (h->n == h->max) {
        h->more = true;
        return false;
    }
    sv_buf *out = h->out;
    if (h->n++)
        sv_buf_addc(out, ',');
    h->last_seq = s->seq;
    sv_buf url = SV_BUF_INIT;
    sv_buf_addf(&url, "%s/%s/%s", h->r->base_url, s->type, s->id);
    sv_buf_adds(out, "{\"fullUrl\":");
    sv_json_quote(out, url.ptr);
    sv_buf_release(&url);
    if (!s->deleted && s->json) {
        sv_buf_adds(out, ",\"resource\":");
        sv_buf_add(out, s->json, s->json_len);
    }
    bool post = strcmp(s->method, "POST") == 0;
    sv_buf_addf(out, ",\"request\":{\"method\":\"%s\",\"url\":\"%s%s%s\"}", s->method, s->type,
                post ? "" : "/", post ? "" : s->id);
    char ts[SV_INSTANT_LEN];
    sv_datetime_format_instant(s->last_updated, ts);
    const char *status = s->deleted ? "204" : (s->version == 1 ? "201" : "200");
    sv_buf_addf(out,
                ",\"response\":{\"status\":\"%s\",\"etag\":\"W/\\\"%lld\\\"\",\"lastModified\":"
                "\"%s\"}}",
                status, (long long)s->version, ts);
    return true;
}

static bool parse_count(const char *v, int64_t *ret)
{
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (!*v || !end || *end || n < 0)
        return false;
    *ret = n;
    return true;
}

static void add_link(sv_buf *out, const char *rel, const char *url, bool *first)
{
    if (!*first)
        sv_buf_addc(out, ',');
    *first = false;
    sv_buf_addf(out, "{\"relation\":\"%s\",\"url\":", rel);
    sv_json_quote(out, url);
    sv_buf_addc(out, '}');
}

/* Appends a query value percent-encoded: a link must give back the value the
 * client sent, and a raw '+' (as in "+01:00") would come back as a space. */
static void add_query_value(sv_buf *out, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
        if (isalnum(*p) || strchr("-._~:", *p)) {
            sv_buf_addc(out, (char)*p);
        } else {
            sv_buf_addc(out, '%');
            sv_buf_addc(out, hex[*p >> 4]);
            sv_buf_addc(out, hex[*p & 15]);
        }
    }
}

sv_err sv_rest_history(sv_rest *r, const char *type, const char *id, const sv_query *q,
                       sv_rest_result *res)
{
    if (type) {
        sv_err e = check_type(res, type);
        if (e)
            return e;
    }
    if (id && !sv_id_valid(id, strlen(id)))
        return fail(res, SV_ERR_NOT_FOUND, NULL, "%s/%s is not known", type, id);
    sv_history_query hq = {.type = type, .id = id, .since = INT64_MIN, .limit = r->default_count};
    for (size_t i = 0; i < q->len; i++) {
        const char *n = q->params[i].name, *v = q->params[i].value;
        if (strcmp(n, "_count") == 0) {
            if (!parse_count(v, &hq.limit))
                return fail(res, SV_ERR_INVALID, "_count", "_count '%s' is not a number", v);
            if (hq.limit > r->max_count)
                hq.limit = r->max_count;
        } else if (strcmp(n, "_since") == 0) {
            sv_datetime_range range;
            if (!sv_datetime_parse(v, strlen(v), &range))
                return fail(res, SV_ERR_INVALID, "_since", "_since '%s' is not an instant", v);
            hq.since = range.low;
        } else if (strcmp(n, "_page") == 0) {
            if (!parse_count(v, &hq.before_seq))
                return fail(res, SV_ERR_INVALID, "_page", "_page '%s' is not a page cursor", v);
        } else if (strcmp(n, "_format") == 0) {
            /* handled by the http layer */
        } else {
            return fail(res, SV_ERR_INVALID, n, "'%s' is not a parameter of history", n);
        }
    }
    if (id) {
        sv_stored cur;
        sv_err e = sv_store_current(r->db, type, id, false, &cur, NULL);
        if (e == SV_ERR_NOT_FOUND)
            return fail(res, e, NULL, "%s/%s is not known", type, id);
        if ((e = check_visible(r, type, id, res)) != SV_OK)
            return e;
    }
    hq.access = sv_policy_filter(r->access);
    sv_buf *out = &res->body;
    sv_buf_reset(out);
    int64_t total = 0;
    sv_buf entries = SV_BUF_INIT;
    history_ctx h = {.r = r, .out = &entries, .max = hq.limit};
    sv_buf err = SV_BUF_INIT;
    sv_history_query fetch = hq;
    fetch.limit = hq.limit + 1; /* one more tells whether there is a next page */
    sv_err e = sv_store_history(r->db, &fetch, history_visit, &h, &total, &err);
    if (e) {
        storage_fail(res, e, &err);
        sv_buf_release(&err);
        sv_buf_release(&entries);
        return e;
    }
    sv_buf_release(&err);
    sv_buf self = SV_BUF_INIT, next = SV_BUF_INIT;
    sv_buf_addf(&self, "%s", r->base_url);
    if (type)
        sv_buf_addf(&self, "/%s", type);
    if (id)
        sv_buf_addf(&self, "/%s", id);
    sv_buf_adds(&self, "/_history");
    sv_buf_add(&next, self.ptr, self.len);
    sv_buf_addf(&self, "?_count=%lld", (long long)hq.limit);
    sv_buf_addf(&next, "?_count=%lld", (long long)hq.limit);
    for (size_t i = 0; i < q->len; i++) {
        if (strcmp(q->params[i].name, "_since") == 0) {
            sv_buf_adds(&self, "&_since=");
            add_query_value(&self, q->params[i].value);
            sv_buf_adds(&next, "&_since=");
            add_query_value(&next, q->params[i].value);
        }
    }
    if (hq.before_seq)
        sv_buf_addf(&self, "&_page=%lld", (long long)hq.before_seq);
    sv_buf_addf(&next, "&_page=%lld", (long long)h.last_seq);
    sv_buf_addf(out, "{\"resourceType\":\"Bundle\",\"type\":\"history\",\"total\":%lld,\"link\":[",
                (long long)total);
    bool first = true;
    add_link(out, "self", self.ptr, &first);
    if (h.more && h.n > 0)
        add_link(out, "next", next.ptr, &first);
    sv_buf_addc(out, ']');
    if (h.n > 0) { /* FHIR JSON has no empty arrays */
        sv_buf_adds(out, ",\"entry\":[");
        sv_buf_add(out, entries.ptr, entries.len);
        sv_buf_addc(out, ']');
    }
    sv_buf_addc(out, '}');
    sv_buf_release(&self);
    sv_buf_release(&next);
    sv_buf_release(&entries);
    res->status = 200;
    return SV_OK;
}
