/*
 * test_vectors.c - every MedCom vector in ../shared/vectors/medcom (relative to
 * the repository) through sv_medcom_process, each on a fresh database: the
 * acknowledgement is valid and ok, the resulting state is what the message
 * says (Encounter status and class, leave period, Patient.deceased, the
 * Communication's thread, category, sender, payloads and attachments, the
 * event row), and the same message again gets the identical acknowledgement
 * and changes nothing (the whole database compared).  Incoming
 * acknowledgements settle the outbox item they answer.  Skipped, saying so,
 * when the vectors are not there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"

typedef struct expectation {
    const char *file;
    const char *event;
    const char *status;     /* Encounter.status, NULL: not a stay */
    const char *class_code; /* Encounter.class.code */
    bool deceased;          /* Patient.deceased[x] after the message */
    const char *start;      /* Encounter.period.start, NULL: not checked */
    bool leave_ended;       /* the leave-period extension has an end */
} expectation;

static const expectation stays[] = {
    {"HospitalNotification_Ex_STIN_A.json", "encounter.admitted", "in-progress", "IMP", false,
     "2023-03-01T12:00:00+01:00", false},
    {"HospitalNotification_Ex_STAA_E.json", "encounter.admitted", "in-progress", "EMER", false,
     NULL, false},
    {"HospitalNotification_Ex_STOR_F.json", "encounter.leave-started", "onleave", "IMP", false,
     NULL, false},
    {"HospitalNotification_Ex_SLOR_G.json", "encounter.leave-ended", "in-progress", "IMP", false,
     NULL, true},
    {"HospitalNotification_Ex_SLHJ_H.json", "encounter.discharged", "finished", "IMP", false, NULL,
     false},
    {"HospitalNotification_Ex_MORS_J.json", "patient.died", "in-progress", "IMP", true, NULL,
     false},
    {"HospitalNotification_Ex_RE_STIN_O.json", "encounter.corrected", "in-progress", "IMP", false,
     "2023-03-01T08:00:00+01:00", false},
    {"HospitalNotification_Ex_AN_STIN_N.json", "encounter.cancelled", "entered-in-error", "IMP",
     false, NULL, false},
};

static bool vectors_present(void)
{
    DIR *d = opendir(MEDCOM_VECTORS);
    if (!d) {
        print_message("skipped: vectors not found (%s)\n", MEDCOM_VECTORS);
        return false;
    }
    closedir(d);
    return true;
}

/* Processes path on f: ok, valid ack; then again: same ack, same database. */
static const char *process_twice(fixture *f, const char *path)
{
    static char id[65];
    json_t *m = load_message(path);
    snprintf(id, sizeof(id), "%s", header_id(m));
    sv_medcom_result first, again;
    sv_medcom_result_init(&first);
    sv_medcom_result_init(&again);
    assert_int_equal(sv_medcom_process(&f->rest, m, &first), SV_OK);
    if (!first.code || strcmp(first.code, "ok") != 0)
        fail_msg("%s: %.600s", path, first.body.ptr);
    json_t *ack = NULL;
    check_ack(first.body.ptr, id, "ok", &ack);
    json_decref(ack);
    assert_false(first.duplicate);

    sv_buf before = SV_BUF_INIT, after = SV_BUF_INIT;
    tmpdb_fingerprint(f->db, &before);
    assert_int_equal(sv_medcom_process(&f->rest, m, &again), SV_OK);
    tmpdb_fingerprint(f->db, &after);
    assert_true(again.duplicate);
    assert_string_equal(again.body.ptr, first.body.ptr);
    assert_true(before.len == after.len && memcmp(before.ptr, after.ptr, before.len) == 0);
    sv_buf_release(&before);
    sv_buf_release(&after);
    sv_medcom_result_clear(&first);
    sv_medcom_result_clear(&again);
    json_decref(m);
    return id;
}

