/*
 * tasks.c - the tasks a rule makes and ends.  A task is an ordinary FHIR Task
 * (code from CodeSystem stay-task, for the citizen, focus the stay, owner the
 * party) written through the coordination hooks, so that its deadline is
 * computed by coord (extension deadline-rule, base/calendar.h), its owner is
 * told and the watchdog reminds, marks it overdue and escalates.  Extension
 * stay-rule names the ruleset, the rule and the source of the deadline.
 */
#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "coord/codes.h"
#include "coord/task.h"
#include "stays/internal.h"

typedef struct open_ctx {
    const char *encounter;
    json_t *found; /* array of open tasks (owned) */
} open_ctx;

static bool collect_open(void *ctx, const json_t *task)
{
    open_ctx *o = ctx;
    const char *status = json_string_value(json_object_get(task, "status"));
    if (!status || sv_coord_task_status_final(status))
        return true;
    if (o->encounter) {
        char focus[SV_COORD_REF_LEN];
        if (!sv__coord_ref(json_object_get(task, "focus"), focus) ||
            strcmp(focus, o->encounter) != 0)
            return true;
    }
    json_array_append(o->found, (json_t *)task);
    return json_array_size(o->found) < 100;
}

static sv_err open_tasks(sv_db *db, const char *patient, const char *encounter, const char *code,
                         json_t **ret)
{
    char token[200];
    snprintf(token, sizeof(token), "%s|%s", SV_SYS_STAY_TASK, code);
    const char *names[] = {"patient", "code"};
    const char *values[] = {patient, token};
    open_ctx o = {.encounter = encounter, .found = json_array()};
    sv_err e = sv__coord_find(db, "Task", names, values, 2, 1000, collect_open, &o);
    if (e) {
        json_decref(o.found);
        return e;
    }
    *ret = o.found;
    return SV_OK;
}

static const char *unit_name(sv_deadline_unit u)
{
    return u == SV_DEADLINE_HOURS           ? "hours"
           : u == SV_DEADLINE_CALENDAR_DAYS ? "calendar-days"
                                            : "working-days";
}

sv_err sv__stays_task_create(sv_rest *r, const sv__task_spec *t, bool *ret_created, sv_buf *reterr)
{
    *ret_created = false;
    json_t *open = NULL;
    sv_err e = open_tasks(r->db, t->patient, t->encounter, t->code, &open);
    if (e)
        return e;
    size_t n = json_array_size(open);
    json_decref(open);
    if (n > 0)
        return SV_OK; /* the same event again (a resend, a correction): one task */
    char authored[SV_INSTANT_LEN];
    sv_datetime_format_instant(t->start, authored);
    json_t *rule_ext =
        json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:b}]}", "url", SV_EXT_STAY_RULE,
                  "extension", "url", "ruleset", "valueString", t->ruleset, "url", "rule",
                  "valueString", t->rule, "url", "confirmed", "valueBoolean", t->confirmed);
    if (t->source)
        json_array_append_new(json_object_get(rule_ext, "extension"),
                              json_pack("{s:s, s:s}", "url", "source", "valueUri", t->source));
    json_t *task = json_pack("{s:s, s:s, s:s, s:{s:[{s:s, s:s}], s:s}, s:s, s:{s:s}, s:s, s:[o]}",
                             "resourceType", "Task", "status", "requested", "intent", "order",
                             "code", "coding", "system", SV_SYS_STAY_TASK, "code", t->code, "text",
                             t->title, "description", t->title, "for", "reference", t->patient,
                             "authoredOn", authored, "extension", rule_ext);
    if (t->encounter)
        json_object_set_new(task, "focus", json_pack("{s:s}", "reference", t->encounter));
    if (t->owner)
        json_object_set_new(task, "owner", json_pack("{s:s}", "reference", t->owner));
    if (t->note)
        json_object_set_new(task, "note", json_pack("[{s:s}]", "text", t->note));
    if (t->fixed_end != INT64_MIN) {
        char end[SV_LOCAL_TIME_LEN];
        e = sv_calendar_format_local(t->country, t->fixed_end, end, reterr);
        if (!e)
            json_object_set_new(task, "restriction", json_pack("{s:{s:s}}", "period", "end", end));
    } else {
        json_array_append_new(json_object_get(task, "extension"),
                              json_pack("{s:s, s:[{s:s, s:i}, {s:s, s:s}, {s:s, s:s}, {s:s, s:b}]}",
                                        "url", SV_EXT_DEADLINE_RULE, "extension", "url", "amount",
                                        "valueInteger", t->deadline.amount, "url", "unit",
                                        "valueCode", unit_name(t->deadline.unit), "url", "country",
                                        "valueCode", t->country == SV_CAL_DK ? "DK" : "SE", "url",
                                        "endOfDay", "valueBoolean",
                                        (t->deadline.flags & SV_DEADLINE_END_OF_DAY) != 0));
    }
    sv_rest_result res;
    sv_rest_result_init(&res);
    if (!e)
        e = sv_rest_create(r, "Task", task, NULL, &res);
    if (e && reterr && res.outcome.len)
        sv_buf_addf(reterr, "the rule's task cannot be written: %s",
                    res.outcome.issues[0].diagnostics ? res.outcome.issues[0].diagnostics : "");
    sv_rest_result_clear(&res);
    json_decref(task);
    *ret_created = !e;
    return e;
}

/* The steps of the workflow (coord/task.c) from status to completed. */
static const char *next_step(const char *status)
{
    static const char *const steps[][2] = {
        {"draft", "requested"},       {"requested", "accepted"}, {"received", "accepted"},
        {"accepted", "in-progress"},  {"ready", "in-progress"},  {"on-hold", "in-progress"},
        {"in-progress", "completed"},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (strcmp(steps[i][0], status) == 0)
            return steps[i][1];
    return NULL;
}

static sv_err write_status(sv_rest *r, json_t *task, const char *status, const char *why)
{
    const char *id = json_string_value(json_object_get(task, "id"));
    json_object_set_new(task, "status", json_string(status));
    if (why)
        json_object_set_new(task, "statusReason", json_pack("{s:s}", "text", why));
    json_object_del(task, "meta");
    sv_rest_result res;
    sv_rest_result_init(&res);
    sv_err e = sv_rest_update(r, "Task", id, task, NULL, &res);
    sv_rest_result_clear(&res);
    return e;
}

sv_err sv__stays_tasks_close(sv_rest *r, const char *patient, const char *encounter,
                             const char *code, bool complete, const char *why, int *ret_count,
                             sv_buf *reterr)
{
    json_t *open = NULL;
    sv_err e = open_tasks(r->db, patient, encounter, code, &open);
    if (e)
        return e;
    int count = 0;
    size_t i;
    json_t *task;
    json_array_foreach(open, i, task)
    {
        const char *status = json_string_value(json_object_get(task, "status"));
        if (!complete) {
            e = write_status(r, task, "cancelled", why);
        } else {
            /* The workflow has no shortcut to completed: walk it, each step a version,
             * so the history shows the rule did it and when. */
            for (int step = 0; !e && step < 5 && strcmp(status, "completed") != 0; step++) {
                const char *to = next_step(status);
                if (!to)
                    break;
                e = write_status(r, task, to, strcmp(to, "completed") == 0 ? why : NULL);
                status = to;
            }
        }
        if (e) {
            if (reterr)
                sv_buf_addf(reterr, "closing a rule's task failed: %s", sv_strerror(e));
            break;
        }
        count++;
    }
    json_decref(open);
    if (ret_count)
        *ret_count = count;
    return e;
}
