/*
 * message_routes.c - MedCom messaging over HTTP.  POST /fhir/$process-message
 * takes a message Bundle as FHIR JSON or FHIR XML and answers 200 with the
 * MedCom Acknowledgement (ok, transient-error or fatal-error with an
 * OperationOutcome naming the element at fault); a body that holds no
 * MessageHeader to acknowledge gets a plain OperationOutcome.  The answer is
 * always JSON: MedCom acknowledgements are produced in JSON here.
 * GET /fhir/$medcom-outbox[?state=pending] lists the outgoing queue; POST queues a
 * message Bundle for delivery (api/outbox_send.c).
 * Logs name the route only, never the message or its citizen.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "api/message_routes.h"
#include "base/json.h"
#include "fhir/xml.h"
#include "coord/coord.h"
#include "medcom/medcom.h"
#include "stays/stays.h"

static bool media_is(const char *ct, const char *want)
{
    size_t n = strlen(want);
    if (strncasecmp(ct, want, n) != 0)
        return false;
    return ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ';
}

json_t *sv__api_read_resource(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    const char *ct = sv_http_header_get(req, "Content-Type");
    json_t *j = NULL;
    if (ct && sv_fhir_xml_media(ct)) {
        sv_outcome o = SV_OUTCOME_INIT;
        sv_err e = sv_fhir_xml_to_json(req->body, req->body_len, &j, &o);
        if (e) {
            sv__api_outcome(res, e, &o);
            sv_outcome_clear(&o);
            return NULL;
        }
        sv_outcome_clear(&o);
        return j;
    }
    if (!ct || !(media_is(ct, "application/fhir+json") || media_is(ct, "application/json") ||
                 media_is(ct, "application/json+fhir"))) {
        sv__api_error(res, SV_ERR_MEDIA_TYPE, NULL,
                      "content-type '%s' is not supported here; use application/fhir+json or "
                      "application/fhir+xml",
                      ct ? ct : "");
        return NULL;
    }
    sv_buf err = SV_BUF_INIT, path = SV_BUF_INIT;
    size_t offset = 0;
    sv_err e = sv_json_parse_at(req->body, req->body_len, sv__api_config(api)->max_json_depth,
                                SV_JSON_TOP_OBJECT, &j, &err, &offset, &path);
    if (e)
        sv__api_error(res, e, path.len ? path.ptr : NULL, "%s", err.len ? err.ptr : sv_strerror(e));
    sv_buf_release(&err);
    sv_buf_release(&path);
    return e ? NULL : j;
}

void sv__api_process_message(sv_api *api, sv_rest *rest, const sv_http_request *req,
                             sv_http_response *res)
{
    res->route = "POST /fhir/$process-message";
    if (strcmp(req->method, "POST") != 0) {
        sv_http_response_header(res, "Allow", "POST");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: POST",
                      req->method);
        return;
    }
    /* A MedCom message is the act of the sending system (the MedCom gateway's
     * client), not of a person: with the access policy on, only principals it
     * does not restrict (system clients, admin) may submit one. */
    if (rest->access && rest->access->enforced) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                      "only a system client may submit MedCom messages");
        return;
    }
    json_t *body = sv__api_read_resource(api, req, res);
    if (!body)
        return;
    sv_medcom_result mr;
    sv_medcom_result_init(&mr);
    /* The message's writes pass the coordination rules only: its stay events are
     * the medcom_event rows, acted on in its transaction or by the feed (stays.h), so
     * that each is acted on once whichever process or tick gets to it. */
    sv_rest msg_rest = *rest;
    msg_rest.hooks = sv_coord_hooks();
    sv_err e = sv_medcom_process(&msg_rest, body, &mr);
    json_decref(body);
    /* Acted on in the message's transaction (api.c, feed_in_message) unless it
     * could not be: then the drain now, and the tick again on a failure. */
    if (!e && mr.code && strcmp(mr.code, "ok") == 0 && !mr.duplicate && !mr.handled)
        sv_stays_feed(rest, sv__api_stays(api), NULL, NULL);
    if (e) {
        sv__api_outcome(res, e, &mr.outcome);
        if (mr.status)
            res->status = mr.status;
    } else {
        res->status = mr.status;
        res->content_type = SV_FHIR_JSON;
        if (res->body.len == 0) { /* the acknowledgement moved, not copied */
            sv_buf_release(&res->body);
            res->body = mr.body;
            sv_buf_init(&mr.body);
        } else {
            sv_buf_add(&res->body, mr.body.ptr, mr.body.len);
        }
        if (mr.code)
            sv_http_response_header(res, "X-MedCom-Acknowledgement", mr.code);
        if (mr.duplicate)
            sv_http_response_header(res, "X-MedCom-Duplicate", "true");
    }
    sv_medcom_result_clear(&mr);
}

