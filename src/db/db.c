/*
 * db.c - backend selection and the thin wrappers over the backend table.
 *
 * During a transaction that the backend runs on another connection (tx_db, group
 * commit), every call is sent there; fault injection still counts on the
 * caller's connection.
 */
#include "db/db.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static atomic_uint_fast64_t last_tx_serial;

static const struct {
    const char *prefix;
    const sv_db_backend *be;
    size_t skip; /* characters of the prefix to drop before handing the uri on */
} schemes[] = {
    {"sqlite:", &sv_db_sqlite_backend, 7},
    {"postgres://", &sv_db_postgres_backend, 0},
    {"postgresql://", &sv_db_postgres_backend, 0},
};

/* The backend of uri, and in *ret_rest what it is handed. */
static const sv_db_backend *backend_of(const char *uri, const char **ret_rest)
{
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        if (strncmp(uri, schemes[i].prefix, strlen(schemes[i].prefix)) == 0) {
            *ret_rest = uri + schemes[i].skip;
            return schemes[i].be;
        }
    }
    *ret_rest = uri;
    return &sv_db_sqlite_backend;
}

sv_db_dialect sv_db_uri_dialect(const char *uri)
{
    const char *rest;
    return backend_of(uri, &rest)->dialect;
}

sv_err sv_db_open(const char *uri, const sv_db_options *opt, sv_db **ret_db, sv_buf *reterr)
{
    sv_db_options defaults = {.busy_timeout_ms = 5000};
    if (!opt)
        opt = &defaults;
    const char *rest;
    const sv_db_backend *be = backend_of(uri, &rest);
    if (be->version != SV_DB_BACKEND_VERSION) {
        if (reterr)
            sv_buf_addf(reterr, "the %s driver has interface version %d, not %d", be->name,
                        be->version, SV_DB_BACKEND_VERSION);
        return SV_ERR_INTERNAL;
    }
    sv_db *db = NULL;
    sv_err e = be->open(rest, opt, &db, reterr);
    if (e)
        return e;
    db->be = be;
    db->tx_depth = 0;
    db->cache_len = 0;
    db->text_cache_len = 0;
    db->fault_countdown = 0;
    db->fault_err = SV_OK;
    db->tx_db = NULL;
    db->tx_owner = NULL;
    db->tx_serial = 0;
    db->version_held = false;
    db->version_kept_valid = false;
    db->after_commit_len = 0;
    *ret_db = db;
    return SV_OK;
}

void sv_db_fault_inject(sv_db *db, int nth, sv_err err)
{
    db->fault_countdown = nth > 0 ? nth : 0;
    db->fault_err = err;
}

bool sv_db_fault_pending(const sv_db *db)
{
    return db->fault_countdown > 0;
}

/* The connection that runs db's calls now. */
static sv_db *target(sv_db *db)
{
    return db->tx_db ? db->tx_db : db;
}

/* True when the armed fault falls on this call (then it disarms).  db is the
 * caller's connection, or the one running its transaction. */
static bool fault_now(sv_db *db, const char *what, sv_buf *reterr)
{
    if (db->tx_owner)
        db = db->tx_owner;
    if (db->fault_countdown == 0 || --db->fault_countdown > 0)
        return false;
    if (reterr)
        sv_buf_addf(reterr, "injected fault in %s", what);
    return true;
}

static void text_finalize(sv_stmt *st)
{
    char *text = st->text;
    st->db->be->finalize(st);
    free(text);
}

void sv_db_close(sv_db *db)
{
    if (!db)
        return;
    if (db->tx_depth)
        sv_db_rollback(db);
    for (size_t i = 0; i < db->cache_len; i++)
        db->be->finalize(db->cache[i]);
    db->cache_len = 0;
    for (size_t i = 0; i < db->text_cache_len; i++)
        text_finalize(db->text_cache[i]);
    db->text_cache_len = 0;
    if (db->memo_free)
        db->memo_free(db->memo);
    db->memo = NULL;
    db->memo_free = NULL;
    db->be->close(db);
}

const char *sv_db_backend_name(const sv_db *db)
{
    return db->be->name;
}

sv_db_dialect sv_db_dialect_of(const sv_db *db)
{
    return db->be->dialect;
}

sv_err sv_db_exec(sv_db *db, const char *sql, sv_buf *reterr)
{
    if (fault_now(db, "exec", reterr))
        return db->fault_err;
    sv_db *t = target(db);
    if (db->tx_depth)
        db->tx_serial = atomic_fetch_add(&last_tx_serial, 1) + 1;
    return t->be->exec(t, sql, reterr);
}

