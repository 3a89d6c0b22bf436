/*
 * metrics.h - the request counters behind GET /metrics (docs/operations.md):
 * requests by route pattern and status, and a latency histogram per route
 * pattern, in the Prometheus text format.  Labels are route patterns
 * ("GET /fhir/:type/:id"), never paths, so no id or name reaches them.
 * Process-wide and thread-safe; the transport (http/server.c) records, the api
 * renders.  Depends only on libc and base/buf.
 */
#ifndef SV_BASE_METRICS_H
#define SV_BASE_METRICS_H

#include <stdint.h>

#include "base/buf.h"

/* Counts one answered request; route may be NULL ("-").  Lock-free once route's
 * address has been seen with the same text: pass a string constant (any string works,
 * through a lock when its address is new or held other text before). */
void sv_metrics_request(const char *route, int status, int64_t microseconds);

/* Requests answered since start (any route): cheap, for "has anything happened". */
int64_t sv_metrics_requests_total(void);

/* Appends the request series (counter and histogram) to out. */
void sv_metrics_render_requests(sv_buf *out);

/* Appends "# HELP" and "# TYPE" lines and one unlabelled sample. */
void sv_metrics_render_value(sv_buf *out, const char *name, const char *type, const char *help,
                             double value);

/* Zeroes every counter (tests; not while requests are counted). */
void sv_metrics_reset(void);

#endif
