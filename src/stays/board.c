/*
 * board.c - the discharge board: one stay_board row per stay that is active
 * and discharge-ready, kept by the events (board_update), and the view of it
 * for an organisation (sv_stays_board), filtered by the caller's access.
 *
 * Payment responsibility (SE): day 0 is the local day of the discharge-ready
 * notice (the next day when a cutoff such as 12:00 is set and the notice came
 * at or after it); responsibility starts at 00:00 local of day 0 + days, in
 * calendar days (weekends and holidays count).  With requiresNotices, only
 * when both the admission notice and the discharge-ready notice reached the
 * home municipality (stay_event rows with a municipality told).
 */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/datetime.h"
#include "coord/codes.h"
#include "coord/task.h"
#include "stays/internal.h"

static const char SQL_UPSERT[] =
    "INSERT INTO stay_board (encounter_id, patient_id, provider, municipality, gp, ruleset,"
    " ready_at, expected, payment_from, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT(encounter_id) DO UPDATE SET patient_id = ?2, provider = ?3, municipality = ?4,"
    " gp = ?5, ruleset = ?6, ready_at = ?7, expected = ?8, payment_from = ?9, updated = ?10";
static const char SQL_DELETE[] = "DELETE FROM stay_board WHERE encounter_id = ?";
static const char SQL_TOLD[] =
    "SELECT COUNT(*) FROM stay_event WHERE encounter_id = ? AND kind = ?"
    " AND municipality IS NOT NULL AND told LIKE '%' || municipality || '%'";
static const char SQL_LIST[] =
    "SELECT encounter_id, patient_id, provider, municipality, gp, ruleset, ready_at, expected,"
    " payment_from FROM stay_board WHERE provider = ?1 OR municipality = ?1 OR gp = ?1"
    " ORDER BY ready_at, encounter_id LIMIT 1000";

int64_t sv__stays_payment_from(const sv__ruleset *set, int64_t ready_at)
{
    if (!set || !set->payment || ready_at == INT64_MIN)
        return INT64_MIN;
    int days =
        (int)json_integer_value(json_object_get(json_object_get(set->payment, "days"), "value"));
    const char *cutoff =
        json_string_value(json_object_get(json_object_get(set->payment, "cutoff"), "value"));
    sv_local_time lt;
    if (sv_calendar_to_local(set->country, ready_at, &lt, NULL, NULL))
        return INT64_MIN;
    int h = 0, m = 0;
    if (cutoff && sscanf(cutoff, "%2d:%2d", &h, &m) == 2 && lt.hour * 60 + lt.minute >= h * 60 + m)
        days++; /* after the cutoff the next day is day 0 */
    lt.hour = lt.minute = lt.second = lt.millisecond = 0;
    int64_t day0, from;
    if (sv_calendar_from_local(set->country, &lt, &day0, NULL, NULL) ||
        sv_deadline_add(set->country, day0, days, SV_DEADLINE_CALENDAR_DAYS, 0, &from, NULL))
        return INT64_MIN;
    return from;
}

static sv_err told(sv_db *db, const char *encounter, const char *kind, bool *ret, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_TOLD, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, encounter);
    sv_stmt_bind_text(st, 2, kind);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    *ret = !e && row && sv_stmt_column_int64(st, 0) > 0;
    sv_stmt_reset(st);
    return e;
}

static const char *nz(const char *s)
{
    return s && *s ? s : NULL;
}

sv_err sv__stays_board_update(sv_rest *r, const sv__ruleset *set, const sv__parties *p,
                              const sv__stay_event *ev, int64_t *ret_payment_from, sv_buf *reterr)
{
    *ret_payment_from = INT64_MIN;
    const json_t *enc = ev->resource;
    const char *status = json_string_value(json_object_get(enc, "status"));
    int64_t ready = sv__stays_ready_at(enc);
    const char *id = sv__coord_ref_id(ev->encounter, "Encounter");
    sv_stmt *st;
    sv_err e;
    if (!sv__stays_active(status) || ready == INT64_MIN) {
        e = sv_db_stmt(r->db, SQL_DELETE, &st, reterr);
        if (!e) {
            sv_stmt_bind_text(st, 1, id);
            e = sv_stmt_run(st, reterr);
        }
        return e;
    }
    int64_t payment = sv__stays_payment_from(set, ready);
    bool requires = json_is_true(
        json_object_get(json_object_get(set ? set->payment : NULL, "requiresNotices"), "value"));
    if (payment != INT64_MIN && requires) {
        bool admitted = false, readied = false;
        e = told(r->db, id, "encounter.admitted", &admitted, reterr);
        if (!e)
            e = told(r->db, id, "encounter.discharge-ready", &readied, reterr);
        if (e)
            return e;
        if (!admitted || !readied)
            payment = INT64_MIN;
    }
    e = sv_db_stmt(r->db, SQL_UPSERT, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, id);
    sv_stmt_bind_text(st, 2, sv__coord_ref_id(ev->patient, "Patient"));
    sv_stmt_bind_text(st, 3, nz(p->department));
    sv_stmt_bind_text(st, 4, nz(p->municipality));
    sv_stmt_bind_text(st, 5, nz(p->gp));
    sv_stmt_bind_text(st, 6, set ? set->id : NULL);
    sv_stmt_bind_int64(st, 7, ready);
    sv_stmt_bind_text(st, 8, sv__stays_expected(enc));
    if (payment == INT64_MIN)
        sv_stmt_bind_null(st, 9);
    else
        sv_stmt_bind_int64(st, 9, payment);
    sv_stmt_bind_int64(st, 10, sv_clock_now_ms());
    e = sv_stmt_run(st, reterr);
    if (!e)
        *ret_payment_from = payment;
    return e;
}

