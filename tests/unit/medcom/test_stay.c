/*
 * test_stay.c - our own MedCom messages (tests/data/medcom, written from the
 * MedCom IGs): a stay through admission, leave, return, correction, discharge
 * and the discharge's cancellation; a death and its cancellation (AN_MORS
 * restores the Patient and the Encounter); an acute ambulant stay cancelled; a
 * thread of two CareCommunications; fifteen invalid messages refused with
 * fatal-error naming the element; a message about a stay of another citizen;
 * a body without a MessageHeader; storage failures at every call answered
 * transient-error with nothing kept; and the event hook.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"

static int setup(void **state)
{
    *state = fixture_new();
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

static json_t *encounter_of(fixture *f, const char *message_id)
{
    return stored(f, "Encounter", logged(f->db, SQL_LOG_ENCOUNTER, message_id));
}

static void test_stay_through_leave_correction_and_cancelled_discharge(void **state)
{
    fixture *f = *state;
    const char *id = expect_code(f, MEDCOM_DATA "a1_stin.json", "ok");
    char enc_id[65];
    snprintf(enc_id, sizeof(enc_id), "%s", logged(f->db, SQL_LOG_ENCOUNTER, id));
    assert_string_equal(logged(f->db, SQL_EVENT_KIND, id), "encounter.admitted");
    json_t *enc = stored(f, "Encounter", enc_id);
    assert_string_equal(str_at(enc, "status", NULL), "in-progress");
    json_decref(enc);

    static const struct {
        const char *file, *status, *event, *start;
        bool has_end;
    } steps[] = {
        {"a2_stor.json", "onleave", "encounter.leave-started", "2026-01-05T10:00:00+01:00", false},
        {"a3_slor.json", "in-progress", "encounter.leave-ended", "2026-01-05T10:00:00+01:00",
         false},
        {"a4_re_stin.json", "in-progress", "encounter.corrected", "2026-01-05T09:30:00+01:00",
         false},
        {"a5_slhj.json", "finished", "encounter.discharged", "2026-01-05T09:30:00+01:00", true},
        /* AN_SLHJ: back to the state before the discharge (after the correction) */
        {"a6_an_slhj.json", "in-progress", "encounter.cancelled", "2026-01-05T09:30:00+01:00",
         false},
    };
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        char path[300];
        snprintf(path, sizeof(path), MEDCOM_DATA "%s", steps[i].file);
        id = expect_code(f, path, "ok");
        /* the same stay every time: found by the episode-of-care identifier */
        assert_string_equal(logged(f->db, SQL_LOG_ENCOUNTER, id), enc_id);
        assert_string_equal(logged(f->db, SQL_EVENT_KIND, id), steps[i].event);
        enc = stored(f, "Encounter", enc_id);
        assert_string_equal(str_at(enc, "status", NULL), steps[i].status);
        assert_string_equal(str_at(enc, "period", "start"), steps[i].start);
        assert_int_equal(str_at(enc, "period", "end") != NULL, steps[i].has_end);
        json_decref(enc);
    }
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource WHERE type = 'Encounter'"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT version FROM resource WHERE type = 'Encounter'"), 6);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource WHERE type = 'Patient'"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM medcom_event"), 6);
}

static void test_death_and_its_cancellation(void **state)
{
    fixture *f = *state;
    expect_code(f, MEDCOM_DATA "b1_stin.json", "ok");
    expect_code(f, MEDCOM_DATA "b2_stor.json", "ok");
    const char *id = expect_code(f, MEDCOM_DATA "b3_mors.json", "ok");
    char pat_id[65];
    snprintf(pat_id, sizeof(pat_id), "%s", logged(f->db, SQL_LOG_PATIENT, id));
    assert_string_equal(logged(f->db, SQL_EVENT_KIND, id), "patient.died");
    json_t *pat = stored(f, "Patient", pat_id);
    assert_string_equal(str_at(pat, "deceasedDateTime", NULL), "2026-01-08T04:15:00+01:00");
    json_decref(pat);
    json_t *enc = encounter_of(f, id);
    assert_string_equal(str_at(enc, "status", NULL), "finished");
    json_decref(enc);

    id = expect_code(f, MEDCOM_DATA "b4_an_mors.json", "ok");
    assert_string_equal(logged(f->db, SQL_EVENT_KIND, id), "encounter.cancelled");
    pat = stored(f, "Patient", pat_id);
    assert_null(json_object_get(pat, "deceasedDateTime"));
    assert_null(json_object_get(pat, "deceasedBoolean"));
    json_decref(pat);
    /* restored to the leave before the death, not to what the cancellation states */
    enc = encounter_of(f, id);
    assert_string_equal(str_at(enc, "status", NULL), "onleave");
    assert_null(str_at(enc, "period", "end"));
    json_decref(enc);
}

