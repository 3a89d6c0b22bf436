/*
 * test_group_commit.c - the SQLite driver's group commit (src/db/sqlite_group.c):
 * concurrent write transactions on one database file share durable commits, each
 * stays atomic, sees its own writes and those of the transactions before it in
 * its group, and a failing one leaves the others of its group untouched.
 *
 * No timing: the first transaction holds the writer until the driver's own
 * counter says the others are all waiting for their turn, so they form one group
 * whatever the scheduler does.
 */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "tmpdb.h"

#define WRITERS 8 /* besides the first transaction */

static const char SQL_CREATE[] = "CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)";
static const char SQL_INSERT[] = "INSERT INTO t (k, v) VALUES (?, ?)";
static const char SQL_FIRST_SEEN[] = "SELECT COUNT(*) FROM t WHERE k = 0";
static const char SQL_OWN_SEEN[] = "SELECT COUNT(*) FROM t WHERE k = ?";
static const char SQL_ROWS[] = "SELECT COUNT(*) FROM t";

typedef enum behaviour {
    COMMITS,          /* inserts k, commits */
    FAILS_CONSTRAINT, /* inserts 100 + k, then k = 0 (taken by the first transaction) */
    ROLLS_BACK,       /* inserts k, then rolls back */
} behaviour;

typedef struct writer {
    pthread_t thread;
    sv_db *db;
    int k;
    behaviour what;
    /* results, read by the main thread after the join */
    sv_err begin, insert, commit;
    int64_t saw_first; /* rows with k = 0 seen inside the transaction */
    int64_t saw_own;   /* rows with its own k seen inside the transaction, after inserting */
} writer;

static sv_err insert(sv_db *db, int64_t k)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_INSERT, &st, NULL);
    if (!e)
        e = sv_stmt_bind_int64(st, 1, k);
    if (!e)
        e = sv_stmt_bind_text(st, 2, "row");
    if (!e)
        e = sv_stmt_run(st, NULL);
    return e;
}

static int64_t count_of(sv_db *db, const char *sql, int64_t k)
{
    sv_stmt *st = NULL;
    bool row = false;
    int64_t n = -1;
    if (sv_db_stmt(db, sql, &st, NULL) == SV_OK &&
        (sql != SQL_OWN_SEEN || !sv_stmt_bind_int64(st, 1, k)) &&
        sv_stmt_step(st, &row, NULL) == SV_OK && row)
        n = sv_stmt_column_int64(st, 0);
    if (st)
        sv_stmt_reset(st);
    return n;
}

static void *run_writer(void *arg)
{
    writer *w = arg;
    w->begin = sv_db_begin(w->db, SV_TX_WRITE, NULL);
    if (w->begin)
        return NULL;
    w->saw_first = count_of(w->db, SQL_FIRST_SEEN, 0);
    switch (w->what) {
    case COMMITS:
        w->insert = insert(w->db, w->k);
        w->saw_own = count_of(w->db, SQL_OWN_SEEN, w->k);
        w->commit = w->insert ? SV_ERR_INTERNAL : sv_db_commit(w->db, NULL);
        if (w->insert)
            sv_db_rollback(w->db);
        break;
    case FAILS_CONSTRAINT:
        w->insert = insert(w->db, 100 + w->k);
        w->saw_own = count_of(w->db, SQL_OWN_SEEN, 100 + w->k);
        if (!w->insert)
            w->insert = insert(w->db, 0);
        sv_db_rollback(w->db); /* what a caller does with a failed statement */
        break;
    case ROLLS_BACK:
        w->insert = insert(w->db, w->k);
        w->saw_own = count_of(w->db, SQL_OWN_SEEN, w->k);
        sv_db_rollback(w->db);
        break;
    }
    return NULL;
}

typedef struct fixture {
    tmpdb file;
    sv_db *first;
    sv_db *observer;
    writer writers[WRITERS];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->file);
    f->first = tmpdb_open(&f->file, 30000);
    f->observer = tmpdb_open(&f->file, 30000);
    assert_int_equal(sv_db_exec(f->first, SQL_CREATE, NULL), SV_OK);
    for (int i = 0; i < WRITERS; i++) {
        f->writers[i].db = tmpdb_open(&f->file, 30000);
        f->writers[i].k = i + 1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    for (int i = 0; i < WRITERS; i++)
        sv_db_close(f->writers[i].db);
    sv_db_close(f->observer);
    sv_db_close(f->first);
    tmpdb_remove(&f->file);
    free(f);
    return 0;
}

/*
 * The first transaction inserts k = 0 and holds the writer until all WRITERS
 * threads wait for their turn; then it commits, and the others run one after
 * another on the writer.  Returns the commits and transactions counted meanwhile.
 */
