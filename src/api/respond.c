/* respond.c - FHIR responses: OperationOutcome errors, ETag, Location, Prefer. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "api/internal.h"
#include "base/datetime.h"

void sv__api_outcome(sv_http_response *res, sv_err e, const sv_outcome *o)
{
    res->status = sv_err_http_status(e);
    res->content_type = SV_FHIR_JSON;
    sv_buf_reset(&res->body);
    json_t *j = sv_outcome_to_json(o);
    sv_fhir_dump(j, &res->body);
    json_decref(j);
}

void sv__api_error(sv_http_response *res, sv_err e, const char *expression, const char *fmt, ...)
{
    sv_outcome o = SV_OUTCOME_INIT;
    sv_buf b = SV_BUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    sv_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    sv_outcome_add(&o, SV_SEV_ERROR, sv_err_issue_code(e), expression, "%s", b.ptr);
    sv_buf_release(&b);
    sv__api_outcome(res, e, &o);
    sv_outcome_clear(&o);
}

static void http_date(int64_t ms, char out[64])
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 64, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

typedef enum prefer_return { RETURN_REPRESENTATION, RETURN_MINIMAL, RETURN_OUTCOME } prefer_return;

static prefer_return prefer(const sv_http_request *req)
{
    const char *p = sv_http_header_get(req, "Prefer");
    if (!p)
        return RETURN_REPRESENTATION;
    if (strstr(p, "return=minimal"))
        return RETURN_MINIMAL;
    if (strstr(p, "return=OperationOutcome"))
        return RETURN_OUTCOME;
    return RETURN_REPRESENTATION;
}

void sv__api_result(sv_api *api, const sv_http_request *req, sv_http_response *res, sv_err e,
                    sv_rest_result *rr)
{
    if (e) {
        if (rr->outcome.len == 0)
            sv_outcome_add_err(&rr->outcome, e, NULL, NULL);
        sv__api_outcome(res, e, &rr->outcome);
        return;
    }
    res->status = rr->status;
    res->content_type = SV_FHIR_JSON;
    if (rr->version > 0) {
        char etag[40], date[64];
        snprintf(etag, sizeof(etag), "W/\"%lld\"", (long long)rr->version);
        sv_http_response_header(res, "ETag", etag);
        http_date(rr->last_updated, date);
        sv_http_response_header(res, "Last-Modified", date);
    }
    if (rr->created || (rr->version > 0 && strcmp(req->method, "GET") != 0 &&
                        strcmp(req->method, "DELETE") != 0)) {
        sv_buf loc = SV_BUF_INIT;
        sv_buf_addf(&loc, "%s/%s/%s/_history/%lld", sv__api_fhir_base(api), rr->type, rr->id,
                    (long long)rr->version);
        sv_http_response_header(res, rr->created ? "Location" : "Content-Location", loc.ptr);
        sv_buf_release(&loc);
    }
    if (rr->status == 204) {
        res->content_type = NULL;
        sv_buf_reset(&res->body);
        return;
    }
    /* Prefer: return= is about the one resource a create, update or patch
     * wrote (rr->version is set).  A POST that answers with a Bundle (a
     * transaction, a batch, a form _search) keeps its body: without it the
     * client would not learn the ids the transaction assigned. */
    bool write = strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0;
    prefer_return pr = write && rr->version > 0 ? prefer(req) : RETURN_REPRESENTATION;
    if (pr == RETURN_MINIMAL) {
        sv_buf_reset(&res->body);
        res->content_type = NULL;
        return;
    }
    if (pr == RETURN_OUTCOME) {
        sv_outcome o = SV_OUTCOME_INIT;
        sv_outcome_add(&o, SV_SEV_INFORMATION, "informational", NULL, "%s %s/%s version %lld",
                       rr->created ? "created" : "updated", rr->type, rr->id,
                       (long long)rr->version);
        json_t *j = sv_outcome_to_json(&o);
        sv_buf_reset(&res->body);
        sv_fhir_dump(j, &res->body);
        json_decref(j);
        sv_outcome_clear(&o);
        return;
    }
    /* Hand the body over without copying. */
    sv_buf tmp = res->body;
    res->body = rr->body;
    rr->body = tmp;
}
