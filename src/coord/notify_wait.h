/*
 * notify_wait.h - the process-wide wake-up of long polls on the notification
 * inbox (GET /notifications?wait=, docs/coordination.md).
 *
 * A generation counter under one mutex and condition variable.  sv_coord_notify
 * asks (sv_db_after_commit) for sv_coord_notice_wake once the transaction that
 * inserted a notice has committed, so a woken waiter's next read sees the row;
 * on PostgreSQL the api's listener thread (sv_db_listen) calls it too when any
 * process commits one.  A wake-up says only "something may have arrived": the
 * waiter re-reads the database, which stays the only source of truth.
 * Depends on nothing but pthreads.
 */
#ifndef SV_COORD_NOTIFY_WAIT_H
#define SV_COORD_NOTIFY_WAIT_H

#include <stdbool.h>
#include <stdint.h>

/* The current generation.  Read it BEFORE checking the database, then wait
 * with it: a notice committed in between has already moved it, so the wait
 * returns at once instead of missing it. */
uint64_t sv_coord_notice_generation(void);

/* Moves the generation and wakes every waiter. */
void sv_coord_notice_wake(void);

/* Waits until the generation differs from seen or timeout_ms have passed;
 * returns the generation then (== seen on timeout). */
uint64_t sv_coord_notice_wait(uint64_t seen, int64_t timeout_ms);

/* Shutdown: wakes every waiter and makes later waits return at once, so that
 * the server's drain is not held up by long polls. */
void sv_coord_notice_close(void);

/* Counts a waiter in, unless max are waiting already (then false and nothing
 * counted).  Pair a true answer with sv_coord_notice_waiter_leave. */
bool sv_coord_notice_waiter_enter(int max);
void sv_coord_notice_waiter_leave(void);
/* How many are counted in now (GET /metrics). */
int sv_coord_notice_waiters(void);

#endif
