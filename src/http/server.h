/*
 * server.h - the HTTP transport: listens, reads requests (with a body limit),
 * hands each complete request to one handler function, writes the response, and
 * logs one line per request.  Knows nothing of FHIR; depends on base/ only.
 * Only http/ includes microhttpd.h.
 *
 * Threads: a pool of `threads` workers; the handler runs on a worker thread and
 * may block (database I/O).  Shutdown stops accepting, waits for requests in
 * flight (up to drain_ms), then closes.
 *
 * Waiting requests: a handler that may sleep long (a write waiting for the
 * database's writer and its sync) would stall every other connection of its
 * worker.  For a request that cfg.waits() names, the server suspends the
 * connection and runs the handler on a pool of waiting_threads threads instead
 * (http/pool.h); the worker goes on meanwhile.  Such a handler must not park: if
 * it asks to, it is called again at once with req->park_refused.
 *
 * Parking (long polls): each worker thread serves many connections in one event
 * loop, so a handler must never sleep waiting for something to happen.  Instead
 * it sets res->park_ms and returns without an answer: the server suspends the
 * connection (libmicrohttpd's MHD_suspend_connection; no thread, transaction or
 * database connection is held) and calls the handler again for the same request
 * after sv_http_server_wake (req->parked) or when park_ms, counted from the first
 * park, have passed or the server stops (req->park_expired: answer now).  A wake
 * that comes while the handler runs makes the server call it again at once, so a
 * handler that reads its state after the call began misses nothing.  Beyond
 * max_parked parked requests the handler is called again with req->park_refused
 * (answer now, e.g. 429).
 */
#ifndef SV_HTTP_SERVER_H
#define SV_HTTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

typedef struct sv_http_param {
    const char *name;  /* borrowed for the request's lifetime; URL-decoded */
    const char *value; /* "" when the parameter had no '=' */
} sv_http_param;

struct sv_http_request;

typedef struct sv_http_request {
    const char *method;
    /* The path without the query, as sent: NOT percent-decoded, so that "%2F"
     * inside a segment cannot become a separator.  Split it at '/' first, then
     * decode each segment with sv_http_segment_decode. */
    const char *path;
    const sv_http_param *params;
    size_t nparams;
    const char *body; /* NUL-terminated for convenience; may contain NULs */
    size_t body_len;
    bool body_too_large;  /* the body passed max_body and was not kept */
    bool too_many_params; /* more query parameters than the server keeps; params cut short */
    const char *request_id;
    /* The client's IP address as text ("127.0.0.1", "::1"), NULL when unknown.  It is
     * the peer of the connection: behind a proxy, the proxy's. */
    const char *client_address;
    /* Header lookup (case-insensitive, NULL when absent); the server sets it to
     * libmicrohttpd's, tests and fuzzers to their own.  Use sv_http_header_get. */
    const char *(*header)(const struct sv_http_request *req, const char *name);
    void *impl;        /* for header(): the connection, or the test's own data */
    bool parked;       /* this request was parked before (see the top) */
    bool park_expired; /* its park time is over, or the server stops: answer now */
    bool park_refused; /* too many requests are parked: answer now */
} sv_http_request;

typedef struct sv_http_header {
    char *name;
    char *value;
} sv_http_header;

typedef struct sv_http_response {
    int status;
    sv_buf body;
    const char *content_type; /* static string */
    sv_http_header *headers;  /* owned */
    size_t nheaders, cap;
    const char *route; /* static route pattern for the log, e.g. "GET /fhir/:type/:id" */
    /* > 0: no answer yet, park the request up to this long (see the top); the
     * status, body and headers are thrown away. */
    int64_t park_ms;
} sv_http_response;

/* Percent-decodes one path segment in place and returns its new length; "%00"
 * stays as it is (a NUL would cut the C string short), as in query values. */
size_t sv_http_segment_decode(char *segment);

/* Header lookup, case-insensitive; NULL when absent.  Borrowed. */
const char *sv_http_header_get(const sv_http_request *req, const char *name);
/* Adds a response header (copied). */
void sv_http_response_header(sv_http_response *res, const char *name, const char *value);

typedef void (*sv_http_handler_fn)(void *ctx, const sv_http_request *req, sv_http_response *res);

typedef struct sv_http_config {
    const char *host; /* e.g. "127.0.0.1" */
    unsigned port;    /* 0 = any free port (read it back with sv_http_server_port) */
    size_t max_body;  /* bytes; larger bodies get body_too_large */
    unsigned threads;
    unsigned timeout_s;  /* idle connection timeout */
    unsigned drain_ms;   /* how long shutdown waits for requests in flight */
    unsigned max_parked; /* parked requests at most (0: none may park) */
    sv_http_handler_fn handler;
    void *ctx;
    /* true: run this request's handler on the pool (see the top); called on the
     * worker, with the request complete.  NULL, or waiting_threads 0: no pool. */
    bool (*waits)(void *ctx, const sv_http_request *req);
    unsigned waiting_threads;
} sv_http_config;

typedef struct sv_http_server sv_http_server;

sv_err sv_http_server_start(const sv_http_config *cfg, sv_http_server **ret_server, sv_buf *reterr);
unsigned sv_http_server_port(const sv_http_server *s);
/* Calls the handler again for every parked request (thread-safe; any thread). */
void sv_http_server_wake(sv_http_server *s);
/* Requests parked right now, in every server of the process (GET /metrics). */
int sv_http_parked_count(void);
/* Stops accepting, ends parked requests (park_expired), drains requests in
 * flight, frees the server.  Accepts NULL. */
void sv_http_server_stop(sv_http_server *s);

#endif
