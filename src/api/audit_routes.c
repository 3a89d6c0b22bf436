/*
 * audit_routes.c - the audit log as the citizen and the administrator see it
 * (docs/access.md, "Audit, as the citizen sees it"): GET /fhir/AuditEvent
 * (read-only AuditEvent resources built from the audit table, newest first,
 * paged) and GET /fhir/Patient/{id}/$access-log ("who looked at my data", a
 * Parameters resource).  Admins see every record; a citizen those about
 * themselves; a relative those about the citizen whose live proxy grant they
 * hold; practitioners and system clients nothing (403).  With auth off every
 * request acts as the process itself and sees everything.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "base/datetime.h"
#include "coord/util.h"
#include "store/access.h"
#include "store/audit.h"

#define ACT_REASON "http://terminology.hl7.org/CodeSystem/v3-ActReason"
#define SV_AUDIT_BASE "http://samverka.org/fhir/"
#define PAGE_DEFAULT 50
#define PAGE_MAX 500
#define ID_LEN (SV_POLICY_NAME_MAX + 40) /* a citizen's id, with room for "RelatedPerson/" */

/* ---- whose records the caller may see -------------------------------------------- */

/* The patient of RelatedPerson/id (its patient reference), or "". */
static void relative_patient(sv_db *db, const char *id, char out[ID_LEN])
{
    out[0] = '\0';
    char ref[ID_LEN];
    snprintf(ref, sizeof(ref), "RelatedPerson/%s", id);
    json_t *rp = sv__coord_load(db, ref);
    const char *p = json_string_value(json_object_get(json_object_get(rp, "patient"), "reference"));
    const char *pid = p ? sv__coord_ref_id(p, "Patient") : NULL;
    if (pid && strlen(pid) < ID_LEN)
        snprintf(out, ID_LEN, "%s", pid);
    json_decref(rp);
}

/*
 * Decides which citizen's records the caller may list.  asked: the citizen
 * asked for (NULL: none named).  On success *ret is that citizen, or "" for
 * every record (admins and auth off without a patient); otherwise the error is
 * answered and false returned.
 */
static bool allowed_citizen(sv_rest *rest, sv_http_response *res, const char *asked,
                            char ret[ID_LEN])
{
    const sv_access *a = rest->access;
    ret[0] = '\0';
    if (asked && strlen(asked) >= ID_LEN) {
        sv__api_error(res, SV_ERR_INVALID, "patient", "the patient id is too long");
        return false;
    }
    if (!a || a->kind == SV_POLICY_INTERNAL || a->kind == SV_POLICY_ADMIN) {
        if (asked)
            snprintf(ret, ID_LEN, "%s", asked);
        return true;
    }
    if (a->kind == SV_POLICY_CITIZEN && a->patient[0]) {
        if (!asked || strcmp(asked, a->patient) == 0) {
            snprintf(ret, ID_LEN, "%s", a->patient);
            return true;
        }
    } else if (a->kind == SV_POLICY_RELATIVE && a->related_person[0]) {
        char own[ID_LEN];
        if (!asked)
            relative_patient(rest->db, a->related_person, own);
        const char *x = asked ? asked : own;
        bool live = false;
        if (*x)
            sv_access_patient_allows(rest->db, &a->filter, x, SV_CAT_ALL, &live, NULL);
        if (live) {
            snprintf(ret, ID_LEN, "%s", x);
            return true;
        }
    }
    sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                  "the audit log is shown to the citizen it is about, a relative with the"
                  " citizen's proxy grant, and administrators");
    return false;
}

/* ---- parameters ------------------------------------------------------------------ */

/* Applies one date=[prefix]value to [from, to); false with the error answered. */
static bool date_bound(sv_http_response *res, const char *v, sv_audit_query *q)
{
    char prefix[3] = "eq";
    if (strlen(v) > 2 && v[0] >= 'a' && v[0] <= 'z' && v[1] >= 'a' && v[1] <= 'z') {
        memcpy(prefix, v, 2);
        v += 2;
    }
    sv_datetime_range r;
    if (!sv_datetime_parse(v, strlen(v), &r) ||
        (strcmp(prefix, "eq") && strcmp(prefix, "ge") && strcmp(prefix, "gt") &&
         strcmp(prefix, "le") && strcmp(prefix, "lt"))) {
        sv__api_error(res, SV_ERR_INVALID, "date",
                      "date is [eq|ge|gt|le|lt] and a FHIR date or dateTime; '%s%s' is not", prefix,
                      v);
        return false;
    }
    int64_t lo = INT64_MIN, hi = INT64_MAX; /* [lo, hi) */
    if (strcmp(prefix, "eq") == 0) {
        lo = r.low;
        hi = r.high + 1;
    } else if (strcmp(prefix, "ge") == 0) {
        lo = r.low;
    } else if (strcmp(prefix, "gt") == 0) {
        lo = r.high + 1;
    } else if (strcmp(prefix, "le") == 0) {
        hi = r.high + 1;
    } else {
        hi = r.low;
    }
    if (lo > q->from)
        q->from = lo;
    if (hi < q->to)
        q->to = hi;
    return true;
}

