/* results_routes.c - see results_routes.h. */
#include "api/results_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/internal.h"
#include "api/message_routes.h"
#include "base/datetime.h"
#include "base/json.h"
#include "results/results.h"

#define JSON_TYPE "application/json; charset=utf-8"
#define FHIR_TYPE "application/fhir+json; charset=utf-8"
#define MAX_PARAMS 16

typedef struct params {
    const char *name[MAX_PARAMS];
    const char *value[MAX_PARAMS];
    size_t len;
    json_t *body; /* a POST's Parameters; owns the strings above when set */
} params;

static const char *get(const params *p, const char *name)
{
    for (size_t i = 0; i < p->len; i++)
        if (strcmp(p->name[i], name) == 0)
            return p->value[i];
    return NULL;
}

/* URL parameters, and for a POST the Parameters body (valueDate, valueDateTime,
 * valueString, valueCode, valueReference.reference). */
static bool read_params(sv_api *api, const sv_http_request *req, sv_http_response *res,
                        const char *const *allowed, params *p)
{
    memset(p, 0, sizeof(*p));
    for (size_t i = 0; i < req->nparams && p->len < MAX_PARAMS; i++) {
        p->name[p->len] = req->params[i].name;
        p->value[p->len++] = req->params[i].value;
    }
    if (strcmp(req->method, "POST") == 0 && req->body_len) {
        p->body = sv__api_read_resource(api, req, res);
        if (!p->body)
            return false;
        const char *rt = json_string_value(json_object_get(p->body, "resourceType"));
        if (!rt || strcmp(rt, "Parameters")) {
            sv__api_error(res, SV_ERR_INVALID, "resourceType", "the body must be a Parameters");
            return false;
        }
        size_t i;
        json_t *x;
        json_array_foreach(json_object_get(p->body, "parameter"), i, x)
        {
            const char *n = json_string_value(json_object_get(x, "name"));
            const char *v = NULL;
            static const char *const keys[] = {"valueDate", "valueDateTime", "valueString",
                                               "valueCode", "valueInteger"};
            for (size_t k = 0; !v && k < sizeof(keys) / sizeof(keys[0]); k++)
                v = json_string_value(json_object_get(x, keys[k]));
            if (!v)
                v = json_string_value(
                    json_object_get(json_object_get(x, "valueReference"), "reference"));
            if (n && v && p->len < MAX_PARAMS) {
                p->name[p->len] = n;
                p->value[p->len++] = v;
            }
        }
    }
    for (size_t i = 0; i < p->len; i++) {
        bool ok = strcmp(p->name[i], "_format") == 0 || strcmp(p->name[i], "_pretty") == 0;
        for (size_t k = 0; !ok && allowed[k]; k++)
            ok = strcmp(p->name[i], allowed[k]) == 0;
        if (!ok) {
            sv__api_error(res, SV_ERR_INVALID, p->name[i], "'%s' is not a parameter here",
                          p->name[i]);
            return false;
        }
    }
    return true;
}

/* "Organization/x" or "x" -> "x"; NULL when absent; false (answered) when bad. */
static bool org_param(sv_http_response *res, const params *p, const char *name, const char **ret)
{
    const char *v = get(p, name);
    *ret = NULL;
    if (!v)
        return true;
    if (strncmp(v, "Organization/", 13) == 0)
        v += 13;
    if (!*v || strchr(v, '/') || strlen(v) > 64) {
        sv__api_error(res, SV_ERR_INVALID, name, "%s must be Organization/[id]", name);
        return false;
    }
    *ret = v;
    return true;
}

static bool period(sv_http_response *res, const params *p, const char *sname, const char *ename,
                   int64_t *ret_start, int64_t *ret_end)
{
    const char *s = get(p, sname), *e = get(p, ename);
    if (!s || !sv_results_period_start(s, ret_start)) {
        sv__api_error(res, SV_ERR_INVALID, sname,
                      "%s must be a date (a local day) or a dateTime with a zone", sname);
        return false;
    }
    if (!e || !sv_results_period_end(e, ret_end)) {
        sv__api_error(res, SV_ERR_INVALID, ename,
                      "%s must be a date (a local day) or a dateTime with a zone", ename);
        return false;
    }
    if (*ret_end <= *ret_start) {
        sv__api_error(res, SV_ERR_INVALID, ename, "%s is before %s", ename, sname);
        return false;
    }
    return true;
}

