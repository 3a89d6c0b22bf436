/*
 * load.h - loading resources from files: a Bundle (transaction, batch or
 * collection) or NDJSON (one resource per line).  Collection and NDJSON
 * resources keep their ids (update-as-create), so loading twice is harmless.
 * Used by `samverka import` and `samverka demo`.  Depends on fhir/rest, bundle.
 *
 * NDJSON and collection-Bundle resources are written in batches of several per
 * write transaction (one fsync per batch, not per resource).  Each resource is
 * validated before it is written and written inside a savepoint, so one that
 * fails is left out and the others of its batch are kept.  Only a failure of
 * the batch itself (its commit, or a storage error that ends the transaction)
 * loses the batch; its lines are then reported.  Transaction and batch Bundles
 * keep their own semantics (all-or-nothing, or each entry on its own).
 */
#ifndef SV_FHIR_LOAD_H
#define SV_FHIR_LOAD_H

#include <stddef.h>

#include "fhir/rest.h"

typedef struct sv_load_stats {
    size_t resources; /* written */
    size_t failed;
} sv_load_stats;

/* Resources per write transaction by default. */
#define SV_LOAD_BATCH 1000

/* Loads one file; problems are appended to reterr (one line each, naming the
 * file and line or entry, no resource content).  Returns the first error, after
 * trying every resource.  r must not be inside a transaction. */
sv_err sv_load_file(sv_rest *r, const char *path, sv_load_stats *stats, sv_buf *reterr);
/* The same with batch resources per transaction (1 = one transaction each). */
sv_err sv_load_file_batched(sv_rest *r, const char *path, size_t batch, sv_load_stats *stats,
                            sv_buf *reterr);

#endif
