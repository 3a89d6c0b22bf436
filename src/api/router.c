/*
 * router.c - from method and path to the FHIR interaction, with the checks
 * every request shares: media types, Accept/_format, body limits and JSON
 * intake.  Log routes are static patterns, never the path itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/audit_log.h"
#include "api/auth_routes.h"
#include "api/care_routes.h"
#include "api/coord_routes.h"
#include "api/bulk_export.h"
#include "api/internal.h"
#include "api/message_routes.h"
#include "api/results_routes.h"
#include "api/static_files.h"
#include "base/datetime.h"
#include "base/json.h"
#include "coord/coord.h"
#include "stays/stays.h"
#include "fhir/bundle.h"
#include "fhir/query.h"
#include "fhir/search.h"
#include "fhir/types.h"

#define MAX_SEGMENTS 6

typedef struct route {
    const char *segs[MAX_SEGMENTS];
    size_t n;
    char storage[1024];
} route;

/* path is as sent (percent-encoded): split first, then decode each segment, so
 * that "Patient/a%2Fb" stays one segment "a/b" (and then is no valid id). */
static bool split_path(const char *path, route *r)
{
    r->n = 0;
    size_t len = strlen(path);
    if (len >= sizeof(r->storage))
        return false;
    memcpy(r->storage, path, len + 1);
    char *p = r->storage;
    while (*p == '/')
        p++;
    while (*p) {
        if (r->n == MAX_SEGMENTS)
            return false;
        r->segs[r->n++] = p;
        char *slash = strchr(p, '/');
        if (slash)
            *slash = '\0';
        sv_http_segment_decode(p);
        if (!slash)
            break;
        p = slash + 1;
        if (*p == '\0') /* a trailing slash is tolerated */
            break;
    }
    return true;
}

static bool media_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

static bool json_media(const char *ct)
{
    return media_is(ct, "application/fhir+json") || media_is(ct, "application/json") ||
           media_is(ct, "application/json+fhir");
}

/* Accept and _format: answers are JSON only (FHIR XML is read, not written:
 * message_routes.c). */
static bool acceptable(const sv_http_request *req)
{
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, "_format") == 0) {
            const char *f = req->params[i].value;
            return strcmp(f, "json") == 0 || json_media(f);
        }
    }
    const char *accept = sv_http_header_get(req, "Accept");
    if (!accept || !*accept)
        return true;
    return strstr(accept, "json") || strstr(accept, "*/*") || strstr(accept, "application/*");
}

/* Parses the request body as JSON (or, for a resource, FHIR XML converted to
 * JSON); on failure answers and returns NULL. */
static json_t *read_json(sv_api *api, const sv_http_request *req, sv_http_response *res, bool patch)
{
    if (!patch)
        return sv__api_read_resource(api, req, res);
    const char *ct = sv_http_header_get(req, "Content-Type");
    bool ok_type = ct && (patch ? media_is(ct, "application/json-patch+json") : json_media(ct));
    if (!ok_type) {
        sv__api_error(res, SV_ERR_MEDIA_TYPE, NULL,
                      "content-type '%s' is not supported here; use %s", ct ? ct : "",
                      patch ? "application/json-patch+json" : "application/fhir+json");
        return NULL;
    }
    json_t *j = NULL;
    sv_buf err = SV_BUF_INIT, path = SV_BUF_INIT;
    size_t offset = 0;
    sv_err e =
        sv_json_parse_at(req->body, req->body_len, sv__api_config(api)->max_json_depth,
                         patch ? SV_JSON_TOP_ARRAY : SV_JSON_TOP_OBJECT, &j, &err, &offset, &path);
    if (e)
        sv__api_error(res, e, path.len ? path.ptr : NULL, "%s", err.len ? err.ptr : sv_strerror(e));
    sv_buf_release(&err);
    sv_buf_release(&path);
    if (e)
        return NULL;
    return j;
}

static void method_not_allowed(sv_http_response *res, const char *allow, const char *method)
{
    sv_http_response_header(res, "Allow", allow);
    sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: %s", method,
                  allow);
}

