/*
 * sqlite.c - the SQLite backend of db.h.
 *
 * WAL mode with synchronous=FULL: a commit that returned is on disk (an
 * acknowledged write survives power loss).  Foreign keys on, a busy timeout so
 * concurrent writers queue instead of failing.  Write transactions use
 * BEGIN IMMEDIATE so that two writers never deadlock on a lock upgrade.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/db.h"

/*
 * Writers of one database file inside this process queue on a mutex before
 * BEGIN IMMEDIATE.  Without it they all spin in SQLite's busy handler, which
 * sleeps in steps of up to 100 ms and is not woken when the lock frees: p99 of
 * creates went to ~800 ms at 16 connections.  The busy timeout still bounds the
 * wait, and other processes are still kept out by SQLite's own lock.
 */
typedef struct write_gate {
    char *path;
    pthread_mutex_t mutex;
    struct write_gate *next;
} write_gate;

static pthread_mutex_t gates_lock = PTHREAD_MUTEX_INITIALIZER;
static write_gate *gates; /* one per database file, for the life of the process */

typedef struct sqlite_db {
    sv_db base; /* must be first */
    sqlite3 *handle;
    write_gate *gate; /* NULL for in-memory databases */
    bool holding;     /* this connection holds gate->mutex */
    int busy_timeout_ms;
} sqlite_db;

static write_gate *gate_for(const char *uri)
{
    char real[PATH_MAX];
    if (strcmp(uri, ":memory:") == 0 || strncmp(uri, "file:", 5) == 0 || !realpath(uri, real))
        return NULL;
    pthread_mutex_lock(&gates_lock);
    write_gate *g = gates;
    while (g && strcmp(g->path, real) != 0)
        g = g->next;
    if (!g) {
        g = calloc(1, sizeof(*g));
        if (g) {
            g->path = strdup(real);
            pthread_mutex_init(&g->mutex, NULL);
            g->next = gates;
            gates = g;
        }
    }
    pthread_mutex_unlock(&gates_lock);
    return g;
}

static sv_err gate_enter(sqlite_db *db, sv_buf *reterr)
{
    if (!db->gate)
        return SV_OK;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ns = until.tv_nsec + (int64_t)db->busy_timeout_ms * 1000000;
    until.tv_sec += ns / 1000000000;
    until.tv_nsec = ns % 1000000000;
    int rc = pthread_mutex_timedlock(&db->gate->mutex, &until);
    if (rc == ETIMEDOUT) {
        if (reterr)
            sv_buf_adds(reterr,
                        "sqlite begin: another writer held the database past the busy timeout");
        return SV_ERR_BUSY;
    }
    if (rc != 0)
        return SV_ERR_INTERNAL;
    db->holding = true;
    return SV_OK;
}

static void gate_leave(sqlite_db *db)
{
    if (db->holding) {
        db->holding = false;
        pthread_mutex_unlock(&db->gate->mutex);
    }
}

typedef struct sqlite_stmt {
    sv_stmt base; /* must be first */
    sqlite3_stmt *handle;
} sqlite_stmt;

static sqlite3 *H(sv_db *db)
{
    return ((sqlite_db *)db)->handle;
}

static sqlite3_stmt *S(sv_stmt *st)
{
    return ((sqlite_stmt *)st)->handle;
}

static sv_err map_rc(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return SV_OK;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return SV_ERR_BUSY;
    case SQLITE_NOMEM:
        return SV_ERR_NOMEM;
    case SQLITE_CONSTRAINT:
        return SV_ERR_CONFLICT;
    case SQLITE_TOOBIG:
        return SV_ERR_TOO_LARGE;
    default:
        return SV_ERR_IO;
    }
}

static sv_err fail(sqlite3 *h, int rc, sv_buf *reterr, const char *what)
{
    if (reterr)
        sv_buf_addf(reterr, "sqlite %s: %s", what, h ? sqlite3_errmsg(h) : sqlite3_errstr(rc));
    return map_rc(rc);
}

