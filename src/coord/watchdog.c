/* watchdog.c - see watchdog.h. */
#include "coord/watchdog.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/datetime.h"
#include "coord/care.h"
#include "coord/codes.h"
#include "coord/coord.h"
#include "coord/notify.h"
#include "coord/reminder.h"
#include "coord/task.h"
#include "coord/team.h"
#include "coord/util.h"
#include "store/audit.h"

static const char SQL_DROP_UNCLAIMED[] =
    "DELETE FROM coord_job WHERE resource_type = ? AND resource_id = ? AND claimed IS NULL";
/* PostgreSQL: a job a tick holds (SV_TX_CLAIM, below) is left to it, not waited
 * for: that tick waits for the write lock this writer holds.  The tick finds the
 * job's resource moved and marks it skipped, as it does when its claim came
 * first on SQLite. */
static const char SQL_DROP_UNCLAIMED_PG[] =
    "DELETE FROM coord_job WHERE jid IN (SELECT jid FROM coord_job"
    " WHERE resource_type = ? AND resource_id = ? AND claimed IS NULL FOR UPDATE SKIP LOCKED)";
static const char SQL_ADD[] =
    "INSERT INTO coord_job (kind, resource_type, resource_id, due)"
    " SELECT ?1, ?2, ?3, ?4 WHERE NOT EXISTS (SELECT 1 FROM coord_job"
    "  WHERE resource_type = ?2 AND resource_id = ?3 AND kind = ?1 AND due = ?4)";

static sv_err add_job(sv_db *db, const char *kind, const char *type, const char *id, int64_t due,
                      sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_ADD, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, kind);
    sv_stmt_bind_text(st, 2, type);
    sv_stmt_bind_text(st, 3, id);
    sv_stmt_bind_int64(st, 4, due);
    return sv_stmt_run(st, reterr);
}

sv_err sv__coord_job_add(sv_db *db, const char *kind, const char *type, const char *id, int64_t due,
                         sv_buf *reterr)
{
    return add_job(db, kind, type, id, due, reterr);
}

sv_err sv__coord_jobs_drop(sv_db *db, const char *type, const char *id, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db,
                          sv_db_dialect_of(db) == SV_DIALECT_POSTGRES ? SQL_DROP_UNCLAIMED_PG
                                                                      : SQL_DROP_UNCLAIMED,
                          &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, type);
    sv_stmt_bind_text(st, 2, id);
    return sv_stmt_run(st, reterr);
}

sv_err sv__coord_jobs_schedule(sv_db *db, const char *type, const char *id, int64_t deadline,
                               sv_buf *reterr)
{
    sv_err e = sv__coord_jobs_drop(db, type, id, reterr);
    if (e || deadline == INT64_MIN)
        return e;
    int64_t remind = deadline - SV_COORD_REMINDER_BEFORE_MS;
    if (remind > sv_clock_now_ms())
        e = add_job(db, "reminder", type, id, remind, reterr);
    if (!e)
        e = add_job(db, "overdue", type, id, deadline, reterr);
    return e;
}

/* ---- a tick --------------------------------------------------------------- */

/* The next due unclaimed job after the cursor (?2 due, ?3 jid) in (due, jid) order;
 * on PostgreSQL locked for this transaction, passing over those other processes'
 * ticks hold. */
#define SQL_NEXT_BODY                                                                              \
    "SELECT jid, kind, resource_type, resource_id, due FROM coord_job"                             \
    " WHERE claimed IS NULL AND due <= ?1 AND (due > ?2 OR (due = ?2 AND jid > ?3))"               \
    " ORDER BY due, jid LIMIT 1"
static const char SQL_NEXT[] = SQL_NEXT_BODY;
static const char SQL_NEXT_PG[] = SQL_NEXT_BODY " FOR UPDATE SKIP LOCKED";
static const char SQL_CLAIM[] = "UPDATE coord_job SET claimed = ?, claimed_by = ?"
                                " WHERE jid = ? AND claimed IS NULL";
static const char SQL_OUTCOME[] = "UPDATE coord_job SET outcome = ? WHERE jid = ?";

typedef struct job {
    int64_t jid;
    char kind[16];
    char type[64];
    char id[65];
    int64_t due;
} job;

