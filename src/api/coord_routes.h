/*
 * coord_routes.h - coordination over HTTP (docs/coordination.md): the
 * notification inbox (/notifications), the test-only admin endpoints
 * (/admin/clock, /admin/watchdog/tick) and the FHIR operations $team, $diff and
 * $agreement.  Shared between the files of api/ only.
 */
#ifndef SV_API_COORD_ROUTES_H
#define SV_API_COORD_ROUTES_H

#include <stddef.h>

#include "api/api.h"
#include "fhir/rest.h"

/* Answers /notifications... and /admin/...; segs[0] is one of those. */
void sv__api_coord(sv_api *api, const sv_http_request *req, sv_http_response *res,
                   const char *const *segs, size_t n);

/* Answers GET /fhir/[type]/[id]/[op] for op $team, $diff, $agreement; others 404. */
void sv__api_coord_operation(sv_api *api, sv_rest *rest, const sv_http_request *req,
                             sv_http_response *res, const char *type, const char *id,
                             const char *op);

/* GET /fhir/Organization/[id]/$discharge-board (stays/stays.h). */
void sv__api_discharge_board(sv_api *api, sv_rest *rest, const sv_http_request *req,
                             sv_http_response *res, const char *org_id);

#endif
