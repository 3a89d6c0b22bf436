/*
 * test_audit.c - unit tests for store/audit: a clean chain verifies; changing a
 * field, deleting a record, swapping two records' seq, deleting the first record
 * and truncating the tail - each done directly with SQL, as someone with the
 * database file could - are each found and the right record named (issue 4, must
 * show 3); an append outside a transaction is refused and a rolled-back one
 * leaves nothing; appends from several connections at once form one chain; the
 * walk reads the log in pages; and the citizen of a resource comes from its
 * compartment rows.  test_audit_postgres.c runs the same cases on PostgreSQL
 * (AUDIT_TEST_POSTGRES).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>

#ifdef AUDIT_TEST_POSTGRES
#define TMPDB_POSTGRES 1 /* tmpdb.h: a fresh PostgreSQL database per test */
#endif
#include "../db/tmpdb.h"
#include "store/audit.h"
#include "store/resource.h"
#include "store/schema.h"

typedef struct fixture {
    tmpdb t;
    sv_db *db;
} fixture;

static sv_db *open_uri(const char *uri, int busy_timeout_ms)
{
    sv_db_options opt = {.busy_timeout_ms = busy_timeout_ms};
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_db_open(uri, &opt, &db, &err), "open", &err);
    sv_buf_release(&err);
    return db;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->t);
    f->db = open_uri(f->t.path, 5000);
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

static const char *const actions[] = {"read", "create", "search", "update", "history", "delete"};

/* Appends n records (seq 1..n), each in its own write transaction. */
static void build_chain(sv_db *db, int n)
{
    for (int i = 1; i <= n; i++) {
        char id[16];
        snprintf(id, sizeof(id), "p%d", i);
        sv_audit_record rec = {.time_ms = 1700000000000 + i,
                               .citizen = i % 3 ? id : NULL,
                               .action = actions[i % 6],
                               .resource_type = "Patient",
                               .resource_id = id,
                               .resource_version = i % 2 ? i : 0,
                               .outcome = 200};
        sv_audit_record_set_actor(&rec, &sv_audit_anonymous);
        sv_buf err = SV_BUF_INIT;
        tmpdb_check(sv_db_begin(db, SV_TX_WRITE, &err), "begin", &err);
        int64_t seq = 0;
        tmpdb_check(sv_audit_append(db, &rec, &seq, &err), "append", &err);
        tmpdb_check(sv_db_commit(db, &err), "commit", &err);
        assert_int_equal(seq, i);
        sv_buf_release(&err);
    }
}

static sv_audit_report verify(sv_db *db)
{
    sv_audit_report rep;
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_audit_verify(db, &rep, &err), "verify", &err);
    sv_buf_release(&err);
    return rep;
}

/* Runs tampering SQL with the append-only triggers out of the way, as an
 * attacker with the file (or the database owner's role) would. */
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

static void test_clean_chain_verifies(void **state)
{
    fixture *f = *state;
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_OK); /* an empty log is a whole log */
    assert_int_equal(rep.records, 0);
    build_chain(f->db, 10);
    rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_OK);
    assert_int_equal(rep.records, 10);
    assert_int_equal(rep.head_records, 10);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit"), 10);
    /* every hash is the one recomputed from the fields, and links to the one before */
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit a JOIN audit b"
                                      " ON b.seq = a.seq + 1 WHERE b.prev_hash = a.hash"),
                     9);
}

static void test_triggers_refuse_update_and_delete(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 3);
    sv_buf err = SV_BUF_INIT;
    assert_int_not_equal(sv_db_exec(f->db, "UPDATE audit SET outcome = 404 WHERE seq = 2", &err),
                         SV_OK);
    sv_buf_reset(&err);
    assert_int_not_equal(sv_db_exec(f->db, "DELETE FROM audit WHERE seq = 2", &err), SV_OK);
    sv_buf_release(&err);
    assert_int_equal(verify(f->db).problem, SV_AUDIT_OK);
}

