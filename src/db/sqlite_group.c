/*
 * sqlite_group.c - group commit for the SQLite backend: the write transactions of
 * one database file in this process share durable commits.
 *
 * With synchronous=FULL every COMMIT in WAL mode waits for one fsync of the log,
 * and SQLite lets only one writer in at a time, so N concurrent writers paid N
 * fsyncs one after another.  Here each file has a gate with one writer
 * connection.  A write transaction waits for its turn on the writer, runs there
 * (so its reads see its own writes and those of the transactions before it) -
 * inside SAVEPOINT sv_tx, unless it is the first of its group, for which the
 * outer transaction suffices - and at its end:
 *
 *  - if others are waiting for their turn, it releases its savepoint into the
 *    open outer transaction (the group), hands the writer on and sleeps until
 *    the group's commit is durable;
 *  - if the previous group's sync still runs, it does the same without anyone to
 *    hand on to: the group stays open for those who come next (its commit could
 *    not be durable before that sync ends anyway), and when the sync has ended
 *    one of its members commits it (commit_due);
 *  - otherwise (or when the group is full) it commits the group, hands the
 *    writer on, makes the commit durable - one sync of the log (sqlite_wal.c),
 *    while the next group already runs - and wakes every member with the
 *    outcome.
 *
 * A failing transaction rolls back to its savepoint only; the others in the group
 * are untouched.  If SQLite itself rolls back the outer transaction (I/O error,
 * disk full), or the COMMIT fails, every member gets the error: none of them was
 * acknowledged.  Writes stay serial, in one order, so If-Match checks and the
 * audit chain (store/audit.c) see one history.  Other processes are still kept
 * out by SQLite's file lock (BEGIN IMMEDIATE on the writer, with its busy timeout).
 *
 * Readers keep their own connections and see a transaction once its group has
 * committed: from then on its frames are in the log, and at most one sync later
 * its writer is told it succeeded.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/sqlite_int.h"

/* Bounds the wait of a group's first member when writers keep arriving. */
#define GROUP_MAX 64
/* The writer's page cache: 16 MB (SQLite's default is 2 MB).  Every write walks
 * some 45 B-trees (a MedCom admission: the resource, its index rows, the audit,
 * grants, notices, events); with 2 MB their inner pages did not stay, and the
 * writer read 59 pages a message from the OS (pread: 17 % of its CPU in perf, on
 * tmpfs).  16 MB: 14 a message.  It fills only as writes touch pages; readers keep
 * SQLite's default (docs/performance/medcom-writer.md, "The writer's page cache"). */
#define WRITER_CACHE "PRAGMA cache_size=-16384"

typedef struct group_member {
    sv_err result;
    bool done;
    struct group_member *next;
} group_member;

struct sv__write_gate {
    char *path;
    bool synchronous_off; /* a separate gate (and writer) for benchmark connections */
    int busy_timeout_ms;
    int refs; /* connections using the gate; under gates_lock */
    pthread_mutex_t mutex;
    pthread_cond_t turn;  /* busy became false */
    pthread_cond_t ended; /* a group's commit ended */
    sqlite_db *writer;    /* opened at the first write, closed with the last reference */
    sv__wal wal;          /* the writer's log: syncs and checkpoints (sqlite_wal.c) */
    bool busy;            /* a transaction or a group commit runs on writer */
    bool open;            /* writer's outer transaction is open; only the turn holder uses it */
    int waiting;          /* threads waiting for the turn */
    int members;          /* transactions released into the open group */
    int syncing;          /* committers of this gate in sv__wal_sync */
    bool commit_due;      /* the open group waited for a sync that has ended: commit it */
    group_member *sleepers;
    int64_t transactions, commits, joined;
    int64_t commit_ns; /* under mutex */
    sv__write_gate *next;
};

static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER;
static sv__write_gate *gates; /* open database files of this process */

sv__write_gate *sv__gate_acquire(const char *uri, const sv_db_options *opt)
{
    char real[PATH_MAX];
    if (strcmp(uri, ":memory:") == 0 || strncmp(uri, "file:", 5) == 0 || !realpath(uri, real))
        return NULL;
    pthread_mutex_lock(&gates_lock);
    sv__write_gate *g = gates;
    while (g && (strcmp(g->path, real) != 0 || g->synchronous_off != opt->synchronous_off))
        g = g->next;
    if (!g && (g = calloc(1, sizeof(*g))) != NULL) {
        g->path = strdup(real);
        if (!g->path) {
            free(g);
            g = NULL;
        } else {
            g->synchronous_off = opt->synchronous_off;
            g->busy_timeout_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000;
            pthread_mutex_init(&g->mutex, NULL);
            pthread_cond_init(&g->turn, NULL);
            pthread_cond_init(&g->ended, NULL);
            sv__wal_init(&g->wal, g->path, g->synchronous_off, g->busy_timeout_ms);
            g->next = gates;
            gates = g;
        }
    }
    if (g)
        g->refs++;
    pthread_mutex_unlock(&gates_lock);
    return g;
}

