/* pathway.c - see pathway.h. */
#include "coord/pathway.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/datetime.h"
#include "base/id.h"
#include "coord/codes.h"
#include "coord/util.h"
#include "fhir/search.h"

/* R4's own $apply parameters: accepted, not used (the request's principal is the author). */
static const char *const r4_params[] = {"encounter", "practitioner",   "organization",
                                        "userType",  "userLanguage",   "userTaskContext",
                                        "setting",   "settingContext", NULL};

typedef struct apply_ctx {
    sv_rest *r;
    sv_outcome *out;
    char subject[SV_COORD_REF_LEN];
    json_t *roles;      /* role code -> "Organization/x" */
    json_t *deviations; /* action id -> {change, reason, owner?, amount?, description?, at} */
    json_t *offers;     /* action id -> "HealthcareService/x" */
} apply_ctx;

static sv_err fail(apply_ctx *a, sv_err e, const char *code, const char *path, const char *fmt,
                   const char *v1, const char *v2)
{
    sv_outcome_add(a->out, SV_SEV_ERROR, code, path, fmt, v1 ? v1 : "", v2 ? v2 : "");
    return e;
}

/* The value of a parameter or part whose value[x] is one of the string-like
 * types, or the reference of a valueReference; NULL when absent. */
static const char *value_text(const json_t *p)
{
    static const char *const keys[] = {"valueString", "valueCode",      "valueId",
                                       "valueUri",    "valueCanonical", NULL};
    for (size_t i = 0; keys[i]; i++) {
        const char *s = json_string_value(json_object_get(p, keys[i]));
        if (s)
            return s;
    }
    return json_string_value(json_object_get(json_object_get(p, "valueReference"), "reference"));
}

static const json_t *part(const json_t *param, const char *name)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(param, "part"), i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, name) == 0)
            return p;
    }
    return NULL;
}