static void test_changed_field_named(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 10);
    tamper(f->db, "UPDATE audit SET citizen = 'someone-else' WHERE seq = 6");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_CHANGED);
    assert_int_equal(rep.seq, 6);
}

static void test_changed_null_and_number_named(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 10);
    /* NULL and "" differ; so does a version number */
    tamper(f->db, "UPDATE audit SET organisation = '' WHERE seq = 4");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_CHANGED);
    assert_int_equal(rep.seq, 4);
    tamper(f->db, "UPDATE audit SET organisation = NULL WHERE seq = 4");
    assert_int_equal(verify(f->db).problem, SV_AUDIT_OK);
    tamper(f->db, "UPDATE audit SET time = time + 1 WHERE seq = 2");
    rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_CHANGED);
    assert_int_equal(rep.seq, 2);
}

static void test_rehashed_change_breaks_next_link(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 10);
    /* A forger who also rewrites the changed record's hash cannot rewrite the
     * next record's previous hash without changing that one too. */
    tamper(f->db, "UPDATE audit SET action = 'search', hash = 'x' WHERE seq = 5");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_CHANGED);
    assert_int_equal(rep.seq, 5);
}

static void test_deleted_record_named(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 10);
    tamper(f->db, "DELETE FROM audit WHERE seq = 4");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_UNLINKED);
    assert_int_equal(rep.seq, 5);
    assert_int_equal(rep.prev_seq, 3);
}

static void test_deleted_first_record_named(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 5);
    tamper(f->db, "DELETE FROM audit WHERE seq = 1");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_UNLINKED);
    assert_int_equal(rep.seq, 2);
    assert_int_equal(rep.prev_seq, 0);
}

static void test_swapped_records_named(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 10);
    tamper(f->db, "UPDATE audit SET seq = -1 WHERE seq = 3;"
                  "UPDATE audit SET seq = 3 WHERE seq = 7;"
                  "UPDATE audit SET seq = 7 WHERE seq = -1");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_UNLINKED);
    assert_int_equal(rep.seq, 3);
    assert_int_equal(rep.prev_seq, 2);
}

static void test_swapped_neighbours_named(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 10);
    tamper(f->db, "UPDATE audit SET seq = -1 WHERE seq = 8;"
                  "UPDATE audit SET seq = 8 WHERE seq = 9;"
                  "UPDATE audit SET seq = 9 WHERE seq = -1");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_UNLINKED);
    assert_int_equal(rep.seq, 8);
    assert_int_equal(rep.prev_seq, 7);
}

static void test_truncated_tail_found_by_head(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 10);
    /* The chain alone cannot show this: records 1..7 still link perfectly. */
    tamper(f->db, "DELETE FROM audit WHERE seq > 7");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_TRUNCATED);
    assert_int_equal(rep.records, 7);
    assert_int_equal(rep.seq, 7);
    assert_int_equal(rep.head_records, 10);
    assert_int_equal(rep.head_seq, 10);
}

static void test_truncated_to_nothing_found(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 4);
    tamper(f->db, "DELETE FROM audit");
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_TRUNCATED);
    assert_int_equal(rep.records, 0);
    assert_int_equal(rep.head_records, 4);
}

static void test_appends_after_tampering_stay_broken(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 5);
    tamper(f->db, "DELETE FROM audit WHERE seq = 5");
    /* The next append chains on the head, i.e. on the deleted record's hash. */
    sv_audit_record rec = {.time_ms = 1, .action = "read", .outcome = 200};
    sv_audit_record_set_actor(&rec, NULL);
    assert_string_equal(rec.principal_kind, "system");
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_db_begin(f->db, SV_TX_WRITE, &err), "begin", &err);
    tmpdb_check(sv_audit_append(f->db, &rec, NULL, &err), "append", &err);
    tmpdb_check(sv_db_commit(f->db, &err), "commit", &err);
    sv_buf_release(&err);
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_UNLINKED);
    assert_int_equal(rep.seq, 6);
    assert_int_equal(rep.prev_seq, 4);
}

