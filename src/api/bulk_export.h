/*
 * bulk_export.h - FHIR bulk data export, system and Patient level
 * (docs/operations.md): GET /fhir/$export (or /fhir/Patient/$export: the
 * Patients and their compartments) with "Prefer: respond-async" answers 202 with a
 * Content-Location to poll; a thread of this process writes the current
 * version of every live resource (or of the _type list, updated since _since)
 * as one NDJSON file per type into a private temporary directory; the status
 * URL answers 202 with X-Progress while it runs and then the manifest; each
 * file is served from $export-file; DELETE on the status URL cancels the job
 * or removes its files.  Under --auth on only an administrator or a system
 * client (with system/ *.read) may start, poll or download, and every
 * kick-off is audited.
 *
 * Jobs live in the process that took the kick-off: behind a load balancer,
 * the status and file URLs must reach that process (or use `samverka export`).
 */
#ifndef SV_API_BULK_EXPORT_H
#define SV_API_BULK_EXPORT_H

#include "api/api.h"
#include "auth/identity.h"
#include "http/server.h"

typedef struct sv_bulk sv_bulk;

sv_bulk *sv__bulk_new(const char *db_uri, int busy_timeout_ms);
/* Cancels running jobs, waits for them and removes every job's files (accepts NULL). */
void sv__bulk_free(sv_bulk *b);

/* /fhir/$export, /fhir/$export-status/ID, /fhir/$export-file/ID/TYPE.ndjson
 * (segs[0] is "fhir"); who has passed sv__api_authenticate. */
void sv__api_bulk(sv_api *api, const sv_http_request *req, sv_http_response *res,
                  const char *const *segs, size_t n, const sv_principal *who);

#endif
