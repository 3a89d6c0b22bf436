/*
 * test_reindex.c - unit tests for fhir/reindex: on a database whose index rows
 * were all deleted, a reindex in small batches brings back exactly the rows the
 * writes had made (search and compartment rows, nothing for deleted resources),
 * searches find the resources again, progress is reported per batch, and the
 * versions are untouched.  Also: a stored resource that no longer parses stops
 * the run and is named.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "fhir/reindex.h"
#include "fhir/rest.h"
#include "fhir/search.h"
#include "store/schema.h"

static const char SQL_DROP_ROWS[] =
    "DELETE FROM idx_string; DELETE FROM idx_token; DELETE FROM idx_reference;"
    " DELETE FROM idx_date; DELETE FROM idx_number; DELETE FROM idx_quantity;"
    " DELETE FROM idx_uri; DELETE FROM idx_composite;";
static const char SQL_ROWS[] =
    "SELECT (SELECT COUNT(*) FROM idx_string) + (SELECT COUNT(*) FROM idx_token)"
    " + (SELECT COUNT(*) FROM idx_reference) + (SELECT COUNT(*) FROM idx_date)"
    " + (SELECT COUNT(*) FROM idx_number) + (SELECT COUNT(*) FROM idx_quantity)"
    " + (SELECT COUNT(*) FROM idx_uri) + (SELECT COUNT(*) FROM idx_composite)";
static const char SQL_COMPARTMENT_P1[] =
    "SELECT COUNT(*) FROM idx_reference WHERE param = '_compartment' AND target_id = 'p1'";
static const char SQL_BREAK_O2[] =
    "UPDATE resource_version SET json = '{broken' WHERE rid ="
    " (SELECT rid FROM resource WHERE type = 'Observation' AND id = 'o2')";

typedef struct fixture {
    tmpdb file;
    sv_db *db;
    sv_rest rest;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    tmpdb_make(&f->file);
    f->db = tmpdb_open(&f->file, 5000);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    sv_buf err = SV_BUF_INIT; /* as the server does at start: access state built */
    assert_int_equal(sv_fhir_access_build(f->db, &err), SV_OK);
    sv_buf_release(&err);
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
    free(f);
    return 0;
}

static void put(fixture *f, const char *type, const char *id, const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    if (!j)
        fail_msg("bad json in the test: %s", jerr.text);
    sv_rest_result res;
    sv_rest_result_init(&res);
    if (sv_rest_update(&f->rest, type, id, j, NULL, &res))
        fail_msg("PUT %s/%s: %s", type, id,
                 res.outcome.len ? res.outcome.issues[0].diagnostics : "");
    sv_rest_result_clear(&res);
    json_decref(j);
}

static int64_t search_total(fixture *f, const char *type, const char *name, const char *value)
{
    sv_query_param p = {.name = name, .value = value};
    sv_query q;
    sv_query_view(&q, &p, 1);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_search_bundle(&f->rest, type, &q, false, &res), SV_OK);
    json_t *b = json_loadb(res.body.ptr, res.body.len, 0, NULL);
    assert_non_null(b);
    int64_t total = json_integer_value(json_object_get(b, "total"));
    json_decref(b);
    sv_rest_result_clear(&res);
    return total;
}

static int line_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The database's content with the rows of each table sorted: a reindex writes the
 * same rows, but in storage order rather than in the order of the writes. */
static char *content(sv_db *db)
{
    sv_buf fp = SV_BUF_INIT, out = SV_BUF_INIT;
    tmpdb_fingerprint(db, &fp);
    char **lines = calloc(fp.len + 1, sizeof(char *));
    size_t n = 0;
    for (char *line = strtok(fp.ptr, "\n"); line; line = strtok(NULL, "\n")) {
        if (line[0] == '[') {
            qsort(lines, n, sizeof(char *), line_cmp);
            for (size_t i = 0; i < n; i++)
                sv_buf_addf(&out, "%s\n", lines[i]);
            n = 0;
            sv_buf_addf(&out, "%s\n", line);
        } else {
            lines[n++] = line;
        }
    }
    qsort(lines, n, sizeof(char *), line_cmp);
    for (size_t i = 0; i < n; i++)
        sv_buf_addf(&out, "%s\n", lines[i]);
    free(lines);
    sv_buf_release(&fp);
    return sv_buf_detach(&out, NULL);
}

typedef struct progress_log {
    int64_t done[16], total[16];
    size_t calls;
} progress_log;

static void on_progress(void *ctx, int64_t done, int64_t total)
{
    progress_log *p = ctx;
    assert_true(p->calls < 16);
    p->done[p->calls] = done;
    p->total[p->calls] = total;
    p->calls++;
}

