/* reminder.c - see reminder.h. */
#include "coord/reminder.h"

#include <stdio.h>
#include <string.h>

#include "base/calendar.h"
#include "base/datetime.h"
#include "coord/notify.h"
#include "coord/util.h"

#define DAY_MS (24 * 3600 * INT64_C(1000))

/* ---- timings ------------------------------------------------------------------ */

/* The civil date of a day number (days since 1970-01-01). */
static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

/* The local day number of instant ms, or INT64_MIN. */
static int64_t local_day(int64_t ms)
{
    sv_local_time lt;
    if (sv_calendar_to_local(SV_CAL_DK, ms, &lt, NULL, NULL) != SV_OK)
        return INT64_MIN;
    return sv_datetime_days_from_civil(lt.year, lt.month, lt.day);
}

static bool parse_time(const char *s, int *h, int *mi, int *sec)
{
    return s && sscanf(s, "%2d:%2d:%2d", h, mi, sec) == 3 && *h >= 0 && *h < 24 && *mi >= 0 &&
           *mi < 60 && *sec >= 0 && *sec < 60;
}

static const char *const weekdays[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

/* 0 = Monday for a day number (1970-01-01 was a Thursday). */
static int weekday(int64_t day)
{
    int64_t w = (day + 3) % 7;
    return (int)(w < 0 ? w + 7 : w);
}

static int64_t next_event(const json_t *events, int64_t after)
{
    int64_t best = INT64_MIN;
    size_t i;
    const json_t *ev;
    json_array_foreach(events, i, ev)
    {
        int64_t t = sv__coord_time(ev);
        if (t != INT64_MIN && t > after && (best == INT64_MIN || t < best))
            best = t;
    }
    return best;
}

int64_t sv_coord_timing_next(const json_t *timing, int64_t after)
{
    int64_t best = next_event(json_object_get(timing, "event"), after);
    const json_t *rep = json_object_get(timing, "repeat");
    if (!json_is_object(rep))
        return best;
    const char *unit = json_string_value(json_object_get(rep, "periodUnit"));
    if (!unit || (strcmp(unit, "d") != 0 && strcmp(unit, "wk") != 0))
        return best;
    bool weekly = strcmp(unit, "wk") == 0;
    const json_t *pj = json_object_get(rep, "period");
    int64_t period = json_is_number(pj) ? (int64_t)json_number_value(pj) : 1;
    if (period < 1 || period > 52)
        return best;
    const json_t *bounds = json_object_get(rep, "boundsPeriod");
    int64_t start = sv__coord_time(json_object_get(bounds, "start"));
    int64_t end = INT64_MAX;
    const char *end_text = json_string_value(json_object_get(bounds, "end"));
    sv_datetime_range er;
    if (end_text && sv_datetime_parse(end_text, strlen(end_text), &er))
        end = er.high;
    int64_t anchor = start != INT64_MIN ? local_day(start) : 0;
    int64_t from = local_day(start != INT64_MIN && start > after ? start : after);
    if (anchor == INT64_MIN || from == INT64_MIN)
        return best;
    bool days[7] = {false};
    bool any_day = false;
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(rep, "dayOfWeek"), i, v)
    {
        for (int k = 0; k < 7; k++)
            if (json_string_value(v) && strcmp(json_string_value(v), weekdays[k]) == 0)
                days[k] = any_day = true;
    }
    if (weekly && !any_day)
        days[weekday(anchor)] = any_day = true;
    const json_t *times = json_object_get(rep, "timeOfDay");
    int64_t limit = from + 7 * period + 8; /* one whole cycle */
    for (int64_t day = from; day <= limit; day++) {
        if (any_day && !days[weekday(day)])
            continue;
        int64_t since = day - anchor;
        if (weekly) {
            int64_t week = (since - weekday(day) + weekday(anchor)) / 7;
            if (since < 0 || week % period != 0)
                continue;
        } else if (since < 0 || since % period != 0) {
            continue;
        }
        sv_local_time lt = {0};
        civil_from_days(day, &lt.year, &lt.month, &lt.day);
        int64_t found = INT64_MIN;
        size_t n = json_array_size(times) ? json_array_size(times) : 1;
        for (size_t t = 0; t < n; t++) {
            const char *text =
                json_array_size(times) ? json_string_value(json_array_get(times, t)) : "09:00:00";
            if (!parse_time(text, &lt.hour, &lt.minute, &lt.second))
                continue;
            int64_t ms;
            if (sv_calendar_from_local(SV_CAL_DK, &lt, &ms, NULL, NULL) != SV_OK)
                continue;
            if (ms > after && (start == INT64_MIN || ms >= start) && ms <= end &&
                (found == INT64_MIN || ms < found))
                found = ms;
        }
        if (found != INT64_MIN) {
            if (best == INT64_MIN || found < best)
                best = found;
            break;
        }
        if (day * DAY_MS > end)
            break;
    }
    return best;
}

/* ---- the plan's citizen activities ---------------------------------------------- */

static bool citizen_activity(const json_t *activity, const char *subject)
{
    const json_t *detail = json_object_get(activity, "detail");
    const char *status = json_string_value(json_object_get(detail, "status"));
    if (!json_object_get(detail, "scheduledTiming") ||
        (status && (strcmp(status, "completed") == 0 || strcmp(status, "cancelled") == 0 ||
                    strcmp(status, "stopped") == 0 || strcmp(status, "entered-in-error") == 0)))
        return false;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(detail, "performer"), i, p)
    {
        char ref[SV_COORD_REF_LEN];
        if (sv__coord_ref(p, ref) && strcmp(ref, subject) == 0)
            return true;
    }
    return false;
}