/* Aggregates cross organisations: staff, administrators and system clients may
 * ask; citizens and relatives may not. */
static bool may_see_aggregates(sv_http_response *res, const sv_rest *rest)
{
    if (rest->access &&
        (rest->access->kind == SV_POLICY_CITIZEN || rest->access->kind == SV_POLICY_RELATIVE)) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL, "results are for staff of the partnership");
        return false;
    }
    return true;
}

static bool common_filter(sv_http_response *res, const params *p, sv_results_filter *f)
{
    memset(f, 0, sizeof(*f));
    f->age_min = f->age_max = -1;
    f->now = sv_clock_now_ms();
    if (!period(res, p, "periodStart", "periodEnd", &f->start, &f->end) ||
        !org_param(res, p, "organization", &f->organization) ||
        !org_param(res, p, "municipality", &f->municipality) ||
        !org_param(res, p, "region", &f->region))
        return false;
    const char *c = get(p, "condition");
    if (c) { /* the system is split off by the caller (it needs a buffer) */
        const char *bar = strchr(c, '|');
        f->condition_code = bar ? bar + 1 : c;
        f->condition_system = NULL;
        if (!*f->condition_code) {
            sv__api_error(res, SV_ERR_INVALID, "condition", "condition must be [system|]code");
            return false;
        }
    }
    const char *age = get(p, "age");
    if (age) {
        int lo = -1, hi = -1, n = 0;
        if (sscanf(age, "%d-%d%n", &lo, &hi, &n) == 2 && !age[n] && lo >= 0 && hi >= lo) {
        } else if (sscanf(age, "%d-%n", &lo, &n) == 1 && n && !age[n] && lo >= 0) {
            hi = -1;
        } else {
            sv__api_error(res, SV_ERR_INVALID, "age", "age must be LOW-HIGH or LOW- (years)");
            return false;
        }
        f->age_min = lo;
        f->age_max = hi;
    }
    return true;
}

static void answer(sv_http_response *res, const char *type, json_t *j)
{
    res->status = 200;
    res->content_type = type;
    sv_buf_reset(&res->body);
    sv_fhir_dump(j, &res->body);
    json_decref(j);
}

static void evaluate(sv_api *api, sv_rest *rest, const sv_http_request *req, sv_http_response *res,
                     const char *id)
{
    res->route = "GET /fhir/Measure/:id/$evaluate-measure";
    static const char *const allowed[] = {"periodStart",  "periodEnd",  "organization",
                                          "municipality", "region",     "condition",
                                          "age",          "reportType", NULL};
    params p;
    if (!may_see_aggregates(res, rest) || !read_params(api, req, res, allowed, &p))
        goto out;
    const char *rt = get(&p, "reportType");
    if (rt && strcmp(rt, "summary") && strcmp(rt, "population")) {
        sv__api_error(res, SV_ERR_UNSUPPORTED, "reportType", "only summary reports are made");
        goto out;
    }
    sv_results_filter f;
    if (!common_filter(res, &p, &f))
        goto out;
    char system[256] = "";
    const char *c = get(&p, "condition");
    if (c && strchr(c, '|') && (size_t)(strchr(c, '|') - c) < sizeof(system)) {
        memcpy(system, c, (size_t)(strchr(c, '|') - c));
        system[strchr(c, '|') - c] = '\0';
        f.condition_system = system[0] ? system : NULL;
    }
    f.min_cell = sv__api_config(api)->min_cell;
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_rest_read(rest, "Measure", id, &rr);
    if (e) {
        sv__api_outcome(res, e, &rr.outcome);
        sv_rest_result_clear(&rr);
        goto out;
    }
    json_t *m = sv_json_loadb(rr.body.ptr, rr.body.len, 0, NULL);
    sv_rest_result_clear(&rr);
    json_t *report = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    e = m ? sv_results_evaluate(rest->db, sv__api_results_data(api), m, &f, &report, &out)
          : SV_ERR_INTERNAL;
    json_decref(m);
    if (e)
        sv__api_outcome(res, e, &out);
    else
        answer(res, FHIR_TYPE, report);
    sv_outcome_clear(&out);
out:
    json_decref(p.body);
}

