/*
 * results_routes.h - results over HTTP (docs/results.md):
 * GET|POST /fhir/Measure/{id}/$evaluate-measure, GET /fhir/Organization/{id}/$outreach,
 * GET /fhir/$resource-use.  Shared between the files of api/ only.
 */
#ifndef SV_API_RESULTS_ROUTES_H
#define SV_API_RESULTS_ROUTES_H

#include "api/api.h"
#include "fhir/rest.h"

/* True when type/op is a results operation (then it has answered). */
bool sv__api_results_operation(sv_api *api, sv_rest *rest, const sv_http_request *req,
                               sv_http_response *res, const char *type, const char *id,
                               const char *op);
/* GET /fhir/$resource-use. */
void sv__api_resource_use(sv_api *api, sv_rest *rest, const sv_http_request *req,
                          sv_http_response *res);

#endif
