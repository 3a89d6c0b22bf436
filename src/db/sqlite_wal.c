/*
 * sqlite_wal.c - the log of a group commit writer (sqlite_group.c): its sync runs
 * after the writer's turn has passed on, and its checkpoints run on a thread of
 * their own.
 *
 * Why: with synchronous=FULL, SQLite fsyncs the log inside COMMIT, and with the
 * default auto-checkpoint the COMMIT that crosses 1,000 log pages also copies them
 * into the database file and fsyncs that.  Both ran while the group held the
 * writer, so no other transaction could run meanwhile: on this shared disk a
 * COMMIT took 2.5-4.6 ms on average (up to 100 ms with a checkpoint), most of the
 * time the medcom writer was busy (docs/performance.md, "Write serialization").
 *
 * The sync: the writer runs with synchronous=NORMAL, so its COMMIT writes the
 * group's frames, commit mark included, into the log (the OS's cache) and
 * returns.  The turn passes to the next group, and the committing thread calls
 * sv__wal_sync: fdatasync of the log file, which makes every frame written before
 * the call durable, so one call serves every commit written by then - a thread
 * that finds a sync under way waits for it, and starts one of its own only if its
 * commit came after that sync began.  Members of a group are told that they
 * succeeded only after it returned.  Why that is enough also after an OS crash:
 * docs/architecture.md, "Writes".  A failed sync is sticky: after one, no commit
 * of this file is acknowledged any more (the OS may have dropped the log's dirty
 * pages and report success on the next call; later frames need the earlier ones).
 *
 * The checkpoints: the writer's auto-checkpoint is off; its WAL hook counts the
 * log's frames after each commit and, past CHECKPOINT_FRAMES new frames, wakes a
 * checkpointer thread (started at the first need) that runs a PASSIVE checkpoint
 * on its own connection.  PASSIVE waits for nobody: writers go on appending while
 * it copies.  But SQLite restarts the log from its beginning only when a write
 * transaction begins with every frame copied, which under steady writes never
 * happens behind a thread (the log grew by 44 MB a second in bench/medcom.sh).  So
 * once the log holds RESTART_FRAMES, the thread goes on copying until it is less
 * than CATCH_UP_FRAMES behind, and then the writer completes the checkpoint itself
 * right after a commit, with the gate's turn still held: it copies only what the
 * thread has not copied yet, and the next write transaction restarts the log
 * (unless a reader still uses it; then again CHECKPOINT_FRAMES later).  If the
 * thread cannot get that close, the writer completes it anyway at RESTART_FRAMES +
 * CHECKPOINT_FRAMES, so that the log stays bounded.  A checkpoint syncs the log
 * before it copies and the database file after; with the writer copying up to
 * 4,000 frames and syncing them, its own checkpoints took 0.37-0.46 s of every 10 s
 * of bench/medcom.sh on disk (a tenth of its COMMITs), which it now leaves to the
 * thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db/sqlite_int.h"

/* Pages of log between two checkpoints of the thread: four times SQLite's default,
 * because a page rewritten by many commits (a B-tree's last leaf, its parents) is
 * copied once per checkpoint, not once per frame: with 1,000 a MedCom admission
 * wrote 359 KB (log and database file), with 4,000 315 KB, and the server's CPU per
 * message fell by a ninth (docs/performance/medcom.md, "Session 4, later"). */
#define CHECKPOINT_FRAMES 4000
/* Past this many frames (64 MB of log) the writer itself completes the checkpoint
 * after a commit, so that the log can restart (above). */
#define RESTART_FRAMES 16000
/* How far behind the thread may be when the writer completes its checkpoint. */
#define CATCH_UP_FRAMES 1000

/* Under w->mutex: the log holds frames the thread should copy now. */
static bool thread_due(const sv__wal *w)
{
    int behind = w->frames - w->checkpointed;
    return behind >= CHECKPOINT_FRAMES || (w->frames >= RESTART_FRAMES && behind > CATCH_UP_FRAMES);
}

