/* api.c - the sv_api object and its per-thread database connections. */
#include "api/api.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "api/audit_log.h"
#include "api/bulk_export.h"
#include "api/internal.h"
#include "auth/identity.h"
#include "coord/notify.h"
#include "coord/notify_wait.h"
#include "coord/settings.h"
#include "coord/watchdog.h"
#include "stays/stays.h"
#include "db/db.h"
#include "results/results.h"
#include "store/schema.h"

/* What each request thread keeps: its connection and what the policy and the
 * session checks read through it (policy.h and auth/identity.h, "memo"). */
typedef struct conn_node {
    sv_db *db;
    sv_policy_memo *memo;
    sv_auth_memo *auth_memo;
    struct conn_node *next;
} conn_node;

struct sv_api {
    sv_api_config cfg;
    char *db_uri;
    char *fhir_base; /* cfg.base_url + "/fhir" */
    pthread_mutex_t lock;
    conn_node *conns;
    pthread_key_t key;
    char *metadata; /* CapabilityStatement text, built at start */
    size_t metadata_len;
    sv_audit_log *audit;         /* read audit records, flushed by its own thread */
    sv_coord_watchdog *watchdog; /* NULL when cfg.watchdog_interval_ms is 0 */
    sv_stays *stays;             /* the stay rulesets and write hooks */
    sv_results_data *results;    /* reference data of results/, NULL without data_dir */
    sv_bulk *bulk;               /* GET /fhir/$export jobs (bulk_export.h) */
    /* PostgreSQL: notices committed by any process wake the long polls here
     * (docs/postgres.md); NULL on SQLite, where the in-process wake-up suffices. */
    sv_db_listener *listener;
};

static void notice_arrived(void *ctx, const char *payload)
{
    (void)ctx;
    (void)payload; /* every waiter re-reads its own inbox: no filtering */
    sv_coord_notice_wake();
}

sv_bulk *sv__api_bulk_jobs(sv_api *api)
{
    return api->bulk;
}

const sv_results_data *sv__api_results_data(const sv_api *api)
{
    return api->results;
}

/* The watchdog thread's share: MedCom events left unhandled (a crash after a
 * message's commit) are acted on at the next tick, and the outbox is delivered. */
static sv_err tick_work(void *ctx, sv_rest *r)
{
    sv_api *api = ctx;
    sv_err e = api->stays ? sv_stays_feed(r, api->stays, NULL, NULL) : SV_OK;
    sv_err sent = sv__api_outbox_send(api, r->db, NULL, NULL);
    return e ? e : sent;
}

/* The stay rules of a MedCom message, acted on in the message's own
 * transaction (medcom.h, sv_medcom_set_apply_hook). */
static sv_err feed_in_message(void *ctx, sv_rest *r, const sv_medcom_event *ev, bool *ret_handled)
{
    return sv_stays_feed_event(r, ctx, ev, ret_handled, NULL);
}

static sv_err open_conn(sv_api *api, sv_db **ret_db, sv_buf *reterr)
{
    /* The request threads' connections: where reads happen. */
    sv_db_options opt = {.busy_timeout_ms = api->cfg.busy_timeout_ms,
                         .map_file = api->cfg.map_file};
    return sv_db_open(api->db_uri, &opt, ret_db, reterr);
}

sv_err sv_api_new(const sv_api_config *cfg, sv_api **ret_api, sv_buf *reterr)
{
    sv_api *api = calloc(1, sizeof(*api));
    if (!api)
        return SV_ERR_NOMEM;
    api->cfg = *cfg;
    if (!api->cfg.max_json_depth)
        api->cfg.max_json_depth = 64;
    if (!api->cfg.default_count)
        api->cfg.default_count = 50;
    if (!api->cfg.max_count)
        api->cfg.max_count = 1000;
    if (!api->cfg.btg_hours)
        api->cfg.btg_hours = 4;
    if (!api->cfg.min_cell)
        api->cfg.min_cell = 5;
    api->db_uri = strdup(cfg->db_uri);
    api->cfg.rulesets_dir = NULL; /* borrowed only during sv_api_new */
    pthread_mutex_init(&api->lock, NULL);
    pthread_key_create(&api->key, NULL);
    sv_api_set_base_url(api, cfg->base_url ? cfg->base_url : "http://localhost");
    sv_db *db = NULL;
    sv_err e =
        sv_coord_settings_load(cfg->data_dir ? cfg->data_dir : "", cfg->max_attachment, reterr);
    if (!e)
        e = open_conn(api, &db, reterr);
    if (!e)
        e = sv_schema_migrate(db, NULL, reterr);
    if (!e)
        e = sv_fhir_access_build(db, reterr);
    sv_db_close(db);
    /* No rulesets (rules = off): a plain FHIR store with coordination rules only. */
    if (!e && cfg->rulesets_dir)
        e = sv_stays_load(cfg->rulesets_dir, &api->stays, reterr);
    if (!e)
        sv_coord_watchdog_set_work(tick_work, api);
    if (!e && api->stays)
        sv_medcom_set_apply_hook(feed_in_message, api->stays);
    if (!e)
        e = sv_audit_log_start(api->db_uri, api->cfg.busy_timeout_ms, &api->audit, reterr);
    if (!e && cfg->data_dir)
        e = sv_results_data_load(cfg->data_dir, &api->results, reterr);
    if (!e && !(api->bulk = sv__bulk_new(api->db_uri, api->cfg.busy_timeout_ms)))
        e = SV_ERR_NOMEM;
    if (!e && api->cfg.watchdog_interval_ms > 0)
        e = sv_coord_watchdog_start(api->db_uri, api->cfg.busy_timeout_ms,
                                    api->cfg.watchdog_interval_ms, api->fhir_base, &api->watchdog,
                                    reterr);
    if (!e) {
        e = sv_db_listen(api->db_uri, SV_COORD_NOTICE_CHANNEL, notice_arrived, api, &api->listener,
                         reterr);
        if (e == SV_ERR_UNSUPPORTED) {
            if (reterr)
                sv_buf_reset(reterr);
            e = SV_OK;
        }
    }
    if (e) {
        sv_api_free(api);
        return e;
    }
    *ret_api = api;
    return SV_OK;
}

