/*
 * query.h - query parameters in order, as FHIR search and history read them.
 *
 * A list of name/value pairs, borrowed (from the HTTP layer) or owned (parsed
 * from an If-None-Exist header or a transaction entry's url).
 * Depends on base/ only.
 */
#ifndef SV_FHIR_QUERY_H
#define SV_FHIR_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/error.h"
#include "base/buf.h"

typedef struct sv_query_param {
    const char *name;
    const char *value;
} sv_query_param;

typedef struct sv_query {
    sv_query_param *params;
    size_t len;
    char *storage; /* owned copy of the text the params point into, or NULL */
    bool owned;    /* params array owned */
} sv_query;

#define SV_QUERY_MAX_PARAMS 256

/* Parses "a=b&c=d" (URL-decoded, '+' is a space).  Caller clears. */
sv_err sv_query_parse(const char *text, sv_query *ret, sv_buf *reterr);
/* A view over borrowed pairs (no copy). */
void sv_query_view(sv_query *q, const sv_query_param *params, size_t len);
void sv_query_clear(sv_query *q); /* accepts NULL */
/* The first value of name, or NULL. */
const char *sv_query_get(const sv_query *q, const char *name);

#endif