sv_err sv_db_stmt(sv_db *caller, const char *sql, sv_stmt **ret_stmt, sv_buf *reterr)
{
    sv_db *db = target(caller);
    for (size_t i = 0; i < db->cache_len; i++) {
        if (db->cache[i]->sql == sql) {
            sv_stmt *st = db->cache[i];
            db->be->reset(st);
            /* keep recently used statements at the front */
            if (i > 0) {
                memmove(&db->cache[1], &db->cache[0], i * sizeof(db->cache[0]));
                db->cache[0] = st;
            }
            *ret_stmt = st;
            return SV_OK;
        }
    }
    if (fault_now(caller, "prepare", reterr))
        return caller->fault_err;
    sv_stmt *st = NULL;
    sv_err e = db->be->prepare(db, sql, &st, reterr);
    if (e)
        return e;
    st->db = db;
    st->sql = sql;
    if (db->cache_len == SV_DB_STMT_CACHE) {
        db->be->finalize(db->cache[SV_DB_STMT_CACHE - 1]);
        db->cache_len--;
    }
    memmove(&db->cache[1], &db->cache[0], db->cache_len * sizeof(db->cache[0]));
    db->cache[0] = st;
    db->cache_len++;
    *ret_stmt = st;
    return SV_OK;
}

sv_err sv_db_prepare(sv_db *caller, const char *sql, sv_stmt **ret_stmt, sv_buf *reterr)
{
    if (fault_now(caller, "prepare", reterr))
        return caller->fault_err;
    sv_db *db = target(caller);
    sv_stmt *st = NULL;
    sv_err e = db->be->prepare(db, sql, &st, reterr);
    if (e)
        return e;
    st->db = db;
    st->sql = NULL;
    *ret_stmt = st;
    return SV_OK;
}

sv_err sv_db_prepare_reuse(sv_db *caller, const char *sql, sv_stmt **ret_stmt, sv_buf *reterr)
{
    sv_db *db = target(caller);
    for (size_t i = 0; i < db->text_cache_len; i++) {
        sv_stmt *st = db->text_cache[i];
        if (st->in_use || strcmp(st->text, sql) != 0)
            continue;
        db->be->reset(st);
        memmove(&db->text_cache[1], &db->text_cache[0], i * sizeof(db->text_cache[0]));
        db->text_cache[0] = st;
        st->in_use = true;
        *ret_stmt = st;
        return SV_OK;
    }
    sv_stmt *st = NULL;
    sv_err e = sv_db_prepare(caller, sql, &st, reterr);
    if (e)
        return e;
    /* Kept when a slot is free or the oldest is not in use; else used once. */
    size_t n = db->text_cache_len;
    if (n == SV_DB_TEXT_CACHE && db->text_cache[n - 1]->in_use) {
        *ret_stmt = st;
        return SV_OK;
    }
    st->text = strdup(sql);
    if (!st->text) {
        *ret_stmt = st;
        return SV_OK;
    }
    if (n == SV_DB_TEXT_CACHE)
        text_finalize(db->text_cache[--n]);
    memmove(&db->text_cache[1], &db->text_cache[0], n * sizeof(db->text_cache[0]));
    db->text_cache[0] = st;
    db->text_cache_len = n + 1;
    st->in_use = true;
    *ret_stmt = st;
    return SV_OK;
}

void sv_stmt_release(sv_stmt *st)
{
    if (!st)
        return;
    if (!st->text) {
        sv_stmt_finalize(st);
        return;
    }
    st->db->be->reset(st);
    st->in_use = false;
}

void sv_stmt_finalize(sv_stmt *st)
{
    if (st)
        st->db->be->finalize(st);
}

void sv_stmt_reset(sv_stmt *st)
{
    st->db->be->reset(st);
}

sv_err sv_stmt_bind_text(sv_stmt *st, int idx, const char *s)
{
    if (!s)
        return st->db->be->bind_null(st, idx);
    return st->db->be->bind_text(st, idx, s, strlen(s));
}

sv_err sv_stmt_bind_textn(sv_stmt *st, int idx, const char *s, size_t len)
{
    return st->db->be->bind_text(st, idx, s, len);
}

sv_err sv_stmt_bind_text_static(sv_stmt *st, int idx, const char *s)
{
    if (!s)
        return st->db->be->bind_null(st, idx);
    return sv_stmt_bind_textn_static(st, idx, s, strlen(s));
}

sv_err sv_stmt_bind_textn_static(sv_stmt *st, int idx, const char *s, size_t len)
{
    if (st->db->be->bind_text_static)
        return st->db->be->bind_text_static(st, idx, s, len);
    return st->db->be->bind_text(st, idx, s, len);
}

sv_err sv_stmt_bind_int64(sv_stmt *st, int idx, int64_t v)
{
    return st->db->be->bind_int64(st, idx, v);
}

sv_err sv_stmt_bind_double(sv_stmt *st, int idx, double v)
{
    return st->db->be->bind_double(st, idx, v);
}

sv_err sv_stmt_bind_null(sv_stmt *st, int idx)
{
    return st->db->be->bind_null(st, idx);
}

