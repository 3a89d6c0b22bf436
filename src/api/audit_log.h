/*
 * audit_log.h - the queue of read audit records (read, vread, search, history).
 *
 * Reads must not take the write lock one by one, so their records go into an
 * in-process queue; a background thread appends what has queued, in one write
 * transaction, at least every second (store/audit.h keeps the chain).  Stop
 * flushes everything before it returns, so a clean shutdown loses nothing; a
 * crash loses at most the records of the last second (docs/audit.md).  Writes
 * do not come here: they append in their own transaction (fhir/rest.c).
 *
 * Thread-safe: any worker thread may add.  Depends on store/ and base/.
 */
#ifndef SV_API_AUDIT_LOG_H
#define SV_API_AUDIT_LOG_H

#include "base/error.h"
#include "store/audit.h"

typedef struct sv_audit_log sv_audit_log;

/* Opens the log's own connection to db_uri and starts the flushing thread. */
sv_err sv_audit_log_start(const char *db_uri, int busy_timeout_ms, sv_audit_log **ret_log,
                          sv_buf *reterr);
/* Queues a copy of rec (its strings are copied; rec stays the caller's). */
void sv_audit_log_add(sv_audit_log *log, const sv_audit_record *rec);
/* Appends everything queued now, in the caller's thread; SV_OK when the queue was
 * written (or empty). */
sv_err sv_audit_log_flush(sv_audit_log *log);
/* Flushes everything, stops the thread and closes the connection.  Accepts NULL. */
void sv_audit_log_stop(sv_audit_log *log);

#endif
