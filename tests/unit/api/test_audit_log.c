/*
 * test_audit_log.c - unit tests for api/audit_log: queued read records are all
 * written by stop (a clean shutdown loses none), are written by the thread
 * within a second without a stop, copy their strings, and join the same chain
 * as records appended in write transactions; a queue longer than one flush
 * transaction is written whole and in order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <time.h>

#include "../db/tmpdb.h"
#include "api/audit_log.h"
#include "base/datetime.h"
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

static void add_reads(sv_audit_log *log, int n)
{
    for (int i = 0; i < n; i++) {
        char id[16];
        snprintf(id, sizeof(id), "p%d", i);
        sv_audit_record rec = {.time_ms = sv_clock_now_ms(),
                               .citizen = id,
                               .action = "read",
                               .resource_type = "Patient",
                               .resource_id = id,
                               .outcome = 200};
        sv_audit_record_set_actor(&rec, &sv_audit_anonymous);
        sv_audit_log_add(log, &rec);
        memset(id, 'x', sizeof(id) - 1); /* the queue holds its own copies */
    }
}

static void assert_chain(sv_db *db, int64_t records)
{
    sv_audit_report rep;
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_audit_verify(db, &rep, &err), "verify", &err);
    sv_buf_release(&err);
    assert_int_equal(rep.problem, SV_AUDIT_OK);
    assert_int_equal(rep.records, records);
}

static void test_stop_writes_everything(void **state)
{
    fixture *f = *state;
    sv_audit_log *log = NULL;
    assert_int_equal(sv_audit_log_start(f->file.path, 5000, &log, NULL), SV_OK);
    add_reads(log, 100);
    /* The thread first waits for its interval: only stop can have written these. */
    sv_audit_log_stop(log);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit"), 100);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit WHERE citizen = 'p7'"
                                      " AND resource_id = 'p7' AND action = 'read'"),
                     1);
    assert_chain(f->db, 100);
}

static void test_thread_flushes_within_a_second(void **state)
{
    fixture *f = *state;
    sv_audit_log *log = NULL;
    assert_int_equal(sv_audit_log_start(f->file.path, 5000, &log, NULL), SV_OK);
    add_reads(log, 10);
    int64_t t0 = sv_clock_now_ms(), n = 0;
    /* Polls the database beside the thread; bounded so that a thread that never
     * flushes fails instead of hanging. */
    while (sv_clock_now_ms() - t0 < 3000 &&
           (n = tmpdb_int(f->db, "SELECT COUNT(*) FROM audit")) < 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    int64_t took = sv_clock_now_ms() - t0;
    assert_int_equal(n, 10);
    assert_true(took < 1100);
    sv_audit_log_stop(log);
    assert_chain(f->db, 10);
}

static void test_queue_and_write_transactions_share_the_chain(void **state)
{
    fixture *f = *state;
    sv_audit_log *log = NULL;
    assert_int_equal(sv_audit_log_start(f->file.path, 5000, &log, NULL), SV_OK);
    add_reads(log, 5);
    sv_buf err = SV_BUF_INIT;
    sv_audit_record w = {.time_ms = 1, .action = "create", .outcome = 201};
    sv_audit_record_set_actor(&w, NULL);
    for (int i = 0; i < 5; i++) {
        tmpdb_check(sv_db_begin(f->db, SV_TX_WRITE, &err), "begin", &err);
        tmpdb_check(sv_audit_append(f->db, &w, NULL, &err), "append", &err);
        tmpdb_check(sv_db_commit(f->db, &err), "commit", &err);
        add_reads(log, 1);
    }
    sv_buf_release(&err);
    assert_int_equal(sv_audit_log_flush(log), SV_OK);
    sv_audit_log_stop(log);
    assert_chain(f->db, 15);
}

/* More records than the queue holds (QUEUE_MAX, 16,384) and one flush transaction takes
 * (FLUSH_MAX, 8,192): all written, in the order they were added, each field a copy of what
 * was added (NULLs kept). */
static void test_long_queue_written_in_order(void **state)
{
    fixture *f = *state;
    enum { N = 30000 };
    sv_audit_log *log = NULL;
    assert_int_equal(sv_audit_log_start(f->file.path, 5000, &log, NULL), SV_OK);
    for (int i = 0; i < N; i++) {
        char id[16], reason[16];
        snprintf(id, sizeof(id), "p%d", i % 100);
        snprintf(reason, sizeof(reason), "why %d", i);
        sv_audit_record rec = {.time_ms = 1700000000000 + i,
                               .citizen = i % 2 ? id : NULL,
                               .action = i % 3 ? "read" : "search",
                               .resource_type = "Patient",
                               .resource_id = id,
                               .resource_version = i + 1,
                               .outcome = 200,
                               .reason = i % 5 ? NULL : reason};
        sv_audit_record_set_actor(&rec, &sv_audit_anonymous);
        sv_audit_log_add(log, &rec);
    }
    assert_int_equal(sv_audit_log_flush(log), SV_OK);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit"), N);
    sv_audit_log_stop(log);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit a JOIN audit b"
                                      " ON b.seq = a.seq + 1"
                                      " WHERE b.resource_version <> a.resource_version + 1"),
                     0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit WHERE citizen IS NULL"), N / 2);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit WHERE reason IS NOT NULL"),
                     N / 5);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM audit WHERE resource_version = 29996"
                                      " AND reason = 'why 29995' AND citizen = 'p95'"
                                      " AND resource_id = 'p95' AND action = 'read'"
                                      " AND principal_kind = 'anonymous'"),
                     1);
    assert_chain(f->db, N);
}

static void test_stop_accepts_null(void **state)
{
    (void)state;
    sv_audit_log_stop(NULL);
    assert_int_equal(sv_audit_log_flush(NULL), SV_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_stop_writes_everything, setup, teardown),
        cmocka_unit_test_setup_teardown(test_thread_flushes_within_a_second, setup, teardown),
        cmocka_unit_test_setup_teardown(test_queue_and_write_transactions_share_the_chain, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_long_queue_written_in_order, setup, teardown),
        cmocka_unit_test(test_stop_accepts_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
