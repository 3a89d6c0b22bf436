/*
 * process.c - one incoming message, start to end: check, look the id up in the
 * message log (a duplicate gets its first acknowledgement and changes nothing),
 * apply it, append its event row and its log line, commit, acknowledge.
 *
 * What is refused for its content is logged with its fatal-error
 * acknowledgement, so that a resend of the same id gets the same answer.  What
 * fails for storage (busy, I/O) is answered transient-error and not logged:
 * the sender retries the same id and it is processed then.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/datetime.h"
#include "medcom/internal.h"

static sv_medcom_event_hook event_hook;
static void *event_hook_ctx;
static sv_medcom_apply_hook apply_hook;
static void *apply_hook_ctx;

void sv_medcom_set_apply_hook(sv_medcom_apply_hook hook, void *ctx)
{
    apply_hook = hook;
    apply_hook_ctx = ctx;
}

void sv_medcom_set_event_hook(sv_medcom_event_hook hook, void *ctx)
{
    event_hook = hook;
    event_hook_ctx = ctx;
}

const char *sv_medcom_kind_name(sv_medcom_kind kind)
{
    switch (kind) {
    case SV_MEDCOM_HOSPITAL_NOTIFICATION:
        return "hospital-notification";
    case SV_MEDCOM_CARE_COMMUNICATION:
        return "care-communication";
    case SV_MEDCOM_ACKNOWLEDGEMENT:
        return "acknowledgement";
    default:
        return "";
    }
}

void sv_medcom_result_init(sv_medcom_result *res)
{
    memset(res, 0, sizeof(*res));
    sv_buf_init(&res->body);
    sv_outcome_init(&res->outcome);
}

void sv_medcom_result_clear(sv_medcom_result *res)
{
    if (!res)
        return;
    sv_buf_release(&res->body);
    sv_outcome_clear(&res->outcome);
    sv_medcom_result_init(res);
}

static bool is_transient(sv_err e)
{
    return e == SV_ERR_BUSY || e == SV_ERR_IO || e == SV_ERR_NOMEM || e == SV_ERR_INTERNAL;
}

static void move_issues(sv_outcome *from, sv_outcome *to)
{
    for (size_t i = 0; i < from->len; i++)
        sv_outcome_add(to, from->issues[i].severity, from->issues[i].code,
                       from->issues[i].expression, "%s",
                       from->issues[i].diagnostics ? from->issues[i].diagnostics : "");
    sv_outcome_clear(from);
}

/* Answers with an acknowledgement of code built for msg. */
static void answer(sv_medcom_result *res, const sv__medcom_msg *msg, const char *code,
                   const sv_outcome *issues)
{
    sv_buf_reset(&res->body);
    sv__medcom_ack_text(msg, code, issues, &res->body);
    res->code = code;
    res->status = 200;
}

/* An incoming acknowledgement settles an outbox item; it is never acknowledged. */
static const char SQL_OUTBOX_ACKED[] =
    "UPDATE medcom_outbox SET state = CASE ? WHEN 'ok' THEN 'acked' WHEN 'fatal-error' THEN"
    " 'failed' ELSE 'pending' END, ack_code = ?, next_attempt = ? WHERE message_id = ?";

static sv_err apply_ack(sv_rest *r, const sv__medcom_msg *msg, sv_medcom_event *ev)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(r->db, SQL_OUTBOX_ACKED, &st, NULL);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, msg->response_code);
    sv_stmt_bind_text(st, 2, msg->response_code);
    sv_stmt_bind_int64(st, 3, sv_clock_now_ms() + 60000);
    sv_stmt_bind_text(st, 4, msg->response_to);
    e = sv_stmt_run(st, NULL);
    ev->kind = "acknowledgement.received";
    return e;
}

static json_t *ack_receipt(void)
{
    return json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome", "issue",
                     "severity", "information", "code", "informational", "diagnostics",
                     "acknowledgement recorded; acknowledgements are not acknowledged");
}

/* ---- group commit ----------------------------------------------------------
 *
 * A message is checked on its own worker thread; what writes is queued.  The
 * first worker to find no writer running becomes the writer: it takes every
 * queued message of its database, applies them one after another in one
 * transaction on its connection, and commits once, so that one fsync and one
 * write of each touched page serve many messages (a commit per message spent
 * most of its time writing the same index pages to the WAL again).  A message
 * refused for its content is logged and the others applied again without it; a storage
 * failure ends the whole batch with transient-error for every message in it.
 * Acknowledgements leave only after the commit. */

#define BATCH_MAX 64

/* JOB_REDO: the apply hook failed; the batch is undone and done again without it. */
typedef enum job_outcome { JOB_OK, JOB_DUPLICATE, JOB_FATAL, JOB_TRANSIENT, JOB_REDO } job_outcome;