static sv_err run_simple(sqlite3 *h, const char *sql, sv_buf *reterr)
{
    char *msg = NULL;
    int rc = sqlite3_exec(h, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        if (reterr)
            sv_buf_addf(reterr, "sqlite exec: %s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return map_rc(rc);
    }
    return SV_OK;
}

static sv_err db_open(const char *uri, const sv_db_options *opt, sv_db **ret_db, sv_buf *reterr)
{
    sqlite3 *h = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(uri, &h, flags, NULL);
    if (rc != SQLITE_OK) {
        sv_err e = fail(h, rc, reterr, "open");
        sqlite3_close(h);
        return e;
    }
    sqlite3_extended_result_codes(h, 0);
    sqlite3_busy_timeout(h, opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000);
    sv_err e = run_simple(h, "PRAGMA journal_mode=WAL", reterr);
    if (!e)
        e = run_simple(
            h, opt->synchronous_off ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=FULL", reterr);
    if (!e)
        e = run_simple(h, "PRAGMA foreign_keys=ON", reterr);
    if (!e)
        e = run_simple(h, "PRAGMA temp_store=MEMORY", reterr);
    if (e) {
        sqlite3_close(h);
        return e;
    }
    sqlite_db *db = calloc(1, sizeof(*db));
    if (!db) {
        sqlite3_close(h);
        return SV_ERR_NOMEM;
    }
    db->handle = h;
    db->gate = gate_for(uri);
    db->busy_timeout_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000;
    *ret_db = &db->base;
    return SV_OK;
}

static void db_close(sv_db *db)
{
    gate_leave((sqlite_db *)db);
    sqlite3_close(H(db));
    free(db);
}

static sv_err db_exec(sv_db *db, const char *sql, sv_buf *reterr)
{
    return run_simple(H(db), sql, reterr);
}

static sv_err db_prepare(sv_db *db, const char *sql, sv_stmt **ret_stmt, sv_buf *reterr)
{
    sqlite3_stmt *h = NULL;
    int rc = sqlite3_prepare_v3(H(db), sql, -1, SQLITE_PREPARE_PERSISTENT, &h, NULL);
    if (rc != SQLITE_OK)
        return fail(H(db), rc, reterr, "prepare");
    sqlite_stmt *st = calloc(1, sizeof(*st));
    if (!st) {
        sqlite3_finalize(h);
        return SV_ERR_NOMEM;
    }
    st->handle = h;
    *ret_stmt = &st->base;
    return SV_OK;
}

static void st_finalize(sv_stmt *st)
{
    sqlite3_finalize(S(st));
    free(st);
}

static void st_reset(sv_stmt *st)
{
    sqlite3_reset(S(st));
    sqlite3_clear_bindings(S(st));
}

static sv_err st_bind_text(sv_stmt *st, int idx, const char *s, size_t len)
{
    return map_rc(sqlite3_bind_text64(S(st), idx, s, len, SQLITE_TRANSIENT, SQLITE_UTF8));
}

static sv_err st_bind_int64(sv_stmt *st, int idx, int64_t v)
{
    return map_rc(sqlite3_bind_int64(S(st), idx, v));
}

static sv_err st_bind_double(sv_stmt *st, int idx, double v)
{
    return map_rc(sqlite3_bind_double(S(st), idx, v));
}

static sv_err st_bind_null(sv_stmt *st, int idx)
{
    return map_rc(sqlite3_bind_null(S(st), idx));
}

static sv_err st_step(sv_stmt *st, bool *ret_row, sv_buf *reterr)
{
    int rc = sqlite3_step(S(st));
    if (rc == SQLITE_ROW) {
        *ret_row = true;
        return SV_OK;
    }
    *ret_row = false;
    if (rc == SQLITE_DONE)
        return SV_OK;
    sv_err e = fail(st->db ? H(st->db) : NULL, rc, reterr, "step");
    sqlite3_reset(S(st));
    return e;
}

static bool st_column_is_null(sv_stmt *st, int col)
{
    return sqlite3_column_type(S(st), col) == SQLITE_NULL;
}

static const char *st_column_text(sv_stmt *st, int col, size_t *ret_len)
{
    const char *p = (const char *)sqlite3_column_text(S(st), col);
    if (ret_len)
        *ret_len = (size_t)sqlite3_column_bytes(S(st), col);
    return p;
}

static int64_t st_column_int64(sv_stmt *st, int col)
{
    return sqlite3_column_int64(S(st), col);
}

static double st_column_double(sv_stmt *st, int col)
{
    return sqlite3_column_double(S(st), col);
}

static sv_err db_begin(sv_db *db, sv_tx_kind kind, sv_buf *reterr)
{
    if (kind != SV_TX_WRITE)
        return run_simple(H(db), "BEGIN DEFERRED", reterr);
    sqlite_db *sd = (sqlite_db *)db;
    sv_err e = gate_enter(sd, reterr);
    if (e)
        return e;
    e = run_simple(H(db), "BEGIN IMMEDIATE", reterr);
    if (e)
        gate_leave(sd);
    return e;
}

static sv_err db_commit(sv_db *db, sv_buf *reterr)
{
    sv_err e = run_simple(H(db), "COMMIT", reterr);
    if (!e)
        gate_leave((sqlite_db *)db);
    return e; /* on failure db.c rolls back, which leaves the gate */
}

static sv_err db_rollback(sv_db *db)
{
    sv_err e = run_simple(H(db), "ROLLBACK", NULL);
    gate_leave((sqlite_db *)db);
    return e;
}

static int64_t db_changes(sv_db *db)
{
    return sqlite3_changes64(H(db));
}

const sv_db_backend sv_db_sqlite_backend = {
    .version = SV_DB_BACKEND_VERSION,
    .name = "sqlite",
    .dialect = SV_DIALECT_SQLITE,
    .open = db_open,
    .close = db_close,
    .exec = db_exec,
    .prepare = db_prepare,
    .finalize = st_finalize,
    .reset = st_reset,
    .bind_text = st_bind_text,
    .bind_int64 = st_bind_int64,
    .bind_double = st_bind_double,
    .bind_null = st_bind_null,
    .step = st_step,
    .column_is_null = st_column_is_null,
    .column_text = st_column_text,
    .column_int64 = st_column_int64,
    .column_double = st_column_double,
    .begin = db_begin,
    .commit = db_commit,
    .rollback = db_rollback,
    .changes = db_changes,
};
