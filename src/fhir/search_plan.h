/*
 * search_plan.h - a parsed FHIR search: the clauses for the store, the result
 * parameters (_count, _offset, _total, _summary), and the canonical self link.
 * Internal to fhir/search*.c.
 */
#ifndef SV_FHIR_SEARCH_PLAN_H
#define SV_FHIR_SEARCH_PLAN_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "fhir/outcome.h"
#include "fhir/query.h"
#include "fhir/rest.h"
#include "store/search.h"

typedef struct sv_search_plan {
    sv_clause *clauses;
    size_t n, cap;
    char **strings; /* owned copies the clause values point into */
    size_t nstrings, capstrings;
    int64_t count, offset;
    bool total_none, summary_count;
    sv_buf self;                     /* the parameters that were used, URL-encoded, for links */
    struct sv_search_result *result; /* _include, _revinclude, _elements, _summary
                                      * (search_result.h); NULL when none; owned */
} sv_search_plan;

/* Parses q for resource type into plan (caller clears, also on failure).  Unknown
 * parameters: SV_ERR_INVALID with an issue, or ignored when lenient. */
sv_err sv__search_parse(const sv_rest *r, const char *type, const sv_query *q, bool lenient,
                        sv_search_plan *plan, sv_outcome *out);
void sv__search_plan_init(sv_search_plan *plan);
void sv__search_plan_clear(sv_search_plan *plan);

#endif