void sv__gate_release(sv__write_gate *g)
{
    if (!g)
        return;
    pthread_mutex_lock(&gates_lock);
    if (--g->refs > 0) {
        pthread_mutex_unlock(&gates_lock);
        return;
    }
    sv__write_gate **p = &gates;
    while (*p != g)
        p = &(*p)->next;
    *p = g->next;
    pthread_mutex_unlock(&gates_lock);
    /* No connection is left, so no transaction runs on the writer: closing it
     * here also lets a file deleted and created again get a fresh writer. */
    sv__wal_release(&g->wal);
    if (g->writer)
        sv_db_close(&g->writer->base);
    pthread_cond_destroy(&g->ended);
    pthread_cond_destroy(&g->turn);
    pthread_mutex_destroy(&g->mutex);
    free(g->path);
    free(g);
}

static struct timespec deadline_after(int ms)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    int64_t ns = t.tv_nsec + (int64_t)ms * 1000000;
    t.tv_sec += ns / 1000000000;
    t.tv_nsec = ns % 1000000000;
    return t;
}

/* Statements of the writer still stepping (a SELECT read to its first row) keep
 * a read open on it; reset them so that each transaction leaves it clean. */
static void reset_busy_statements(sqlite3 *h)
{
    for (sqlite3_stmt *st = sqlite3_next_stmt(h, NULL); st; st = sqlite3_next_stmt(h, st))
        if (sqlite3_stmt_busy(st))
            sqlite3_reset(st);
}

/*
 * Called with g->mutex held by the turn holder: commits the open group (or rolls
 * back what is left of it), hands the turn on, makes the commit durable and wakes
 * the group's members with the outcome, which it also returns.  The mutex is
 * held again on return.
 */
static sv_err commit_group(sv__write_gate *g)
{
    sqlite3 *w = g->writer->handle;
    /* SQLite rolls the whole transaction back on some errors (I/O, disk full). */
    bool lost = g->open && sqlite3_get_autocommit(w);
    group_member *sleepers = g->sleepers;
    int members = g->members;
    g->sleepers = NULL;
    g->members = 0;
    g->commit_due = false;
    pthread_mutex_unlock(&g->mutex);

    sv_err e = SV_OK;
    int64_t written = 0, commit_ns = 0;
    if (lost) {
        e = SV_ERR_IO;
    } else if (g->open && members > 0) {
        int64_t began = sv__monotonic_ns();
        e = sv__sqlite_run_kept(g->writer, SV__COMMIT, NULL);
        commit_ns = sv__monotonic_ns() - began;
        if (e)
            sv__sqlite_run(w, "ROLLBACK", NULL);
        else
            written = sv__wal_written(&g->wal);
    } else if (g->open) {
        sv__sqlite_run(w, "ROLLBACK", NULL); /* nothing of the group was kept */
    }
    g->open = false;

    /* The group's frames are in the log: the next group may run while this one's
     * sync makes them durable (sqlite_wal.c). */
    pthread_mutex_lock(&g->mutex);
    g->commit_ns += commit_ns;
    g->busy = false;
    pthread_cond_signal(&g->turn);
    if (written) {
        g->syncing++;
        pthread_mutex_unlock(&g->mutex);
        e = sv__wal_sync(&g->wal, written, NULL);
        pthread_mutex_lock(&g->mutex);
        g->syncing--;
    }
    if (!e && members > 0) {
        g->commits++;
        g->transactions += members;
    }
    for (group_member *m = sleepers; m;) {
        group_member *next = m->next;
        m->result = e;
        m->done = true;
        m = next;
    }
    /* A group left open while this sync ran: one of its members commits it. */
    if (g->syncing == 0 && !g->busy && g->open && g->members > 0)
        g->commit_due = true;
    if (sleepers || g->commit_due)
        pthread_cond_broadcast(&g->ended);
    return e;
}

/*
 * Called by the turn holder when its transaction has been released into the
 * group (joined) or rolled back.  Hands the writer on when someone waits; leaves
 * the group open for those who come next while the previous group's sync runs
 * (its commit could not be durable sooner, and a larger group writes each shared
 * page once); otherwise commits the group.  Returns the outcome of the group for
 * a joined transaction.
 */
static sv_err turn_end(sv__write_gate *g, bool joined)
{
    /* SQLite rolls the whole transaction back on some errors (I/O, disk full). */
    bool lost = g->open && sqlite3_get_autocommit(g->writer->handle);
    group_member me = {.result = SV_OK, .done = false, .next = NULL};
    pthread_mutex_lock(&g->mutex);
    if (joined)
        g->members++;
    if (!lost && g->members < GROUP_MAX &&
        (g->waiting > 0 || (g->syncing > 0 && g->open && g->members > 0))) {
        if (joined) {
            me.next = g->sleepers;
            g->sleepers = &me;
        }
        g->busy = false;
        pthread_cond_signal(&g->turn);
        while (joined && !me.done) {
            if (g->commit_due && !g->busy) {
                g->busy = true;
                commit_group(g); /* wakes this member too */
                continue;
            }
            pthread_cond_wait(&g->ended, &g->mutex);
        }
        pthread_mutex_unlock(&g->mutex);
        return me.result;
    }
    sv_err e = commit_group(g);
    pthread_mutex_unlock(&g->mutex);
    return e;
}