static bool listed(const char *const *list, const char *s)
{
    for (size_t i = 0; s && list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

/* A reference "Type/id" of the given type that the caller can read. */
static bool readable(apply_ctx *a, const char *ref, const char *type)
{
    const char *id = sv__coord_ref_id(ref, type);
    if (!id || strchr(id, '/'))
        return false;
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_rest_read(a->r, type, id, &rr);
    sv_rest_result_clear(&rr);
    return e == SV_OK;
}

static sv_err read_role(apply_ctx *a, const json_t *param, const char *path)
{
    const char *role = value_text(part(param, "role"));
    const char *org = value_text(part(param, "organization"));
    if (!role || !org)
        return fail(a, SV_ERR_INVALID, "required", path,
                    "a role parameter has the parts role (code) and organization "
                    "(Organization reference)%s%s",
                    NULL, NULL);
    if (!readable(a, org, "Organization"))
        return fail(a, SV_ERR_PROCESSING, "not-found", path,
                    "role '%s': '%s' is not a known Organization", role, org);
    json_object_set_new(a->roles, role, json_string(org));
    return SV_OK;
}

static sv_err read_deviation(apply_ctx *a, const json_t *param, const char *path)
{
    const char *action = value_text(part(param, "action"));
    const char *reason = value_text(part(param, "reason"));
    const char *change = value_text(part(param, "change"));
    const char *owner = value_text(part(param, "owner"));
    const json_t *amount = json_object_get(part(param, "amount"), "valueInteger");
    const char *description = value_text(part(param, "description"));
    if (!action)
        return fail(a, SV_ERR_INVALID, "required", path,
                    "a deviation names the action it leaves out or changes (part action)%s%s", NULL,
                    NULL);
    const char *p = reason;
    while (p && (*p == ' ' || *p == '\t' || *p == '\n'))
        p++;
    if (!p || !*p)
        return fail(a, SV_ERR_PROCESSING, "business-rule", path,
                    "leaving out or changing the standard activity '%s' needs a reason "
                    "(part reason)%s",
                    action, NULL);
    bool modifies = owner || amount || description;
    if (!change)
        change = modifies ? "changed" : "omitted";
    if (strcmp(change, "omitted") != 0 && strcmp(change, "changed") != 0)
        return fail(a, SV_ERR_INVALID, "code-invalid", path,
                    "change '%s' is not omitted or changed%s", change, NULL);
    if (strcmp(change, "changed") == 0 && !modifies)
        return fail(a, SV_ERR_INVALID, "required", path,
                    "a changed activity '%s' says what changes: owner, amount or description%s",
                    action, NULL);
    if (owner && !readable(a, owner, "Organization"))
        return fail(a, SV_ERR_PROCESSING, "not-found", path,
                    "deviation '%s': owner '%s' is not a known Organization", action, owner);
    if (amount && (!json_is_integer(amount) || json_integer_value(amount) < 0 ||
                   json_integer_value(amount) > 10000))
        return fail(a, SV_ERR_INVALID, "value", path,
                    "deviation '%s': amount must be an integer 0..10000%s", action, NULL);
    if (json_object_get(a->deviations, action))
        return fail(a, SV_ERR_INVALID, "duplicate", path,
                    "the action '%s' has more than one deviation%s", action, NULL);
    json_t *d = json_pack("{s:s, s:s, s:s}", "change", change, "reason", reason, "at", path);
    if (owner)
        json_object_set_new(d, "owner", json_string(owner));
    if (amount)
        json_object_set(d, "amount", (json_t *)amount);
    if (description)
        json_object_set_new(d, "description", json_string(description));
    json_object_set_new(a->deviations, action, d);
    return SV_OK;
}

static sv_err read_offer(apply_ctx *a, const json_t *param, const char *path)
{
    const char *action = value_text(part(param, "action"));
    const char *service = value_text(part(param, "service"));
    if (!action || !service)
        return fail(a, SV_ERR_INVALID, "required", path,
                    "an offer parameter has the parts action and service (HealthcareService "
                    "reference)%s%s",
                    NULL, NULL);
    if (!readable(a, service, "HealthcareService"))
        return fail(a, SV_ERR_PROCESSING, "not-found", path,
                    "offer for '%s': '%s' is not a known HealthcareService", action, service);
    json_object_set_new(a->offers, action, json_pack("{s:s, s:s}", "service", service, "at", path));
    return SV_OK;
}

static sv_err read_parameters(apply_ctx *a, const json_t *params)
{
    if (!params)
        return SV_OK;
    const char *rt = json_string_value(json_object_get(params, "resourceType"));
    if (!rt || strcmp(rt, "Parameters") != 0)
        return fail(a, SV_ERR_INVALID, "invalid", NULL,
                    "the body of $apply is a Parameters resource%s%s", NULL, NULL);
    size_t i;
    const json_t *p;
    sv_err e = SV_OK;
    json_array_foreach(json_object_get(params, "parameter"), i, p)
    {
        char path[64];
        snprintf(path, sizeof(path), "Parameters.parameter[%zu]", i);
        const char *name = json_string_value(json_object_get(p, "name"));
        if (!name)
            e = fail(a, SV_ERR_INVALID, "required", path, "a parameter without a name%s%s", NULL,
                     NULL);
        else if (strcmp(name, "subject") == 0) {
            const char *s = value_text(p);
            if (!a->subject[0] && s)
                snprintf(a->subject, sizeof(a->subject), "%s", s);
        } else if (strcmp(name, "role") == 0)
            e = read_role(a, p, path);
        else if (strcmp(name, "deviation") == 0)
            e = read_deviation(a, p, path);
        else if (strcmp(name, "offer") == 0)
            e = read_offer(a, p, path);
        else if (!listed(r4_params, name))
            e = fail(a, SV_ERR_INVALID, "not-supported", path,
                     "'%s' is not a parameter of $apply (subject, role, deviation, offer)%s", name,
                     NULL);
        if (e)
            return e;
    }
    return SV_OK;
}

/* ---- the definitions ---------------------------------------------------------- */

typedef struct found {
    json_t *j;
} found;

static bool keep_one(void *ctx, const json_t *res)
{
    found *f = ctx;
    if (!f->j)
        f->j = json_deep_copy(res);
    return false;
}

/* The ActivityDefinition with this canonical url ("url|version" is cut at '|'). */
static json_t *activity_definition(sv_db *db, const char *canonical)
{
    char url[512];
    snprintf(url, sizeof(url), "%s", canonical);
    char *bar = strchr(url, '|');
    if (bar)
        *bar = '\0';
    const char *names[] = {"url"};
    const char *values[] = {url};
    found f = {NULL};
    sv__coord_find(db, "ActivityDefinition", names, values, 1, 1, keep_one, &f);
    return f.j;
}

/* The pathway role of an ActivityDefinition: "citizen" for a patient
 * participant, else the pathway-role code of its first participant. */
static const char *role_of(const json_t *ad)
{
    const json_t *p = json_array_get(json_object_get(ad, "participant"), 0);
    const char *type = json_string_value(json_object_get(p, "type"));
    if (type && strcmp(type, "patient") == 0)
        return "citizen";
    return sv__coord_code_of(json_object_get(p, "role"), SV_SYS_PATHWAY_ROLE);
}

static json_t *deviation_extension(const char *action, const json_t *d)
{
    return json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:O}]}", "url",
                     SV_EXT_PATHWAY_DEVIATION, "extension", "url", "action", "valueCode", action,
                     "url", "change", "valueCode", json_string_value(json_object_get(d, "change")),
                     "url", "reason", "valueString", json_object_get(d, "reason"));
}