/* ---- the view ---------------------------------------------------------------- */

typedef struct task_ctx {
    json_t *ready, *missing;
    int64_t now;
} task_ctx;

static bool task_visit(void *ctx, const json_t *task)
{
    task_ctx *t = ctx;
    const char *status = json_string_value(json_object_get(task, "status"));
    if (!status || strcmp(status, "cancelled") == 0 || strcmp(status, "entered-in-error") == 0)
        return true;
    json_t *item = json_object();
    const char *id = json_string_value(json_object_get(task, "id"));
    char ref[SV_COORD_REF_LEN];
    snprintf(ref, sizeof(ref), "Task/%s", id ? id : "");
    json_object_set_new(item, "task", json_pack("{s:s}", "reference", ref));
    const char *code = sv__coord_code_of(json_object_get(task, "code"), SV_SYS_STAY_TASK);
    if (code)
        json_object_set_new(item, "code", json_string(code));
    const char *text = json_string_value(json_object_get(task, "description"));
    if (text)
        json_object_set_new(item, "description", json_string(text));
    json_t *owner = json_object_get(task, "owner");
    json_object_set_new(item, "owner", owner ? json_deep_copy(owner) : json_null());
    json_object_set_new(item, "status", json_string(status));
    const json_t *end =
        json_object_get(json_object_get(json_object_get(task, "restriction"), "period"), "end");
    if (end)
        json_object_set(item, "deadline", (json_t *)end);
    if (strcmp(status, "completed") == 0) {
        json_array_append_new(t->ready, item);
    } else {
        int64_t due = sv__coord_time(end);
        json_object_set_new(item, "overdue", json_boolean(due != INT64_MIN && due <= t->now));
        json_array_append_new(t->missing, item);
    }
    return true;
}

static json_t *ref_or_null(const json_t *v)
{
    return json_is_null(v) ? json_null() : json_pack("{s:O}", "reference", v);
}

static json_t *payment_view(const sv__ruleset *set, int64_t from, int64_t now)
{
    if (!set || !set->payment)
        return json_null();
    const json_t *days = json_object_get(set->payment, "days");
    const char *src = json_string_value(json_object_get(days, "source"));
    json_t *pv = json_pack(
        "{s:O, s:O, s:s?, s:O}", "days", json_object_get(days, "value"), "confirmed",
        json_object_get(days, "confirmed"), "source",
        json_string_value(json_object_get(json_object_get(set->sources, src), "url")), "note",
        json_object_get(days, "note") ? json_object_get(days, "note") : json_null());
    if (from == INT64_MIN) {
        json_object_set_new(pv, "applies", json_false());
        json_object_set_new(pv, "reason",
                            json_string("the admission notice or the discharge-ready notice did "
                                        "not reach the home municipality"));
        return pv;
    }
    char text[SV_LOCAL_TIME_LEN];
    int left = 0;
    if (sv_calendar_format_local(set->country, from, text, NULL) ||
        sv_calendar_days_between(set->country, now, from, &left, NULL))
        return pv;
    json_object_set_new(pv, "applies", json_true());
    json_object_set_new(pv, "from", json_string(text));
    json_object_set_new(pv, "daysLeft", json_integer(left > 0 ? left : 0));
    /* the day it starts is the first paying day */
    json_object_set_new(pv, "payingDays", json_integer(now >= from ? 1 - left : 0));
    const json_t *rate = json_object_get(set->payment, "dayRate");
    if (rate && now >= from)
        json_object_set_new(
            pv, "cost",
            json_pack("{s:I, s:O}", "amount",
                      (json_int_t)(json_integer_value(json_object_get(rate, "value")) * (1 - left)),
                      "currency", json_object_get(rate, "currency")));
    return pv;
}

