/* audit_log.c - see audit_log.h. */
#include "api/audit_log.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

/* One queued record with its own copies of the strings, in one allocation: the flushing
 * thread frees what worker threads allocated, and glibc's frees across threads (arena
 * locks) were a fifth of the writer's CPU with a block per string. */
typedef struct entry {
    struct entry *next;
    sv_audit_record rec;
    char strings[]; /* the record's strings, NUL-terminated one after another */
} entry;

struct sv_audit_log {
    sv_db *db; /* used by the flushing thread, or by stop after it has ended */
    pthread_mutex_t lock;
    pthread_cond_t wake;        /* the thread: time to flush (flush_now) or to stop */
    pthread_cond_t drained;     /* adders waiting at QUEUE_MAX: the queue was taken */
    pthread_mutex_t flush_lock; /* one flush at a time: the db connection is single-threaded */
    entry *head, *tail;
    size_t queued;
    bool flush_now;
    bool stopping;
    pthread_t thread;
    /* Logged at stop: how the writer kept up (counts only, no record contents). */
    uint64_t written, flushes; /* under flush_lock */
    uint64_t waits, wait_ms;   /* adders that met QUEUE_MAX, and how long they waited; under lock */
};

#define FLUSH_INTERVAL_MS 500 /* well inside the promised second */
/* Records queued at which the adding thread wakes the flushing thread at once instead of
 * leaving it to the interval: under a fast read load the thread then flushes back to
 * back, so what a crash can lose stays a fraction of a second (about 40 ms of reads at
 * 27,000/s) and the memory the queue holds stays small.  The adding request does not
 * write the queue itself: a request that did (the first version) waited for a whole
 * flush and gave reads a p99 of half a second. */
#define QUEUE_SOFT 1024
/* Records queued at which adding threads wait (at most QUEUE_WAIT_MS each) for the
 * thread to take the queue: back-pressure when reads come faster than their audit can be
 * written, so that neither memory nor the crash window grows for as long as the load
 * lasts (bench/run.sh's reads reached 100 MB resident before any bound). */
#define QUEUE_MAX 16384
#define QUEUE_WAIT_MS 1000
/* Records one flush transaction takes at most: adders held at QUEUE_MAX wait for one
 * transaction of this size, not for one of a whole queue (or more: the queue outgrows
 * QUEUE_MAX when waits time out).  Larger batches cost less per record (more records
 * share each dirty index page); 4,096 took about 10 % more CPU per record than a whole
 * queue, 8,192 as little (bench/audit-writer.sh). */
#define FLUSH_MAX 8192

static void entry_free(entry *en)
{
    free(en);
}