/* The next due unclaimed job after the cursor; *found false when there is none. */
static sv_err next_job(sv_db *db, int64_t now, int64_t after_due, int64_t after_jid, job *ret,
                       bool *found, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, sv_db_dialect_of(db) == SV_DIALECT_POSTGRES ? SQL_NEXT_PG : SQL_NEXT,
                          &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, now);
    sv_stmt_bind_int64(st, 2, after_due);
    sv_stmt_bind_int64(st, 3, after_jid);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    *found = !e && row;
    if (*found) {
        ret->jid = sv_stmt_column_int64(st, 0);
        snprintf(ret->kind, sizeof(ret->kind), "%s", sv_stmt_column_text(st, 1, NULL));
        snprintf(ret->type, sizeof(ret->type), "%s", sv_stmt_column_text(st, 2, NULL));
        snprintf(ret->id, sizeof(ret->id), "%s", sv_stmt_column_text(st, 3, NULL));
        ret->due = sv_stmt_column_int64(st, 4);
    }
    sv_stmt_reset(st);
    return e;
}

static sv_err claim(sv_db *db, const job *j, int64_t now, const char *worker, bool *ret_claimed,
                    sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_CLAIM, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, now);
    sv_stmt_bind_text(st, 2, worker);
    sv_stmt_bind_int64(st, 3, j->jid);
    e = sv_stmt_run(st, reterr);
    *ret_claimed = !e && sv_db_changes(db) == 1;
    return e;
}

static sv_err set_outcome(sv_db *db, const job *j, const char *outcome, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_OUTCOME, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, outcome);
    sv_stmt_bind_int64(st, 2, j->jid);
    return sv_stmt_run(st, reterr);
}

/* The organisation that owns a task: the owner itself or its PractitionerRole's
 * ("" when there is none). */
static sv_err owning_org(sv_db *db, const char *owner, char out[SV_COORD_REF_LEN])
{
    out[0] = '\0';
    if (sv__coord_ref_id(owner, "Organization")) {
        snprintf(out, SV_COORD_REF_LEN, "%s", owner);
        return SV_OK;
    }
    if (!sv__coord_ref_id(owner, "PractitionerRole"))
        return SV_OK;
    json_t *role = NULL;
    sv_err e = sv__coord_load_checked(db, owner, &role);
    if (e)
        return e == SV_ERR_NOT_FOUND ? SV_OK : e;
    if (!sv__coord_ref(json_object_get(role, "organization"), out))
        out[0] = '\0';
    json_decref(role);
    return SV_OK;
}

typedef struct lead_ctx {
    sv_db *db;
    const sv_coord_notice *n;
    const char *skip; /* already told */
    int sent;
    sv_err e;
    sv_buf *reterr;
} lead_ctx;

static bool notify_lead(void *ctx, const json_t *role)
{
    lead_ctx *l = ctx;
    const char *id = json_string_value(json_object_get(role, "id"));
    if (json_is_false(json_object_get(role, "active")) || !id)
        return true;
    char ref[SV_COORD_REF_LEN];
    snprintf(ref, sizeof(ref), "PractitionerRole/%s", id);
    if (l->skip && strcmp(ref, l->skip) == 0)
        return true;
    l->e = sv_coord_notify_party(l->db, ref, l->n, l->reterr);
    l->sent += !l->e;
    return !l->e;
}

static sv_err escalate(sv_db *db, const char *owner, const char *citizen,
                       const sv_coord_notice *base, int *ret_sent, sv_buf *reterr)
{
    sv_coord_notice n = *base;
    n.kind = SV_NOTICE_TASK_ESCALATED;
    char coordinator[SV_COORD_REF_LEN] = "";
    sv_err e = SV_OK;
    if (citizen)
        e = sv__coord_team_coordinator(db, citizen, coordinator, NULL);
    if (!e && coordinator[0]) {
        e = sv_coord_notify_party(db, coordinator, &n, reterr);
        *ret_sent += !e;
    }
    char org[SV_COORD_REF_LEN];
    if (!e)
        e = owning_org(db, owner, org);
    if (e || !org[0])
        return e;
    const char *names[] = {"organization", "role"};
    const char *values[] = {org, SV_SYS_STAFF_ROLE "|lead"};
    lead_ctx l = {.db = db, .n = &n, .skip = coordinator[0] ? coordinator : NULL, .reterr = reterr};
    e = sv__coord_find(db, "PractitionerRole", names, values, 2, 100, notify_lead, &l);
    *ret_sent += l.sent;
    return e ? e : l.e;
}

