/*
 * care_routes.h - the operations of messaging and hand-over over HTTP
 * (docs/messaging.md, docs/medication.md): POST
 * /fhir/Communication/{id}/$reply|$forward|$read,
 * /fhir/Patient/{id}/$medication-handover, /fhir/Task/{id}/$confirm|$dispute.
 * Each takes a Parameters body and runs through the caller's sv_rest (access
 * policy, write hooks, audit).  api/ only.
 */
#ifndef SV_API_CARE_ROUTES_H
#define SV_API_CARE_ROUTES_H

#include <stdbool.h>

#include "api/internal.h"

/* True when type/op is one of the operations above (then it answered). */
bool sv__api_care_operation(sv_api *api, sv_rest *rest, const sv_http_request *req,
                            sv_http_response *res, const char *type, const char *id,
                            const char *op);

#endif