void sv_api_set_base_url(sv_api *api, const char *base_url)
{
    free(api->fhir_base);
    free(api->metadata);
    sv_buf b = SV_BUF_INIT;
    sv_buf_addf(&b, "%s/fhir", base_url);
    api->fhir_base = sv_buf_detach(&b, NULL);
    api->metadata = sv__api_metadata_build(api->fhir_base, &api->metadata_len);
}

void sv_api_set_waker(sv_api *api, void (*fn)(void *ctx), void *ctx)
{
    (void)api;
    sv_coord_notice_set_waker(fn, ctx);
}

void sv_api_free(sv_api *api)
{
    if (!api)
        return;
    sv_db_listener_stop(api->listener);
    api->listener = NULL;
    sv_coord_watchdog_stop(api->watchdog);
    api->watchdog = NULL;
    sv_coord_watchdog_set_work(NULL, NULL);
    sv__bulk_free(api->bulk);
    api->bulk = NULL;
    sv_medcom_set_apply_hook(NULL, NULL);
    /* Requests have stopped (the server drains first): write every queued read record. */
    sv_audit_log_stop(api->audit);
    api->audit = NULL;
    pthread_mutex_lock(&api->lock);
    conn_node *n = api->conns;
    while (n) {
        conn_node *next = n->next;
        sv_db_close(n->db);
        sv_policy_memo_free(n->memo);
        sv_auth_memo_free(n->auth_memo);
        free(n);
        n = next;
    }
    api->conns = NULL;
    pthread_mutex_unlock(&api->lock);
    pthread_key_delete(api->key);
    pthread_mutex_destroy(&api->lock);
    sv_stays_free(api->stays);
    sv_results_data_free(api->results);
    free(api->db_uri);
    free(api->fhir_base);
    free(api->metadata);
    free(api);
}

void sv_api_write_counts(sv_api *api, sv_db_write_stats *ret_stats)
{
    memset(ret_stats, 0, sizeof(*ret_stats));
    pthread_mutex_lock(&api->lock);
    if (api->conns)
        sv_db_write_stats_get(api->conns->db, ret_stats);
    pthread_mutex_unlock(&api->lock);
}

sv_stays *sv__api_stays(sv_api *api)
{
    return api->stays;
}

/* The calling thread's node, opening its connection the first time. */
static sv_err thread_node(sv_api *api, conn_node **ret_node, sv_buf *reterr)
{
    conn_node *n = pthread_getspecific(api->key);
    if (n) {
        *ret_node = n;
        return SV_OK;
    }
    sv_db *db = NULL;
    sv_err e = open_conn(api, &db, reterr);
    if (e)
        return e;
    n = calloc(1, sizeof(*n));
    if (!n) {
        sv_db_close(db);
        return SV_ERR_NOMEM;
    }
    n->db = db;
    n->memo = sv_policy_memo_new();
    n->auth_memo = sv_auth_memo_new();
    pthread_mutex_lock(&api->lock);
    n->next = api->conns;
    api->conns = n;
    pthread_mutex_unlock(&api->lock);
    pthread_setspecific(api->key, n);
    *ret_node = n;
    return SV_OK;
}

sv_err sv__api_conn(sv_api *api, sv_db **ret_db, sv_buf *reterr)
{
    conn_node *n = NULL;
    sv_err e = thread_node(api, &n, reterr);
    if (!e)
        *ret_db = n->db;
    return e;
}

sv_policy_memo *sv__api_policy_memo(sv_api *api)
{
    conn_node *n = NULL;
    return thread_node(api, &n, NULL) == SV_OK ? n->memo : NULL;
}

sv_auth_memo *sv__api_auth_memo(sv_api *api)
{
    conn_node *n = NULL;
    return thread_node(api, &n, NULL) == SV_OK ? n->auth_memo : NULL;
}

const sv_api_config *sv__api_config(const sv_api *api)
{
    return &api->cfg;
}

sv_audit_log *sv__api_audit_log(sv_api *api)
{
    return api->audit;
}

const char *sv__api_fhir_base(const sv_api *api)
{
    return api->fhir_base;
}

void sv__api_metadata(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    res->status = 200;
    res->content_type = SV_FHIR_JSON;
    sv_buf_add(&res->body, api->metadata, api->metadata_len);
    (void)req;
}
