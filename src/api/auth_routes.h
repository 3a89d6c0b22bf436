/*
 * auth_routes.h - identity over HTTP (docs/identity.md): /auth/login, /auth/logout,
 * /auth/whoami, /auth/token, and the check in front of every /fhir request.
 * Shared between the files of api/ only.
 */
#ifndef SV_API_AUTH_ROUTES_H
#define SV_API_AUTH_ROUTES_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "api/api.h"
#include "auth/identity.h"

#define SV_SESSION_COOKIE "samverka_session"

/* Answers a request under /auth; segs[0] is "auth". */
void sv__api_auth(sv_api *api, const sv_http_request *req, sv_http_response *res,
                  const char *const *segs, size_t n);

/*
 * Who makes this /fhir request (segs[0] is "fhir").  ret_who is filled, anonymous
 * when no credentials came.  With auth on: no valid session or token is 401, a
 * cookie-authenticated write without the matching X-CSRF-Token is 403, a client
 * whose scopes do not cover the interaction is 403; /fhir/metadata stays public.
 * Returns false when it has answered the request.
 */
bool sv__api_authenticate(sv_api *api, const sv_http_request *req, sv_http_response *res,
                          const char *const *segs, size_t n, sv_principal *ret_who);

/*
 * Who makes this request, whatever the auth setting (for the admin API): a
 * session or bearer token is required (401), and a cookie-authenticated write
 * needs the X-CSRF-Token (403).  Returns false when it has answered.
 */
bool sv__api_identify(sv_api *api, const sv_http_request *req, sv_http_response *res,
                      sv_principal *ret_who);

/* The JSON of a principal as login and whoami answer it (new reference). */
json_t *sv__api_principal_json(const sv_principal *p);

#endif
