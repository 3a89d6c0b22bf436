/*
 * helpers.h - shared by the medcom tests: a fresh database per test, loading
 * messages, processing them, and checking that an answer is a valid MedCom
 * Acknowledgement of a given message.  Header-only (CMake builds only
 * tests/unit/medcom/test_*.c).
 */
#ifndef SV_TEST_MEDCOM_HELPERS_H
#define SV_TEST_MEDCOM_HELPERS_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/tmpdb.h"
#include "fhir/validate.h"
#include "medcom/medcom.h"
#include "store/schema.h"

#define MEDCOM_DATA SV_SOURCE_DIR "/tests/data/medcom/"
#define MEDCOM_VECTORS SV_SOURCE_DIR "/../shared/vectors/medcom"
#define EVENT_SYSTEM "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes"

typedef struct fixture {
    tmpdb file;
    sv_db *db;
    sv_rest rest;
} fixture;

static inline fixture *fixture_new(void)
{
    fixture *f = calloc(1, sizeof(*f));
    tmpdb_make(&f->file);
    f->db = tmpdb_open(&f->file, 5000);
    if (sv_schema_migrate(f->db, NULL, NULL) != SV_OK)
        abort();
    f->rest = (sv_rest){
        .db = f->db, .base_url = "http://localhost/fhir", .default_count = 20, .max_count = 100};
    return f;
}

static inline void fixture_free(fixture *f)
{
    if (!f)
        return;
    sv_db_close(f->db);
    tmpdb_remove(&f->file);
    free(f);
}

static inline json_t *load_message(const char *path)
{
    json_error_t err;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        fprintf(stderr, "cannot load %s: %s\n", path, err.text);
        abort();
    }
    return j;
}

static inline const char *header_id(const json_t *bundle)
{
    return json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(bundle, "entry"), 0), "resource"), "id"));
}

/* Every "reference" inside v resolves to an entry of bundle (by fullUrl), but
 * those starting with except: message headers of the acknowledged message and
 * its history, which an acknowledgement names without carrying them (as
 * MedCom's own examples do). */
static inline bool references_resolve(const json_t *bundle, const json_t *v, const char *except,
                                      const char **ret_bad)
{
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++)
            if (!references_resolve(bundle, json_array_get(v, i), except, ret_bad))
                return false;
        return true;
    }
    if (!json_is_object(v))
        return true;
    const char *ref = json_string_value(json_object_get(v, "reference"));
    if (ref && !(except && strncmp(ref, except, strlen(except)) == 0)) {
        bool found = false;
        json_t *entries = json_object_get(bundle, "entry");
        for (size_t i = 0; i < json_array_size(entries) && !found; i++) {
            const char *u =
                json_string_value(json_object_get(json_array_get(entries, i), "fullUrl"));
            found = u && strcmp(u, ref) == 0;
        }
        if (!found) {
            *ret_bad = ref;
            return false;
        }
    }
    const char *key;
    json_t *value;
    json_object_foreach((json_t *)v, key, value)
    {
        if (!references_resolve(bundle, value, except, ret_bad))
            return false;
    }
    return true;
}

/* Fails unless body is a valid MedCom Acknowledgement of message_id with code;
 * returns its OperationOutcome (borrowed from *ret_ack, which the caller frees)
 * when code is not "ok". */