typedef struct job {
    sv_rest rest;         /* the submitter's; .db replaced by the writer's connection */
    const sv_buf *ok_ack; /* the ok acknowledgement, built before the queue; empty: none */
    const void *identity;
    sv__medcom_msg *msg;
    sv_err parsed;
    sv_outcome *issues;
    sv_medcom_result *res;
    sv__medcom_log_row row;
    sv_medcom_event ev;
    job_outcome outcome;
    bool taken;          /* in a writer's batch */
    bool refused;        /* for its content: logged, not applied, when the batch is done again */
    bool without_hook;   /* the apply hook failed on it: applied again without the hook */
    size_t parse_issues; /* issues of the check, before apply_one adds its own */
    bool done;
    struct job *next;
} job;

static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_done = PTHREAD_COND_INITIALIZER;
static job *queue_head;
static bool writer_running;
static sv_medcom_writer_stats writer_stats;                  /* under queue_lock */
static pthread_cond_t queue_more = PTHREAD_COND_INITIALIZER; /* a message was queued */
static int batch_wait_ms;

void sv_medcom_set_batch_wait(int ms)
{
    batch_wait_ms = ms > 0 ? ms : 0;
}

/* Under queue_lock: how many messages of identity are queued. */
static size_t queued(const void *identity)
{
    size_t n = 0;
    for (const job *p = queue_head; p; p = p->next)
        n += p->identity == identity;
    return n;
}

/* Under queue_lock, by a new writer: waits up to batch_wait_ms for a full batch. */
static void wait_for_batch(const void *identity)
{
    if (batch_wait_ms <= 0)
        return;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    int64_t ns = until.tv_nsec + (int64_t)batch_wait_ms * 1000000;
    until.tv_sec += ns / 1000000000;
    until.tv_nsec = ns % 1000000000;
    while (queued(identity) < BATCH_MAX &&
           pthread_cond_timedwait(&queue_more, &queue_lock, &until) == 0)
        ;
}

void sv_medcom_writer_stats_get(sv_medcom_writer_stats *ret_stats)
{
    pthread_mutex_lock(&queue_lock);
    *ret_stats = writer_stats;
    pthread_mutex_unlock(&queue_lock);
}

/* Applies one message inside the open transaction, without a savepoint of its own
 * (SQLite copies the original of every page a savepoint's writes touch into its
 * statement journal, some 130 pages an admission).  Returns a storage error (the
 * batch must end) or SV_OK with job->outcome set; JOB_FATAL (refused for its
 * content) leaves its partial writes in the transaction, which the caller then
 * undoes whole and does again without it (apply_batch). */
static sv_err apply_one(sv_db *db, job *j)
{
    sv__medcom_msg *msg = j->msg;
    sv_rest *r = &j->rest;
    r->db = db;
    /* Again from the start when the batch is done again. */
    sv_outcome_truncate(j->issues, j->parse_issues);
    sv_buf_reset(&j->res->body);
    j->res->handled = false;
    memset(&j->row, 0, sizeof(j->row));
    memset(&j->ev, 0, sizeof(j->ev));
    sv__medcom_logged seen;
    sv_err e = sv__medcom_log_find(db, msg->message_id, &seen);
    if (e == SV_OK) {
        sv_buf_adds(&j->res->body, seen.ack);
        j->res->code = strcmp(seen.code, "ok") == 0            ? "ok"
                       : strcmp(seen.code, "fatal-error") == 0 ? "fatal-error"
                                                               : "transient-error";
        sv__medcom_logged_clear(&seen);
        j->outcome = JOB_DUPLICATE;
        return SV_OK;
    }
    if (e != SV_ERR_NOT_FOUND)
        return e;
    j->row.message_id = msg->message_id;
    j->row.kind = sv_medcom_kind_name(msg->kind);
    j->row.activity = msg->activity;
    j->ev.activity = msg->activity;
    j->ev.message_id = msg->message_id;
    sv_policy_patients grants = {0};
    r->defer_grants = &grants;
    e = j->parsed;
    if (!e && msg->kind == SV_MEDCOM_HOSPITAL_NOTIFICATION)
        e = sv__medcom_apply_stay(r, msg, &j->row, &j->ev, j->issues);
    else if (!e && msg->kind == SV_MEDCOM_CARE_COMMUNICATION)
        e = sv__medcom_apply_thread(r, msg, &j->row, &j->ev, j->issues);
    else if (!e)
        e = apply_ack(r, msg, &j->ev);
    r->defer_grants = NULL;
    if (e)
        sv_policy_patients_clear(&grants);
    if (e && is_transient(e))
        return e;
    if (e) {
        j->outcome = JOB_FATAL;
        return SV_OK;
    }
    /* The citizens whose grants the message's writes changed, derived once each. */
    for (size_t i = 0; i < grants.len; i++)
        e = e ? e : sv_policy_derive(db, grants.ids[i], NULL);
    sv_policy_patients_clear(&grants);
    if (e)
        return e; /* the batch ends: nothing of it is kept */
    if (msg->kind == SV_MEDCOM_ACKNOWLEDGEMENT) {
        json_t *receipt = ack_receipt();
        sv_fhir_dump(receipt, &j->res->body);
        json_decref(receipt);
        j->res->status = 200;
    } else if (j->ok_ack->len) {
        sv_buf_add(&j->res->body, j->ok_ack->ptr, j->ok_ack->len);
        j->res->code = "ok";
        j->res->status = 200;
    } else {
        answer(j->res, msg, "ok", NULL);
    }
    j->row.code = "ok";
    j->row.ack = j->res->body.ptr;
    j->ev.time = sv_clock_now_ms();
    /* The row is written claimed for the hook, final when it acts (the usual
     * case: one write, no entry in the index of rows still to act on). */
    bool hook = apply_hook && !j->without_hook;
    e = sv__medcom_event_add(db, &j->ev, hook, &j->ev.seq);
    j->outcome = JOB_OK;
    if (!e && hook) {
        sv_err hooked = apply_hook(apply_hook_ctx, r, &j->ev, &j->res->handled);
        if (hooked) {
            /* The consumer's writes are in the transaction (no savepoint): the
             * batch is undone and this message applied again without it; its
             * event row then waits for the durable consumer. */
            j->without_hook = true;
            j->res->handled = false;
            j->outcome = JOB_REDO;
            return SV_OK;
        }
        if (!j->res->handled)
            e = sv__medcom_event_release(db, j->ev.seq);
    }
    if (!e)
        e = sv__medcom_log_add(db, &j->row);
    return e;
}

