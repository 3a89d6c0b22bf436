/* bundle.c - see bundle.h. */
#include "fhir/bundle.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/json.h"
#include "base/base64.h"
#include "base/id.h"
#include "fhir/search.h"

typedef enum op_kind { OP_DELETE, OP_POST, OP_PUT, OP_PATCH, OP_GET, OP_HEAD } op_kind;

typedef struct entry {
    op_kind op;
    const json_t *in; /* the request entry (borrowed) */
    json_t *resource; /* a copy with references resolved (owned) */
    char type[64];
    char id[65]; /* target or assigned id */
    char *query; /* conditional part after '?', owned, or NULL */
    const char *full_url;
    bool noop; /* conditional create that matched: answer 200 with the match */
    sv_rest_result res;
    sv_err err;
} entry;

typedef struct mapping {
    const char *from; /* fullUrl (borrowed from the bundle) */
    char to[140];     /* "Type/id" */
} mapping;

static sv_err fail_at(sv_rest_result *res, sv_err e, size_t i, const char *elem, const char *fmt,
                      ...) __attribute__((format(printf, 5, 6)));

static sv_err fail_at(sv_rest_result *res, sv_err e, size_t i, const char *elem, const char *fmt,
                      ...)
{
    char path[96];
    if (elem)
        snprintf(path, sizeof(path), "Bundle.entry[%zu].%s", i, elem);
    else
        snprintf(path, sizeof(path), "Bundle.entry[%zu]", i);
    sv_buf b = SV_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sv_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    sv_outcome_add(&res->outcome, SV_SEV_ERROR, sv_err_issue_code(e), path, "%s", b.ptr);
    sv_buf_release(&b);
    return e;
}

/* Splits a request url ("Patient/1", "Patient?x=y", "http://base/fhir/Patient/1")
 * into type, id and query.  Returns false when it names no resource type. */
static bool split_url(sv_rest *r, const char *url, entry *en)
{
    size_t blen = strlen(r->base_url);
    if (strncmp(url, r->base_url, blen) == 0 && url[blen] == '/')
        url += blen + 1;
    while (*url == '/')
        url++;
    const char *q = strchr(url, '?');
    size_t path_len = q ? (size_t)(q - url) : strlen(url);
    const char *slash = memchr(url, '/', path_len);
    size_t tlen = slash ? (size_t)(slash - url) : path_len;
    if (tlen == 0 || tlen >= sizeof(en->type))
        return false;
    memcpy(en->type, url, tlen);
    en->type[tlen] = '\0';
    en->id[0] = '\0';
    if (slash) {
        size_t ilen = path_len - tlen - 1;
        if (ilen >= sizeof(en->id) || memchr(slash + 1, '/', ilen))
            return false;
        memcpy(en->id, slash + 1, ilen);
        en->id[ilen] = '\0';
    }
    en->query = q ? strdup(q + 1) : NULL;
    return true;
}

static const char *map_lookup(mapping *maps, size_t n, const char *ref)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(maps[i].from, ref) == 0)
            return maps[i].to;
    return NULL;
}

/* Replaces every Reference.reference naming a fullUrl of the bundle, and
 * resolves conditional references ("Patient?identifier=...").  A urn:uuid: or
 * urn:oid: reference that names no entry is an error: stored as it is, it would
 * point nowhere, forever (a Bundle inside an entry keeps its own references). */
