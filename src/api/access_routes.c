/*
 * access_routes.c - the access policy at the HTTP edge (docs/access.md): the
 * principal of a request turned into its sv_access, and break-the-glass.
 */
#include <string.h>

#include <stdio.h>

#include "api/internal.h"
#include "api/message_routes.h"
#include "auth/identity.h"
#include "base/datetime.h"
#include "coord/btg.h"
#include "store/resource.h"

sv_err sv__api_access(sv_api *api, sv_db *db, const sv_principal *who, sv_access *ret,
                      sv_buf *reterr)
{
    sv_policy_who w = {.username = who->name,
                       .practitioner_role = who->practitioner_role,
                       .patient = who->patient,
                       .related_person = who->related_person};
    switch (who->kind) {
    case SV_PRINCIPAL_PRACTITIONER:
        w.kind = SV_POLICY_PRACTITIONER;
        break;
    case SV_PRINCIPAL_CITIZEN:
        w.kind = SV_POLICY_CITIZEN;
        break;
    case SV_PRINCIPAL_RELATIVE:
        w.kind = SV_POLICY_RELATIVE;
        break;
    case SV_PRINCIPAL_ADMIN:
        w.kind = SV_POLICY_ADMIN;
        break;
    case SV_PRINCIPAL_SYSTEM:
        w.kind = SV_POLICY_SYSTEM;
        break;
    case SV_PRINCIPAL_NONE:
        w.kind = SV_POLICY_INTERNAL;
        break;
    }
    return sv_policy_access_memo(db, sv__api_policy_memo(api), &w, sv_clock_now_ms(), ret, reterr);
}

/* ---- break-the-glass ---------------------------------------------------------------- */

/* The parameter called name in a Parameters resource, and its index. */
static const json_t *parameter(const json_t *params, const char *name, size_t *ret_index)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(params, "parameter"), i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, name) == 0) {
            *ret_index = i;
            return p;
        }
    }
    return NULL;
}

/* The period parameter in hours (a number of any FHIR numeric kind). */
static bool period_hours(const json_t *p, double *ret)
{
    static const char *const keys[] = {"valueInteger", "valueDecimal", "valuePositiveInt",
                                       "valueUnsignedInt", NULL};
    for (const char *const *k = keys; *k; k++) {
        const json_t *v = json_object_get(p, *k);
        if (v && json_is_number(v)) {
            *ret = json_number_value(v);
            return true;
        }
    }
    return false;
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return false;
    return true;
}

static void add_param(json_t *params, const char *name, const char *key, json_t *value)
{
    json_array_append_new(json_object_get(params, "parameter"),
                          json_pack("{s:s, s:o}", "name", name, key, value));
}

void sv__api_break_the_glass(sv_api *api, sv_rest *rest, const sv_http_request *req,
                             sv_http_response *res, const sv_principal *who, const char *patient_id)
{
    res->route = "POST /fhir/Patient/:id/$break-the-glass";
    if (strcmp(req->method, "POST") != 0) {
        sv_http_response_header(res, "Allow", "POST");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: POST",
                      req->method);
        return;
    }
    const sv_access *a = rest->access;
    if (!a || a->kind != SV_POLICY_PRACTITIONER) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                      "break-the-glass is for practitioners who log in");
        return;
    }
    json_t *body = sv__api_read_resource(api, req, res);
    if (!body)
        return;
    size_t ri = 0, pi = 0;
    const json_t *rp = parameter(body, "reason", &ri);
    const json_t *pp = parameter(body, "period", &pi);
    const char *reason = json_string_value(json_object_get(rp, "valueString"));
    double hours = sv__api_config(api)->btg_hours, asked = 0;
    char where[96];
    const char *rtype = json_string_value(json_object_get(body, "resourceType"));
    if (!rtype || strcmp(rtype, "Parameters") != 0) {
        sv__api_error(res, SV_ERR_INVALID, "Parameters", "the body must be a Parameters resource");
    } else if (!rp || blank(reason)) {
        if (rp)
            snprintf(where, sizeof(where), "Parameters.parameter[%zu].valueString", ri);
        sv__api_error(res, SV_ERR_INVALID, rp ? where : "Parameters.parameter",
                      "break-the-glass needs a reason (parameter 'reason', valueString)");
    } else if (pp && (!period_hours(pp, &asked) || asked <= 0 || asked > hours)) {
        snprintf(where, sizeof(where), "Parameters.parameter[%zu].value", pi);
        sv__api_error(res, SV_ERR_INVALID, where,
                      "period is a number of hours above 0 and at most %g", hours);
    } else if (a->filter.mask == 0 || !a->organisation[0]) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                      "the role you act in allows no category of data: nothing to open");
    } else {
        if (pp)
            hours = asked;
        sv_stored s;
        memset(&s, 0, sizeof(s));
        sv_buf err = SV_BUF_INIT;
        sv_err e = sv_store_current(rest->db, "Patient", patient_id, false, &s, &err);
        bool exists = !e && !s.deleted;
        sv_stored_clear(&s);
        sv_buf_release(&err);
        if (e && e != SV_ERR_NOT_FOUND) {
            sv__api_error(res, e, NULL, "the citizen cannot be looked up");
        } else if (!exists) {
            sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "Patient/%s is not known", patient_id);
        } else {
            int64_t now = sv_clock_now_ms();
            sv_coord_btg b = {.patient = patient_id,
                              .username = a->username,
                              .practitioner_role = who->practitioner_role,
                              .organisation = a->organisation,
                              .role = a->role,
                              .mask = a->filter.mask,
                              .reason = reason,
                              .from = now,
                              .to = now + (int64_t)(hours * 3600000.0),
                              .actor = rest->actor};
            char comm[65];
            sv_outcome out = SV_OUTCOME_INIT;
            e = sv_coord_break_the_glass(rest, &b, comm, &out);
            if (e) {
                sv__api_outcome(res, e, &out);
            } else {
                char from[SV_INSTANT_LEN], to[SV_INSTANT_LEN], cref[80];
                sv_datetime_format_instant(b.from, from);
                sv_datetime_format_instant(b.to, to);
                snprintf(cref, sizeof(cref), "Communication/%s", comm);
                json_t *answer =
                    json_pack("{s:s, s:[]}", "resourceType", "Parameters", "parameter");
                add_param(answer, "start", "valueInstant", json_string(from));
                add_param(answer, "end", "valueInstant", json_string(to));
                for (int bit = 1; bit <= SV_CAT_SENSITIVE; bit <<= 1)
                    if (b.mask & bit)
                        add_param(answer, "category", "valueCode",
                                  json_string(sv_policy_category_name(bit)));
                add_param(answer, "communication", "valueReference",
                          json_pack("{s:s}", "reference", cref));
                res->status = 200;
                res->content_type = SV_FHIR_JSON;
                sv_buf_reset(&res->body);
                sv_fhir_dump(answer, &res->body);
                json_decref(answer);
            }
            sv_outcome_clear(&out);
        }
    }
    json_decref(body);
}