/* ---- audit ---------------------------------------------------------------
 * Writes append their own records in their transaction (fhir/rest.c).  Here:
 * reads, vreads, searches and history, and writes that failed (nothing was
 * committed, so they have no record yet), through the queue (api/audit_log.h). */

/* Queues one record about type/id as the request's actor.  With lookup, the
 * citizen is found from the resource's compartment rows (a served resource);
 * otherwise citizen is used as given (may be NULL). */
static void audit_queue(sv_api *api, sv_rest *rest, const char *action, const char *type,
                        const char *id, int64_t version, const char *citizen, bool lookup,
                        int status)
{
    char found[65] = "";
    if (lookup && status < 400 && type && id) {
        /* A failed lookup leaves the citizen unknown; the record is kept all the same. */
        sv_audit_citizen_of(rest->db, type, id, found, NULL);
        citizen = found;
    }
    sv_audit_record rec = {.time_ms = sv_clock_now_ms(),
                           .citizen = citizen && *citizen ? citizen : NULL,
                           .action = action,
                           .resource_type = type,
                           .resource_id = id,
                           .resource_version = version,
                           .outcome = status};
    sv_audit_record_set_actor(&rec, rest->actor);
    rec.purpose = sv_policy_purpose(rest->db, rest->access, rec.citizen, rec.purpose);
    sv_audit_log_add(sv__api_audit_log(api), &rec);
}

/* The citizen a search is about, when its parameters name one patient:
 * patient=[Patient/]X, subject=Patient/X, subject:Patient=X, or Patient?_id=X.
 * NULL otherwise (a search over many citizens lists none of them). */
static const char *search_citizen(const char *type, const sv_query *q, char buf[65])
{
    for (size_t i = 0; i < q->len; i++) {
        const char *n = q->params[i].name, *v = q->params[i].value;
        const char *id = NULL;
        if (strcmp(n, "patient") == 0 || strcmp(n, "patient:Patient") == 0 ||
            strcmp(n, "subject:Patient") == 0)
            id = strncmp(v, "Patient/", 8) == 0 ? v + 8 : v;
        else if (strcmp(n, "subject") == 0 && strncmp(v, "Patient/", 8) == 0)
            id = v + 8;
        else if (strcmp(n, "_id") == 0 && strcmp(type, "Patient") == 0)
            id = v;
        if (id && *id && strlen(id) < 65 && !strpbrk(id, ",/|")) {
            snprintf(buf, 65, "%s", id);
            return buf;
        }
    }
    return NULL;
}

static void setup_rest(sv_api *api, sv_db *db, sv_rest *rest)
{
    const sv_api_config *cfg = sv__api_config(api);
    memset(rest, 0, sizeof(*rest));
    rest->db = db;
    rest->actor = &sv_audit_anonymous; /* until identity: every HTTP request */
    rest->base_url = sv__api_fhir_base(api);
    rest->default_count = cfg->default_count;
    rest->max_count = cfg->max_count;
    /* coordination and stay rules on every write (coord/coord.h, stays/stays.h);
     * without stays (rules = off) the coordination rules alone */
    sv_stays *stays = sv__api_stays(api);
    rest->hooks = stays ? sv_stays_hooks(stays) : sv_coord_hooks();
}

static void instance(sv_api *api, sv_rest *rest, const sv_http_request *req, sv_http_response *res,
                     const char *type, const char *id)
{
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e;
    const char *m = req->method;
    const char *action = NULL;
    if (strcmp(m, "GET") == 0) {
        res->route = "GET /fhir/:type/:id";
        action = "read";
        e = sv_rest_read(rest, type, id, &rr);
    } else if (strcmp(m, "PUT") == 0) {
        res->route = "PUT /fhir/:type/:id";
        json_t *body = read_json(api, req, res, false);
        if (!body)
            goto out;
        action = "update";
        e = sv_rest_update(rest, type, id, body, sv_http_header_get(req, "If-Match"), &rr);
        json_decref(body);
    } else if (strcmp(m, "PATCH") == 0) {
        res->route = "PATCH /fhir/:type/:id";
        json_t *body = read_json(api, req, res, true);
        if (!body)
            goto out;
        action = "patch";
        e = sv_rest_patch(rest, type, id, body, sv_http_header_get(req, "If-Match"), &rr);
        json_decref(body);
    } else if (strcmp(m, "DELETE") == 0) {
        res->route = "DELETE /fhir/:type/:id";
        action = "delete";
        e = sv_rest_delete(rest, type, id, sv_http_header_get(req, "If-Match"), &rr);
    } else {
        res->route = "? /fhir/:type/:id";
        method_not_allowed(res, "GET, PUT, PATCH, DELETE", m);
        goto out;
    }
    int64_t version = rr.version;
    sv__api_result(api, req, res, e, &rr);
    if (strcmp(action, "read") == 0)
        audit_queue(api, rest, action, type, id, version, NULL, true, res->status);
    else if (res->status >= 400) /* a committed write has its record already */
        audit_queue(api, rest, action, type, id, 0, NULL, false, res->status);
out:
    sv_rest_result_clear(&rr);
}