static void run_group(fixture *f, sv_db_write_stats *ret_delta)
{
    sv_db_write_stats before, now;
    sv_db_write_stats_get(f->first, &before);
    assert_int_equal(sv_db_begin(f->first, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(insert(f->first, 0), SV_OK);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&f->writers[i].thread, NULL, run_writer, &f->writers[i]),
                         0);
    do {
        sched_yield();
        sv_db_write_stats_get(f->first, &now);
    } while (now.waiting < WRITERS);
    /* nothing of the group is visible outside it before its commit */
    assert_int_equal(tmpdb_int(f->observer, SQL_ROWS), 0);
    assert_int_equal(sv_db_commit(f->first, NULL), SV_OK);
    /* acknowledged: committed, so every other connection sees it */
    assert_int_equal(tmpdb_int(f->observer, SQL_FIRST_SEEN), 1);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_join(f->writers[i].thread, NULL), 0);
    sv_db_write_stats_get(f->first, &now);
    ret_delta->commits = now.commits - before.commits;
    ret_delta->transactions = now.transactions - before.transactions;
    ret_delta->syncs = now.syncs - before.syncs;
    ret_delta->waiting = now.waiting;
}

static void test_concurrent_transactions_share_commits(void **state)
{
    fixture *f = *state;
    sv_db_write_stats d;
    run_group(f, &d);
    assert_int_equal(d.transactions, WRITERS + 1);
    assert_true(d.commits < d.transactions);
    assert_int_equal(d.commits, 1); /* all of them were waiting: one group */
    assert_int_equal(d.syncs, 1);   /* made durable by one sync of the log */
    assert_int_equal(d.waiting, 0);
    for (int i = 0; i < WRITERS; i++) {
        writer *w = &f->writers[i];
        assert_int_equal(w->begin, SV_OK);
        assert_int_equal(w->insert, SV_OK);
        assert_int_equal(w->commit, SV_OK);
        assert_int_equal(w->saw_first, 1); /* the earlier transaction of its group */
        assert_int_equal(w->saw_own, 1);   /* its own write */
    }
    assert_int_equal(tmpdb_int(f->observer, SQL_ROWS), WRITERS + 1);
}

static void test_failing_transaction_leaves_its_group_alone(void **state)
{
    fixture *f = *state;
    f->writers[2].what = FAILS_CONSTRAINT;
    f->writers[5].what = ROLLS_BACK;
    sv_db_write_stats d;
    run_group(f, &d);
    assert_int_equal(f->writers[2].insert, SV_ERR_CONFLICT);
    assert_int_equal(f->writers[2].saw_own, 1); /* it did write, before it failed */
    assert_int_equal(f->writers[5].insert, SV_OK);
    assert_int_equal(d.transactions, WRITERS + 1 - 2);
    assert_int_equal(d.commits, 1);
    for (int i = 0; i < WRITERS; i++) {
        writer *w = &f->writers[i];
        assert_int_equal(w->begin, SV_OK);
        assert_int_equal(w->saw_first, 1);
        if (w->what == COMMITS)
            assert_int_equal(w->commit, SV_OK);
        assert_false(sv_db_in_tx(w->db));
        int64_t k = w->what == FAILS_CONSTRAINT ? 100 + w->k : w->k;
        assert_int_equal(count_of(f->observer, SQL_OWN_SEEN, k), w->what == COMMITS);
    }
    assert_int_equal(tmpdb_int(f->observer, SQL_ROWS), WRITERS + 1 - 2);
    /* the writer is usable afterwards, by a connection of the failed ones too */
    assert_int_equal(sv_db_begin(f->writers[2].db, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(insert(f->writers[2].db, 1000), SV_OK);
    assert_int_equal(sv_db_commit(f->writers[2].db, NULL), SV_OK);
    assert_int_equal(tmpdb_int(f->observer, SQL_ROWS), WRITERS + 1 - 2 + 1);
}

/* The first of a group runs without a savepoint: its rollback must not touch the
 * transactions queued behind it. */
static void test_first_of_group_rolls_back(void **state)
{
    fixture *f = *state;
    sv_db_write_stats before, now;
    sv_db_write_stats_get(f->first, &before);
    assert_int_equal(sv_db_begin(f->first, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(insert(f->first, 0), SV_OK);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_create(&f->writers[i].thread, NULL, run_writer, &f->writers[i]),
                         0);
    do {
        sched_yield();
        sv_db_write_stats_get(f->first, &now);
    } while (now.waiting < WRITERS);
    sv_db_rollback(f->first);
    for (int i = 0; i < WRITERS; i++)
        assert_int_equal(pthread_join(f->writers[i].thread, NULL), 0);
    sv_db_write_stats_get(f->first, &now);
    assert_int_equal(now.transactions - before.transactions, WRITERS);
    assert_int_equal(now.commits - before.commits, 1);
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(f->writers[i].commit, SV_OK);
        assert_int_equal(f->writers[i].saw_first, 0); /* rolled back before they ran */
        assert_int_equal(count_of(f->observer, SQL_OWN_SEEN, f->writers[i].k), 1);
    }
    assert_int_equal(tmpdb_int(f->observer, SQL_ROWS), WRITERS);
}

static void test_alone_commits_at_once(void **state)
{
    fixture *f = *state;
    sv_db_write_stats before, now;
    sv_db_write_stats_get(f->first, &before);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sv_db_begin(f->first, SV_TX_WRITE, NULL), SV_OK);
        assert_int_equal(insert(f->first, 10 + i), SV_OK);
        assert_int_equal(sv_db_commit(f->first, NULL), SV_OK);
        assert_int_equal(count_of(f->observer, SQL_OWN_SEEN, 10 + i), 1);
    }
    sv_db_write_stats_get(f->first, &now);
    assert_int_equal(now.transactions - before.transactions, 3);
    assert_int_equal(now.commits - before.commits, 3); /* nobody to wait for */
    /* each acknowledged only after a sync of the log that began after its commit */
    assert_int_equal(now.syncs - before.syncs, 3);
}