/* The next occurrence after `after` of any citizen activity of the plan. */
static int64_t plan_next(const json_t *plan, int64_t after)
{
    char subject[SV_COORD_REF_LEN];
    const char *status = json_string_value(json_object_get(plan, "status"));
    if (!status || strcmp(status, "active") != 0 ||
        !sv__coord_ref(json_object_get(plan, "subject"), subject) ||
        !sv__coord_ref_id(subject, "Patient"))
        return INT64_MIN;
    int64_t best = INT64_MIN;
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(plan, "activity"), i, a)
    {
        if (!citizen_activity(a, subject))
            continue;
        int64_t t = sv_coord_timing_next(
            json_object_get(json_object_get(a, "detail"), "scheduledTiming"), after);
        if (t != INT64_MIN && (best == INT64_MIN || t < best))
            best = t;
    }
    return best;
}

static const char SQL_DROP[] = "DELETE FROM coord_job WHERE resource_type = 'CarePlan'"
                               " AND resource_id = ? AND kind = ? AND claimed IS NULL";
/* PostgreSQL: leaves a job a watchdog tick holds to it (see watchdog.c). */
static const char SQL_DROP_PG[] =
    "DELETE FROM coord_job WHERE jid IN (SELECT jid FROM coord_job"
    " WHERE resource_type = 'CarePlan' AND resource_id = ? AND kind = ? AND claimed IS NULL"
    " FOR UPDATE SKIP LOCKED)";
static const char SQL_ADD[] =
    "INSERT INTO coord_job (kind, resource_type, resource_id, due)"
    " SELECT ?1, 'CarePlan', ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM coord_job"
    "  WHERE resource_type = 'CarePlan' AND resource_id = ?2 AND kind = ?1 AND due = ?3)";

static sv_err schedule_after(sv_db *db, const char *plan_id, const json_t *plan, int64_t after,
                             sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, sv_db_dialect_of(db) == SV_DIALECT_POSTGRES ? SQL_DROP_PG : SQL_DROP,
                          &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, plan_id);
    sv_stmt_bind_text(st, 2, SV_COORD_JOB_CITIZEN_REMINDER);
    e = sv_stmt_run(st, reterr);
    int64_t next = plan ? plan_next(plan, after) : INT64_MIN;
    if (e || next == INT64_MIN)
        return e;
    e = sv_db_stmt(db, SQL_ADD, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, SV_COORD_JOB_CITIZEN_REMINDER);
    sv_stmt_bind_text(st, 2, plan_id);
    sv_stmt_bind_int64(st, 3, next);
    return sv_stmt_run(st, reterr);
}

sv_err sv__coord_reminders_schedule(sv_db *db, const char *plan_id, const json_t *plan,
                                    sv_buf *reterr)
{
    return schedule_after(db, plan_id, plan, sv_clock_now_ms(), reterr);
}

sv_err sv__coord_reminders_fire(sv_rest *r, const char *plan_id, int64_t due,
                                sv_coord_tick_stats *stats, const char **ret_outcome,
                                sv_buf *reterr)
{
    char ref[SV_COORD_REF_LEN], subject[SV_COORD_REF_LEN];
    snprintf(ref, sizeof(ref), "CarePlan/%s", plan_id);
    json_t *plan = NULL;
    sv_err e = sv__coord_load_checked(r->db, ref, &plan);
    *ret_outcome = "skipped";
    if (e == SV_ERR_NOT_FOUND) {
        stats->skipped++;
        return SV_OK;
    }
    if (e)
        return e;
    /* The occurrences at `due`: those whose next one after just before it is it.
     * A plan changed since the job was made has a new job already; this one then
     * matches nothing and is skipped. */
    int sent = 0;
    if (plan_next(plan, due - 1) == due &&
        sv__coord_ref(json_object_get(plan, "subject"), subject)) {
        size_t i;
        const json_t *a;
        json_array_foreach(json_object_get(plan, "activity"), i, a)
        {
            const json_t *detail = json_object_get(a, "detail");
            if (e || !citizen_activity(a, subject) ||
                sv_coord_timing_next(json_object_get(detail, "scheduledTiming"), due - 1) != due)
                continue;
            const char *text = json_string_value(json_object_get(detail, "description"));
            sv_coord_notice n = {.kind = SV_NOTICE_CITIZEN_REMINDER,
                                 .citizen = subject,
                                 .resource = ref,
                                 .text = text ? text : "an activity of your plan"};
            e = sv_coord_notify_party(r->db, subject, &n, reterr);
            sent += !e;
        }
    }
    /* The next one: after now, so that a server that was down does not send a
     * burst of reminders for times gone by. */
    int64_t now = sv_clock_now_ms();
    if (!e)
        e = schedule_after(r->db, plan_id, plan, due > now ? due : now, reterr);
    json_decref(plan);
    if (!e && sent) {
        stats->citizen_reminders += sent;
        *ret_outcome = "reminded";
    } else if (!e) {
        stats->skipped++;
    }
    return e;
}
