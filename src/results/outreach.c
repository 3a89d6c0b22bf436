/*
 * outreach.c - the municipality's outreach list (docs/results.md, seed 000's
 * "hidden and forgotten"): citizens at home in the municipality with a
 * Condition of the rule who have no active coordination team, no active plan,
 * or no contact (stay, message, task) for the rule's months, unless they
 * declined an outreach (a Task of code outreach with businessStatus declined)
 * within the rule's quiet months.  One SQL statement per condition code, with
 * the caller's access filter inside it (store/access.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "results/internal.h"

#define SYS_TASK_CODE "http://samverka.org/fhir/CodeSystem/task-code"

/* SQLite's scalar MAX is GREATEST on PostgreSQL (no NULLs here). */
#define OUTREACH(greatest)                                                                         \
    "SELECT p.id,"                                                                                 \
    " EXISTS (SELECT 1 FROM idx_reference ts JOIN idx_token tc ON tc.rid = ts.rid AND"             \
    " tc.param = 'category' AND tc.value = 'coordination' JOIN idx_token tt ON tt.rid = ts.rid"    \
    " AND tt.param = 'status' AND tt.value = 'active' WHERE ts.type = 'CareTeam' AND"              \
    " ts.param = 'patient' AND ts.target_id = p.id),"                                              \
    " EXISTS (SELECT 1 FROM idx_reference ps JOIN idx_token pt ON pt.rid = ps.rid AND"             \
    " pt.param = 'status' AND pt.value = 'active' WHERE ps.type = 'CarePlan' AND"                  \
    " ps.param = 'patient' AND ps.target_id = p.id),"                                              \
    " " greatest                                                                                   \
    "(COALESCE((SELECT MAX(d.low) FROM idx_reference s JOIN idx_date d ON d.rid = s.rid AND"       \
    " d.param = 'date' WHERE s.type = 'Encounter' AND s.param = 'patient' AND"                     \
    " s.target_id = p.id), 0), COALESCE((SELECT MAX(d.low) FROM idx_reference s JOIN idx_date d"   \
    " ON d.rid = s.rid AND d.param = 'sent' WHERE s.type = 'Communication' AND"                    \
    " s.param = 'patient' AND s.target_id = p.id), 0), COALESCE((SELECT MAX(d.low) FROM"           \
    " idx_reference s JOIN idx_date d ON d.rid = s.rid AND d.param = 'authored-on' WHERE"          \
    " s.type = 'Task' AND s.param = 'patient' AND s.target_id = p.id), 0)),"                       \
    " (SELECT MAX(d.low) FROM idx_reference s JOIN idx_token c ON c.rid = s.rid AND"               \
    " c.param = 'code' AND c.value = 'outreach' AND c.system = ? JOIN idx_token b ON"              \
    " b.rid = s.rid AND b.param = 'business-status' AND b.value = 'declined' JOIN idx_date d ON"   \
    " d.rid = s.rid AND d.param = 'authored-on' WHERE s.type = 'Task' AND s.param = 'patient'"     \
    " AND s.target_id = p.id)"                                                                     \
    " FROM idx_token cc JOIN idx_reference cp ON cp.rid = cc.rid AND cp.param = 'patient'"         \
    " JOIN resource p ON p.type = 'Patient' AND p.id = cp.target_id AND p.deleted = 0"             \
    " JOIN idx_reference mm ON mm.rid = p.rid AND mm.param = 'organization'"                       \
    " WHERE cc.type = 'Condition' AND cc.param = 'code' AND cc.value = ? AND"                      \
    " (CAST(? AS TEXT) IS NULL OR cc.system = ?) AND (mm.target_id = ? OR EXISTS (SELECT 1 FROM "  \
    "resource om"                                                                                  \
    " JOIN idx_reference op ON op.rid = om.rid AND op.param = 'partof' WHERE"                      \
    " om.type = 'Organization' AND om.id = mm.target_id AND op.target_id = ?))"                    \
    " AND " SV_ACCESS_VISIBLE("p.rid") " GROUP BY p.id ORDER BY p.id"
static const char SQL_OUTREACH[] = OUTREACH("MAX");
static const char PG_OUTREACH[] = OUTREACH("GREATEST");

/* now minus months, same local wall time (the day clamped to 28 at month ends). */
static int64_t months_before(int64_t now, int months)
{
    char buf[SV_INSTANT_LEN];
    sv_datetime_format_instant(now, buf);
    int y = atoi(buf), m = atoi(buf + 5), d = atoi(buf + 8);
    int total = y * 12 + (m - 1) - months;
    y = total / 12;
    m = total % 12 + 1;
    if (d > 28)
        d = 28;
    int64_t time_of_day = now % 86400000;
    if (time_of_day < 0)
        time_of_day += 86400000;
    return sv_datetime_days_from_civil(y, m, d) * 86400000 + time_of_day;
}

typedef struct code_ref {
    const char *system, *code;
} code_ref;

static const json_t *find_rule(const sv_results_data *d, const char *id)
{
    size_t i;
    const json_t *r;
    json_array_foreach(json_object_get(d ? d->outreach : NULL, "rules"), i, r)
    {
        const char *rid = json_string_value(json_object_get(r, "id"));
        if (rid && strcmp(rid, id) == 0)
            return r;
    }
    return NULL;
}