static void history(sv_api *api, sv_rest *rest, const sv_http_request *req, sv_http_response *res,
                    const char *type, const char *id)
{
    if (strcmp(req->method, "GET") != 0) {
        method_not_allowed(res, "GET", req->method);
        return;
    }
    sv_query q;
    sv_query_view(&q, (const sv_query_param *)req->params, req->nparams);
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_rest_history(rest, type, id, &q, &rr);
    sv__api_result(api, req, res, e, &rr);
    audit_queue(api, rest, "history", type, id, 0, NULL, id != NULL, res->status);
    sv_rest_result_clear(&rr);
}

/* A PUT on the type is a conditional update only with search criteria;
 * _format and _pretty say how to answer, not which resource. */
static bool has_criteria(const sv_http_request *req)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, "_format") != 0 &&
            strcmp(req->params[i].name, "_pretty") != 0)
            return true;
    return false;
}

static void type_level(sv_api *api, sv_rest *rest, const sv_http_request *req,
                       sv_http_response *res, const char *type)
{
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e;
    const char *action = NULL;
    char citizen_buf[65];
    const char *citizen = NULL;
    if (strcmp(req->method, "POST") == 0) {
        res->route = "POST /fhir/:type";
        action = "create";
        json_t *body = read_json(api, req, res, false);
        if (!body)
            goto out;
        e = sv_rest_create(rest, type, body, sv_http_header_get(req, "If-None-Exist"), &rr);
        json_decref(body);
    } else if (strcmp(req->method, "GET") == 0) {
        res->route = "GET /fhir/:type";
        sv_query q;
        sv_query_view(&q, (const sv_query_param *)req->params, req->nparams);
        bool lenient = false;
        const char *prefer = sv_http_header_get(req, "Prefer");
        if (prefer && strstr(prefer, "handling=lenient"))
            lenient = true;
        action = "search";
        citizen = search_citizen(type, &q, citizen_buf);
        e = sv_search_bundle(rest, type, &q, lenient, &rr);
    } else if (strcmp(req->method, "PUT") == 0) {
        res->route = "PUT /fhir/:type?criteria";
        if (!has_criteria(req)) {
            sv__api_error(res, SV_ERR_INVALID, NULL,
                          "PUT on a type is a conditional update and needs search criteria; "
                          "to update one resource, PUT to [type]/[id]");
            goto out;
        }
        json_t *body = read_json(api, req, res, false);
        if (!body)
            goto out;
        sv_query q;
        sv_query_view(&q, (const sv_query_param *)req->params, req->nparams);
        action = "update";
        e = sv_rest_update_conditional(rest, type, &q, body, sv_http_header_get(req, "If-Match"),
                                       &rr);
        json_decref(body);
    } else {
        res->route = "? /fhir/:type";
        method_not_allowed(res, "GET, POST, PUT", req->method);
        goto out;
    }
    sv__api_result(api, req, res, e, &rr);
    if (strcmp(action, "search") == 0)
        audit_queue(api, rest, action, type, NULL, 0, citizen, false, res->status);
    else if (res->status >= 400) /* a committed write has its record already */
        audit_queue(api, rest, action, type, NULL, 0, NULL, false, res->status);
    else if (strcmp(action, "create") == 0 && !rr.created) /* If-None-Exist matched: a read */
        audit_queue(api, rest, "read", type, rr.id, rr.version, NULL, true, res->status);
out:
    sv_rest_result_clear(&rr);
}