/* The deadline rule of the activity, with a deviation's amount in place. */
static json_t *deadline_rule(const json_t *ad, const json_t *d)
{
    const json_t *rule = sv__coord_extension(ad, SV_EXT_DEADLINE_RULE);
    if (!rule)
        return NULL;
    json_t *copy = json_deep_copy(rule);
    const json_t *amount = json_object_get(d, "amount");
    size_t i;
    json_t *sub;
    json_array_foreach(json_object_get(copy, "extension"), i, sub)
    {
        const char *u = json_string_value(json_object_get(sub, "url"));
        if (amount && u && strcmp(u, "amount") == 0)
            json_object_set(sub, "valueInteger", (json_t *)amount);
    }
    return copy;
}

static const char *text_of(const json_t *action, const json_t *ad)
{
    const char *t = json_string_value(json_object_get(action, "title"));
    if (!t)
        t = json_string_value(json_object_get(ad, "title"));
    if (!t)
        t = json_string_value(json_object_get(ad, "description"));
    return t ? t : "";
}

/* Builds the plan (into plan) and its tasks (appended to tasks) from the
 * definition; refuses actions whose owner is unknown. */
static sv_err build(apply_ctx *a, const json_t *pd, const char *plan_id, json_t *plan,
                    json_t *tasks)
{
    char now[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_clock_now_ms(), now);
    json_t *activities = json_object_get(plan, "activity");
    json_t *contributors = json_object_get(plan, "contributor");
    json_t *known = json_object(); /* action ids of the definition */
    size_t k;
    const json_t *action;
    sv_err e = SV_OK;
    json_array_foreach(json_object_get(pd, "action"), k, action)
    {
        char path[64];
        snprintf(path, sizeof(path), "PlanDefinition.action[%zu]", k);
        const char *aid = json_string_value(json_object_get(action, "id"));
        const char *canonical = json_string_value(json_object_get(action, "definitionCanonical"));
        if (!aid || !canonical) {
            e = fail(a, SV_ERR_PROCESSING, "business-rule", path,
                     "each action of a pathway needs an id and a definitionCanonical%s%s", NULL,
                     NULL);
            break;
        }
        json_object_set_new(known, aid, json_true());
        const json_t *d = json_object_get(a->deviations, aid);
        const char *change = json_string_value(json_object_get(d, "change"));
        if (d)
            json_array_append_new(json_object_get(plan, "extension"), deviation_extension(aid, d));
        if (change && strcmp(change, "omitted") == 0)
            continue;
        json_t *ad = activity_definition(a->r->db, canonical);
        if (!ad) {
            e = fail(a, SV_ERR_PROCESSING, "not-found", path,
                     "the ActivityDefinition '%s' of action '%s' is not loaded", canonical, aid);
            break;
        }
        const char *role = role_of(ad);
        const char *desc = json_string_value(json_object_get(d, "description"));
        if (!desc)
            desc = text_of(action, ad);
        const json_t *offer = json_object_get(a->offers, aid);
        json_t *activity = json_object();
        if (offer)
            json_object_set_new(activity, "extension",
                                json_pack("[{s:s, s:{s:O}}]", "url", SV_EXT_HEALTHCARE_SERVICE,
                                          "valueReference", "reference",
                                          json_object_get(offer, "service")));
        if (role && strcmp(role, "citizen") == 0) {
            /* The citizen's own activity: no Task, reminders from scheduledTiming. */
            json_t *detail = json_pack("{s:[s], s:s, s:s, s:[{s:s}]}", "instantiatesCanonical",
                                       canonical, "status", "scheduled", "description", desc,
                                       "performer", "reference", a->subject);
            if (json_object_get(ad, "code"))
                json_object_set(detail, "code", json_object_get(ad, "code"));
            if (json_object_get(ad, "timingTiming"))
                json_object_set(detail, "scheduledTiming", json_object_get(ad, "timingTiming"));
            json_object_set_new(activity, "detail", detail);
            json_array_append_new(activities, activity);
            json_decref(ad);
            continue;
        }
        const char *owner = json_string_value(json_object_get(d, "owner"));
        if (!owner && role)
            owner = json_string_value(json_object_get(a->roles, role));
        if (!owner) {
            e = fail(a, SV_ERR_PROCESSING, "business-rule", "Parameters.parameter",
                     "no organisation takes the role '%s' of action '%s': name one with a role "
                     "parameter, or leave the action out with a deviation and a reason",
                     role ? role : "(none)", aid);
            json_decref(activity);
            json_decref(ad);
            break;
        }
        char task_id[SV_UUID_LEN], task_ref[SV_UUID_LEN + 8], plan_ref[SV_COORD_REF_LEN];
        sv_id_uuid(task_id);
        snprintf(task_ref, sizeof(task_ref), "Task/%s", task_id);
        snprintf(plan_ref, sizeof(plan_ref), "CarePlan/%s", plan_id);
        json_t *task =
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:[{s:s}], s:{s:s}, s:{s:s}, s:s, s:s, s:[]}",
                      "resourceType", "Task", "id", task_id, "status", "requested", "intent",
                      "plan", "priority", "routine", "instantiatesCanonical", canonical, "basedOn",
                      "reference", plan_ref, "for", "reference", a->subject, "owner", "reference",
                      owner, "description", desc, "authoredOn", now, "extension");
        if (json_object_get(ad, "code"))
            json_object_set(task, "code", json_object_get(ad, "code"));
        json_t *rule = deadline_rule(ad, d);
        if (rule)
            json_array_append_new(json_object_get(task, "extension"), rule);
        if (d)
            json_array_append_new(json_object_get(task, "extension"), deviation_extension(aid, d));
        if (!json_array_size(json_object_get(task, "extension")))
            json_object_del(task, "extension");
        json_array_append_new(tasks, task);
        json_object_set_new(activity, "reference",
                            json_pack("{s:s, s:s}", "reference", task_ref, "display", desc));
        json_array_append_new(activities, activity);
        bool have = false;
        size_t c;
        const json_t *cv;
        json_array_foreach(contributors, c, cv)
        {
            have = have || strcmp(json_string_value(json_object_get(cv, "reference")), owner) == 0;
        }
        if (!have)
            json_array_append_new(contributors, json_pack("{s:s}", "reference", owner));
        json_decref(ad);
    }
    /* A deviation or offer for an action the definition does not have. */
    const char *name;
    json_t *v;
    json_object_foreach(a->deviations, name, v)
    {
        if (!e && !json_object_get(known, name))
            e = fail(a, SV_ERR_PROCESSING, "not-found", json_string_value(json_object_get(v, "at")),
                     "the pathway has no action '%s'%s", name, NULL);
    }
    json_object_foreach(a->offers, name, v)
    {
        if (!e && !json_object_get(known, name))
            e = fail(a, SV_ERR_PROCESSING, "not-found", json_string_value(json_object_get(v, "at")),
                     "the pathway has no action '%s'%s", name, NULL);
    }
    json_decref(known);
    return e;
}

