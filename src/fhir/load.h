/*
 * load.h - loading resources from files: a Bundle (transaction, batch or
 * collection) or NDJSON (one resource per line).  Collection and NDJSON
 * resources keep their ids (update-as-create), so loading twice is harmless.
 * Used by `samverka import` and `samverka demo`.  Depends on fhir/rest, bundle.
 */
#ifndef SV_FHIR_LOAD_H
#define SV_FHIR_LOAD_H

#include <stddef.h>

#include "fhir/rest.h"

typedef struct sv_load_stats {
    size_t resources; /* written */
    size_t failed;
} sv_load_stats;

/* Loads one file; problems are appended to reterr (one line each, no resource
 * content).  Returns the first error, after trying every resource. */
sv_err sv_load_file(sv_rest *r, const char *path, sv_load_stats *stats, sv_buf *reterr);

#endif
