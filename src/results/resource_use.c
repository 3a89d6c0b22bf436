/*
 * resource_use.c - who bears the cost and who gains (seed 003): per
 * organisation, rolled up to its partOf (a municipality's home care counts for
 * the municipality, a hospital for its region), the hours logged (Tasks of code
 * time-log), and the bed-days of discharge-ready citizens and the acute
 * readmissions at its units, in the period and in a baseline period, priced
 * with the unit costs of data/results/unit-costs.json.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/calendar.h"
#include "base/datetime.h"
#include "results/internal.h"

#define SYS_TASK_CODE "http://samverka.org/fhir/CodeSystem/task-code"

typedef struct tally {
    double hours, bed_days;
    int64_t stays, readmissions;
} tally;

/* Adds the cases of kind to per[org] (a JSON object of tallies kept as arrays). */
static sv_err collect(sv_db *db, const char *kind, const sv_results_filter *f,
                      const sv__results_args *a, int which, json_t *per, sv_buf *err)
{
    sv__results_cases cases = {0};
    sv_err e = sv__results_cases_get(db, kind, f, a, &cases, err);
    for (size_t i = 0; !e && i < cases.len; i++) {
        const sv__results_case *c = &cases.v[i];
        char top[SV_RESULTS_ID_LEN];
        if (!c->org[0])
            continue;
        e = sv__results_parent(db, c->org, top, err);
        if (e)
            break;
        const char *key = top[0] ? top : c->org;
        json_t *t = json_object_get(per, key);
        if (!t) {
            t = json_pack("[[f,f,I,I],[f,f,I,I]]", 0.0, 0.0, (json_int_t)0, (json_int_t)0, 0.0, 0.0,
                          (json_int_t)0, (json_int_t)0);
            json_object_set_new(per, key, t);
        }
        json_t *row = json_array_get(t, (size_t)which);
        int slot = strcmp(kind, "time-log") == 0 ? 0 : strcmp(kind, "readmission") == 0 ? 2 : 1;
        if (slot == 2) {
            json_array_set_new(row, 2,
                               json_integer(json_integer_value(json_array_get(row, 2)) + 1));
            json_array_set_new(
                row, 3, json_integer(json_integer_value(json_array_get(row, 3)) + c->in_numerator));
        } else {
            json_array_set_new(
                row, (size_t)slot,
                json_real(json_real_value(json_array_get(row, (size_t)slot)) + c->value));
        }
    }
    sv__results_cases_clear(&cases);
    return e;
}

static double cost(const json_t *set, const char *name)
{
    const json_t *v = json_object_get(json_object_get(set, name), "amount");
    return json_is_number(v) ? json_number_value(v) : 0;
}

static json_t *side(const json_t *row, const json_t *set, int min_cell, double *ret_hours_cost,
                    double *ret_effects_cost)
{
    double hours = json_real_value(json_array_get(row, 0));
    double bed = json_real_value(json_array_get(row, 1));
    int64_t readm = json_integer_value(json_array_get(row, 3));
    double hc = round(hours * cost(set, "hour") * 100) / 100;
    double bc = round(bed * cost(set, "bedDay") * 100) / 100;
    double rc = (double)readm * cost(set, "readmission");
    *ret_hours_cost = hc;
    *ret_effects_cost = bc + rc;
    json_t *o = json_pack("{s:f, s:f, s:f, s:f}", "hours", round(hours * 100) / 100, "hoursCost",
                          hc, "bedDaysDischargeReady", round(bed * 100) / 100, "bedDaysCost", bc);
    if (min_cell > 1 && readm > 0 && readm < min_cell) {
        json_object_set_new(o, "readmissions", json_string("masked"));
    } else {
        json_object_set_new(o, "readmissions", json_integer(readm));
        json_object_set_new(o, "readmissionsCost", json_real(rc));
    }
    return o;
}

sv_err sv_results_resource_use(sv_db *db, const sv_results_data *data, const sv_results_filter *f,
                               int64_t baseline_start, int64_t baseline_end, const char *country,
                               json_t **ret, sv_outcome *out)
{
    const json_t *set =
        data ? json_object_get(json_object_get(data->costs, "sets"), country) : NULL;
    if (!set) {
        sv_outcome_add(out, SV_SEV_ERROR, "invalid", "country",
                       "no unit costs for '%s' in data/results/unit-costs.json", country);
        return SV_ERR_INVALID;
    }
    json_t *per = json_object();
    sv_buf err = SV_BUF_INIT;
    sv_err e = SV_OK;
    sv_results_filter base = *f;
    base.start = baseline_start;
    base.end = baseline_end;
    const sv_results_filter *which[2] = {f, &base};
    sv__results_args time_args = {.code = "time-log", .age_min = -1};
    sv__results_args stay_args = {.age_min = -1};
    sv__results_args readm_args = {.code = "EM", .amount_ms = 30 * 86400000LL, .age_min = -1};
    for (int w = 0; w < 2 && !e; w++) {
        e = collect(db, "time-log", which[w], &time_args, w, per, &err);
        if (!e)
            e = collect(db, "stay-ready-bed-days", which[w], &stay_args, w, per, &err);
        if (!e)
            e = collect(db, "readmission", which[w], &readm_args, w, per, &err);
    }
    if (e) {
        sv_outcome_add_err(out, e, NULL, err.len ? err.ptr : "the report cannot be computed");
        sv_buf_release(&err);
        json_decref(per);
        return e;
    }
    sv_buf_release(&err);
    json_t *orgs = json_array();
    const char *key;
    json_t *t;
    json_object_foreach(per, key, t)
    {
        double ph, pe, bh, be;
        json_t *p = side(json_array_get(t, 0), set, f->min_cell, &ph, &pe);
        json_t *b = side(json_array_get(t, 1), set, f->min_cell, &bh, &be);
        char ref[96];
        snprintf(ref, sizeof(ref), "Organization/%s", key);
        /* Positive: costs more than in the baseline. */
        json_t *change =
            json_pack("{s:f, s:f, s:f}", "hoursCost", round((ph - bh) * 100) / 100, "effectsCost",
                      round((pe - be) * 100) / 100, "net", round((ph + pe - bh - be) * 100) / 100);
        json_array_append_new(orgs,
                              json_pack("{s:{s:s}, s:o, s:o, s:o}", "organization", "reference",
                                        ref, "period", p, "baseline", b, "change", change));
    }
    json_decref(per);
    char ps[SV_INSTANT_LEN], pe_[SV_INSTANT_LEN], bs[SV_INSTANT_LEN], be_[SV_INSTANT_LEN];
    sv_datetime_format_instant(f->start, ps);
    sv_datetime_format_instant(f->end, pe_);
    sv_datetime_format_instant(baseline_start, bs);
    sv_datetime_format_instant(baseline_end, be_);
    *ret = json_pack("{s:{s:s, s:s}, s:{s:s, s:s}, s:s, s:O, s:o}", "period", "start", ps, "end",
                     pe_, "baseline", "start", bs, "end", be_, "country", country, "unitCosts", set,
                     "organizations", orgs);
    return SV_OK;
}
