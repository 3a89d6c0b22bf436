/* error.c - the table from sv_err to text, HTTP status and issue code. */
#include "base/error.h"

static const struct {
    const char *text;
    int status;
    const char *issue;
} table[SV_ERR__COUNT] = {
    [SV_OK] = {"ok", 200, "informational"},
    [SV_ERR_NOMEM] = {"out of memory", 500, "exception"},
    [SV_ERR_INTERNAL] = {"internal error", 500, "exception"},
    [SV_ERR_IO] = {"storage failure", 500, "exception"},
    [SV_ERR_BUSY] = {"storage busy", 503, "transient"},
    [SV_ERR_PARSE] = {"malformed input", 400, "structure"},
    [SV_ERR_INVALID] = {"invalid request", 400, "invalid"},
    [SV_ERR_PROCESSING] = {"resource is not valid", 422, "processing"},
    [SV_ERR_NOT_FOUND] = {"not found", 404, "not-found"},
    [SV_ERR_GONE] = {"deleted", 410, "deleted"},
    [SV_ERR_CONFLICT] = {"conflict", 409, "conflict"},
    [SV_ERR_PRECONDITION] = {"precondition failed", 412, "conflict"},
    [SV_ERR_METHOD] = {"method not allowed", 405, "not-supported"},
    [SV_ERR_MEDIA_TYPE] = {"unsupported media type", 415, "not-supported"},
    [SV_ERR_TOO_LARGE] = {"payload too large", 413, "too-long"},
    [SV_ERR_TOO_DEEP] = {"nesting too deep", 400, "too-costly"},
    [SV_ERR_UNSUPPORTED] = {"not implemented", 501, "not-supported"},
    [SV_ERR_MULTIPLE] = {"multiple matches", 412, "multiple-matches"},
    [SV_ERR_FORBIDDEN] = {"forbidden", 403, "forbidden"},
    [SV_ERR_UNAUTHORIZED] = {"authentication required", 401, "login"},
    [SV_ERR_NOT_ACCEPTABLE] = {"not acceptable", 406, "not-supported"},
    [SV_ERR_TOO_MANY] = {"too many requests", 429, "throttled"},
};

static int valid(sv_err e)
{
    return (int)e >= 0 && e < SV_ERR__COUNT && table[e].text;
}

const char *sv_strerror(sv_err e)
{
    return valid(e) ? table[e].text : "unknown error";
}

int sv_err_http_status(sv_err e)
{
    return valid(e) ? table[e].status : 500;
}

const char *sv_err_issue_code(sv_err e)
{
    return valid(e) ? table[e].issue : "exception";
}
