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
} sv_index_kind;

typedef struct sv_index_row {
    sv_index_kind kind;
    const char *param; /* search parameter code; static storage (generated tables) */
    char *system;      /* owned, may be NULL */
    char *value;       /* owned, may be NULL */
    char *exact;       /* owned, may be NULL */
    double number;
    int64_t low, high;
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
void sv_index_rows_clear(sv_index_rows *r); /* frees all rows; accepts NULL */

#endif