static sv_err resolve_refs(sv_rest *r, json_t *node, mapping *maps, size_t nmaps, size_t idx,
                           sv_rest_result *res, int depth, bool in_bundle)
{
    if (depth > 64)
        return SV_OK;
    if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v)
        {
            sv_err e = resolve_refs(r, v, maps, nmaps, idx, res, depth + 1, in_bundle);
            if (e)
                return e;
        }
        return SV_OK;
    }
    if (!json_is_object(node))
        return SV_OK;
    const char *rt = json_string_value(json_object_get(node, "resourceType"));
    if (rt && strcmp(rt, "Bundle") == 0)
        in_bundle = true;
    const char *key;
    json_t *v;
    json_object_foreach(node, key, v)
    {
        if (strcmp(key, "reference") == 0 && json_is_string(v)) {
            const char *ref = json_string_value(v);
            const char *to = map_lookup(maps, nmaps, ref);
            if (to) {
                json_string_set(v, to);
                continue;
            }
            if (!in_bundle &&
                (strncmp(ref, "urn:uuid:", 9) == 0 || strncmp(ref, "urn:oid:", 8) == 0))
                return fail_at(res, SV_ERR_INVALID, idx, NULL,
                               "reference '%s' names no entry of this transaction", ref);
            const char *qm = strchr(ref, '?');
            /* An absolute url has its "://" before the '?'; the criteria of a
             * conditional reference may hold one (identifier=http://...|1). */
            const char *scheme = strstr(ref, "://");
            if (qm && strncmp(ref, "urn:", 4) != 0 && (!scheme || scheme > qm)) {
                char type[64];
                size_t tlen = (size_t)(qm - ref);
                if (tlen == 0 || tlen >= sizeof(type))
                    return fail_at(res, SV_ERR_INVALID, idx, NULL,
                                   "conditional reference '%s' names no type", ref);
                memcpy(type, ref, tlen);
                type[tlen] = '\0';
                int count = 0;
                char id[65] = "";
                sv_err e = sv_rest_match(r, type, qm + 1, &count, id, res);
                if (e == SV_ERR_MULTIPLE || (!e && count != 1))
                    return fail_at(res, SV_ERR_PRECONDITION, idx, NULL,
                                   "conditional reference '%s' matched %s", ref,
                                   count == 0 ? "nothing" : "more than one resource");
                if (e)
                    return e;
                char resolved[140];
                snprintf(resolved, sizeof(resolved), "%s/%s", type, id);
                json_string_set(v, resolved);
            }
        } else {
            sv_err e = resolve_refs(r, v, maps, nmaps, idx, res, depth + 1, in_bundle);
            if (e)
                return e;
        }
    }
    return SV_OK;
}

static sv_err parse_entry(sv_rest *r, const json_t *in, size_t i, entry *en, sv_rest_result *res)
{
    const json_t *req = json_object_get(in, "request");
    const char *method = json_string_value(json_object_get(req, "method"));
    const char *url = json_string_value(json_object_get(req, "url"));
    if (!method)
        return fail_at(res, SV_ERR_INVALID, i, "request.method", "request.method is missing");
    if (!url)
        return fail_at(res, SV_ERR_INVALID, i, "request.url", "request.url is missing");
    if (strcmp(method, "GET") == 0)
        en->op = OP_GET;
    else if (strcmp(method, "HEAD") == 0)
        en->op = OP_HEAD;
    else if (strcmp(method, "POST") == 0)
        en->op = OP_POST;
    else if (strcmp(method, "PUT") == 0)
        en->op = OP_PUT;
    else if (strcmp(method, "PATCH") == 0)
        en->op = OP_PATCH;
    else if (strcmp(method, "DELETE") == 0)
        en->op = OP_DELETE;
    else
        return fail_at(res, SV_ERR_INVALID, i, "request.method", "method '%s' is not known",
                       method);
    if (!split_url(r, url, en))
        return fail_at(res, SV_ERR_INVALID, i, "request.url", "url '%s' names no resource", url);
    en->full_url = json_string_value(json_object_get(in, "fullUrl"));
    const json_t *resource = json_object_get(in, "resource");
    if (en->op == OP_POST || en->op == OP_PUT || en->op == OP_PATCH) {
        if (!resource && en->op != OP_PATCH)
            return fail_at(res, SV_ERR_INVALID, i, "resource", "%s needs a resource", method);
        if (resource)
            en->resource = json_deep_copy(resource);
        if (en->op == OP_PATCH) {
            /* FHIR carries a JSON Patch in a Binary; accept that or a raw patch array */
            const json_t *data = resource ? json_object_get(resource, "data") : NULL;
            if (!data)
                return fail_at(res, SV_ERR_INVALID, i, "resource",
                               "PATCH needs a Binary resource with the patch");
        }
    }
    if ((en->op == OP_PUT || en->op == OP_PATCH || en->op == OP_DELETE) && !en->id[0] && !en->query)
        return fail_at(res, SV_ERR_INVALID, i, "request.url", "%s needs Type/id or Type?query",
                       method);
    return SV_OK;
}