static void take_outcome(sv_outcome *to, const sv_outcome *from)
{
    for (size_t i = 0; i < from->len; i++)
        sv_outcome_add(to, from->issues[i].severity, from->issues[i].code,
                       from->issues[i].expression, "%s",
                       from->issues[i].diagnostics ? from->issues[i].diagnostics : "");
}

/* Writes plan and tasks in one transaction; res gets the plan's result. */
static sv_err write_all(sv_rest *r, const char *plan_id, json_t *plan, json_t *tasks,
                        sv_rest_result *res)
{
    sv_buf err = SV_BUF_INIT;
    bool own = !sv_db_in_tx(r->db);
    sv_err e = own ? sv_db_begin(r->db, SV_TX_WRITE, &err) : SV_OK;
    if (e) {
        sv_outcome_add(&res->outcome, SV_SEV_ERROR, "exception", NULL,
                       "the plan cannot be written");
        sv_buf_release(&err);
        return e;
    }
    e = sv_rest_create_as(r, "CarePlan", plan, plan_id, res);
    size_t i;
    json_t *task;
    json_array_foreach(tasks, i, task)
    {
        if (e)
            break;
        sv_rest_result tr;
        sv_rest_result_init(&tr);
        e = sv_rest_create_as(r, "Task", task, json_string_value(json_object_get(task, "id")), &tr);
        if (e)
            take_outcome(&res->outcome, &tr.outcome);
        sv_rest_result_clear(&tr);
    }
    if (own) {
        if (!e)
            e = sv_db_commit(r->db, &err);
        else
            sv_db_rollback(r->db);
    }
    sv_buf_release(&err);
    return e;
}

