/*
 * rehab.c - the rehabilitation plan hand-over (docs/medication.md): a
 * CarePlan of category rehabilitation is routed, when it is created, to the
 * citizen's home municipality - the unit there whose Organization.type takes
 * the plan's type (data/rehabilitation/plan-handover.json), else the
 * municipality itself - as a Task (code rehabilitation-start) to accept it and
 * to start within 7 calendar days of discharge or of the plan's later start
 * (Sundhedsloven §140).  Starting (status in-progress) records whether it was
 * on time in businessStatus, which is how starts are counted and reported.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "coord/care.h"
#include "coord/codes.h"
#include "coord/util.h"
#include "coord/watchdog.h"

#define SV_SYS_REHAB_TYPE SV_COORD_BASE "CodeSystem/rehabilitation-type"
#define SV_SYS_ORG_TYPE SV_COORD_BASE "CodeSystem/organization-type"
#define SV_SID_MUNICIPALITY SV_COORD_BASE "sid/dk-municipality-code"

static bool first_id(void *ctx, const json_t *r)
{
    const char *id = json_string_value(json_object_get(r, "id"));
    if (id && strlen(id) < 65)
        snprintf(ctx, 65, "%s", id);
    return false;
}

/* The municipality code of the citizen's home address: an extension named
 * municipality-code (valueCode / valueString), or a district of digits. */
static const char *address_code(const json_t *patient)
{
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(patient, "address"), i, a)
    {
        const char *use = json_string_value(json_object_get(a, "use"));
        if (use && strcmp(use, "home") != 0)
            continue;
        size_t k;
        const json_t *x;
        json_array_foreach(json_object_get(a, "extension"), k, x)
        {
            const char *url = json_string_value(json_object_get(x, "url"));
            const char *v = json_string_value(json_object_get(x, "valueCode"));
            if (!v)
                v = json_string_value(json_object_get(x, "valueString"));
            if (url && v && strstr(url, "municipality"))
                return v;
        }
        const char *d = json_string_value(json_object_get(a, "district"));
        if (d && *d && strspn(d, "0123456789") == strlen(d))
            return d;
    }
    return NULL;
}

/* The home municipality: from the address's municipality code, else the
 * registered one (Patient.managingOrganization).  "" when neither is known. */
static sv_err home_municipality(sv_rest *r, const json_t *patient, char out[SV_COORD_REF_LEN])
{
    out[0] = '\0';
    const char *code = address_code(patient);
    if (code) {
        char value[128], id[65] = "";
        snprintf(value, sizeof(value), "%s|%s", SV_SID_MUNICIPALITY, code);
        const char *names[] = {"identifier"};
        const char *values[] = {value};
        sv_err e = sv__coord_find(r->db, "Organization", names, values, 1, 1, first_id, id);
        if (e)
            return e;
        if (id[0]) {
            snprintf(out, SV_COORD_REF_LEN, "Organization/%s", id);
            return SV_OK;
        }
    }
    if (!sv__coord_ref(json_object_get(patient, "managingOrganization"), out))
        out[0] = '\0';
    return SV_OK;
}

