/*
 * notify_wait.h - the process-wide wake-up of long polls on the notification
 * inbox (GET /notifications?wait=, docs/coordination.md).
 *
 * sv_coord_notify asks (sv_db_after_commit) for sv_coord_notice_wake once the
 * transaction that inserted a notice has committed, so that a woken poll's
 * next read sees the row; on PostgreSQL the api's listener thread
 * (sv_db_listen) calls it too when any process commits one.  The wake-up calls
 * the waker main set (the http server's, which lets every parked poll read its
 * inbox again).  It says only "something may have arrived": the poll re-reads
 * the database, which stays the only source of truth.
 * Depends on nothing but pthreads.
 */
#ifndef SV_COORD_NOTIFY_WAIT_H
#define SV_COORD_NOTIFY_WAIT_H

#include <stdint.h>

/* Calls the waker (if any) and counts the wake-up. */
void sv_coord_notice_wake(void);

/* Sets the waker; NULL: none.  Once this returns, the previous waker is not
 * running and will not be called again. */
void sv_coord_notice_set_waker(void (*fn)(void *ctx), void *ctx);

/* Wake-ups so far in this process (GET /metrics). */
uint64_t sv_coord_notice_wakes(void);

#endif