/* POST [type]/_search, and POST Patient/[id]/[type]/_search when patient_id is set. */
static void search_post(sv_api *api, sv_rest *rest, const sv_http_request *req,
                        sv_http_response *res, const char *type, const char *patient_id)
{
    res->route = patient_id ? "POST /fhir/Patient/:id/:type/_search" : "POST /fhir/:type/_search";
    if (strcmp(req->method, "POST") != 0) {
        method_not_allowed(res, "POST", req->method);
        return;
    }
    const char *ct = sv_http_header_get(req, "Content-Type");
    if (req->body_len && (!ct || !media_is(ct, "application/x-www-form-urlencoded"))) {
        sv__api_error(res, SV_ERR_MEDIA_TYPE, NULL,
                      "_search takes application/x-www-form-urlencoded parameters");
        return;
    }
    /* URL parameters and form parameters together. */
    sv_buf all = SV_BUF_INIT;
    if (req->body_len) {
        if (memchr(req->body, '\0', req->body_len)) {
            sv__api_error(res, SV_ERR_INVALID, NULL, "the form body contains a nul byte");
            return;
        }
        sv_buf_add(&all, req->body, req->body_len);
    }
    sv_query form;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_query_parse(all.ptr, &form, &err);
    sv_buf_release(&all);
    if (e) {
        sv__api_error(res, e, NULL, "%s", err.ptr);
        sv_buf_release(&err);
        return;
    }
    sv_buf_release(&err);
    size_t n = form.len + req->nparams;
    sv_query_param *params = calloc(n ? n : 1, sizeof(*params));
    for (size_t i = 0; i < req->nparams; i++) {
        params[i].name = req->params[i].name;
        params[i].value = req->params[i].value;
    }
    memcpy(params + req->nparams, form.params, form.len * sizeof(*params));
    sv_query q;
    sv_query_view(&q, params, n);
    bool lenient = false;
    const char *prefer = sv_http_header_get(req, "Prefer");
    if (prefer && strstr(prefer, "handling=lenient"))
        lenient = true;
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    char citizen_buf[65];
    const char *citizen = patient_id ? patient_id : search_citizen(type, &q, citizen_buf);
    if (patient_id)
        e = sv_search_compartment_bundle(rest, patient_id, type, &q, lenient, &rr);
    else
        e = sv_search_bundle(rest, type, &q, lenient, &rr);
    sv__api_result(api, req, res, e, &rr);
    audit_queue(api, rest, "search", type, NULL, 0, citizen, false, res->status);
    sv_rest_result_clear(&rr);
    free(params);
    sv_query_clear(&form);
}

static bool lenient_of(const sv_http_request *req)
{
    const char *prefer = sv_http_header_get(req, "Prefer");
    return prefer && strstr(prefer, "handling=lenient");
}

/* GET Patient/[id]/[type]: compartment search. */
static void compartment(sv_api *api, sv_rest *rest, const sv_http_request *req,
                        sv_http_response *res, const char *patient_id, const char *type)
{
    res->route = "GET /fhir/Patient/:id/:type";
    if (strcmp(req->method, "GET") != 0) {
        method_not_allowed(res, "GET", req->method);
        return;
    }
    sv_query q;
    sv_query_view(&q, (const sv_query_param *)req->params, req->nparams);
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_search_compartment_bundle(rest, patient_id, type, &q, lenient_of(req), &rr);
    sv__api_result(api, req, res, e, &rr);
    audit_queue(api, rest, "search", type, NULL, 0, patient_id, false, res->status);
    sv_rest_result_clear(&rr);
}