void sv__wal_init(sv__wal *w, const char *path, bool sync_off, int busy_timeout_ms)
{
    memset(w, 0, sizeof(*w));
    w->path = path;
    w->sync_off = sync_off;
    w->busy_timeout_ms = busy_timeout_ms;
    w->log_fd = -1;
    pthread_mutex_init(&w->mutex, NULL);
    pthread_cond_init(&w->synced, NULL);
    pthread_cond_init(&w->wake, NULL);
}

void sv__wal_release(sv__wal *w)
{
    pthread_mutex_lock(&w->mutex);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    bool started = w->thread_started;
    pthread_mutex_unlock(&w->mutex);
    if (started)
        pthread_join(w->thread, NULL);
    if (w->log_fd >= 0)
        close(w->log_fd);
    pthread_cond_destroy(&w->wake);
    pthread_cond_destroy(&w->synced);
    pthread_mutex_destroy(&w->mutex);
}

static void *checkpointer(void *arg)
{
    sv__wal *w = arg;
    sqlite_db *conn = NULL;
    pthread_setname_np(pthread_self(), "sv-checkpoint");
    pthread_mutex_lock(&w->mutex);
    while (!w->stop) {
        if (!thread_due(w)) {
            pthread_cond_wait(&w->wake, &w->mutex);
            continue;
        }
        int frames_now = w->frames;
        w->copying = true;
        pthread_mutex_unlock(&w->mutex);
        int rc = SQLITE_ERROR, log = 0, copied = 0;
        if (!conn) {
            sv_db_options opt = {.busy_timeout_ms = w->busy_timeout_ms,
                                 .synchronous_off = w->sync_off};
            if (sv__sqlite_connect(w->path, &opt, false, &conn, NULL) != SV_OK)
                conn = NULL;
        }
        if (conn)
            rc = sqlite3_wal_checkpoint_v2(conn->handle, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
                                           &copied);
        pthread_mutex_lock(&w->mutex);
        w->copying = false;
        if (rc == SQLITE_OK)
            w->checkpoints++;
        /* Wait for more frames before the next one, also when a reader kept part of
         * the log from being copied or the checkpoint failed: it would fail again at
         * once.  A restart meanwhile (the writer's frames count fell) starts over. */
        if (w->frames >= frames_now)
            w->checkpointed = rc == SQLITE_OK && log > frames_now ? log : frames_now;
    }
    pthread_mutex_unlock(&w->mutex);
    if (conn)
        sv_db_close(&conn->base);
    return NULL;
}

/* SQLite calls it on the writer right after each commit, the write lock released,
 * the gate's turn still held: no frame of this process is appended meanwhile. */
static int wal_hook(void *arg, sqlite3 *h, const char *name, int frames)
{
    sv__wal *w = arg;
    bool self = false;
    int caught_up_before = 0;
    pthread_mutex_lock(&w->mutex);
    if (frames < w->frames) {
        w->checkpointed = 0; /* the log restarted from its beginning */
        w->caught_up = 0;
        w->frames_written += frames;
    } else {
        w->frames_written += frames - w->frames;
    }
    w->frames = frames;
    bool close = !w->copying && frames - w->checkpointed <= CATCH_UP_FRAMES;
    if (frames >= RESTART_FRAMES && (close || frames >= RESTART_FRAMES + CHECKPOINT_FRAMES) &&
        frames - w->caught_up >= CHECKPOINT_FRAMES && !w->stop) {
        caught_up_before = w->caught_up;
        w->caught_up = frames;
        self = true;
    } else if (thread_due(w) && !w->stop) {
        if (!w->thread_started && !w->thread_failed) {
            w->thread_started = pthread_create(&w->thread, NULL, checkpointer, w) == 0;
            w->thread_failed = !w->thread_started;
        }
        if (w->thread_started)
            pthread_cond_signal(&w->wake);
        else
            self = true;
    }
    pthread_mutex_unlock(&w->mutex);
    if (!self)
        return SQLITE_OK;
    /* On the writer: the catch-up that lets the log restart, or, without a thread,
     * every checkpoint (as SQLite's own auto-checkpoint). */
    int64_t began = sv__monotonic_ns();
    int rc = sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    int64_t took = sv__monotonic_ns() - began;
    pthread_mutex_lock(&w->mutex);
    w->own_checkpoint_ns += took;
    if (rc == SQLITE_OK) {
        w->checkpoints++;
        w->checkpointed = frames;
    } else if (rc == SQLITE_BUSY && w->caught_up == frames) {
        w->caught_up = caught_up_before; /* the thread was copying: again next commit */
    }
    pthread_mutex_unlock(&w->mutex);
    return SQLITE_OK;
}

