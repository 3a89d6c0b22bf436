/*
 * sqlite_int.h - what the SQLite backend's two files share: the connection
 * struct, statement execution helpers, and the group commit entry points
 * (sqlite_group.c).  Internal to src/db; only src/db includes sqlite3.h.
 */
#ifndef SV_DB_SQLITE_INT_H
#define SV_DB_SQLITE_INT_H

#include <pthread.h>
#include <time.h>
#include <sqlite3.h>

#include "db/db.h"

typedef struct sv__write_gate sv__write_gate;

typedef struct sqlite_db {
    sv_db base; /* must be first */
    sqlite3 *handle;
    sv__write_gate *gate; /* NULL: in-memory database, or the gate's own writer */
    bool grouped;         /* the open write transaction runs on the gate's writer */
    bool first;           /* ... as the first of its group: the outer transaction, no savepoint */
    int busy_timeout_ms;
    sqlite3_stmt *data_version; /* PRAGMA data_version, prepared on first use */
    sqlite3_stmt *kept[4];      /* the transaction statements of sv__sqlite_run_kept */
} sqlite_db;

/* The statements every write transaction of the group writer runs, prepared once
 * per connection instead of parsed by sqlite3_exec each time. */
typedef enum sv__kept_sql {
    SV__BEGIN_IMMEDIATE,
    SV__SAVEPOINT,
    SV__RELEASE,
    SV__COMMIT,
} sv__kept_sql;

sv_err sv__sqlite_run(sqlite3 *h, const char *sql, sv_buf *reterr);
/* As sv__sqlite_run with the statement which, kept prepared on db. */
sv_err sv__sqlite_run_kept(sqlite_db *db, sv__kept_sql which, sv_buf *reterr);
/* Opens a connection with our pragmas; serialized (FULLMUTEX) when asked.
 * The result has no gate and base.be set; close it with sv_db_close. */
sv_err sv__sqlite_connect(const char *path, const sv_db_options *opt, bool serialized,
                          sqlite_db **ret_db, sv_buf *reterr);

/* The gate of the database file at uri (NULL for in-memory and "file:" URIs),
 * with one more reference; sv__gate_release drops it. */
/* The log of a gate's writer (sqlite_wal.c): its syncs and checkpoints. */
typedef struct sv__wal {
    const char *path; /* the database file (borrowed from the gate) */
    bool sync_off;
    int busy_timeout_ms;
    pthread_mutex_t mutex;
    pthread_cond_t synced; /* a sync ended */
    pthread_cond_t wake;   /* for the checkpointer: frames to copy, or stop */
    int log_fd;            /* the log file, opened at the first sync; -1 before */
    int64_t written;       /* commits written to the log */
    int64_t durable;       /* the first `durable` of them are synced */
    bool syncing;          /* a thread is in fdatasync */
    bool failed;           /* a sync failed: no commit is acknowledged any more */
    int failed_errno;
    int64_t syncs, checkpoints;
    int64_t sync_ns;           /* wall time in fdatasync */
    int64_t frames_written;    /* frames appended by the writer's commits */
    int64_t own_checkpoint_ns; /* wall time of the writer's own checkpoints (in its turn) */
    int frames;                /* frames in the log after the last commit */
    int checkpointed;          /* frames in the log when the last checkpoint ran */
    int caught_up;             /* frames when the writer last completed a checkpoint itself */
    pthread_t thread;          /* the checkpointer */
    bool thread_started, thread_failed, stop;
    bool copying; /* the thread is in a checkpoint */
} sv__wal;

void sv__wal_init(sv__wal *w, const char *path, bool sync_off, int busy_timeout_ms);
/* Stops the checkpointer; call before the writer closes. */
void sv__wal_release(sv__wal *w);
/* Sets the writer up: synchronous=NORMAL (its commits do not sync), our WAL hook
 * in place of the auto-checkpoint. */
sv_err sv__wal_attach(sv__wal *w, sqlite3 *writer, sv_buf *reterr);
/* Counts a commit that has written its frames; returns its number for sv__wal_sync. */
int64_t sv__wal_written(sv__wal *w);

/* For the write path's counters (sv_db_write_stats). */
static inline int64_t sv__monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}
/* Returns once commit (and every one before it) is durable; SV_ERR_IO if a sync
 * failed, now or before. */
sv_err sv__wal_sync(sv__wal *w, int64_t commit, sv_buf *reterr);
/* Into the write path's counters (db.h): syncs, checkpoints, their times, frames. */
void sv__wal_stats(sv__wal *w, sv_db_write_stats *ret_stats);

sv__write_gate *sv__gate_acquire(const char *uri, const sv_db_options *opt);
void sv__gate_release(sv__write_gate *g);

sv_err sv__group_begin(sqlite_db *db, sv_buf *reterr);
sv_err sv__group_commit(sqlite_db *db, sv_buf *reterr);
void sv__group_rollback(sqlite_db *db);
void sv__group_stats(sqlite_db *db, sv_db_write_stats *ret_stats);

#endif