static void test_hospital_notifications(void **state)
{
    (void)state;
    if (!vectors_present())
        skip();
    for (size_t i = 0; i < sizeof(stays) / sizeof(stays[0]); i++) {
        const expectation *x = &stays[i];
        char path[512];
        snprintf(path, sizeof(path), "%s/hospitalnotification/%s", MEDCOM_VECTORS, x->file);
        fixture *f = fixture_new();
        const char *id = process_twice(f, path);
        assert_string_equal(logged(f->db, SQL_EVENT_KIND, id), x->event);
        char enc_id[65], pat_id[65];
        snprintf(enc_id, sizeof(enc_id), "%s", logged(f->db, SQL_LOG_ENCOUNTER, id));
        snprintf(pat_id, sizeof(pat_id), "%s", logged(f->db, SQL_LOG_PATIENT, id));
        json_t *enc = stored(f, "Encounter", enc_id);
        json_t *pat = stored(f, "Patient", pat_id);
        assert_non_null(enc);
        assert_non_null(pat);
        assert_string_equal(str_at(enc, "status", NULL), x->status);
        assert_string_equal(str_at(enc, "class", "code"), x->class_code);
        char subject[100];
        snprintf(subject, sizeof(subject), "Patient/%s", pat_id);
        assert_string_equal(str_at(enc, "subject", "reference"), subject);
        if (x->start)
            assert_string_equal(str_at(enc, "period", "start"), x->start);
        json_t *leave =
            json_object_get(json_array_get(json_object_get(enc, "extension"), 0), "valuePeriod");
        assert_int_equal(json_object_get(leave, "end") != NULL, x->leave_ended);
        bool deceased = json_is_true(json_object_get(pat, "deceasedBoolean")) ||
                        json_object_get(pat, "deceasedDateTime");
        assert_int_equal(deceased, x->deceased);
        /* found by CPR, never by the sender's id */
        assert_string_equal(
            str_at(json_array_get(json_object_get(pat, "identifier"), 0), "value", NULL),
            "2509479989");
        json_decref(enc);
        json_decref(pat);
        fixture_free(f);
    }
}

/* Each CareCommunication vector: one Communication with the message's thread,
 * category, topic and payloads (texts and attachments as sent). */
static void test_care_communications(void **state)
{
    (void)state;
    if (!vectors_present())
        skip();
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/carecommunication", MEDCOM_VECTORS);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".json"))
            continue;
        char path[800];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        fixture *f = fixture_new();
        const char *id = process_twice(f, path);
        assert_string_equal(logged(f->db, SQL_EVENT_KIND, id), "communication.received");
        json_t *comm = stored(f, "Communication", logged(f->db, SQL_LOG_COMMUNICATION, id));
        assert_non_null(comm);
        json_t *m = load_message(path);
        json_t *mc = NULL;
        json_t *entries = json_object_get(m, "entry");
        for (size_t i = 0; i < json_array_size(entries); i++) {
            json_t *r = json_object_get(json_array_get(entries, i), "resource");
            if (strcmp(str_at(r, "resourceType", NULL), "Communication") == 0)
                mc = r;
        }
        assert_non_null(mc);
        static const char *const kept[] = {"identifier", "category", "topic", "status"};
        for (size_t k = 0; k < sizeof(kept) / sizeof(kept[0]); k++) {
            json_t *a = json_object_get(comm, kept[k]), *b = json_object_get(mc, kept[k]);
            if (!((!a && !b) || json_equal(a, b)))
                fail_msg("%s: Communication.%s differs from the message", de->d_name, kept[k]);
        }
        json_t *sp = json_object_get(comm, "payload"), *mp = json_object_get(mc, "payload");
        assert_int_equal(json_array_size(sp), json_array_size(mp));
        for (size_t i = 0; i < json_array_size(mp); i++) {
            json_t *a = json_array_get(sp, i), *b = json_array_get(mp, i);
            json_t *st = json_object_get(a, "contentString"),
                   *mt = json_object_get(b, "contentString");
            assert_true((!st && !mt) || json_equal(st, mt));
            json_t *sa = json_object_get(a, "contentAttachment");
            json_t *ma = json_object_get(b, "contentAttachment");
            if ((sa || ma) && !json_equal(sa, ma)) {
                char *x = json_dumps(json_object_get(a, "contentAttachment"), 0);
                char *y = json_dumps(json_object_get(b, "contentAttachment"), 0);
                fail_msg("%s payload %zu: attachment %.300s differs from %.300s", de->d_name, i,
                         x ? x : "-", y ? y : "-");
            }
        }
        const char *sender = str_at(comm, "sender", "reference");
        assert_non_null(sender);
        assert_int_equal(strncmp(sender, "Organization/", 13), 0);
        json_t *org = stored(f, "Organization", sender + 13);
        assert_non_null(org);
        json_decref(org);
        /* author (name, title, phone): the PractitionerRole named by the payload is contained */
        assert_true(json_array_size(json_object_get(comm, "contained")) >= 1);
        json_decref(m);
        json_decref(comm);
        fixture_free(f);
        n++;
    }
    closedir(d);
    assert_true(n >= 1);
}