static void outreach(sv_api *api, sv_rest *rest, const sv_http_request *req, sv_http_response *res,
                     const char *id)
{
    res->route = "GET /fhir/Organization/:id/$outreach";
    static const char *const allowed[] = {"condition", "months", NULL};
    params p;
    if (!read_params(api, req, res, allowed, &p))
        goto out;
    /* The list tells who has the condition: a role that may see clinical data. */
    if (rest->access && rest->access->enforced &&
        (rest->access->kind != SV_POLICY_PRACTITIONER ||
         !(rest->access->filter.mask & SV_CAT_CLINICAL))) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                      "the outreach list is for practitioners whose role may see clinical data");
        goto out;
    }
    int months = 0;
    const char *mv = get(&p, "months");
    if (mv) {
        char *end = NULL;
        long n = strtol(mv, &end, 10);
        if (!*mv || *end || n < 1 || n > 240) {
            sv__api_error(res, SV_ERR_INVALID, "months", "months must be 1..240");
            goto out;
        }
        months = (int)n;
    }
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_rest_read(rest, "Organization", id, &rr);
    sv_rest_result_clear(&rr);
    if (e) {
        sv__api_error(res, e, NULL, "Organization/%s is not known", id);
        goto out;
    }
    json_t *list = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    e = sv_results_outreach(rest->db, sv__api_results_data(api), id, get(&p, "condition"), months,
                            sv_clock_now_ms(), sv_policy_filter(rest->access), &list, &out);
    if (e)
        sv__api_outcome(res, e, &out);
    else
        answer(res, JSON_TYPE, list);
    sv_outcome_clear(&out);
out:
    json_decref(p.body);
}

bool sv__api_results_operation(sv_api *api, sv_rest *rest, const sv_http_request *req,
                               sv_http_response *res, const char *type, const char *id,
                               const char *op)
{
    bool get_or_post = strcmp(req->method, "GET") == 0 || strcmp(req->method, "POST") == 0;
    if (strcmp(type, "Measure") == 0 && strcmp(op, "$evaluate-measure") == 0) {
        if (!get_or_post) {
            sv_http_response_header(res, "Allow", "GET, POST");
            sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here", req->method);
        } else {
            evaluate(api, rest, req, res, id);
        }
        return true;
    }
    if (strcmp(type, "Organization") == 0 && strcmp(op, "$outreach") == 0) {
        if (strcmp(req->method, "GET") != 0) {
            sv_http_response_header(res, "Allow", "GET");
            sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here", req->method);
        } else {
            outreach(api, rest, req, res, id);
        }
        return true;
    }
    return false;
}

void sv__api_resource_use(sv_api *api, sv_rest *rest, const sv_http_request *req,
                          sv_http_response *res)
{
    res->route = "GET /fhir/$resource-use";
    static const char *const allowed[] = {"periodStart",  "periodEnd", "baselineStart",
                                          "baselineEnd",  "country",   "municipality",
                                          "organization", "region",    NULL};
    params p;
    if (strcmp(req->method, "GET") != 0) {
        sv_http_response_header(res, "Allow", "GET");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here", req->method);
        return;
    }
    if (!may_see_aggregates(res, rest) || !read_params(api, req, res, allowed, &p))
        return;
    sv_results_filter f;
    int64_t bs, be;
    if (!common_filter(res, &p, &f) || !period(res, &p, "baselineStart", "baselineEnd", &bs, &be))
        goto out;
    f.min_cell = sv__api_config(api)->min_cell;
    json_t *report = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    const char *country = get(&p, "country");
    sv_err e = sv_results_resource_use(rest->db, sv__api_results_data(api), &f, bs, be,
                                       country ? country : "dk", &report, &out);
    if (e)
        sv__api_outcome(res, e, &out);
    else
        answer(res, JSON_TYPE, report);
    sv_outcome_clear(&out);
out:
    json_decref(p.body);
}
