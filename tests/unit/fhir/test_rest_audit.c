/*
 * test_rest_audit.c - writes and their audit records commit together: create,
 * update, patch and delete each append one record (action, resource, version,
 * citizen from the compartment, status, actor) in the write's transaction; a
 * transaction Bundle that fails leaves neither resources nor records; and a
 * storage failure at any backend call (fault injection) leaves a write and its
 * record both or neither, with the chain whole.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "fhir/bundle.h"
#include "fhir/rest.h"
#include "store/audit.h"
#include "store/schema.h"

typedef struct fixture {
    tmpdb file;
    sv_db *db;
    sv_rest rest;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->file);
    f->db = tmpdb_open(&f->file, 5000);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    f->rest = (sv_rest){.db = f->db,
                        .actor = &sv_audit_anonymous,
                        .base_url = "http://localhost/fhir",
                        .default_count = 20,
                        .max_count = 100};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_db_close(f->db);
    tmpdb_remove(&f->file);
    free(f);
    return 0;
}

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, 0, &err);
    if (!j)
        fail_msg("bad test json: %s", err.text);
    return j;
}

static void assert_chain(sv_db *db, int64_t records)
{
    sv_audit_report rep;
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_audit_verify(db, &rep, &err), "verify", &err);
    sv_buf_release(&err);
    assert_int_equal(rep.problem, SV_AUDIT_OK);
    assert_int_equal(rep.records, records);
}

/* The record with seq as "action type/id/version citizen outcome kind". */
static void record_text(sv_db *db, int64_t seq, char *out, size_t cap)
{
    static const char SQL[] =
        "SELECT action || ' ' || resource_type || '/' || resource_id || '/' ||"
        " resource_version || ' ' || COALESCE(citizen, '-') || ' ' || outcome || ' ' ||"
        " principal_kind FROM audit WHERE seq = ?";
    sv_stmt *st = NULL;
    sv_buf err = SV_BUF_INIT;
    bool row = false;
    tmpdb_check(sv_db_prepare(db, SQL, &st, &err), "prepare", &err);
    sv_stmt_bind_int64(st, 1, seq);
    tmpdb_check(sv_stmt_step(st, &row, &err), "step", &err);
    assert_true(row);
    size_t n;
    snprintf(out, cap, "%s", sv_stmt_column_text(st, 0, &n));
    sv_stmt_finalize(st);
    sv_buf_release(&err);
}

static void test_each_write_appends_its_record(void **state)
{
    fixture *f = *state;
    sv_rest_result res;
    sv_rest_result_init(&res);
    json_t *p = parse("{\"resourceType\":\"Patient\",\"id\":\"lars\"}");
    assert_int_equal(sv_rest_update(&f->rest, "Patient", "lars", p, NULL, &res), SV_OK);
    json_decref(p);
    sv_rest_result_clear(&res);
    json_t *o = parse("{\"resourceType\":\"Observation\",\"status\":\"final\",\"code\":{\"text\":"
                      "\"x\"},\"subject\":{\"reference\":\"Patient/lars\"}}");
    assert_int_equal(sv_rest_create(&f->rest, "Observation", o, NULL, &res), SV_OK);
    json_decref(o);
    char oid[65];
    snprintf(oid, sizeof(oid), "%s", res.id);
    sv_rest_result_clear(&res);
    json_t *patch = parse("[{\"op\":\"add\",\"path\":\"/active\",\"value\":true}]");
    assert_int_equal(sv_rest_patch(&f->rest, "Patient", "lars", patch, NULL, &res), SV_OK);
    json_decref(patch);
    sv_rest_result_clear(&res);
    f->rest.actor = NULL; /* the process itself */
    assert_int_equal(sv_rest_delete(&f->rest, "Observation", oid, NULL, &res), SV_OK);
    sv_rest_result_clear(&res);

    char got[256], want[256];
    record_text(f->db, 1, got, sizeof(got));
    assert_string_equal(got, "update Patient/lars/1 lars 201 anonymous"); /* update-as-create */
    record_text(f->db, 2, got, sizeof(got));
    snprintf(want, sizeof(want), "create Observation/%s/1 lars 201 anonymous", oid);
    assert_string_equal(got, want);
    record_text(f->db, 3, got, sizeof(got));
    assert_string_equal(got, "patch Patient/lars/2 lars 200 anonymous");
    record_text(f->db, 4, got, sizeof(got));
    snprintf(want, sizeof(want), "delete Observation/%s/2 lars 204 system", oid);
    assert_string_equal(got, want);
    assert_chain(f->db, 4);
}

static void test_failed_transaction_leaves_no_records(void **state)
{
    fixture *f = *state;
    json_t *b = parse(
        "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
        "{\"resource\":{\"resourceType\":\"Patient\"},\"request\":{\"method\":\"POST\",\"url\":"
        "\"Patient\"}},"
        "{\"request\":{\"method\":\"DELETE\",\"url\":\"Patient\"}},"
        "{\"resource\":{\"resourceType\":\"Patient\",\"gender\":\"sometimes\"},\"request\":{"
        "\"method\":\"POST\",\"url\":\"Patient\"}}]}");
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_not_equal(sv_bundle_process(&f->rest, b, &res), SV_OK);
    sv_rest_result_clear(&res);
    json_decref(b);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource_version"), 0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit"), 0);
    assert_chain(f->db, 0);

    b = parse("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
              "{\"resource\":{\"resourceType\":\"Patient\"},\"request\":{\"method\":\"POST\","
              "\"url\":\"Patient\"}},"
              "{\"resource\":{\"resourceType\":\"Patient\"},\"request\":{\"method\":\"POST\","
              "\"url\":\"Patient\"}}]}");
    sv_rest_result_init(&res);
    assert_int_equal(sv_bundle_process(&f->rest, b, &res), SV_OK);
    sv_rest_result_clear(&res);
    json_decref(b);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit WHERE action = 'create'"), 2);
    assert_chain(f->db, 2);
}

static void test_fault_leaves_write_and_record_together(void **state)
{
    fixture *f = *state;
    int failed = 0;
    for (int nth = 1; nth <= 40; nth++) {
        json_t *p = parse("{\"resourceType\":\"Patient\",\"gender\":\"female\"}");
        sv_rest_result res;
        sv_rest_result_init(&res);
        sv_db_fault_inject(f->db, nth, SV_ERR_IO);
        sv_err e = sv_rest_create(&f->rest, "Patient", p, NULL, &res);
        bool fired = !sv_db_fault_pending(f->db);
        sv_db_fault_inject(f->db, 0, SV_OK);
        json_decref(p);
        sv_rest_result_clear(&res);
        if (fired)
            assert_int_not_equal(e, SV_OK);
        failed += e != SV_OK;
        /* every committed version has exactly its record, and nothing else */
        assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource_version"),
                         tmpdb_int(f->db, "SELECT COUNT(*) FROM audit"));
        if (!fired)
            break;
    }
    /* begin, the version's reads and writes, then the audit's head read, insert and
     * head update, and the commit: the last four faults hit the audit's calls */
    assert_true(failed >= 8);
    assert_chain(f->db, tmpdb_int(f->db, "SELECT COUNT(*) FROM audit"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_write_appends_its_record, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_transaction_leaves_no_records, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fault_leaves_write_and_record_together, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