static const char SQL_INSERT_WIDE[] = "INSERT INTO t (k, v) VALUES (?, ?)";

/* The writer's auto-checkpoint is off; past 4,000 pages of log a thread of the
 * driver copies them into the database file, while writers go on. */
static void test_log_is_checkpointed_by_the_driver(void **state)
{
    fixture *f = *state;
    char wide[3000];
    memset(wide, 'x', sizeof(wide) - 1);
    wide[sizeof(wide) - 1] = '\0';
    struct stat before;
    assert_int_equal(stat(f->file.path, &before), 0);
    /* each row takes a page of its own (3 KB of 4 KB): 6,000 rows, 6,000 pages */
    for (int batch = 0; batch < 60; batch++) {
        assert_int_equal(sv_db_begin(f->first, SV_TX_WRITE, NULL), SV_OK);
        for (int i = 0; i < 100; i++) {
            sv_stmt *st = NULL;
            assert_int_equal(sv_db_stmt(f->first, SQL_INSERT_WIDE, &st, NULL), SV_OK);
            assert_int_equal(sv_stmt_bind_int64(st, 1, 10000 + batch * 100 + i), SV_OK);
            assert_int_equal(sv_stmt_bind_text(st, 2, wide), SV_OK);
            assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
        }
        assert_int_equal(sv_db_commit(f->first, NULL), SV_OK);
    }
    sv_db_write_stats now;
    do {
        sched_yield();
        sv_db_write_stats_get(f->first, &now);
    } while (now.checkpoints < 1);
    /* the pages of the first 4,000 frames (some are B-tree pages written by several
     * commits) are in the database file itself now, not only in the log */
    struct stat after;
    assert_int_equal(stat(f->file.path, &after), 0);
    assert_true(after.st_size >= before.st_size + 3500 * 4096);
    assert_int_equal(tmpdb_int(f->observer, SQL_ROWS), 6000);
}

/* Behind the thread alone the log never restarted under steady writes (a write
 * transaction must begin with every frame copied): the writer completes the
 * checkpoint once the log holds 16,000 frames, so that it restarts from its start. */
static void test_log_stays_bounded(void **state)
{
    fixture *f = *state;
    char wide[3000];
    memset(wide, 'y', sizeof(wide) - 1);
    wide[sizeof(wide) - 1] = '\0';
    /* 40,000 pages of rows, 400 commits */
    for (int batch = 0; batch < 400; batch++) {
        assert_int_equal(sv_db_begin(f->first, SV_TX_WRITE, NULL), SV_OK);
        for (int i = 0; i < 100; i++) {
            sv_stmt *st = NULL;
            assert_int_equal(sv_db_stmt(f->first, SQL_INSERT_WIDE, &st, NULL), SV_OK);
            assert_int_equal(sv_stmt_bind_int64(st, 1, 100000 + batch * 100 + i), SV_OK);
            assert_int_equal(sv_stmt_bind_text(st, 2, wide), SV_OK);
            assert_int_equal(sv_stmt_run(st, NULL), SV_OK);
        }
        assert_int_equal(sv_db_commit(f->first, NULL), SV_OK);
    }
    char wal[600];
    snprintf(wal, sizeof(wal), "%s-wal", f->file.path);
    struct stat log;
    assert_int_equal(stat(wal, &log), 0);
    /* a frame is a 4 KB page and its 24-byte header; without restarts: 40,000+ */
    assert_true(log.st_size < 24000 * (4096 + 24));
    assert_int_equal(tmpdb_int(f->observer, SQL_ROWS), 40000);
}

static void test_memory_database_has_no_group(void **state)
{
    (void)state;
    sv_db *db = NULL;
    assert_int_equal(sv_db_open(":memory:", NULL, &db, NULL), SV_OK);
    assert_int_equal(sv_db_exec(db, SQL_CREATE, NULL), SV_OK);
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(insert(db, 1), SV_OK);
    assert_int_equal(sv_db_commit(db, NULL), SV_OK);
    assert_int_equal(tmpdb_int(db, SQL_ROWS), 1);
    sv_db_write_stats s;
    sv_db_write_stats_get(db, &s);
    assert_int_equal(s.commits, 0);
    assert_int_equal(s.transactions, 0);
    sv_db_close(db);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    static const struct CMUnitTest tests[] = {
        T(test_concurrent_transactions_share_commits),
        T(test_failing_transaction_leaves_its_group_alone),
        T(test_first_of_group_rolls_back),
        T(test_alone_commits_at_once),
        T(test_log_is_checkpointed_by_the_driver),
        T(test_log_stays_bounded),
        cmocka_unit_test(test_memory_database_has_no_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
