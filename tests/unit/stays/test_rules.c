/*
 * test_rules.c - the stay rules, one test per rule of the real rulesets
 * (data/rulesets), with the clock pinned: the Swedish admission notice, the
 * expected discharge date, discharge-ready with the SIP meeting and the
 * payment responsibility counted in calendar days across Easter, the board,
 * discharge; the Danish admission report, rehabilitation within 7 days of
 * discharge or of the plan's later start; the home municipality from the
 * address, and a task when it cannot be found; death and cancellation ending
 * the open tasks; MedCom notifications acted on once through the feed; and
 * rulesets refused for a missing source or an unknown event.
 */
#include "helpers.h"

#include <stdlib.h>
#include <unistd.h>

#include "coord/coord.h"
#include "medcom/medcom.h"

#define CLASS_IMP                                                                                  \
    "\"class\":{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"IMP\"}"
#define READY(t, d)                                                                                \
    "{\"url\":\"http://samverka.org/fhir/StructureDefinition/discharge-ready\",\"extension\":["    \
    "{\"url\":\"time\",\"valueDateTime\":\"" t "\"},{\"url\":\"expectedDischarge\","               \
    "\"valueDate\":\"" d "\"}]}"
#define EXPECTED(d)                                                                                \
    "{\"url\":\"http://samverka.org/fhir/StructureDefinition/expected-discharge\",\"valueDate\":"  \
    "\"" d "\"}"

static void se_admit(fixture *f, const char *ext)
{
    char text[1200];
    snprintf(text, sizeof(text),
             "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"in-progress\"," CLASS_IMP
             ",\"subject\":{\"reference\":\"Patient/bengt\"},\"serviceProvider\":{\"reference\":"
             "\"Organization/sus\"},\"period\":{\"start\":\"2026-03-30T10:00:00+02:00\"}%s%s%s}",
             ext ? ",\"extension\":[" : "", ext ? ext : "", ext ? "]" : "");
    put_ok(f, text);
}

static json_t *board(fixture *f, const char *org)
{
    json_t *b = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv_stays_board(&f->rest, rules, org, &b, &out), SV_OK);
    sv_outcome_clear(&out);
    return b;
}

static void test_se_admission_notice_and_expected_date(void **state)
{
    fixture *f = *state;
    se_data(f, NULL);
    sv_clock_set_fixed(at("2026-03-30T08:00:00Z")); /* Monday */
    se_admit(f, NULL);
    assert_int_equal(stay_events(f, "e1", "encounter.admitted"), 1);
    assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/malmo"), 1);
    assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/vc"), 1);
    /* the department must state the expected discharge date within 24 h */
    task_row t = task_of(f, "Patient/bengt", "se-expected-discharge-date");
    assert_int_equal(t.count, 1);
    assert_string_equal(t.owner, "Organization/sus");
    assert_string_equal(t.end, "2026-03-31T10:00:00.000+02:00");
    assert_string_equal(t.status, "requested");
    /* primary care names the fast vårdkontakt (default: one working day) */
    t = task_of(f, "Patient/bengt", "se-fast-vardkontakt");
    assert_string_equal(t.owner, "Organization/vc");
    assert_string_equal(t.end, "2026-03-31T10:00:00.000+02:00");
    /* the same write again is no new event and no second task */
    se_admit(f, NULL);
    assert_int_equal(stay_events(f, "e1", NULL), 1);
    /* the expected date told: a correction, told again, the task done */
    se_admit(f, EXPECTED("2026-04-06"));
    assert_int_equal(stay_events(f, "e1", "encounter.corrected"), 1);
    assert_int_equal(notices(f, "stay-corrected", NULL, "Organization/malmo"), 1);
    t = task_of(f, "Patient/bengt", "se-expected-discharge-date");
    assert_int_equal(t.count, 1);
    assert_string_equal(t.status, "completed");
}

static void test_se_admitted_with_date_needs_no_task(void **state)
{
    fixture *f = *state;
    se_data(f, NULL);
    se_admit(f, EXPECTED("2026-04-06"));
    assert_int_equal(task_of(f, "Patient/bengt", "se-expected-discharge-date").count, 0);
}

