/* outcome.c - see outcome.h. */
#include "fhir/outcome.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

static const char *severity_code[] = {
    [SV_SEV_FATAL] = "fatal",
    [SV_SEV_ERROR] = "error",
    [SV_SEV_WARNING] = "warning",
    [SV_SEV_INFORMATION] = "information",
};

void sv_outcome_init(sv_outcome *o)
{
    memset(o, 0, sizeof(*o));
}

void sv_outcome_clear(sv_outcome *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->len; i++) {
        free(o->issues[i].diagnostics);
        free(o->issues[i].expression);
    }
    free(o->issues);
    sv_outcome_init(o);
}

void sv_outcome_truncate(sv_outcome *o, size_t len)
{
    for (; o->len > len; o->len--) {
        sv_issue *is = &o->issues[o->len - 1];
        if (is->severity == SV_SEV_FATAL || is->severity == SV_SEV_ERROR)
            o->errors--;
        free(is->diagnostics);
        free(is->expression);
    }
}

/* Diagnostics often echo what the client sent; jansson refuses a string that is
 * not UTF-8 (json_string returns NULL), which would drop the issue's text. */
static char *valid_copy(const char *s)
{
    sv_buf b = SV_BUF_INIT;
    sv_text_utf8_sanitize(s, strlen(s), &b);
    return sv_buf_detach(&b, NULL);
}

void sv_outcome_add(sv_outcome *o, sv_severity sev, const char *code, const char *expression,
                    const char *fmt, ...)
{
    if (o->len == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4;
        sv_issue *p = realloc(o->issues, cap * sizeof(*p));
        if (!p)
            abort();
        o->issues = p;
        o->cap = cap;
    }
    sv_issue *is = &o->issues[o->len++];
    is->severity = sev;
    is->code = code;
    is->expression = expression ? valid_copy(expression) : NULL;
    is->diagnostics = NULL;
    if (fmt) {
        sv_buf b = SV_BUF_INIT;
        va_list ap;
        va_start(ap, fmt);
        sv_buf_vaddf(&b, fmt, ap);
        va_end(ap);
        is->diagnostics = valid_copy(b.ptr);
        sv_buf_release(&b);
    }
    if (sev == SV_SEV_FATAL || sev == SV_SEV_ERROR)
        o->errors++;
}

void sv_outcome_add_err(sv_outcome *o, sv_err e, const char *expression, const char *diagnostics)
{
    sv_outcome_add(o, SV_SEV_ERROR, sv_err_issue_code(e), expression, "%s",
                   diagnostics ? diagnostics : sv_strerror(e));
}

json_t *sv_outcome_to_json(const sv_outcome *o)
{
    json_t *issues = json_array();
    for (size_t i = 0; i < o->len; i++) {
        const sv_issue *is = &o->issues[i];
        json_t *j = json_object();
        json_object_set_new(j, "severity", json_string(severity_code[is->severity]));
        json_object_set_new(j, "code", json_string(is->code));
        if (is->diagnostics)
            json_object_set_new(j, "diagnostics", json_string(is->diagnostics));
        if (is->expression) {
            json_t *ex = json_array();
            json_array_append_new(ex, json_string(is->expression));
            json_object_set_new(j, "expression", ex);
        }
        json_array_append_new(issues, j);
    }
    if (o->len == 0) {
        json_t *j = json_object();
        json_object_set_new(j, "severity", json_string("information"));
        json_object_set_new(j, "code", json_string("informational"));
        json_object_set_new(j, "diagnostics", json_string("all ok"));
        json_array_append_new(issues, j);
    }
    json_t *out = json_object();
    json_object_set_new(out, "resourceType", json_string("OperationOutcome"));
    json_object_set_new(out, "issue", issues);
    return out;
}