static json_t *instant(int64_t t)
{
    char buf[SV_INSTANT_LEN];
    sv_datetime_format_instant(t, buf);
    return json_string(buf);
}

sv_err sv_results_outreach(sv_db *db, const sv_results_data *data, const char *municipality,
                           const char *condition, int months, int64_t now,
                           const sv_access_filter *access, json_t **ret, sv_outcome *out)
{
    code_ref codes[16];
    size_t ncodes = 0;
    int quiet_months = 12;
    char own[256];
    const json_t *rule = condition ? find_rule(data, condition) : NULL;
    if (rule) {
        size_t i;
        const json_t *c;
        json_array_foreach(json_object_get(rule, "conditions"), i, c)
        {
            if (ncodes < 16 && json_string_value(json_object_get(c, "code")))
                codes[ncodes++] = (code_ref){json_string_value(json_object_get(c, "system")),
                                             json_string_value(json_object_get(c, "code"))};
        }
        if (months <= 0 && json_is_integer(json_object_get(rule, "noContactMonths")))
            months = (int)json_integer_value(json_object_get(rule, "noContactMonths"));
        if (json_is_integer(json_object_get(rule, "declinedQuietMonths")))
            quiet_months = (int)json_integer_value(json_object_get(rule, "declinedQuietMonths"));
    } else if (condition && *condition && strlen(condition) < sizeof(own)) {
        snprintf(own, sizeof(own), "%s", condition);
        char *bar = strchr(own, '|');
        if (bar) {
            *bar = '\0';
            codes[ncodes++] = (code_ref){*own ? own : NULL, bar + 1};
        } else {
            codes[ncodes++] = (code_ref){NULL, own};
        }
    }
    if (!ncodes || !codes[0].code || !*codes[0].code) {
        sv_outcome_add(out, SV_SEV_ERROR, "required", "condition",
                       "condition must name an outreach rule or a code (system|code)");
        return SV_ERR_INVALID;
    }
    if (months <= 0)
        months = 6;
    int64_t contact_since = months_before(now, months);
    int64_t quiet_since = months_before(now, quiet_months);
    json_t *entries = json_array();
    json_t *seen = json_object();
    sv_err e = SV_OK;
    sv_buf err = SV_BUF_INIT;
    for (size_t k = 0; k < ncodes && !e; k++) {
        sv_stmt *st = NULL;
        e = sv_db_stmt(db, sv_db_dialect_of(db) == SV_DIALECT_POSTGRES ? PG_OUTREACH : SQL_OUTREACH,
                       &st, &err);
        if (e)
            break;
        int i = 1;
        sv_stmt_bind_text(st, i++, SYS_TASK_CODE);
        sv_stmt_bind_text(st, i++, codes[k].code);
        sv_stmt_bind_text(st, i++, codes[k].system);
        sv_stmt_bind_text(st, i++, codes[k].system);
        sv_stmt_bind_text(st, i++, municipality);
        sv_stmt_bind_text(st, i++, municipality);
        sv_access_bind(st, i, access);
        for (;;) {
            bool row = false;
            e = sv_stmt_step(st, &row, &err);
            if (e || !row)
                break;
            const char *id = sv_stmt_column_text(st, 0, NULL);
            if (!id || json_object_get(seen, id))
                continue;
            bool team = sv_stmt_column_int64(st, 1) != 0;
            bool plan = sv_stmt_column_int64(st, 2) != 0;
            int64_t last = sv_stmt_column_int64(st, 3);
            bool declined = !sv_stmt_column_is_null(st, 4);
            int64_t declined_at = declined ? sv_stmt_column_int64(st, 4) : 0;
            if (declined && declined_at > quiet_since)
                continue; /* their wish is respected until the quiet months have passed */
            json_t *reasons = json_array();
            if (!team)
                json_array_append_new(reasons, json_string("no-coordinator"));
            if (!plan)
                json_array_append_new(reasons, json_string("no-plan"));
            if (last < contact_since)
                json_array_append_new(reasons, json_string("no-contact"));
            if (!json_array_size(reasons)) {
                json_decref(reasons);
                continue;
            }
            json_object_set_new(seen, id, json_true());
            char ref[80];
            snprintf(ref, sizeof(ref), "Patient/%s", id);
            json_t *entry =
                json_pack("{s:{s:s}, s:o}", "patient", "reference", ref, "reasons", reasons);
            if (last > 0)
                json_object_set_new(entry, "lastContact", instant(last));
            if (declined)
                json_object_set_new(entry, "declinedBefore", instant(declined_at));
            json_array_append_new(entries, entry);
        }
        sv_stmt_reset(st);
    }
    json_decref(seen);
    if (e) {
        sv_outcome_add_err(out, e, NULL, err.len ? err.ptr : "the outreach list cannot be read");
        sv_buf_release(&err);
        json_decref(entries);
        return e;
    }
    sv_buf_release(&err);
    char mref[96];
    snprintf(mref, sizeof(mref), "Organization/%s", municipality);
    *ret = json_pack("{s:{s:s}, s:s, s:i, s:i, s:o}", "municipality", "reference", mref,
                     "condition", condition, "noContactMonths", months, "declinedQuietMonths",
                     quiet_months, "entries", entries);
    return SV_OK;
}
