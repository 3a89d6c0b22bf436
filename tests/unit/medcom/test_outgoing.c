/*
 * test_outgoing.c - messages samverka sends: a HospitalNotification built from a
 * stored stay and a CareCommunication built from a stored thread are accepted
 * (ok) by a second samverka as valid MedCom messages with the same state; the
 * outbox queues them, retries with a growing delay, fails after the last
 * attempt, and is settled by the receiver's acknowledgement.  Also: a message
 * given as FHIR XML is processed like its JSON twin.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/datetime.h"
#include "fhir/xml.h"
#include "helpers.h"

static json_t *org(const char *id, const char *sor, const char *name)
{
    return json_pack("{s:s, s:s, s:[{s:s, s:s}], s:s}", "resourceType", "Organization", "id", id,
                     "identifier", "system", "urn:oid:1.2.208.176.1.1", "value", sor, "name", name);
}

static const char SQL_OUTBOX_STATE[] = "SELECT state FROM medcom_outbox WHERE message_id = ?";
static const char SQL_OUTBOX_ATTEMPTS[] =
    "SELECT CAST(attempts AS TEXT) FROM medcom_outbox WHERE message_id = ?";
static const char SQL_OUTBOX_NEXT[] =
    "SELECT CAST(next_attempt AS TEXT) FROM medcom_outbox WHERE message_id = ?";

static void test_hospital_notification_round_trip_and_outbox(void **state)
{
    (void)state;
    fixture *hospital = fixture_new(), *municipality = fixture_new();
    const char *id = expect_code(hospital, MEDCOM_DATA "a1_stin.json", "ok");
    char enc_id[65];
    snprintf(enc_id, sizeof(enc_id), "%s", logged(hospital->db, SQL_LOG_ENCOUNTER, id));

    json_t *us = org("our-org", "265161000016000", "Testhospital");
    json_t *them = org("their-org", "953741000016009", "Testkommune");
    sv_medcom_party from = {.organization = us,
                            .endpoint = "https://sor2.sum.dsdn.dk/#id=265161000016000"};
    sv_medcom_party to = {.organization = them,
                          .endpoint = "https://sor2.sum.dsdn.dk/#id=953741000016009"};
    json_t *msg = NULL;
    sv_outcome o = SV_OUTCOME_INIT;
    assert_int_equal(sv_medcom_build_hospital_notification(&hospital->rest, enc_id,
                                                           "admit-inpatient", &from, &to, &msg, &o),
                     SV_OK);
    assert_int_equal(sv_fhir_validate(msg, &o), 0);
    const char *bad = NULL;
    assert_true(references_resolve(msg, msg, NULL, &bad));
    char msg_id[65];
    snprintf(msg_id, sizeof(msg_id), "%s", header_id(msg));

    /* queued, tried and failed twice (the delay doubles), then sent */
    sv_clock_set_fixed(INT64_C(1767225600000));
    assert_int_equal(sv_medcom_outbox_add(hospital->db, msg, NULL), SV_OK);
    assert_int_equal(sv_medcom_outbox_add(hospital->db, msg, NULL), SV_ERR_CONFLICT);
    assert_string_equal(logged(hospital->db, SQL_OUTBOX_STATE, msg_id), "pending");
    assert_int_equal(
        sv_medcom_outbox_attempt(hospital->db, msg_id, false, "connection refused", NULL), SV_OK);
    assert_string_equal(logged(hospital->db, SQL_OUTBOX_NEXT, msg_id), "1767225660000");
    assert_int_equal(sv_medcom_outbox_attempt(hospital->db, msg_id, false, "timeout", NULL), SV_OK);
    assert_string_equal(logged(hospital->db, SQL_OUTBOX_NEXT, msg_id), "1767225720000");
    assert_string_equal(logged(hospital->db, SQL_OUTBOX_ATTEMPTS, msg_id), "2");
    assert_int_equal(sv_medcom_outbox_attempt(hospital->db, msg_id, true, NULL, NULL), SV_OK);
    assert_string_equal(logged(hospital->db, SQL_OUTBOX_STATE, msg_id), "sent");
    sv_clock_set_fixed(0);

    /* the municipality accepts it: same stay state, a valid ok acknowledgement */
    sv_medcom_result res;
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&municipality->rest, msg, &res), SV_OK);
    json_t *ack = NULL;
    check_ack(res.body.ptr, msg_id, "ok", &ack);
    json_t *enc =
        stored(municipality, "Encounter", logged(municipality->db, SQL_LOG_ENCOUNTER, msg_id));
    assert_string_equal(str_at(enc, "status", NULL), "in-progress");
    assert_string_equal(str_at(enc, "period", "start"), "2026-01-05T10:00:00+01:00");
    json_decref(enc);

    /* its acknowledgement settles our outbox item */
    sv_medcom_result back;
    sv_medcom_result_init(&back);
    assert_int_equal(sv_medcom_process(&hospital->rest, ack, &back), SV_OK);
    assert_string_equal(logged(hospital->db, SQL_OUTBOX_STATE, msg_id), "acked");
    sv_medcom_result_clear(&back);
    sv_medcom_result_clear(&res);
    json_decref(ack);
    json_decref(msg);
    json_decref(us);
    json_decref(them);
    sv_outcome_clear(&o);
    fixture_free(hospital);
    fixture_free(municipality);
}