/* A message refused for its content: nothing of it stays but its log line, with
 * the fatal-error acknowledgement that a resend of its id gets again. */
static sv_err log_refusal(sv_db *db, job *j)
{
    answer(j->res, j->msg, "fatal-error", j->issues);
    sv__medcom_log_row refused = {.message_id = j->msg->message_id,
                                  .kind = sv_medcom_kind_name(j->msg->kind),
                                  .activity = j->msg->activity,
                                  .code = "fatal-error",
                                  .ack = j->res->body.ptr};
    return sv__medcom_log_add(db, &refused);
}

/* Under queue_lock: moves the queued jobs of identity into batch (holding n),
 * as far as it has room; returns its new length. */
static size_t take_jobs(const void *identity, job **batch, size_t n)
{
    for (job **p = &queue_head; *p && n < BATCH_MAX;) {
        if ((*p)->identity == identity) {
            (*p)->taken = true;
            batch[n++] = *p;
            *p = (*p)->next;
        } else {
            p = &(*p)->next;
        }
    }
    return n;
}

/* The writer: one transaction for the batch, which takes in the messages queued
 * meanwhile, so that one commit serves as many as arrive while it runs.  A message
 * refused for its content is rare: the transaction is then undone and the batch
 * done again from its first message, the refused one logged instead of applied;
 * so is a message whose apply hook (the stay rules) failed, applied again without
 * the hook.  Each pass settles one more message, so it ends.  Returns the batch's length; end_batch
 * commits it.  On a shared writer (SQLite) the writer role passes on as soon as
 * the queue is empty, before the commit: the next batch runs after this one on the
 * database's writer and sees its writes, while this commit waits for its sync
 * (docs/medcom.md, "Group commit"). */
static size_t apply_batch(sv_db *db, job **batch, size_t n, sv_err *ret_err, bool *ret_passed)
{
    sv_err e = sv_db_begin(db, SV_TX_WRITE, NULL);
    size_t applied = 0;
    *ret_passed = false;
    while (!e) {
        for (; !e && applied < n; applied++) {
            job *j = batch[applied];
            if (j->refused) {
                e = log_refusal(db, j);
                continue;
            }
            e = apply_one(db, j);
            if (!e && (j->outcome == JOB_FATAL || j->outcome == JOB_REDO)) {
                j->refused = j->outcome == JOB_FATAL;
                sv_db_rollback(db);
                e = sv_db_begin(db, SV_TX_WRITE, NULL);
                applied = (size_t)-1; /* from the first again */
            }
        }
        if (e)
            break;
        pthread_mutex_lock(&queue_lock);
        n = take_jobs(batch[0]->identity, batch, n);
        if (applied == n && sv_db_tx_shared(db)) {
            writer_running = false;
            *ret_passed = true;
            pthread_cond_broadcast(&queue_done);
        }
        pthread_mutex_unlock(&queue_lock);
        if (applied == n)
            break;
    }
    *ret_err = e;
    return n;
}