static void test_append_needs_transaction_and_rolls_back(void **state)
{
    fixture *f = *state;
    sv_audit_record rec = {.time_ms = 1, .action = "read", .outcome = 200};
    sv_audit_record_set_actor(&rec, &sv_audit_anonymous);
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_audit_append(f->db, &rec, NULL, &err), SV_ERR_INTERNAL);
    build_chain(f->db, 2);
    tmpdb_check(sv_db_begin(f->db, SV_TX_WRITE, &err), "begin", &err);
    tmpdb_check(sv_audit_append(f->db, &rec, NULL, &err), "append", &err);
    sv_db_rollback(f->db);
    sv_buf_release(&err);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit"), 2);
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_OK);
    assert_int_equal(rep.records, 2);
}

static void test_append_fault_leaves_chain_whole(void **state)
{
    fixture *f = *state;
    build_chain(f->db, 2);
    sv_audit_record rec = {.time_ms = 1, .action = "create", .outcome = 201};
    sv_audit_record_set_actor(&rec, &sv_audit_anonymous);
    /* Fail each backend call of begin + append + commit in turn. */
    for (int nth = 1; nth <= 8; nth++) {
        sv_buf err = SV_BUF_INIT;
        sv_db_fault_inject(f->db, nth, SV_ERR_IO);
        sv_err e = sv_db_begin(f->db, SV_TX_WRITE, &err);
        if (!e)
            e = sv_audit_append(f->db, &rec, NULL, &err);
        if (!e)
            e = sv_db_commit(f->db, &err);
        if (e)
            sv_db_rollback(f->db);
        sv_db_fault_inject(f->db, 0, SV_OK);
        sv_buf_release(&err);
        assert_int_equal(verify(f->db).problem, SV_AUDIT_OK);
    }
}

typedef struct worker {
    const char *path;
    int n;
} worker;

static void *append_many(void *arg)
{
    worker *w = arg;
    sv_db *db = open_uri(w->path, 20000);
    sv_buf err = SV_BUF_INIT;
    for (int i = 0; i < w->n; i++) {
        sv_audit_record rec = {.time_ms = i, .action = "read", .outcome = 200};
        sv_audit_record_set_actor(&rec, &sv_audit_anonymous);
        tmpdb_check(sv_db_begin(db, SV_TX_WRITE, &err), "begin", &err);
        tmpdb_check(sv_audit_append(db, &rec, NULL, &err), "append", &err);
        tmpdb_check(sv_db_commit(db, &err), "commit", &err);
    }
    sv_buf_release(&err);
    sv_db_close(db);
    return NULL;
}

static void test_concurrent_appends_form_one_chain(void **state)
{
    fixture *f = *state;
    enum { THREADS = 4, EACH = 50 };
    pthread_t t[THREADS];
    worker w = {.path = f->t.path, .n = EACH};
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, append_many, &w), 0);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_OK);
    assert_int_equal(rep.records, THREADS * EACH);
    assert_int_equal(tmpdb_int(f->db, "SELECT MAX(seq) FROM audit"), THREADS * EACH);
}

/* Pages of 3: a chain of 10 verifies whole, and a record deleted at a page's
 * edge is still named. */
static void test_walk_in_pages(void **state)
{
    fixture *f = *state;
    sv__audit_walk_page(3);
    build_chain(f->db, 10);
    sv_audit_report rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_OK);
    assert_int_equal(rep.records, 10);
    tamper(f->db, "DELETE FROM audit WHERE seq = 4");
    rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_UNLINKED);
    assert_int_equal(rep.seq, 5);
    assert_int_equal(rep.prev_seq, 3);
    tamper(f->db, "DELETE FROM audit WHERE seq >= 4");
    rep = verify(f->db);
    assert_int_equal(rep.problem, SV_AUDIT_TRUNCATED);
    sv__audit_walk_page(0);
}

