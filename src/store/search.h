/*
 * search.h - matching current resources against search clauses, with SQL
 * assembled only from constant fragments (values are always bound).
 *
 * A query is an AND of clauses; a clause is an OR of values of one parameter.
 * The fhir/ layer parses FHIR parameters into clauses.  Depends on db/.
 */
#ifndef SV_STORE_SEARCH_H
#define SV_STORE_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "store/resource.h"

typedef enum sv_clause_kind {
    SV_CLAUSE_ID,              /* value = id */
    SV_CLAUSE_LAST_UPDATED,    /* cmp, low, high */
    SV_CLAUSE_STRING,          /* value = folded prefix */
    SV_CLAUSE_STRING_EXACT,    /* value = exact text */
    SV_CLAUSE_STRING_CONTAINS, /* value = folded text */
    SV_CLAUSE_TOKEN,           /* system (if system_set; NULL = no system), value (NULL = any) */
    SV_CLAUSE_TOKEN_TEXT,      /* value = folded prefix of the display/text */
    SV_CLAUSE_REFERENCE,       /* system = target type or NULL, value = id */
    SV_CLAUSE_REFERENCE_URL,   /* value = absolute url / canonical */
    SV_CLAUSE_DATE,            /* cmp, low, high */
    SV_CLAUSE_NUMBER,          /* cmp, number, low/high as doubles in dlow, dhigh */
    SV_CLAUSE_QUANTITY,        /* as number, plus system/value for the unit when set */
    SV_CLAUSE_URI,             /* value */
    SV_CLAUSE_MISSING,         /* number != 0: missing=true */
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
    int index_kind; /* for SV_CLAUSE_MISSING: the sv_index_kind of the parameter */
} sv_clause_value;

typedef struct sv_clause {
    const char *param;
    bool negate; /* :not on tokens: none of the values match */
    sv_clause_value *values;
    size_t nvalues;
} sv_clause;

/* Visits current, not deleted resources of type matching every clause, in
 * insertion order, skipping offset and stopping after limit.  *ret_total
 * (may be NULL) receives the count of all matches. */
sv_err sv_store_search(sv_db *db, const char *type, const sv_clause *clauses, size_t nclauses,
                       int64_t offset, int64_t limit, sv_store_visit visit, void *ctx,
                       int64_t *ret_total, sv_buf *reterr);

#endif
