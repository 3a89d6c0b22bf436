/*
 * db.h - the database driver interface: open, prepare, bind, step, column,
 * transaction.  Everything above db/ talks to a database only through this.
 *
 * A backend is a struct of function pointers with a version field; each
 * backend's connection struct embeds sv_db first (SQLite's VFS, git's
 * ref_storage_be).  The backend is chosen by the URI scheme: a plain path or
 * "sqlite:PATH" is SQLite; "postgres://" or "postgresql://" is PostgreSQL
 * (db/postgres.c, the URI handed to libpq as it is).
 *
 * SQL text uses '?' (or '?N') placeholders, numbered from 1 in bind calls; it must
 * be a string constant (statements are cached per connection by the pointer).  SQL
 * that must run on both backends keeps to what both understand (see postgres.c:
 * a parameter whose type the context does not fix, as in "? IS NULL", needs
 * CAST(? AS TEXT)); where they differ, the caller picks per sv_db_dialect().
 * After a failed statement inside a transaction, roll back (PostgreSQL aborts the
 * transaction) or use a SAVEPOINT.
 * A connection is used by one thread at a time.  Only db/ includes sqlite3.h and
 * libpq-fe.h.
 *
 * Group commit (docs/architecture.md, "Writes"): a backend may run a write
 * transaction on another connection of its own by setting tx_db in its begin;
 * the SQLite driver does, so that concurrent write transactions of one process
 * share one durable commit.  Callers see no difference: every call made on the
 * caller's connection during the transaction goes to tx_db, and sv_db_commit
 * returns only when the transaction is on disk (or failed).  A backend that
 * leaves tx_db NULL (PostgreSQL, whose server groups commits itself) needs
 * nothing more.  What a caller sets on its own connection with SQL (ATTACH,
 * PRAGMA) does not reach the writer, so it does not apply inside a write
 * transaction on a database file.
 */
#ifndef SV_DB_DB_H
#define SV_DB_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

typedef struct sv_db sv_db;
typedef struct sv_stmt sv_stmt;

typedef enum sv_tx_kind {
    SV_TX_READ,  /* a consistent snapshot for several reads */
    SV_TX_WRITE, /* takes the write lock at once (no upgrade deadlocks) */
    /* A write transaction that first claims a row of a job queue and only then
     * waits for the write lock (sv_db_write_lock), so that processes on one
     * PostgreSQL database pick their jobs side by side: the claim is a
     * SELECT ... FOR UPDATE SKIP LOCKED (the dialect's text), which passes over
     * rows another transaction holds.  Before sv_db_write_lock it may lock rows
     * only so and write nothing.  Backends without write_lock (SQLite, whose
     * BEGIN IMMEDIATE is the lock) run it as SV_TX_WRITE. */
    SV_TX_CLAIM,
} sv_tx_kind;

/* Which SQL a backend speaks, for the few statements that differ (schema, plans). */
typedef enum sv_db_dialect {
    SV_DIALECT_SQLITE,
    SV_DIALECT_POSTGRES,
} sv_db_dialect;

typedef struct sv_db_options {
    int busy_timeout_ms;  /* how long a writer waits for the lock; default 5000 */
    bool synchronous_off; /* benchmarks only: acknowledged writes may be lost on power loss */
    /* SQLite: read the file through a memory map (up to 1 GiB) instead of copying
     * each page from the OS cache; the mapped pages count in the process's VmRSS
     * (as RssFile, shared with the OS cache), not as its own memory. */
    bool map_file;
} sv_db_options;

/* How writes reached the disk, for this database file in this process. */
typedef struct sv_db_write_stats {
    int64_t transactions; /* write transactions committed */
    int64_t commits;      /* commits (of a group each) that carried them */
    int64_t joined; /* transactions that joined an open group (ran in a savepoint: SQLite copies
                       each page they touch into its statement journal) */
    int64_t syncs;  /* syncs of the log that made the commits durable (one can serve several) */
    int64_t checkpoints;       /* checkpoints of the log (SQLite: run off the writer's turn) */
    int64_t commit_ns;         /* wall time in the groups' COMMITs (writing the log, in the turn) */
    int64_t sync_ns;           /* wall time in syncs of the log (after the turn) */
    int64_t frames;            /* pages appended to the log (SQLite WAL frames) */
    int64_t own_checkpoint_ns; /* of commit_ns: the writer's own checkpoints (log restarts) */
    int waiting;               /* write transactions waiting for their turn right now */
} sv_db_write_stats;