#define OBS(id, patient, code, value)                                                              \
    "{\"resourceType\":\"Observation\",\"id\":\"" id "\",\"status\":\"final\",\"code\":{"          \
    "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"" code "\"}]},\"subject\":{"          \
    "\"reference\":\"Patient/" patient "\"},\"effectiveDateTime\":\"2024-05-01\","                 \
    "\"valueQuantity\":{\"value\":" value ",\"system\":\"http://unitsofmeasure.org\","             \
    "\"code\":\"kg\"}}"

static void load(fixture *f)
{
    put(f, "Patient", "p1",
        "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Ærø\"}],"
        "\"birthDate\":\"1950-02-03\",\"identifier\":[{\"system\":\"urn:oid:1.2.208.176.1.2\","
        "\"value\":\"0302501234\"}]}");
    put(f, "Patient", "p2", "{\"resourceType\":\"Patient\",\"id\":\"p2\"}");
    put(f, "Observation", "o1", OBS("o1", "p1", "29463-7", "71.5"));
    put(f, "Observation", "o2", OBS("o2", "p1", "29463-7", "72"));
    put(f, "Observation", "o3", OBS("o3", "p2", "8302-2", "180"));
    /* updated: only the current version's rows count */
    put(f, "Patient", "p2",
        "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"name\":[{\"family\":\"Lund\"}]}");
    /* deleted: no rows */
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Observation", "o3", NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
}

static void test_rebuilds_deleted_rows(void **state)
{
    fixture *f = *state;
    load(f);
    int64_t rows = tmpdb_int(f->db, SQL_ROWS);
    assert_true(rows > 20);
    assert_int_equal(tmpdb_int(f->db, SQL_COMPARTMENT_P1), 3);
    assert_int_equal(search_total(f, "Patient", "family", "aero"), 1);
    char *before = content(f->db);

    assert_int_equal(sv_db_exec(f->db, SQL_DROP_ROWS, NULL), SV_OK);
    assert_int_equal(tmpdb_int(f->db, SQL_ROWS), 0);
    assert_int_equal(search_total(f, "Patient", "family", "aero"), 0);
    assert_int_equal(search_total(f, "Observation", "code", "http://loinc.org|29463-7"), 0);

    progress_log log = {0};
    int64_t done = 0;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_fhir_reindex(f->db, 2, on_progress, &log, &done, &err), SV_OK);
    sv_buf_release(&err);
    assert_false(sv_db_in_tx(f->db));
    /* four current resources (o3 is deleted), two per transaction */
    assert_int_equal(done, 4);
    assert_int_equal(log.calls, 2);
    assert_int_equal(log.done[0], 2);
    assert_int_equal(log.done[1], 4);
    assert_int_equal(log.total[0], 4);

    char *after = content(f->db);
    assert_string_equal(after, before); /* the same rows, versions and audit as before */
    assert_int_equal(tmpdb_int(f->db, SQL_COMPARTMENT_P1), 3);
    assert_int_equal(search_total(f, "Patient", "family", "aero"), 1);
    assert_int_equal(search_total(f, "Patient", "family", "lund"), 1);
    assert_int_equal(search_total(f, "Observation", "code", "http://loinc.org|29463-7"), 2);
    assert_int_equal(search_total(f, "Observation", "value-quantity", "gt71"), 2);
    assert_int_equal(search_total(f, "Observation", "subject", "Patient/p2"), 0);
    free(before);
    free(after);

    /* again: nothing changes */
    assert_int_equal(sv_fhir_reindex(f->db, 0, NULL, NULL, &done, NULL), SV_OK);
    assert_int_equal(done, 4);
    assert_int_equal(tmpdb_int(f->db, SQL_ROWS), rows);
}

static void test_empty_database(void **state)
{
    fixture *f = *state;
    progress_log log = {0};
    int64_t done = -1;
    assert_int_equal(sv_fhir_reindex(f->db, 10, on_progress, &log, &done, NULL), SV_OK);
    assert_int_equal(done, 0);
    assert_int_equal(log.calls, 0);
}

/* A broken stored resource stops the run; the batch before it stays committed. */
static void test_unreadable_resource_is_named(void **state)
{
    fixture *f = *state;
    load(f);
    assert_int_equal(sv_db_exec(f->db, SQL_DROP_ROWS, NULL), SV_OK);
    assert_int_equal(sv_db_exec(f->db, SQL_BREAK_O2, NULL), SV_OK);
    int64_t done = 0;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_fhir_reindex(f->db, 2, NULL, NULL, &done, &err), SV_ERR_INTERNAL);
    assert_non_null(strstr(err.ptr, "Observation/o2"));
    sv_buf_release(&err);
    assert_false(sv_db_in_tx(f->db));
    assert_int_equal(done, 2); /* p1 and p2 (rid order), o1 and o2's batch rolled back */
    assert_int_equal(search_total(f, "Patient", "family", "aero"), 1);
    assert_int_equal(search_total(f, "Observation", "code", "http://loinc.org|29463-7"), 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_rebuilds_deleted_rows),
        T(test_empty_database),
        T(test_unreadable_resource_is_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
