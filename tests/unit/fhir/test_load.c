/*
 * test_load.c - unit tests for fhir/load: NDJSON and collection Bundles are
 * written in batches, an invalid or malformed resource is reported by its line
 * (or entry) and does not cost the others of its batch, a failure of the batch
 * itself is reported and counted, and transaction Bundles stay all-or-nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../db/tmpdb.h"
#include "fhir/load.h"
#include "store/schema.h"

typedef struct fixture {
    tmpdb file;
    tmpdb input;
    sv_db *db;
    sv_rest rest;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->file);
    tmpdb_make(&f->input);
    f->db = tmpdb_open(&f->file, 5000);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    f->rest = (sv_rest){
        .db = f->db, .base_url = "http://localhost/fhir", .default_count = 20, .max_count = 100};
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_db_close(f->db);
    tmpdb_remove(&f->file);
    unlink(f->input.path);
    free(f);
    return 0;
}

static void write_input(fixture *f, const char *text)
{
    FILE *out = fopen(f->input.path, "wb");
    assert_non_null(out);
    assert_int_equal(fwrite(text, 1, strlen(text), out), strlen(text));
    assert_int_equal(fclose(out), 0);
}

static bool stored(fixture *f, const char *type, const char *id)
{
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_rest_read(&f->rest, type, id, &rr);
    sv_rest_result_clear(&rr);
    return e == SV_OK;
}

static size_t count_stored(fixture *f, const char *const *ids, size_t n)
{
    size_t found = 0;
    for (size_t i = 0; i < n; i++)
        found += stored(f, "Patient", ids[i]);
    return found;
}

#define PATIENT(id) "{\"resourceType\":\"Patient\",\"id\":\"" id "\",\"gender\":\"female\"}\n"

/* Eight lines, batches of three: line 3 fails validation, line 5 is not JSON. */
#define BAD_GENDER "{\"resourceType\":\"Patient\",\"id\":\"bad\",\"gender\":\"sometimes\"}\n"
#define NOT_JSON "{\"resourceType\":\"Patient\",\n"
static const char NDJSON[] = PATIENT("a") PATIENT("b") BAD_GENDER PATIENT("c") NOT_JSON PATIENT("d")
    PATIENT("e") PATIENT("f");
static const char *const NDJSON_IDS[] = {"a", "b", "c", "d", "e", "f"};
static const size_t NDJSON_LINES[] = {1, 2, 4, 6, 7, 8};

/* True when the report names line n: "PATH line n: ..." or, for a lost batch,
 * "PATH line a to PATH line b: ..." with a <= n <= b. */
static bool reported(const char *report, size_t n)
{
    for (const char *p = report; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
        size_t a = 0, z = 0;
        if (sscanf(p, "%*s line %zu to %*s line %zu:", &a, &z) == 2) {
            if (a <= n && n <= z)
                return true;
        } else if (sscanf(p, "%*s line %zu:", &a) == 1 && a == n) {
            return true;
        }
    }
    return false;
}

static void test_ndjson_keeps_the_batch_of_a_failing_line(void **state)
{
    fixture *f = *state;
    write_input(f, NDJSON);
    sv_load_stats st = {0};
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_load_file_batched(&f->rest, f->input.path, 3, &st, &err);
    assert_int_not_equal(e, SV_OK); /* the first error is returned */
    assert_int_equal(st.resources, 6);
    assert_int_equal(st.failed, 2);
    assert_non_null(strstr(err.ptr, " line 3: "));
    assert_non_null(strstr(err.ptr, " line 5: "));
    assert_null(strstr(err.ptr, " line 4: "));
    assert_false(sv_db_in_tx(f->db));
    assert_int_equal(count_stored(f, NDJSON_IDS, 6), 6);
    assert_false(stored(f, "Patient", "bad"));
    sv_buf_release(&err);
}