typedef struct sv_db_backend {
    int version; /* SV_DB_BACKEND_VERSION */
    const char *name;
    sv_db_dialect dialect;
    sv_err (*open)(const char *uri, const sv_db_options *opt, sv_db **ret_db, sv_buf *reterr);
    void (*close)(sv_db *db);
    sv_err (*exec)(sv_db *db, const char *sql, sv_buf *reterr);
    sv_err (*prepare)(sv_db *db, const char *sql, sv_stmt **ret_stmt, sv_buf *reterr);
    void (*finalize)(sv_stmt *st);
    void (*reset)(sv_stmt *st);
    sv_err (*bind_text)(sv_stmt *st, int idx, const char *s, size_t len);
    sv_err (*bind_int64)(sv_stmt *st, int idx, int64_t v);
    sv_err (*bind_double)(sv_stmt *st, int idx, double v);
    sv_err (*bind_null)(sv_stmt *st, int idx);
    sv_err (*step)(sv_stmt *st, bool *ret_row, sv_buf *reterr);
    bool (*column_is_null)(sv_stmt *st, int col);
    const char *(*column_text)(sv_stmt *st, int col, size_t *ret_len); /* valid until next step */
    int64_t (*column_int64)(sv_stmt *st, int col);
    double (*column_double)(sv_stmt *st, int col);
    sv_err (*begin)(sv_db *db, sv_tx_kind kind, sv_buf *reterr);
    sv_err (*commit)(sv_db *db, sv_buf *reterr);
    sv_err (*rollback)(sv_db *db);
    int64_t (*changes)(sv_db *db);
    /* Optional (NULL: all zero): counters of the write path, see sv_db_write_stats. */
    void (*write_stats)(sv_db *db, sv_db_write_stats *ret_stats);
    /* Optional (NULL: cannot tell), see sv_db_data_version. */
    bool (*data_version)(sv_db *db, uint64_t *ret_version);
    /* Optional (NULL: SV_TX_CLAIM is SV_TX_WRITE), see sv_db_write_lock. */
    sv_err (*write_lock)(sv_db *db, sv_buf *reterr);
    /* Optional (NULL: step until done), see sv_stmt_run. */
    sv_err (*run)(sv_stmt *st, sv_buf *reterr);
    /* Optional (NULL: bind_text), see sv_stmt_bind_text_static. */
    sv_err (*bind_text_static)(sv_stmt *st, int idx, const char *s, size_t len);
} sv_db_backend;

#define SV_DB_BACKEND_VERSION 3 /* 2: dialect; 3: SV_TX_CLAIM, write_lock */
#define SV_DB_STMT_CACHE 64

#define SV_DB_TEXT_CACHE 16
#define SV_DB_AFTER_COMMIT_MAX 4

struct sv_stmt {
    sv_db *db;
    const char *sql; /* the constant it was prepared from */
    char *text;      /* sv_db_prepare_reuse: its own copy of the assembled SQL, else NULL */
    bool in_use;     /* sv_db_prepare_reuse: handed out and not released yet */
};

/* The part every backend connection embeds first. */
struct sv_db {
    const sv_db_backend *be;
    int tx_depth;  /* 0 = no transaction */
    bool tx_claim; /* an SV_TX_CLAIM transaction that has not taken the write lock yet */
    sv_stmt *cache[SV_DB_STMT_CACHE];
    size_t cache_len;
    sv_stmt *text_cache[SV_DB_TEXT_CACHE]; /* sv_db_prepare_reuse, most recent first */
    size_t text_cache_len;
    /* Equal for connections to the same database (set by the backend at open):
     * lets a caller batch work of several connections into one transaction of
     * one of them (medcom/'s group commit).  Never dereferenced. */
    const void *identity;
    int fault_countdown; /* sv_db_fault_inject: backend calls left until the failure; 0 = off */
    sv_err fault_err;
    /* Set by the backend's begin when the transaction runs on another connection
     * (group commit); NULL: on this one.  Cleared by its commit and rollback. */
    sv_db *tx_db;
    /* On that other connection: whose transaction it runs now, so that a fault
     * armed on the caller's connection fires in the caller's statements. */
    sv_db *tx_owner;
    uint64_t tx_serial; /* see sv_db_tx_serial */
    /* sv_db_data_version_hold: while held, the backend may keep the part of the data
     * version that costs a statement (what other connections committed); kept_valid
     * is cleared by every commit and rollback through this connection. */
    bool version_held;
    bool version_kept_valid;
    uint64_t version_kept;
    /* sv_db_after_commit: run once when this connection's transaction commits. */
    void (*after_commit[SV_DB_AFTER_COMMIT_MAX])(void);
    int after_commit_len;
    /* One value a layer above keeps per connection (store/memo.c: the resources
     * the transaction last read or wrote, valid while sv_db_tx_serial stays the
     * same); sv_db_close frees it with memo_free.  NULL: none. */
    void *memo;
    void (*memo_free)(void *memo);
};