/* _page=TIME.SEQ: the last record of the page before. */
static bool page_cursor(const char *v, sv_audit_query *q)
{
    char *end = NULL;
    long long t = strtoll(v, &end, 10);
    if (end == v || *end != '.')
        return false;
    const char *s = end + 1;
    long long seq = strtoll(s, &end, 10);
    if (end == s || *end || seq < 1)
        return false;
    q->after_time = t;
    q->after_seq = seq;
    return true;
}

/* Reads patient, date, _count and _page (and ignores _format, _pretty). */
static bool read_params(const sv_http_request *req, sv_http_response *res, bool patient_ok,
                        const char **ret_patient, sv_audit_query *q)
{
    *ret_patient = NULL;
    for (size_t i = 0; i < req->nparams; i++) {
        const char *n = req->params[i].name, *v = req->params[i].value;
        if (patient_ok && (strcmp(n, "patient") == 0 || strcmp(n, "patient:Patient") == 0)) {
            const char *id = strncmp(v, "Patient/", 8) == 0 ? v + 8 : v;
            if (!*id || strchr(id, '/') || strchr(id, ',') ||
                (*ret_patient && strcmp(*ret_patient, id))) {
                sv__api_error(res, SV_ERR_INVALID, n, "patient names one Patient id");
                return false;
            }
            *ret_patient = id;
        } else if (strcmp(n, "date") == 0) {
            if (!date_bound(res, v, q))
                return false;
        } else if (strcmp(n, "_count") == 0) {
            char *end = NULL;
            long long c = strtoll(v, &end, 10);
            if (!*v || *end || c < 1) {
                sv__api_error(res, SV_ERR_INVALID, "_count", "_count '%s' is not a positive number",
                              v);
                return false;
            }
            q->limit = c > PAGE_MAX ? PAGE_MAX : c;
        } else if (strcmp(n, "_page") == 0) {
            if (!page_cursor(v, q)) {
                sv__api_error(res, SV_ERR_INVALID, "_page", "_page is a cursor from a next link");
                return false;
            }
        } else if (strcmp(n, "_format") && strcmp(n, "_pretty")) {
            sv__api_error(res, SV_ERR_INVALID, n, "'%s' is not a parameter here", n);
            return false;
        }
    }
    return true;
}

/* ---- AuditEvent ------------------------------------------------------------------ */

static json_t *coding(const char *system, const char *code)
{
    return json_pack("{s:s, s:s}", "system", system, "code", code);
}

static json_t *concept(const char *system, const char *code)
{
    return json_pack("{s:[o]}", "coding", coding(system, code));
}

static bool is_rest(const char *action)
{
    static const char *const rest[] = {"read",   "vread", "search", "history",     "create",
                                       "update", "patch", "delete", "transaction", NULL};
    for (const char *const *r = rest; *r; r++)
        if (strcmp(action, *r) == 0)
            return true;
    return false;
}

static const char *action_code(const char *action)
{
    if (strcmp(action, "create") == 0)
        return "C";
    if (strcmp(action, "update") == 0 || strcmp(action, "patch") == 0)
        return "U";
    if (strcmp(action, "delete") == 0)
        return "D";
    if (strcmp(action, "read") == 0 || strcmp(action, "vread") == 0 ||
        strcmp(action, "search") == 0 || strcmp(action, "history") == 0)
        return "R";
    return "E";
}

