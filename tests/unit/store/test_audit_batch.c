/*
 * test_audit_batch.c - unit tests for sv_audit_append_batch (store/audit.c): a batch
 * writes the very records, seqs and hashes that appending them one by one writes
 * (through every multi-row INSERT size and, on PostgreSQL, more than one unnest
 * statement), with texts that need quoting in an array literal kept byte for byte;
 * batches and single appends in one transaction form one chain; tampering inside a
 * batch is named at the right record; a batch with an invalid record writes nothing;
 * and a failure at any statement of a batch leaves the chain whole.
 * test_audit_batch_postgres.c runs the same cases on PostgreSQL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#ifdef AUDIT_TEST_POSTGRES
#define TMPDB_POSTGRES 1 /* tmpdb.h: a fresh PostgreSQL database per test */
#endif
#include "../db/tmpdb.h"
#include "store/audit.h"
#include "store/schema.h"

typedef struct fixture {
    tmpdb t;
    sv_db *db;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->t);
    sv_db_options opt = {.busy_timeout_ms = 5000};
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_db_open(f->t.path, &opt, &f->db, &err), "open", &err);
    sv_buf_release(&err);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_db_close(f->db);
    tmpdb_remove(&f->t);
    free(f);
    return 0;
}

/* Texts an array literal must quote or escape, and texts that look like its syntax. */
static const char *const awkward[] = {
    "plain", "",     "with space", "a,b",     "{braces}",  "quote\"d",    "back\\slash",
    "NULL",  "null", "\\\"",       "æøå Ærø", "tab\there", "line\nbreak", "trailing\\",
};
#define N_AWKWARD (sizeof(awkward) / sizeof(awkward[0]))

/* Record i of a test batch: every field set, NULL or awkward in turn. */
static sv_audit_record record(size_t i)
{
    static const char *const actions[] = {"read", "search", "vread", "history", "create"};
    sv_audit_record rec = {
        .time_ms = 1700000000000 + (int64_t)i,
        .principal_kind = i % 7 ? "practitioner" : "anonymous",
        .principal_id = i % 3 ? awkward[i % N_AWKWARD] : NULL,
        .organisation = i % 4 ? "Organization/o1" : NULL,
        .role = i % 5 ? awkward[(i + 3) % N_AWKWARD] : NULL,
        .citizen = i % 2 ? awkward[(i + 5) % N_AWKWARD] : NULL,
        .action = actions[i % 5],
        .resource_type = i % 6 ? "Patient" : NULL,
        .resource_id = awkward[(i + 7) % N_AWKWARD],
        .resource_version = i % 3 ? (int64_t)i : 0,
        .purpose = i % 8 ? "TREAT" : NULL,
        .outcome = i % 9 ? 200 : 403,
        .reason = i % 10 ? NULL : awkward[(i + 1) % N_AWKWARD],
    };
    return rec;
}

static sv_audit_record *records(size_t n)
{
    sv_audit_record *recs = calloc(n, sizeof(*recs));
    assert_non_null(recs);
    for (size_t i = 0; i < n; i++)
        recs[i] = record(i);
    return recs;
}

static void head_hash(sv_db *db, char ret[SV_AUDIT_HASH_HEX + 1])
{
    sv_stmt *st;
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_db_stmt(db, "SELECT last_hash FROM audit_head WHERE one = 1", &st, &err), "head",
                &err);
    bool row = false;
    tmpdb_check(sv_stmt_step(st, &row, &err), "head", &err);
    assert_true(row);
    size_t len = 0;
    const char *h = sv_stmt_column_text(st, 0, &len);
    assert_int_equal(len, SV_AUDIT_HASH_HEX);
    memcpy(ret, h, len);
    ret[len] = '\0';
    sv_stmt_reset(st);
    sv_buf_release(&err);
}

static sv_audit_report verify(sv_db *db)
{
    sv_audit_report rep;
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_audit_verify(db, &rep, &err), "verify", &err);
    sv_buf_release(&err);
    return rep;
}

static void append_batch(sv_db *db, const sv_audit_record *recs, size_t n, int64_t want_last)
{
    sv_buf err = SV_BUF_INIT;
    int64_t last = -1;
    tmpdb_check(sv_db_begin(db, SV_TX_WRITE, &err), "begin", &err);
    tmpdb_check(sv_audit_append_batch(db, recs, n, &last, &err), "batch", &err);
    tmpdb_check(sv_db_commit(db, &err), "commit", &err);
    sv_buf_release(&err);
    assert_int_equal(last, want_last);
}

/* 1,111 records: 17 INSERTs of 64, then 16, 4, 1, 1, 1 on SQLite; two unnest
 * statements (1,024 and 87) on PostgreSQL. */
enum { MANY = 1111 };

static void test_batch_equals_single_appends(void **state)
{
    fixture *f = *state;
    sv_audit_record *recs = records(MANY);
    sv_buf err = SV_BUF_INIT;
    /* One by one, rolled back: the head's last hash is the chain's. */
    tmpdb_check(sv_db_begin(f->db, SV_TX_WRITE, &err), "begin", &err);
    for (size_t i = 0; i < MANY; i++) {
        int64_t seq = 0;
        tmpdb_check(sv_audit_append(f->db, &recs[i], &seq, &err), "append", &err);
        assert_int_equal(seq, (int64_t)i + 1);
    }
    char single[SV_AUDIT_HASH_HEX + 1];
    head_hash(f->db, single);
    sv_db_rollback(f->db);
    sv_buf_release(&err);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit"), 0);

    append_batch(f->db, recs, MANY, MANY);
    char batch[SV_AUDIT_HASH_HEX + 1];
    head_hash(f->db, batch);
    assert_string_equal(batch, single);
    /* The walk recomputes every hash from the stored fields: a text garbled on the way
     * in (quoting) would show as a changed record. */
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_OK);
    assert_int_equal(rep.records, MANY);
    assert_int_equal(rep.head_records, MANY);
    assert_int_equal(rep.head_seq, MANY);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit WHERE citizen IS NULL"),
                     MANY / 2 + MANY % 2);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit WHERE resource_version IS NULL"),
                     MANY / 3 + 1);
    free(recs);
}

