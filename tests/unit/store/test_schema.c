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

/* Migration 15 on a database as migration 14 left it: resource_version,
 * medcom_event and stay_event with AUTOINCREMENT (a gap in seq, as a rolled-back
 * insert leaves none on SQLite but an import may), medcom_link with a rowid.  Every
 * row stays with its seq and the next seq follows the greatest; sqlite_sequence no
 * longer counts them. */
static void test_migration_15_keeps_every_row(void **state)
{
    fixture *f = *state;
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    static const char SQL_AS_14[] =
        "DROP TABLE resource_version; DROP TABLE medcom_event; DROP TABLE stay_event;"
        "DROP TABLE medcom_link;"
        "CREATE TABLE resource_version (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  rid INTEGER NOT NULL REFERENCES resource(rid), version INTEGER NOT NULL,"
        "  last_updated INTEGER NOT NULL, method TEXT NOT NULL,"
        "  deleted INTEGER NOT NULL DEFAULT 0, json TEXT, UNIQUE (rid, version));"
        "CREATE TABLE medcom_link (key TEXT PRIMARY KEY, type TEXT NOT NULL, id TEXT NOT NULL);"
        "CREATE TABLE medcom_event (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
        "  time INTEGER NOT NULL, kind TEXT NOT NULL, activity TEXT, message_id TEXT NOT NULL,"
        "  patient_id TEXT, encounter_id TEXT, communication_id TEXT,"
        "  handled INTEGER NOT NULL DEFAULT 0);"
        "CREATE INDEX medcom_event_pending ON medcom_event(handled, seq);"
        "CREATE TABLE stay_event (seq INTEGER PRIMARY KEY AUTOINCREMENT, time INTEGER NOT NULL,"
        "  at INTEGER NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL,"
        "  medcom_seq INTEGER NOT NULL DEFAULT 0, patient_id TEXT NOT NULL, encounter_id TEXT,"
        "  encounter_version INTEGER NOT NULL DEFAULT 0, ruleset TEXT, provider TEXT,"
        "  municipality TEXT, municipality_from TEXT, gp TEXT, coordinator TEXT, told TEXT,"
        "  rules TEXT, detail TEXT);"
        "CREATE INDEX stay_event_encounter ON stay_event(encounter_id, kind);"
        "CREATE INDEX stay_event_patient ON stay_event(patient_id, seq);"
        "INSERT INTO resource (rid, type, id, version, last_updated) VALUES"
        "  (1, 'Patient', 'p', 2, 20), (2, 'Encounter', 'e', 1, 30);"
        "INSERT INTO resource_version (seq, rid, version, last_updated, method, json) VALUES"
        "  (1, 1, 1, 10, 'PUT', '{\"v\":1}'), (2, 1, 2, 20, 'PUT', '{\"v\":2}'),"
        "  (7, 2, 1, 30, 'POST', NULL);"
        "INSERT INTO medcom_event (seq, time, kind, message_id, encounter_id, handled) VALUES"
        "  (3, 5, 'encounter.admitted', 'm1', 'e', 1), (9, 6, 'encounter.discharged', 'm2', 'e',"
        "  0);"
        "INSERT INTO stay_event (seq, time, at, kind, source, medcom_seq, patient_id,"
        "  encounter_id, ruleset) VALUES (4, 5, 5, 'encounter.admitted', 'medcom', 3, 'p', 'e',"
        "  'dk');"
        "INSERT INTO medcom_link (key, type, id) VALUES ('stay:s|1', 'Encounter', 'e'),"
        "  ('org:o|1', 'Organization', 'o');"
        "DELETE FROM schema_migrations WHERE version = 15;";
    assert_int_equal(sv_db_exec(f->db, SQL_AS_14, NULL), SV_OK);
    sv_buf before = SV_BUF_INIT, after = SV_BUF_INIT;
    static const char SQL_ROWS[] =
        "SELECT group_concat(r, ';') FROM (SELECT seq || ',' || rid || ',' || version || ',' ||"
        "  last_updated || ',' || method || ',' || deleted || ',' || quote(json) AS r"
        "  FROM resource_version ORDER BY seq) UNION ALL"
        " SELECT group_concat(r, ';') FROM (SELECT seq || ',' || kind || ',' || handled AS r"
        "  FROM medcom_event ORDER BY seq) UNION ALL"
        " SELECT group_concat(r, ';') FROM (SELECT seq || ',' || medcom_seq || ',' || ruleset"
        "  AS r FROM stay_event ORDER BY seq) UNION ALL"
        " SELECT group_concat(r, ';') FROM (SELECT key || ',' || type || ',' || id AS r"
        "  FROM medcom_link ORDER BY key)";
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM sqlite_sequence WHERE name IN"
                                      " ('resource_version', 'medcom_event', 'stay_event')"),
                     3);
    tmpdb_rows(f->db, SQL_ROWS, 1, &before);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    tmpdb_rows(f->db, SQL_ROWS, 1, &after);
    assert_string_equal(before.ptr, after.ptr);
    sv_buf_release(&before);
    sv_buf_release(&after);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM sqlite_master WHERE name IN"
                                      " ('resource_version', 'medcom_event', 'stay_event')"
                                      " AND sql LIKE '%AUTOINCREMENT%'"),
                     0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM sqlite_sequence WHERE name IN"
                                      " ('resource_version', 'medcom_event', 'stay_event')"),
                     0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM sqlite_master WHERE"
                                      " name = 'medcom_link' AND sql LIKE '%WITHOUT ROWID%'"),
                     1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM sqlite_master WHERE name LIKE"
                                      " '%!_old' ESCAPE '!'"),
                     0);
    /* the indexes of the rebuilt tables are there again, and the next seq follows */
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
                                      " AND name IN ('medcom_event_pending',"
                                      " 'stay_event_encounter', 'stay_event_patient',"
                                      " 'sqlite_autoindex_resource_version_1')"),
                     4);
    assert_int_equal(sv_db_exec(f->db,
                                "INSERT INTO resource_version (rid, version, last_updated, method)"
                                "  VALUES (2, 2, 40, 'PUT');"
                                "INSERT INTO medcom_event (time, kind, message_id) VALUES"
                                "  (7, 'encounter.admitted', 'm3');"
                                "INSERT INTO stay_event (time, at, kind, source, patient_id)"
                                "  VALUES (7, 7, 'encounter.admitted', 'rest', 'p');",
                                NULL),
                     SV_OK);
    assert_int_equal(tmpdb_int(f->db, "SELECT MAX(seq) FROM resource_version"), 8);
    assert_int_equal(tmpdb_int(f->db, "SELECT MAX(seq) FROM medcom_event"), 10);
    assert_int_equal(tmpdb_int(f->db, "SELECT MAX(seq) FROM stay_event"), 5);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM pragma_integrity_check"
                                      " WHERE integrity_check <> 'ok'"),
                     0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_migrate_empty_database),       T(test_migrate_again_is_a_no_op),
        T(test_newer_database_refused),       T(test_failed_migration_leaves_whole_version),
        T(test_missing_backend_text_refused), T(test_migration_15_keeps_every_row),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
