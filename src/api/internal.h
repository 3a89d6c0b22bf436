/*
 * internal.h - shared between the files of api/ only.
 */
#ifndef SV_API_INTERNAL_H
#define SV_API_INTERNAL_H

#include <jansson.h>

#include "api/api.h"
#include "db/db.h"
#include "fhir/outcome.h"
#include "fhir/rest.h"

#define SV_FHIR_JSON "application/fhir+json; charset=utf-8"

/* This worker thread's connection (opened on first use).  Borrowed. */
sv_err sv__api_conn(sv_api *api, sv_db **ret_db, sv_buf *reterr);
const sv_api_config *sv__api_config(const sv_api *api);
const char *sv__api_fhir_base(const sv_api *api);
/* The stay rulesets and the write hooks every request uses (stays/stays.h).  Borrowed. */
struct sv_stays *sv__api_stays(sv_api *api);
/* One delivery round of the MedCom outbox on db (outbox_send.c): how many items
 * were tried and how many were acknowledged ok (either may be NULL). */
sv_err sv__api_outbox_send(sv_api *api, sv_db *db, int *ret_tried, int *ret_acked);
/* The results reference data (results/results.h); NULL when not loaded. */
const struct sv_results_data *sv__api_results_data(const sv_api *api);
/* The queue of read audit records (api/audit_log.h).  Borrowed. */
struct sv_audit_log *sv__api_audit_log(sv_api *api);

/* The access policy's view of an authenticated principal (api/access_routes.c). */
struct sv_principal;
sv_err sv__api_access(sv_api *api, sv_db *db, const struct sv_principal *who, sv_access *ret,
                      sv_buf *reterr);
/* The policy memo and the session memo of the calling thread's connection
 * (sv__api_conn's); borrowed. */
sv_policy_memo *sv__api_policy_memo(sv_api *api);
struct sv_auth_memo *sv__api_auth_memo(sv_api *api);
/* POST /fhir/Patient/{id}/$break-the-glass (api/access_routes.c). */
void sv__api_break_the_glass(sv_api *api, sv_rest *rest, const sv_http_request *req,
                             sv_http_response *res, const struct sv_principal *who,
                             const char *patient_id);
/* GET /fhir/AuditEvent[/{id}] and /fhir/Patient/{id}/$access-log (api/audit_routes.c). */
void sv__api_audit_events(sv_api *api, sv_rest *rest, const sv_http_request *req,
                          sv_http_response *res, const char *id);
void sv__api_access_log(sv_api *api, sv_rest *rest, const sv_http_request *req,
                        sv_http_response *res, const char *patient_id);

/* /admin/users[/{name}/disable] (api/admin_routes.c); segs[0] is "admin". */
void sv__api_admin_users(sv_api *api, const sv_http_request *req, sv_http_response *res,
                         const char *const *segs, size_t n);

/* Responses. */
void sv__api_error(sv_http_response *res, sv_err e, const char *expression, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void sv__api_outcome(sv_http_response *res, sv_err e, const sv_outcome *o);
/* Maps a REST result to the response, honouring Prefer: return=. */
void sv__api_result(sv_api *api, const sv_http_request *req, sv_http_response *res, sv_err e,
                    sv_rest_result *rr);

/* The CapabilityStatement text (caller frees); built once at start. */
char *sv__api_metadata_build(const char *fhir_base, size_t *ret_len);
/* GET /fhir/metadata. */
void sv__api_metadata(sv_api *api, const sv_http_request *req, sv_http_response *res);
/* The bulk export jobs (bulk_export.h); borrowed. */
struct sv_bulk *sv__api_bulk_jobs(sv_api *api);
/* GET /healthz and GET /metrics (ops_routes.c). */
void sv__api_healthz(sv_api *api, const sv_http_request *req, sv_http_response *res);
void sv__api_metrics(sv_api *api, const sv_http_request *req, sv_http_response *res);

#endif
