/*
 * gauges.h - what /metrics reads from the database at each scrape
 * (docs/operations.md): the watchdog's jobs (fired, waiting, overdue - these
 * are the whole installation's, every process's), the MedCom outbox by state
 * and the audit log's length.  Counts only; no patient data.
 * Depends on store/db.
 */
#ifndef SV_OPS_GAUGES_H
#define SV_OPS_GAUGES_H

#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "db/db.h"

typedef struct sv_ops_gauges {
    int64_t jobs_fired;   /* coord_job rows claimed (done or being done) */
    int64_t jobs_waiting; /* not claimed yet */
    int64_t jobs_overdue; /* not claimed and due before now: the watchdog is behind */
    int64_t outbox_pending;
    int64_t outbox_sent;
    int64_t outbox_other; /* failed, retrying, acknowledged with an error ... */
    int64_t audit_records;
    int schema_version;
} sv_ops_gauges;

/* Reads them in one read transaction; now_ms decides "overdue". */
sv_err sv_ops_gauges_read(sv_db *db, int64_t now_ms, sv_ops_gauges *ret, sv_buf *reterr);

/* Whether the database answers and has this build's schema: SV_OK, or the
 * error with the reason in reterr (for /healthz). */
sv_err sv_ops_health(sv_db *db, sv_buf *reterr);

#endif
