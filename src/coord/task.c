/* task.c - see task.h. */
#include "coord/task.h"

#include <stdio.h>
#include <string.h>

#include "base/calendar.h"
#include "base/datetime.h"
#include "coord/care.h"
#include "coord/codes.h"
#include "coord/notify.h"
#include "coord/util.h"
#include "coord/watchdog.h"

/* The workflow of the issue (requested -> accepted -> in-progress -> completed;
 * rejected, cancelled) with R4's other statuses placed where they belong.
 * entered-in-error is always allowed: it corrects a mistake, not the work. */
typedef struct transition {
    const char *from;
    const char *to[6];
} transition;

static const transition transitions[] = {
    {"draft", {"requested", "cancelled"}},
    {"requested", {"received", "accepted", "rejected", "cancelled"}},
    {"received", {"accepted", "rejected", "cancelled"}},
    {"accepted", {"ready", "in-progress", "cancelled"}},
    {"ready", {"in-progress", "cancelled"}},
    {"in-progress", {"on-hold", "completed", "failed", "cancelled"}},
    {"on-hold", {"in-progress", "cancelled"}},
    {"completed", {NULL}},
    {"rejected", {NULL}},
    {"cancelled", {NULL}},
    {"failed", {NULL}},
    {"entered-in-error", {NULL}},
};

static const transition *transition_of(const char *from)
{
    for (size_t i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++)
        if (strcmp(transitions[i].from, from) == 0)
            return &transitions[i];
    return NULL;
}

bool sv_coord_task_transition_allowed(const char *from, const char *to)
{
    if (!from || !to)
        return false;
    if (strcmp(from, to) == 0)
        return true;
    if (strcmp(to, "entered-in-error") == 0)
        return strcmp(from, "entered-in-error") != 0;
    const transition *t = transition_of(from);
    if (!t)
        return false;
    for (size_t i = 0; i < 6 && t->to[i]; i++)
        if (strcmp(t->to[i], to) == 0)
            return true;
    return false;
}

bool sv_coord_task_status_final(const char *status)
{
    const transition *t = status ? transition_of(status) : NULL;
    return t && !t->to[0];
}

static const char *status_of(const json_t *task)
{
    return json_string_value(json_object_get(task, "status"));
}

static sv_err check_transition(const json_t *old, const json_t *task, sv_outcome *out)
{
    const char *from = old ? status_of(old) : NULL;
    const char *to = status_of(task);
    if (!from || !to || sv_coord_task_transition_allowed(from, to))
        return SV_OK;
    /* Confirming a medication change or answering a message is the whole work:
     * such a Task goes from requested straight to completed (coord/care.h). */
    if (strcmp(to, "completed") == 0 && sv__coord_task_one_step(task) &&
        (strcmp(from, "requested") == 0 || strcmp(from, "received") == 0 ||
         strcmp(from, "accepted") == 0))
        return SV_OK;
    sv_buf allowed = SV_BUF_INIT;
    const transition *t = transition_of(from);
    for (size_t i = 0; t && i < 6 && t->to[i]; i++)
        sv_buf_addf(&allowed, "%s%s", allowed.len ? ", " : "", t->to[i]);
    if (strcmp(from, "entered-in-error") != 0)
        sv_buf_addf(&allowed, "%s%s", allowed.len ? ", " : "", "entered-in-error");
    sv_outcome_add(out, SV_SEV_ERROR, "business-rule", "Task.status",
                   "a Task cannot go from '%s' to '%s'; from '%s' it may go to: %s", from, to, from,
                   allowed.len ? allowed.ptr : "nothing");
    sv_buf_release(&allowed);
    return SV_ERR_PROCESSING;
}

/* ---- deadline rule ------------------------------------------------------- */

static const json_t *sub_extension(const json_t *ext, const char *url)
{
    return sv__coord_extension(ext, url);
}

static sv_err rule_fail(sv_outcome *out, size_t index, const char *fmt, const char *value)
{
    char path[64];
    snprintf(path, sizeof(path), "Task.extension[%zu]", index);
    sv_outcome_add(out, SV_SEV_ERROR, "value", path, fmt, value ? value : "");
    return SV_ERR_PROCESSING;
}

