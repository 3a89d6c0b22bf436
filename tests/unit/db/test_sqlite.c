/*
 * test_sqlite.c - the storage contract suite (contract.h) run against the SQLite
 * backend on temporary files, then what only SQLite promises: WAL with
 * synchronous=FULL, foreign keys, the busy timeout of a second writer, NUL bytes
 * in text, and the URI schemes sv_db_open understands.
 */
#include "contract.h"

#include <time.h>

#include "tmpdb.h"

static void sqlite_create(char *uri, size_t cap)
{
    tmpdb t;
    tmpdb_make(&t);
    snprintf(uri, cap, "%s", t.path);
}

static void sqlite_destroy(const char *uri)
{
    tmpdb t;
    snprintf(t.path, sizeof(t.path), "%s", uri);
    tmpdb_remove(&t);
}

static const db_contract_backend sqlite_contract = {"sqlite contract", sqlite_create,
                                                    sqlite_destroy};

/* ---- SQLite only ------------------------------------------------------------ */

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

static char *text_of(sv_db *db, const char *sql)
{
    sv_stmt *st = NULL;
    bool row = false;
    assert_int_equal(sv_db_stmt(db, sql, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_true(row);
    char *s = strdup(sv_stmt_column_text(st, 0, NULL));
    sv_stmt_reset(st);
    return s;
}

static const char SQL_JOURNAL_MODE[] = "PRAGMA journal_mode";
static const char SQL_SYNCHRONOUS[] = "PRAGMA synchronous";
static const char SQL_FOREIGN_KEYS[] = "PRAGMA foreign_keys";

static void test_backend_name(void **state)
{
    fixture *f = *state;
    assert_string_equal(sv_db_backend_name(f->db), "sqlite");
}

static void test_wal_and_synchronous_full(void **state)
{
    fixture *f = *state;
    char *mode = text_of(f->db, SQL_JOURNAL_MODE);
    assert_string_equal(mode, "wal");
    free(mode);
    assert_int_equal(tmpdb_int(f->db, SQL_SYNCHRONOUS), 2); /* FULL */
    assert_int_equal(tmpdb_int(f->db, SQL_FOREIGN_KEYS), 1);
}

static void test_synchronous_off_only_when_asked(void **state)
{
    fixture *f = *state;
    sv_db_options opt = {.busy_timeout_ms = 100, .synchronous_off = true};
    sv_db *fast = NULL;
    assert_int_equal(sv_db_open(f->file.path, &opt, &fast, NULL), SV_OK);
    assert_int_equal(tmpdb_int(fast, SQL_SYNCHRONOUS), 0);
    char *mode = text_of(fast, SQL_JOURNAL_MODE);
    assert_string_equal(mode, "wal");
    free(mode);
    sv_db_close(fast);
    /* NULL options: the defaults, durable */
    sv_db *plain = NULL;
    assert_int_equal(sv_db_open(f->file.path, NULL, &plain, NULL), SV_OK);
    assert_int_equal(tmpdb_int(plain, SQL_SYNCHRONOUS), 2);
    sv_db_close(plain);
}

static void test_foreign_keys_enforced(void **state)
{
    fixture *f = *state;
    assert_int_equal(sv_db_exec(f->db,
                                "CREATE TABLE p (id INTEGER PRIMARY KEY);"
                                "CREATE TABLE c (pid INTEGER REFERENCES p(id))",
                                NULL),
                     SV_OK);
    assert_int_equal(sv_db_exec(f->db, "INSERT INTO c VALUES (1)", NULL), SV_ERR_CONFLICT);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_second_writer_waits_then_busy(void **state)
{
    fixture *f = *state;
    assert_int_equal(sv_db_exec(f->db, "CREATE TABLE t (k INTEGER)", NULL), SV_OK);
    sv_db *second = tmpdb_open(&f->file, 100);
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(sv_db_exec(f->db, "INSERT INTO t VALUES (1)", NULL), SV_OK);

    sv_buf err = SV_BUF_INIT;
    int64_t t0 = now_ms();
    assert_int_equal(sv_db_begin(second, SV_TX_WRITE, &err), SV_ERR_BUSY);
    int64_t waited = now_ms() - t0;
    assert_true(err.len > 0);
    assert_false(sv_db_in_tx(second));
    /* it waited for the busy timeout (100 ms), not failing at once, nor for the default */
    assert_true(waited >= 50);
    assert_true(waited < 4000);

    /* readers are not blocked by the writer (WAL), and see the last commit */
    assert_int_equal(sv_db_begin(second, SV_TX_READ, NULL), SV_OK);
    assert_int_equal(tmpdb_int(second, "SELECT COUNT(*) FROM t"), 0);
    sv_db_rollback(second);

    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    assert_int_equal(sv_db_begin(second, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(tmpdb_int(second, "SELECT COUNT(*) FROM t"), 1);
    assert_int_equal(sv_db_commit(second, NULL), SV_OK);
    sv_db_close(second);
    sv_buf_release(&err);
}

static void test_text_with_nul_bytes(void **state)
{
    static const char SQL_ECHO_TEXT[] = "SELECT ?";
    fixture *f = *state;
    sv_stmt *st = NULL;
    bool row = false;
    assert_int_equal(sv_db_stmt(f->db, SQL_ECHO_TEXT, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_bind_textn(st, 1, "a\0b", 3), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    size_t len = 0;
    const char *s = sv_stmt_column_text(st, 0, &len);
    assert_int_equal(len, 3);
    assert_memory_equal(s, "a\0b", 3);
    sv_stmt_reset(st);
}

static void test_sqlite_scheme_prefix(void **state)
{
    fixture *f = *state;
    char uri[600];
    snprintf(uri, sizeof(uri), "sqlite:%s", f->file.path);
    sv_db *db = NULL;
    assert_int_equal(sv_db_open(uri, NULL, &db, NULL), SV_OK);
    assert_string_equal(sv_db_backend_name(db), "sqlite");
    assert_int_equal(sv_db_exec(db, "CREATE TABLE marker (x INTEGER)", NULL), SV_OK);
    sv_db_close(db);
    /* the same file as the plain path, not a file named "sqlite:..." */
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'marker'"),
                     1);
}

static void test_open_failure_reports(void **state)
{
    (void)state;
    sv_db *db = (sv_db *)&db;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_open("/nonexistent-dir-of-samverka/x.db", NULL, &db, &err);
    assert_int_equal(e, SV_ERR_IO);
    assert_ptr_equal(db, (sv_db *)&db);
    assert_true(err.len > 0);
    sv_buf_release(&err);
}

#define SQLITE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    static const struct CMUnitTest sqlite_only[] = {
        SQLITE_TEST(test_backend_name),
        SQLITE_TEST(test_wal_and_synchronous_full),
        SQLITE_TEST(test_synchronous_off_only_when_asked),
        SQLITE_TEST(test_foreign_keys_enforced),
        SQLITE_TEST(test_second_writer_waits_then_busy),
        SQLITE_TEST(test_text_with_nul_bytes),
        SQLITE_TEST(test_sqlite_scheme_prefix),
        cmocka_unit_test(test_open_failure_reports),
    };
    int failed = db_contract_run(&sqlite_contract);
    failed += cmocka_run_group_tests_name("sqlite only", sqlite_only, NULL, NULL);
    return failed;
}
