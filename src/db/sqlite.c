/*
 * sqlite.c - the SQLite backend of db.h: connections, statements, transactions.
 *
 * WAL mode with synchronous=FULL: a commit that returned is on disk (an
 * acknowledged write survives power loss).  Foreign keys on, a busy timeout so
 * concurrent writers queue instead of failing.  Write transactions use
 * BEGIN IMMEDIATE so that two writers never deadlock on a lock upgrade.  Write
 * transactions on a database file run on the file's shared writer connection
 * and are committed in groups (sqlite_group.c); in-memory databases commit
 * each on their own connection.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "db/sqlite_int.h"

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

sv_err sv__sqlite_run(sqlite3 *h, const char *sql, sv_buf *reterr)
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

sv_err sv__sqlite_run_kept(sqlite_db *db, sv__kept_sql which, sv_buf *reterr)
{
    static const char *const sql[] = {
        [SV__BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
        [SV__SAVEPOINT] = "SAVEPOINT sv_tx",
        [SV__RELEASE] = "RELEASE sv_tx",
        [SV__COMMIT] = "COMMIT",
    };
    sqlite3_stmt **st = &db->kept[which];
    if (!*st && sqlite3_prepare_v3(db->handle, sql[which], -1, SQLITE_PREPARE_PERSISTENT, st,
                                   NULL) != SQLITE_OK) {
        sqlite3_finalize(*st);
        *st = NULL;
        return sv__sqlite_run(db->handle, sql[which], reterr);
    }
    int rc = sqlite3_step(*st);
    sqlite3_reset(*st);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW)
        return SV_OK;
    if (reterr)
        sv_buf_addf(reterr, "sqlite exec: %s", sqlite3_errmsg(db->handle));
    return map_rc(rc);
}

/* Before SQLite initialises (its first open): no memory statistics, which we never
 * read and which take one process-wide mutex around every allocation of every
 * connection - the workers' connections contended on it.  If something
 * initialised SQLite first the call is refused and nothing changes. */
