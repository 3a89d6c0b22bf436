/*
 * client.h - the outgoing side of the HTTP transport: one POST and its answer,
 * for delivering queued messages to another system (medcom outbox,
 * api/outbox_send.c).  libcurl from Debian; only http/ includes curl/curl.h.
 * Knows nothing of FHIR; depends on base/ only.
 */
#ifndef SV_HTTP_CLIENT_H
#define SV_HTTP_CLIENT_H

#include <stddef.h>

#include "base/buf.h"
#include "base/error.h"

/* Largest answer kept; a longer one is an error (a limit on what a peer controls). */
#define SV_HTTP_CLIENT_MAX_ANSWER (4u * 1024 * 1024)

typedef struct sv_http_post_request {
    const char *url;          /* http:// or https:// */
    const char *content_type; /* e.g. "application/fhir+json" */
    const char *body;
    size_t body_len;
    const char *bearer; /* "Authorization: Bearer ..." when not NULL */
    int timeout_ms;     /* whole exchange; 0: 30 s */
} sv_http_post_request;

/*
 * Sends one POST.  SV_OK when an HTTP answer came back (any status: in
 * *ret_status, its body appended to ret_body); SV_ERR_IO when none did
 * (refused, timed out, TLS failure, answer too large), with what failed in
 * reterr.  Thread-safe.
 */
sv_err sv_http_post(const sv_http_post_request *req, int *ret_status, sv_buf *ret_body,
                    sv_buf *reterr);

#endif