/* GET or POST Patient/[id]/$everything; a POST may carry a Parameters body. */
static void everything(sv_api *api, sv_rest *rest, const sv_http_request *req,
                       sv_http_response *res, const char *patient_id)
{
    bool post = strcmp(req->method, "POST") == 0;
    res->route = post ? "POST /fhir/Patient/:id/$everything" : "GET /fhir/Patient/:id/$everything";
    if (!post && strcmp(req->method, "GET") != 0) {
        method_not_allowed(res, "GET, POST", req->method);
        return;
    }
    json_t *body = NULL;
    if (post && req->body_len) {
        body = read_json(api, req, res, false);
        if (!body)
            return;
    }
    sv_query q;
    sv_query_view(&q, (const sv_query_param *)req->params, req->nparams);
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_search_everything(rest, patient_id, &q, body, lenient_of(req), &rr);
    json_decref(body);
    sv__api_result(api, req, res, e, &rr);
    audit_queue(api, rest, "search", "Patient", patient_id, 0, patient_id, false, res->status);
    sv_rest_result_clear(&rr);
}

static void system_level(sv_api *api, sv_rest *rest, const sv_http_request *req,
                         sv_http_response *res)
{
    res->route = "POST /fhir";
    if (strcmp(req->method, "POST") != 0) {
        method_not_allowed(res, "POST", req->method);
        return;
    }
    json_t *body = read_json(api, req, res, false);
    if (!body)
        return;
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_bundle_process(rest, body, &rr);
    json_decref(body);
    sv__api_result(api, req, res, e, &rr);
    /* Each entry's write has its record in the Bundle's transaction; this one says
     * that a transaction or batch was asked for and how it ended. */
    audit_queue(api, rest, "transaction", NULL, NULL, 0, NULL, false, res->status);
    sv_rest_result_clear(&rr);
}