typedef struct outbox_out {
    sv_buf *body;
    size_t n;
} outbox_out;

static bool outbox_item(void *ctx, const sv_medcom_outbox_item *it)
{
    outbox_out *o = ctx;
    json_t *j =
        json_pack("{s:I, s:s, s:s, s:s, s:I, s:I, s:I}", "seq", (json_int_t)it->seq, "messageId",
                  it->message_id ? it->message_id : "", "kind", it->kind ? it->kind : "", "state",
                  it->state ? it->state : "", "attempts", (json_int_t)it->attempts, "created",
                  (json_int_t)it->created, "nextAttempt", (json_int_t)it->next_attempt);
    if (it->ack_code)
        json_object_set_new(j, "ackCode", json_string(it->ack_code));
    if (it->last_error)
        json_object_set_new(j, "lastError", json_string(it->last_error));
    if (o->n++)
        sv_buf_addc(o->body, ',');
    sv_fhir_dump(j, o->body);
    json_decref(j);
    return o->n < 1000;
}

/* POST: a message Bundle handed over for delivery (outbox_send.c sends it). */
static void outbox_queue(sv_api *api, sv_rest *rest, const sv_http_request *req,
                         sv_http_response *res)
{
    json_t *body = sv__api_read_resource(api, req, res);
    if (!body)
        return;
    const char *type = json_string_value(json_object_get(body, "type"));
    const char *first = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(body, "entry"), 0), "resource"),
        "resourceType"));
    if (!type || strcmp(type, "message") != 0 || !first || strcmp(first, "MessageHeader") != 0) {
        json_decref(body);
        sv__api_error(res, SV_ERR_INVALID, "Bundle.type",
                      "the outbox takes a Bundle of type message, its MessageHeader first");
        return;
    }
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_begin(rest->db, SV_TX_WRITE, &err);
    if (!e)
        e = sv_medcom_outbox_add(rest->db, body, &err);
    if (!e)
        e = sv_db_commit(rest->db, &err);
    if (e)
        sv_db_rollback(rest->db);
    if (e) {
        sv__api_error(res, e, "Bundle.entry[0].resource.id", "%s",
                      err.len ? err.ptr : "the message cannot be queued");
    } else {
        const char *id = json_string_value(json_object_get(
            json_object_get(json_array_get(json_object_get(body, "entry"), 0), "resource"), "id"));
        res->status = 201;
        res->content_type = "application/json; charset=utf-8";
        json_t *j = json_pack("{s:s, s:s}", "messageId", id, "state", "pending");
        sv_fhir_dump(j, &res->body);
        json_decref(j);
    }
    sv_buf_release(&err);
    json_decref(body);
}

void sv__api_medcom_outbox(sv_api *api, sv_rest *rest, const sv_http_request *req,
                           sv_http_response *res)
{
    bool post = strcmp(req->method, "POST") == 0;
    res->route = post ? "POST /fhir/$medcom-outbox" : "GET /fhir/$medcom-outbox";
    if (!post && strcmp(req->method, "GET") != 0) {
        sv_http_response_header(res, "Allow", "GET, POST");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: GET, POST",
                      req->method);
        return;
    }
    if (rest->access && rest->access->enforced) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL, "the outbox is for system clients");
        return;
    }
    if (post) {
        outbox_queue(api, rest, req, res);
        return;
    }
    const char *state = NULL;
    for (size_t i = 0; i < req->nparams; i++)
        if (strcmp(req->params[i].name, "state") == 0)
            state = req->params[i].value;
    sv_buf items = SV_BUF_INIT;
    outbox_out o = {.body = &items};
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_medcom_outbox_list(rest->db, state, outbox_item, &o, &err);
    sv_buf_release(&err);
    if (e) {
        sv__api_error(res, e, NULL, "the outbox cannot be read");
    } else {
        res->status = 200;
        res->content_type = "application/json; charset=utf-8";
        sv_buf_adds(&res->body, "{\"outbox\":[");
        if (items.len)
            sv_buf_add(&res->body, items.ptr, items.len);
        sv_buf_adds(&res->body, "]}");
    }
    sv_buf_release(&items);
}
