/*
 * message_routes.h - MedCom messaging over HTTP: POST /fhir/$process-message
 * (JSON or FHIR XML message Bundles, answered with a MedCom Acknowledgement) and
 * GET /fhir/$medcom-outbox (the outgoing queue).  api/ only.
 */
#ifndef SV_API_MESSAGE_ROUTES_H
#define SV_API_MESSAGE_ROUTES_H

#include "api/internal.h"

void sv__api_process_message(sv_api *api, sv_rest *rest, const sv_http_request *req,
                             sv_http_response *res);
void sv__api_medcom_outbox(sv_api *api, sv_rest *rest, const sv_http_request *req,
                           sv_http_response *res);
/* Parses a resource body by its Content-Type: FHIR JSON or FHIR XML.  On failure
 * answers (415 or 400 OperationOutcome) and returns NULL. */
json_t *sv__api_read_resource(sv_api *api, const sv_http_request *req, sv_http_response *res);

#endif