static void fhir(sv_api *api, const sv_http_request *req, sv_http_response *res, route *r,
                 const sv_principal *who)
{
    /* r->segs[0] is "fhir" */
    if (r->n == 2 && strcmp(r->segs[1], "metadata") == 0) {
        res->route = "GET /fhir/metadata";
        if (strcmp(req->method, "GET") != 0) {
            method_not_allowed(res, "GET", req->method);
            return;
        }
        sv__api_metadata(api, req, res);
        return;
    }
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv__api_conn(api, &db, &err);
    sv_buf_release(&err);
    if (e) {
        res->route = "/fhir";
        sv__api_error(res, e, NULL, "the database cannot be opened");
        return;
    }
    sv_rest rest;
    setup_rest(api, db, &rest);
    /* The request's principal (api/auth_routes.h): the audit's actor, and what the
     * access policy decides on (docs/access.md). */
    sv_audit_actor actor;
    sv_access access;
    if (who->kind != SV_PRINCIPAL_NONE) {
        sv_buf aerr = SV_BUF_INIT;
        e = sv__api_access(api, db, who, &access, &aerr);
        sv_buf_release(&aerr);
        sv_db_data_version_hold(db, false); /* held by sv_api_handle for the two memos */
        if (e) {
            res->route = "/fhir";
            sv__api_error(res, e, NULL, "the caller's access cannot be determined");
            return;
        }
        rest.access = &access;
        actor = (sv_audit_actor){
            .kind = sv_principal_kind_name(who->kind),
            .id = who->name,
            .organisation = access.organisation[0] ? access.organisation : NULL,
            .role = access.role[0]              ? access.role
                    : who->practitioner_role[0] ? who->practitioner_role
                                                : NULL,
            .purpose = "TREAT",
            .practitioner_role = who->practitioner_role[0] ? who->practitioner_role : NULL};
        rest.actor = &actor;
    }
    if (r->n == 1) {
        system_level(api, &rest, req, res);
        return;
    }
    if (r->n == 2 && strcmp(r->segs[1], "$process-message") == 0) {
        sv__api_process_message(api, &rest, req, res);
        return;
    }
    if (r->n == 2 && strcmp(r->segs[1], "$medcom-outbox") == 0) {
        sv__api_medcom_outbox(api, &rest, req, res);
        return;
    }
    if (r->n == 2 && strcmp(r->segs[1], "$resource-use") == 0) {
        sv__api_resource_use(api, &rest, req, res);
        audit_queue(api, &rest, "search", NULL, NULL, 0, NULL, false, res->status);
        return;
    }
    if (r->n == 2 && strcmp(r->segs[1], "_history") == 0) {
        res->route = "GET /fhir/_history";
        history(api, &rest, req, res, NULL, NULL);
        return;
    }
    const char *type = r->segs[1];
    if (!sv_fhir_type_supported(type)) {
        res->route = "/fhir/:unknown";
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "resource type '%s' is not supported", type);
        return;
    }
    if (strcmp(type, "AuditEvent") == 0 && r->n <= 3) {
        /* A view of the audit log, never stored resources (api/audit_routes.c). */
        sv__api_audit_events(api, &rest, req, res, r->n == 3 ? r->segs[2] : NULL);
        audit_queue(api, &rest, r->n == 3 ? "read" : "search", "AuditEvent",
                    r->n == 3 ? r->segs[2] : NULL, 0, NULL, false, res->status);
    } else if (r->n == 2) {
        type_level(api, &rest, req, res, type);
    } else if (r->n == 3 && strcmp(r->segs[2], "_search") == 0) {
        search_post(api, &rest, req, res, type, NULL);
    } else if (r->n == 3 && strcmp(r->segs[2], "_history") == 0) {
        res->route = "GET /fhir/:type/_history";
        history(api, &rest, req, res, type, NULL);
    } else if (r->n == 3) {
        instance(api, &rest, req, res, type, r->segs[2]);
    } else if (r->n == 4 && strcmp(r->segs[3], "_history") == 0) {
        res->route = "GET /fhir/:type/:id/_history";
        history(api, &rest, req, res, type, r->segs[2]);
    } else if (r->n == 4 && strcmp(type, "Patient") == 0 &&
               strcmp(r->segs[3], "$everything") == 0) {
        everything(api, &rest, req, res, r->segs[2]);
    } else if (r->n == 4 && strcmp(type, "Patient") == 0 &&
               strcmp(r->segs[3], "$break-the-glass") == 0) {
        sv__api_break_the_glass(api, &rest, req, res, who, r->segs[2]);
        if (res->status >= 400) /* an opened glass has its record with the grant */
            audit_queue(api, &rest, "break-the-glass", "Patient", r->segs[2], 0, NULL, false,
                        res->status);
    } else if (r->n == 4 && strcmp(type, "Patient") == 0 &&
               strcmp(r->segs[3], "$access-log") == 0) {
        sv__api_access_log(api, &rest, req, res, r->segs[2]);
        audit_queue(api, &rest, "search", "AuditEvent", NULL, 0,
                    res->status < 400 ? r->segs[2] : NULL, false, res->status);
    } else if (r->n == 4 && r->segs[3][0] == '$' &&
               sv__api_care_operation(api, &rest, req, res, type, r->segs[2], r->segs[3])) {
        /* $reply, $forward, $read, $medication-handover, $confirm, $dispute: their
         * writes carry their own audit records */
    } else if (r->n == 4 && strcmp(type, "Organization") == 0 &&
               strcmp(r->segs[3], "$discharge-board") == 0) {
        sv__api_discharge_board(api, &rest, req, res, r->segs[2]);
        audit_queue(api, &rest, "read", type, r->segs[2], 0, NULL, false, res->status);
    } else if (r->n == 4 && r->segs[3][0] == '$' &&
               sv__api_results_operation(api, &rest, req, res, type, r->segs[2], r->segs[3])) {
        /* $evaluate-measure, $outreach: aggregates and lists, no one citizen */
        audit_queue(api, &rest, "search", type, r->segs[2], 0, NULL, false, res->status);
    } else if (r->n == 4 && r->segs[3][0] == '$') { /* $team, $diff, $agreement */
        sv__api_coord_operation(api, &rest, req, res, type, r->segs[2], r->segs[3]);
        audit_queue(api, &rest, "read", type, r->segs[2], 0, NULL, true, res->status);
    } else if (r->n == 4 && strcmp(type, "Patient") == 0 && sv_fhir_type_supported(r->segs[3])) {
        compartment(api, &rest, req, res, r->segs[2], r->segs[3]);
    } else if (r->n == 5 && strcmp(type, "Patient") == 0 && sv_fhir_type_supported(r->segs[3]) &&
               strcmp(r->segs[4], "_search") == 0) {
        search_post(api, &rest, req, res, r->segs[3], r->segs[2]);
    } else if (r->n == 5 && strcmp(r->segs[3], "_history") == 0) {
        res->route = "GET /fhir/:type/:id/_history/:vid";
        if (strcmp(req->method, "GET") != 0) {
            method_not_allowed(res, "GET", req->method);
            return;
        }
        sv_rest_result rr;
        sv_rest_result_init(&rr);
        e = sv_rest_vread(&rest, type, r->segs[2], r->segs[4], &rr);
        int64_t version = rr.version;
        sv__api_result(api, req, res, e, &rr);
        audit_queue(api, &rest, "vread", type, r->segs[2], version, NULL, true, res->status);
        sv_rest_result_clear(&rr);
    } else {
        res->route = "/fhir/:unknown";
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such endpoint");
    }
}