static void add_response_entry(sv_buf *out, sv_rest *r, entry *en, bool first)
{
    if (!first)
        sv_buf_addc(out, ',');
    sv_buf_addc(out, '{');
    if (en->err) {
        json_t *oo = sv_outcome_to_json(&en->res.outcome);
        sv_buf_addf(out,
                    "\"response\":{\"status\":\"%d %s\",\"outcome\":", sv_err_http_status(en->err),
                    sv_strerror(en->err));
        sv_fhir_dump(oo, out);
        json_decref(oo);
        sv_buf_adds(out, "}}");
        return;
    }
    if (en->res.id[0] && en->op != OP_DELETE) {
        sv_buf url = SV_BUF_INIT;
        sv_buf_addf(&url, "%s/%s/%s", r->base_url, en->res.type, en->res.id);
        sv_buf_adds(out, "\"fullUrl\":");
        sv_json_quote(out, url.ptr);
        sv_buf_release(&url);
        sv_buf_addc(out, ',');
    }
    if (en->res.body.len && en->op != OP_DELETE) {
        sv_buf_adds(out, "\"resource\":");
        sv_buf_add(out, en->res.body.ptr, en->res.body.len);
        sv_buf_addc(out, ',');
    }
    int status = en->res.status ? en->res.status : 200;
    sv_buf_addf(out, "\"response\":{\"status\":\"%d\"", status);
    if (en->res.version > 0 && en->op != OP_GET && en->op != OP_HEAD) {
        char ts[SV_INSTANT_LEN];
        sv_datetime_format_instant(en->res.last_updated, ts);
        sv_buf loc = SV_BUF_INIT;
        sv_buf_addf(&loc, "%s/%s/_history/%lld", en->res.type, en->res.id,
                    (long long)en->res.version);
        if (en->op != OP_DELETE) {
            sv_buf_adds(out, ",\"location\":");
            sv_json_quote(out, loc.ptr);
        }
        sv_buf_addf(out, ",\"etag\":\"W/\\\"%lld\\\"\",\"lastModified\":\"%s\"",
                    (long long)en->res.version, ts);
        sv_buf_release(&loc);
    } else if (en->res.version > 0) {
        sv_buf_addf(out, ",\"etag\":\"W/\\\"%lld\\\"\"", (long long)en->res.version);
    }
    sv_buf_adds(out, "}}");
}

static sv_err run_entry(sv_rest *r, entry *en)
{
    const char *if_match =
        json_string_value(json_object_get(json_object_get(en->in, "request"), "ifMatch"));
    switch (en->op) {
    case OP_DELETE:
        return sv_rest_delete(r, en->type, en->id, if_match, &en->res);
    case OP_POST:
        if (en->noop)
            return sv_rest_read(r, en->type, en->id, &en->res);
        if (en->id[0] && !en->query) /* pre-assigned id (transaction) */
            return sv_rest_create_as(r, en->type, en->resource, en->id, &en->res);
        return sv_rest_create(
            r, en->type, en->resource,
            json_string_value(json_object_get(json_object_get(en->in, "request"), "ifNoneExist")),
            &en->res);
    case OP_PUT:
        if (en->resource && !json_object_get(en->resource, "id"))
            json_object_set_new(en->resource, "id", json_string(en->id));
        return sv_rest_update(r, en->type, en->id, en->resource, if_match, &en->res);
    case OP_PATCH: {
        const char *data = json_string_value(json_object_get(en->resource, "data"));
        size_t cap = data ? strlen(data) : 0, len = 0;
        unsigned char *raw = malloc(cap + 1);
        json_t *patch = NULL;
        if (data && raw && sv_base64_decode(data, raw, cap, &len) == 0)
            patch = sv_json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES, NULL);
        free(raw);
        if (!patch) {
            sv_outcome_add(&en->res.outcome, SV_SEV_ERROR, "invalid", "resource.data",
                           "the Binary does not hold a json patch");
            return SV_ERR_INVALID;
        }
        sv_err e = sv_rest_patch(r, en->type, en->id, patch, if_match, &en->res);
        json_decref(patch);
        return e;
    }
    case OP_GET:
    case OP_HEAD:
        if (en->id[0])
            return sv_rest_read(r, en->type, en->id, &en->res);
        {
            sv_query q;
            sv_buf err = SV_BUF_INIT;
            sv_err e = sv_query_parse(en->query ? en->query : "", &q, &err);
            sv_buf_release(&err);
            if (e)
                return e;
            e = sv_search_bundle(r, en->type, &q, false, &en->res);
            sv_query_clear(&q);
            return e;
        }
    }
    return SV_ERR_INTERNAL;
}

