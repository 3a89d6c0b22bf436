/*
 * index.h - search-index rows from a resource, at write time.
 *
 * For every search parameter of the resource's type (fhir/searchparam.h) the
 * compiled FHIRPath expression is evaluated and each value becomes rows
 * (store/index.h) by the FHIR R4 search rules for its data type; see
 * docs/search-index.md for the table and an example.  Composite parameters
 * of two components become pair rows (SV_INDEX_COMPOSITE), as do an Identifier's
 * type codings with its value (token :of-type); a Reference.identifier becomes a
 * token row of the reference parameter (:identifier).  Special parameters and
 * those without an expression (_text, _content, _query) are not indexed.
 *
 * Runs on every write: no allocation beyond the rows themselves and two
 * scratch buffers per call.  Thread-safe.
 * Depends on fhir/searchparam, fhir/fhirpath, store/index.h, base/ and jansson.
 */
#ifndef SV_FHIR_INDEX_H
#define SV_FHIR_INDEX_H

#include <jansson.h>

#include <stdbool.h>

#include "fhir/searchparam.h"
#include "store/index.h"

/*
 * Appends the index rows of resource (a parsed resource with a resourceType) to
 * rows.  Identical rows of one parameter are written once.  Values that do not
 * parse (a malformed date) are skipped: validation reports them, not the index.
 * Returns SV_OK, or SV_ERR_INVALID when resource is not an object with a known
 * resourceType; on failure rows is as it was on entry.  The param field of each
 * row points at static storage.
 */
int sv_fhir_index_extract(const json_t *resource, sv_index_rows *rows);

/*
 * Whether composite parameter p is indexed (two components, the first a token),
 * and the types of its two components.  Searching uses this to parse a value
 * "first$second".  Thread-safe.
 */
bool sv_fhir_index_composite(const sv_searchparam *p, sv_searchparam_type ret_types[2]);

#endif
