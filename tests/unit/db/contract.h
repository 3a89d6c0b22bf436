/*
 * contract.h - the storage contract suite: what every db.h backend must do,
 * written against db.h alone so that it runs unchanged against each backend
 * (SQLite's permutations).  A runner (test_sqlite.c, later test_postgres.c)
 * supplies a db_contract_backend that makes fresh empty databases, then calls
 * db_contract_run().
 *
 * Everything here is portable SQL with '?' placeholders: BIGINT, DOUBLE
 * PRECISION and TEXT columns, explicit primary keys, no backend functions.
 * Backend-specific behaviour (pragmas, lock waits, NUL bytes in text) belongs
 * in the runner's own tests.  Include once per test executable.
 */
#ifndef SV_TEST_DB_CONTRACT_H
#define SV_TEST_DB_CONTRACT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

typedef struct db_contract_backend {
    const char *name;
    /* Creates a new, empty database; writes a URI that opens it (from any number
     * of connections at once) into uri. */
    void (*create)(char *uri, size_t cap);
    /* Removes what create made. */
    void (*destroy)(const char *uri);
} db_contract_backend;

static const db_contract_backend *contract_backend;

typedef struct contract_fixture {
    char uri[600];
    sv_db *db; /* the first connection, opened by setup */
} contract_fixture;

static sv_db *contract_open(const contract_fixture *f, int busy_timeout_ms)
{
    sv_db_options opt = {.busy_timeout_ms = busy_timeout_ms};
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_open(f->uri, &opt, &db, &err);
    if (e)
        fail_msg("open '%s': %s (%s)", f->uri, sv_strerror(e), err.ptr);
    sv_buf_release(&err);
    return db;
}

static int contract_setup(void **state)
{
    contract_fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    contract_backend->create(f->uri, sizeof(f->uri));
    f->db = contract_open(f, 5000);
    *state = f;
    return 0;
}

static int contract_teardown(void **state)
{
    contract_fixture *f = *state;
    sv_db_close(f->db);
    contract_backend->destroy(f->uri);
    free(f);
    return 0;
}

/* Runs constant SQL; fails the test on error. */
static void cexec(sv_db *db, const char *sql)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_exec(db, sql, &err);
    if (e)
        fail_msg("exec '%s': %s (%s)", sql, sv_strerror(e), err.ptr);
    sv_buf_release(&err);
}

/* One integer from constant SQL through the statement cache. */
static int64_t cint(sv_db *db, const char *sql)
{
    sv_stmt *st = NULL;
    bool row = false;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_stmt(db, sql, &st, &err);
    if (!e)
        e = sv_stmt_step(st, &row, &err);
    if (e || !row)
        fail_msg("query '%s': %s (%s)", sql, sv_strerror(e), err.ptr);
    int64_t v = sv_stmt_column_int64(st, 0);
    sv_stmt_reset(st);
    sv_buf_release(&err);
    return v;
}

static const char SQL_CREATE_T[] = "CREATE TABLE t (k BIGINT PRIMARY KEY, i BIGINT, r DOUBLE"
                                   " PRECISION, s TEXT, u TEXT UNIQUE, nn TEXT NOT NULL)";
static const char SQL_INSERT_T[] = "INSERT INTO t (k, i, r, s, u, nn) VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_INSERT_K[] = "INSERT INTO t (k, nn) VALUES (?, 'x')";
static const char SQL_SELECT_T[] = "SELECT i, r, s, u FROM t WHERE k = ?";
static const char SQL_COUNT_T[] = "SELECT COUNT(*) FROM t";
static const char SQL_KEYS_T[] = "SELECT k FROM t ORDER BY k";
static const char SQL_ECHO[] = "SELECT ?";