sv_err sv_coord_pathway_apply(sv_rest *r, const char *plan_definition_id, const char *subject,
                              const json_t *parameters, sv_rest_result *res)
{
    apply_ctx a = {.r = r,
                   .out = &res->outcome,
                   .roles = json_object(),
                   .deviations = json_object(),
                   .offers = json_object()};
    if (subject)
        snprintf(a.subject, sizeof(a.subject), "%s", subject);
    json_t *pd = NULL, *plan = NULL, *tasks = json_array();
    sv_err e = read_parameters(&a, parameters);
    if (e)
        goto out;
    sv_rest_result pr;
    sv_rest_result_init(&pr);
    e = sv_rest_read(r, "PlanDefinition", plan_definition_id, &pr);
    if (!e)
        pd = sv_json_loadb(pr.body.ptr, pr.body.len, 0, NULL);
    sv_rest_result_clear(&pr);
    if (e || !pd) {
        e = fail(&a, SV_ERR_NOT_FOUND, "not-found", NULL, "PlanDefinition/%s is not known%s",
                 plan_definition_id, NULL);
        goto out;
    }
    if (!a.subject[0]) {
        e = fail(&a, SV_ERR_INVALID, "required", "subject",
                 "$apply needs a subject (Patient/[id])%s%s", NULL, NULL);
        goto out;
    }
    if (!readable(&a, a.subject, "Patient")) {
        e = fail(&a, SV_ERR_NOT_FOUND, "not-found", "subject", "'%s' is not a known Patient%s",
                 a.subject, NULL);
        goto out;
    }
    char plan_id[SV_UUID_LEN], now[SV_INSTANT_LEN];
    sv_id_uuid(plan_id);
    sv_datetime_format_instant(sv_clock_now_ms(), now);
    const char *url = json_string_value(json_object_get(pd, "url"));
    const char *title = json_string_value(json_object_get(pd, "title"));
    plan = json_pack("{s:s, s:s, s:s, s:[{s:[{s:s, s:s}]}], s:{s:s}, s:s, s:{s:s}, s:[], s:[], "
                     "s:[]}",
                     "resourceType", "CarePlan", "status", "active", "intent", "plan", "category",
                     "coding", "system", SV_SYS_CAREPLAN_CATEGORY, "code", "pathway", "subject",
                     "reference", a.subject, "created", now, "period", "start", now, "contributor",
                     "activity", "extension");
    if (url)
        json_object_set_new(plan, "instantiatesCanonical", json_pack("[s]", url));
    if (title)
        json_object_set_new(plan, "title", json_string(title));
    e = build(&a, pd, plan_id, plan, tasks);
    if (e)
        goto out;
    static const char *const maybe_empty[] = {"contributor", "activity", "extension", NULL};
    for (size_t i = 0; maybe_empty[i]; i++)
        if (!json_array_size(json_object_get(plan, maybe_empty[i])))
            json_object_del(plan, maybe_empty[i]);
    e = write_all(r, plan_id, plan, tasks, res);
out:
    json_decref(plan);
    json_decref(tasks);
    json_decref(pd);
    json_decref(a.roles);
    json_decref(a.deviations);
    json_decref(a.offers);
    return e;
}