/* Conditional updates and deletes: find the target id inside the transaction. */
static sv_err resolve_conditional(sv_rest *r, entry *en, size_t i, sv_rest_result *res)
{
    if (!en->query || en->op == OP_GET || en->op == OP_HEAD)
        return SV_OK;
    if (en->op == OP_POST)
        return SV_OK;
    int count = 0;
    char id[65] = "";
    sv_err e = sv_rest_match(r, en->type, en->query, &count, id, &en->res);
    if (e == SV_ERR_MULTIPLE)
        return fail_at(res, e, i, "request.url", "the conditional url matched more than one %s",
                       en->type);
    if (e) {
        for (size_t k = 0; k < en->res.outcome.len; k++)
            sv_outcome_add(&res->outcome, en->res.outcome.issues[k].severity,
                           en->res.outcome.issues[k].code, "Bundle.entry.request.url", "%s",
                           en->res.outcome.issues[k].diagnostics);
        return e;
    }
    if (count == 1) {
        snprintf(en->id, sizeof(en->id), "%s", id);
    } else if (en->op == OP_PUT) {
        const char *body_id = json_string_value(json_object_get(en->resource, "id"));
        if (body_id)
            snprintf(en->id, sizeof(en->id), "%s", body_id);
        else
            sv_id_uuid(en->id);
    } else if (en->op == OP_DELETE) {
        en->noop = true;
    } else {
        return fail_at(res, SV_ERR_NOT_FOUND, i, "request.url",
                       "the conditional url matched nothing");
    }
    return SV_OK;
}

/* An entry's issues name elements from the resource's root ("Patient.birthDate");
 * below Bundle.entry[i].resource the type is already given, so
 * "Bundle.entry[2].resource.birthDate" is the FHIRPath, not "...resource.Patient...". */
static const char *entry_relative(const char *expression, const char *type)
{
    size_t n = strlen(type);
    if (strncmp(expression, type, n) == 0 && expression[n] == '.')
        return expression + n + 1;
    if (strcmp(expression, type) == 0)
        return "";
    return expression;
}

static const int order[] = {OP_DELETE, OP_POST, OP_PUT, OP_PATCH, OP_GET, OP_HEAD};

typedef struct keyed {
    const char *key; /* a fullUrl, or "Type/id" in storage */
    size_t entry;
    char storage[140];
} keyed;

static int keyed_cmp(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->entry > y->entry) - (x->entry < y->entry);
}

/* The first entry whose key another entry has too (keys sorted, so neighbours), or n. */
static size_t first_duplicate(keyed *keys, size_t n, const char **ret_key)
{
    qsort(keys, n, sizeof(*keys), keyed_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(keys[i - 1].key, keys[i].key) == 0) {
            *ret_key = keys[i].key;
            return keys[i].entry;
        }
    return n;
}

/* bdl-7: a fullUrl is unique in a Bundle (versions aside, which requests do not carry). */
static sv_err check_full_urls(entry *ens, size_t n, sv_rest_result *res)
{
    keyed *keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
        return SV_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (ens[i].full_url) {
            keys[k].key = ens[i].full_url;
            keys[k++].entry = i;
        }
    const char *dup = NULL;
    size_t at = first_duplicate(keys, k, &dup);
    sv_err e = SV_OK;
    if (at < k)
        e = fail_at(res, SV_ERR_INVALID, at, "fullUrl",
                    "fullUrl '%s' is used by more than one entry (bdl-7)", dup);
    free(keys);
    return e;
}