static sv_err apply_deadline_rule(json_t *task, sv_outcome *out)
{
    const json_t *exts = json_object_get(task, "extension");
    size_t index;
    const json_t *rule = NULL;
    json_array_foreach(exts, index, rule)
    {
        const char *u = json_string_value(json_object_get(rule, "url"));
        if (u && strcmp(u, SV_EXT_DEADLINE_RULE) == 0)
            break;
    }
    if (!rule || index == json_array_size(exts))
        return SV_OK;
    json_t *restriction = json_object_get(task, "restriction");
    json_t *period = json_object_get(restriction, "period");
    if (json_object_get(period, "end"))
        return SV_OK; /* given, or computed before: remove it to compute again */
    const json_t *amount = json_object_get(sub_extension(rule, "amount"), "valueInteger");
    const char *unit = json_string_value(json_object_get(sub_extension(rule, "unit"), "valueCode"));
    const char *country =
        json_string_value(json_object_get(sub_extension(rule, "country"), "valueCode"));
    const json_t *eod = json_object_get(sub_extension(rule, "endOfDay"), "valueBoolean");
    if (!json_is_integer(amount) || json_integer_value(amount) < 0 ||
        json_integer_value(amount) > SV_DEADLINE_MAX_AMOUNT)
        return rule_fail(out, index, "the deadline rule needs an amount (valueInteger 0..10000)%s",
                         NULL);
    sv_deadline_unit u;
    if (unit && strcmp(unit, "hours") == 0)
        u = SV_DEADLINE_HOURS;
    else if (unit && strcmp(unit, "calendar-days") == 0)
        u = SV_DEADLINE_CALENDAR_DAYS;
    else if (unit && strcmp(unit, "working-days") == 0)
        u = SV_DEADLINE_WORKING_DAYS;
    else
        return rule_fail(out, index,
                         "the deadline rule's unit '%s' is not hours, calendar-days or "
                         "working-days",
                         unit);
    sv_calendar_country c;
    if (country && strcmp(country, "DK") == 0)
        c = SV_CAL_DK;
    else if (country && strcmp(country, "SE") == 0)
        c = SV_CAL_SE;
    else
        return rule_fail(out, index, "the deadline rule's country '%s' is not DK or SE", country);
    int64_t start = sv__coord_time(json_object_get(task, "authoredOn"));
    if (start == INT64_MIN) {
        start = sv_clock_now_ms();
        char ts[SV_INSTANT_LEN];
        sv_datetime_format_instant(start, ts);
        json_object_set_new(task, "authoredOn", json_string(ts));
    }
    int64_t due;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_deadline_add(c, start, (int)json_integer_value(amount), u,
                               json_is_true(eod) ? SV_DEADLINE_END_OF_DAY : 0, &due, &err);
    char text[SV_LOCAL_TIME_LEN];
    if (!e)
        e = sv_calendar_format_local(c, due, text, &err);
    if (e) {
        rule_fail(out, index, "the deadline cannot be computed: %s", err.ptr);
        sv_buf_release(&err);
        return SV_ERR_PROCESSING;
    }
    sv_buf_release(&err);
    if (!json_is_object(restriction)) {
        restriction = json_object();
        json_object_set_new(task, "restriction", restriction);
    }
    if (!json_is_object(period)) {
        period = json_object();
        json_object_set_new(restriction, "period", period);
    }
    json_object_set_new(period, "end", json_string(text));
    return SV_OK;
}

static int64_t deadline_of(const json_t *task)
{
    return sv__coord_time(
        json_object_get(json_object_get(json_object_get(task, "restriction"), "period"), "end"));
}

/* A deadline moved past now lifts the overdue mark the watchdog set. */
static void clear_stale_overdue(json_t *task)
{
    const json_t *bs = json_object_get(task, "businessStatus");
    int64_t due = deadline_of(task);
    if (due != INT64_MIN && due > sv_clock_now_ms() &&
        sv__coord_has_code(bs, SV_SYS_TASK_BUSINESS, "overdue"))
        json_object_del(task, "businessStatus");
}

sv_err sv__coord_task_before(sv_rest *r, const json_t *old, json_t *task, sv_outcome *out)
{
    (void)r;
    sv_err e = check_transition(old, task, out);
    if (!e)
        e = apply_deadline_rule(task, out);
    if (!e)
        clear_stale_overdue(task);
    return e;
}

/* ---- after the write ----------------------------------------------------- */

static const char *task_text(const json_t *task)
{
    const char *t = json_string_value(json_object_get(task, "description"));
    if (!t)
        t = json_string_value(json_object_get(json_object_get(task, "code"), "text"));
    return t;
}

sv_err sv__coord_task_after(sv_rest *r, const char *id, const json_t *old, const json_t *task,
                            sv_outcome *out)
{
    sv_buf err = SV_BUF_INIT;
    int64_t due = sv_coord_task_status_final(status_of(task)) ? INT64_MIN : deadline_of(task);
    sv_err e = sv__coord_jobs_schedule(r->db, "Task", id, due, &err);
    char owner[SV_COORD_REF_LEN], old_owner[SV_COORD_REF_LEN] = "";
    bool has_owner = sv__coord_ref(json_object_get(task, "owner"), owner);
    if (old)
        sv__coord_ref(json_object_get(old, "owner"), old_owner);
    if (!e && has_owner && !sv_coord_task_status_final(status_of(task)) &&
        strcmp(owner, old_owner) != 0) {
        char citizen[SV_COORD_REF_LEN], focus[SV_COORD_REF_LEN + 8];
        bool has_citizen = sv__coord_ref(json_object_get(task, "for"), citizen) &&
                           sv__coord_ref_id(citizen, "Patient");
        snprintf(focus, sizeof(focus), "Task/%s", id);
        sv_coord_notice n = {.kind = old_owner[0] ? SV_NOTICE_TASK_REASSIGNED : SV_NOTICE_TASK_NEW,
                             .citizen = has_citizen ? citizen : NULL,
                             .resource = focus,
                             .text = task_text(task)};
        e = sv_coord_notify_party(r->db, owner, &n, &err);
    }
    if (e)
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "the task's jobs cannot be stored");
    sv_buf_release(&err);
    return e;
}