sv_err sv_db_open(const char *uri, const sv_db_options *opt, sv_db **ret_db, sv_buf *reterr);
void sv_db_close(sv_db *db); /* accepts NULL */
const char *sv_db_backend_name(const sv_db *db);
sv_db_dialect sv_db_dialect_of(const sv_db *db);
/* The dialect of the database a uri names, as sv_db_open would open it. */
sv_db_dialect sv_db_uri_dialect(const char *uri);
sv_err sv_db_exec(sv_db *db, const char *sql, sv_buf *reterr);

/* A cached prepared statement for the constant sql, reset with bindings cleared.
 * Borrowed: owned by the connection, never finalize it. */
sv_err sv_db_stmt(sv_db *db, const char *sql, sv_stmt **ret_stmt, sv_buf *reterr);
/* An uncached statement for SQL assembled from constant fragments; caller finalizes. */
sv_err sv_db_prepare(sv_db *db, const char *sql, sv_stmt **ret_stmt, sv_buf *reterr);
/* The same for SQL assembled anew per request whose text repeats (searches): a
 * statement of one of the connection's recent texts equal to sql when one is
 * free (reset, bindings cleared), else a new one.  Give it back with
 * sv_stmt_release, never finalize it. */
sv_err sv_db_prepare_reuse(sv_db *db, const char *sql, sv_stmt **ret_stmt, sv_buf *reterr);
/* Gives back a statement of sv_db_prepare_reuse (accepts NULL). */
void sv_stmt_release(sv_stmt *st);
void sv_stmt_finalize(sv_stmt *st); /* accepts NULL */
void sv_stmt_reset(sv_stmt *st);

sv_err sv_stmt_bind_text(sv_stmt *st, int idx, const char *s); /* NULL binds NULL */
sv_err sv_stmt_bind_textn(sv_stmt *st, int idx, const char *s, size_t len);
/* The same without a copy: the statement borrows s, which must stay valid and unchanged
 * until the caller's last step of this execution has returned (sv_stmt_run, or the step
 * that returned no row or the caller's last row).  For a string that provably outlives
 * the execution (a function argument, a row being written); a copy costs a malloc, a
 * memcpy and a free per value on SQLite.  Backends that copy anyway ignore the hint. */
sv_err sv_stmt_bind_text_static(sv_stmt *st, int idx, const char *s); /* NULL binds NULL */
sv_err sv_stmt_bind_textn_static(sv_stmt *st, int idx, const char *s, size_t len);
sv_err sv_stmt_bind_int64(sv_stmt *st, int idx, int64_t v);
sv_err sv_stmt_bind_double(sv_stmt *st, int idx, double v);
sv_err sv_stmt_bind_null(sv_stmt *st, int idx);
sv_err sv_stmt_step(sv_stmt *st, bool *ret_row, sv_buf *reterr);
/* Steps once to completion (INSERT/UPDATE/DELETE); any rows are thrown away.  Inside
 * a write transaction on PostgreSQL it only queues the statement (libpq's pipeline
 * mode, see postgres.c): its failure is reported by the next call that waits for an
 * answer (a step, exec, commit), and sv_db_changes waits for it. */
sv_err sv_stmt_run(sv_stmt *st, sv_buf *reterr);
bool sv_stmt_column_is_null(sv_stmt *st, int col);
const char *sv_stmt_column_text(sv_stmt *st, int col, size_t *ret_len);
int64_t sv_stmt_column_int64(sv_stmt *st, int col);
double sv_stmt_column_double(sv_stmt *st, int col);

/*
 * Runs fn once, on this thread, right after the transaction open on db commits
 * (after sv_db_commit's backend commit returned success, so what it wrote is
 * visible to every connection), and never when it rolls back.  Outside a
 * transaction fn runs at once: an autocommit statement has committed when it
 * returns.  The same fn asked for twice in one transaction runs once.  For
 * process-wide wake-ups (coord/notify_wait.h); fn must not use db.
 */
void sv_db_after_commit(sv_db *db, void (*fn)(void));

/* Transactions do not nest; begin inside one is SV_ERR_INTERNAL. */
sv_err sv_db_begin(sv_db *db, sv_tx_kind kind, sv_buf *reterr);
sv_err sv_db_commit(sv_db *db, sv_buf *reterr);
/* In an SV_TX_CLAIM transaction: waits for the write lock (the busy timeout,
 * then SV_ERR_BUSY, as a begin of SV_TX_WRITE).  Does nothing in other
 * transactions, on backends without it, and when called again. */