static void test_ndjson_loads_again_as_updates(void **state)
{
    fixture *f = *state;
    write_input(f, PATIENT("a") PATIENT("b") PATIENT("a"));
    for (int round = 0; round < 2; round++) {
        sv_load_stats st = {0};
        sv_buf err = SV_BUF_INIT;
        assert_int_equal(sv_load_file(&f->rest, f->input.path, &st, &err), SV_OK);
        assert_int_equal(st.resources, 3);
        assert_int_equal(st.failed, 0);
        assert_int_equal(err.len, 0);
        sv_buf_release(&err);
    }
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    assert_int_equal(sv_rest_read(&f->rest, "Patient", "a", &rr), SV_OK);
    assert_int_equal(rr.version, 4); /* twice per load, in the same batch */
    sv_rest_result_clear(&rr);
}

static void test_collection_bundle_keeps_the_valid_entries(void **state)
{
    fixture *f = *state;
    write_input(f, "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":["
                   "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"a\"}},"
                   "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"x\",\"gender\":1}},"
                   "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"b\"}}]}");
    sv_load_stats st = {0};
    sv_buf err = SV_BUF_INIT;
    assert_int_not_equal(sv_load_file_batched(&f->rest, f->input.path, 2, &st, &err), SV_OK);
    assert_int_equal(st.resources, 2);
    assert_int_equal(st.failed, 1);
    assert_non_null(strstr(err.ptr, " entry 1: "));
    assert_true(stored(f, "Patient", "a"));
    assert_true(stored(f, "Patient", "b"));
    assert_false(stored(f, "Patient", "x"));
    sv_buf_release(&err);
}

static void test_transaction_bundle_stays_all_or_nothing(void **state)
{
    fixture *f = *state;
    write_input(f, "{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
                   "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"a\"},"
                   "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/a\"}},"
                   "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"x\",\"gender\":1},"
                   "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/x\"}}]}");
    sv_load_stats st = {0};
    sv_buf err = SV_BUF_INIT;
    assert_int_not_equal(sv_load_file(&f->rest, f->input.path, &st, &err), SV_OK);
    assert_int_equal(st.resources, 0);
    assert_int_equal(st.failed, 1);
    assert_false(stored(f, "Patient", "a"));
    sv_buf_release(&err);
}

/*
 * Torture: a storage fault at every possible point of the load.  Whatever fails,
 * the counts must say what is in the database: every resource counted as
 * written is readable, every other one is counted as failed and named in the
 * report (by its line, or in the range of a lost batch), and no transaction is
 * left open.
 */
static void test_storage_faults_are_counted_and_reported(void **state)
{
    fixture *f = *state;
    write_input(f, NDJSON);
    for (int nth = 1; nth < 10000; nth++) {
        tmpdb_remove(&f->file);
        sv_db_close(f->db);
        tmpdb_make(&f->file);
        f->db = tmpdb_open(&f->file, 5000);
        assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
        f->rest.db = f->db;
        sv_db_fault_inject(f->db, nth, SV_ERR_IO);
        sv_load_stats st = {0};
        sv_buf err = SV_BUF_INIT;
        sv_load_file_batched(&f->rest, f->input.path, 3, &st, &err);
        bool fired = !sv_db_fault_pending(f->db);
        sv_db_fault_inject(f->db, 0, SV_OK);
        assert_false(sv_db_in_tx(f->db));
        size_t found = count_stored(f, NDJSON_IDS, 6);
        if (found != st.resources || st.resources + st.failed != 8)
            fail_msg("fault at call %d: %zu stored, counted %zu written and %zu failed:\n%s", nth,
                     found, st.resources, st.failed, err.ptr);
        for (size_t i = 0; i < 6; i++)
            if (!stored(f, "Patient", NDJSON_IDS[i]) && !reported(err.ptr, NDJSON_LINES[i]))
                fail_msg("fault at call %d: line %zu is missing without a report:\n%s", nth,
                         NDJSON_LINES[i], err.ptr);
        sv_buf_release(&err);
        if (!fired) {
            assert_int_equal(found, 6);
            return; /* past the last call: every point has been tried */
        }
    }
    fail_msg("the load never finished without reaching the fault");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ndjson_keeps_the_batch_of_a_failing_line, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_ndjson_loads_again_as_updates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_collection_bundle_keeps_the_valid_entries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_transaction_bundle_stays_all_or_nothing, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_storage_faults_are_counted_and_reported, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
