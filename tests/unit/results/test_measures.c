/*
 * test_measures.c - every indicator of data/indicators/ on the hand-made dataset
 * tests/data/results/dataset.json, against answers computed by hand (the
 * comments show the arithmetic), for March 2026 in Danish local time:
 * [2026-03-01T00:00+01:00, 2026-04-01T00:00+02:00) = [02-28T23:00Z, 03-31T22:00Z).
 * The boundary cases: e3 discharged 23:30+02:00 on 31 March (in), e4 at 00:30+02:00
 * on 1 April (out); pC born 1961-04-01 is 64 at the end of March (not 65+).
 * test_measures_postgres.c runs the same cases on PostgreSQL (TMPDB_POSTGRES).
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/tmpdb.h"
#include "base/datetime.h"
#include "fhir/rest.h"
#include "results/results.h"
#include "store/audit.h"
#include "store/schema.h"

typedef struct fixture {
    tmpdb file;
    sv_db *db;
    sv_rest rest;
    sv_results_data *data;
} fixture;

static int64_t at(const char *instant)
{
    sv_datetime_range r;
    if (!sv_datetime_parse(instant, strlen(instant), &r))
        fail_msg("bad instant: %s", instant);
    return r.low;
}

static void audit_btg(fixture *f, const char *time, const char *org, const char *citizen)
{
    sv_audit_record rec = {.time_ms = at(time),
                           .principal_kind = "practitioner",
                           .principal_id = "someone",
                           .organisation = org,
                           .citizen = citizen,
                           .action = "break-the-glass",
                           .resource_type = "Patient",
                           .resource_id = citizen,
                           .purpose = "ETREAT",
                           .outcome = 200};
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(sv_audit_append(f->db, &rec, NULL, NULL), SV_OK);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tmpdb_make(&f->file);
    f->db = tmpdb_open(&f->file, 5000);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    f->rest = (sv_rest){
        .db = f->db, .base_url = "http://localhost/fhir", .default_count = 20, .max_count = 100};
    json_error_t jerr;
    json_t *all = json_load_file(SV_SOURCE_DIR "/tests/data/results/dataset.json", 0, &jerr);
    if (!all)
        fail_msg("dataset: %s", jerr.text);
    size_t i;
    json_t *r;
    json_array_foreach(all, i, r)
    {
        sv_rest_result res;
        sv_rest_result_init(&res);
        sv_err e = sv_rest_update(&f->rest, json_string_value(json_object_get(r, "resourceType")),
                                  json_string_value(json_object_get(r, "id")), r, NULL, &res);
        if (e)
            fail_msg("%s/%s: %s", json_string_value(json_object_get(r, "resourceType")),
                     json_string_value(json_object_get(r, "id")),
                     res.outcome.len ? res.outcome.issues[0].diagnostics : sv_strerror(e));
        sv_rest_result_clear(&res);
    }
    json_decref(all);
    audit_btg(f, "2026-03-12T10:00:00Z", "Organization/dk-aalborg-uh", "pA");
    audit_btg(f, "2026-03-20T10:00:00Z", "Organization/dk-morso", "pB");
    audit_btg(f, "2026-04-02T10:00:00Z", "Organization/dk-morso", "pB"); /* April */
    assert_int_equal(sv_results_data_load(SV_SOURCE_DIR "/data", &f->data, NULL), SV_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_results_data_free(f->data);
    sv_db_close(f->db);
    tmpdb_remove(&f->file);
    free(f);
    return 0;
}

static sv_results_filter march(void)
{
    sv_results_filter flt = {.age_min = -1, .age_max = -1, .now = at("2026-04-15T00:00:00Z")};
    assert_true(sv_results_period_start("2026-03-01", &flt.start));
    assert_true(sv_results_period_end("2026-03-31", &flt.end));
    return flt;
}

static json_t *evaluate(fixture *f, const char *id, const sv_results_filter *flt)
{
    char path[512];
    snprintf(path, sizeof(path), SV_SOURCE_DIR "/data/indicators/%s.json", id);
    json_t *m = json_load_file(path, 0, NULL);
    assert_non_null(m);
    json_t *report = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    sv_err e = sv_results_evaluate(f->db, f->data, m, flt, &report, &out);
    if (e)
        fail_msg("%s: %s", id, out.len ? out.issues[0].diagnostics : sv_strerror(e));
    sv_outcome_clear(&out);
    json_decref(m);
    return report;
}

static const json_t *group(const json_t *report, size_t g)
{
    const json_t *x = json_array_get(json_object_get(report, "group"), g);
    assert_non_null(x);
    return x;
}