/* Does one claimed job inside the claiming transaction; *ret_outcome says what. */
static sv_err run_job(sv_rest *r, const job *j, int64_t now, sv_coord_tick_stats *stats,
                      const char **ret_outcome, sv_buf *reterr)
{
    if (strcmp(j->type, "CarePlan") == 0 && strcmp(j->kind, SV_COORD_JOB_CITIZEN_REMINDER) == 0)
        return sv__coord_reminders_fire(r, j->id, j->due, stats, ret_outcome, reterr);
    char ref[SV_COORD_REF_LEN];
    snprintf(ref, sizeof(ref), "%s/%s", j->type, j->id);
    if (strcmp(j->type, "Communication") == 0 && strcmp(j->kind, "answer-due") == 0) {
        bool made = false;
        sv_err me = sv__coord_message_job(r, j->id, j->due, &made, reterr);
        *ret_outcome = made ? "task" : "skipped";
        stats->unanswered += made;
        stats->skipped += !me && !made;
        return me;
    }
    json_t *task = NULL;
    if (strcmp(j->type, "Task") == 0) {
        sv_err le = sv__coord_load_checked(r->db, ref, &task);
        if (le && le != SV_ERR_NOT_FOUND)
            return le; /* a storage failure is not a vanished task */
    }
    const char *status = json_string_value(json_object_get(task, "status"));
    int64_t due = sv__coord_time(
        json_object_get(json_object_get(json_object_get(task, "restriction"), "period"), "end"));
    *ret_outcome = "skipped";
    bool reminder = strcmp(j->kind, "reminder") == 0;
    /* A job for a deadline that has since moved is stale: the write that moved it
     * scheduled new ones.  A reminder after the deadline is no use. */
    int64_t expected = reminder ? j->due + SV_COORD_REMINDER_BEFORE_MS : j->due;
    if (!task || sv_coord_task_status_final(status) || due != expected ||
        (reminder && due <= now)) {
        stats->skipped++;
        json_decref(task);
        return SV_OK;
    }
    char owner[SV_COORD_REF_LEN] = "", citizen[SV_COORD_REF_LEN] = "";
    sv__coord_ref(json_object_get(task, "owner"), owner);
    if (!sv__coord_ref(json_object_get(task, "for"), citizen) ||
        !sv__coord_ref_id(citizen, "Patient"))
        citizen[0] = '\0';
    const char *text = json_string_value(json_object_get(task, "description"));
    sv_coord_notice n = {.citizen = citizen[0] ? citizen : NULL, .resource = ref, .text = text};
    sv_err e = SV_OK;
    if (reminder) {
        n.kind = SV_NOTICE_TASK_REMINDER;
        if (owner[0])
            e = sv_coord_notify_party(r->db, owner, &n, reterr);
        stats->reminders += !e;
        *ret_outcome = "reminded";
    } else if (strcmp(j->kind, "overdue") == 0 && due <= now) {
        json_object_set_new(task, "businessStatus",
                            json_pack("{s:[{s:s, s:s, s:s}], s:s}", "coding", "system",
                                      SV_SYS_TASK_BUSINESS, "code", "overdue", "display", "Overdue",
                                      "text", "overdue"));
        sv_rest_result res;
        sv_rest_result_init(&res);
        e = sv_rest_update(r, "Task", j->id, task, NULL, &res);
        if (e && reterr)
            sv_buf_addf(reterr, "marking the task overdue failed: %s", sv_strerror(e));
        sv_rest_result_clear(&res);
        if (!e && owner[0]) {
            n.kind = SV_NOTICE_TASK_OVERDUE;
            e = sv_coord_notify_party(r->db, owner, &n, reterr);
        }
        if (!e)
            e = escalate(r->db, owner, citizen[0] ? citizen : NULL, &n, &stats->escalations,
                         reterr);
        stats->overdue += !e;
        *ret_outcome = "overdue";
    }
    json_decref(task);
    return e;
}