static void test_se_discharge_ready_payment_sip_board_discharge(void **state)
{
    fixture *f = *state;
    se_data(f, NULL);
    sv_clock_set_fixed(at("2026-03-30T08:00:00Z"));
    se_admit(f, EXPECTED("2026-04-06"));
    /* Skärtorsdag 2 April 2026, 10:00: discharge-ready */
    sv_clock_set_fixed(at("2026-04-02T08:05:00Z"));
    se_admit(f, READY("2026-04-02T10:00:00+02:00", "2026-04-07"));
    assert_int_equal(stay_events(f, "e1", "encounter.discharge-ready"), 1);
    assert_int_equal(notices(f, "stay-discharge-ready", NULL, "Organization/malmo"), 1);
    /* SIP within 3 days; no coordinator yet, so primary care holds it */
    task_row sip = task_of(f, "Patient/bengt", "se-sip-meeting");
    assert_string_equal(sip.owner, "Organization/vc");
    assert_string_equal(sip.end, "2026-04-05T10:00:00.000+02:00");
    /* payment from 3 calendar days after the notice: Easter Sunday, holidays count */
    task_row rec = task_of(f, "Patient/bengt", "se-municipal-reception");
    assert_string_equal(rec.owner, "Organization/malmo");
    assert_string_equal(rec.end, "2026-04-05T00:00:00.000+02:00");

    json_t *b = board(f, "malmo");
    assert_int_equal(json_integer_value(json_object_get(b, "total")), 1);
    json_t *e = json_array_get(json_object_get(b, "entries"), 0);
    json_t *pay = json_object_get(e, "payment");
    assert_true(json_is_true(json_object_get(pay, "applies")));
    assert_string_equal(json_string_value(json_object_get(pay, "from")),
                        "2026-04-05T00:00:00.000+02:00");
    assert_int_equal(json_integer_value(json_object_get(pay, "daysLeft")), 3);
    assert_int_equal(json_integer_value(json_object_get(pay, "payingDays")), 0);
    assert_string_equal(json_string_value(json_object_get(e, "expectedDischarge")), "2026-04-07");
    assert_int_equal(json_array_size(json_object_get(e, "missing")),
                     3); /* sip, reception, contact */
    json_decref(b);
    /* the hospital's board has it too; an unrelated organisation's has not */
    b = board(f, "sus");
    assert_int_equal(json_integer_value(json_object_get(b, "total")), 1);
    json_decref(b);
    put_ok(f, "{\"resourceType\":\"Organization\",\"id\":\"other\",\"name\":\"Other\"}");
    b = board(f, "other");
    assert_int_equal(json_integer_value(json_object_get(b, "total")), 0);
    json_decref(b);

    /* Annandag påsk, Monday 6 April: the second paying day */
    sv_clock_set_fixed(at("2026-04-06T08:00:00Z"));
    b = board(f, "malmo");
    pay = json_object_get(json_array_get(json_object_get(b, "entries"), 0), "payment");
    assert_int_equal(json_integer_value(json_object_get(pay, "daysLeft")), 0);
    assert_int_equal(json_integer_value(json_object_get(pay, "payingDays")), 2);
    json_decref(b);

    /* the SIP is called: its task is done */
    put_ok(f, "{\"resourceType\":\"CarePlan\",\"id\":\"sip1\",\"status\":\"active\",\"intent\":"
              "\"plan\",\"category\":[{\"coding\":[{\"system\":\"" SV_SYS_CAREPLAN_CATEGORY
              "\",\"code\":\"sip\"}]}],\"subject\":{\"reference\":\"Patient/bengt\"},"
              "\"extension\":[{\"url\":\"" SV_EXT_SIP_STEP "\",\"valueCode\":\"call\"}]}");
    assert_string_equal(task_of(f, "Patient/bengt", "se-sip-meeting").status, "completed");
    b = board(f, "malmo");
    e = json_array_get(json_object_get(b, "entries"), 0);
    assert_int_equal(json_array_size(json_object_get(e, "ready")), 1);
    json_decref(b);

    /* discharged home: the reception is done, the board row is gone */
    put_ok(f, "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"finished\"," CLASS_IMP
              ",\"subject\":{\"reference\":\"Patient/bengt\"},\"serviceProvider\":{\"reference\":"
              "\"Organization/sus\"},\"period\":{\"start\":\"2026-03-30T10:00:00+02:00\",\"end\":"
              "\"2026-04-06T11:00:00+02:00\"},\"hospitalization\":{\"dischargeDisposition\":{"
              "\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
              "discharge-disposition\",\"code\":\"home\"}]}}}");
    assert_int_equal(stay_events(f, "e1", "encounter.discharged"), 1);
    assert_int_equal(notices(f, "stay-discharged", NULL, "Organization/malmo"), 1);
    assert_string_equal(task_of(f, "Patient/bengt", "se-municipal-reception").status, "completed");
    b = board(f, "malmo");
    assert_int_equal(json_integer_value(json_object_get(b, "total")), 0);
    json_decref(b);
}

