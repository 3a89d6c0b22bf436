/*
 * bundle.h - transaction and batch Bundles (POST /fhir).
 *
 * A transaction is all-or-nothing: every entry runs inside one database
 * transaction, in the order FHIR prescribes (DELETE, POST, PUT/PATCH, GET),
 * urn:uuid: fullUrls are replaced by the ids assigned, conditional entries
 * (ifNoneExist, ifMatch, conditional references) are resolved, and any failure
 * rolls everything back.  A batch runs each entry on its own.
 * Depends on fhir/rest.h.
 */
#ifndef SV_FHIR_BUNDLE_H
#define SV_FHIR_BUNDLE_H

#include <jansson.h>

#include "fhir/rest.h"

/* Limit on entries in one Bundle. */
#define SV_BUNDLE_MAX_ENTRIES 10000

sv_err sv_bundle_process(sv_rest *r, const json_t *bundle, sv_rest_result *res);

#endif