/* The measureScore of a group or stratum; NAN when absent or masked. */
static double score_of(const json_t *block)
{
    const json_t *v = json_object_get(json_object_get(block, "measureScore"), "value");
    return json_is_number(v) ? json_number_value(v) : NAN;
}

/* The count of population code; -1 when absent, -2 when masked. */
static int64_t count_of(const json_t *block, const char *code)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(block, "population"), i, p)
    {
        const json_t *c = json_array_get(json_object_get(json_object_get(p, "code"), "coding"), 0);
        if (strcmp(json_string_value(json_object_get(c, "code")), code))
            continue;
        if (json_object_get(p, "_count"))
            return -2;
        return json_is_integer(json_object_get(p, "count"))
                   ? json_integer_value(json_object_get(p, "count"))
                   : -1;
    }
    return -1;
}

static const json_t *stratum(const json_t *block, size_t s, const char *value)
{
    const json_t *st = json_array_get(json_object_get(block, "stratifier"), s);
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(st, "stratum"), i, x)
    {
        const char *t = json_string_value(json_object_get(json_object_get(x, "value"), "text"));
        if (t && strcmp(t, value) == 0)
            return x;
    }
    fail_msg("no stratum '%s'", value);
    return NULL;
}

static void near(double got, double want)
{
    if (!(fabs(got - want) < 1e-9))
        fail_msg("got %.6f, want %.6f", got, want);
}

/* e1 2.0 d (ready 03-08 12:00 -> 03-10 12:00), e2 5.0, e3 1.0; e4 ends in April. */
static void test_discharge_ready_days(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "discharge-ready-days", &flt);
    near(score_of(group(r, 0)), 2.67); /* (2 + 5 + 1) / 3 */
    near(score_of(group(r, 1)), 2.0);  /* median */
    near(score_of(group(r, 2)), 5.0);  /* p90, nearest rank: the 3rd of 3 */
    assert_int_equal(count_of(group(r, 0), "measure-population"), 3);
    near(score_of(stratum(group(r, 0), 0, "Organization/dk-aalborg-uh")), 2.67);
    near(score_of(stratum(group(r, 0), 1, "Organization/dk-morso")), 2.67);
    json_decref(r);
    /* age 65+: pC (born 1961-04-01) is 64 at the end of March: e1, e2 */
    flt.age_min = 65;
    r = evaluate(*state, "discharge-ready-days", &flt);
    near(score_of(group(r, 0)), 3.5);
    json_decref(r);
}

/* 72 h: e1 48 h yes, e2 120 h no, e3 24 h yes. */
static void test_payment_deadline(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "discharged-within-payment-deadline", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 3);
    assert_int_equal(count_of(group(r, 0), "numerator"), 2);
    near(score_of(group(r, 0)), 0.6667);
    json_decref(r);
    /* The minimum cell size: 3 cases, 2 in the numerator, 1 not. */
    flt.min_cell = 5;
    r = evaluate(*state, "discharged-within-payment-deadline", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), -2);
    assert_int_equal(count_of(group(r, 0), "numerator"), -2);
    assert_true(isnan(score_of(group(r, 0))));
    assert_non_null(json_object_get(group(r, 0), "measureScore")); /* there, but masked */
    json_decref(r);
    flt.min_cell = 3; /* 3 is shown; the numerator 2 and its complement 1 are not */
    r = evaluate(*state, "discharged-within-payment-deadline", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 3);
    assert_int_equal(count_of(group(r, 0), "numerator"), -2);
    assert_true(isnan(score_of(group(r, 0))));
    json_decref(r);
}

/* Bed-days in March of citizens 65+: e1 2.0 (pA), e2 5.0 (pB), e4 5.0 (pD, ready 03-26 22:00Z
 * until the period's end 03-31 22:00Z), e5 94 h = 3.916667 (pA, still admitted, from 03-28);
 * e3 is pC's (64).  Inhabitants 65+: Morsø 5,500, all five in the file 191,500. */
static void test_bed_days_per_1000(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "discharge-ready-bed-days-per-1000-65", &flt);
    near(score_of(group(r, 0)), 0.0831); /* 15.916667 / 191500 * 1000 = 0.083116 */
    assert_int_equal(count_of(group(r, 0), "numerator"), 4);
    assert_int_equal(count_of(group(r, 0), "denominator"), 191500);
    near(score_of(stratum(group(r, 0), 0, "Organization/dk-morso")), 1.9848); /* 10.916667/5.5 */
    near(score_of(stratum(group(r, 0), 0, "Organization/dk-aalborg-kommune")), 0.1316); /* 5/38 */
    json_decref(r);
    flt.municipality = "dk-morso";
    r = evaluate(*state, "discharge-ready-bed-days-per-1000-65", &flt);
    near(score_of(group(r, 0)), 1.9848);
    assert_int_equal(count_of(group(r, 0), "denominator"), 5500);
    json_decref(r);
}