static void test_se_withdrawn_stops_the_payment_clock(void **state)
{
    fixture *f = *state;
    se_data(f, NULL);
    se_admit(f, READY("2026-04-02T10:00:00+02:00", "2026-04-07"));
    assert_string_equal(task_of(f, "Patient/bengt", "se-municipal-reception").status, "requested");
    se_admit(f, NULL);
    assert_int_equal(stay_events(f, "e1", "encounter.discharge-ready-withdrawn"), 1);
    assert_string_equal(task_of(f, "Patient/bengt", "se-municipal-reception").status, "cancelled");
    json_t *b = board(f, "malmo");
    assert_int_equal(json_integer_value(json_object_get(b, "total")), 0);
    json_decref(b);
}

static void test_stockholm_cutoff(void **state)
{
    fixture *f = *state;
    se_data(f, "se-stockholm");
    /* after 12:00 the next day is day 0: payment from Monday 6 April */
    se_admit(f, READY("2026-04-02T12:30:00+02:00", "2026-04-07"));
    assert_string_equal(task_of(f, "Patient/bengt", "se-municipal-reception").end,
                        "2026-04-06T00:00:00.000+02:00");
}

static void test_se_payment_needs_the_admission_notice(void **state)
{
    fixture *f = *state;
    se_data(f, NULL);
    /* no home municipality: nobody was told, so no payment responsibility */
    put_ok(f, "{\"resourceType\":\"Patient\",\"id\":\"bengt\",\"address\":[{\"country\":\"SE\"}]}");
    se_admit(f, READY("2026-04-02T10:00:00+02:00", "2026-04-07"));
    json_t *b = board(f, "sus");
    json_t *pay = json_object_get(json_array_get(json_object_get(b, "entries"), 0), "payment");
    assert_true(json_is_false(json_object_get(pay, "applies")));
    json_decref(b);
    assert_int_equal(task_of(f, "Patient/bengt", "se-municipal-reception").count, 0);
    /* and the department must find the municipality */
    task_row t = task_of(f, "Patient/bengt", "home-municipality-unknown");
    assert_int_equal(t.count, 1);
    assert_string_equal(t.owner, "Organization/sus");
}

static void test_coordinator_appointed_names_the_contact(void **state)
{
    fixture *f = *state;
    se_data(f, NULL);
    se_admit(f, NULL);
    put_ok(f, "{\"resourceType\":\"PractitionerRole\",\"id\":\"eva\",\"organization\":{"
              "\"reference\":\"Organization/vc\"}}");
    put_ok(f, "{\"resourceType\":\"CareTeam\",\"id\":\"t1\",\"status\":\"active\",\"category\":"
              "[{\"coding\":[{\"system\":\"" SV_SYS_CARE_TEAM_CATEGORY "\",\"code\":"
              "\"coordination\"}]}],\"subject\":{\"reference\":\"Patient/bengt\"},\"participant\":"
              "[{\"role\":[{\"coding\":[{\"system\":\"" SV_SYS_CARE_TEAM_ROLE "\",\"code\":"
              "\"coordinator\"}]}],\"member\":{\"reference\":\"PractitionerRole/eva\"}}]}");
    assert_string_equal(task_of(f, "Patient/bengt", "se-fast-vardkontakt").status, "completed");
    /* now the coordinator is told of the stay's events */
    se_admit(f, EXPECTED("2026-04-06"));
    assert_int_equal(notices(f, "stay-corrected", "PractitionerRole/eva", NULL), 1);
}