static void test_batches_and_singles_form_one_chain(void **state)
{
    fixture *f = *state;
    sv_audit_record *recs = records(100);
    sv_buf err = SV_BUF_INIT;
    int64_t seq = 0;
    tmpdb_check(sv_db_begin(f->db, SV_TX_WRITE, &err), "begin", &err);
    tmpdb_check(sv_audit_append_batch(f->db, recs, 37, &seq, &err), "batch", &err);
    assert_int_equal(seq, 37);
    tmpdb_check(sv_audit_append(f->db, &recs[37], &seq, &err), "append", &err);
    assert_int_equal(seq, 38);
    tmpdb_check(sv_audit_append_batch(f->db, &recs[38], 0, NULL, &err), "empty batch", &err);
    tmpdb_check(sv_audit_append_batch(f->db, &recs[38], 2, &seq, &err), "batch", &err);
    assert_int_equal(seq, 40);
    tmpdb_check(sv_db_commit(f->db, &err), "commit", &err);
    sv_buf_release(&err);
    append_batch(f->db, &recs[40], 60, 100);
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_OK);
    assert_int_equal(rep.records, 100);
    assert_int_equal(rep.head_records, 100);
    free(recs);
}

/* Runs tampering SQL with the append-only triggers out of the way. */
static void tamper(sv_db *db, const char *sql)
{
    bool pg = sv_db_dialect_of(db) == SV_DIALECT_POSTGRES;
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_db_exec(db,
                           pg ? "DROP TRIGGER IF EXISTS audit_no_update ON audit"
                              : "DROP TRIGGER IF EXISTS audit_no_update",
                           &err),
                "drop", &err);
    tmpdb_check(sv_db_exec(db,
                           pg ? "DROP TRIGGER IF EXISTS audit_no_delete ON audit"
                              : "DROP TRIGGER IF EXISTS audit_no_delete",
                           &err),
                "drop", &err);
    tmpdb_check(sv_db_exec(db, sql, &err), sql, &err);
    sv_buf_release(&err);
}

static void test_tampering_inside_a_batch_named(void **state)
{
    fixture *f = *state;
    sv_audit_record *recs = records(200);
    append_batch(f->db, recs, 200, 200);
    tamper(f->db, "UPDATE audit SET citizen = 'someone-else' WHERE seq = 130");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_CHANGED);
    assert_int_equal(rep.seq, 130);
    tamper(f->db, "DELETE FROM audit WHERE seq = 65");
    rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_UNLINKED);
    assert_int_equal(rep.seq, 66);
    assert_int_equal(rep.prev_seq, 64);
    free(recs);
}

static void test_invalid_record_writes_nothing(void **state)
{
    fixture *f = *state;
    sv_audit_record *recs = records(10);
    recs[7].action = NULL;
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_db_begin(f->db, SV_TX_WRITE, &err), "begin", &err);
    assert_int_equal(sv_audit_append_batch(f->db, recs, 10, NULL, &err), SV_ERR_INTERNAL);
    sv_db_rollback(f->db);
    assert_int_equal(sv_audit_append_batch(f->db, recs, 3, NULL, &err), SV_ERR_INTERNAL);
    sv_buf_release(&err);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit"), 0);
    assert_int_equal(tmpdb_int(f->db, "SELECT records FROM audit_head"), 0);
    free(recs);
}

static void test_batch_fault_leaves_chain_whole(void **state)
{
    fixture *f = *state;
    sv_audit_record *recs = records(90);
    append_batch(f->db, recs, 5, 5);
    /* Fail each backend call of begin + a batch of 85 (64 + 16 + 4 + 1 rows) + commit. */
    for (int nth = 1; nth <= 16; nth++) {
        sv_buf err = SV_BUF_INIT;
        sv_db_fault_inject(f->db, nth, SV_ERR_IO);
        sv_err e = sv_db_begin(f->db, SV_TX_WRITE, &err);
        if (!e)
            e = sv_audit_append_batch(f->db, &recs[5], 85, NULL, &err);
        if (!e)
            e = sv_db_commit(f->db, &err);
        if (e)
            sv_db_rollback(f->db);
        bool fired = !sv_db_fault_pending(f->db);
        sv_db_fault_inject(f->db, 0, SV_OK);
        sv_buf_release(&err);
        sv_audit_report rep = verify(f->db);
        assert_int_equal(rep.problem, SV_AUDIT_OK);
        assert_int_equal(rep.records, e ? 5 : 90);
        if (!e) {
            assert_false(fired); /* past the last call: the batch went in whole */
            break;
        }
    }
    assert_int_equal(verify(f->db).records, 90);
    free(recs);
}

int main(void)
{
    TMPDB_SKIP_WITHOUT_BACKEND("store/test_audit_batch_postgres");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batch_equals_single_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batches_and_singles_form_one_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tampering_inside_a_batch_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_record_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_fault_leaves_chain_whole, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
