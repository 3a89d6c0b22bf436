/*
 * test_outcome.c - OperationOutcome issues as JSON: severity, code, expression
 * and diagnostics come through, also when the diagnostics echo bytes that are
 * not UTF-8 (jansson refuses such strings, so they were dropped before).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fhir/outcome.h"

static const json_t *issue_at(const json_t *oo, size_t i)
{
    assert_string_equal(json_string_value(json_object_get(oo, "resourceType")), "OperationOutcome");
    const json_t *issues = json_object_get(oo, "issue");
    assert_true(json_is_array(issues));
    assert_true(i < json_array_size(issues));
    return json_array_get(issues, i);
}

static void test_issue_fields(void **state)
{
    (void)state;
    sv_outcome o = SV_OUTCOME_INIT;
    sv_outcome_add(&o, SV_SEV_ERROR, "invalid", "Patient.birthDate", "'%s' is not a date", "x");
    assert_int_equal(o.errors, 1);
    json_t *oo = sv_outcome_to_json(&o);
    const json_t *is = issue_at(oo, 0);
    assert_string_equal(json_string_value(json_object_get(is, "severity")), "error");
    assert_string_equal(json_string_value(json_object_get(is, "code")), "invalid");
    assert_string_equal(json_string_value(json_object_get(is, "diagnostics")), "'x' is not a date");
    assert_string_equal(json_string_value(json_array_get(json_object_get(is, "expression"), 0)),
                        "Patient.birthDate");
    json_decref(oo);
    sv_outcome_clear(&o);
}

/* A diagnostic quoting a client's Latin-1 bytes keeps its text, with U+FFFD for
 * each bad byte, and so does an expression built from a bad element name. */
static void test_invalid_utf8_is_replaced_not_dropped(void **state)
{
    (void)state;
    sv_outcome o = SV_OUTCOME_INIT;
    sv_outcome_add(&o, SV_SEV_ERROR, "invalid", "Patient.f\xF8o", "'S\xF8ren' is not known");
    sv_outcome_add(&o, SV_SEV_WARNING, "processing", NULL, "cut \xE2\x82");
    json_t *oo = sv_outcome_to_json(&o);
    const json_t *is = issue_at(oo, 0);
    assert_string_equal(json_string_value(json_object_get(is, "diagnostics")),
                        "'S\xEF\xBF\xBDren' is not known");
    assert_string_equal(json_string_value(json_array_get(json_object_get(is, "expression"), 0)),
                        "Patient.f\xEF\xBF\xBDo");
    is = issue_at(oo, 1);
    assert_string_equal(json_string_value(json_object_get(is, "diagnostics")),
                        "cut \xEF\xBF\xBD\xEF\xBF\xBD");
    /* the whole outcome serialises */
    char *text = json_dumps(oo, JSON_COMPACT);
    assert_non_null(text);
    assert_non_null(strstr(text, "S\xEF\xBF\xBDren"));
    free(text);
    json_decref(oo);
    sv_outcome_clear(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_fields),
        cmocka_unit_test(test_invalid_utf8_is_replaced_not_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
