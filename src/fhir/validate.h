/*
 * validate.h - structural validation of FHIR R4 resources in JSON form.
 *
 * Walks a parsed resource against the R4 model tables (model.h, generated
 * from the official StructureDefinitions) and appends one OperationOutcome
 * issue per problem, each with a FHIRPath-like expression such as
 * "Patient.name[0].given[1]" or "Bundle.entry[2].resource.subject.reference".
 *
 * Checked: resourceType; unknown elements; JSON types and lexical formats of
 * primitives (R4 rules, 32-bit integers, real calendar dates); the _name
 * siblings of primitives and their null alignment; cardinality (arrays vs
 * single values, no empty arrays or objects, required elements); choice
 * elements (allowed type suffixes, one at most); reference shapes and target
 * types; codes of required bindings whose value set could be expanded at
 * generation time; national identifiers (ident.h); contained resources
 * (no nested contained, no meta.versionId/lastUpdated); every nested
 * resource (Bundle.entry.resource, contained, Parameters.parameter.resource).
 * Not checked: FHIRPath invariants other than ele-1, profiles, terminology
 * beyond required bindings, whether references resolve.
 *
 * Errors count; warnings (leading/trailing whitespace in strings) do not.
 * At most SV_FHIR_VALIDATE_MAX_ISSUES issues are added, then one "too-costly"
 * issue and validation stops.  Nesting beyond SV_FHIR_VALIDATE_MAX_DEPTH is an
 * error (the JSON parser limits depth already; this is a second guard).
 *
 * No allocation happens for a valid resource; issues are allocated by
 * sv_outcome.  Thread-safe: all state is on the stack.
 * Depends on base/, fhir/outcome.h, fhir/model.h, fhir/ident.h and jansson;
 * must not depend on store/, db/ or any I/O: validation is a pure function of
 * the JSON (and of today's date, for identifiers).
 */
#ifndef SV_FHIR_VALIDATE_H
#define SV_FHIR_VALIDATE_H

#include <jansson.h>

#include "fhir/outcome.h"

#define SV_FHIR_VALIDATE_MAX_ISSUES 100
#define SV_FHIR_VALIDATE_MAX_DEPTH 128

/*
 * Validates resource (borrowed, not modified) and appends issues to out.
 * Returns the number of error issues added: 0 means valid.
 */
int sv_fhir_validate(const json_t *resource, sv_outcome *out);

#endif
