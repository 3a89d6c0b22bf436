/* coord_routes.c - see coord_routes.h. */
#include "api/coord_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/auth_routes.h"
#include "api/internal.h"
#include "api/message_routes.h"
#include "base/datetime.h"
#include "base/json.h"
#include "coord/coord.h"
#include "coord/notify.h"
#include "coord/pathway.h"
#include "coord/plan.h"
#include "coord/team.h"
#include "coord/watchdog.h"
#include "stays/stays.h"
#include "store/audit.h"

#define JSON_TYPE "application/json; charset=utf-8"

static const char *param(const sv_http_request *req, const char *name)
{
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, name) == 0)
            return req->params[i].value;
    return NULL;
}

static void answer_json(sv_http_response *res, int status, const char *type, json_t *j)
{
    res->status = status;
    res->content_type = type;
    sv_buf_reset(&res->body);
    sv_fhir_dump(j, &res->body);
    json_decref(j);
}

static bool conn(sv_api *api, sv_http_response *res, sv_db **ret_db)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv__api_conn(api, ret_db, &err);
    sv_buf_release(&err);
    if (e)
        sv__api_error(res, e, NULL, "the database cannot be opened");
    return !e;
}

/* A reference parameter "Type/id": anything else is refused. */
static bool ref_param(sv_http_response *res, const char *name, const char *value)
{
    const char *slash = value ? strchr(value, '/') : NULL;
    if (!value || (slash && slash != value && slash[1] && !strchr(slash + 1, '/')))
        return true;
    sv__api_error(res, SV_ERR_INVALID, name, "%s '%s' is not a reference of the form Type/id", name,
                  value);
    return false;
}

/* Whose inboxes a principal may read and mark (docs/coordination.md): a
 * practitioner their PractitionerRole's and their organisation's, a citizen
 * their own, a relative their own; system clients (scopes checked before) any;
 * administrators none.  With auth off (NONE) the process answers for all.
 * recipient and organization are the notice's or the query's (NULL: none). */
static bool inbox_allowed(sv_api *api, const sv_principal *who, const char *recipient,
                          const char *organization)
{
    char own[SV_AUTH_NAME_MAX + 32];
    switch (who->kind) {
    case SV_PRINCIPAL_NONE:
    case SV_PRINCIPAL_SYSTEM:
        return true;
    case SV_PRINCIPAL_ADMIN:
        return false;
    case SV_PRINCIPAL_CITIZEN:
        snprintf(own, sizeof(own), "Patient/%s", who->patient);
        return !organization && recipient && who->patient[0] && strcmp(recipient, own) == 0;
    case SV_PRINCIPAL_RELATIVE:
        snprintf(own, sizeof(own), "RelatedPerson/%s", who->related_person);
        return !organization && recipient && who->related_person[0] && strcmp(recipient, own) == 0;
    case SV_PRINCIPAL_PRACTITIONER:
        break;
    }
    snprintf(own, sizeof(own), "PractitionerRole/%s", who->practitioner_role);
    if (recipient && who->practitioner_role[0] && strcmp(recipient, own) == 0)
        return true;
    if (!organization)
        return false;
    sv_db *db;
    sv_buf err = SV_BUF_INIT;
    sv_access access;
    bool ok = sv__api_conn(api, &db, &err) == SV_OK &&
              sv__api_access(api, db, who, &access, &err) == SV_OK && access.organisation[0] &&
              strcmp(access.organisation, organization) == 0;
    sv_buf_release(&err);
    return ok;
}

#define LONG_POLL_MAX_S 60

/* A non-negative integer parameter no larger than max; -1 when absent, -2 when
 * refused (the error is set). */
static int64_t count_param(const sv_http_request *req, sv_http_response *res, const char *name,
                           int64_t max)
{
    const char *v = param(req, name);
    if (!v)
        return -1;
    char *end = NULL;
    long long c = strtoll(v, &end, 10);
    if (!*v || *end || c < 0 || c > max) {
        sv__api_error(res, SV_ERR_INVALID, name, "%s '%s' is not a number from 0 to %lld", name, v,
                      (long long)max);
        return -2;
    }
    return c;
}

/* The newest id in list (newest first), or since when it is empty. */
static int64_t cursor_of(const json_t *list, int64_t since)
{
    const char *id = json_string_value(json_object_get(json_array_get(list, 0), "id"));
    long long newest = id ? strtoll(id, NULL, 10) : 0;
    return newest > since ? newest : since;
}

/* GET /notifications?recipient=&organization=&subject=&unread=true&_count=
 * [&wait=seconds&since=cursor] */
