/*
 * test_schema.c - unit tests for store/schema: migrations bring an empty
 * database to the newest version once; re-running (from the same or another
 * connection) changes nothing; schema_migrations records each version; a
 * database newer than the build is refused; and a migration that fails at any
 * backend call (fault injection) leaves the database at a whole version, from
 * which the next run completes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "store/schema.h"

typedef struct fixture {
    tmpdb file;
    sv_db *db;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->file);
    f->db = tmpdb_open(&f->file, 5000);
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

static const char *const tables_of_v1[] = {
    "resource", "resource_version", "idx_string",   "idx_token", "idx_reference",
    "idx_date", "idx_number",       "idx_quantity", "idx_uri",
};

static bool table_exists(sv_db *db, const char *name)
{
    static const char SQL[] =
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = ?";
    sv_stmt *st = NULL;
    bool row = false;
    assert_int_equal(sv_db_stmt(db, SQL, &st, NULL), SV_OK);
    sv_stmt_bind_text(st, 1, name);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    bool found = sv_stmt_column_int64(st, 0) == 1;
    sv_stmt_reset(st);
    return found;
}

static const char SQL_VERSIONS[] = "SELECT COUNT(*) FROM schema_migrations";
static const char SQL_MAX[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

static void test_migrate_empty_database(void **state)
{
    fixture *f = *state;
    assert_true(sv_schema_latest() >= 1);
    int version = -1;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_schema_migrate(f->db, &version, &err), SV_OK);
    assert_int_equal(version, sv_schema_latest());
    assert_int_equal(err.len, 0);
    for (size_t i = 0; i < sizeof(tables_of_v1) / sizeof(tables_of_v1[0]); i++)
        if (!table_exists(f->db, tables_of_v1[i]))
            fail_msg("table %s missing after migration", tables_of_v1[i]);
    /* one row per version, 1..latest (contiguous), each with a time */
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), sv_schema_latest());
    assert_int_equal(sv_schema_count(), sv_schema_latest());
    assert_int_equal(tmpdb_int(f->db, SQL_MAX), sv_schema_latest());
    assert_int_equal(tmpdb_int(f->db, "SELECT MIN(version) FROM schema_migrations"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM schema_migrations"
                                      " WHERE applied_at IS NULL OR applied_at < 1600000000"),
                     0);
    assert_false(sv_db_in_tx(f->db));
    sv_buf_release(&err);
}

static void test_migrate_again_is_a_no_op(void **state)
{
    fixture *f = *state;
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK); /* ret_version may be NULL */
    /* data and the record survive a second run, here and from another connection */
    assert_int_equal(sv_db_exec(f->db,
                                "INSERT INTO resource (type, id, version, last_updated)"
                                " VALUES ('Patient', 'p1', 1, 0)",
                                NULL),
                     SV_OK);
    assert_int_equal(
        sv_db_exec(f->db, "UPDATE schema_migrations SET applied_at = 1700000000", NULL), SV_OK);
    sv_buf before = SV_BUF_INIT, after = SV_BUF_INIT;
    tmpdb_fingerprint(f->db, &before);

    int version = -1;
    assert_int_equal(sv_schema_migrate(f->db, &version, NULL), SV_OK);
    assert_int_equal(version, sv_schema_latest());
    sv_db *other = tmpdb_open(&f->file, 5000);
    version = -1;
    assert_int_equal(sv_schema_migrate(other, &version, NULL), SV_OK);
    assert_int_equal(version, sv_schema_latest());
    sv_db_close(other);

    tmpdb_fingerprint(f->db, &after);
    assert_string_equal(before.ptr, after.ptr);
    sv_buf_release(&before);
    sv_buf_release(&after);
}

