/*
 * test_postgres.c - the storage contract suite (contract.h) run against the
 * PostgreSQL backend, one fresh database per test on the cluster named by
 * $SAMVERKA_TEST_PG (pgtest.h), then what the PostgreSQL driver promises beyond
 * it: serialised write transactions with the busy timeout, claims (SV_TX_CLAIM)
 * that skip held rows before they wait for the write lock, a failed transaction
 * that cannot be committed, statements queued in a write transaction (pipeline
 * mode), NUL bytes refused, reconnection after the server drops
 * a connection, the URI schemes.  Skipped (exit 77)
 * when the variable is not set; tools/check.sh starts a cluster and sets it.
 */
#include "contract.h"

#include "pgtest.h"

static const db_contract_backend postgres_contract = {"postgres contract", pgtest_create,
                                                      pgtest_destroy};

/* ---- PostgreSQL only ---------------------------------------------------------- */

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

static sv_db *open_with_timeout(const fixture *f, int busy_timeout_ms)
{
    sv_db_options opt = {.busy_timeout_ms = busy_timeout_ms};
    sv_db *db = NULL;
    assert_int_equal(sv_db_open(f->uri, &opt, &db, NULL), SV_OK);
    return db;
}

static void test_backend_name_and_dialect(void **state)
{
    fixture *f = *state;
    assert_string_equal(sv_db_backend_name(f->db), "postgres");
    assert_int_equal(sv_db_dialect_of(f->db), SV_DIALECT_POSTGRES);
    /* postgresql:// is the same driver */
    char uri[620];
    snprintf(uri, sizeof(uri), "postgresql://%s", strstr(f->uri, "://") + 3);
    sv_db *db = pgtest_open(uri);
    assert_string_equal(sv_db_backend_name(db), "postgres");
    sv_db_close(db);
}

/* Write transactions queue on one lock, as SQLite's writers do: a second writer
 * waits for the busy timeout, then gets SV_ERR_BUSY and has no transaction. */