static void inbox(sv_api *api, const sv_http_request *req, sv_http_response *res,
                  const sv_principal *who)
{
    res->route = "GET /notifications";
    for (size_t i = 0; i < req->nparams; i++) {
        const char *n = req->params[i].name;
        if (strcmp(n, "recipient") && strcmp(n, "organization") && strcmp(n, "subject") &&
            strcmp(n, "unread") && strcmp(n, "_count") && strcmp(n, "wait") && strcmp(n, "since")) {
            sv__api_error(res, SV_ERR_INVALID, n, "'%s' is not a parameter of /notifications", n);
            return;
        }
    }
    sv_coord_inbox_query q = {.recipient = param(req, "recipient"),
                              .organization = param(req, "organization"),
                              .citizen = param(req, "subject"),
                              .limit = 50};
    if (!ref_param(res, "recipient", q.recipient) ||
        !ref_param(res, "organization", q.organization) || !ref_param(res, "subject", q.citizen))
        return;
    if (!q.recipient && !q.organization && !q.citizen) {
        sv__api_error(res, SV_ERR_INVALID, "recipient",
                      "name an inbox: recipient, organization or subject");
        return;
    }
    if (!inbox_allowed(api, who, q.recipient, q.organization) &&
        !(q.recipient && q.organization && inbox_allowed(api, who, q.recipient, NULL)) &&
        !(q.recipient && q.organization && inbox_allowed(api, who, NULL, q.organization))) {
        sv__api_error(res, SV_ERR_FORBIDDEN, q.recipient ? "recipient" : "organization",
                      "this inbox is not yours to read");
        return;
    }
    const char *unread = param(req, "unread");
    if (unread && strcmp(unread, "true") && strcmp(unread, "false")) {
        sv__api_error(res, SV_ERR_INVALID, "unread", "unread must be true or false");
        return;
    }
    q.unread_only = unread && strcmp(unread, "true") == 0;
    const char *count = param(req, "_count");
    if (count) {
        char *end = NULL;
        long long c = strtoll(count, &end, 10);
        if (!*count || *end || c < 1) {
            sv__api_error(res, SV_ERR_INVALID, "_count", "_count '%s' is not a positive number",
                          count);
            return;
        }
        q.limit = c > 500 ? 500 : c;
    }
    int64_t wait_s = count_param(req, res, "wait", LONG_POLL_MAX_S);
    int64_t since = count_param(req, res, "since", INT64_MAX);
    if (wait_s == -2 || since == -2)
        return;
    if (since >= 0)
        q.after_id = since;
    if (wait_s >= 0) {
        /* A long poll waits for what is new to the caller: unread notices. */
        if (unread && !q.unread_only) {
            sv__api_error(res, SV_ERR_INVALID, "unread", "a long poll (wait) reads unread notices");
            return;
        }
        q.unread_only = true;
    }
    sv_db *db;
    if (!conn(api, res, &db))
        return;
    json_t *list = NULL;
    int64_t unread_n = 0;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_coord_inbox(db, &q, &list, &unread_n, &err);
    sv_buf_release(&err);
    if (e) {
        sv__api_error(res, e, NULL, "the notifications cannot be read");
        return;
    }
    /* The long poll: nothing new yet, so the http server parks the request (no
     * thread, transaction or connection held) and calls this again when a notice
     * is committed (coord/notify_wait.h) or the time is up (then: the empty list;
     * the next poll with the same cursor finds what came at the last moment). */
    if (wait_s > 0 && json_array_size(list) == 0 && !req->park_expired) {
        json_decref(list);
        if (req->park_refused) {
            sv_http_response_header(res, "Retry-After", "1");
            sv__api_error(res, SV_ERR_TOO_MANY, "wait",
                          "too many long polls are waiting; poll again shortly");
            return;
        }
        res->park_ms = wait_s * 1000;
        return;
    }
    char cursor[24];
    snprintf(cursor, sizeof(cursor), "%lld", (long long)cursor_of(list, q.after_id));
    answer_json(res, 200, JSON_TYPE,
                json_pack("{s:I, s:o, s:s}", "unread", (json_int_t)unread_n, "notifications", list,
                          "cursor", cursor));
}

/* POST /notifications/{id}/read */
static void mark_read(sv_api *api, sv_http_response *res, const char *id, const sv_principal *who)
{
    res->route = "POST /notifications/:id/read";
    char *end = NULL;
    long long n = strtoll(id, &end, 10);
    if (!*id || *end || n < 1) {
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "notification '%s' is not known", id);
        return;
    }
    sv_db *db;
    if (!conn(api, res, &db))
        return;
    sv_buf err = SV_BUF_INIT;
    char recipient[SV_COORD_NOTICE_REF_LEN], organization[SV_COORD_NOTICE_REF_LEN];
    sv_err e = sv_coord_notice_owner(db, n, recipient, organization, &err);
    /* Someone else's notice is answered like a missing one. */
    if (!e && !inbox_allowed(api, who, recipient[0] ? recipient : NULL, NULL) &&
        !inbox_allowed(api, who, NULL, organization[0] ? organization : NULL))
        e = SV_ERR_NOT_FOUND;
    if (!e)
        e = sv_coord_notice_mark_read(db, n, &err);
    sv_buf_release(&err);
    if (e == SV_ERR_NOT_FOUND) {
        sv__api_error(res, e, NULL, "notification '%s' is not known", id);
        return;
    }
    if (e) {
        sv__api_error(res, e, NULL, "the notification cannot be marked");
        return;
    }
    answer_json(res, 200, JSON_TYPE, json_pack("{s:s, s:b}", "id", id, "read", 1));
}