/* Index stays e1, e2, e3, e6; e1 -> e5 (EM, 17 days), e2 -> e6 (EM, 14 days); e3 -> e7 is
 * planned (R). */
static void test_readmission(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "acute-readmission-30d", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 4);
    assert_int_equal(count_of(group(r, 0), "numerator"), 2);
    near(score_of(group(r, 0)), 0.5);
    json_decref(r);
    flt.condition_system = "http://snomed.info/sct"; /* MS: pA only */
    flt.condition_code = "24700007";
    r = evaluate(*state, "acute-readmission-30d", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 1);
    near(score_of(group(r, 0)), 1.0);
    json_decref(r);
}

/* cp1: discharge 03-10, rehab 03-16 (yes); cp2: the plan's later start 03-09, rehab 03-15
 * (yes, although 9 days after discharge); cp3: none (no); cp4: discharged in April. */
static void test_rehabilitation(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "rehabilitation-within-7-days", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 3);
    assert_int_equal(count_of(group(r, 0), "numerator"), 2);
    near(score_of(stratum(group(r, 0), 0, "Organization/dk-morso-genoptraening")), 0.6667);
    json_decref(r);
}

/* Shared needs: pA (hospital, home care, Morsø), pB (hospital, Morsø's episode of care), pD
 * (hospital, Aalborg through a PractitionerRole); pC only the hospital.  pA has a team and
 * an agreed SIP; pB's SIP is not agreed; pD has neither. */
static void test_coordinator_and_plan(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "coordinator-and-agreed-plan", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 3);
    assert_int_equal(count_of(group(r, 0), "numerator"), 1);
    near(score_of(stratum(group(r, 0), 0, "Organization/dk-morso")), 0.5);
    near(score_of(stratum(group(r, 0), 1, "80+")), 1.0);
    json_decref(r);
    /* it counts citizens: an organisation filter is refused */
    flt.organization = "dk-morso";
    char path[512];
    snprintf(path, sizeof(path), SV_SOURCE_DIR "/data/indicators/coordinator-and-agreed-plan.json");
    json_t *m = json_load_file(path, 0, NULL), *rep = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv_results_evaluate(((fixture *)*state)->db, ((fixture *)*state)->data, m,
                                         &flt, &rep, &out),
                     SV_ERR_INVALID);
    assert_string_equal(out.issues[0].expression, "organization");
    sv_outcome_clear(&out);
    json_decref(m);
}

static int64_t coordination_denominator(fixture *f)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(f, "coordinator-and-agreed-plan", &flt);
    int64_t n = count_of(group(r, 0), "denominator");
    json_decref(r);
    return n;
}

static void put_json(fixture *f, const char *type, const char *id, const char *text)
{
    json_t *body = json_loads(text, 0, NULL);
    assert_non_null(body);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_update(&f->rest, type, id, body, NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
    json_decref(body);
}

/* The served-by rows (store/combined.h) follow updates and deletes: pD is served by the
 * hospital (e4) and, through t2's PractitionerRole, by Aalborg municipality.  t2 owned by
 * the hospital itself: one organisation, pD is out; owned by the municipality again: in;
 * authored in April: out; back in March and e4 deleted: out. */
static void test_coordinator_follows_writes(void **state)
{
    fixture *f = *state;
    static const char T2[] =
        "{\"resourceType\": \"Task\", \"id\": \"t2\", \"status\": \"completed\","
        " \"intent\": \"order\", \"for\": {\"reference\": \"Patient/pD\"},"
        " \"owner\": {\"reference\": \"%s\"}, \"authoredOn\": \"%s\"}";
    char text[512];
    assert_int_equal(coordination_denominator(f), 3);
    snprintf(text, sizeof(text), T2, "Organization/dk-aalborg-uh", "2026-03-05T09:00:00Z");
    put_json(f, "Task", "t2", text);
    assert_int_equal(coordination_denominator(f), 2);
    snprintf(text, sizeof(text), T2, "Organization/dk-aalborg-kommune", "2026-03-05T09:00:00Z");
    put_json(f, "Task", "t2", text);
    assert_int_equal(coordination_denominator(f), 3);
    snprintf(text, sizeof(text), T2, "PractitionerRole/pr-aal", "2026-04-01T00:30:00+02:00");
    put_json(f, "Task", "t2", text);
    assert_int_equal(coordination_denominator(f), 2);
    snprintf(text, sizeof(text), T2, "PractitionerRole/pr-aal", "2026-03-31T23:30:00+02:00");
    put_json(f, "Task", "t2", text);
    assert_int_equal(coordination_denominator(f), 3);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Encounter", "e4", NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
    assert_int_equal(coordination_denominator(f), 2);
}

/* t1 kept (home care), t2 late (Aalborg via its PractitionerRole), t3 kept (lastModified),
 * t4 open past its deadline; t5 April; t6 cancelled. */
static void test_tasks(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "plan-follow-up-on-time", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 2);
    near(score_of(group(r, 0)), 0.5);
    near(score_of(stratum(group(r, 0), 0, "Organization/dk-aalborg-kommune")), 0.0);
    json_decref(r);
    r = evaluate(*state, "medication-changes-confirmed-on-time", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 2);
    near(score_of(group(r, 0)), 0.5);
    json_decref(r);
    r = evaluate(*state, "task-deadlines-kept", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 4);
    near(score_of(stratum(group(r, 0), 0, "Organization/dk-morso")), 0.5);
    near(score_of(stratum(group(r, 0), 0, "Organization/dk-morso-hjemmepleje")), 1.0);
    json_decref(r);
    flt.organization = "dk-morso"; /* with its home care (partOf) */
    r = evaluate(*state, "task-deadlines-kept", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 3);
    near(score_of(group(r, 0)), 0.6667);
    json_decref(r);
}