static void attach(sqlite_db *db)
{
    db->grouped = true;
    db->base.tx_db = &db->gate->writer->base;
    db->gate->writer->base.tx_owner = &db->base;
}

static void detach(sqlite_db *db)
{
    db->grouped = false;
    db->base.tx_db = NULL;
    db->gate->writer->base.tx_owner = NULL;
}

sv_err sv__group_begin(sqlite_db *db, sv_buf *reterr)
{
    sv__write_gate *g = db->gate;
    struct timespec until = deadline_after(db->busy_timeout_ms);
    sv_err e = SV_OK;
    pthread_mutex_lock(&g->mutex);
    g->waiting++;
    while (g->busy) {
        /* On a timeout the turn may still have been handed to us: take it then,
         * or the group that handed it on would wait for nobody. */
        int rc = pthread_cond_timedwait(&g->turn, &g->mutex, &until);
        if (rc == ETIMEDOUT && g->busy) {
            g->waiting--;
            pthread_mutex_unlock(&g->mutex);
            if (reterr)
                sv_buf_adds(reterr,
                            "sqlite begin: other writers held the database past the busy timeout");
            return SV_ERR_BUSY;
        }
    }
    g->waiting--;
    g->busy = true;
    if (!g->writer) {
        sv_db_options opt = {.busy_timeout_ms = g->busy_timeout_ms,
                             .synchronous_off = g->synchronous_off};
        e = sv__sqlite_connect(g->path, &opt, true, &g->writer, reterr);
        if (!e) {
            e = sv__sqlite_run(g->writer->handle, WRITER_CACHE, reterr);
            if (e) {
                sv_db_close(&g->writer->base);
                g->writer = NULL;
            }
        }
        if (!e && (e = sv__wal_attach(&g->wal, g->writer->handle, reterr)) != SV_OK) {
            sv_db_close(&g->writer->base);
            g->writer = NULL;
        }
    }
    pthread_mutex_unlock(&g->mutex);
    /* The first of a group needs no savepoint: nothing before it could be lost
     * with a rollback of the whole.  It matters for big transactions: an open
     * savepoint makes SQLite keep every page it changes in a sub-journal (an
     * import batch of 1,000 resources ran 8 times slower inside one). */
    db->first = !e && !g->open;
    if (!e && !db->first)
        g->joined++; /* under the turn: only its holder writes it */
    if (db->first) {
        e = sv__sqlite_run_kept(g->writer, SV__BEGIN_IMMEDIATE, reterr);
        g->open = !e;
    } else if (!e) {
        e = sv__sqlite_run_kept(g->writer, SV__SAVEPOINT, reterr);
    }
    if (e) {
        if (g->writer)
            turn_end(g, false);
        else {
            pthread_mutex_lock(&g->mutex);
            g->busy = false;
            pthread_cond_signal(&g->turn);
            pthread_mutex_unlock(&g->mutex);
        }
        return e;
    }
    attach(db);
    return SV_OK;
}

sv_err sv__group_commit(sqlite_db *db, sv_buf *reterr)
{
    sv__write_gate *g = db->gate;
    sqlite3 *w = g->writer->handle;
    detach(db);
    reset_busy_statements(w);
    sv_err e = db->first ? SV_OK : sv__sqlite_run_kept(g->writer, SV__RELEASE, reterr);
    if (e) {
        if (!sqlite3_get_autocommit(w)) {
            sv__sqlite_run(w, "ROLLBACK TO sv_tx", NULL);
            sv__sqlite_run(w, "RELEASE sv_tx", NULL);
        }
        turn_end(g, false);
        return e;
    }
    e = turn_end(g, true);
    if (e && reterr)
        sv_buf_adds(reterr, "sqlite commit: the group commit of this transaction failed");
    return e;
}

void sv__group_rollback(sqlite_db *db)
{
    sv__write_gate *g = db->gate;
    sqlite3 *w = g->writer->handle;
    detach(db);
    reset_busy_statements(w);
    if (sqlite3_get_autocommit(w)) {
        /* SQLite already rolled the outer transaction back */
    } else if (db->first) {
        sv__sqlite_run(w, "ROLLBACK", NULL); /* nobody else is in the group yet */
        g->open = false;
    } else {
        sv__sqlite_run(w, "ROLLBACK TO sv_tx", NULL);
        sv__sqlite_run(w, "RELEASE sv_tx", NULL);
    }
    turn_end(g, false);
}

void sv__group_stats(sqlite_db *db, sv_db_write_stats *ret_stats)
{
    sv__write_gate *g = db->gate;
    if (!g)
        return;
    pthread_mutex_lock(&g->mutex);
    ret_stats->transactions = g->transactions;
    ret_stats->commits = g->commits;
    ret_stats->joined = g->joined;
    ret_stats->commit_ns = g->commit_ns;
    ret_stats->waiting = g->waiting;
    pthread_mutex_unlock(&g->mutex);
    sv__wal_stats(&g->wal, ret_stats);
}
