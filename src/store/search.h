/*
 * search.h - matching current resources against search clauses, with SQL
 * assembled only from constant fragments (values are always bound).
 *
 * A query is an AND of clauses; a clause is an OR of values of one parameter,
 * optionally at the end of a chain of references (forward chains and _has).
 * Results come in the order of the sort keys, ties (and the default order)
 * broken by rid, the order of first insertion; keyset paging continues after a
 * position (sv_search_position) so that pages stay exact while others write.
 * The fhir/ layer parses FHIR parameters into clauses; docs/search.md has the
 * SQL shapes and why each query stays on indexes.  Depends on db/.
 */
#ifndef SV_STORE_SEARCH_H
#define SV_STORE_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "store/access.h"
#include "store/index.h"
#include "store/resource.h"

typedef enum sv_clause_kind {
    SV_CLAUSE_ID,              /* value = id */
    SV_CLAUSE_LAST_UPDATED,    /* cmp, low, high */
    SV_CLAUSE_STRING,          /* value = folded prefix */
    SV_CLAUSE_STRING_EXACT,    /* value = exact text */
    SV_CLAUSE_STRING_CONTAINS, /* value = folded text */
    SV_CLAUSE_TOKEN,           /* system (if system_set; NULL = no system), value (NULL = any) */
    SV_CLAUSE_TOKEN_TEXT,      /* value = folded start of the display/text */
    SV_CLAUSE_REFERENCE,       /* system = target type or NULL, value = id; value2 (may be NULL) =
                                  the same target as an absolute url (this server's base) */
    SV_CLAUSE_REFERENCE_URL,   /* value = absolute url / canonical without |version; value2 (may
                                  be NULL) = the canonical with its |version, as written */
    SV_CLAUSE_DATE,            /* cmp, low, high (ap: already widened by the parser) */
    SV_CLAUSE_NUMBER,          /* cmp, number, dlow/dhigh: the implicit range (eq, ne) or the
                                  approximate one (ap) */
    SV_CLAUSE_QUANTITY,        /* as number; unit: system + value = unit system and code, or
                                  value alone = code or unit text; both NULL: any unit */
    SV_CLAUSE_URI,             /* value */
    SV_CLAUSE_MISSING,         /* number != 0: missing=true */
    SV_CLAUSE_TOKEN_OF_TYPE,   /* system (NULL = any), value = an Identifier's type coding;
                                  value2 = the identifier value (composite rows) */
    SV_CLAUSE_URI_BELOW,       /* value = a prefix of the uri */
    SV_CLAUSE_URI_ABOVE,       /* value = the uri; matches it and its parents (cut at '/') */
    SV_CLAUSE_COMPOSITE,       /* parts[0] (a token) and parts[1] found in one composite row */
} sv_clause_kind;

typedef enum sv_cmp {
    SV_CMP_EQ,
    SV_CMP_NE,
    SV_CMP_LT,
    SV_CMP_GT,
    SV_CMP_LE,
    SV_CMP_GE,
    SV_CMP_SA,
    SV_CMP_EB,
    SV_CMP_AP
} sv_cmp;

typedef struct sv_clause_value {
    sv_clause_kind kind;
    sv_cmp cmp;
    const char *system; /* borrowed */
    bool system_set;
    const char *value; /* borrowed */
    int64_t low, high;
    double number, dlow, dhigh;
    int index_kind;     /* for SV_CLAUSE_MISSING: the sv_index_kind of the parameter */
    const char *value2; /* borrowed; see the kinds */
    const struct sv_clause_value *parts; /* SV_CLAUSE_COMPOSITE: two components; borrowed */
    size_t nparts;
} sv_clause_value;

/* One step of a chain.  Forward (subject:Patient.name): from the current resource
 * through its reference parameter `param` to a resource of type `type`.  Reverse
 * (_has:Observation:subject:code): to resources of type `type` whose reference
 * parameter `param` points at the current resource. */
typedef struct sv_clause_link {
    bool reverse;
    const char *type;  /* borrowed */
    const char *param; /* borrowed */
} sv_clause_link;

