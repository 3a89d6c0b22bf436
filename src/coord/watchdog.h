/*
 * watchdog.h - timed jobs about Tasks: a reminder before the deadline, and at
 * the deadline the overdue mark (Task.businessStatus), a notice to the owner
 * and an escalation to the citizen's coordinator and the owning organisation's
 * lead(s) (PractitionerRole.code staff-role#lead).
 *
 * Jobs live in coord_job (migration 6).  Writing a Task replaces its unclaimed
 * jobs.  A tick runs each due job in its own write transaction that first
 * claims it (UPDATE ... WHERE claimed IS NULL): with several processes on one
 * database each job fires once, and a crash in the middle rolls the claim back
 * with the work, so the job fires after the restart.  Time is the clock of
 * base/datetime.h, so tests pin it and call sv_coord_watchdog_tick (no sleeps).
 * Depends on fhir/ and below.
 */
#ifndef SV_COORD_WATCHDOG_H
#define SV_COORD_WATCHDOG_H

#include <stdint.h>

#include "fhir/rest.h"

/* How long before the deadline the reminder comes. */
#define SV_COORD_REMINDER_BEFORE_MS (24 * 3600 * INT64_C(1000))

/* Replaces the unclaimed jobs of type/id: with deadline INT64_MIN none remain;
 * otherwise an overdue job at the deadline and a reminder before it (only when
 * that is still in the future).  A job already claimed for the same kind and
 * time is not made again. */
sv_err sv__coord_jobs_schedule(sv_db *db, const char *type, const char *id, int64_t deadline,
                               sv_buf *reterr);

/* One job of kind for type/id at due (kept once per kind and time), and the
 * removal of a resource's unclaimed jobs: messages (coord/message.c) use them
 * for the answer-due job. */
sv_err sv__coord_job_add(sv_db *db, const char *kind, const char *type, const char *id, int64_t due,
                         sv_buf *reterr);
sv_err sv__coord_jobs_drop(sv_db *db, const char *type, const char *id, sv_buf *reterr);

typedef struct sv_coord_tick_stats {
    int jobs;              /* claimed by this tick */
    int reminders;         /* reminder notices sent */
    int overdue;           /* tasks marked overdue */
    int escalations;       /* escalation notices sent */
    int skipped;           /* jobs whose task was done, gone or moved */
    int unanswered;        /* messages past their answer time made into Tasks */
    int failed;            /* jobs whose work failed: rolled back, tried again next tick */
    int citizen_reminders; /* reminders to citizens of their own activities (reminder.h) */
} sv_coord_tick_stats;

/* Runs every job due at the clock's now.  r->db must not be in a transaction;
 * r->hooks should be the coordination hooks (the overdue mark is a Task write).
 * worker names this process in coord_job.claimed_by.  A job that fails rolls
 * back with its claim and the tick goes on; the first failure is returned. */
sv_err sv_coord_watchdog_tick(sv_rest *r, const char *worker, sv_coord_tick_stats *ret_stats,
                              sv_buf *reterr);

/* Work of a layer above coord/ (the stay rules' MedCom feed) that the
 * background thread does on its connection before each tick.  Set before the
 * watchdog starts; NULL: none. */
typedef sv_err (*sv_coord_tick_work)(void *ctx, sv_rest *r);
void sv_coord_watchdog_set_work(sv_coord_tick_work work, void *ctx);

/* The background thread: a tick every interval_ms on its own connection. */
typedef struct sv_coord_watchdog sv_coord_watchdog;
sv_err sv_coord_watchdog_start(const char *db_uri, int busy_timeout_ms, int interval_ms,
                               const char *base_url, sv_coord_watchdog **ret, sv_buf *reterr);
void sv_coord_watchdog_stop(sv_coord_watchdog *w); /* waits for the thread; accepts NULL */

#endif