/* A transaction touches each resource once: DELETE, POST, PUT and PATCH entries
 * may not name the same resource, conditional targets included (http.html#trules). */
static sv_err check_overlap(entry *ens, size_t n, sv_rest_result *res)
{
    keyed *keys = calloc(n ? n : 1, sizeof(*keys));
    if (!keys)
        return SV_ERR_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const entry *en = &ens[i];
        if (en->op == OP_GET || en->op == OP_HEAD || !en->id[0])
            continue;
        snprintf(keys[k].storage, sizeof(keys[k].storage), "%s/%s", en->type, en->id);
        keys[k].key = keys[k].storage;
        keys[k++].entry = i;
    }
    const char *dup = NULL;
    size_t at = first_duplicate(keys, k, &dup);
    sv_err e = SV_OK;
    if (at < k)
        e = fail_at(res, SV_ERR_INVALID, at, "request",
                    "%s is the target of more than one entry; a transaction writes each "
                    "resource once",
                    dup);
    free(keys);
    return e;
}

sv_err sv_bundle_process(sv_rest *r, const json_t *bundle, sv_rest_result *res)
{
    const char *rt = json_string_value(json_object_get(bundle, "resourceType"));
    const char *btype = json_string_value(json_object_get(bundle, "type"));
    if (!rt || strcmp(rt, "Bundle") != 0) {
        sv_outcome_add(&res->outcome, SV_SEV_ERROR, "invalid", "resourceType",
                       "POST to the base takes a transaction or batch Bundle");
        return SV_ERR_INVALID;
    }
    bool transaction = btype && strcmp(btype, "transaction") == 0;
    bool batch = btype && strcmp(btype, "batch") == 0;
    if (!transaction && !batch) {
        sv_outcome_add(&res->outcome, SV_SEV_ERROR, "invalid", "Bundle.type",
                       "Bundle.type must be transaction or batch, not '%s'", btype ? btype : "");
        return SV_ERR_INVALID;
    }
    const json_t *entries = json_object_get(bundle, "entry");
    if (entries && !json_is_array(entries)) {
        sv_outcome_add(&res->outcome, SV_SEV_ERROR, "structure", "Bundle.entry",
                       "Bundle.entry must be an array");
        return SV_ERR_INVALID;
    }
    size_t n = json_is_array(entries) ? json_array_size(entries) : 0;
    if (n > SV_BUNDLE_MAX_ENTRIES) {
        sv_outcome_add(&res->outcome, SV_SEV_ERROR, "too-costly", "Bundle.entry",
                       "a bundle may hold at most %d entries", SV_BUNDLE_MAX_ENTRIES);
        return SV_ERR_TOO_LARGE;
    }
    entry *ens = calloc(n ? n : 1, sizeof(*ens));
    mapping *maps = calloc(n ? n : 1, sizeof(*maps));
    size_t nmaps = 0;
    sv_err e = SV_OK;
    bool owned = false;
    for (size_t i = 0; i < n; i++) {
        sv_rest_result_init(&ens[i].res);
        ens[i].in = json_array_get(entries, i);
    }
    for (size_t i = 0; i < n && !e; i++) {
        sv_err pe = parse_entry(r, ens[i].in, i, &ens[i], transaction ? res : &ens[i].res);
        if (pe && transaction)
            e = pe;
        else if (pe)
            ens[i].err = pe;
    }
    if (!e)
        e = check_full_urls(ens, n, res);
    if (!e && transaction) {
        if (sv_db_in_tx(r->db)) {
            e = SV_ERR_INTERNAL;
        } else {
            sv_buf err = SV_BUF_INIT;
            e = sv_db_begin(r->db, SV_TX_WRITE, &err);
            sv_buf_release(&err);
            if (e)
                sv_outcome_add(&res->outcome, SV_SEV_ERROR, sv_err_issue_code(e), NULL,
                               "the database is busy; try again");
            owned = !e;
        }
        /* Ids for new resources and conditional targets, then the map of fullUrls. */
        for (size_t i = 0; i < n && !e; i++) {
            entry *en = &ens[i];
            if (en->op == OP_POST) {
                const char *ine = json_string_value(
                    json_object_get(json_object_get(en->in, "request"), "ifNoneExist"));
                if (ine && *ine) {
                    int count = 0;
                    char id[65] = "";
                    e = sv_rest_match(r, en->type, ine, &count, id, &en->res);
                    if (e) {
                        fail_at(res, e, i, "request.ifNoneExist", "%s",
                                en->res.outcome.len ? en->res.outcome.issues[0].diagnostics
                                                    : "the condition cannot be evaluated");
                        break;
                    }
                    if (count == 1) {
                        en->noop = true;
                        snprintf(en->id, sizeof(en->id), "%s", id);
                    }
                }
                if (!en->noop)
                    sv_id_uuid(en->id);
            } else {
                e = resolve_conditional(r, en, i, res);
            }
            if (!e && en->full_url && en->id[0] && (en->op == OP_POST || en->op == OP_PUT)) {
                maps[nmaps].from = en->full_url;
                snprintf(maps[nmaps].to, sizeof(maps[nmaps].to), "%s/%s", en->type, en->id);
                nmaps++;
            }
        }
        if (!e)
            e = check_overlap(ens, n, res);
        for (size_t i = 0; i < n && !e; i++)
            if (ens[i].resource)
                e = resolve_refs(r, ens[i].resource, maps, nmaps, i, res, 0, false);
        for (size_t k = 0; k < sizeof(order) / sizeof(order[0]) && !e; k++) {
            for (size_t i = 0; i < n && !e; i++) {
                entry *en = &ens[i];
                if ((int)en->op != order[k])
                    continue;
                if (en->op == OP_DELETE && en->noop) {
                    en->res.status = 204;
                    continue;
                }
                e = run_entry(r, en);
                if (e) {
                    for (size_t j = 0; j < en->res.outcome.len; j++) {
                        sv_issue *is = &en->res.outcome.issues[j];
                        char path[160];
                        const char *rel =
                            is->expression ? entry_relative(is->expression, en->type) : "";
                        snprintf(path, sizeof(path), "Bundle.entry[%zu]%s%s%s", i,
                                 is->expression ? ".resource" : "", *rel ? "." : "", rel);
                        sv_outcome_add(&res->outcome, is->severity, is->code, path, "%s",
                                       is->diagnostics ? is->diagnostics : "");
                    }
                    if (en->res.outcome.len == 0)
                        fail_at(res, e, i, NULL, "%s", sv_strerror(e));
                }
            }
        }
        if (owned) {
            if (e) {
                sv_db_rollback(r->db);
            } else {
                sv_buf err = SV_BUF_INIT;
                e = sv_db_commit(r->db, &err);
                sv_buf_release(&err);
                if (e)
                    sv_outcome_add(&res->outcome, SV_SEV_ERROR, sv_err_issue_code(e), NULL,
                                   "the transaction could not be committed");
            }
        }
    } else if (!e) {
        for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
            for (size_t i = 0; i < n; i++) {
                entry *en = &ens[i];
                if ((int)en->op != order[k] || en->err)
                    continue;
                en->err = run_entry(r, en);
            }
        }
    }
    if (!e) {
        sv_buf *out = &res->body;
        sv_buf_reset(out);
        sv_buf_addf(out, "{\"resourceType\":\"Bundle\",\"type\":\"%s-response\"",
                    transaction ? "transaction" : "batch");
        char id[SV_UUID_LEN];
        sv_id_uuid(id);
        sv_buf_addf(out, ",\"id\":\"%s\"", id);
        if (n) {
            sv_buf_adds(out, ",\"entry\":[");
            for (size_t i = 0; i < n; i++)
                add_response_entry(out, r, &ens[i], i == 0);
            sv_buf_addc(out, ']');
        }
        sv_buf_addc(out, '}');
        res->status = 200;
    }
    for (size_t i = 0; i < n; i++) {
        json_decref(ens[i].resource);
        free(ens[i].query);
        sv_rest_result_clear(&ens[i].res);
    }
    free(ens);
    free(maps);
    return e;
}
