/*
 * search.h - FHIR search over the index tables: parameters parsed against the
 * search parameter definitions (fhir/searchparam.h), matched with prepared SQL
 * in store/search.h, results as a searchset Bundle with what _include and
 * _revinclude add and the _elements/_summary view; compartment search and
 * Patient/$everything.
 * Depends on store/ and fhir/ definitions.
 */
#ifndef SV_FHIR_SEARCH_H
#define SV_FHIR_SEARCH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "db/db.h"
#include "fhir/outcome.h"
#include "fhir/query.h"
#include "store/access.h"
#include "store/resource.h"

/* Calls visit for each current resource of type matching q (AND of its
 * parameters; result parameters like _count are ignored here), in _lastUpdated
 * order, at most limit.  *ret_total (may be NULL) receives the number of matches.
 * Unknown or malformed parameters: SV_ERR_INVALID with an issue in out. */
sv_err sv_search_find(sv_db *db, const sv_access_filter *access, const char *type,
                      const sv_query *q, int64_t offset, int64_t limit, sv_store_visit visit,
                      void *ctx, int64_t *ret_total, sv_outcome *out);

struct sv_rest;
struct sv_rest_result;
/* A searchset Bundle for GET [type]?q with paging links.  lenient: unknown
 * parameters are ignored (and left out of the self link) instead of refused. */
sv_err sv_search_bundle(struct sv_rest *r, const char *type, const sv_query *q, bool lenient,
                        struct sv_rest_result *res);

/* Compartment search, GET Patient/[patient_id]/[type]?q: the search above with
 * the matches restricted to the patient's compartment (fhir/compartment.h).
 * A type that cannot be in a Patient compartment is SV_ERR_INVALID.  An unknown
 * patient has an empty compartment (no 404: this is a search). */
sv_err sv_search_compartment_bundle(struct sv_rest *r, const char *patient_id, const char *type,
                                    const sv_query *q, bool lenient, struct sv_rest_result *res);

/*
 * Patient/[patient_id]/$everything: the patient, every resource in its
 * compartment and the resources they reference that belong to no patient
 * (Organization, Practitioner, PractitionerRole, Medication, ...), as a
 * searchset Bundle paged in storage order with _cursor next links, to the
 * end.  Parameters: _count, _since (instant: resources updated since),
 * _type (comma-separated types), _cursor (from a next link); with params
 * (may be NULL), the same from a POSTed Parameters resource.  404/410 when
 * the patient is unknown or deleted.
 */
sv_err sv_search_everything(struct sv_rest *r, const char *patient_id, const sv_query *q,
                            const json_t *params, bool lenient, struct sv_rest_result *res);

#endif