bool sv_api_waits(void *ctx, const sv_http_request *req)
{
    (void)ctx;
    return strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0 &&
           strcmp(req->method, "OPTIONS") != 0;
}

void sv_api_handle(void *ctx, const sv_http_request *req, sv_http_response *res)
{
    sv_api *api = ctx;
    route r;
    res->route = "-";
    if (req->body_too_large) {
        sv__api_error(res, SV_ERR_TOO_LARGE, NULL, "the request body is larger than the limit");
        return;
    }
    if (req->too_many_params) {
        sv__api_error(res, SV_ERR_INVALID, NULL, "more query parameters than the server accepts");
        return;
    }
    if (!split_path(req->path, &r)) {
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such endpoint");
        return;
    }
    if (r.n == 1 && strcmp(r.segs[0], "healthz") == 0) {
        sv__api_healthz(api, req, res);
        return;
    }
    if (r.n == 1 && strcmp(r.segs[0], "metrics") == 0) {
        sv__api_metrics(api, req, res);
        return;
    }
    if (r.n >= 1 && strcmp(r.segs[0], "auth") == 0) {
        sv__api_auth(api, req, res, r.segs, r.n);
        return;
    }
    if (r.n >= 2 && strcmp(r.segs[0], "admin") == 0 && strcmp(r.segs[1], "users") == 0) {
        sv__api_admin_users(api, req, res, r.segs, r.n);
        return;
    }
    if (r.n >= 1 && (strcmp(r.segs[0], "notifications") == 0 || strcmp(r.segs[0], "admin") == 0)) {
        sv__api_coord(api, req, res, r.segs, r.n);
        return;
    }
    if (r.n == 0 || strcmp(r.segs[0], "fhir") != 0) {
        /* Everything else is the web app's (docs/web.md); it uses the api like any client. */
        sv__api_static(sv__api_config(api)->web_dir, req, res, r.segs, r.n);
        return;
    }
    /* A MedCom sender may ask for XML; the acknowledgement is JSON all the same
     * (message_routes.c) rather than no acknowledgement at all. */
    /* Bulk export files are NDJSON whatever Accept says (bulk_export.h). */
    if ((r.n >= 2 && strncmp(r.segs[1], "$export", 7) == 0) ||
        (r.n == 3 && strcmp(r.segs[1], "Patient") == 0 && strcmp(r.segs[2], "$export") == 0)) {
        sv_principal who;
        if (sv__api_authenticate(api, req, res, r.segs, r.n, &who))
            sv__api_bulk(api, req, res, r.segs, r.n, &who);
        return;
    }
    bool process_message = r.n == 2 && strcmp(r.segs[1], "$process-message") == 0;
    if (!process_message && !acceptable(req)) {
        sv__api_error(res, SV_ERR_NOT_ACCEPTABLE, NULL,
                      "only application/fhir+json is served; xml comes later");
        return;
    }
    /* The credentials and the access of the request read the database's data version
     * for their memos: once (db.h, sv_db_data_version_hold). */
    sv_db *db = NULL;
    if (sv__api_conn(api, &db, NULL) != SV_OK)
        db = NULL;
    if (db)
        sv_db_data_version_hold(db, true);
    sv_principal who;
    if (sv__api_authenticate(api, req, res, r.segs, r.n, &who))
        fhir(api, req, res, &r, &who);
    if (db)
        sv_db_data_version_hold(db, false);
}