sv_err sv_stmt_step(sv_stmt *st, bool *ret_row, sv_buf *reterr)
{
    if (fault_now(st->db, "step", reterr)) {
        *ret_row = false;
        st->db->be->reset(st);
        return st->db->tx_owner ? st->db->tx_owner->fault_err : st->db->fault_err;
    }
    return st->db->be->step(st, ret_row, reterr);
}

sv_err sv_stmt_run(sv_stmt *st, sv_buf *reterr)
{
    if (st->db->be->run) {
        if (fault_now(st->db, "step", reterr)) {
            st->db->be->reset(st);
            return st->db->tx_owner ? st->db->tx_owner->fault_err : st->db->fault_err;
        }
        return st->db->be->run(st, reterr);
    }
    bool row;
    sv_err e;
    do {
        e = sv_stmt_step(st, &row, reterr);
    } while (!e && row);
    return e;
}

bool sv_stmt_column_is_null(sv_stmt *st, int col)
{
    return st->db->be->column_is_null(st, col);
}

const char *sv_stmt_column_text(sv_stmt *st, int col, size_t *ret_len)
{
    return st->db->be->column_text(st, col, ret_len);
}

int64_t sv_stmt_column_int64(sv_stmt *st, int col)
{
    return st->db->be->column_int64(st, col);
}

double sv_stmt_column_double(sv_stmt *st, int col)
{
    return st->db->be->column_double(st, col);
}

sv_err sv_db_begin(sv_db *db, sv_tx_kind kind, sv_buf *reterr)
{
    if (db->tx_depth) {
        if (reterr)
            sv_buf_adds(reterr, "a transaction is already open on this connection");
        return SV_ERR_INTERNAL;
    }
    if (fault_now(db, "begin", reterr))
        return db->fault_err;
    if (kind == SV_TX_CLAIM && !db->be->write_lock)
        kind = SV_TX_WRITE;
    sv_err e = db->be->begin(db, kind, reterr);
    if (!e) {
        db->tx_depth = 1;
        db->after_commit_len = 0;
        db->tx_serial = atomic_fetch_add(&last_tx_serial, 1) + 1;
        db->tx_claim = kind == SV_TX_CLAIM;
    }
    return e;
}

sv_err sv_db_write_lock(sv_db *db, sv_buf *reterr)
{
    if (!db->tx_depth || !db->tx_claim)
        return SV_OK;
    sv_err e = db->be->write_lock(db, reterr);
    if (!e) {
        db->tx_claim = false;
        /* others may have written before the lock: what was read is stale */
        db->tx_serial = atomic_fetch_add(&last_tx_serial, 1) + 1;
    }
    return e;
}

sv_err sv_db_commit(sv_db *db, sv_buf *reterr)
{
    if (!db->tx_depth)
        return SV_ERR_INTERNAL;
    sv_err e = fault_now(db, "commit", reterr) ? db->fault_err : db->be->commit(db, reterr);
    if (e) {
        db->be->rollback(db);
    }
    db->tx_depth = 0;
    db->tx_claim = false;
    db->version_kept_valid = false;
    int n = db->after_commit_len;
    db->after_commit_len = 0;
    for (int i = 0; !e && i < n; i++)
        db->after_commit[i]();
    return e;
}

void sv_db_after_commit(sv_db *db, void (*fn)(void))
{
    if (!db->tx_depth) {
        fn();
        return;
    }
    for (int i = 0; i < db->after_commit_len; i++)
        if (db->after_commit[i] == fn)
            return;
    /* More kinds than slots is a programming error: SV_DB_AFTER_COMMIT_MAX grows. */
    if (db->after_commit_len == SV_DB_AFTER_COMMIT_MAX)
        abort();
    db->after_commit[db->after_commit_len++] = fn;
}

void sv_db_rollback(sv_db *db)
{
    if (!db->tx_depth)
        return;
    db->be->rollback(db);
    db->tx_depth = 0;
    db->tx_claim = false;
    db->version_kept_valid = false;
    db->after_commit_len = 0;
}

bool sv_db_in_tx(const sv_db *db)
{
    return db->tx_depth > 0;
}

bool sv_db_tx_shared(const sv_db *db)
{
    return db->tx_depth > 0 && db->tx_db != NULL;
}

uint64_t sv_db_tx_serial(const sv_db *db)
{
    return db->tx_depth > 0 ? db->tx_serial : 0;
}

int64_t sv_db_changes(sv_db *db)
{
    sv_db *t = target(db);
    return t->be->changes(t);
}

bool sv_db_data_version(sv_db *db, uint64_t *ret_version)
{
    if (db->tx_depth > 0 || !db->be->data_version)
        return false;
    return db->be->data_version(db, ret_version);
}

void sv_db_data_version_hold(sv_db *db, bool on)
{
    db->version_held = on;
    db->version_kept_valid = false;
}

void sv_db_write_stats_get(sv_db *db, sv_db_write_stats *ret_stats)
{
    memset(ret_stats, 0, sizeof(*ret_stats));
    if (db->be->write_stats)
        db->be->write_stats(db, ret_stats);
}