static void test_second_writer_waits_then_busy(void **state)
{
    fixture *f = *state;
    sv_db *other = open_with_timeout(f, 100);
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_begin(other, SV_TX_WRITE, &err), SV_ERR_BUSY);
    assert_non_null(strstr(err.ptr, "busy timeout"));
    assert_false(sv_db_in_tx(other));
    /* readers are not held up by a writer */
    assert_int_equal(sv_db_begin(other, SV_TX_READ, NULL), SV_OK);
    sv_db_rollback(other);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    assert_int_equal(sv_db_begin(other, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(sv_db_commit(other, NULL), SV_OK);
    sv_db_close(other);
    sv_buf_release(&err);
}

/* SV_TX_CLAIM: the claim (FOR UPDATE SKIP LOCKED) comes before the write lock, so
 * a second claimer passes over the held row instead of waiting, a writer holding
 * the write lock meanwhile is not held up by it, and sv_db_write_lock then
 * serialises the claimer with the writers as SV_TX_WRITE does. */
static void test_claim_skips_locked_rows_before_the_write_lock(void **state)
{
    static const char SQL_T[] = "CREATE TABLE q (k BIGINT PRIMARY KEY, claimed BIGINT)";
    static const char SQL_FILL[] = "INSERT INTO q (k) VALUES (1), (2), (3)";
    static const char SQL_NEXT[] = "SELECT k FROM q WHERE claimed IS NULL ORDER BY k LIMIT 1"
                                   " FOR UPDATE SKIP LOCKED";
    static const char SQL_DROP[] = "DELETE FROM q WHERE k IN (SELECT k FROM q"
                                   " WHERE claimed IS NULL AND k <= 2 FOR UPDATE SKIP LOCKED)";
    static const char SQL_CLAIM[] = "UPDATE q SET claimed = 1 WHERE k = ?";
    fixture *f = *state;
    assert_int_equal(sv_db_exec(f->db, SQL_T, NULL), SV_OK);
    assert_int_equal(sv_db_exec(f->db, SQL_FILL, NULL), SV_OK);
    sv_db *writer = open_with_timeout(f, 200);
    sv_db *claimer = open_with_timeout(f, 200);
    sv_stmt *st = NULL;
    bool row = false;

    assert_int_equal(sv_db_begin(f->db, SV_TX_CLAIM, NULL), SV_OK);
    assert_int_equal(sv_db_stmt(f->db, SQL_NEXT, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_true(row);
    assert_int_equal(sv_stmt_column_int64(st, 0), 1);
    sv_stmt_reset(st);

    /* a writer gets the write lock at once and drops the unheld row 2 only */
    assert_int_equal(sv_db_begin(writer, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(sv_db_stmt(writer, SQL_DROP, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
    assert_int_equal(sv_db_changes(writer), 1);
    /* another claimer passes over row 1 while the writer still holds the lock */
    assert_int_equal(sv_db_begin(claimer, SV_TX_CLAIM, NULL), SV_OK);
    assert_int_equal(sv_db_stmt(claimer, SQL_NEXT, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_true(row);
    assert_int_equal(sv_stmt_column_int64(st, 0), 3);
    sv_stmt_reset(st);
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_write_lock(claimer, &err), SV_ERR_BUSY); /* the writer has it */
    assert_non_null(strstr(err.ptr, "busy timeout"));
    sv_db_rollback(claimer);
    assert_int_equal(sv_db_commit(writer, NULL), SV_OK);

    /* the first claimer takes the lock now, and holds it against writers */
    assert_int_equal(sv_db_write_lock(f->db, NULL), SV_OK);
    assert_int_equal(sv_db_write_lock(f->db, NULL), SV_OK); /* again: nothing */
    assert_int_equal(sv_db_stmt(f->db, SQL_CLAIM, &st, NULL), SV_OK);
    sv_stmt_bind_int64(st, 1, 1);
    assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
    assert_int_equal(sv_db_begin(writer, SV_TX_WRITE, NULL), SV_ERR_BUSY);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    assert_int_equal(cint(f->db, "SELECT COUNT(*) FROM q WHERE claimed = 1"), 1);
    assert_int_equal(cint(f->db, "SELECT COUNT(*) FROM q"), 2);
    sv_db_close(claimer);
    sv_db_close(writer);
    sv_buf_release(&err);
}

/* A statement that fails inside a transaction aborts it: its commit fails (with the
 * statement's error, since sv_stmt_run only queued it) and nothing of it stays. */
static void test_failed_transaction_does_not_commit(void **state)
{
    static const char SQL_T[] = "CREATE TABLE t (k BIGINT PRIMARY KEY)";
    static const char SQL_ADD[] = "INSERT INTO t (k) VALUES (?)";
    fixture *f = *state;
    assert_int_equal(sv_db_exec(f->db, SQL_T, NULL), SV_OK);
    sv_stmt *st = NULL;
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sv_db_stmt(f->db, SQL_ADD, &st, NULL), SV_OK);
        sv_stmt_bind_int64(st, 1, 1);
        assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
    }
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_commit(f->db, &err), SV_ERR_CONFLICT);
    assert_non_null(strstr(err.ptr, "duplicate key"));
    assert_false(sv_db_in_tx(f->db));
    assert_int_equal(cint(f->db, "SELECT COUNT(*) FROM t"), 0);
    sv_buf_release(&err);
}

/* Queued statements (sv_stmt_run in a write transaction): the next statement that reads
 * sees their rows, sv_db_changes counts the last one, and a failure among them is
 * reported once, by the first call that waits for the server, with its own message. */
static void test_queued_statements(void **state)
{
    static const char SQL_T[] = "CREATE TABLE q (k BIGINT PRIMARY KEY)";
    static const char SQL_ADD[] = "INSERT INTO q (k) VALUES (?)";
    static const char SQL_DEL[] = "DELETE FROM q WHERE k < ?";
    static const char SQL_COUNT[] = "SELECT COUNT(*) FROM q";
    fixture *f = *state;
    assert_int_equal(sv_db_exec(f->db, SQL_T, NULL), SV_OK);
    sv_stmt *st = NULL;
    bool row = false;
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    for (int i = 0; i < 600; i++) { /* more than the queue holds before it is read */
        assert_int_equal(sv_db_stmt(f->db, SQL_ADD, &st, NULL), SV_OK);
        sv_stmt_bind_int64(st, 1, i);
        assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
    }
    assert_int_equal(sv_db_stmt(f->db, SQL_DEL, &st, NULL), SV_OK);
    sv_stmt_bind_int64(st, 1, 10);
    assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
    assert_int_equal(sv_db_changes(f->db), 10);
    assert_int_equal(sv_db_stmt(f->db, SQL_COUNT, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_true(row);
    assert_int_equal(sv_stmt_column_int64(st, 0), 590);
    sv_stmt_reset(st);

    assert_int_equal(sv_db_exec(f->db, "SAVEPOINT s", NULL), SV_OK);
    assert_int_equal(sv_db_stmt(f->db, SQL_ADD, &st, NULL), SV_OK);
    sv_stmt_bind_int64(st, 1, 20);
    assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_stmt(f->db, SQL_COUNT, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, &err), SV_ERR_CONFLICT);
    assert_non_null(strstr(err.ptr, "duplicate key"));
    assert_false(row);
    /* reported once; back to the savepoint, the transaction goes on */
    assert_int_equal(sv_db_exec(f->db, "ROLLBACK TO SAVEPOINT s", NULL), SV_OK);
    assert_int_equal(sv_db_stmt(f->db, SQL_COUNT, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_int_equal(sv_stmt_column_int64(st, 0), 590);
    sv_stmt_reset(st);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    assert_int_equal(cint(f->db, "SELECT COUNT(*) FROM q"), 590);
    sv_buf_release(&err);
}

/* PostgreSQL text cannot hold NUL: the step fails rather than cutting the value. */
static void test_text_with_nul_refused(void **state)
{
    fixture *f = *state;
    sv_stmt *st = NULL;
    bool row = true;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_stmt(f->db, "SELECT CAST(? AS TEXT)", &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_bind_textn(st, 1, "a\0b", 3), SV_ERR_INVALID);
    assert_int_equal(sv_stmt_step(st, &row, &err), SV_ERR_INVALID);
    assert_false(row);
    assert_non_null(strstr(err.ptr, "NUL"));
    /* reset clears it */
    assert_int_equal(sv_db_stmt(f->db, "SELECT CAST(? AS TEXT)", &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_bind_textn(st, 1, "ab", 2), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_true(row);
    assert_string_equal(sv_stmt_column_text(st, 0, NULL), "ab");
    sv_stmt_reset(st);
    sv_buf_release(&err);
}

/* Booleans and reals read through column_int64 as SQLite would give them. */
static void test_column_int64_of_other_types(void **state)
{
    fixture *f = *state;
    assert_int_equal(cint(f->db, "SELECT 1 = 1"), 1);
    assert_int_equal(cint(f->db, "SELECT 1 = 2"), 0);
    assert_int_equal(cint(f->db, "SELECT CAST(2.75 AS DOUBLE PRECISION)"), 2);
    assert_int_equal(cint(f->db, "SELECT CAST(-9007199254740993 AS BIGINT)"), -9007199254740993LL);
}

/* A connection the server drops is made again: the statement that meets the broken
 * connection fails, the next one works, cached statements included. */
static void test_reconnects_after_the_server_drops_it(void **state)
{
    static const char SQL_PID[] = "SELECT pg_backend_pid()";
    static const char SQL_PLUS[] = "SELECT CAST(? AS BIGINT) + 1";
    static const char SQL_KILL[] = "SELECT pg_terminate_backend(CAST(? AS INTEGER))";
    fixture *f = *state;
    sv_stmt *st = NULL;
    bool row = false;
    int64_t pid = cint(f->db, SQL_PID);
    assert_int_equal(sv_db_stmt(f->db, SQL_PLUS, &st, NULL), SV_OK); /* prepared, cached */
    sv_stmt_bind_int64(st, 1, 1);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_int_equal(sv_stmt_column_int64(st, 0), 2);

    sv_db *other = pgtest_open(f->uri);
    assert_int_equal(sv_db_stmt(other, SQL_KILL, &st, NULL), SV_OK);
    sv_stmt_bind_int64(st, 1, pid);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_true(row && sv_stmt_column_int64(st, 0) == 1);
    sv_stmt_reset(st);
    sv_db_close(other);

    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_stmt(f->db, SQL_PLUS, &st, NULL), SV_OK);
    sv_stmt_bind_int64(st, 1, 2);
    assert_int_equal(sv_stmt_step(st, &row, &err), SV_ERR_IO); /* met the dropped connection */
    assert_true(err.len > 0);
    for (int i = 0; i < 2; i++) { /* then works again, twice through the cached statement */
        assert_int_equal(sv_db_stmt(f->db, SQL_PLUS, &st, NULL), SV_OK);
        sv_stmt_bind_int64(st, 1, 41 + i);
        assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
        assert_true(row);
        assert_int_equal(sv_stmt_column_int64(st, 0), 42 + i);
        sv_stmt_reset(st);
    }
    assert_int_not_equal(cint(f->db, SQL_PID), pid);
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    sv_buf_release(&err);
}

static void test_connect_failure_reports(void **state)
{
    (void)state;
    sv_db *db = (sv_db *)&db; /* sentinel: must stay untouched */
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_open("postgres://nobody@127.0.0.1:1/none?connect_timeout=2", NULL, &db, &err);
    assert_int_equal(e, SV_ERR_IO);
    assert_ptr_equal(db, (sv_db *)&db);
    assert_non_null(strstr(err.ptr, "postgres connect"));
    sv_buf_release(&err);
}

#define PG_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    if (!pgtest_admin_uri("db/test_postgres"))
        return PGTEST_SKIP;
    const struct CMUnitTest postgres_only[] = {
        PG_TEST(test_backend_name_and_dialect),
        PG_TEST(test_second_writer_waits_then_busy),
        PG_TEST(test_claim_skips_locked_rows_before_the_write_lock),
        PG_TEST(test_failed_transaction_does_not_commit),
        PG_TEST(test_queued_statements),
        PG_TEST(test_text_with_nul_refused),
        PG_TEST(test_column_int64_of_other_types),
        PG_TEST(test_reconnects_after_the_server_drops_it),
        cmocka_unit_test(test_connect_failure_reports),
    };
    int failed = db_contract_run(&postgres_contract);
    failed += cmocka_run_group_tests_name("postgres only", postgres_only, NULL, NULL);
    return failed;
}