static void end_batch(sv_db *db, job **jobs, size_t n, sv_err e)
{
    if (!e)
        e = sv_db_commit(db, NULL);
    if (e) {
        sv_db_rollback(db);
        for (size_t i = 0; i < n; i++) {
            jobs[i]->outcome = JOB_TRANSIENT;
            jobs[i]->res->handled = false;
            sv_outcome_clear(jobs[i]->issues);
        }
    }
}

/* Queues j and returns when it is committed (or failed), by this thread as the
 * writer or by another. */
static void submit(job *j, sv_db *own)
{
    pthread_mutex_lock(&queue_lock);
    job **tail = &queue_head;
    while (*tail)
        tail = &(*tail)->next;
    *tail = j;
    pthread_cond_signal(&queue_more);
    while (!j->done) {
        if (writer_running || j->taken) {
            pthread_cond_wait(&queue_done, &queue_lock);
            continue;
        }
        writer_running = true;
        wait_for_batch(j->identity);
        job *batch[BATCH_MAX];
        size_t n = take_jobs(j->identity, batch, 0);
        pthread_mutex_unlock(&queue_lock);
        sv_err e = SV_OK;
        bool passed = false;
        struct timespec t0, t1, c0, c1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
        n = apply_batch(own, batch, n, &e, &passed);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
        end_batch(own, batch, n, e);
        pthread_mutex_lock(&queue_lock);
        writer_stats.batches++;
        writer_stats.apply_ns +=
            (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 + (t1.tv_nsec - t0.tv_nsec);
        writer_stats.apply_cpu_ns +=
            (int64_t)(c1.tv_sec - c0.tv_sec) * 1000000000 + (c1.tv_nsec - c0.tv_nsec);
        writer_stats.messages += (int64_t)n;
        for (size_t i = 0; i < n; i++) {
            writer_stats.refusals += batch[i]->refused;
            batch[i]->done = true;
        }
        if (!passed)
            writer_running = false;
        pthread_cond_broadcast(&queue_done);
    }
    pthread_mutex_unlock(&queue_lock);
}

sv_err sv_medcom_process(sv_rest *r, const json_t *bundle, sv_medcom_result *res)
{
    sv__medcom_msg *msg = calloc(1, sizeof(*msg));
    sv_outcome issues = SV_OUTCOME_INIT;
    if (!msg)
        return SV_ERR_NOMEM;
    sv_err parsed = sv__medcom_parse(bundle, msg, &issues);
    sv_err e = SV_OK;
    if (parsed == SV_ERR_INVALID) {
        move_issues(&issues, &res->outcome);
        res->status = 400;
        e = SV_ERR_INVALID;
        goto out;
    }
    res->kind = msg->kind;
    snprintf(res->message_id, sizeof(res->message_id), "%s", msg->message_id);
    snprintf(res->activity, sizeof(res->activity), "%s", msg->activity ? msg->activity : "");
    if (parsed && msg->kind == SV_MEDCOM_ACKNOWLEDGEMENT) {
        /* never answer an acknowledgement with one: a plain refusal */
        move_issues(&issues, &res->outcome);
        res->status = 422;
        e = SV_ERR_PROCESSING;
        goto out;
    }
    /* The ok acknowledgement depends on the message alone: built here, outside the
     * single writer's turn, which only copies it. */
    sv_buf ok_ack = SV_BUF_INIT;
    if (!parsed && msg->kind != SV_MEDCOM_ACKNOWLEDGEMENT)
        sv__medcom_ack_text(msg, "ok", NULL, &ok_ack);
    job j;
    memset(&j, 0, sizeof(j));
    j.ok_ack = &ok_ack;
    j.rest = *r;
    j.identity = r->db->identity ? r->db->identity : (const void *)r->db;
    j.msg = msg;
    j.parsed = parsed;
    j.issues = &issues;
    j.parse_issues = issues.len;
    j.res = res;
    submit(&j, r->db);
    res->status = 200;
    switch (j.outcome) {
    case JOB_DUPLICATE:
        res->duplicate = true;
        break;
    case JOB_FATAL:
        move_issues(&issues, &res->outcome);
        break;
    case JOB_TRANSIENT:
        answer(res, msg, "transient-error", NULL);
        break;
    case JOB_REDO: /* never the last word: the batch applied it again */
    case JOB_OK:
        if (event_hook)
            event_hook(event_hook_ctx, &j.ev);
        break;
    }
    if (msg->kind == SV_MEDCOM_ACKNOWLEDGEMENT && j.outcome != JOB_TRANSIENT)
        res->code = NULL;
    sv_buf_release(&ok_ack);
out:
    sv_outcome_clear(&issues);
    free(msg);
    return e;
}