static void test_outbox_gives_up(void **state)
{
    (void)state;
    fixture *f = fixture_new();
    json_t *m = json_pack("{s:s, s:s, s:[{s:{s:s, s:s, s:{s:s}}}]}", "resourceType", "Bundle",
                          "type", "message", "entry", "resource", "resourceType", "MessageHeader",
                          "id", "m1", "eventCoding", "code", "care-communication-message");
    assert_int_equal(sv_medcom_outbox_add(f->db, m, NULL), SV_OK);
    for (int i = 0; i < SV_MEDCOM_MAX_ATTEMPTS; i++) {
        assert_string_equal(logged(f->db, SQL_OUTBOX_STATE, "m1"), "pending");
        assert_int_equal(sv_medcom_outbox_attempt(f->db, "m1", false, "unreachable", NULL), SV_OK);
    }
    assert_string_equal(logged(f->db, SQL_OUTBOX_STATE, "m1"), "failed");
    assert_int_equal(sv_medcom_outbox_attempt(f->db, "nope", false, "x", NULL), SV_ERR_NOT_FOUND);
    json_decref(m);
    fixture_free(f);
}

static void test_care_communication_round_trip(void **state)
{
    (void)state;
    fixture *a = fixture_new(), *b = fixture_new();
    const char *id = expect_code(a, MEDCOM_DATA "t1_cc_new.json", "ok");
    char comm_id[65];
    snprintf(comm_id, sizeof(comm_id), "%s", logged(a->db, SQL_LOG_COMMUNICATION, id));
    json_t *us = org("k1", "953741000016009", "Testkommune");
    json_t *them = org("h1", "265161000016000", "Testhospital");
    sv_medcom_party from = {.organization = us,
                            .endpoint = "https://sor2.sum.dsdn.dk/#id=953741000016009"};
    sv_medcom_party to = {.organization = them,
                          .endpoint = "https://sor2.sum.dsdn.dk/#id=265161000016000"};
    json_t *msg = NULL;
    sv_outcome o = SV_OUTCOME_INIT;
    assert_int_equal(sv_medcom_build_care_communication(&a->rest, comm_id, &from, &to, &msg, &o),
                     SV_OK);
    char msg_id[65];
    snprintf(msg_id, sizeof(msg_id), "%s", header_id(msg));
    sv_medcom_result res;
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&b->rest, msg, &res), SV_OK);
    json_t *ack = NULL;
    check_ack(res.body.ptr, msg_id, "ok", &ack);
    json_t *c = stored(b, "Communication", logged(b->db, SQL_LOG_COMMUNICATION, msg_id));
    assert_int_equal(json_array_size(json_object_get(c, "payload")), 2);
    json_decref(c);
    json_decref(ack);
    json_decref(msg);
    json_decref(us);
    json_decref(them);
    sv_medcom_result_clear(&res);
    sv_outcome_clear(&o);
    fixture_free(a);
    fixture_free(b);
}

/* The XML of a message gives the state its JSON twin gives. */
static void test_xml_message(void **state)
{
    (void)state;
    FILE *fp = fopen(MEDCOM_DATA "a1_stin.xml", "rb");
    assert_non_null(fp);
    char buf[65536];
    size_t n = fread(buf, 1, sizeof(buf), fp);
    fclose(fp);
    json_t *m = NULL;
    sv_outcome o = SV_OUTCOME_INIT;
    assert_int_equal(sv_fhir_xml_to_json(buf, n, &m, &o), SV_OK);
    fixture *x = fixture_new(), *j = fixture_new();
    sv_medcom_result res;
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&x->rest, m, &res), SV_OK);
    assert_string_equal(res.code, "ok");
    expect_code(j, MEDCOM_DATA "a1_stin_xml_twin.json", "ok");
    const char *id = header_id(m);
    json_t *ex = stored(x, "Encounter", logged(x->db, SQL_LOG_ENCOUNTER, id));
    json_t *ej = stored(j, "Encounter", logged(j->db, SQL_LOG_ENCOUNTER, id));
    json_object_del(ex, "meta");
    json_object_del(ej, "meta");
    json_object_del(ex, "id");
    json_object_del(ej, "id");
    json_object_del(ex, "subject");
    json_object_del(ej, "subject");
    json_object_del(ex, "serviceProvider");
    json_object_del(ej, "serviceProvider");
    assert_true(json_equal(ex, ej));
    json_decref(ex);
    json_decref(ej);
    json_decref(m);
    sv_medcom_result_clear(&res);
    sv_outcome_clear(&o);
    fixture_free(x);
    fixture_free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hospital_notification_round_trip_and_outbox),
        cmocka_unit_test(test_outbox_gives_up),
        cmocka_unit_test(test_care_communication_round_trip),
        cmocka_unit_test(test_xml_message),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