static void dk_admit(fixture *f, bool report)
{
    char text[1200];
    snprintf(text, sizeof(text),
             "{\"resourceType\":\"Encounter\",\"id\":\"d1\",\"status\":\"in-progress\"," CLASS_IMP
             ",\"subject\":{\"reference\":\"Patient/hanne\"},\"serviceProvider\":{\"reference\":"
             "\"Organization/aauh\"},\"period\":{\"start\":\"2026-03-30T10:00:00+02:00\"}%s}",
             report ? ",\"extension\":[{\"url\":\"http://samverka.org/fhir/StructureDefinition/"
                      "admission-report-requested\",\"valueBoolean\":true}]"
                    : "");
    put_ok(f, text);
}

static void dk_discharge(fixture *f, const char *disposition)
{
    char text[1200];
    snprintf(text, sizeof(text),
             "{\"resourceType\":\"Encounter\",\"id\":\"d1\",\"status\":\"finished\"," CLASS_IMP
             ",\"subject\":{\"reference\":\"Patient/hanne\"},\"serviceProvider\":{\"reference\":"
             "\"Organization/aauh\"},\"period\":{\"start\":\"2026-03-30T10:00:00+02:00\",\"end\":"
             "\"2026-04-01T12:00:00+02:00\"},\"hospitalization\":{\"dischargeDisposition\":{"
             "\"coding\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/"
             "discharge-disposition\",\"code\":\"%s\"}]}}}",
             disposition);
    put_ok(f, text);
}

static void test_dk_admission_report_and_rehabilitation(void **state)
{
    fixture *f = *state;
    dk_data(f);
    sv_clock_set_fixed(at("2026-03-30T08:00:00Z"));
    dk_admit(f, true);
    /* the municipality from the address's municipality code */
    assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/morso"), 1);
    assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/gp"), 1);
    task_row t = task_of(f, "Patient/hanne", "dk-admission-report");
    assert_string_equal(t.owner, "Organization/morso");
    assert_string_equal(t.end, "2026-03-31T10:00:00.000+02:00");
    /* a rehabilitation plan starting later than the discharge */
    put_ok(f, "{\"resourceType\":\"CarePlan\",\"id\":\"gop\",\"status\":\"active\",\"intent\":"
              "\"plan\",\"category\":[{\"coding\":[{\"system\":\"" SV_SYS_CAREPLAN_CATEGORY
              "\",\"code\":\"rehabilitation\"}]}],\"subject\":{\"reference\":\"Patient/hanne\"},"
              "\"period\":{\"start\":\"2026-04-10\"}}");
    sv_clock_set_fixed(at("2026-04-01T10:05:00Z"));
    dk_discharge(f, "home");
    assert_int_equal(notices(f, "stay-discharged", NULL, "Organization/morso"), 1);
    assert_string_equal(task_of(f, "Patient/hanne", "dk-admission-report").status, "completed");
    t = task_of(f, "Patient/hanne", "dk-rehabilitation-start");
    assert_string_equal(t.owner, "Organization/morso");
    assert_string_equal(t.end, "2026-04-17T23:59:59.999+02:00"); /* 10 April + 7 days */
}