sv_err sv_stays_board(sv_rest *r, sv_stays *s, const char *org_id, json_t **ret, sv_outcome *out)
{
    char org[SV_COORD_REF_LEN];
    snprintf(org, sizeof(org), "Organization/%s", org_id);
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_rest_read(r, "Organization", org_id, &rr);
    sv_rest_result_clear(&rr);
    if (e) {
        sv_outcome_add(out, SV_SEV_ERROR, e == SV_ERR_NOT_FOUND ? "not-found" : "exception", NULL,
                       "Organization/%s cannot be read", org_id);
        return e;
    }
    sv_stmt *st;
    e = sv_db_stmt(r->db, SQL_LIST, &st, NULL);
    if (e) {
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "the board cannot be read");
        return e;
    }
    sv_stmt_bind_text(st, 1, org);
    int64_t now = sv_clock_now_ms();
    json_t *entries = json_array();
    /* Copy the rows out first: the reads below use the same connection. */
    json_t *rows = json_array();
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, NULL);
        if (e || !row)
            break;
        json_t *cols = json_array();
        for (int c = 0; c < 9; c++)
            json_array_append_new(cols, sv_stmt_column_is_null(st, c) ? json_null()
                                        : c == 6 || c == 8
                                            ? json_integer(sv_stmt_column_int64(st, c))
                                            : json_string(sv_stmt_column_text(st, c, NULL)));
        json_array_append_new(rows, cols);
    }
    sv_stmt_reset(st);
    size_t i;
    json_t *cols;
    json_array_foreach(rows, i, cols)
    {
        if (e)
            break;
        const char *enc_id = json_string_value(json_array_get(cols, 0));
        const char *pat_id = json_string_value(json_array_get(cols, 1));
        /* The caller's access decides: an invisible stay is not on their board. */
        sv_rest_result er;
        sv_rest_result_init(&er);
        sv_err re = sv_rest_read(r, "Encounter", enc_id, &er);
        sv_rest_result_clear(&er);
        if (re == SV_ERR_NOT_FOUND || re == SV_ERR_GONE || re == SV_ERR_FORBIDDEN)
            continue;
        if (re) {
            e = re;
            break;
        }
        char name[256] = "";
        sv_rest_result pr;
        sv_rest_result_init(&pr);
        if (sv_rest_read(r, "Patient", pat_id, &pr) == SV_OK) {
            json_t *pj = sv_json_loadb(pr.body.ptr, pr.body.len, 0, NULL);
            char buf[256];
            snprintf(name, sizeof(name), "%s", pj ? sv__coord_name(pj, buf) : "");
            json_decref(pj);
        }
        sv_rest_result_clear(&pr);
        const sv__ruleset *set = sv__stays_ruleset(s, json_string_value(json_array_get(cols, 5)));
        sv_calendar_country country = set ? set->country : SV_CAL_DK;
        char ready[SV_LOCAL_TIME_LEN] = "";
        int64_t ready_at = json_integer_value(json_array_get(cols, 6));
        int days_ready = 0;
        sv_calendar_format_local(country, ready_at, ready, NULL);
        sv_calendar_days_between(country, ready_at, now, &days_ready, NULL);
        char eref[SV_COORD_REF_LEN], pref[SV_COORD_REF_LEN];
        snprintf(eref, sizeof(eref), "Encounter/%s", enc_id);
        snprintf(pref, sizeof(pref), "Patient/%s", pat_id);
        task_ctx tc = {.ready = json_array(), .missing = json_array(), .now = now};
        const char *names[] = {"focus"};
        const char *values[] = {eref};
        e = sv__coord_find(r->db, "Task", names, values, 1, 200, task_visit, &tc);
        json_t *entry = json_pack(
            "{s:{s:s}, s:{s:s, s:s}, s:o, s:o, s:o, s:s, s:O, s:i, s:o, s:o, s:s?}", "encounter",
            "reference", eref, "patient", "reference", pref, "display", name, "department",
            ref_or_null(json_array_get(cols, 2)), "homeMunicipality",
            ref_or_null(json_array_get(cols, 3)), "gp", ref_or_null(json_array_get(cols, 4)),
            "dischargeReady", ready, "expectedDischarge", json_array_get(cols, 7), "daysReady",
            days_ready, "ready", tc.ready, "missing", tc.missing, "ruleset", set ? set->id : NULL);
        int64_t from = json_is_null(json_array_get(cols, 8))
                           ? INT64_MIN
                           : json_integer_value(json_array_get(cols, 8));
        json_object_set_new(entry, "payment", payment_view(set, from, now));
        json_array_append_new(entries, entry);
    }
    json_decref(rows);
    if (e) {
        json_decref(entries);
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "the board cannot be read");
        return e;
    }
    char gen[SV_INSTANT_LEN];
    sv_datetime_format_instant(now, gen);
    *ret = json_pack("{s:{s:s}, s:s, s:I, s:o}", "organization", "reference", org, "generated", gen,
                     "total", (json_int_t)json_array_size(entries), "entries", entries);
    return SV_OK;
}