static void test_acute_ambulant_cancelled(void **state)
{
    fixture *f = *state;
    const char *id = expect_code(f, MEDCOM_DATA "c1_staa.json", "ok");
    json_t *enc = encounter_of(f, id);
    assert_string_equal(str_at(enc, "class", "code"), "EMER");
    assert_string_equal(str_at(enc, "status", NULL), "in-progress");
    json_decref(enc);
    id = expect_code(f, MEDCOM_DATA "c2_an_staa.json", "ok");
    enc = encounter_of(f, id);
    assert_string_equal(str_at(enc, "status", NULL), "entered-in-error");
    json_decref(enc);
}

static void test_thread_of_two_messages(void **state)
{
    fixture *f = *state;
    const char *id = expect_code(f, MEDCOM_DATA "t1_cc_new.json", "ok");
    char comm_id[65];
    snprintf(comm_id, sizeof(comm_id), "%s", logged(f->db, SQL_LOG_COMMUNICATION, id));
    id = expect_code(f, MEDCOM_DATA "t2_cc_reply.json", "ok");
    assert_string_equal(logged(f->db, SQL_LOG_COMMUNICATION, id), comm_id);
    json_t *c = stored(f, "Communication", comm_id);
    assert_string_equal(str_at(json_object_get(c, "meta"), "versionId", NULL), "2");
    json_t *payload = json_object_get(c, "payload");
    assert_int_equal(json_array_size(payload), 3);
    assert_string_equal(str_at(json_object_get(json_array_get(payload, 1), "contentAttachment"),
                               "contentType", NULL),
                        "application/pdf");
    json_t *coding = json_array_get(
        json_object_get(json_array_get(json_object_get(c, "category"), 0), "coding"), 0);
    assert_string_equal(str_at(coding, "code", NULL), "discharge");
    /* the author's name, title and phone stay with the message */
    bool author = false;
    json_t *contained = json_object_get(c, "contained");
    for (size_t i = 0; i < json_array_size(contained); i++) {
        json_t *r = json_array_get(contained, i);
        if (strcmp(str_at(r, "resourceType", NULL), "Practitioner") == 0)
            author = strcmp(str_at(json_array_get(json_object_get(r, "name"), 0), "family", NULL),
                            "Hansen") == 0;
    }
    assert_true(author);
    json_t *ext = json_array_get(json_object_get(json_array_get(payload, 2), "extension"), 2);
    assert_string_equal(str_at(ext, "valueReference", "reference"), "#role1");
    const char *subject = str_at(c, "subject", "reference");
    assert_int_equal(strncmp(subject, "Patient/", 8), 0);
    json_decref(c);
}

static void test_invalid_messages_are_refused_with_the_path(void **state)
{
    fixture *f = *state;
    json_t *expect = load_message(MEDCOM_DATA "invalid/expect.json");
    const char *name;
    json_t *want;
    size_t n = 0;
    json_object_foreach(expect, name, want)
    {
        char path[400];
        snprintf(path, sizeof(path), MEDCOM_DATA "invalid/%s", name);
        json_t *m = load_message(path);
        sv_medcom_result res, again;
        sv_medcom_result_init(&res);
        sv_medcom_result_init(&again);
        assert_int_equal(sv_medcom_process(&f->rest, m, &res), SV_OK);
        if (!res.code || strcmp(res.code, "fatal-error") != 0)
            fail_msg("%s: acknowledged %s", name, res.code ? res.code : "-");
        json_t *ack = NULL;
        json_t *outcome = check_ack(res.body.ptr, header_id(m), "fatal-error", &ack);
        const char *expr = outcome_expression(outcome);
        if (!expr || strcmp(expr, json_string_value(want)) != 0)
            fail_msg("%s: the OperationOutcome names '%s', expected '%s'", name, expr ? expr : "-",
                     json_string_value(want));
        assert_non_null(json_string_value(
            json_object_get(json_array_get(json_object_get(outcome, "issue"), 0), "diagnostics")));
        /* resent: the same refusal */
        assert_int_equal(sv_medcom_process(&f->rest, m, &again), SV_OK);
        assert_true(again.duplicate);
        assert_string_equal(again.body.ptr, res.body.ptr);
        json_decref(ack);
        json_decref(m);
        sv_medcom_result_clear(&res);
        sv_medcom_result_clear(&again);
        n++;
    }
    assert_int_equal(n, 15);
    /* nothing of a refused message is kept but its log line */
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource"), 0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM medcom_event"), 0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM medcom_message"), 15);
    json_decref(expect);
}

