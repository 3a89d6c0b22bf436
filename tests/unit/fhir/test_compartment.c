/*
 * test_compartment.c - unit tests for fhir/compartment: the generated R4 table
 * agrees with the search parameter table; which patients a resource's rows put
 * it with (cases as data: the resource, the patients expected); and, through
 * fhir/rest against a temporary database, that the rows follow every write
 * (create, update to another patient, delete).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "fhir/compartment.h"
#include "fhir/index.h"
#include "fhir/rest.h"
#include "fhir/searchparam.h"
#include "store/schema.h"

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("bad json in the test: %s (%s)", err.text, text);
    return j;
}

/* Every (type, param) of the generated table is a reference parameter that may
 * point at a Patient: otherwise membership would silently be lost. */
static void test_table_matches_search_parameters(void **state)
{
    (void)state;
    assert_true(sv__r4_patient_compartment_len >= 60);
    for (size_t i = 0; i < sv__r4_patient_compartment_len; i++) {
        const sv_compartment_member *m = &sv__r4_patient_compartment[i];
        if (i)
            assert_true(strcmp(sv__r4_patient_compartment[i - 1].type, m->type) < 0);
        assert_non_null(m->params[0]);
        for (size_t k = 0; m->params[k]; k++) {
            const sv_searchparam *sp = sv_searchparam_find(m->type, m->params[k]);
            if (!sp)
                fail_msg("%s.%s is not a search parameter", m->type, m->params[k]);
            assert_int_equal(sp->type, SV_SEARCHPARAM_REFERENCE);
            bool patient = !sp->targets;
            for (size_t t = 0; sp->targets && sp->targets[t]; t++)
                patient |= strcmp(sp->targets[t], "Patient") == 0;
            if (!patient)
                fail_msg("%s.%s cannot reference a Patient", m->type, m->params[k]);
        }
    }
}

static void test_params_by_type(void **state)
{
    (void)state;
    const char *const *p = sv_compartment_patient_params("Observation");
    assert_non_null(p);
    assert_string_equal(p[0], "subject");
    assert_string_equal(p[1], "performer");
    assert_null(p[2]);
    /* the official definition, not medplum's edit */
    p = sv_compartment_patient_params("Encounter");
    assert_string_equal(p[0], "patient");
    assert_null(p[1]);
    /* samverka's addition: R4 leaves Task out */
    p = sv_compartment_patient_params("Task");
    assert_non_null(p);
    assert_string_equal(p[0], "patient");
    assert_string_equal(p[1], "focus");
    assert_string_equal(sv_compartment_patient_params("Patient")[0], "link");
    assert_null(sv_compartment_patient_params("Organization"));
    assert_null(sv_compartment_patient_params("Practitioner"));
    assert_null(sv_compartment_patient_params("Medication"));
    assert_null(sv_compartment_patient_params(NULL));
    assert_true(sv_compartment_patient_has_type("CarePlan"));
    assert_false(sv_compartment_patient_has_type("PractitionerRole"));
}

