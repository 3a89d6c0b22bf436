/*
 * search_result.h - the result parameters of a search: what is added to the
 * matches (_include, _revinclude) and how each resource is shown (_elements,
 * _summary).  Parsed into plan->result by search_parse.c through the functions
 * below.  Internal to fhir/search*.c.
 */
#ifndef SV_FHIR_SEARCH_RESULT_H
#define SV_FHIR_SEARCH_RESULT_H

#include <stdbool.h>

#include "fhir/outcome.h"
#include "fhir/search_plan.h"

struct sv_search_result;

/* True for the parameters this module parses (_include, _revinclude, _elements,
 * _summary other than count, _contained, _containedType). */
bool sv__search_is_result_param(const char *name);
/* Parses one of them into p->result (and its self link).  Unsupported values are
 * SV_ERR_INVALID with an issue, or dropped when lenient. */
sv_err sv__search_result_param(sv_search_plan *p, const char *full, const char *name,
                               const char *modifier, const char *value, bool lenient,
                               sv_outcome *out);
void sv__search_result_free(struct sv_search_result *result); /* accepts NULL */

#endif