static json_t *audit_event(int64_t seq, const sv_audit_record *rec)
{
    char id[32], when[SV_INSTANT_LEN], desc[32];
    snprintf(id, sizeof(id), "%" PRId64, seq);
    sv_datetime_format_instant(rec->time_ms, when);
    const char *action = rec->action ? rec->action : "unknown";
    json_t *ev = json_pack("{s:s, s:s}", "resourceType", "AuditEvent", "id", id);
    bool login = strncmp(action, "login", 5) == 0;
    json_object_set_new(ev, "type",
                        login ? json_pack("{s:s, s:s, s:s}", "system",
                                          "http://dicom.nema.org/resources/ontology/DCM", "code",
                                          "110114", "display", "User Authentication")
                              : json_pack("{s:s, s:s, s:s}", "system",
                                          "http://terminology.hl7.org/CodeSystem/audit-event-type",
                                          "code", "rest", "display", "RESTful Operation"));
    json_t *subtype = json_array();
    json_array_append_new(subtype, coding(SV_AUDIT_BASE "CodeSystem/audit-action", action));
    if (is_rest(action))
        json_array_append_new(subtype, coding("http://hl7.org/fhir/restful-interaction", action));
    json_object_set_new(ev, "subtype", subtype);
    json_object_set_new(ev, "action", json_string(action_code(action)));
    json_object_set_new(ev, "recorded", json_string(when));
    json_object_set_new(ev, "outcome",
                        json_string(rec->outcome < 400   ? "0"
                                    : rec->outcome < 500 ? "4"
                                                         : "8"));
    snprintf(desc, sizeof(desc), "HTTP %d", rec->outcome);
    json_object_set_new(ev, "outcomeDesc", json_string(desc));
    if (rec->purpose) {
        json_t *p = concept(ACT_REASON, rec->purpose);
        if (rec->reason)
            json_object_set_new(p, "text", json_string(rec->reason));
        json_object_set_new(ev, "purposeOfEvent", json_pack("[o]", p));
    }
    /* The requestor, and the organisation they act for as a second agent. */
    const char *kind = rec->principal_kind ? rec->principal_kind : "anonymous";
    json_t *who = json_object();
    if (rec->principal_id) {
        bool client = strcmp(kind, "system") == 0;
        json_object_set_new(who, "identifier",
                            json_pack("{s:s, s:s}", "system",
                                      client ? SV_AUDIT_BASE "client" : SV_AUDIT_BASE "user",
                                      "value", rec->principal_id));
    }
    json_object_set_new(who, "display", json_string(rec->principal_id ? rec->principal_id : kind));
    json_t *agent = json_pack("{s:o, s:o, s:b}", "type",
                              concept(SV_AUDIT_BASE "CodeSystem/principal-kind", kind), "who", who,
                              "requestor", 1);
    if (rec->role)
        json_object_set_new(agent, "role",
                            json_pack("[o]", concept(SV_AUDIT_BASE "CodeSystem/role", rec->role)));
    json_t *agents = json_pack("[o]", agent);
    if (rec->organisation)
        json_array_append_new(agents, json_pack("{s:{s:s}, s:b}", "who", "reference",
                                                rec->organisation, "requestor", 0));
    json_object_set_new(ev, "agent", agents);
    json_object_set_new(ev, "source", json_pack("{s:{s:s}}", "observer", "display", "samverka"));
    json_t *entities = json_array();
    if (rec->resource_type && rec->resource_id) {
        char what[300];
        if (rec->resource_version)
            snprintf(what, sizeof(what), "%s/%s/_history/%" PRId64, rec->resource_type,
                     rec->resource_id, rec->resource_version);
        else
            snprintf(what, sizeof(what), "%s/%s", rec->resource_type, rec->resource_id);
        json_array_append_new(
            entities,
            json_pack("{s:{s:s}, s:o}", "what", "reference", what, "type",
                      coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "2")));
    } else if (rec->resource_type) {
        json_array_append_new(
            entities, json_pack("{s:s, s:o}", "name", rec->resource_type, "type",
                                coding("http://hl7.org/fhir/resource-types", rec->resource_type)));
    }
    if (rec->citizen) {
        char what[ID_LEN + 16];
        snprintf(what, sizeof(what), "Patient/%s", rec->citizen);
        json_array_append_new(
            entities,
            json_pack("{s:{s:s}, s:o, s:o}", "what", "reference", what, "type",
                      coding("http://terminology.hl7.org/CodeSystem/audit-entity-type", "1"),
                      "role", coding("http://terminology.hl7.org/CodeSystem/object-role", "1")));
    }
    if (json_array_size(entities))
        json_object_set_new(ev, "entity", entities);
    else
        json_decref(entities);
    return ev;
}

typedef struct page_ctx {
    json_t *entries;
    const char *base;
    int64_t n, last_time, last_seq;
    bool log; /* $access-log rows instead of AuditEvents */
} page_ctx;

static void add_part(json_t *parts, const char *name, const char *key, json_t *value)
{
    json_array_append_new(parts, json_pack("{s:s, s:o}", "name", name, key, value));
}