static inline json_t *check_ack(const char *body, const char *message_id, const char *code,
                                json_t **ret_ack)
{
    json_t *ack = json_loads(body, 0, NULL);
    if (!ack)
        fail_msg("the acknowledgement is not json: %.200s", body);
    sv_outcome o = SV_OUTCOME_INIT;
    if (sv_fhir_validate(ack, &o) > 0)
        fail_msg("the acknowledgement is not valid FHIR: %s at %s", o.issues[0].diagnostics,
                 o.issues[0].expression ? o.issues[0].expression : "-");
    sv_outcome_clear(&o);
    assert_string_equal(json_string_value(json_object_get(ack, "type")), "message");
    json_t *entries = json_object_get(ack, "entry");
    json_t *h = json_object_get(json_array_get(entries, 0), "resource");
    assert_string_equal(json_string_value(json_object_get(h, "resourceType")), "MessageHeader");
    json_t *ev = json_object_get(h, "eventCoding");
    assert_string_equal(json_string_value(json_object_get(ev, "system")), EVENT_SYSTEM);
    assert_string_equal(json_string_value(json_object_get(ev, "code")), "acknowledgement-message");
    json_t *resp = json_object_get(h, "response");
    assert_string_equal(json_string_value(json_object_get(resp, "identifier")), message_id);
    assert_string_equal(json_string_value(json_object_get(resp, "code")), code);
    char revision[120];
    snprintf(revision, sizeof(revision), "MessageHeader/%s", message_id);
    const char *bad = NULL;
    if (!references_resolve(ack, ack, "MessageHeader/", &bad))
        fail_msg("the acknowledgement's reference '%s' does not resolve", bad);
    /* the acknowledgement Provenance names the acknowledged message */
    bool prov = false;
    json_t *outcome = NULL;
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *r = json_object_get(json_array_get(entries, i), "resource");
        const char *rt = json_string_value(json_object_get(r, "resourceType"));
        if (strcmp(rt, "OperationOutcome") == 0)
            outcome = r;
        if (strcmp(rt, "Provenance") != 0)
            continue;
        json_t *c = json_array_get(json_object_get(json_object_get(r, "activity"), "coding"), 0);
        json_t *ent = json_array_get(json_object_get(r, "entity"), 0);
        const char *what =
            json_string_value(json_object_get(json_object_get(ent, "what"), "reference"));
        if (strcmp(json_string_value(json_object_get(c, "code")), "acknowledgement") == 0 && what &&
            strcmp(what, revision) == 0)
            prov = true;
    }
    assert_true(prov);
    if (strcmp(code, "ok") == 0) {
        assert_null(outcome);
        assert_null(json_object_get(resp, "details"));
    } else {
        assert_non_null(outcome);
        assert_non_null(json_object_get(resp, "details"));
    }
    *ret_ack = ack;
    return outcome;
}

/* The first issue's expression of an acknowledgement's OperationOutcome. */
static inline const char *outcome_expression(const json_t *outcome)
{
    json_t *issue = json_array_get(json_object_get(outcome, "issue"), 0);
    return json_string_value(json_array_get(json_object_get(issue, "expression"), 0));
}

/* Processes the message in path; the result is the caller's to clear. */
static inline sv_err process_file(fixture *f, const char *path, sv_medcom_result *res)
{
    json_t *m = load_message(path);
    sv_medcom_result_init(res);
    sv_err e = sv_medcom_process(&f->rest, m, res);
    json_decref(m);
    return e;
}

/* Processes path, expects an acknowledgement with code, and returns the
 * message id (static buffer). */
static inline const char *expect_code(fixture *f, const char *path, const char *code)
{
    static char id[65];
    json_t *m = load_message(path);
    snprintf(id, sizeof(id), "%s", header_id(m));
    json_decref(m);
    sv_medcom_result res;
    assert_int_equal(process_file(f, path, &res), SV_OK);
    if (!res.code || strcmp(res.code, code) != 0)
        fail_msg("%s: acknowledged %s, expected %s: %.400s", path, res.code ? res.code : "-", code,
                 res.body.ptr);
    json_t *ack = NULL;
    check_ack(res.body.ptr, id, code, &ack);
    json_decref(ack);
    sv_medcom_result_clear(&res);
    return id;
}

/* One text column of the message log for message_id (static buffer; "" if none). */
static inline const char *logged(sv_db *db, const char *sql, const char *message_id)
{
    static char out[256];
    out[0] = '\0';
    sv_stmt *st;
    bool row = false;
    if (sv_db_stmt(db, sql, &st, NULL) == SV_OK && sv_stmt_bind_text(st, 1, message_id) == SV_OK &&
        sv_stmt_step(st, &row, NULL) == SV_OK && row) {
        const char *s = sv_stmt_column_text(st, 0, NULL);
        snprintf(out, sizeof(out), "%s", s ? s : "");
        sv_stmt_reset(st);
    }
    return out;
}

static const char SQL_LOG_ENCOUNTER[] =
    "SELECT encounter_id FROM medcom_message WHERE message_id = ?";
static const char SQL_LOG_PATIENT[] = "SELECT patient_id FROM medcom_message WHERE message_id = ?";
static const char SQL_LOG_COMMUNICATION[] =
    "SELECT communication_id FROM medcom_message WHERE message_id = ?";
static const char SQL_EVENT_KIND[] = "SELECT kind FROM medcom_event WHERE message_id = ?";

/* The stored resource (new reference; NULL when absent). */
static inline json_t *stored(fixture *f, const char *type, const char *id)
{
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    json_t *j = NULL;
    if (sv_rest_read(&f->rest, type, id, &rr) == SV_OK)
        j = json_loads(rr.body.ptr, 0, NULL);
    sv_rest_result_clear(&rr);
    return j;
}

static inline const char *str_at(const json_t *j, const char *a, const char *b)
{
    json_t *v = json_object_get(j, a);
    if (b)
        v = json_object_get(v, b);
    return json_string_value(v);
}

#endif
