/* care_routes.c - see care_routes.h. */
#include "api/care_routes.h"

#include <string.h>

#include "api/message_routes.h"
#include "coord/care.h"

typedef enum op_kind { OP_REPLY, OP_FORWARD, OP_READ, OP_HANDOVER, OP_CONFIRM, OP_DISPUTE } op_kind;

static const struct {
    const char *type, *op, *route;
    op_kind kind;
    bool body_required;
} ops[] = {
    {"Communication", "$reply", "POST /fhir/Communication/:id/$reply", OP_REPLY, true},
    {"Communication", "$forward", "POST /fhir/Communication/:id/$forward", OP_FORWARD, true},
    {"Communication", "$read", "POST /fhir/Communication/:id/$read", OP_READ, false},
    {"Patient", "$medication-handover", "POST /fhir/Patient/:id/$medication-handover", OP_HANDOVER,
     true},
    {"Task", "$confirm", "POST /fhir/Task/:id/$confirm", OP_CONFIRM, false},
    {"Task", "$dispute", "POST /fhir/Task/:id/$dispute", OP_DISPUTE, true},
};

bool sv__api_care_operation(sv_api *api, sv_rest *rest, const sv_http_request *req,
                            sv_http_response *res, const char *type, const char *id, const char *op)
{
    size_t i = 0, n = sizeof(ops) / sizeof(ops[0]);
    while (i < n && (strcmp(ops[i].type, type) != 0 || strcmp(ops[i].op, op) != 0))
        i++;
    if (i == n)
        return false;
    res->route = ops[i].route;
    if (strcmp(req->method, "POST") != 0) {
        sv_http_response_header(res, "Allow", "POST");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: POST",
                      req->method);
        return true;
    }
    json_t *params = NULL;
    if (req->body_len || ops[i].body_required) {
        params = sv__api_read_resource(api, req, res);
        if (!params)
            return true;
        const char *rt = json_string_value(json_object_get(params, "resourceType"));
        if (!rt || strcmp(rt, "Parameters") != 0) {
            json_decref(params);
            sv__api_error(res, SV_ERR_INVALID, "resourceType",
                          "the body of %s is a Parameters resource", op);
            return true;
        }
    } else {
        params = json_pack("{s:s}", "resourceType", "Parameters");
    }
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = SV_ERR_INTERNAL;
    switch (ops[i].kind) {
    case OP_REPLY:
        e = sv_coord_message_reply(rest, id, params, &rr);
        break;
    case OP_FORWARD:
        e = sv_coord_message_forward(rest, id, params, &rr);
        break;
    case OP_READ:
        e = sv_coord_message_read(rest, id, params, &rr);
        break;
    case OP_HANDOVER:
        e = sv_coord_medication_handover(rest, id, params, &rr);
        break;
    case OP_CONFIRM:
    case OP_DISPUTE:
        e = sv_coord_reconciliation_settle(rest, id, ops[i].kind == OP_CONFIRM, params, &rr);
        break;
    }
    json_decref(params);
    sv__api_result(api, req, res, e, &rr);
    sv_rest_result_clear(&rr);
    return true;
}