/* One "access" parameter of $access-log. */
static json_t *access_row(int64_t seq, const sv_audit_record *rec)
{
    char when[SV_INSTANT_LEN];
    sv_datetime_format_instant(rec->time_ms, when);
    json_t *parts = json_array();
    add_part(parts, "when", "valueInstant", json_string(when));
    add_part(parts, "kind", "valueCode",
             json_string(rec->principal_kind ? rec->principal_kind : "anonymous"));
    if (rec->principal_id)
        add_part(parts, "who", "valueString", json_string(rec->principal_id));
    if (rec->organisation)
        add_part(parts, "organisation", "valueReference",
                 json_pack("{s:s}", "reference", rec->organisation));
    if (rec->role)
        add_part(parts, "role", "valueCoding", coding(SV_AUDIT_BASE "CodeSystem/role", rec->role));
    add_part(parts, "action", "valueCode", json_string(rec->action ? rec->action : "unknown"));
    if (rec->resource_type && rec->resource_id) {
        char what[300];
        snprintf(what, sizeof(what), "%s/%s", rec->resource_type, rec->resource_id);
        add_part(parts, "what", "valueReference", json_pack("{s:s}", "reference", what));
    } else if (rec->resource_type) {
        add_part(parts, "what", "valueString", json_string(rec->resource_type));
    }
    if (rec->purpose)
        add_part(parts, "purpose", "valueCoding", coding(ACT_REASON, rec->purpose));
    bool btg = (rec->purpose && strcmp(rec->purpose, "ETREAT") == 0) ||
               (rec->action && strcmp(rec->action, "break-the-glass") == 0);
    add_part(parts, "breakTheGlass", "valueBoolean", json_boolean(btg));
    if (rec->reason)
        add_part(parts, "reason", "valueString", json_string(rec->reason));
    add_part(parts, "outcome", "valueInteger", json_integer(rec->outcome));
    char id[32];
    snprintf(id, sizeof(id), "%" PRId64, seq);
    add_part(parts, "auditEvent", "valueReference",
             json_pack("{s:s+}", "reference", "AuditEvent/", id));
    return json_pack("{s:s, s:o}", "name", "access", "part", parts);
}

static bool on_record(void *ctx, int64_t seq, const sv_audit_record *rec)
{
    page_ctx *p = ctx;
    if (p->log) {
        json_array_append_new(p->entries, access_row(seq, rec));
    } else {
        char url[512];
        snprintf(url, sizeof(url), "%s/AuditEvent/%" PRId64, p->base, seq);
        json_array_append_new(p->entries,
                              json_pack("{s:s, s:o, s:{s:s}}", "fullUrl", url, "resource",
                                        audit_event(seq, rec), "search", "mode", "match"));
    }
    p->n++;
    p->last_time = rec->time_ms;
    p->last_seq = seq;
    return true;
}

/* Percent-encodes s into out (unreserved characters stay). */
static void encode(sv_buf *out, const char *s)
{
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '.' || c == '_' || c == '~' || c == ':')
            sv_buf_add(out, s, 1);
        else
            sv_buf_addf(out, "%%%02X", c);
    }
}

/* The query string of this request without _page, then &_page=cursor. */
static void link_url(const sv_http_request *req, const char *base, const char *path,
                     const char *cursor, sv_buf *out)
{
    sv_buf_addf(out, "%s%s", base, path);
    char sep = '?';
    for (size_t i = 0; i < req->nparams; i++) {
        if (strcmp(req->params[i].name, "_page") == 0)
            continue;
        sv_buf_addf(out, "%c", sep);
        encode(out, req->params[i].name);
        sv_buf_adds(out, "=");
        encode(out, req->params[i].value);
        sep = '&';
    }
    if (cursor)
        sv_buf_addf(out, "%c_page=%s", sep, cursor);
}

static void answer(sv_http_response *res, json_t *j)
{
    res->status = 200;
    res->content_type = SV_FHIR_JSON;
    sv_buf_reset(&res->body);
    sv_fhir_dump(j, &res->body);
    json_decref(j);
}

static sv_audit_query new_query(void)
{
    return (sv_audit_query){.from = INT64_MIN, .to = INT64_MAX, .limit = PAGE_DEFAULT};
}