sv_err sv__coord_rehab_plan_after(sv_rest *r, const char *id, const json_t *old, const json_t *plan,
                                  sv_outcome *out)
{
    const json_t *category = json_object_get(plan, "category");
    const char *status = json_string_value(json_object_get(plan, "status"));
    if (old || !sv__coord_has_code(category, SV_SYS_CAREPLAN_CATEGORY, "rehabilitation") ||
        !status || (strcmp(status, "active") != 0 && strcmp(status, "draft") != 0))
        return SV_OK;
    const char *type = sv__coord_code_of(category, SV_SYS_REHAB_TYPE);
    if (!type)
        type = "general";
    const char *org_type = sv__coord_rehabilitation_org_type(type);
    if (!org_type) {
        sv_outcome_add(out, SV_SEV_ERROR, "code-invalid", "CarePlan.category",
                       "rehabilitation type '%s' is not known (%s)", type, SV_SYS_REHAB_TYPE);
        return SV_ERR_PROCESSING;
    }
    char citizen[SV_COORD_REF_LEN], municipality[SV_COORD_REF_LEN];
    if (!sv__coord_ref(json_object_get(plan, "subject"), citizen) ||
        !sv__coord_ref_id(citizen, "Patient"))
        return SV_OK;
    json_t *patient = sv__coord_load(r->db, citizen);
    sv_err e = patient ? home_municipality(r, patient, municipality) : SV_OK;
    json_decref(patient);
    if (e)
        return e;
    if (!patient || !municipality[0]) {
        sv_outcome_add(out, SV_SEV_ERROR, "business-rule", "CarePlan.subject",
                       "the citizen's home municipality is not known (address municipality "
                       "code or managingOrganization), so the plan cannot be routed");
        return SV_ERR_PROCESSING;
    }
    /* the unit of the municipality that takes this type of plan, else the municipality */
    char unit[65] = "", typed[128], owner[SV_COORD_REF_LEN];
    snprintf(typed, sizeof(typed), "%s|%s", SV_SYS_ORG_TYPE, org_type);
    const char *names[] = {"partof", "type"};
    const char *values[] = {municipality, typed};
    e = sv__coord_find(r->db, "Organization", names, values, 2, 1, first_id, unit);
    if (e)
        return e;
    if (unit[0])
        snprintf(owner, sizeof(owner), "Organization/%s", unit);
    else
        snprintf(owner, sizeof(owner), "%s", municipality);
    /* From discharge (the plan's stay ended), or the plan's later start, or now. */
    int64_t start = sv_clock_now_ms();
    char enc[SV_COORD_REF_LEN];
    if (sv__coord_ref(json_object_get(plan, "encounter"), enc)) {
        json_t *encounter = sv__coord_load(r->db, enc);
        int64_t end = sv__coord_time(json_object_get(json_object_get(encounter, "period"), "end"));
        if (end != INT64_MIN)
            start = end;
        json_decref(encounter);
    }
    int64_t later = sv__coord_time(json_object_get(json_object_get(plan, "period"), "start"));
    if (later != INT64_MIN && later > start)
        start = later;
    char ts[SV_INSTANT_LEN], focus[SV_COORD_REF_LEN];
    sv_datetime_format_instant(start, ts);
    snprintf(focus, sizeof(focus), "CarePlan/%s", id);
    /* "Within 7 calendar days" is counted in whole days: the deadline is the end of
     * the 7th day, as the DK ruleset's dk-rehabilitation-start has it (rulesets). */
    json_t *rule = sv__coord_rule_extension(sv__coord_rehabilitation_start());
    json_array_append_new(json_object_get(rule, "extension"),
                          json_pack("{s:s, s:b}", "url", "endOfDay", "valueBoolean", 1));
    json_t *task = json_pack(
        "{s:s, s:s, s:s, s:{s:[{s:s, s:s, s:s}]}, s:s, s:{s:s}, s:{s:s}, s:{s:s}, s:s, s:[o]}",
        "resourceType", "Task", "status", "requested", "intent", "order", "code", "coding",
        "system", SV_SYS_TASK_CODE, "code", "rehabilitation-start", "display",
        "Accept and start rehabilitation", "description",
        "Rehabilitation plan: accept it and start within the deadline (Sundhedsloven §140)",
        "focus", "reference", focus, "for", "reference", citizen, "owner", "reference", owner,
        "authoredOn", ts, "extension", rule);
    if (json_array_size(json_object_get(plan, "author")) || json_object_get(plan, "author"))
        json_object_set(task, "requester", json_object_get(plan, "author"));
    e = sv__coord_write(r, "Task", NULL, task, NULL, out);
    json_decref(task);
    return e;
}

sv_err sv__coord_rehab_task_before(sv_rest *r, const json_t *old, json_t *task, sv_outcome *out)
{
    (void)r;
    (void)out;
    const char *code = sv__coord_task_code(task);
    const char *status = json_string_value(json_object_get(task, "status"));
    const char *before = old ? json_string_value(json_object_get(old, "status")) : NULL;
    if (!code || strcmp(code, "rehabilitation-start") != 0 || !status ||
        strcmp(status, "in-progress") != 0 || (before && strcmp(before, "in-progress") == 0))
        return SV_OK;
    int64_t due = sv__coord_time(
        json_object_get(json_object_get(json_object_get(task, "restriction"), "period"), "end"));
    bool late = due != INT64_MIN && sv_clock_now_ms() > due;
    char ts[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    json_object_set_new(task, "businessStatus",
                        json_pack("{s:[{s:s, s:s}], s:s}", "coding", "system", SV_SYS_TASK_BUSINESS,
                                  "code", late ? "started-late" : "started-on-time", "text", ts));
    json_object_set_new(task, "executionPeriod", json_pack("{s:s}", "start", ts));
    return SV_OK;
}

/* A started rehabilitation has met (or missed) its deadline: nothing more is due. */
sv_err sv__coord_rehab_task_after(sv_rest *r, const char *id, const json_t *task)
{
    const json_t *bs = json_object_get(task, "businessStatus");
    if (!sv__coord_has_code(bs, SV_SYS_TASK_BUSINESS, "started-on-time") &&
        !sv__coord_has_code(bs, SV_SYS_TASK_BUSINESS, "started-late"))
        return SV_OK;
    return sv__coord_jobs_drop(r->db, "Task", id, NULL);
}
