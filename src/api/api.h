/*
 * api.h - the FHIR HTTP API: routes requests to the REST interactions, turns
 * results into responses (status, ETag, Location, Prefer, OperationOutcome).
 *
 * One sv_api is shared by all worker threads; each worker thread gets its own
 * database connection on first use (thread-local), closed by sv_api_free.
 * Depends on fhir/ (and below) and http/.
 */
#ifndef SV_API_API_H
#define SV_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"
#include "http/server.h"

typedef struct sv_api_config {
    const char *db_uri;   /* borrowed for the api's lifetime */
    const char *base_url; /* "http://127.0.0.1:8080" (the /fhir is added) */
    size_t max_json_depth;
    int64_t default_count;
    int64_t max_count;
    int busy_timeout_ms;
    bool auth_required;       /* auth = on: every /fhir request but metadata needs a principal */
    int watchdog_interval_ms; /* the coordination watchdog's tick (coord/watchdog.h); 0: off */
    bool test_endpoints;      /* POST /admin/clock and /admin/watchdog/tick (tests only) */
    int btg_hours;            /* the longest break-the-glass grant, in hours; default 4 */
    const char *data_dir;  /* data/ (answer times, deadlines: coord/settings.h); NULL: defaults */
    size_t max_attachment; /* a message's attachments, bytes; 0: the default */
    const char *rulesets_dir; /* data/rulesets: the stay rulesets (stays/stays.h); NULL: none */
    int min_cell;             /* results: counts below it are masked; 0: the default 5 */
    bool map_file;            /* request threads map the SQLite file (sv_db_options.map_file) */
    const char *web_dir;      /* the web app's files, served at "/"; NULL or "": none. Borrowed */
    /* Where the MedCom outbox is delivered: "SOR=URL,SOR=URL,*=URL" by the receiving
     * organisation's SOR id, "*" for any other; NULL or "": nothing is sent. Borrowed */
    const char *medcom_endpoint;
    const char *medcom_token; /* bearer token for those endpoints; NULL: none. Borrowed */
} sv_api_config;

typedef struct sv_api sv_api;

/* Opens one connection to check the database and apply migrations. */
sv_err sv_api_new(const sv_api_config *cfg, sv_api **ret_api, sv_buf *reterr);
/* Sets the public base url (links, Location).  Call before serving requests:
 * with --listen on port 0 the port is known only once the server listens. */
void sv_api_set_base_url(sv_api *api, const char *base_url);
/* Who to call when a notice may have arrived for a long poll (GET
 * /notifications?wait=, parked by the http server): main passes
 * sv_http_server_wake.  fn runs on whichever thread committed the notice or
 * heard of it (the PostgreSQL listener).  NULL: nobody (set before the server
 * is stopped). */
void sv_api_set_waker(sv_api *api, void (*fn)(void *ctx), void *ctx);
void sv_api_free(sv_api *api); /* closes every worker connection; accepts NULL */
/* The write path's counters since the database was opened in this process
 * (sv_db_write_stats, db.h: group commit, log syncs and frames, checkpoints, their
 * times); all 0 when unknown (PostgreSQL). */
void sv_api_write_counts(sv_api *api, sv_db_write_stats *ret_stats);
/* The http/ handler: ctx is the sv_api. */
void sv_api_handle(void *ctx, const sv_http_request *req, sv_http_response *res);
/* sv_http_config.waits: true for the requests that may write, whose handler waits
 * for the database's writer and its group's sync (a read never waits long). */
bool sv_api_waits(void *ctx, const sv_http_request *req);

#endif