void sv__api_audit_events(sv_api *api, sv_rest *rest, const sv_http_request *req,
                          sv_http_response *res, const char *id)
{
    res->route = id ? "GET /fhir/AuditEvent/:id" : "GET /fhir/AuditEvent";
    if (strcmp(req->method, "GET") != 0) {
        sv_http_response_header(res, "Allow", "GET");
        sv__api_error(res, SV_ERR_METHOD, NULL,
                      "AuditEvent is a read-only view of the audit log; allowed: GET");
        return;
    }
    sv_audit_query q = new_query();
    const char *asked = NULL;
    if (!read_params(req, res, !id, &asked, &q))
        return;
    char citizen[ID_LEN];
    if (!allowed_citizen(rest, res, asked, citizen))
        return;
    /* A citizen or relative reads one record only when it is about their citizen. */
    q.citizen = citizen[0] ? citizen : NULL;
    if (id) {
        char *end = NULL;
        long long seq = strtoll(id, &end, 10);
        q.seq = (*id && !*end && seq > 0) ? seq : -1;
        q.limit = 1;
        if (q.seq < 0) {
            sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "AuditEvent/%s is not known", id);
            return;
        }
    }
    const char *base = sv__api_fhir_base(api);
    page_ctx p = {.entries = json_array(), .base = base};
    int64_t total = 0;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_audit_list(rest->db, &q, on_record, &p, &err);
    if (!e && !id)
        e = sv_audit_count(rest->db, &q, &total, &err);
    sv_buf_release(&err);
    if (e) {
        json_decref(p.entries);
        sv__api_error(res, e, NULL, "the audit log cannot be read");
        return;
    }
    if (id) {
        json_t *one = json_incref(json_object_get(json_array_get(p.entries, 0), "resource"));
        json_decref(p.entries);
        if (!one) {
            sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "AuditEvent/%s is not known", id);
            return;
        }
        answer(res, one);
        return;
    }
    json_t *bundle = json_pack("{s:s, s:s, s:I}", "resourceType", "Bundle", "type", "searchset",
                               "total", (json_int_t)total);
    json_t *links = json_array();
    sv_buf url = SV_BUF_INIT;
    link_url(req, base, "/AuditEvent", NULL, &url);
    json_array_append_new(links, json_pack("{s:s, s:s}", "relation", "self", "url", url.ptr));
    if (p.n == q.limit) {
        char cursor[64];
        snprintf(cursor, sizeof(cursor), "%" PRId64 ".%" PRId64, p.last_time, p.last_seq);
        sv_buf_reset(&url);
        link_url(req, base, "/AuditEvent", cursor, &url);
        json_array_append_new(links, json_pack("{s:s, s:s}", "relation", "next", "url", url.ptr));
    }
    sv_buf_release(&url);
    json_object_set_new(bundle, "link", links);
    if (json_array_size(p.entries))
        json_object_set_new(bundle, "entry", p.entries);
    else
        json_decref(p.entries);
    answer(res, bundle);
}

void sv__api_access_log(sv_api *api, sv_rest *rest, const sv_http_request *req,
                        sv_http_response *res, const char *patient_id)
{
    res->route = "GET /fhir/Patient/:id/$access-log";
    if (strcmp(req->method, "GET") != 0) {
        sv_http_response_header(res, "Allow", "GET");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: GET",
                      req->method);
        return;
    }
    sv_audit_query q = new_query();
    const char *asked = NULL;
    if (!read_params(req, res, false, &asked, &q))
        return;
    char citizen[ID_LEN];
    if (!allowed_citizen(rest, res, patient_id, citizen))
        return;
    q.citizen = citizen;
    q.others_only = true;
    page_ctx p = {.entries = json_array(), .base = sv__api_fhir_base(api), .log = true};
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_audit_list(rest->db, &q, on_record, &p, &err);
    sv_buf_release(&err);
    if (e) {
        json_decref(p.entries);
        sv__api_error(res, e, NULL, "the audit log cannot be read");
        return;
    }
    json_t *out = json_pack("{s:s}", "resourceType", "Parameters");
    if (p.n == q.limit) {
        char cursor[64];
        snprintf(cursor, sizeof(cursor), "%" PRId64 ".%" PRId64, p.last_time, p.last_seq);
        sv_buf url = SV_BUF_INIT;
        char path[ID_LEN + 32];
        snprintf(path, sizeof(path), "/Patient/%s/$access-log", citizen);
        link_url(req, sv__api_fhir_base(api), path, cursor, &url);
        json_array_append_new(p.entries,
                              json_pack("{s:s, s:s}", "name", "next", "valueUri", url.ptr));
        sv_buf_release(&url);
    }
    if (json_array_size(p.entries))
        json_object_set_new(out, "parameter", p.entries);
    else
        json_decref(p.entries);
    answer(res, out);
}