/* ---- $deviations ------------------------------------------------------------------ */

typedef struct count_ctx {
    int64_t plans;
    json_t *by_action; /* action -> {omitted, changed, reasons: {text: n}} */
} count_ctx;

static bool count_plan(void *ctx, const sv_stored *s)
{
    count_ctx *c = ctx;
    json_t *plan = s->json ? sv_json_loadb(s->json, s->json_len, 0, NULL) : NULL;
    if (!plan)
        return true;
    c->plans++;
    size_t i;
    const json_t *ext;
    json_array_foreach(json_object_get(plan, "extension"), i, ext)
    {
        const char *u = json_string_value(json_object_get(ext, "url"));
        if (!u || strcmp(u, SV_EXT_PATHWAY_DEVIATION) != 0)
            continue;
        const char *action =
            json_string_value(json_object_get(sv__coord_extension(ext, "action"), "valueCode"));
        const char *change =
            json_string_value(json_object_get(sv__coord_extension(ext, "change"), "valueCode"));
        const char *reason =
            json_string_value(json_object_get(sv__coord_extension(ext, "reason"), "valueString"));
        if (!action || !change)
            continue;
        json_t *entry = json_object_get(c->by_action, action);
        if (!entry) {
            entry = json_pack("{s:i, s:i, s:{}}", "omitted", 0, "changed", 0, "reasons");
            json_object_set_new(c->by_action, action, entry);
        }
        const char *key = strcmp(change, "omitted") == 0 ? "omitted" : "changed";
        json_object_set_new(entry, key,
                            json_integer(json_integer_value(json_object_get(entry, key)) + 1));
        json_t *reasons = json_object_get(entry, "reasons");
        if (reason)
            json_object_set_new(
                reasons, reason,
                json_integer(json_integer_value(json_object_get(reasons, reason)) + 1));
    }
    json_decref(plan);
    return true;
}

sv_err sv_coord_pathway_deviations(sv_rest *r, const char *plan_definition_id, json_t **ret,
                                   sv_outcome *out)
{
    json_t *pd = NULL;
    sv_rest_result pr;
    sv_rest_result_init(&pr);
    sv_err e = sv_rest_read(r, "PlanDefinition", plan_definition_id, &pr);
    if (!e)
        pd = sv_json_loadb(pr.body.ptr, pr.body.len, 0, NULL);
    sv_rest_result_clear(&pr);
    const char *url = json_string_value(json_object_get(pd, "url"));
    if (e || !url) {
        json_decref(pd);
        sv_outcome_add(out, SV_SEV_ERROR, "not-found", NULL,
                       "PlanDefinition/%s is not known or has no url", plan_definition_id);
        return SV_ERR_NOT_FOUND;
    }
    sv_query_param params[] = {{.name = "pathway", .value = url}};
    sv_query q;
    sv_query_view(&q, params, 1);
    count_ctx c = {.by_action = json_object()};
    e = sv_search_find(r->db, sv_policy_filter(r->access), "CarePlan", &q, 0, 100000, count_plan,
                       &c, NULL, out);
    if (e) {
        json_decref(c.by_action);
        json_decref(pd);
        return e;
    }
    json_t *list = json_array();
    size_t k;
    const json_t *action;
    json_array_foreach(json_object_get(pd, "action"), k, action)
    {
        const char *aid = json_string_value(json_object_get(action, "id"));
        const json_t *entry = aid ? json_object_get(c.by_action, aid) : NULL;
        json_t *reasons = json_array();
        const char *text;
        json_t *n;
        json_object_foreach((json_t *)json_object_get(entry, "reasons"), text, n)
        {
            json_array_append_new(reasons, json_pack("{s:s, s:O}", "reason", text, "count", n));
        }
        json_array_append_new(
            list,
            json_pack("{s:s?, s:s?, s:I, s:I, s:o}", "action", aid, "title",
                      json_string_value(json_object_get(action, "title")), "omitted",
                      json_integer_value(json_object_get(entry, "omitted")), "changed",
                      json_integer_value(json_object_get(entry, "changed")), "reasons", reasons));
    }
    *ret =
        json_pack("{s:s, s:I, s:o}", "pathway", url, "plans", (json_int_t)c.plans, "actions", list);
    json_decref(c.by_action);
    json_decref(pd);
    return SV_OK;
}