void sv_audit_log_add(sv_audit_log *log, const sv_audit_record *rec)
{
    if (!log)
        return;
    const char *const texts[] = {
        rec->principal_kind, rec->principal_id,  rec->organisation, rec->role,    rec->citizen,
        rec->action,         rec->resource_type, rec->resource_id,  rec->purpose, rec->reason};
    enum { N_TEXTS = sizeof(texts) / sizeof(texts[0]) };
    size_t len[N_TEXTS], total = 0;
    for (size_t i = 0; i < N_TEXTS; i++) {
        len[i] = texts[i] ? strlen(texts[i]) + 1 : 0;
        total += len[i];
    }
    entry *en = malloc(sizeof(*en) + total);
    if (!en)
        abort();
    en->next = NULL;
    en->rec = *rec;
    const char **copies[N_TEXTS] = {&en->rec.principal_kind, &en->rec.principal_id,
                                    &en->rec.organisation,   &en->rec.role,
                                    &en->rec.citizen,        &en->rec.action,
                                    &en->rec.resource_type,  &en->rec.resource_id,
                                    &en->rec.purpose,        &en->rec.reason};
    char *at = en->strings;
    for (size_t i = 0; i < N_TEXTS; i++) {
        if (texts[i]) {
            memcpy(at, texts[i], len[i]);
            *copies[i] = at;
            at += len[i];
        }
    }
    pthread_mutex_lock(&log->lock);
    if (log->tail)
        log->tail->next = en;
    else
        log->head = en;
    log->tail = en;
    log->queued++;
    if (log->queued >= QUEUE_SOFT && !log->flush_now) {
        log->flush_now = true;
        pthread_cond_signal(&log->wake);
    }
    if (log->queued >= QUEUE_MAX && !log->stopping) {
        /* Bounded: a failing database must slow reads down, not stop them. */
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += QUEUE_WAIT_MS / 1000;
        until.tv_nsec += (QUEUE_WAIT_MS % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        struct timespec began;
        clock_gettime(CLOCK_MONOTONIC, &began);
        int rc = 0;
        while (log->queued >= QUEUE_MAX && !log->stopping && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&log->drained, &log->lock, &until);
        struct timespec ended;
        clock_gettime(CLOCK_MONOTONIC, &ended);
        log->waits++;
        log->wait_ms += (uint64_t)((ended.tv_sec - began.tv_sec) * 1000 +
                                   (ended.tv_nsec - began.tv_nsec) / 1000000);
    }
    pthread_mutex_unlock(&log->lock);
}

/* Takes the whole queue out under the lock (stop). */
static entry *take_all(sv_audit_log *log)
{
    pthread_mutex_lock(&log->lock);
    entry *list = log->head;
    log->head = log->tail = NULL;
    log->queued = 0;
    log->flush_now = false;
    pthread_cond_broadcast(&log->drained);
    pthread_mutex_unlock(&log->lock);
    return list;
}

/* Takes up to FLUSH_MAX records from the front of the queue; *ret_n receives how many.
 * The caller holds flush_lock, so nobody else takes or puts back meanwhile, and adders
 * only write the tail's next: the first FLUSH_MAX links of a longer queue are walked
 * without the lock that adders need. */
static entry *take_some(sv_audit_log *log, size_t *ret_n)
{
    pthread_mutex_lock(&log->lock);
    entry *list = log->head;
    size_t n = log->queued;
    if (n <= FLUSH_MAX) {
        log->head = log->tail = NULL;
        log->queued = 0;
        log->flush_now = false;
        pthread_cond_broadcast(&log->drained);
        pthread_mutex_unlock(&log->lock);
        *ret_n = n;
        return list;
    }
    pthread_mutex_unlock(&log->lock);
    entry *last = list;
    for (size_t i = 1; i < FLUSH_MAX; i++)
        last = last->next;
    pthread_mutex_lock(&log->lock);
    log->head = last->next;
    last->next = NULL;
    log->queued -= FLUSH_MAX;
    log->flush_now = log->queued >= QUEUE_SOFT;
    pthread_cond_broadcast(&log->drained);
    pthread_mutex_unlock(&log->lock);
    *ret_n = FLUSH_MAX;
    return list;
}

/* Puts list back at the front of the queue (a failed flush keeps its records). */
static void put_back(sv_audit_log *log, entry *list)
{
    if (!list)
        return;
    entry *last = list;
    size_t n = 1;
    while (last->next) {
        last = last->next;
        n++;
    }
    pthread_mutex_lock(&log->lock);
    last->next = log->head;
    log->head = list;
    if (!log->tail)
        log->tail = last;
    log->queued += n;
    pthread_mutex_unlock(&log->lock);
}

/* Appends list (n records) in one transaction; on failure puts it back. */
static sv_err write_list(sv_audit_log *log, entry *list, size_t n)
{
    /* The records side by side for one batch append (borrowing the entries' strings). */
    sv_audit_record *recs = malloc(n * sizeof(*recs));
    if (!recs)
        abort();
    size_t i = 0;
    for (entry *en = list; en; en = en->next)
        recs[i++] = en->rec;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_begin(log->db, SV_TX_WRITE, &err);
    if (!e)
        e = sv_audit_append_batch(log->db, recs, n, NULL, &err);
    if (!e)
        e = sv_db_commit(log->db, &err);
    free(recs);
    if (e) {
        sv_db_rollback(log->db);
        /* The message names tables, never record contents. */
        sv_log(SV_LOG_ERROR, "event=audit_flush_failed records=%zu error=%s", n, sv_strerror(e));
        put_back(log, list);
    } else {
        log->written += n;
        log->flushes++;
        while (list) {
            entry *next = list->next;
            entry_free(list);
            list = next;
        }
    }
    sv_buf_release(&err);
    return e;
}

sv_err sv_audit_log_flush(sv_audit_log *log)
{
    if (!log)
        return SV_OK;
    pthread_mutex_lock(&log->flush_lock);
    sv_err e = SV_OK;
    size_t n;
    do {
        entry *list = take_some(log, &n);
        if (list)
            e = write_list(log, list, n);
    } while (!e && n == FLUSH_MAX);
    pthread_mutex_unlock(&log->flush_lock);
    return e;
}

static void *run(void *arg)
{
    sv_audit_log *log = arg;
    /* Named, so that top -H and perf show the writer's own share of the CPU. */
    pthread_setname_np(pthread_self(), "sv-audit");
    pthread_mutex_lock(&log->lock);
    while (!log->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += FLUSH_INTERVAL_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        int rc = 0;
        while (!log->stopping && !log->flush_now && rc != ETIMEDOUT)
            rc = pthread_cond_timedwait(&log->wake, &log->lock, &until);
        if (log->stopping)
            break;
        pthread_mutex_unlock(&log->lock);
        sv_audit_log_flush(log);
        pthread_mutex_lock(&log->lock);
    }
    pthread_mutex_unlock(&log->lock);
    return NULL;
}

sv_err sv_audit_log_start(const char *db_uri, int busy_timeout_ms, sv_audit_log **ret_log,
                          sv_buf *reterr)
{
    sv_audit_log *log = calloc(1, sizeof(*log));
    if (!log)
        return SV_ERR_NOMEM;
    sv_db_options opt = {.busy_timeout_ms = busy_timeout_ms};
    sv_err e = sv_db_open(db_uri, &opt, &log->db, reterr);
    if (e) {
        free(log);
        return e;
    }
    pthread_mutex_init(&log->lock, NULL);
    pthread_mutex_init(&log->flush_lock, NULL);
    pthread_cond_init(&log->wake, NULL);
    pthread_cond_init(&log->drained, NULL);
    if (pthread_create(&log->thread, NULL, run, log) != 0) {
        sv_db_close(log->db);
        pthread_cond_destroy(&log->drained);
        pthread_cond_destroy(&log->wake);
        pthread_mutex_destroy(&log->flush_lock);
        pthread_mutex_destroy(&log->lock);
        free(log);
        if (reterr)
            sv_buf_adds(reterr, "cannot start the audit thread");
        return SV_ERR_INTERNAL;
    }
    *ret_log = log;
    return SV_OK;
}

void sv_audit_log_stop(sv_audit_log *log)
{
    if (!log)
        return;
    pthread_mutex_lock(&log->lock);
    log->stopping = true;
    pthread_cond_signal(&log->wake);
    pthread_cond_broadcast(&log->drained);
    pthread_mutex_unlock(&log->lock);
    pthread_join(log->thread, NULL);
    /* Everything queued, also by requests that finished while the thread stopped.
     * A few tries: the database may be busy for a moment. */
    for (int i = 0; i < 5 && log->head; i++)
        sv_audit_log_flush(log);
    if (log->head)
        sv_log(SV_LOG_ERROR, "event=audit_records_lost records=%zu", log->queued);
    sv_log(SV_LOG_INFO,
           "event=audit_log_stopped records=%llu flushes=%llu full_queue_waits=%llu"
           " full_queue_wait_ms=%llu",
           (unsigned long long)log->written, (unsigned long long)log->flushes,
           (unsigned long long)log->waits, (unsigned long long)log->wait_ms);
    entry *list = take_all(log);
    while (list) {
        entry *next = list->next;
        entry_free(list);
        list = next;
    }
    sv_db_close(log->db);
    pthread_cond_destroy(&log->drained);
    pthread_cond_destroy(&log->wake);
    pthread_mutex_destroy(&log->flush_lock);
    pthread_mutex_destroy(&log->lock);
    free(log);
}
