/*
 * test_listen.c - what the notification push rests on (db.h):
 * sv_db_after_commit runs after a commit only (any backend; here SQLite), and
 * on PostgreSQL ($SAMVERKA_TEST_PG) sv_db_listen hands over what a committed
 * transaction sent with pg_notify, not what a rolled-back one sent, and after
 * its connection is killed reconnects, says so (payload NULL) and goes on.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "db/db.h"
#include "pgtest.h"

static int after_commit_calls;
static void count_commit(void)
{
    after_commit_calls++;
}

static void test_after_commit_only_after_a_commit(void **state)
{
    (void)state;
    sv_db *db = NULL;
    assert_int_equal(sv_db_open(":memory:", NULL, &db, NULL), SV_OK);
    after_commit_calls = 0;
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    sv_db_after_commit(db, count_commit);
    sv_db_after_commit(db, count_commit); /* the same function runs once */
    assert_int_equal(after_commit_calls, 0);
    sv_db_rollback(db);
    assert_int_equal(after_commit_calls, 0);
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(after_commit_calls, 0); /* the rolled-back request is gone */
    sv_db_after_commit(db, count_commit);
    sv_db_after_commit(db, count_commit);
    assert_int_equal(sv_db_commit(db, NULL), SV_OK);
    assert_int_equal(after_commit_calls, 1);
    sv_db_after_commit(db, count_commit); /* outside a transaction: at once */
    assert_int_equal(after_commit_calls, 2);
    sv_db_close(db);
}

static void test_listen_refuses_sqlite_and_bad_channels(void **state)
{
    (void)state;
    sv_db_listener *l = NULL;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_listen("sqlite::memory:", "sv_x", NULL, NULL, &l, &err),
                     SV_ERR_UNSUPPORTED);
    assert_int_equal(sv_db_listen("postgres://127.0.0.1:1/x", "bad\"name", NULL, NULL, &l, &err),
                     SV_ERR_INVALID);
    assert_null(l);
    sv_buf_release(&err);
}

/* What the listener handed over, for the test thread to wait on. */
typedef struct heard {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    char payloads[8][32]; /* "" for a NULL payload (reconnected) */
    int n;
} heard;

static void on_notice(void *ctx, const char *payload)
{
    heard *h = ctx;
    pthread_mutex_lock(&h->lock);
    if (h->n < 8)
        snprintf(h->payloads[h->n++], sizeof(h->payloads[0]), "%s", payload ? payload : "");
    pthread_cond_broadcast(&h->cond);
    pthread_mutex_unlock(&h->lock);
}

/* Waits until n payloads came (a bound only so a broken listener cannot hang ctest). */
static int wait_for(heard *h, int n)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 60;
    pthread_mutex_lock(&h->lock);
    while (h->n < n && pthread_cond_timedwait(&h->cond, &h->lock, &until) == 0)
        ;
    int got = h->n;
    pthread_mutex_unlock(&h->lock);
    return got;
}

static void exec_ok(sv_db *db, const char *sql)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_exec(db, sql, &err);
    if (e)
        fail_msg("%s: %s", sql, err.ptr);
    sv_buf_release(&err);
}

static void test_listen_hears_commits_only_and_reconnects(void **state)
{
    (void)state;
    char uri[512];
    pgtest_create(uri, sizeof(uri));
    heard h = {.n = 0};
    pthread_mutex_init(&h.lock, NULL);
    pthread_cond_init(&h.cond, NULL);
    sv_db_listener *l = NULL;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_listen(uri, "sv_test_channel", on_notice, &h, &l, &err), SV_OK);
    sv_db *db = pgtest_open(uri);

    /* PostgreSQL delivers in commit order: a delivered rollback would come first. */
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    exec_ok(db, "SELECT pg_notify('sv_test_channel', 'rolled back')");
    sv_db_rollback(db);
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    exec_ok(db, "SELECT pg_notify('sv_test_channel', 'committed')");
    assert_int_equal(sv_db_commit(db, NULL), SV_OK);
    assert_int_equal(wait_for(&h, 1), 1);
    assert_string_equal(h.payloads[0], "committed");

    /* Kill the listening connection: it comes back and says so once. */
    exec_ok(db, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND query LIKE 'LISTEN %'");
    assert_int_equal(wait_for(&h, 2), 2);
    assert_string_equal(h.payloads[1], "");
    exec_ok(db, "SELECT pg_notify('sv_test_channel', 'after')");
    assert_int_equal(wait_for(&h, 3), 3);
    assert_string_equal(h.payloads[2], "after");

    sv_db_close(db);
    sv_db_listener_stop(l);
    sv_buf_release(&err);
    pthread_cond_destroy(&h.cond);
    pthread_mutex_destroy(&h.lock);
    pgtest_destroy(uri);
}

int main(void)
{
    const struct CMUnitTest any_backend[] = {
        cmocka_unit_test(test_after_commit_only_after_a_commit),
        cmocka_unit_test(test_listen_refuses_sqlite_and_bad_channels),
    };
    int failed = cmocka_run_group_tests_name("after commit", any_backend, NULL, NULL);
    if (!pgtest_admin_uri("db/test_listen (listen)"))
        return failed;
    const struct CMUnitTest postgres_only[] = {
        cmocka_unit_test(test_listen_hears_commits_only_and_reconnects),
    };
    return failed + cmocka_run_group_tests_name("listen", postgres_only, NULL, NULL);
}