/* m1 6 h and m3 2 h (carecoordination), m2 24.5 h (medicine); m4 done in April. */
static void test_message_answers(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "message-answer-hours", &flt);
    near(score_of(group(r, 0)), 10.83); /* 32.5 / 3 */
    near(score_of(group(r, 1)), 6.0);
    near(score_of(group(r, 2)), 24.5);
    near(score_of(stratum(group(r, 0), 0, "carecoordination")), 4.0);
    near(score_of(stratum(group(r, 2), 0, "carecoordination")), 6.0);
    near(score_of(stratum(group(r, 0), 0, "medicine")), 24.5);
    json_decref(r);
}

/* g1 achieved (housing), g2 in progress (health), g3 sustaining (health); g4 April; g5
 * cancelled. */
static void test_goals(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "goals-achieved", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 3);
    near(score_of(group(r, 0)), 0.6667);
    near(score_of(stratum(group(r, 0), 0, "health")), 0.5);
    near(score_of(stratum(group(r, 0), 0, "housing")), 1.0);
    json_decref(r);
}

static void test_break_the_glass(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "break-the-glass-count", &flt);
    assert_int_equal(count_of(group(r, 0), "initial-population"), 2);
    assert_int_equal(
        count_of(stratum(group(r, 0), 0, "Organization/dk-morso"), "initial-population"), 1);
    json_decref(r);
    flt.min_cell = 5;
    r = evaluate(*state, "break-the-glass-count", &flt);
    assert_int_equal(count_of(group(r, 0), "initial-population"), -2);
    json_decref(r);
}

/* qr1 (pA): knows yes, together yes, housing 7, health 4; qr2 (pB): no, yes, health 8;
 * qr3 April; qr4 in progress.  Staff: 6 (Aalborg), 9 (Morsø). */
static void test_questionnaires(void **state)
{
    sv_results_filter flt = march();
    json_t *r = evaluate(*state, "citizen-knows-coordinator", &flt);
    assert_int_equal(count_of(group(r, 0), "denominator"), 2);
    near(score_of(group(r, 0)), 0.5);
    json_decref(r);
    r = evaluate(*state, "citizen-actors-work-together", &flt);
    near(score_of(group(r, 0)), 1.0);
    json_decref(r);
    r = evaluate(*state, "citizen-life-area-rating", &flt);
    near(score_of(group(r, 0)), 6.33); /* 19 / 3 */
    near(score_of(group(r, 1)), 7.0);
    near(score_of(stratum(group(r, 0), 0, "health")), 6.0);
    near(score_of(stratum(group(r, 0), 0, "housing")), 7.0);
    json_decref(r);
    r = evaluate(*state, "staff-collaboration-rating", &flt);
    near(score_of(group(r, 0)), 7.5);
    near(score_of(stratum(group(r, 0), 0, "Organization/dk-aalborg-kommune")), 6.0);
    json_decref(r);
}

/* March against February, the Danish unit costs (450 an hour, 2,000 a bed-day, 25,000 a
 * readmission).  Morsø: 1.5 h (home care) + 2 h (a PractitionerRole) in March, 0.5 h in
 * February.  The region (its hospital): bed-days of all ages 2 + 5 + 1 + 5 + 3.916667 =
 * 16.916667 and 2 readmissions in March, none in February. */