static void test_dk_rehabilitation_from_discharge(void **state)
{
    fixture *f = *state;
    dk_data(f);
    dk_admit(f, false);
    assert_int_equal(task_of(f, "Patient/hanne", "dk-admission-report").count, 0);
    dk_discharge(f, "home");
    assert_int_equal(task_of(f, "Patient/hanne", "dk-rehabilitation-start").count, 0); /* no plan */
    put_ok(f, "{\"resourceType\":\"Encounter\",\"id\":\"d1\",\"status\":\"in-progress\"," CLASS_IMP
              ",\"subject\":{\"reference\":\"Patient/hanne\"},\"serviceProvider\":{\"reference\":"
              "\"Organization/aauh\"}}");
    put_ok(f, "{\"resourceType\":\"CarePlan\",\"id\":\"gop\",\"status\":\"active\",\"intent\":"
              "\"plan\",\"category\":[{\"coding\":[{\"system\":\"" SV_SYS_CAREPLAN_CATEGORY
              "\",\"code\":\"rehabilitation\"}]}],\"subject\":{\"reference\":\"Patient/hanne\"}}");
    dk_discharge(f, "home");
    /* discharged Wednesday 1 April 12:00: 7 calendar days, end of day */
    assert_string_equal(task_of(f, "Patient/hanne", "dk-rehabilitation-start").end,
                        "2026-04-08T23:59:59.999+02:00");
}

static void test_died_and_cancelled_end_the_tasks(void **state)
{
    fixture *f = *state;
    dk_data(f);
    dk_admit(f, true);
    dk_discharge(f, "exp");
    assert_int_equal(stay_events(f, "d1", "patient.died"), 1);
    assert_int_equal(stay_events(f, "d1", "encounter.discharged"), 0);
    assert_int_equal(notices(f, "stay-died", NULL, "Organization/morso"), 1);
    assert_string_equal(task_of(f, "Patient/hanne", "dk-admission-report").status, "cancelled");

    se_data(f, NULL);
    se_admit(f, NULL);
    put_ok(
        f,
        "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"entered-in-error\"," CLASS_IMP
        ",\"subject\":{\"reference\":\"Patient/bengt\"},\"serviceProvider\":{"
        "\"reference\":\"Organization/sus\"}}");
    assert_int_equal(stay_events(f, "e1", "encounter.cancelled"), 1);
    assert_int_equal(notices(f, "stay-cancelled", NULL, "Organization/malmo"), 1);
    assert_string_equal(task_of(f, "Patient/bengt", "se-expected-discharge-date").status,
                        "cancelled");
}

static void test_leave(void **state)
{
    fixture *f = *state;
    dk_data(f);
    dk_admit(f, false);
    put_ok(f, "{\"resourceType\":\"Encounter\",\"id\":\"d1\",\"status\":\"onleave\"," CLASS_IMP
              ",\"subject\":{\"reference\":\"Patient/hanne\"},\"serviceProvider\":{\"reference\":"
              "\"Organization/aauh\"}}");
    dk_admit(f, false);
    assert_int_equal(stay_events(f, "d1", "encounter.leave-started"), 1);
    assert_int_equal(stay_events(f, "d1", "encounter.leave-ended"), 1);
    assert_int_equal(notices(f, "stay-leave-started", NULL, "Organization/morso"), 1);
    assert_int_equal(notices(f, "stay-leave-ended", NULL, "Organization/gp"), 1);
}

static void test_discharge_ready_needs_a_time(void **state)
{
    fixture *f = *state;
    se_data(f, NULL);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(
        put(f,
            "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"in-progress\"," CLASS_IMP
            ",\"subject\":{\"reference\":\"Patient/bengt\"},\"extension\":[{\"url\":\"http://"
            "samverka.org/fhir/StructureDefinition/discharge-ready\",\"extension\":[{\"url\":"
            "\"expectedDischarge\",\"valueDate\":\"2026-04-07\"}]}]}",
            &res),
        SV_ERR_PROCESSING);
    assert_string_equal(expression_of(&res), "Encounter.extension[0]");
    sv_rest_result_clear(&res);
    assert_int_equal(stay_events(f, "e1", NULL), 0);
}

static json_t *medcom_file(const char *name)
{
    char path[1024];
    snprintf(path, sizeof(path), SV_SOURCE_DIR "/tests/data/medcom/%s", name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("%s: %s", path, err.text);
    return j;
}

static void process(fixture *f, const char *name)
{
    json_t *m = medcom_file(name);
    sv_rest r = f->rest;
    r.hooks = sv_coord_hooks(); /* as api/message_routes.c: the events come from the feed */
    sv_medcom_result res;
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&r, m, &res), SV_OK);
    assert_string_equal(res.code, "ok");
    sv_medcom_result_clear(&res);
    json_decref(m);
}