#define SV_CLAUSE_MAX_LINKS 4

typedef struct sv_clause {
    const char *param;
    bool negate; /* :not on tokens: none of the values match */
    sv_clause_value *values;
    size_t nvalues;
    const sv_clause_link *links; /* the values apply at the end of these steps; borrowed */
    size_t nlinks;               /* 0: the values apply to the resource itself */
    bool coarse; /* a parameter with few distinct values (status): a poor place to start */
    /* Every resource has at most one index row of this parameter (fhir/: a code element
     * that is no list, e.g. Task.status): one value's rows need no DISTINCT. */
    bool single;
} sv_clause;

/* ---- order and keyset positions ------------------------------------------------- */

typedef enum sv_sort_by {
    SV_SORT_PARAM,        /* a search parameter's index rows: the least value ascending, the
                             greatest descending (dates: start ascending, end descending) */
    SV_SORT_ID,           /* the logical id */
    SV_SORT_LAST_UPDATED, /* meta.lastUpdated */
} sv_sort_by;

typedef struct sv_sort_key {
    sv_sort_by by;
    const char *param; /* SV_SORT_PARAM: the parameter code; borrowed */
    int index_kind;    /* SV_SORT_PARAM: its sv_index_kind (not composite) */
    bool descending;   /* resources without a value come last either way */
} sv_sort_key;

#define SV_SORT_MAX_KEYS 8

typedef enum sv_key_type { SV_KEY_NULL, SV_KEY_INT, SV_KEY_REAL, SV_KEY_TEXT } sv_key_type;

typedef struct sv_key_value {
    sv_key_type type;
    int64_t i;
    double d;
    char *text; /* owned by the position */
} sv_key_value;

/* Where a page ended: the sort key values and rid of its last row. */
typedef struct sv_search_position {
    int64_t rid; /* 0: no position */
    size_t nkeys;
    sv_key_value keys[SV_SORT_MAX_KEYS];
} sv_search_position;

void sv_search_position_clear(sv_search_position *p); /* frees the texts; accepts NULL */

typedef struct sv_store_query {
    const char *type;
    const sv_clause *clauses;
    size_t nclauses;
    const sv_sort_key *sort; /* NULL/0: insertion (rid) order */
    size_t nsort;
    const sv_search_position *after; /* only rows after this one (keys as in sort); or NULL */
    bool backward; /* with after: the rows *before* it, nearest first (reverse order) */
    int64_t offset, limit;
    /* Only resources visible under this filter count, also at every step of a chain
     * or _has (store/access.h); NULL: no access policy.  Borrowed. */
    const sv_access_filter *access;
} sv_store_query;

/*
 * Visits current, not deleted resources of q->type matching every clause, in
 * sort order (backward: reversed), skipping offset and stopping after limit
 * (limit 0: none) or when visit returns false.  *ret_total (may be NULL)
 * receives the count of all matches (ignoring after, offset and limit).
 * *ret_first and *ret_last (each may be NULL; the caller clears them) receive
 * the positions of the first and the last row that visit accepted (returned true
 * for); their rid stays 0 when there was none.
 */
sv_err sv_store_search_run(sv_db *db, const sv_store_query *q, sv_store_visit visit, void *ctx,
                           int64_t *ret_total, sv_search_position *ret_first,
                           sv_search_position *ret_last, sv_buf *reterr);

/* The SQLite query plans (EXPLAIN QUERY PLAN) of the page query and of the count
 * query for q, one line per step, "page: ..." and "count: ..." (tests). */
sv_err sv_store_search_explain(sv_db *db, const sv_store_query *q, sv_buf *ret_plan,
                               sv_buf *reterr);

/* sv_store_search_run in insertion order without a keyset position. */
sv_err sv_store_search(sv_db *db, const char *type, const sv_clause *clauses, size_t nclauses,
                       int64_t offset, int64_t limit, sv_store_visit visit, void *ctx,
                       int64_t *ret_total, sv_buf *reterr);

#endif