sv_err sv__wal_attach(sv__wal *w, sqlite3 *writer, sv_buf *reterr)
{
    if (!w->sync_off) {
        sv_err e = sv__sqlite_run(writer, "PRAGMA synchronous=NORMAL", reterr);
        if (e)
            return e;
    }
    sqlite3_wal_hook(writer, wal_hook, w); /* replaces the auto-checkpoint */
    return SV_OK;
}

int64_t sv__wal_written(sv__wal *w)
{
    pthread_mutex_lock(&w->mutex);
    int64_t n = ++w->written;
    pthread_mutex_unlock(&w->mutex);
    return n;
}

/* The log file exists from the writer's first commit on, and stays (the same
 * file) while the writer is open: SQLite deletes it only when the last
 * connection to the database closes. */
static int log_fd(sv__wal *w)
{
    if (w->log_fd < 0) {
        char name[4200];
        if ((size_t)snprintf(name, sizeof(name), "%s-wal", w->path) < sizeof(name))
            w->log_fd = open(name, O_RDONLY | O_CLOEXEC);
    }
    return w->log_fd;
}

sv_err sv__wal_sync(sv__wal *w, int64_t commit, sv_buf *reterr)
{
    if (w->sync_off)
        return SV_OK;
    pthread_mutex_lock(&w->mutex);
    while (!w->failed && w->durable < commit) {
        if (w->syncing) {
            pthread_cond_wait(&w->synced, &w->mutex);
            continue;
        }
        w->syncing = true;
        int64_t covers = w->written; /* each of them wrote its frames before it counted */
        int fd = log_fd(w);
        pthread_mutex_unlock(&w->mutex);
        int64_t began = sv__monotonic_ns();
        int rc = fd >= 0 ? fdatasync(fd) : -1;
        int err = rc ? errno : 0;
        int64_t took = sv__monotonic_ns() - began;
        pthread_mutex_lock(&w->mutex);
        w->sync_ns += took;
        w->syncing = false;
        if (rc == 0) {
            w->syncs++;
            if (covers > w->durable)
                w->durable = covers;
        } else {
            w->failed = true;
            w->failed_errno = err;
        }
        pthread_cond_broadcast(&w->synced);
    }
    bool failed = w->failed;
    int err = w->failed_errno;
    pthread_mutex_unlock(&w->mutex);
    if (failed) {
        if (reterr)
            sv_buf_addf(reterr,
                        "sqlite commit: syncing the log failed (errno %d); no write is "
                        "acknowledged until the server restarts",
                        err);
        return SV_ERR_IO;
    }
    return SV_OK;
}

void sv__wal_stats(sv__wal *w, sv_db_write_stats *ret_stats)
{
    pthread_mutex_lock(&w->mutex);
    ret_stats->syncs = w->syncs;
    ret_stats->frames = w->frames_written;
    ret_stats->own_checkpoint_ns = w->own_checkpoint_ns;
    ret_stats->sync_ns = w->sync_ns;
    ret_stats->checkpoints = w->checkpoints;
    pthread_mutex_unlock(&w->mutex);
}