static int feed(fixture *f)
{
    int done = -1;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_stays_feed(&f->rest, rules, &done, &err);
    if (e)
        fail_msg("feed: %s %s", sv_strerror(e), err.ptr);
    sv_buf_release(&err);
    return done;
}

static void test_medcom_feed_once(void **state)
{
    fixture *f = *state;
    dk_data(f);
    /* the citizen of the MedCom test messages, known here with a home municipality */
    put_ok(f, "{\"resourceType\":\"Patient\",\"id\":\"pa\",\"identifier\":[{\"system\":"
              "\"urn:oid:1.2.208.176.1.2\",\"value\":\"0101401234\"}],\"managingOrganization\":"
              "{\"reference\":\"Organization/morso\"}}");
    process(f, "a1_stin.json");
    assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/morso"), 0); /* not yet */
    assert_int_equal(feed(f), 1);
    assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/morso"), 1);
    assert_int_equal(feed(f), 0); /* once */
    assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/morso"), 1);
    process(f, "a5_slhj.json");
    assert_int_equal(feed(f), 1);
    assert_int_equal(notices(f, "stay-discharged", NULL, "Organization/morso"), 1);
}

static void test_rulesets_are_checked(void **state)
{
    (void)state;
    assert_int_equal(sv_stays_count(rules), 3);
    char dir[] = "/tmp/sv-rules-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof(path), "%s/x.json", dir);
    const char *bad[] = {
        /* a deadline without its source */
        "{\"id\":\"x\",\"country\":\"DK\",\"rules\":[{\"id\":\"r\",\"on\":\"encounter.admitted\","
        "\"tasks\":[{\"code\":\"c\",\"title\":\"t\",\"owner\":\"gp\",\"deadline\":{\"value\":"
        "\"24h\",\"confirmed\":true}}]}]}",
        /* an unknown event */
        "{\"id\":\"x\",\"country\":\"DK\",\"sources\":{\"s\":{\"title\":\"t\",\"url\":\"u\"}},"
        "\"rules\":[{\"id\":\"r\",\"on\":\"encounter.admited\",\"source\":\"s\"}]}",
        /* a deadline that does not parse */
        "{\"id\":\"x\",\"country\":\"DK\",\"sources\":{\"s\":{\"title\":\"t\",\"url\":\"u\"}},"
        "\"rules\":[{\"id\":\"r\",\"on\":\"encounter.admitted\",\"tasks\":[{\"code\":\"c\","
        "\"title\":\"t\",\"owner\":\"gp\",\"deadline\":{\"value\":\"7 days\",\"source\":\"s\","
        "\"confirmed\":true}}]}]}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(bad[i], fp);
        fclose(fp);
        sv_stays *s = NULL;
        sv_buf err = SV_BUF_INIT;
        assert_int_equal(sv_stays_load(dir, &s, &err), SV_ERR_INVALID);
        assert_non_null(strstr(err.ptr, "rules[0]"));
        sv_buf_release(&err);
    }
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_se_admission_notice_and_expected_date, stay_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_se_admitted_with_date_needs_no_task, stay_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_se_discharge_ready_payment_sip_board_discharge,
                                        stay_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_se_withdrawn_stops_the_payment_clock, stay_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_stockholm_cutoff, stay_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_se_payment_needs_the_admission_notice, stay_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_coordinator_appointed_names_the_contact, stay_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_dk_admission_report_and_rehabilitation, stay_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_dk_rehabilitation_from_discharge, stay_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_died_and_cancelled_end_the_tasks, stay_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_leave, stay_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_discharge_ready_needs_a_time, stay_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_medcom_feed_once, stay_setup, fixture_teardown),
        cmocka_unit_test(test_rulesets_are_checked),
    };
    return cmocka_run_group_tests(tests, rules_setup, rules_teardown);
}
