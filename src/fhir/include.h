/*
 * include.h - _include and _revinclude: the resources a page of matches
 * references, and the resources that reference them, followed through the
 * reference index rows (store/include.h) with :iterate to a bounded depth.
 *
 * Included resources are current and not deleted, each appears once, and
 * never when it is already a match.  The number of included resources per page
 * is capped; when the cap or the depth bound cuts the result short, a warning
 * issue says so (the caller puts it in the Bundle as an OperationOutcome).
 * Depends on store/include.h, fhir/searchparam.h, fhir/types.h, fhir/outcome.h.
 */
#ifndef SV_FHIR_INCLUDE_H
#define SV_FHIR_INCLUDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "fhir/outcome.h"
#include "store/access.h"
#include "store/resource.h"

/* Defaults: included resources per page, and levels of inclusion (the first
 * level from the matches, the others by :iterate). */
#define SV_INCLUDE_MAX_RESOURCES 1000
#define SV_INCLUDE_MAX_DEPTH 4
/* The most _include/_revinclude parameters one search may have. */
#define SV_INCLUDE_MAX_SPECS 16

/* One _include or _revinclude value: Source:param[:Target].  Strings owned. */
typedef struct sv_include_spec {
    bool reverse;      /* _revinclude */
    bool iterate;      /* :iterate (or the older :recurse) */
    char *source_type; /* the referencing type; NULL for the wildcard "*" */
    char *param;       /* reference search parameter of source_type; NULL for "*" */
    char *target_type; /* only references to this type; NULL: any */
} sv_include_spec;

void sv_include_spec_clear(sv_include_spec *s); /* frees the strings; accepts NULL */

/* A resource in a result: copied out of the store, json owned. */
typedef struct sv_found {
    char type[64];
    char id[65];
    int64_t rid; /* storage row id; 0 when not known (matches of sv_store_search) */
    int64_t version;
    int64_t last_updated;
    char *json;
    size_t json_len;
} sv_found;

typedef struct sv_found_list {
    sv_found *items; /* owned */
    size_t len, cap;
} sv_found_list;

#define SV_FOUND_LIST_INIT                                                                         \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Appends a copy of s (json included).  Returns the new item. */
sv_found *sv_found_list_add(sv_found_list *l, int64_t rid, const sv_stored *s);
void sv_found_list_clear(sv_found_list *l); /* frees all; accepts NULL */

typedef struct sv_include_options {
    size_t max_resources; /* 0: SV_INCLUDE_MAX_RESOURCES */
    int max_depth;        /* 0: SV_INCLUDE_MAX_DEPTH */
    /* Optional filter on what may be included (e.g. $everything's _type and
     * _since); return false to leave s out. */
    bool (*accept)(void *ctx, const sv_stored *s);
    void *accept_ctx;
    /* Only resources visible under this filter (store/access.h); NULL: all. */
    const sv_access_filter *access;
} sv_include_options;

/*
 * Adds to ret_included (appending) the resources that specs reach from matches.
 * Specs without iterate apply to the matches only; with iterate, also to what
 * was included, level by level, up to max_depth levels.  opt may be NULL.
 * warnings receives a warning issue when the cap or the depth bound cut the
 * result short.  Storage failures are returned (ret_included then holds what
 * was found before).
 */
sv_err sv_include_run(sv_db *db, const sv_include_spec *specs, size_t nspecs,
                      const sv_found_list *matches, const sv_include_options *opt,
                      sv_found_list *ret_included, sv_outcome *warnings, sv_buf *reterr);

#endif
