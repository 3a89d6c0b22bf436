/*
 * index.h - search-index rows, extracted from a resource at write time.
 *
 * The fhir/ layer computes rows from the resource using the search parameter
 * definitions (fhir/index.h); store/ writes them in the same transaction as
 * the resource version and replaces them on every update.  Only the current
 * version of a resource is indexed; a deleted resource has no rows.
 * Depends on base/ only.
 */
#ifndef SV_STORE_INDEX_H
#define SV_STORE_INDEX_H

#include <stddef.h>
#include <stdint.h>

typedef enum sv_index_kind {
    SV_INDEX_STRING,    /* value = normalised (lowercase, accents folded), exact = as written */
    SV_INDEX_TOKEN,     /* system, value = code, exact = display/text (may be NULL) */
    SV_INDEX_REFERENCE, /* system = target type (may be NULL), value = target id, exact = url as
                           written */
    SV_INDEX_DATE,      /* low, high = inclusive range in milliseconds since 1970 UTC */
    SV_INDEX_NUMBER,    /* number */
    SV_INDEX_QUANTITY,  /* number, system = unit system, value = unit code, exact = unit text */
    SV_INDEX_URI,       /* value = uri */
    SV_INDEX_COMPOSITE, /* a pair of values found together (composite parameters, and an
                           Identifier's type with its value for token :of-type):
                           system, value = the first component (a token);
                           the second: system2, value2 = token system and code, quantity unit
                           system and code, reference type and id, or the folded string;
                           number = quantity; low, high = date range */
} sv_index_kind;

#define SV_INDEX_KIND_COUNT 8

typedef struct sv_index_row {
    sv_index_kind kind;
    const char *param; /* search parameter code; static storage (generated tables) */
    char *system;      /* owned, may be NULL */
    char *value;       /* owned, may be NULL */
    char *exact;       /* owned, may be NULL */
    double number;
    int64_t low, high;
    char *system2; /* owned, may be NULL; SV_INDEX_COMPOSITE only */
    char *value2;  /* owned, may be NULL; SV_INDEX_COMPOSITE only */
} sv_index_row;

typedef struct sv_index_rows {
    sv_index_row *rows; /* owned */
    size_t len, cap;
} sv_index_rows;

#define SV_INDEX_ROWS_INIT                                                                         \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Appends a row; the strings are copied (NULL stays NULL).  Returns the new row. */
sv_index_row *sv_index_rows_add(sv_index_rows *r, sv_index_kind kind, const char *param,
                                const char *system, const char *value, const char *exact);
/* Appends a composite row: the first component's system and value, the second's
 * system2 and value2 (copied); the caller sets number, low and high. */
sv_index_row *sv_index_rows_add_pair(sv_index_rows *r, const char *param, const char *system,
                                     const char *value, const char *system2, const char *value2);
/* Frees the strings of rows [from, len) and sets len to from. */
void sv_index_rows_truncate(sv_index_rows *r, size_t from);
void sv_index_rows_clear(sv_index_rows *r); /* frees all rows; accepts NULL */

#endif