/* resource -> the patients of its compartment rows, sorted, comma-separated. */
static const struct {
    const char *name;
    const char *resource;
    const char *patients;
} cases[] = {
    {"subject",
     "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\","
     "\"code\":{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/p1\"}}",
     "p1"},
    {"subject and performer, one patient twice",
     "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{\"text\":\"x\"}"
     ","
     "\"subject\":{\"reference\":\"Patient/p1\"},\"performer\":[{\"reference\":\"Patient/p2\"},"
     "{\"reference\":\"Practitioner/x\"},{\"reference\":\"Patient/p1\"}]}",
     "p1,p2"},
    {"a group subject is no patient",
     "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{\"text\":\"x\"}"
     ","
     "\"subject\":{\"reference\":\"Group/g1\"}}",
     ""},
    {"absolute url: another server's patient",
     "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{\"text\":\"x\"}"
     ","
     "\"subject\":{\"reference\":\"http://elsewhere.example/fhir/Patient/p1\"}}",
     ""},
    {"a parameter not in the definition (Observation.focus)",
     "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{\"text\":\"x\"}"
     ","
     "\"focus\":[{\"reference\":\"Patient/p9\"}]}",
     ""},
    {"CarePlan subject gives rows for subject and patient: one compartment row",
     "{\"resourceType\":\"CarePlan\",\"id\":\"c\",\"status\":\"active\",\"intent\":\"plan\","
     "\"subject\":{\"reference\":\"Patient/p1\"}}",
     "p1"},
    {"a patient is in its own compartment and in those it links to",
     "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"link\":[{\"other\":{\"reference\":"
     "\"Patient/p2\"},\"type\":\"seealso\"}]}",
     "p1,p2"},
    {"Task (samverka's addition): for and focus",
     "{\"resourceType\":\"Task\",\"id\":\"t\",\"status\":\"requested\",\"intent\":\"order\","
     "\"for\":{\"reference\":\"Patient/p3\"},\"focus\":{\"reference\":\"Patient/p4\"}}",
     "p3,p4"},
    {"Encounter by its subject",
     "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":\"finished\",\"class\":{\"code\":"
     "\"AMB\"},\"subject\":{\"reference\":\"Patient/p5\"}}",
     "p5"},
    {"Organization is in no compartment",
     "{\"resourceType\":\"Organization\",\"id\":\"org\",\"partOf\":{\"reference\":\"Organization/"
     "x\"}}",
     ""},
    {"CareTeam participant",
     "{\"resourceType\":\"CareTeam\",\"id\":\"ct\",\"participant\":[{\"member\":{\"reference\":"
     "\"Patient/p6\"}}]}",
     "p6"},
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void test_rows_cases(void **state)
{
    (void)state;
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        json_t *res = parse(cases[c].resource);
        sv_index_rows rows = SV_INDEX_ROWS_INIT;
        assert_int_equal(sv_fhir_index_extract(res, &rows), 0);
        size_t before = rows.len;
        const char *type = json_string_value(json_object_get(res, "resourceType"));
        const char *id = json_string_value(json_object_get(res, "id"));
        size_t added = sv_compartment_rows(type, id, &rows);
        assert_int_equal(added, rows.len - before);
        const char *ids[16];
        size_t n = 0;
        for (size_t i = before; i < rows.len; i++) {
            const sv_index_row *r = &rows.rows[i];
            assert_int_equal(r->kind, SV_INDEX_REFERENCE);
            assert_string_equal(r->param, SV_COMPARTMENT_PARAM);
            assert_string_equal(r->system, "Patient");
            char exact[96];
            snprintf(exact, sizeof(exact), "Patient/%s", r->value);
            assert_string_equal(r->exact, exact);
            assert_true(n < 16);
            ids[n++] = r->value;
        }
        /* the rows before are untouched, and none of them is a compartment row */
        for (size_t i = 0; i < before; i++)
            assert_string_not_equal(rows.rows[i].param, SV_COMPARTMENT_PARAM);
        qsort(ids, n, sizeof(ids[0]), cmp_str);
        sv_buf got = SV_BUF_INIT;
        for (size_t i = 0; i < n; i++)
            sv_buf_addf(&got, "%s%s", i ? "," : "", ids[i]);
        if (strcmp(got.ptr, cases[c].patients) != 0)
            fail_msg("case '%s': patients '%s', expected '%s'", cases[c].name, got.ptr,
                     cases[c].patients);
        sv_buf_release(&got);
        sv_index_rows_clear(&rows);
        json_decref(res);
    }
}

/* ---- through fhir/rest: the rows follow every write --------------------------------- */

static int64_t compartment_rows(sv_db *db, const char *patient)
{
    static const char SQL[] = "SELECT COUNT(*) FROM idx_reference WHERE param = '_compartment'"
                              " AND target_type = 'Patient' AND target_id = ?";
    sv_stmt *st = NULL;
    sv_buf err = SV_BUF_INIT;
    bool row = false;
    assert_int_equal(sv_db_prepare(db, SQL, &st, &err), SV_OK);
    sv_stmt_bind_text(st, 1, patient);
    assert_int_equal(sv_stmt_step(st, &row, &err), SV_OK);
    int64_t n = sv_stmt_column_int64(st, 0);
    sv_stmt_finalize(st);
    sv_buf_release(&err);
    return n;
}

static void put(sv_rest *r, const char *type, const char *id, const char *text)
{
    json_t *j = parse(text);
    sv_rest_result res;
    sv_rest_result_init(&res);
    sv_err e = sv_rest_update(r, type, id, j, NULL, &res);
    if (e)
        fail_msg("PUT %s/%s: %s", type, id,
                 res.outcome.len ? res.outcome.issues[0].diagnostics : "");
    sv_rest_result_clear(&res);
    json_decref(j);
}

static void test_rows_follow_writes(void **state)
{
    (void)state;
    tmpdb file;
    tmpdb_make(&file);
    sv_db *db = tmpdb_open(&file, 5000);
    assert_int_equal(sv_schema_migrate(db, NULL, NULL), SV_OK);
    sv_rest r = {
        .db = db, .base_url = "http://localhost/fhir", .default_count = 20, .max_count = 100};
    put(&r, "Patient", "p1", "{\"resourceType\":\"Patient\",\"id\":\"p1\"}");
    assert_int_equal(compartment_rows(db, "p1"), 1); /* the patient itself */
    put(&r, "Observation", "o1",
        "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\",\"code\":{\"text\":"
        "\"x\"},\"subject\":{\"reference\":\"Patient/p1\"}}");
    assert_int_equal(compartment_rows(db, "p1"), 2);
    /* moved to another patient: out of p1's compartment, into p2's */
    put(&r, "Observation", "o1",
        "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\",\"code\":{\"text\":"
        "\"x\"},\"subject\":{\"reference\":\"Patient/p2\"}}");
    assert_int_equal(compartment_rows(db, "p1"), 1);
    assert_int_equal(compartment_rows(db, "p2"), 1);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&r, "Observation", "o1", NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
    assert_int_equal(compartment_rows(db, "p2"), 0);
    sv_db_close(db);
    tmpdb_remove(&file);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_matches_search_parameters),
        cmocka_unit_test(test_params_by_type),
        cmocka_unit_test(test_rows_cases),
        cmocka_unit_test(test_rows_follow_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
