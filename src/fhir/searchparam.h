/*
 * searchparam.h - the search parameters samverka knows, by resource type and code.
 *
 * Definitions are data in tables of sv_searchparam: the R4 table generated from
 * the official definitions (generated/r4_searchparams.c, tools/gen_searchparams.mjs)
 * and samverka's own table (searchparam.c).  Where both define the same
 * (type, code), samverka's wins.  Parameters with base "Resource" (_id,
 * _lastUpdated, _tag, _profile, _security, _source) apply to every type.
 *
 * The lookup index and every compiled expression are built once, on first use,
 * under a pthread_once; after that everything here is read-only and thread-safe.
 * Depends on fhir/fhirpath, fhir/model (the R4 type list), base/ and jansson.
 */
#ifndef SV_FHIR_SEARCHPARAM_H
#define SV_FHIR_SEARCHPARAM_H

#include <stddef.h>

#include "fhir/fhirpath.h"

typedef enum sv_searchparam_type {
    SV_SEARCHPARAM_NUMBER,
    SV_SEARCHPARAM_DATE,
    SV_SEARCHPARAM_STRING,
    SV_SEARCHPARAM_TOKEN,
    SV_SEARCHPARAM_REFERENCE,
    SV_SEARCHPARAM_COMPOSITE,
    SV_SEARCHPARAM_QUANTITY,
    SV_SEARCHPARAM_URI,
    SV_SEARCHPARAM_SPECIAL,
} sv_searchparam_type;

typedef struct sv_searchparam_component {
    const char *definition; /* canonical URL of the component's SearchParameter */
    const char *expression; /* FHIRPath relative to each match of the composite */
} sv_searchparam_component;

typedef struct sv_searchparam {
    const char *base;                           /* "Patient", or "Resource" for all types */
    const char *code;                           /* "name", "_id" */
    sv_searchparam_type type;                   /* SV_SEARCHPARAM_TOKEN, ... */
    const char *expression;                     /* FHIRPath for this base; NULL if none */
    const char *const *targets;                 /* reference: NULL-terminated types, or NULL */
    const sv_searchparam_component *components; /* composite only, else NULL */
    size_t components_len;                      /* number of components */
    const char *url;                            /* canonical URL of the definition */
} sv_searchparam;

/* One table of definitions, sorted by (base, code). */
typedef struct sv_searchparam_table {
    const char *name; /* "r4", "samverka" */
    const sv_searchparam *params;
    size_t len;
} sv_searchparam_table;

extern const sv_searchparam sv__r4_searchparams[];
extern const size_t sv__r4_searchparams_len;

/* The parameter code on resource type type (its own or a Resource-wide one), or NULL. */
const sv_searchparam *sv_searchparam_find(const char *type, const char *code);

/*
 * Every parameter that applies to type, sorted by code, or NULL (and 0) when type
 * is not a known resource type.  The array is static; do not free it.
 */
const sv_searchparam *const *sv_searchparam_list(const char *type, size_t *ret_len);

/* The compiled expression of p; NULL when p has none or it did not compile. */
const sv_fhirpath *sv_searchparam_fhirpath(const sv_searchparam *p);

/* The tables, in increasing precedence (r4, then samverka). */
const sv_searchparam_table *sv_searchparam_tables(size_t *ret_len);

/* Forces the one-time initialisation now (server start), so no request pays for it. */
void sv_searchparam_init(void);

const char *sv_searchparam_type_name(sv_searchparam_type type); /* "token", ... */

#endif
