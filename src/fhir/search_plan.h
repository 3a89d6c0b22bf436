/*
 * search_plan.h - a parsed FHIR search: the clauses for the store, the order
 * (_sort), the page (_count, _offset or a keyset _cursor), the result parameters
 * (_total, _summary) and the canonical self link.  Internal to fhir/search*.c.
 *
 * Running it: sv__search_plan_run() gives the matches of one page in order and
 * sets plan->next_cursor, the _cursor value of the next page.  A _cursor page
 * continues exactly after the last row of the previous one, whatever was
 * created, updated or deleted in between (only a resource whose sort values
 * changed moves); docs/search.md.
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
    char **strings; /* owned allocations the clauses, links and keys point into */
    size_t nstrings, capstrings;
    int64_t count, offset;
    bool total_none, summary_count;
    sv_buf self;                     /* the parameters that were used, URL-encoded, for links
                                        (without _count, _offset and _cursor) */
    struct sv_search_result *result; /* _include, _revinclude, _elements, _summary
                                      * (search_result.h); NULL when none; owned */
    /* _sort: the keys in order; ties are broken by insertion order (rid) */
    sv_sort_key sort[SV_SORT_MAX_KEYS];
    size_t nsort;
    const char *sort_text; /* _sort as normalised ("-deadline,_id"), "" for none; owned */
    /* keyset paging: the _cursor value as given (NULL: none; _offset is then ignored),
     * the position it encodes, and whether it asks for the page before it */
    const char *cursor;
    sv_search_position after;
    bool cursor_backward;
    /* Output of sv__search_plan_run: the _cursor values of the next page (NULL when
     * there is none) and of the previous page (NULL on a page reached without a
     * cursor, where _offset links apply, and on the first page).  Owned. */
    char *next_cursor;
    char *prev_cursor;
    /* Only what this filter lets the caller see (store/access.h); NULL: all.  Borrowed. */
    const sv_access_filter *access;
} sv_search_plan;

/* Parses q for resource type into plan (caller clears, also on failure).  Unknown
 * parameters: SV_ERR_INVALID with an issue, or ignored when lenient. */
sv_err sv__search_parse(const sv_rest *r, const char *type, const sv_query *q, bool lenient,
                        sv_search_plan *plan, sv_outcome *out);
void sv__search_plan_init(sv_search_plan *plan);
void sv__search_plan_clear(sv_search_plan *plan);

/*
 * Runs plan on db: visits the matches of type in the plan's order, from the
 * plan's cursor (or offset), at most limit of them (limit 0: none, only the
 * total), stopping early when visit returns false.  *ret_total (may be NULL)
 * receives the number of all matches.
 *
 * Sets plan->next_cursor (replacing any earlier one) when the walk ended before
 * the matches did: visit returned false, or limit rows were visited (there may
 * be more); it continues after the last row visit accepted.  So a caller that
 * asks for limit = page size + 1 and refuses the extra row gets next_cursor
 * exactly when a next page exists.  Sets plan->prev_cursor when the request had
 * a cursor and rows precede this page.
 *
 * A backward cursor (from prev_cursor) visits the plan->count rows before its
 * position, in order, then the row after them if there is one (the probe of the
 * pattern above); when fewer than plan->count rows precede it, the answer is the
 * first page.
 */
sv_err sv__search_plan_run(sv_db *db, const char *type, sv_search_plan *plan, int64_t limit,
                           sv_store_visit visit, void *ctx, int64_t *ret_total, sv_buf *reterr);

#endif