sv_err sv_coord_watchdog_tick(sv_rest *r, const char *worker, sv_coord_tick_stats *ret_stats,
                              sv_buf *reterr)
{
    sv_coord_tick_stats stats = {0};
    int64_t now = sv_clock_now_ms();
    int64_t after_due = INT64_MIN, after_jid = 0; /* each due job is tried once per tick */
    sv_err e = SV_OK, first_failure = SV_OK;
    for (;;) {
        /* On PostgreSQL the job is picked before the write lock is waited for,
         * so several processes' ticks pick different jobs side by side. */
        e = sv_db_begin(r->db, SV_TX_CLAIM, reterr);
        if (e)
            break;
        job j;
        bool found = false, claimed = false;
        e = next_job(r->db, now, after_due, after_jid, &j, &found, reterr);
        if (!e && found)
            e = sv_db_write_lock(r->db, reterr);
        if (!e && found)
            e = claim(r->db, &j, now, worker, &claimed, reterr);
        if (e || !found) {
            if (e)
                sv_db_rollback(r->db);
            else
                e = sv_db_commit(r->db, reterr);
            break;
        }
        after_due = j.due;
        after_jid = j.jid;
        if (!claimed) { /* another process took it between the select and the claim */
            e = sv_db_commit(r->db, reterr);
            if (e)
                break;
            continue;
        }
        const char *outcome = NULL;
        sv_buf job_err = SV_BUF_INIT;
        e = run_job(r, &j, now, &stats, &outcome, &job_err);
        if (!e)
            e = set_outcome(r->db, &j, outcome, &job_err);
        if (!e)
            e = sv_db_commit(r->db, &job_err);
        sv_buf_release(&job_err);
        if (!e) {
            stats.jobs++;
            continue;
        }
        /* The work rolled back with its claim, as after a crash: the job stays for
         * the next tick, and this tick goes on with the others. */
        sv_db_rollback(r->db);
        stats.failed++;
        if (!first_failure)
            first_failure = e;
    }
    if (ret_stats)
        *ret_stats = stats;
    return e ? e : first_failure;
}

/* ---- the thread ------------------------------------------------------------ */

struct sv_coord_watchdog {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    bool stop;
    int interval_ms;
    sv_db *db;
    char *base_url;
    char worker[64];
};

static sv_coord_tick_work extra_work;
static void *extra_ctx;

void sv_coord_watchdog_set_work(sv_coord_tick_work work, void *ctx)
{
    extra_work = work;
    extra_ctx = ctx;
}

static void *watchdog_main(void *arg)
{
    sv_coord_watchdog *w = arg;
    sv_rest r = {.db = w->db,
                 .actor = &sv_audit_system,
                 .base_url = w->base_url,
                 .default_count = 50,
                 .max_count = 1000,
                 .hooks = sv_coord_hooks()};
    pthread_mutex_lock(&w->lock);
    while (!w->stop) {
        pthread_mutex_unlock(&w->lock);
        if (extra_work)
            extra_work(extra_ctx, &r);
        sv_coord_watchdog_tick(&r, w->worker, NULL, NULL);
        pthread_mutex_lock(&w->lock);
        if (w->stop)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += w->interval_ms / 1000;
        until.tv_nsec += (long)(w->interval_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->wake, &w->lock, &until);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

sv_err sv_coord_watchdog_start(const char *db_uri, int busy_timeout_ms, int interval_ms,
                               const char *base_url, sv_coord_watchdog **ret, sv_buf *reterr)
{
    sv_coord_watchdog *w = calloc(1, sizeof(*w));
    if (!w)
        return SV_ERR_NOMEM;
    sv_db_options opt = {.busy_timeout_ms = busy_timeout_ms};
    sv_err e = sv_db_open(db_uri, &opt, &w->db, reterr);
    if (e) {
        free(w);
        return e;
    }
    w->interval_ms = interval_ms > 0 ? interval_ms : 60000;
    w->base_url = strdup(base_url ? base_url : "http://localhost/fhir");
    snprintf(w->worker, sizeof(w->worker), "pid-%ld", (long)getpid());
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->wake, NULL);
    if (pthread_create(&w->thread, NULL, watchdog_main, w) != 0) {
        sv_db_close(w->db);
        free(w->base_url);
        free(w);
        return SV_ERR_INTERNAL;
    }
    *ret = w;
    return SV_OK;
}

void sv_coord_watchdog_stop(sv_coord_watchdog *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->wake);
    pthread_mutex_destroy(&w->lock);
    sv_db_close(w->db);
    free(w->base_url);
    free(w);
}