static void test_hash_covers_every_field(void **state)
{
    (void)state;
    sv_audit_record base = {.time_ms = 5,
                            .principal_kind = "practitioner",
                            .principal_id = "u1",
                            .organisation = "o1",
                            .role = "nurse",
                            .citizen = "p1",
                            .action = "read",
                            .resource_type = "Observation",
                            .resource_id = "x",
                            .resource_version = 2,
                            .purpose = "TREAT",
                            .outcome = 200};
    char h0[SV_AUDIT_HASH_HEX + 1], h[SV_AUDIT_HASH_HEX + 1];
    const char *prev = "0000000000000000000000000000000000000000000000000000000000000000";
    sv_audit_hash(&base, 1, prev, h0);
    assert_int_equal(strlen(h0), SV_AUDIT_HASH_HEX);
    sv_audit_record r;
    const char **texts[] = {&r.principal_kind, &r.principal_id, &r.organisation,
                            &r.role,           &r.citizen,      &r.action,
                            &r.resource_type,  &r.resource_id,  &r.purpose};
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        r = base;
        *texts[i] = "other";
        sv_audit_hash(&r, 1, prev, h);
        assert_string_not_equal(h, h0);
        r = base;
        *texts[i] = NULL;
        sv_audit_hash(&r, 1, prev, h);
        assert_string_not_equal(h, h0);
    }
    r = base;
    r.time_ms = 6;
    sv_audit_hash(&r, 1, prev, h);
    assert_string_not_equal(h, h0);
    r = base;
    r.resource_version = 0;
    sv_audit_hash(&r, 1, prev, h);
    assert_string_not_equal(h, h0);
    r = base;
    r.outcome = 404;
    sv_audit_hash(&r, 1, prev, h);
    assert_string_not_equal(h, h0);
    sv_audit_hash(&base, 2, prev, h);
    assert_string_not_equal(h, h0);
    sv_audit_hash(&base, 1, "1111", h);
    assert_string_not_equal(h, h0);
    /* moving a boundary between two fields changes the hash (length prefixes) */
    r = base;
    r.organisation = "o1n";
    r.role = "urse";
    sv_audit_hash(&r, 1, prev, h);
    assert_string_not_equal(h, h0);
}

/* The serialisation as docs/access.md and store/audit.c describe it, written here
 * independently: records already in a log must keep verifying whatever the code that
 * hashes them looks like. */
static void spec_text(sv_buf *b, const char *s)
{
    if (s)
        sv_buf_addf(b, "s%zu:%s\n", strlen(s), s);
    else
        sv_buf_adds(b, "n\n");
}

static void spec_int(sv_buf *b, int64_t v, bool is_null)
{
    if (is_null)
        sv_buf_adds(b, "n\n");
    else
        sv_buf_addf(b, "i%lld\n", (long long)v);
}

