/*
 * outbox_send.c - delivery of the MedCom outbox over HTTP: each due item is
 * POSTed as FHIR JSON to the endpoint configured for its receiving
 * organisation (medcom_endpoint = "SOR=URL,SOR=URL,*=URL", docs/medcom.md),
 * and settled by the Acknowledgement in the answer: ok → acked, fatal-error →
 * failed, transient-error or no acknowledgement → pending again after the
 * doubling delay (medcom/outbox.c).  Runs on every watchdog tick (api.c) and
 * on POST /admin/watchdog/tick.  What fails is recorded in the item's
 * lastError, never logged with content.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "api/internal.h"
#include "http/client.h"
#include "medcom/medcom.h"

/* Items per round, how long a claimed item is left to its sender, and how long
 * a round may go on taking items (the watchdog's other work waits for it). */
#define ROUND_MAX 50
#define LEASE_MS (5 * 60 * 1000)
#define POST_TIMEOUT_MS 20000
#define ROUND_BUDGET_MS 30000

/* The URL for a receiver's SOR id from "SOR=URL,...,*=URL" into out; false when none. */
static bool endpoint_for(const char *config, const char *sor, char *out, size_t cap)
{
    const char *fallback = NULL;
    size_t fallback_len = 0;
    for (const char *p = config; p && *p;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        if (eq) {
            size_t klen = (size_t)(eq - p);
            const char *url = eq + 1;
            size_t ulen = len - klen - 1;
            if (klen == 1 && p[0] == '*') {
                fallback = url;
                fallback_len = ulen;
            } else if (sor && *sor && klen == strlen(sor) && strncmp(p, sor, klen) == 0 &&
                       ulen < cap) {
                snprintf(out, cap, "%.*s", (int)ulen, url);
                return true;
            }
        }
        p = end ? end + 1 : NULL;
    }
    if (fallback && fallback_len < cap) {
        snprintf(out, cap, "%.*s", (int)fallback_len, fallback);
        return true;
    }
    return false;
}

typedef struct round {
    const sv_api_config *cfg;
    sv_db *db;
    int acked;
    struct timespec start;
} round;

static bool within_budget(void *ctx)
{
    round *rd = ctx;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - rd->start.tv_sec) * 1000 +
                 (now.tv_nsec - rd->start.tv_nsec) / 1000000;
    return ms < ROUND_BUDGET_MS;
}

static sv_err deliver(void *ctx, const sv_medcom_outbox_due_item *it)
{
    round *rd = ctx;
    char url[1024], error[300];
    if (!endpoint_for(rd->cfg->medcom_endpoint, it->receiver_sor, url, sizeof(url))) {
        snprintf(error, sizeof(error), "no endpoint configured for the receiver (SOR '%s')",
                 it->receiver_sor);
        return sv_medcom_outbox_settle(rd->db, it->message_id, NULL, error, NULL);
    }
    sv_http_post_request req = {.url = url,
                                .content_type = "application/fhir+json",
                                .body = it->bundle,
                                .body_len = it->bundle_len,
                                .bearer = rd->cfg->medcom_token,
                                .timeout_ms = POST_TIMEOUT_MS};
    int status = 0;
    sv_buf answer = SV_BUF_INIT, why = SV_BUF_INIT;
    sv_err e = sv_http_post(&req, &status, &answer, &why);
    char code[20] = "";
    if (e)
        snprintf(error, sizeof(error), "not delivered: %s", why.ptr);
    else if (status != 200 || !sv_medcom_ack_code(answer.ptr, answer.len, it->message_id, code))
        snprintf(error, sizeof(error), "HTTP status %d without an acknowledgement of the message",
                 status);
    else if (strcmp(code, "ok") != 0)
        snprintf(error, sizeof(error), "acknowledged %s", code);
    else
        error[0] = '\0';
    sv_buf_release(&answer);
    sv_buf_release(&why);
    rd->acked += strcmp(code, "ok") == 0;
    return sv_medcom_outbox_settle(rd->db, it->message_id, code[0] ? code : NULL,
                                   error[0] ? error : NULL, NULL);
}

sv_err sv__api_outbox_send(sv_api *api, sv_db *db, int *ret_tried, int *ret_acked)
{
    if (ret_tried)
        *ret_tried = 0;
    if (ret_acked)
        *ret_acked = 0;
    const sv_api_config *cfg = sv__api_config(api);
    if (!cfg->medcom_endpoint || !cfg->medcom_endpoint[0])
        return SV_OK; /* not configured to send: the queue waits */
    round rd = {.cfg = cfg, .db = db};
    clock_gettime(CLOCK_MONOTONIC, &rd.start);
    int tried = 0;
    sv_err e = sv_medcom_outbox_deliver_due(db, ROUND_MAX, LEASE_MS, deliver, within_budget, &rd,
                                            &tried, NULL);
    if (ret_tried)
        *ret_tried = tried;
    if (ret_acked)
        *ret_acked = rd.acked;
    return e;
}