static const char SQL_OUTBOX_STATE[] = "SELECT state FROM medcom_outbox WHERE message_id = ?";

/* An incoming acknowledgement is recorded, not acknowledged, and settles the
 * outbox item it answers: ok -> acked, fatal-error -> failed, transient-error ->
 * pending (sent again). */
static void test_acknowledgements(void **state)
{
    (void)state;
    if (!vectors_present())
        skip();
    static const struct {
        const char *file, *state;
    } acks[] = {{"Binary-Ack-AA_A.json", "acked"},
                {"Binary-Ack-AE_C.json", "failed"},
                {"Binary-Ack-AR_B.json", "pending"}};
    for (size_t i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof(path), "%s/acknowledgement/%s", MEDCOM_VECTORS, acks[i].file);
        json_t *ack = load_message(path);
        const char *answered =
            str_at(json_object_get(json_object_get(json_array_get(json_object_get(ack, "entry"), 0),
                                                   "resource"),
                                   "response"),
                   "identifier", NULL);
        fixture *f = fixture_new();
        /* our outgoing message that this acknowledgement answers */
        json_t *out =
            json_pack("{s:s, s:s, s:[{s:{s:s, s:s, s:{s:s}}}]}", "resourceType", "Bundle", "type",
                      "message", "entry", "resource", "resourceType", "MessageHeader", "id",
                      answered, "eventCoding", "code", "hospital-notification-message");
        assert_int_equal(sv_medcom_outbox_add(f->db, out, NULL), SV_OK);
        assert_int_equal(sv_medcom_outbox_attempt(f->db, answered, true, NULL, NULL), SV_OK);
        assert_string_equal(logged(f->db, SQL_OUTBOX_STATE, answered), "sent");
        sv_medcom_result res;
        sv_medcom_result_init(&res);
        assert_int_equal(sv_medcom_process(&f->rest, ack, &res), SV_OK);
        assert_int_equal(res.status, 200);
        assert_null(res.code); /* never an acknowledgement of an acknowledgement */
        assert_non_null(strstr(res.body.ptr, "\"OperationOutcome\""));
        assert_string_equal(logged(f->db, SQL_OUTBOX_STATE, answered), acks[i].state);
        assert_string_equal(logged(f->db, SQL_EVENT_KIND, header_id(ack)),
                            "acknowledgement.received");
        sv_medcom_result_clear(&res);
        json_decref(out);
        json_decref(ack);
        fixture_free(f);
    }
}

/* All vectors into one database, in file order: each acknowledged ok. */
static void test_all_vectors_together(void **state)
{
    (void)state;
    if (!vectors_present())
        skip();
    fixture *f = fixture_new();
    static const char *const dirs[] = {"hospitalnotification", "carecommunication"};
    for (size_t k = 0; k < 2; k++) {
        char dir[512];
        snprintf(dir, sizeof(dir), "%s/%s", MEDCOM_VECTORS, dirs[k]);
        DIR *d = opendir(dir);
        assert_non_null(d);
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strstr(de->d_name, ".json"))
                continue;
            char path[800];
            snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
            expect_code(f, path, "ok");
        }
        closedir(d);
    }
    /* one citizen: every vector is about CPR 2509479989 */
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource WHERE type = 'Patient'"), 1);
    fixture_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hospital_notifications),
        cmocka_unit_test(test_care_communications),
        cmocka_unit_test(test_acknowledgements),
        cmocka_unit_test(test_all_vectors_together),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
