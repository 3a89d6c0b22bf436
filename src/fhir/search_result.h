/*
 * search_result.h - the result parameters of a search: what is added to the
 * matches (_include, _revinclude) and how each resource is shown (_elements,
 * _summary=true|text|data|false).  Parsed into plan->result by search_parse.c
 * through sv__search_result_param(), then checked against the searched type by
 * sv__search_result_prepare() (search.c), which also writes them into the self
 * link.  Internal to fhir/search*.c.
 *
 * Views: _summary keeps the elements the R4 definitions mark isSummary (the
 * resource's and its backbone elements'; values of data types are kept whole),
 * text keeps text, id, meta and the required top-level elements, data drops
 * text.  _elements keeps resourceType, id, meta and the named top-level
 * elements; a plain name applies to the matches, "Type.name" to every resource
 * of that type (matches and included ones).  A resource shown through a view
 * carries the SUBSETTED tag (meta.tag), so that nobody writes it back as whole.
 */
#ifndef SV_FHIR_SEARCH_RESULT_H
#define SV_FHIR_SEARCH_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "fhir/include.h"
#include "fhir/outcome.h"
#include "fhir/search_plan.h"

#define SV_SEARCH_MAX_ELEMENTS 64

typedef enum sv_summary_mode {
    SV_SUMMARY_FALSE, /* the whole resource (the default) */
    SV_SUMMARY_TRUE,
    SV_SUMMARY_TEXT,
    SV_SUMMARY_DATA,
} sv_summary_mode;

typedef struct sv_search_result_raw {
    char *full, *name, *modifier, *value; /* owned copies, as given */
} sv_search_result_raw;

struct sv_search_result {
    sv_search_result_raw *raw; /* parsed, not yet checked (owned) */
    size_t nraw, capraw;
    bool prepared;
    sv_include_spec *includes; /* owned */
    size_t nincludes;
    sv_summary_mode summary;
    char **elements; /* "name" (matches) or "Type.name"; owned */
    size_t nelements;
};

/* True for the parameters this module parses (_include, _revinclude, _elements,
 * _summary other than count, _contained, _containedType). */
bool sv__search_is_result_param(const char *name);
/* Records one of them in p->result (created on first use); checked later by
 * sv__search_result_prepare(). */
sv_err sv__search_result_param(sv_search_plan *p, const char *full, const char *name,
                               const char *modifier, const char *value, bool lenient,
                               sv_outcome *out);
/* Checks the recorded parameters for a search of type and appends those used
 * to p->self.  Unsupported or malformed values are SV_ERR_INVALID with an issue,
 * or dropped (and left out of the self link) when lenient.  No-op without
 * result parameters. */
sv_err sv__search_result_prepare(sv_search_plan *p, const char *type, bool lenient,
                                 sv_outcome *out);
void sv__search_result_free(struct sv_search_result *result); /* accepts NULL */

/* Whether result (may be NULL) shows resources of type through a view. */
bool sv__search_result_subsets(const struct sv_search_result *result, const char *type, bool match);
/* Appends the resource json (of type) as result shows it: as stored when no view
 * applies, else filtered and tagged SUBSETTED. */
void sv__search_result_render(const struct sv_search_result *result, const char *type, bool match,
                              const char *json, size_t len, sv_buf *out);

/* Appends "&name=value" ('?' first) to a link's query, URL-encoded as
 * search_parse.c writes the self link. */
void sv__search_link_param(sv_buf *link, const char *name, const char *value);

/* ---- writing the searchset Bundle (search.c; also used by everything.c) ---- */

typedef struct sv__search_bundle_parts {
    const sv_found_list *matches;        /* search.mode "match" */
    const sv_found_list *included;       /* "include"; may be NULL */
    const sv_outcome *warnings;          /* an "outcome" entry when not empty; may be NULL */
    const struct sv_search_result *view; /* _elements/_summary; may be NULL */
    int64_t total;                       /* -1: no total */
    const sv_buf *links;                 /* link objects, comma-separated (sv__search_link) */
} sv__search_bundle_parts;

/* Writes the Bundle into res->body and sets res->status to 200. */
void sv__search_bundle_write(struct sv_rest_result *res, const char *base,
                             const sv__search_bundle_parts *parts);
/* Appends one {"relation": rel, "url": url} to links. */
void sv__search_link(sv_buf *links, const char *rel, const char *url);
/* Adds the issue of a storage failure during a search to out; returns e. */
sv_err sv__search_storage_fail(sv_outcome *out, sv_err e);

#endif