static void test_resource_use(void **state)
{
    fixture *f = *state;
    sv_results_filter flt = march();
    json_t *r = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv_results_resource_use(f->db, f->data, &flt, at("2026-01-31T23:00:00Z"),
                                             flt.start, "dk", &r, &out),
                     SV_OK);
    const json_t *morso = NULL, *region = NULL;
    size_t i;
    const json_t *o;
    json_array_foreach(json_object_get(r, "organizations"), i, o)
    {
        const char *ref =
            json_string_value(json_object_get(json_object_get(o, "organization"), "reference"));
        if (strcmp(ref, "Organization/dk-morso") == 0)
            morso = o;
        if (strcmp(ref, "Organization/dk-region-nord") == 0)
            region = o;
    }
    assert_non_null(morso);
    assert_non_null(region);
    near(json_number_value(json_object_get(json_object_get(morso, "period"), "hours")), 3.5);
    near(json_number_value(json_object_get(json_object_get(morso, "baseline"), "hours")), 0.5);
    near(json_number_value(json_object_get(json_object_get(morso, "change"), "hoursCost")), 1350);
    near(json_number_value(
             json_object_get(json_object_get(region, "period"), "bedDaysDischargeReady")),
         16.92);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(region, "period"), "readmissions")), 2);
    /* 16.916667 * 2000 = 33833.33, + 2 * 25000 */
    near(json_number_value(json_object_get(json_object_get(region, "change"), "effectsCost")),
         83833.33);
    json_decref(r);
    sv_outcome_clear(&out);
}

/* Morsø, MS: pA has team, plan and contact; pE has nothing (listed); pF declined in January
 * (quiet for 12 months); pH declined 14 months ago (listed again); pG lives in Aalborg. */
static void test_outreach(void **state)
{
    fixture *f = *state;
    json_t *r = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv_results_outreach(f->db, f->data, "dk-morso", "ms", 0,
                                         at("2026-04-15T00:00:00Z"), NULL, &r, &out),
                     SV_OK);
    const json_t *entries = json_object_get(r, "entries");
    assert_int_equal(json_array_size(entries), 2);
    const json_t *e0 = json_array_get(entries, 0), *e1 = json_array_get(entries, 1);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e0, "patient"), "reference")),
        "Patient/pE");
    assert_int_equal(json_array_size(json_object_get(e0, "reasons")), 3);
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(e1, "patient"), "reference")),
        "Patient/pH");
    json_decref(r);
    /* 13 months later pF's wish has expired too */
    assert_int_equal(sv_results_outreach(f->db, f->data, "dk-morso", "ms", 0,
                                         at("2027-02-15T00:00:00Z"), NULL, &r, &out),
                     SV_OK);
    assert_int_equal(json_array_size(json_object_get(r, "entries")), 4); /* pA: no contact */
    json_decref(r);
    /* a code instead of a rule: the ICD-10 code finds pF only, and she declined */
    assert_int_equal(sv_results_outreach(f->db, f->data, "dk-morso",
                                         "http://hl7.org/fhir/sid/icd-10|G35", 0,
                                         at("2026-04-15T00:00:00Z"), NULL, &r, &out),
                     SV_OK);
    assert_int_equal(json_array_size(json_object_get(r, "entries")), 0);
    json_decref(r);
    sv_outcome_clear(&out);
}

static void test_periods(void **state)
{
    int64_t t;
    assert_true(sv_results_period_start("2026-03-01", &t));
    assert_int_equal(t, at("2026-02-28T23:00:00Z"));
    assert_true(sv_results_period_end("2026-03-31", &t));
    assert_int_equal(t, at("2026-03-31T22:00:00Z")); /* summer time from 29 March */
    assert_true(sv_results_period_end("2026-03-31T12:00:00Z", &t));
    assert_int_equal(t, at("2026-03-31T12:00:01Z")); /* the whole second */
    assert_false(sv_results_period_start("2026-03-01T10:00:00", &t));
    assert_false(sv_results_period_start("March", &t));
    (void)state;
}

int main(void)
{
    TMPDB_SKIP_WITHOUT_BACKEND("results/test_measures_postgres");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_periods),
        cmocka_unit_test_setup_teardown(test_discharge_ready_days, setup, teardown),
        cmocka_unit_test_setup_teardown(test_payment_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bed_days_per_1000, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readmission, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehabilitation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_and_plan, setup, teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_follows_writes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tasks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_message_answers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_goals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_break_the_glass, setup, teardown),
        cmocka_unit_test_setup_teardown(test_questionnaires, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resource_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outreach, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