sv_err sv_db_write_lock(sv_db *db, sv_buf *reterr);
void sv_db_rollback(sv_db *db); /* no-op outside a transaction */
bool sv_db_in_tx(const sv_db *db);
/*
 * True while db's write transaction runs on its backend's shared writer (SQLite's
 * group commit): then every write transaction of this database begun from now on,
 * on any connection of this process, runs after this one on the same writer and
 * sees its writes, also before this one's sv_db_commit has returned - so a caller
 * that serializes its writers itself may let the next one start before this one
 * commits (medcom/process.c).  False on PostgreSQL: there a transaction sees
 * another only once that one has committed.
 */
bool sv_db_tx_shared(const sv_db *db);
/* A number for the state of db's transaction, unique in the process: it changes at each
 * begin, each sv_db_exec (a ROLLBACK TO may have undone writes) and sv_db_write_lock
 * (others may have written before it); 0 outside one.  While
 * it stays the same, what the transaction read or wrote is still as it left it. */
uint64_t sv_db_tx_serial(const sv_db *db);
int64_t sv_db_changes(sv_db *db);

/* The write counters of db's database file in this process (all zero for a
 * backend or database without group commit, e.g. SQLite's ":memory:"). */
void sv_db_write_stats_get(sv_db *db, sv_db_write_stats *ret_stats);

/*
 * A number that changes whenever anything is committed to the database, by this
 * connection, another one, or another process: what lets a layer keep a value
 * read from the database in memory and know for certain when it may be stale.
 * False when the backend cannot tell or db is inside a transaction (whose own
 * writes are not committed yet): then nothing may be reused.
 */
bool sv_db_data_version(sv_db *db, uint64_t *ret_version);
/*
 * Hold (on) or let go: while held, what other connections commit is read once
 * and then kept, so that a request that asks several layers' memos pays for one
 * read of it; this connection's own writes still move the version at once.  The
 * api holds it across the start of one request (credentials, access), when
 * nothing it keeps can depend on a commit made by others in between.
 */
void sv_db_data_version_hold(sv_db *db, bool on);

/*
 * An online backup of a SQLite database to the new file path (refused when it
 * exists): one consistent snapshot while writers go on (db/sqlite_backup.c).
 * SV_ERR_UNSUPPORTED on other backends (PostgreSQL: pg_dump).
 */
sv_err sv_db_backup(sv_db *db, const char *path, sv_buf *reterr);

/*
 * Fault injection for tests (SQLite's xSetSystemCall, curl's torture tests): the
 * nth call from now (1 = the next one) among sv_db_exec, sv_db_begin, sv_db_commit,
 * the step calls (sv_stmt_step, each step of sv_stmt_run) and the prepares (an
 * sv_db_stmt cache miss, sv_db_prepare) fails with err instead of reaching the
 * backend, with "injected fault" in reterr.  A failed step resets its statement
 * and a failed commit rolls back, as real failures do.  One-shot: the hook
 * disarms itself when it fires.  nth <= 0 disarms.  Binds, columns, reset and
 * rollback are not counted.  Unarmed, it costs one integer test per call.
 */
void sv_db_fault_inject(sv_db *db, int nth, sv_err err);
/* True while an armed fault has not fired yet. */
bool sv_db_fault_pending(const sv_db *db);

/*
 * Notifications between processes on one database: a dedicated connection that
 * listens on a channel (PostgreSQL LISTEN, db/postgres_listen.c) in a thread of
 * its own and calls fn(ctx, payload) for each notification committed by any
 * process (the sender runs "SELECT pg_notify('channel', payload)" in its
 * transaction; PostgreSQL delivers it only at commit).  When the connection is
 * lost it reconnects (every second until it succeeds) and then calls fn(ctx,
 * NULL) once: notifications sent while it was away are gone, so the receiver
 * must re-check the database.  fn runs on the listener's thread.
 * channel: lowercase letters, digits and '_' (an SQL identifier as it is).
 * SQLite has nothing to listen to: one process uses a file at a time (see
 * docs/postgres.md), so an in-process wake-up (sv_db_after_commit) suffices;
 * for a SQLite uri this returns SV_ERR_UNSUPPORTED.  The first connection is
 * made before returning (its failure is returned).  Stop with
 * sv_db_listener_stop, which joins the thread (accepts NULL).
 */
typedef struct sv_db_listener sv_db_listener;
typedef void (*sv_db_listen_fn)(void *ctx, const char *payload);
sv_err sv_db_listen(const char *uri, const char *channel, sv_db_listen_fn fn, void *ctx,
                    sv_db_listener **ret_listener, sv_buf *reterr);
void sv_db_listener_stop(sv_db_listener *l);

extern const sv_db_backend sv_db_sqlite_backend;
extern const sv_db_backend sv_db_postgres_backend;

#endif