static void test_newer_database_refused(void **state)
{
    fixture *f = *state;
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    assert_int_equal(sv_db_exec(f->db,
                                "INSERT INTO schema_migrations (version, applied_at)"
                                " VALUES (1000000, 1700000000)",
                                NULL),
                     SV_OK);
    int version = -1;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_schema_migrate(f->db, &version, &err);
    assert_int_not_equal(e, SV_OK);
    assert_int_equal(e, SV_ERR_CONFLICT);
    assert_int_equal(version, -1); /* untouched on failure */
    assert_non_null(strstr(err.ptr, "1000000"));
    assert_false(sv_db_in_tx(f->db));
    sv_buf_release(&err);
}

/* Every prefix of the migration's backend calls fails once; after each failure
 * the database is at a whole version (the tables of v1 exist exactly when
 * version 1 is recorded), and a plain re-run completes it. */
static void test_failed_migration_leaves_whole_version(void **state)
{
    fixture *f = *state;
    int failures = 0;
    for (int nth = 1;; nth++) {
        tmpdb file;
        tmpdb_make(&file);
        sv_db *db = tmpdb_open(&file, 5000);
        sv_db_fault_inject(db, nth, SV_ERR_IO);
        int version = -1;
        sv_buf err = SV_BUF_INIT;
        sv_err e = sv_schema_migrate(db, &version, &err);
        bool fired = !sv_db_fault_pending(db);
        sv_db_fault_inject(db, 0, SV_OK);
        if (!e) {
            /* the fault fell past the last call: nothing was swallowed */
            assert_false(fired);
            assert_int_equal(version, sv_schema_latest());
            sv_db_close(db);
            tmpdb_remove(&file);
            break;
        }
        failures++;
        assert_true(fired);
        assert_int_equal(e, SV_ERR_IO);
        assert_int_equal(version, -1);
        assert_non_null(strstr(err.ptr, "injected fault"));
        assert_false(sv_db_in_tx(db));
        sv_db_close(db);

        /* look from a fresh connection, as after a crash */
        db = tmpdb_open(&file, 5000);
        int64_t have = table_exists(db, "schema_migrations") ? tmpdb_int(db, SQL_MAX) : 0;
        for (size_t t = 0; t < sizeof(tables_of_v1) / sizeof(tables_of_v1[0]); t++)
            if (table_exists(db, tables_of_v1[t]) != (have >= 1))
                fail_msg("fault at call %d: table %s %s but version is %lld", nth, tables_of_v1[t],
                         have >= 1 ? "missing" : "exists", (long long)have);
        assert_int_equal(sv_schema_migrate(db, &version, NULL), SV_OK);
        assert_int_equal(version, sv_schema_latest());
        sv_db_close(db);
        tmpdb_remove(&file);
        sv_buf_release(&err);
        assert_true(nth < 1000);
    }
    /* create table, begin, read version, migrate, prepare, record, commit at least */
    assert_true(failures >= 6);
    (void)f;
}

/* A build whose migration lacks this backend's text refuses to start, names the
 * migration, and applies nothing - not even the ones before it. */
static void test_missing_backend_text_refused(void **state)
{
    static const sv_migration partial[] = {
        {1, "CREATE TABLE a (x INTEGER)", "CREATE TABLE a (x BIGINT)"},
        {2, NULL, "CREATE TABLE b (x BIGINT)"},
    };
    const sv_migration_list list = {partial, 2};
    fixture *f = *state;
    int version = -1;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv__schema_migrate(f->db, &list, &version, &err), SV_ERR_UNSUPPORTED);
    assert_int_equal(version, -1);
    assert_non_null(strstr(err.ptr, "migration 2"));
    assert_non_null(strstr(err.ptr, "sqlite"));
    assert_false(table_exists(f->db, "a"));
    assert_false(table_exists(f->db, "schema_migrations"));
    assert_false(sv_db_in_tx(f->db));
    sv_buf_release(&err);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_migrate_empty_database),       T(test_migrate_again_is_a_no_op),
        T(test_newer_database_refused),       T(test_failed_migration_leaves_whole_version),
        T(test_missing_backend_text_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
