/*
 * reindex.h - rebuilding the search-index rows (and the Patient compartment
 * rows) of every current resource from its stored JSON: after the search
 * parameter definitions changed, or when index rows were lost.  Versions, ids
 * and history are untouched.  Used by `samverka reindex`.
 * Depends on store/, fhir/index and fhir/compartment.
 */
#ifndef SV_FHIR_REINDEX_H
#define SV_FHIR_REINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "db/db.h"

/* Resources per write transaction by default. */
#define SV_REINDEX_BATCH 500

/* Called after each committed batch: done of total resources. */
typedef void (*sv_reindex_progress)(void *ctx, int64_t done, int64_t total);

/*
 * Replaces the index rows of each resource whose current version is not a
 * deletion, batch resources per write transaction (batch 0: SV_REINDEX_BATCH),
 * in storage order.  A resource whose stored JSON does not parse stops the run
 * (SV_ERR_INTERNAL, its Type/id in reterr); batches committed before stay.
 * Writers may run meanwhile: a resource they write is indexed by them.
 * db must not be inside a transaction; progress may be NULL.  *ret_done (may be
 * NULL) is the count of resources reindexed.
 */
sv_err sv_fhir_reindex(sv_db *db, size_t batch, sv_reindex_progress progress, void *ctx,
                       int64_t *ret_done, sv_buf *reterr);

#endif