/* POST /admin/clock {"now": "2026-01-05T08:00:00Z"} pins the clock; {"now": null}
 * returns to the real one. */
static void admin_clock(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    res->route = "POST /admin/clock";
    json_t *body = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_json_parse(req->body, req->body_len, 8, SV_JSON_TOP_OBJECT, &body, &err, NULL);
    sv_buf_release(&err);
    if (e) {
        sv__api_error(res, SV_ERR_INVALID, NULL, "the body must be {\"now\": instant or null}");
        return;
    }
    const json_t *now = json_object_get(body, "now");
    sv_datetime_range r;
    const char *t = json_string_value(now);
    if (json_is_null(now)) {
        sv_clock_set_fixed(0);
    } else if (t && sv_datetime_parse(t, strlen(t), &r) && r.has_time_zone) {
        sv_clock_set_fixed(r.low);
    } else {
        json_decref(body);
        sv__api_error(res, SV_ERR_INVALID, "now", "now must be an instant with a zone, or null");
        return;
    }
    json_decref(body);
    char ts[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    answer_json(res, 200, JSON_TYPE, json_pack("{s:s}", "now", ts));
    (void)api;
}

/* POST /admin/watchdog/tick: one tick now, on this request's connection. */
static void admin_tick(sv_api *api, sv_http_response *res)
{
    res->route = "POST /admin/watchdog/tick";
    sv_db *db;
    if (!conn(api, res, &db))
        return;
    sv_rest rest = {.db = db,
                    .actor = &sv_audit_system,
                    .base_url = sv__api_fhir_base(api),
                    .default_count = 50,
                    .max_count = 1000,
                    .hooks = sv_coord_hooks()};
    char worker[64];
    snprintf(worker, sizeof(worker), "pid-%ld-http", (long)getpid());
    sv_coord_tick_stats st;
    sv_buf err = SV_BUF_INIT;
    int fed = 0;
    sv_err e = sv_stays_feed(&rest, sv__api_stays(api), &fed, &err);
    if (!e)
        e = sv_coord_watchdog_tick(&rest, worker, &st, &err);
    int tried = 0, acked = 0;
    if (!e)
        e = sv__api_outbox_send(api, db, &tried, &acked);
    sv_buf_release(&err);
    if (e) {
        sv__api_error(res, e, NULL, "the watchdog tick failed");
        return;
    }
    answer_json(res, 200, JSON_TYPE,
                json_pack("{s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:i}", "jobs",
                          st.jobs, "reminders", st.reminders, "overdue", st.overdue, "escalations",
                          st.escalations, "unanswered", st.unanswered, "skipped", st.skipped,
                          "failed", st.failed, "stayEvents", fed, "citizenReminders",
                          st.citizen_reminders, "outboxTried", tried, "outboxAcked", acked));
}

void sv__api_coord(sv_api *api, const sv_http_request *req, sv_http_response *res,
                   const char *const *segs, size_t n)
{
    bool post = strcmp(req->method, "POST") == 0;
    if (strcmp(segs[0], "admin") == 0) {
        res->route = "/admin";
        if (!sv__api_config(api)->test_endpoints) {
            sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such endpoint");
            return;
        }
        if (!post) {
            sv_http_response_header(res, "Allow", "POST");
            sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: POST",
                          req->method);
            return;
        }
        if (n == 2 && strcmp(segs[1], "clock") == 0)
            admin_clock(api, req, res);
        else if (n == 3 && strcmp(segs[1], "watchdog") == 0 && strcmp(segs[2], "tick") == 0)
            admin_tick(api, res);
        else
            sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such endpoint");
        return;
    }
    /* /notifications: with auth on, a principal whose scopes cover Communication. */
    res->route = "/notifications";
    const char *as_fhir[] = {"fhir", "Communication", n == 3 ? "x" : NULL};
    sv_principal who;
    if (!sv__api_authenticate(api, req, res, as_fhir, n == 3 ? 3 : 2, &who))
        return;
    if (n == 1) {
        if (strcmp(req->method, "GET") != 0) {
            sv_http_response_header(res, "Allow", "GET");
            sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: GET",
                          req->method);
            return;
        }
        inbox(api, req, res, &who);
    } else if (n == 3 && strcmp(segs[2], "read") == 0) {
        if (!post) {
            sv_http_response_header(res, "Allow", "POST");
            sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: POST",
                          req->method);
            return;
        }
        mark_read(api, res, segs[1], &who);
    } else {
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such endpoint");
    }
}

