/*
 * test_audit_query.c - unit tests for store/audit_query.c and the reason column:
 * records list newest first (by time, then seq, also when a later seq has an
 * earlier time, as queued reads do), one citizen's or all, the citizens' own left
 * out on request, date bounds, one record by seq, keyset pages that neither skip
 * nor repeat, counts; a record with a reason hashes under its own tag, the reason
 * is covered by the hash, and a chain mixing both verifies.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "../db/tmpdb.h"
#include "store/audit.h"
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
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
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

static void append(sv_db *db, int64_t time, const char *kind, const char *citizen,
                   const char *reason)
{
    sv_audit_record rec = {.time_ms = time,
                           .principal_kind = kind,
                           .principal_id = "u",
                           .citizen = citizen,
                           .action = "read",
                           .outcome = 200,
                           .reason = reason};
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_db_begin(db, SV_TX_WRITE, &err), "begin", &err);
    tmpdb_check(sv_audit_append(db, &rec, NULL, &err), "append", &err);
    tmpdb_check(sv_db_commit(db, &err), "commit", &err);
    sv_buf_release(&err);
}

typedef struct seen {
    int64_t seq[32];
    size_t n;
} seen;

static bool keep(void *ctx, int64_t seq, const sv_audit_record *rec)
{
    (void)rec;
    seen *s = ctx;
    s->seq[s->n++] = seq;
    return true;
}

static seen list(sv_db *db, const sv_audit_query *q)
{
    seen s = {0};
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_audit_list(db, q, keep, &s, &err), "list", &err);
    sv_buf_release(&err);
    return s;
}

static sv_audit_query query(void)
{
    return (sv_audit_query){.from = INT64_MIN, .to = INT64_MAX, .limit = 100};
}

/* seq 1..6: times 100, 300, 200 (a queued read appended late), 300, 400, 50 */
static void world(sv_db *db)
{
    append(db, 100, "practitioner", "x", NULL);
    append(db, 300, "citizen", "x", NULL);
    append(db, 200, "practitioner", "x", NULL);
    append(db, 300, "practitioner", "y", NULL);
    append(db, 400, "admin", NULL, NULL);
    append(db, 50, "relative", "x", "because");
}

static void test_order_filters_count(void **state)
{
    fixture *f = *state;
    world(f->db);
    sv_audit_query q = query();
    seen s = list(f->db, &q);
    int64_t all[] = {5, 4, 2, 3, 1, 6};
    assert_int_equal(s.n, 6);
    assert_memory_equal(s.seq, all, sizeof(all));

    q.citizen = "x";
    s = list(f->db, &q);
    int64_t x[] = {2, 3, 1, 6};
    assert_int_equal(s.n, 4);
    assert_memory_equal(s.seq, x, sizeof(x));
    int64_t n = 0;
    assert_int_equal(sv_audit_count(f->db, &q, &n, NULL), SV_OK);
    assert_int_equal(n, 4);

    q.others_only = true; /* not the citizen's own */
    s = list(f->db, &q);
    int64_t others[] = {3, 1, 6};
    assert_int_equal(s.n, 3);
    assert_memory_equal(s.seq, others, sizeof(others));

    q = query();
    q.from = 100;
    q.to = 300; /* [100, 300) */
    s = list(f->db, &q);
    int64_t window[] = {3, 1};
    assert_int_equal(s.n, 2);
    assert_memory_equal(s.seq, window, sizeof(window));

    q = query();
    q.seq = 4;
    s = list(f->db, &q);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.seq[0], 4);
    q.citizen = "x"; /* seq 4 is about y */
    assert_int_equal(list(f->db, &q).n, 0);
}

static void test_keyset_pages(void **state)
{
    fixture *f = *state;
    world(f->db);
    sv_audit_query q = query();
    q.limit = 1;
    int64_t got[8], times[] = {400, 300, 300, 200, 100, 50};
    size_t n = 0;
    for (;;) {
        seen s = list(f->db, &q);
        if (!s.n)
            break;
        assert_true(n < 8);
        got[n] = s.seq[0];
        q.after_time = times[n];
        q.after_seq = s.seq[0];
        n++;
    }
    int64_t want[] = {5, 4, 2, 3, 1, 6};
    assert_int_equal(n, 6);
    assert_memory_equal(got, want, sizeof(want));
}

static void test_reason_in_hash(void **state)
{
    fixture *f = *state;
    sv_audit_record a = {.time_ms = 1, .principal_kind = "practitioner", .action = "x"};
    sv_audit_record b = a;
    b.reason = "";
    sv_audit_record c = a;
    c.reason = "why";
    char ha[65], hb[65], hc[65];
    sv_audit_hash(&a, 1, "0", ha);
    sv_audit_hash(&b, 1, "0", hb);
    sv_audit_hash(&c, 1, "0", hc);
    assert_string_not_equal(ha, hb); /* "" is a reason, NULL is none */
    assert_string_not_equal(hb, hc);
    world(f->db);
    sv_audit_report rep;
    assert_int_equal(sv_audit_verify(f->db, &rep, NULL), SV_OK);
    assert_int_equal(rep.problem, SV_AUDIT_OK);
    assert_int_equal(rep.records, 6);
    /* the reason is covered: changing it breaks record 6 */
    assert_int_equal(sv_db_exec(f->db, "DROP TRIGGER audit_no_update", NULL), SV_OK);
    assert_int_equal(sv_db_exec(f->db, "UPDATE audit SET reason = 'other' WHERE seq = 6", NULL),
                     SV_OK);
    assert_int_equal(sv_audit_verify(f->db, &rep, NULL), SV_OK);
    assert_int_equal(rep.problem, SV_AUDIT_CHANGED);
    assert_int_equal(rep.seq, 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_filters_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_keyset_pages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reason_in_hash, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