static void configure_once(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

sv_err sv__sqlite_connect(const char *path, const sv_db_options *opt, bool serialized,
                          sqlite_db **ret_db, sv_buf *reterr)
{
    static pthread_once_t configured = PTHREAD_ONCE_INIT;
    pthread_once(&configured, configure_once);
    sqlite3 *h = NULL;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                (serialized ? SQLITE_OPEN_FULLMUTEX : SQLITE_OPEN_NOMUTEX);
    int rc = sqlite3_open_v2(path, &h, flags, NULL);
    if (rc != SQLITE_OK) {
        sv_err e = fail(h, rc, reterr, "open");
        sqlite3_close(h);
        return e;
    }
    int busy_timeout_ms = opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000;
    sqlite3_extended_result_codes(h, 0);
    sqlite3_busy_timeout(h, busy_timeout_ms);
    sv_err e = sv__sqlite_run(h, "PRAGMA journal_mode=WAL", reterr);
    if (!e)
        e = sv__sqlite_run(
            h, opt->synchronous_off ? "PRAGMA synchronous=OFF" : "PRAGMA synchronous=FULL", reterr);
    if (!e)
        e = sv__sqlite_run(h, "PRAGMA foreign_keys=ON", reterr);
    if (!e)
        e = sv__sqlite_run(h, "PRAGMA temp_store=MEMORY", reterr);
    /* Mapped, a read finds its pages in place instead of copying each from the OS
     * cache into the connection's own cache (pread): the kernel's copies were a fifth
     * to two fifths of the server's CPU on reads and worklists (docs/performance.md). */
    if (!e && opt->map_file)
        e = sv__sqlite_run(h, "PRAGMA mmap_size=1073741824", reterr);
    if (e) {
        sqlite3_close(h);
        return e;
    }
    sqlite_db *db = calloc(1, sizeof(*db));
    if (!db) {
        sqlite3_close(h);
        return SV_ERR_NOMEM;
    }
    db->base.be = &sv_db_sqlite_backend;
    db->handle = h;
    db->busy_timeout_ms = busy_timeout_ms;
    *ret_db = db;
    return SV_OK;
}

static sv_err db_open(const char *uri, const sv_db_options *opt, sv_db **ret_db, sv_buf *reterr)
{
    sqlite_db *db = NULL;
    sv_err e = sv__sqlite_connect(uri, opt, false, &db, reterr);
    if (e)
        return e;
    db->gate = sv__gate_acquire(uri, opt);
    /* Connections to one database file share their gate: medcom batches by it. */
    db->base.identity = db->gate ? (const void *)db->gate : (const void *)db;
    *ret_db = &db->base;
    return SV_OK;
}

static void db_close(sv_db *db)
{
    sqlite_db *sd = (sqlite_db *)db;
    sqlite3_finalize(sd->data_version);
    for (size_t i = 0; i < sizeof(sd->kept) / sizeof(sd->kept[0]); i++)
        sqlite3_finalize(sd->kept[i]);
    sqlite3_close(sd->handle);
    sv__gate_release(sd->gate);
    free(sd);
}

static sv_err db_exec(sv_db *db, const char *sql, sv_buf *reterr)
{
    return sv__sqlite_run(H(db), sql, reterr);
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
    sqlite_db *sd = (sqlite_db *)db;
    if (kind != SV_TX_WRITE)
        return sv__sqlite_run(sd->handle, "BEGIN DEFERRED", reterr);
    if (sd->gate)
        return sv__group_begin(sd, reterr);
    return sv__sqlite_run(sd->handle, "BEGIN IMMEDIATE", reterr);
}

static sv_err db_commit(sv_db *db, sv_buf *reterr)
{
    sqlite_db *sd = (sqlite_db *)db;
    if (sd->grouped)
        return sv__group_commit(sd, reterr);
    return sv__sqlite_run(sd->handle, "COMMIT", reterr); /* on failure db.c rolls back */
}

static sv_err db_rollback(sv_db *db)
{
    sqlite_db *sd = (sqlite_db *)db;
    if (sd->grouped) {
        sv__group_rollback(sd);
        return SV_OK;
    }
    /* Also after a failed group commit, when nothing is open here: harmless. */
    return sv__sqlite_run(sd->handle, "ROLLBACK", NULL);
}

static void db_write_stats(sv_db *db, sv_db_write_stats *ret_stats)
{
    sv__group_stats((sqlite_db *)db, ret_stats);
}

static int64_t db_changes(sv_db *db)
{
    return sqlite3_changes64(H(db));
}

/* PRAGMA data_version moves with every commit of another connection (the group
 * commit writer included); this connection's own writes move total_changes.  Both
 * only grow, so their sum changes whenever either does. */
static bool db_data_version(sv_db *db, uint64_t *ret_version)
{
    sqlite_db *sd = (sqlite_db *)db;
    /* The PRAGMA opens and closes a read transaction; held (sv_db_data_version_hold),
     * its value is read once.  total_changes costs nothing and stays live. */
    if (!(db->version_held && db->version_kept_valid)) {
        if (!sd->data_version &&
            sqlite3_prepare_v3(sd->handle, "PRAGMA data_version", -1, SQLITE_PREPARE_PERSISTENT,
                               &sd->data_version, NULL) != SQLITE_OK)
            return false;
        bool ok = sqlite3_step(sd->data_version) == SQLITE_ROW;
        if (ok)
            db->version_kept = (uint64_t)sqlite3_column_int64(sd->data_version, 0);
        sqlite3_reset(sd->data_version);
        if (!ok)
            return false;
        db->version_kept_valid = db->version_held;
    }
    *ret_version = db->version_kept + (uint64_t)sqlite3_total_changes64(sd->handle);
    return true;
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
    .write_stats = db_write_stats,
    .data_version = db_data_version,
};
