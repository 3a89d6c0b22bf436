/*
 * include.h - following reference index rows between current resources: what
 * one resource references (_include), what references one resource
 * (_revinclude), and every resource whose rows reference one target through
 * one parameter, in storage order (compartments, $everything).
 *
 * Every statement is a named constant; values are bound.  Only current, not
 * deleted resources are visited: a reference to a deleted resource leads
 * nowhere.  The parameter names are the caller's (fhir/ decides what
 * "_compartment" means); store/ only matches them.  Depends on db/ and
 * store/resource.h.
 */
#ifndef SV_STORE_INCLUDE_H
#define SV_STORE_INCLUDE_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "store/access.h"
#include "store/resource.h"

/* Called per resource with its storage row id (stable, increasing with
 * creation); s is borrowed for the call.  Return false to stop. */
typedef bool (*sv_store_visit_rid)(void *ctx, int64_t rid, const sv_stored *s);

/*
 * Visits the resources that type/id references through param, or, when param
 * is NULL, through any parameter except skip_param (may be NULL).  target_type
 * (may be NULL) keeps only targets of that type.  At most limit visits, in
 * target row order; a target reached through two parameters is visited twice.
 */
sv_err sv_store_refs_from(sv_db *db, const sv_access_filter *acc, const char *type, const char *id,
                          const char *param, const char *skip_param, const char *target_type,
                          int64_t limit, sv_store_visit_rid visit, void *ctx, sv_buf *reterr);

/*
 * Visits the resources of source_type whose param references
 * target_type/target_id, at most limit, in row id order (one range of the
 * reference lookup index).
 */
sv_err sv_store_refs_to(sv_db *db, const sv_access_filter *acc, const char *target_type,
                        const char *target_id, const char *param, const char *source_type,
                        int64_t limit, sv_store_visit_rid visit, void *ctx, sv_buf *reterr);

/* One kind of referrer: resources of type whose param references the target. */
typedef struct sv_store_ref_source {
    const char *type;
    const char *param;
} sv_store_ref_source;
#define SV_STORE_REF_SOURCES_MAX 4
/* Called per resource with the index of its source; s borrowed for the call.  Return
 * false to stop. */
typedef bool (*sv_store_visit_source)(void *ctx, size_t source, int64_t rid, const sv_stored *s);

/*
 * What sv_store_refs_to with a NULL filter visits for each of sources[0..nsources)
 * (at most SV_STORE_REF_SOURCES_MAX), in one statement: the first limit resources of
 * each source, in row id order within the source; the sources may interleave.  No
 * access filter: for internal rule lookups (policy/grants.c).
 */
sv_err sv_store_refs_to_sources(sv_db *db, const char *target_type, const char *target_id,
                                const sv_store_ref_source *sources, size_t nsources, int64_t limit,
                                sv_store_visit_source visit, void *ctx, sv_buf *reterr);

typedef struct sv_store_referrers_query {
    const char *param;       /* e.g. "_compartment" */
    const char *target_type; /* e.g. "Patient" */
    const char *target_id;
    const char *type;  /* resources of this type (one index range per type) */
    int64_t since;     /* only last_updated >= since; INT64_MIN: all */
    int64_t after_rid; /* keyset paging: only rid > after_rid; 0: from the start */
    int64_t limit;
    bool keys_only;                 /* visit without json (sv_store_by_rid reads it later) */
    const sv_access_filter *access; /* only visible resources (store/access.h); NULL: all */
} sv_store_referrers_query;

/* Visits the resources matching q in row id order (keyset paging).
 * *ret_total (may be NULL) is the count of all matches ignoring after_rid and limit. */
sv_err sv_store_referrers(sv_db *db, const sv_store_referrers_query *q, sv_store_visit_rid visit,
                          void *ctx, int64_t *ret_total, sv_buf *reterr);

/* Visits the current version of the resource with row id rid, unless deleted. */
sv_err sv_store_by_rid(sv_db *db, const sv_access_filter *acc, int64_t rid,
                       sv_store_visit_rid visit, void *ctx, sv_buf *reterr);

/* The query plans (SQLite's EXPLAIN QUERY PLAN) of the statements above, one
 * line per step, "name: detail" (tests: every one stays on indexes). */
sv_err sv_store_include_explain(sv_db *db, sv_buf *ret_plan, sv_buf *reterr);

#endif