/* POST PlanDefinition/[id]/$apply?subject=Patient/x with an optional Parameters
 * body: the pathway CarePlan and its Tasks (coord/pathway.h). */
static void apply(sv_api *api, sv_rest *rest, const sv_http_request *req, sv_http_response *res,
                  const char *id)
{
    res->route = "POST /fhir/PlanDefinition/:id/$apply";
    if (strcmp(req->method, "POST") != 0) {
        sv_http_response_header(res, "Allow", "POST");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: POST",
                      req->method);
        return;
    }
    json_t *body = NULL;
    if (req->body_len) {
        body = sv__api_read_resource(api, req, res);
        if (!body)
            return;
    }
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_coord_pathway_apply(rest, id, param(req, "subject"), body, &rr);
    json_decref(body);
    sv__api_result(api, req, res, e, &rr);
    sv_rest_result_clear(&rr);
}

static bool version_param(const sv_http_request *req, sv_http_response *res, const char *name,
                          int64_t *ret)
{
    const char *v = param(req, name);
    char *end = NULL;
    long long n = v ? strtoll(v, &end, 10) : 0;
    if (!v || !*v || *end || n < 1) {
        sv__api_error(res, SV_ERR_INVALID, name, "%s must be a version number", name);
        return false;
    }
    *ret = n;
    return true;
}

void sv__api_coord_operation(sv_api *api, sv_rest *rest, const sv_http_request *req,
                             sv_http_response *res, const char *type, const char *id,
                             const char *op)
{
    res->route = "GET /fhir/:type/:id/$op";
    if (strcmp(type, "PlanDefinition") == 0 && strcmp(op, "$apply") == 0) {
        apply(api, rest, req, res, id);
        return;
    }
    if (strcmp(req->method, "GET") != 0) {
        sv_http_response_header(res, "Allow", "GET");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: GET",
                      req->method);
        return;
    }
    /* The views read more than the resource itself, unfiltered: they are only for
     * callers who may see the resource they are about (404 like a missing one). */
    sv_rest_result seen;
    sv_rest_result_init(&seen);
    sv_err e = sv_rest_read(rest, type, id, &seen);
    if (e) {
        sv__api_result(api, req, res, e, &seen);
        sv_rest_result_clear(&seen);
        return;
    }
    sv_rest_result_clear(&seen);
    sv_outcome out = SV_OUTCOME_INIT;
    json_t *result = NULL;
    if (strcmp(type, "Patient") == 0 && strcmp(op, "$team") == 0) {
        res->route = "GET /fhir/Patient/:id/$team";
        e = sv_coord_team_view(rest->db, id, &result, &out);
    } else if (strcmp(type, "CarePlan") == 0 && strcmp(op, "$agreement") == 0) {
        res->route = "GET /fhir/CarePlan/:id/$agreement";
        e = sv_coord_plan_agreement(rest->db, id, &result, &out);
    } else if (strcmp(type, "PlanDefinition") == 0 && strcmp(op, "$deviations") == 0) {
        res->route = "GET /fhir/PlanDefinition/:id/$deviations";
        e = sv_coord_pathway_deviations(rest, id, &result, &out);
    } else if (strcmp(op, "$diff") == 0) {
        res->route = "GET /fhir/:type/:id/$diff";
        int64_t from, to;
        if (!version_param(req, res, "from", &from) || !version_param(req, res, "to", &to))
            return;
        e = sv_coord_diff(rest->db, type, id, from, to, &result, &out);
    } else {
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "operation '%s' is not known on %s", op, type);
        return;
    }
    if (e)
        sv__api_outcome(res, e, &out);
    else
        answer_json(res, 200, JSON_TYPE, result);
    sv_outcome_clear(&out);
    (void)api;
}

void sv__api_discharge_board(sv_api *api, sv_rest *rest, const sv_http_request *req,
                             sv_http_response *res, const char *org_id)
{
    res->route = "GET /fhir/Organization/:id/$discharge-board";
    if (strcmp(req->method, "GET") != 0) {
        sv_http_response_header(res, "Allow", "GET");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: GET",
                      req->method);
        return;
    }
    if (req->nparams > 0) {
        sv__api_error(res, SV_ERR_INVALID, req->params[0].name,
                      "'%s' is not a parameter of $discharge-board", req->params[0].name);
        return;
    }
    json_t *board = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    sv_err e = sv_stays_board(rest, sv__api_stays(api), org_id, &board, &out);
    if (e)
        sv__api_outcome(res, e, &out);
    else
        answer_json(res, 200, JSON_TYPE, board);
    sv_outcome_clear(&out);
}
