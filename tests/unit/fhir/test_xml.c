/*
 * test_xml.c - FHIR XML to JSON (fhir/xml.c): two MedCom messages written as XML
 * convert to exactly the JSON of the same message (tests/data/medcom/..._xml_twin.json:
 * arrays by the model, primitives typed, _name siblings with aligned nulls, the
 * xhtml div as text, resources inside Bundle.entry.resource); and refusals with
 * the path: unknown elements, a repeated single element, text content, values
 * of the wrong type, a document type declaration (XXE), malformed XML.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fhir/xml.h"

#define DATA SV_SOURCE_DIR "/tests/data/medcom/"

static char *slurp(const char *path, size_t *ret_len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *ret_len = (size_t)n;
    return buf;
}

static void twin(const char *xml_name, const char *json_name)
{
    size_t len;
    char *xml = slurp(xml_name, &len);
    json_t *got = NULL;
    sv_outcome o = SV_OUTCOME_INIT;
    sv_err e = sv_fhir_xml_to_json(xml, len, &got, &o);
    if (e)
        fail_msg("%s: %s at %s", xml_name, o.len ? o.issues[0].diagnostics : "?",
                 o.len && o.issues[0].expression ? o.issues[0].expression : "-");
    json_t *want = json_load_file(json_name, 0, NULL);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *a = json_dumps(got, JSON_COMPACT), *b = json_dumps(want, JSON_COMPACT);
        fprintf(stderr, "got  %s\nwant %s\n", a, b);
        free(a);
        free(b);
        fail_msg("%s does not convert to %s", xml_name, json_name);
    }
    json_decref(got);
    json_decref(want);
    sv_outcome_clear(&o);
    free(xml);
}

static void test_hospital_notification_twin(void **state)
{
    (void)state;
    twin(DATA "a1_stin.xml", DATA "a1_stin_xml_twin.json");
}

static void test_care_communication_twin(void **state)
{
    (void)state;
    twin(DATA "t1_cc_new.xml", DATA "t1_cc_new_xml_twin.json");
}

/* Converts text; expects failure with an issue whose expression is want_path
 * (NULL: none) and whose diagnostics contain want_text. */
static void refused(const char *text, const char *want_path, const char *want_text)
{
    json_t *got = NULL;
    sv_outcome o = SV_OUTCOME_INIT;
    sv_err e = sv_fhir_xml_to_json(text, strlen(text), &got, &o);
    assert_int_not_equal(e, SV_OK);
    assert_null(got);
    assert_true(o.len >= 1);
    if (want_path) {
        assert_non_null(o.issues[0].expression);
        assert_string_equal(o.issues[0].expression, want_path);
    }
    if (!strstr(o.issues[0].diagnostics, want_text))
        fail_msg("diagnostics '%s' lack '%s'", o.issues[0].diagnostics, want_text);
    sv_outcome_clear(&o);
}

#define NS " xmlns=\"http://hl7.org/fhir\""

static void test_refusals_name_the_element(void **state)
{
    (void)state;
    refused("<Patient" NS "><colour value=\"blue\"/></Patient>", "Patient.colour",
            "unknown element 'colour'");
    refused("<Patient" NS "><name><family value=\"A\"/><family value=\"B\"/></name></Patient>",
            "Patient.name[0].family", "does not repeat");
    refused("<Patient" NS "><active value=\"yes\"/></Patient>", "Patient.active", "not a boolean");
    refused("<Patient" NS "><name><given>Anna</given></name></Patient>", "Patient.name[0].given[0]",
            "text is not allowed");
    refused("<Patient" NS "><gender/></Patient>", "Patient.gender", "needs a value");
    refused("<Patient><active value=\"true\"/></Patient>", "Patient", "not a FHIR resource");
    refused("<Thing" NS "/>", "Thing", "not a FHIR resource");
    refused("<Patient" NS "><active value=\"true\"></Patient>", NULL, "malformed xml");
    refused("<?xml version=\"1.0\"?><!DOCTYPE Patient [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
            "<Patient" NS "><gender value=\"&x;\"/></Patient>",
            NULL, "external entity");
    refused("<?xml version=\"1.0\"?><!DOCTYPE Patient [<!ENTITY x \"male\">]>"
            "<Patient" NS "><gender value=\"male\"/></Patient>",
            NULL, "document type declaration");
}

static void test_primitive_arrays_align(void **state)
{
    (void)state;
    const char *xml =
        "<Patient" NS "><id value=\"p1\"/><active value=\"true\"/>"
        "<name><given id=\"a\"/><given value=\"B\"/></name>"
        "<multipleBirthInteger value=\"2\"/>"
        "<contained><Organization><id value=\"o1\"/><name value=\"X\"/></Organization></contained>"
        "<text><status value=\"generated\"/><div xmlns=\"http://www.w3.org/1999/xhtml\">hi</div>"
        "</text></Patient>";
    json_t *got = NULL;
    sv_outcome o = SV_OUTCOME_INIT;
    assert_int_equal(sv_fhir_xml_to_json(xml, strlen(xml), &got, &o), SV_OK);
    json_t *want = json_loads(
        "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"active\":true,"
        "\"name\":[{\"given\":[null,\"B\"],\"_given\":[{\"id\":\"a\"},null]}],"
        "\"multipleBirthInteger\":2,"
        "\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"X\"}],"
        "\"text\":{\"status\":\"generated\","
        "\"div\":\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">hi</div>\"}}",
        0, NULL);
    assert_non_null(want);
    if (!json_equal(got, want)) {
        char *a = json_dumps(got, JSON_COMPACT);
        fail_msg("got %s", a);
    }
    json_decref(got);
    json_decref(want);
    sv_outcome_clear(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hospital_notification_twin),
        cmocka_unit_test(test_care_communication_twin),
        cmocka_unit_test(test_refusals_name_the_element),
        cmocka_unit_test(test_primitive_arrays_align),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
