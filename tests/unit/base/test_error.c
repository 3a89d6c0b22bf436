/*
 * test_error.c - unit tests for base/error: every code up to SV_ERR__COUNT has a
 * text, an HTTP status and an OperationOutcome issue code from the IssueType
 * value set; the statuses and issue codes are the ones error.h documents; codes
 * outside the enum answer safely.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <string.h>

#include "base/error.h"

/* http://hl7.org/fhir/R4/valueset-issue-type.html */
static const char *const issue_types[] = {
    "invalid",       "structure", "required",         "value",         "invariant",  "security",
    "login",         "unknown",   "expired",          "forbidden",     "suppressed", "processing",
    "not-supported", "duplicate", "multiple-matches", "not-found",     "deleted",    "too-long",
    "code-invalid",  "extension", "too-costly",       "business-rule", "conflict",   "transient",
    "lock-error",    "no-store",  "exception",        "timeout",       "incomplete", "throttled",
    "informational",
};

static bool is_issue_type(const char *code)
{
    for (size_t i = 0; i < sizeof(issue_types) / sizeof(issue_types[0]); i++)
        if (strcmp(code, issue_types[i]) == 0)
            return true;
    return false;
}

static void test_every_code_has_text_status_issue(void **state)
{
    (void)state;
    for (int e = 0; e < SV_ERR__COUNT; e++) {
        const char *text = sv_strerror((sv_err)e);
        assert_non_null(text);
        assert_true(strlen(text) > 0);
        if (strcmp(text, "unknown error") == 0)
            fail_msg("sv_err %d has no entry in error.c's table", e);
        int status = sv_err_http_status((sv_err)e);
        assert_in_range(status, e == SV_OK ? 200 : 400, e == SV_OK ? 299 : 599);
        const char *issue = sv_err_issue_code((sv_err)e);
        assert_non_null(issue);
        if (!is_issue_type(issue))
            fail_msg("sv_err %d: '%s' is not an IssueType code", e, issue);
        /* texts are distinct: a log line names one failure */
        for (int o = 0; o < e; o++)
            if (strcmp(text, sv_strerror((sv_err)o)) == 0)
                fail_msg("sv_err %d and %d share the text '%s'", o, e, text);
    }
}

/* What error.h promises, code by code (the comments next to each value). */
static const struct {
    sv_err e;
    int status;
    const char *issue;
} documented[] = {
    {SV_ERR_NOMEM, 500, "exception"},
    {SV_ERR_INTERNAL, 500, "exception"},
    {SV_ERR_IO, 500, "exception"},
    {SV_ERR_BUSY, 503, "transient"},
    {SV_ERR_PARSE, 400, "structure"},
    {SV_ERR_INVALID, 400, "invalid"},
    {SV_ERR_PROCESSING, 422, "processing"},
    {SV_ERR_NOT_FOUND, 404, "not-found"},
    {SV_ERR_GONE, 410, "deleted"},
    {SV_ERR_CONFLICT, 409, "conflict"},
    {SV_ERR_PRECONDITION, 412, "conflict"},
    {SV_ERR_METHOD, 405, "not-supported"},
    {SV_ERR_MEDIA_TYPE, 415, "not-supported"},
    {SV_ERR_TOO_LARGE, 413, "too-long"},
    {SV_ERR_TOO_DEEP, 400, "too-costly"},
    {SV_ERR_UNSUPPORTED, 501, "not-supported"},
    {SV_ERR_MULTIPLE, 412, "multiple-matches"},
    {SV_ERR_FORBIDDEN, 403, "forbidden"},
    {SV_ERR_UNAUTHORIZED, 401, "login"},
    {SV_ERR_NOT_ACCEPTABLE, 406, "not-supported"},
    {SV_ERR_TOO_MANY, 429, "throttled"},
};

static void test_documented_statuses_and_issues(void **state)
{
    (void)state;
    /* every error code is listed here: a new one must come with its documented mapping */
    assert_int_equal(sizeof(documented) / sizeof(documented[0]), SV_ERR__COUNT - 1);
    for (size_t i = 0; i < sizeof(documented) / sizeof(documented[0]); i++) {
        assert_int_equal(sv_err_http_status(documented[i].e), documented[i].status);
        assert_string_equal(sv_err_issue_code(documented[i].e), documented[i].issue);
    }
    assert_int_equal(sv_err_http_status(SV_OK), 200);
}

static void test_append_only_numbers(void **state)
{
    (void)state;
    /* stored and logged as numbers: never renumber */
    assert_int_equal(SV_OK, 0);
    assert_int_equal(SV_ERR_NOMEM, 1);
    assert_int_equal(SV_ERR_BUSY, 4);
    assert_int_equal(SV_ERR_NOT_FOUND, 8);
    assert_int_equal(SV_ERR_UNSUPPORTED, 16);
    assert_int_equal(SV_ERR_TOO_MANY, 21);
}

static void test_out_of_range_codes(void **state)
{
    (void)state;
    const sv_err bad[] = {SV_ERR__COUNT, (sv_err)(SV_ERR__COUNT + 100), (sv_err)-1};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_string_equal(sv_strerror(bad[i]), "unknown error");
        assert_int_equal(sv_err_http_status(bad[i]), 500);
        assert_string_equal(sv_err_issue_code(bad[i]), "exception");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_text_status_issue),
        cmocka_unit_test(test_documented_statuses_and_issues),
        cmocka_unit_test(test_append_only_numbers),
        cmocka_unit_test(test_out_of_range_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
