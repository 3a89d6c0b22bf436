/*
 * test_schema_postgres.c - store/schema on PostgreSQL (tests/unit/db/pgtest.h):
 * an empty database reaches the newest version with every table, a second run
 * changes nothing, a build without PostgreSQL text for a migration refuses to
 * start, and the audit log refuses UPDATE, DELETE and TRUNCATE.  Skipped (77)
 * without $SAMVERKA_TEST_PG.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/pgtest.h"
#include "store/schema.h"

typedef struct fixture {
    char uri[600];
    sv_db *db;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    pgtest_create(f->uri, sizeof(f->uri));
    f->db = pgtest_open(f->uri);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_db_close(f->db);
    pgtest_destroy(f->uri);
    free(f);
    return 0;
}

static int64_t int_of(sv_db *db, const char *sql, const char *arg)
{
    sv_stmt *st = NULL;
    bool row = false;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_stmt(db, sql, &st, &err);
    if (!e && arg)
        sv_stmt_bind_text(st, 1, arg);
    if (!e)
        e = sv_stmt_step(st, &row, &err);
    if (e || !row)
        fail_msg("'%s': %s", sql, err.ptr);
    int64_t v = sv_stmt_column_int64(st, 0);
    sv_stmt_reset(st);
    sv_buf_release(&err);
    return v;
}

static bool table_exists(sv_db *db, const char *name)
{
    static const char SQL[] = "SELECT COUNT(*) FROM information_schema.tables"
                              " WHERE table_schema = current_schema() AND table_name = ?";
    return int_of(db, SQL, name) == 1;
}

static const char *const tables[] = {
    "resource",   "resource_version", "idx_string",   "idx_token",         "idx_reference",
    "idx_date",   "idx_number",       "idx_quantity", "idx_uri",           "idx_composite",
    "audit",      "audit_head",       "auth_user",    "auth_session",      "auth_client",
    "auth_token", "auth_failure",     "auth_lock",    "schema_migrations",
};

static void test_migrate_empty_then_again(void **state)
{
    fixture *f = *state;
    int version = -1;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_schema_migrate(f->db, &version, &err), SV_OK);
    assert_int_equal(version, sv_schema_latest());
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++)
        if (!table_exists(f->db, tables[i]))
            fail_msg("table %s missing after migration", tables[i]);
    static const char SQL_COUNT[] = "SELECT COUNT(*) FROM schema_migrations";
    assert_int_equal(int_of(f->db, SQL_COUNT, NULL), sv_schema_latest());
    /* again, from another connection: nothing changes */
    sv_db *other = pgtest_open(f->uri);
    version = -1;
    assert_int_equal(sv_schema_migrate(other, &version, &err), SV_OK);
    assert_int_equal(version, sv_schema_latest());
    sv_db_close(other);
    assert_int_equal(int_of(f->db, SQL_COUNT, NULL), sv_schema_latest());
    sv_buf_release(&err);
}

static void test_missing_postgres_text_refused(void **state)
{
    static const sv_migration partial[] = {
        {1, "CREATE TABLE a (x INTEGER)", "CREATE TABLE a (x BIGINT)"},
        {2, "CREATE TABLE b (x INTEGER)", NULL},
    };
    const sv_migration_list list = {partial, 2};
    fixture *f = *state;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv__schema_migrate(f->db, &list, NULL, &err), SV_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.ptr, "migration 2 has no postgres text"));
    assert_false(table_exists(f->db, "a"));
    assert_false(sv_db_in_tx(f->db));
    sv_buf_release(&err);
}

static void test_audit_is_append_only(void **state)
{
    static const char *const refused[] = {"UPDATE audit SET outcome = 0", "DELETE FROM audit",
                                          "TRUNCATE audit"};
    fixture *f = *state;
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    assert_int_equal(sv_db_exec(f->db,
                                "INSERT INTO audit (seq, time, principal_kind, action, outcome,"
                                " prev_hash, hash) VALUES (1, 0, 'system', 'test', 200, 'a', 'b')",
                                NULL),
                     SV_OK);
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        sv_buf err = SV_BUF_INIT;
        assert_int_not_equal(sv_db_exec(f->db, refused[i], &err), SV_OK);
        assert_non_null(strstr(err.ptr, "append-only"));
        sv_buf_release(&err);
    }
    assert_int_equal(int_of(f->db, "SELECT COUNT(*) FROM audit", NULL), 1);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    if (!pgtest_admin_uri("store/test_schema_postgres"))
        return PGTEST_SKIP;
    const struct CMUnitTest tests[] = {
        T(test_migrate_empty_then_again),
        T(test_missing_postgres_text_refused),
        T(test_audit_is_append_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