static void insert_k(sv_db *db, int64_t k)
{
    sv_stmt *st = NULL;
    assert_int_equal(sv_db_stmt(db, SQL_INSERT_K, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_bind_int64(st, 1, k), SV_OK);
    assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
}

/* ---- open, exec, bind, step, columns ------------------------------------ */

static void test_open_state(void **state)
{
    contract_fixture *f = *state;
    assert_non_null(sv_db_backend_name(f->db));
    assert_true(strlen(sv_db_backend_name(f->db)) > 0);
    assert_false(sv_db_in_tx(f->db));
    assert_false(sv_db_fault_pending(f->db));
    sv_db_close(NULL); /* accepted */
}

typedef struct typed_row {
    int64_t k, i;
    double r;
    const char *s; /* NULL: bind NULL through sv_stmt_bind_text */
    const char *u;
} typed_row;

static void test_bind_and_column_types(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    static const typed_row rows[] = {
        {1, INT64_MAX, 0.1, "plain ascii", "u1"},
        {2, INT64_MIN, -1e300, "\xc3\x85se \xd0\xb6 \xf0\x9f\x99\x82", "u2"}, /* Åse ж 🙂 */
        {3, 0, DBL_MIN, "", "u3"},
        {4, -1, 1.5, NULL, NULL},
    };
    sv_stmt *st = NULL;
    for (size_t n = 0; n < sizeof(rows) / sizeof(rows[0]); n++) {
        assert_int_equal(sv_db_stmt(f->db, SQL_INSERT_T, &st, NULL), SV_OK);
        assert_int_equal(sv_stmt_bind_int64(st, 1, rows[n].k), SV_OK);
        assert_int_equal(sv_stmt_bind_int64(st, 2, rows[n].i), SV_OK);
        assert_int_equal(sv_stmt_bind_double(st, 3, rows[n].r), SV_OK);
        assert_int_equal(sv_stmt_bind_text(st, 4, rows[n].s), SV_OK);
        if (rows[n].u)
            assert_int_equal(sv_stmt_bind_text(st, 5, rows[n].u), SV_OK);
        else
            assert_int_equal(sv_stmt_bind_null(st, 5), SV_OK);
        assert_int_equal(sv_stmt_bind_text(st, 6, "x"), SV_OK);
        assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
        assert_int_equal(sv_db_changes(f->db), 1);
    }
    for (size_t n = 0; n < sizeof(rows) / sizeof(rows[0]); n++) {
        bool row = false;
        assert_int_equal(sv_db_stmt(f->db, SQL_SELECT_T, &st, NULL), SV_OK);
        sv_stmt_bind_int64(st, 1, rows[n].k);
        assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
        assert_true(row);
        assert_false(sv_stmt_column_is_null(st, 0));
        assert_true(sv_stmt_column_int64(st, 0) == rows[n].i);
        assert_true(sv_stmt_column_double(st, 1) == rows[n].r);
        if (rows[n].s) {
            size_t len = 99;
            const char *s = sv_stmt_column_text(st, 2, &len);
            assert_false(sv_stmt_column_is_null(st, 2));
            assert_non_null(s);
            assert_int_equal(len, strlen(rows[n].s));
            assert_memory_equal(s, rows[n].s, len);
        } else {
            assert_true(sv_stmt_column_is_null(st, 2));
        }
        assert_true(sv_stmt_column_is_null(st, 3) == (rows[n].u == NULL));
        assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
        assert_false(row);
    }
}

static void test_bind_textn_takes_only_len_bytes(void **state)
{
    contract_fixture *f = *state;
    sv_stmt *st = NULL;
    bool row = false;
    assert_int_equal(sv_db_stmt(f->db, SQL_ECHO, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_bind_textn(st, 1, "abcdef", 3), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_true(row);
    size_t len = 0;
    assert_string_equal(sv_stmt_column_text(st, 0, &len), "abc");
    assert_int_equal(len, 3);
    sv_stmt_reset(st);
}

/* '?N' names a parameter; a '?' inside a quoted string or name is text, not one. */
static void test_numbered_placeholders(void **state)
{
    static const char SQL_NUMBERED[] = "SELECT ?2, ?1, ?2, '?', '' || ?1 AS \"?\"";
    contract_fixture *f = *state;
    sv_stmt *st = NULL;
    bool row = false;
    assert_int_equal(sv_db_stmt(f->db, SQL_NUMBERED, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_bind_text(st, 1, "a"), SV_OK);
    assert_int_equal(sv_stmt_bind_text(st, 2, "b"), SV_OK);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_true(row);
    static const char *const want[] = {"b", "a", "b", "?", "a"};
    for (int c = 0; c < 5; c++)
        assert_string_equal(sv_stmt_column_text(st, c, NULL), want[c]);
    sv_stmt_reset(st);
}

static void test_step_rows_then_done(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    for (int64_t k = 3; k >= 1; k--)
        insert_k(f->db, k);
    sv_stmt *st = NULL;
    assert_int_equal(sv_db_stmt(f->db, SQL_KEYS_T, &st, NULL), SV_OK);
    for (int64_t k = 1; k <= 3; k++) {
        bool row = false;
        assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
        assert_true(row);
        assert_int_equal(sv_stmt_column_int64(st, 0), k);
    }
    bool row = true;
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    assert_false(row);
    sv_stmt_reset(st);
}

static void test_changes_counts_rows(void **state)
{
    static const char SQL_UPDATE[] = "UPDATE t SET i = 7 WHERE k <= 2";
    static const char SQL_UPDATE_NONE[] = "UPDATE t SET i = 7 WHERE k > 100";
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    for (int64_t k = 1; k <= 3; k++)
        insert_k(f->db, k);
    sv_stmt *st = NULL;
    assert_int_equal(sv_db_stmt(f->db, SQL_UPDATE, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
    assert_int_equal(sv_db_changes(f->db), 2);
    assert_int_equal(sv_db_stmt(f->db, SQL_UPDATE_NONE, &st, NULL), SV_OK);
    assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
    assert_int_equal(sv_db_changes(f->db), 0);
}

static void test_errors_carry_a_message(void **state)
{
    static const char SQL_BAD_SYNTAX[] = "SELEKT 1";
    static const char SQL_NO_TABLE[] = "SELECT * FROM no_such_table";
    contract_fixture *f = *state;
    sv_stmt *st = NULL;
    sv_buf err = SV_BUF_INIT;
    assert_int_not_equal(sv_db_stmt(f->db, SQL_BAD_SYNTAX, &st, &err), SV_OK);
    assert_true(err.len > 0);
    sv_buf_reset(&err);
    assert_int_not_equal(sv_db_prepare(f->db, SQL_NO_TABLE, &st, &err), SV_OK);
    assert_non_null(strstr(err.ptr, "no_such_table"));
    sv_buf_reset(&err);
    assert_int_not_equal(sv_db_exec(f->db, SQL_BAD_SYNTAX, &err), SV_OK);
    assert_true(err.len > 0);
    /* a failed prepare is not cached: the connection keeps working */
    assert_int_equal(cint(f->db, "SELECT 5"), 5);
    /* reterr may be NULL */
    assert_int_not_equal(sv_db_exec(f->db, SQL_BAD_SYNTAX, NULL), SV_OK);
    sv_buf_release(&err);
}

static void test_constraint_violation_is_conflict(void **state)
{
    static const char SQL_NULL_NN[] = "INSERT INTO t (k, nn) VALUES (50, NULL)";
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    insert_k(f->db, 1);
    sv_stmt *st = NULL;
    sv_buf err = SV_BUF_INIT;
    /* primary key */
    assert_int_equal(sv_db_stmt(f->db, SQL_INSERT_K, &st, NULL), SV_OK);
    sv_stmt_bind_int64(st, 1, 1);
    assert_int_equal(sv_stmt_run(st, &err), SV_ERR_CONFLICT);
    assert_true(err.len > 0);
    /* the same cached statement works again with other values */
    insert_k(f->db, 2);
    /* unique */
    assert_int_equal(sv_db_stmt(f->db, SQL_INSERT_T, &st, NULL), SV_OK);
    sv_stmt_bind_int64(st, 1, 10), sv_stmt_bind_text(st, 5, "same"), sv_stmt_bind_text(st, 6, "x");
    assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
    assert_int_equal(sv_db_stmt(f->db, SQL_INSERT_T, &st, NULL), SV_OK);
    sv_stmt_bind_int64(st, 1, 11), sv_stmt_bind_text(st, 5, "same"), sv_stmt_bind_text(st, 6, "x");
    assert_int_equal(sv_stmt_run(st, NULL), SV_ERR_CONFLICT);
    /* not null */
    assert_int_equal(sv_db_exec(f->db, SQL_NULL_NN, NULL), SV_ERR_CONFLICT);
    assert_int_equal(cint(f->db, SQL_COUNT_T), 3);
    sv_buf_release(&err);
}

/* ---- the statement cache ------------------------------------------------- */

static void test_stmt_cache_returns_same_statement_reset(void **state)
{
    contract_fixture *f = *state;
    sv_stmt *a = NULL, *b = NULL;
    bool row = false;
    assert_int_equal(sv_db_stmt(f->db, SQL_ECHO, &a, NULL), SV_OK);
    assert_int_equal(sv_stmt_bind_int64(a, 1, 42), SV_OK);
    assert_int_equal(sv_stmt_step(a, &row, NULL), SV_OK);
    assert_true(row);
    assert_int_equal(sv_stmt_column_int64(a, 0), 42);
    /* fetched again mid-result: the same statement, reset, bindings cleared */
    assert_int_equal(sv_db_stmt(f->db, SQL_ECHO, &b, NULL), SV_OK);
    assert_ptr_equal(a, b);
    assert_int_equal(sv_stmt_step(b, &row, NULL), SV_OK);
    assert_true(row);
    assert_true(sv_stmt_column_is_null(b, 0));
    sv_stmt_reset(b);

    /* a reset statement starts its result again */
    cexec(f->db, SQL_CREATE_T);
    for (int64_t k = 1; k <= 3; k++)
        insert_k(f->db, k);
    assert_int_equal(sv_db_stmt(f->db, SQL_KEYS_T, &a, NULL), SV_OK);
    assert_int_equal(sv_stmt_step(a, &row, NULL), SV_OK);
    assert_int_equal(sv_stmt_step(a, &row, NULL), SV_OK);
    assert_int_equal(sv_stmt_column_int64(a, 0), 2);
    assert_int_equal(sv_db_stmt(f->db, SQL_KEYS_T, &b, NULL), SV_OK);
    assert_ptr_equal(a, b);
    assert_int_equal(sv_stmt_step(b, &row, NULL), SV_OK);
    assert_true(row);
    assert_int_equal(sv_stmt_column_int64(b, 0), 1);
    sv_stmt_reset(b);

    /* sv_db_prepare is never the cached statement; the caller finalizes it */
    sv_stmt *u = NULL;
    assert_int_equal(sv_db_prepare(f->db, SQL_KEYS_T, &u, NULL), SV_OK);
    assert_ptr_not_equal(u, a);
    sv_stmt_finalize(u);
    sv_stmt_finalize(NULL); /* accepted */
}

/* Distinct constant statements, more than the cache holds: "SELECT 10".."SELECT 89". */
#define Q10(d)                                                                                     \
    "SELECT " #d "0", "SELECT " #d "1", "SELECT " #d "2", "SELECT " #d "3", "SELECT " #d "4",      \
        "SELECT " #d "5", "SELECT " #d "6", "SELECT " #d "7", "SELECT " #d "8", "SELECT " #d "9"
static const char *const many_sql[] = {Q10(1), Q10(2), Q10(3), Q10(4),
                                       Q10(5), Q10(6), Q10(7), Q10(8)};
#define N_MANY ((int)(sizeof(many_sql) / sizeof(many_sql[0])))

/* Whether sql is in the cache, observed without changing the answer: a cache hit
 * makes no backend call, so an armed one-shot fault stays pending.  A miss
 * prepares it (now cached).  A hit moves it to the front, as any use does. */
static bool probe_cached(sv_db *db, const char *sql)
{
    sv_stmt *st = NULL;
    sv_db_fault_inject(db, 1, SV_ERR_IO);
    sv_err e = sv_db_stmt(db, sql, &st, NULL);
    bool hit = e == SV_OK && sv_db_fault_pending(db);
    sv_db_fault_inject(db, 0, SV_OK);
    if (!hit)
        assert_int_equal(sv_db_stmt(db, sql, &st, NULL), SV_OK);
    return hit;
}

static void test_stmt_cache_evicts_least_recently_used(void **state)
{
    contract_fixture *f = *state;
    _Static_assert(N_MANY > SV_DB_STMT_CACHE + 8, "need more statements than the cache holds");
    for (int i = 0; i < SV_DB_STMT_CACHE; i++)
        assert_int_equal(cint(f->db, many_sql[i]), 10 + i);
    /* exactly SV_DB_STMT_CACHE fit; probing in order leaves 0 least recent */
    for (int i = 0; i < SV_DB_STMT_CACHE; i++)
        assert_true(probe_cached(f->db, many_sql[i]));
    /* one more evicts the least recently used (0), keeps the rest */
    assert_false(probe_cached(f->db, many_sql[SV_DB_STMT_CACHE]));
    assert_true(probe_cached(f->db, many_sql[1]));  /* 1 is now most recent, 2 least */
    assert_false(probe_cached(f->db, many_sql[0])); /* evicts 2 */
    assert_true(probe_cached(f->db, many_sql[1]));
    assert_false(probe_cached(f->db, many_sql[2]));
    /* churn through all of them twice: every answer stays right */
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < N_MANY; i++)
            assert_int_equal(cint(f->db, many_sql[i]), 10 + i);
}

/* ---- transactions ---------------------------------------------------------- */

static void test_tx_commit_is_visible_to_another_connection(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    sv_db *other = contract_open(f, 5000);
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    assert_true(sv_db_in_tx(f->db));
    insert_k(f->db, 1);
    insert_k(f->db, 2);
    assert_int_equal(cint(f->db, SQL_COUNT_T), 2);
    assert_int_equal(cint(other, SQL_COUNT_T), 0); /* not yet committed */
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    assert_false(sv_db_in_tx(f->db));
    assert_int_equal(cint(other, SQL_COUNT_T), 2);
    sv_db_close(other);
}

static void test_tx_rollback_discards(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    insert_k(f->db, 1);
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    insert_k(f->db, 2);
    cexec(f->db, "DELETE FROM t WHERE k = 1");
    sv_db_rollback(f->db);
    assert_false(sv_db_in_tx(f->db));
    assert_int_equal(cint(f->db, SQL_COUNT_T), 1);
    assert_int_equal(cint(f->db, "SELECT k FROM t"), 1);
    sv_db_rollback(f->db); /* no-op outside a transaction */
    assert_int_equal(cint(f->db, SQL_COUNT_T), 1);
}

static void test_tx_do_not_nest(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_commit(f->db, NULL), SV_ERR_INTERNAL); /* none open */
    for (int outer = SV_TX_READ; outer <= SV_TX_WRITE; outer++) {
        for (int inner = SV_TX_READ; inner <= SV_TX_WRITE; inner++) {
            assert_int_equal(sv_db_begin(f->db, (sv_tx_kind)outer, NULL), SV_OK);
            sv_buf_reset(&err);
            assert_int_equal(sv_db_begin(f->db, (sv_tx_kind)inner, &err), SV_ERR_INTERNAL);
            assert_true(err.len > 0);
            /* the outer transaction is intact */
            assert_true(sv_db_in_tx(f->db));
            if (outer == SV_TX_WRITE)
                insert_k(f->db, 10 * outer + inner);
            assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
            assert_false(sv_db_in_tx(f->db));
        }
    }
    assert_int_equal(cint(f->db, SQL_COUNT_T), 2);
    sv_buf_release(&err);
}

static void test_tx_read_is_a_snapshot(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    insert_k(f->db, 1);
    sv_db *other = contract_open(f, 5000);
    assert_int_equal(sv_db_begin(f->db, SV_TX_READ, NULL), SV_OK);
    assert_int_equal(cint(f->db, SQL_COUNT_T), 1);
    insert_k(other, 2); /* a writer commits meanwhile */
    assert_int_equal(cint(other, SQL_COUNT_T), 2);
    assert_int_equal(cint(f->db, SQL_COUNT_T), 1); /* the snapshot holds */
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    assert_int_equal(cint(f->db, SQL_COUNT_T), 2);
    sv_db_close(other);
}

static void test_close_rolls_back_an_open_tx(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    sv_db *other = contract_open(f, 5000);
    assert_int_equal(sv_db_begin(other, SV_TX_WRITE, NULL), SV_OK);
    insert_k(other, 1);
    sv_db_close(other);
    assert_int_equal(cint(f->db, SQL_COUNT_T), 0);
    /* and the write lock is free again */
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    sv_db_rollback(f->db);
}

/* ---- fault injection (db.c's wrappers, the same for every backend) ---------- */

static void test_fault_injection_counts_calls(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    sv_buf err = SV_BUF_INIT;
    sv_stmt *st = NULL;
    bool row = false;

    /* nth = 1: the very next counted call, whichever it is */
    sv_db_fault_inject(f->db, 1, SV_ERR_BUSY);
    assert_true(sv_db_fault_pending(f->db));
    assert_int_equal(sv_db_exec(f->db, SQL_COUNT_T, &err), SV_ERR_BUSY);
    assert_non_null(strstr(err.ptr, "injected fault"));
    assert_false(sv_db_fault_pending(f->db));
    assert_int_equal(sv_db_exec(f->db, SQL_COUNT_T, NULL), SV_OK); /* one-shot */

    /* counting: begin (1), prepare (2: cache miss), step (3) */
    static const char SQL_K[] = "SELECT k FROM t WHERE k = 99";
    sv_db_fault_inject(f->db, 3, SV_ERR_IO);
    assert_int_equal(sv_db_begin(f->db, SV_TX_READ, NULL), SV_OK);
    assert_int_equal(sv_db_stmt(f->db, SQL_K, &st, NULL), SV_OK);
    assert_true(sv_db_fault_pending(f->db));
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_ERR_IO);
    assert_false(row);
    sv_db_rollback(f->db);
    /* a cache hit is no backend call: nothing counted */
    sv_db_fault_inject(f->db, 1, SV_ERR_IO);
    assert_int_equal(sv_db_stmt(f->db, SQL_K, &st, NULL), SV_OK);
    assert_true(sv_db_fault_pending(f->db));
    assert_int_equal(sv_db_prepare(f->db, SQL_K, &st, NULL), SV_ERR_IO); /* never cached */
    sv_db_fault_inject(f->db, 0, SV_OK);
    /* each step of sv_stmt_run counts */
    insert_k(f->db, 1); /* caches SQL_INSERT_K */
    sv_db_fault_inject(f->db, 1, SV_ERR_NOMEM);
    assert_int_equal(sv_db_stmt(f->db, SQL_INSERT_K, &st, NULL), SV_OK);
    sv_stmt_bind_int64(st, 1, 2);
    assert_int_equal(sv_stmt_run(st, NULL), SV_ERR_NOMEM);
    assert_int_equal(cint(f->db, SQL_COUNT_T), 1);

    /* a failed commit rolls back and leaves no transaction open */
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    insert_k(f->db, 3);
    sv_db_fault_inject(f->db, 1, SV_ERR_IO);
    sv_buf_reset(&err);
    assert_int_equal(sv_db_commit(f->db, &err), SV_ERR_IO);
    assert_true(err.len > 0);
    assert_false(sv_db_in_tx(f->db));
    assert_int_equal(cint(f->db, SQL_COUNT_T), 1);
    /* a failed begin opens nothing */
    sv_db_fault_inject(f->db, 1, SV_ERR_BUSY);
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_ERR_BUSY);
    assert_false(sv_db_in_tx(f->db));
    /* disarming: nth <= 0 */
    sv_db_fault_inject(f->db, 2, SV_ERR_IO);
    sv_db_fault_inject(f->db, -1, SV_ERR_IO);
    assert_false(sv_db_fault_pending(f->db));
    assert_int_equal(sv_db_exec(f->db, SQL_COUNT_T, NULL), SV_OK);
    assert_int_equal(sv_db_exec(f->db, SQL_COUNT_T, NULL), SV_OK);
    sv_buf_release(&err);
}

/* ---- data version and reused statements ---------------------------------- */

/* A backend that tells a data version must move it with every commit, by this
 * connection or another, and only then; never inside a transaction. */
static void test_data_version_moves_with_every_commit(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    sv_db *other = contract_open(f, 5000);
    uint64_t v0 = 0, v1 = 0, v2 = 0, v3 = 0;
    if (!sv_db_data_version(f->db, &v0)) {
        sv_db_close(other);
        skip(); /* the backend cannot tell: nothing may be kept, which is allowed */
    }
    /* Reads change nothing.  PostgreSQL's version may also move with a commit
     * in another database of the cluster (other tests running alongside): a
     * backend may move it more often than needed, never less, so a few tries
     * must find a read that leaves it where it was. */
    for (int i = 0; i < 50; i++) {
        assert_int_equal(cint(f->db, SQL_COUNT_T), 0);
        assert_true(sv_db_data_version(f->db, &v1));
        if (v1 == v0)
            break;
        v0 = v1;
        assert_int_equal(cint(f->db, SQL_COUNT_T), 0);
        assert_true(sv_db_data_version(f->db, &v0));
    }
    assert_true(v1 == v0);
    insert_k(other, 1); /* another connection commits */
    assert_true(sv_db_data_version(f->db, &v2));
    assert_true(v2 != v1);
    insert_k(f->db, 2); /* this one does */
    assert_true(sv_db_data_version(f->db, &v3));
    assert_true(v3 != v2);
    assert_int_equal(sv_db_begin(f->db, SV_TX_READ, NULL), SV_OK);
    assert_false(sv_db_data_version(f->db, &v3));
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    sv_db_close(other);
}

/* Held (sv_db_data_version_hold), the version still moves with this connection's own
 * writes, in a transaction or not; let go, it shows what others committed meanwhile. */
static void test_data_version_hold(void **state)
{
    contract_fixture *f = *state;
    cexec(f->db, SQL_CREATE_T);
    sv_db *other = contract_open(f, 5000);
    uint64_t v0 = 0, v1 = 0, v2 = 0, v3 = 0, v4 = 0;
    if (!sv_db_data_version(f->db, &v0)) {
        sv_db_close(other);
        skip();
    }
    sv_db_data_version_hold(f->db, true);
    assert_true(sv_db_data_version(f->db, &v1));
    insert_k(f->db, 1); /* own write, no transaction */
    assert_true(sv_db_data_version(f->db, &v2));
    assert_true(v2 != v1);
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    insert_k(f->db, 2);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK); /* own write, committed */
    assert_true(sv_db_data_version(f->db, &v3));
    assert_true(v3 != v2);
    insert_k(other, 3); /* held: may or may not show */
    sv_db_data_version_hold(f->db, false);
    assert_true(sv_db_data_version(f->db, &v4));
    assert_true(v4 != v3); /* let go: it does */
    sv_db_close(other);
}

/* Equal text gives the same statement back once released, reset with its
 * bindings cleared; a text still in use gives another statement. */
static void test_prepare_reuse_by_text(void **state)
{
    contract_fixture *f = *state;
    char sql[32];
    snprintf(sql, sizeof(sql), "%s", SQL_ECHO); /* assembled: not the constant */
    sv_stmt *a = NULL, *b = NULL, *c = NULL;
    bool row = false;
    assert_int_equal(sv_db_prepare_reuse(f->db, sql, &a, NULL), SV_OK);
    assert_int_equal(sv_stmt_bind_int64(a, 1, 7), SV_OK);
    assert_int_equal(sv_stmt_step(a, &row, NULL), SV_OK);
    assert_true(row);
    assert_int_equal(sv_db_prepare_reuse(f->db, sql, &b, NULL), SV_OK);
    assert_ptr_not_equal(a, b); /* a is still in use */
    sv_stmt_release(b);
    sv_stmt_release(a);
    char again[32];
    snprintf(again, sizeof(again), "%s", SQL_ECHO);
    assert_int_equal(sv_db_prepare_reuse(f->db, again, &c, NULL), SV_OK);
    assert_true(c == a || c == b);
    assert_int_equal(sv_stmt_step(c, &row, NULL), SV_OK);
    assert_true(row);
    assert_true(sv_stmt_column_is_null(c, 0)); /* the binding of before is gone */
    sv_stmt_release(c);
}

#define CONTRACT_TEST(fn) cmocka_unit_test_setup_teardown(fn, contract_setup, contract_teardown)

static const struct CMUnitTest db_contract_tests[] = {
    CONTRACT_TEST(test_open_state),
    CONTRACT_TEST(test_bind_and_column_types),
    CONTRACT_TEST(test_bind_textn_takes_only_len_bytes),
    CONTRACT_TEST(test_numbered_placeholders),
    CONTRACT_TEST(test_step_rows_then_done),
    CONTRACT_TEST(test_changes_counts_rows),
    CONTRACT_TEST(test_errors_carry_a_message),
    CONTRACT_TEST(test_constraint_violation_is_conflict),
    CONTRACT_TEST(test_stmt_cache_returns_same_statement_reset),
    CONTRACT_TEST(test_stmt_cache_evicts_least_recently_used),
    CONTRACT_TEST(test_tx_commit_is_visible_to_another_connection),
    CONTRACT_TEST(test_tx_rollback_discards),
    CONTRACT_TEST(test_tx_do_not_nest),
    CONTRACT_TEST(test_tx_read_is_a_snapshot),
    CONTRACT_TEST(test_close_rolls_back_an_open_tx),
    CONTRACT_TEST(test_fault_injection_counts_calls),
    CONTRACT_TEST(test_data_version_moves_with_every_commit),
    CONTRACT_TEST(test_data_version_hold),
    CONTRACT_TEST(test_prepare_reuse_by_text),
};

/* Runs the whole contract against backend; returns the number of failures. */
static int db_contract_run(const db_contract_backend *backend)
{
    contract_backend = backend;
    return _cmocka_run_group_tests(backend->name, db_contract_tests,
                                   sizeof(db_contract_tests) / sizeof(db_contract_tests[0]), NULL,
                                   NULL);
}

#endif