/* A leave notice for stay A that names citizen B: never applied to A's stay. */
static void test_stay_of_another_citizen(void **state)
{
    fixture *f = *state;
    const char *id = expect_code(f, MEDCOM_DATA "a1_stin.json", "ok");
    char enc_id[65];
    snprintf(enc_id, sizeof(enc_id), "%s", logged(f->db, SQL_LOG_ENCOUNTER, id));
    json_t *m = load_message(MEDCOM_DATA "a2_stor.json");
    json_t *b = load_message(MEDCOM_DATA "b1_stin.json");
    json_t *entries = json_object_get(m, "entry");
    json_array_set(entries, 1, json_array_get(json_object_get(b, "entry"), 1));
    json_t *enc = json_object_get(json_array_get(entries, 2), "resource");
    json_object_set_new(json_object_get(enc, "subject"), "reference", json_string("Patient/pb"));
    sv_medcom_result res;
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&f->rest, m, &res), SV_OK);
    json_t *ack = NULL;
    json_t *outcome = check_ack(res.body.ptr, header_id(m), "fatal-error", &ack);
    assert_string_equal(outcome_expression(outcome), "Bundle.entry[1].resource.identifier");
    json_t *stay = stored(f, "Encounter", enc_id);
    assert_string_equal(str_at(json_object_get(stay, "meta"), "versionId", NULL), "1");
    assert_string_equal(str_at(stay, "status", NULL), "in-progress");
    /* and citizen B was not created by the refused message */
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource WHERE type = 'Patient'"), 1);
    json_decref(stay);
    json_decref(ack);
    json_decref(m);
    json_decref(b);
    sv_medcom_result_clear(&res);
}

static void test_no_header_is_a_plain_refusal(void **state)
{
    fixture *f = *state;
    json_t *m = load_message(MEDCOM_DATA "a1_stin.json");
    json_array_remove(json_object_get(m, "entry"), 0);
    sv_medcom_result res;
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&f->rest, m, &res), SV_ERR_INVALID);
    assert_int_equal(res.status, 400);
    assert_null(res.code);
    assert_string_equal(res.outcome.issues[0].expression, "Bundle.entry[0].resource");
    sv_medcom_result_clear(&res);
    json_decref(m);
    json_t *p = json_pack("{s:s}", "resourceType", "Patient");
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&f->rest, p, &res), SV_ERR_INVALID);
    assert_string_equal(res.outcome.issues[0].expression, "resourceType");
    sv_medcom_result_clear(&res);
    json_decref(p);
}

/* A storage failure at any call: transient-error, nothing kept, not logged; the
 * same message sent again is then processed. */
static void test_storage_failures_are_transient(void **state)
{
    (void)state;
    json_t *m = load_message(MEDCOM_DATA "a1_stin.json");
    int transient = 0;
    for (int nth = 1; nth < 80; nth++) {
        fixture *f = fixture_new();
        sv_medcom_result res;
        sv_medcom_result_init(&res);
        sv_db_fault_inject(f->db, nth, SV_ERR_IO);
        assert_int_equal(sv_medcom_process(&f->rest, m, &res), SV_OK);
        bool fired = !sv_db_fault_pending(f->db);
        sv_db_fault_inject(f->db, 0, SV_OK);
        if (fired) {
            assert_string_equal(res.code, "transient-error");
            json_t *ack = NULL;
            check_ack(res.body.ptr, header_id(m), "transient-error", &ack);
            json_decref(ack);
            assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource"), 0);
            assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM medcom_message"), 0);
            transient++;
            sv_medcom_result_clear(&res);
            assert_int_equal(sv_medcom_process(&f->rest, m, &res), SV_OK);
        }
        assert_string_equal(res.code, "ok");
        sv_medcom_result_clear(&res);
        fixture_free(f);
        if (!fired)
            break;
    }
    assert_true(transient > 10);
    json_decref(m);
}

typedef struct seen {
    int n;
    char kind[64], encounter[65];
} seen;

static void hook(void *ctx, const sv_medcom_event *ev)
{
    seen *s = ctx;
    s->n++;
    snprintf(s->kind, sizeof(s->kind), "%s", ev->kind);
    snprintf(s->encounter, sizeof(s->encounter), "%s", ev->encounter_id ? ev->encounter_id : "");
}

static void test_event_hook_after_commit(void **state)
{
    fixture *f = *state;
    seen s = {0};
    sv_medcom_set_event_hook(hook, &s);
    const char *id = expect_code(f, MEDCOM_DATA "a1_stin.json", "ok");
    assert_int_equal(s.n, 1);
    assert_string_equal(s.kind, "encounter.admitted");
    assert_string_equal(s.encounter, logged(f->db, SQL_LOG_ENCOUNTER, id));
    expect_code(f, MEDCOM_DATA "a1_stin.json", "ok"); /* a duplicate is no new event */
    expect_code(f, MEDCOM_DATA "invalid/status_mismatch.json", "fatal-error");
    assert_int_equal(s.n, 1);
    sv_medcom_set_event_hook(NULL, NULL);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM medcom_event WHERE handled = 0"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stay_through_leave_correction_and_cancelled_discharge,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_death_and_its_cancellation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_acute_ambulant_cancelled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_of_two_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_messages_are_refused_with_the_path, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_stay_of_another_citizen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_header_is_a_plain_refusal, setup, teardown),
        cmocka_unit_test(test_storage_failures_are_transient),
        cmocka_unit_test_setup_teardown(test_event_hook_after_commit, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