static void spec_hash(const sv_audit_record *r, int64_t seq, const char *prev,
                      char ret[SV_AUDIT_HASH_HEX + 1])
{
    sv_buf b = SV_BUF_INIT;
    sv_buf_adds(&b, r->reason ? "sv-audit-2\n" : "sv-audit-1\n");
    spec_int(&b, seq, false);
    spec_int(&b, r->time_ms, false);
    spec_text(&b, r->principal_kind);
    spec_text(&b, r->principal_id);
    spec_text(&b, r->organisation);
    spec_text(&b, r->role);
    spec_text(&b, r->citizen);
    spec_text(&b, r->action);
    spec_text(&b, r->resource_type);
    spec_text(&b, r->resource_id);
    spec_int(&b, r->resource_version, r->resource_version == 0);
    spec_text(&b, r->purpose);
    spec_int(&b, r->outcome, false);
    if (r->reason)
        spec_text(&b, r->reason);
    spec_text(&b, prev);
    unsigned char out[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(out, (const unsigned char *)b.ptr, b.len);
    sodium_bin2hex(ret, SV_AUDIT_HASH_HEX + 1, out, sizeof(out));
    sv_buf_release(&b);
}

static void test_hash_is_the_documented_serialisation(void **state)
{
    (void)state;
    char long_text[3000];
    memset(long_text, 'x', sizeof(long_text) - 1);
    long_text[sizeof(long_text) - 1] = '\0';
    sv_audit_record recs[] = {
        {.time_ms = 1700000000123,
         .principal_kind = "practitioner",
         .principal_id = "u1",
         .organisation = "o1",
         .role = "nurse",
         .citizen = "p1",
         .action = "read",
         .resource_type = "Observation",
         .resource_id = "x",
         .resource_version = 2,
         .purpose = "TREAT",
         .outcome = 200},
        {.time_ms = -5, .principal_kind = "anonymous", .action = "search", .outcome = 0},
        {.time_ms = 0,
         .principal_kind = "practitioner",
         .citizen = "",
         .action = "read",
         .resource_id = "9",
         .resource_version = INT64_MIN,
         .outcome = -1,
         .reason = "break \"the\" glass\n"},
        {.time_ms = INT64_MAX,
         .principal_kind = "system",
         .action = "export",
         .resource_id = long_text,
         .reason = long_text,
         .resource_version = INT64_MAX,
         .outcome = 500},
    };
    const int64_t seqs[] = {1, 42, 9999999999, INT64_MAX};
    const char *prevs[] = {"0000000000000000000000000000000000000000000000000000000000000000",
                           "abc", "", long_text};
    for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
        char want[SV_AUDIT_HASH_HEX + 1], got[SV_AUDIT_HASH_HEX + 1];
        spec_hash(&recs[i], seqs[i], prevs[i], want);
        sv_audit_hash(&recs[i], seqs[i], prevs[i], got);
        assert_string_equal(got, want);
    }
}

static void test_citizen_of(void **state)
{
    fixture *f = *state;
    sv_buf err = SV_BUF_INIT;
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "_compartment", "Patient", "p9", "Patient/p9");
    sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "_compartment", "Patient", "p2", "Patient/p2");
    tmpdb_check(sv_db_begin(f->db, SV_TX_WRITE, &err), "begin", &err);
    tmpdb_check(sv_store_write(f->db, "Observation", "o1", 1, 1, "PUT", "{}", 2, &rows, &err),
                "write", &err);
    tmpdb_check(sv_store_write(f->db, "Organization", "org", 1, 1, "PUT", "{}", 2, NULL, &err),
                "write", &err);
    tmpdb_check(sv_db_commit(f->db, &err), "commit", &err);
    sv_index_rows_clear(&rows);
    char c[65];
    assert_int_equal(sv_audit_citizen_of(f->db, "Observation", "o1", c, &err), SV_OK);
    assert_string_equal(c, "p2"); /* the smallest id, as writes pick it */
    assert_int_equal(sv_audit_citizen_of(f->db, "Organization", "org", c, &err), SV_OK);
    assert_string_equal(c, "");
    assert_int_equal(sv_audit_citizen_of(f->db, "Patient", "p7", c, &err), SV_OK);
    assert_string_equal(c, "p7");
    assert_int_equal(sv_audit_citizen_of(f->db, "Observation", "missing", c, &err), SV_OK);
    assert_string_equal(c, "");
    sv_buf_release(&err);
}

int main(void)
{
    TMPDB_SKIP_WITHOUT_BACKEND("store/test_audit_postgres");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_clean_chain_verifies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_triggers_refuse_update_and_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_field_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_changed_null_and_number_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rehashed_change_breaks_next_link, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_record_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deleted_first_record_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_records_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swapped_neighbours_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_tail_found_by_head, setup, teardown),
        cmocka_unit_test_setup_teardown(test_truncated_to_nothing_found, setup, teardown),
        cmocka_unit_test_setup_teardown(test_appends_after_tampering_stay_broken, setup, teardown),
        cmocka_unit_test_setup_teardown(test_append_needs_transaction_and_rolls_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_append_fault_leaves_chain_whole, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_appends_form_one_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(test_walk_in_pages, setup, teardown),
        cmocka_unit_test(test_hash_covers_every_field),
        cmocka_unit_test(test_hash_is_the_documented_serialisation),
        cmocka_unit_test_setup_teardown(test_citizen_of, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
