/*
 * test_fhirpath.c - unit tests for fhir/fhirpath: every expression of the
 * generated search-parameter tables compiles (zero failures required for the
 * resource types samverka uses; the rest are listed), evaluation cases as data
 * (paths, unions, choice types, where/resolve/extension, booleans), compile
 * errors, and reference parsing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "fhir/fhirpath.h"
#include "fhir/model.h"
#include "fhir/searchparam.h"

/* ---- every generated expression compiles ---------------------------------------------- */

static const char *const required_types[] = {
    "Patient",
    "RelatedPerson",
    "Organization",
    "Practitioner",
    "PractitionerRole",
    "HealthcareService",
    "CareTeam",
    "CarePlan",
    "Goal",
    "Task",
    "Encounter",
    "EpisodeOfCare",
    "Condition",
    "Observation",
    "Communication",
    "CommunicationRequest",
    "Consent",
    "MedicationStatement",
    "MedicationRequest",
    "Medication",
    "Questionnaire",
    "QuestionnaireResponse",
    "Appointment",
    "ServiceRequest",
    "DocumentReference",
    "Binary",
    "PlanDefinition",
    "ActivityDefinition",
    "Provenance",
    "Flag",
    "AuditEvent",
    "MessageHeader",
    "Bundle",
    "Measure",
    "MeasureReport",
    "Subscription",
    "Resource", /* the common parameters: _id, _lastUpdated, _tag, _profile, _security, _source */
};

static bool is_required(const char *type)
{
    for (size_t i = 0; i < sizeof(required_types) / sizeof(required_types[0]); i++) {
        if (strcmp(required_types[i], type) == 0)
            return true;
    }
    return false;
}

static void test_compile_all(void **state)
{
    (void)state;
    size_t ntables;
    const sv_searchparam_table *tables = sv_searchparam_tables(&ntables);
    size_t total = 0, failed = 0, failed_required = 0;
    for (size_t t = 0; t < ntables; t++) {
        for (size_t i = 0; i < tables[t].len; i++) {
            const sv_searchparam *p = &tables[t].params[i];
            if (!p->expression)
                continue;
            total++;
            sv_buf err = SV_BUF_INIT;
            sv_fhirpath *e = NULL;
            int rc = sv_fhirpath_compile(p->expression, p->base, &e, &err);
            if (rc != SV_OK) {
                failed++;
                bool req = is_required(p->base);
                failed_required += req;
                printf("%s %s.%s (%s table): %s\n", req ? "FAIL" : "not compiled", p->base, p->code,
                       tables[t].name, err.ptr);
            } else {
                assert_non_null(e);
                assert_string_equal(sv_fhirpath_source(e), p->expression);
                /* and the registry compiled the same */
                if (p->type != SV_SEARCHPARAM_COMPOSITE)
                    assert_non_null(sv_searchparam_fhirpath(p));
            }
            sv_fhirpath_free(e);
            sv_buf_release(&err);
            /* Composite components compile relative to any type (dynamic). */
            for (size_t c = 0; c < p->components_len; c++) {
                sv_fhirpath *ce = NULL;
                sv_buf cerr = SV_BUF_INIT;
                if (sv_fhirpath_compile(p->components[c].expression, NULL, &ce, &cerr) != SV_OK) {
                    failed++;
                    printf("not compiled: component %zu of %s.%s: %s\n", c, p->base, p->code,
                           cerr.ptr);
                }
                sv_fhirpath_free(ce);
                sv_buf_release(&cerr);
            }
        }
    }
    printf("compiled %zu search parameter expressions: %zu failed (%zu for required types)\n",
           total, failed, failed_required);
    assert_true(total > 1500);
    assert_int_equal(failed_required, 0);
    assert_int_equal(failed, 0); /* today every R4 expression compiles; keep it so */
}

/* ---- evaluation ---------------------------------------------------------------------- */

static const char *const patient_json =
    "{\"resourceType\":\"Patient\",\"id\":\"p1\","
    "\"meta\":{\"lastUpdated\":\"2024-05-01T10:00:00Z\",\"tag\":[{\"system\":\"urn:t\","
    "\"code\":\"a\"}]},"
    "\"contained\":[{\"resourceType\":\"Organization\",\"id\":\"org1\",\"name\":\"Kommune\"}],"
    "\"extension\":[{\"url\":\"urn:ext:a\",\"valueString\":\"A\"},"
    "{\"url\":\"urn:ext:b\",\"valueCode\":\"B\"},{\"url\":\"urn:ext:a\",\"valueString\":\"A2\"}],"
    "\"identifier\":[{\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":\"0101701234\"}],"
    "\"name\":[{\"family\":\"Sørensen\",\"given\":[\"Åse\",\"Marie\"]},{\"text\":\"Åse S\"}],"
    "\"telecom\":[{\"system\":\"phone\",\"value\":\"+4512345678\"},"
    "{\"system\":\"email\",\"value\":\"ase@example.dk\"}],"
    "\"deceasedBoolean\":false,"
    "\"multipleBirthInteger\":2,"
    "\"generalPractitioner\":[{\"reference\":\"Practitioner/gp1\"},{\"reference\":\"#org1\"},"
    "{\"reference\":\"Organization/o2\"}],"
    "\"link\":[{\"other\":{\"reference\":\"RelatedPerson/r1\"},\"type\":\"seealso\"}],"
    "\"contact\":[{\"name\":{\"family\":\"Hansen\"},\"telecom\":[{\"value\":\"1\"}]}]}";

static const char *const observation_json =
    "{\"resourceType\":\"Observation\",\"status\":\"final\","
    "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\"}],"
    "\"text\":\"Weight\"},"
    "\"subject\":{\"reference\":\"Patient/p1\"},"
    "\"valueQuantity\":{\"value\":72.5,\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\","
    "\"code\":\"kg\"},"
    "\"component\":[{\"code\":{\"text\":\"a\"},\"valueQuantity\":{\"value\":1}},"
    "{\"code\":{\"text\":\"b\"},\"valueString\":\"x\"},"
    "{\"code\":{\"text\":\"c\"},\"valueCodeableConcept\":{\"text\":\"cc\"}}]}";

static const char *const bundle_json =
    "{\"resourceType\":\"Bundle\",\"type\":\"message\",\"entry\":["
    "{\"resource\":{\"resourceType\":\"MessageHeader\",\"id\":\"m1\","
    "\"eventCoding\":{\"code\":\"x\"}}},"
    "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p2\"}}]}";

typedef struct eval_case {
    const char *resource;
    const char *expression;
    const char *context; /* context type, or NULL */
    const char *want;    /* items as "type=json" joined by " ; " */
} eval_case;

static const eval_case eval_cases[] = {
    /* paths, arrays, primitive arrays */
    {patient_json, "Patient.name.family", NULL, "string=\"Sørensen\""},
    {patient_json, "Patient.name.given", NULL, "string=\"Åse\" ; string=\"Marie\""},
    {patient_json, "Patient.name", NULL,
     "HumanName={\"family\":\"Sørensen\",\"given\":[\"Åse\",\"Marie\"]} ; "
     "HumanName={\"text\":\"Åse S\"}"},
    {patient_json, "name.text", "Patient", "string=\"Åse S\""},
    {patient_json, "Patient.contact.name.family", NULL, "string=\"Hansen\""},
    {patient_json, "Patient.contact", NULL,
     "Patient.contact={\"name\":{\"family\":\"Hansen\"},\"telecom\":[{\"value\":\"1\"}]}"},
    {patient_json, "Patient.birthDate", NULL, ""},
    {patient_json, "Observation.status", NULL, ""}, /* type filter: not an Observation */
    /* inherited elements and Resource-wide expressions */
    {patient_json, "Resource.id", NULL, "string=\"p1\""}, /* R4: System.String as string */
    {patient_json, "Resource.meta.lastUpdated", NULL, "instant=\"2024-05-01T10:00:00Z\""},
    {patient_json, "Resource.meta.tag", NULL, "Coding={\"system\":\"urn:t\",\"code\":\"a\"}"},
    {patient_json, "Patient.id", NULL, "string=\"p1\""},
    {patient_json, "%resource.name[1].text", NULL, "string=\"Åse S\""},
    {patient_json, "Patient.name.where(%resource.id = 'p1').text", NULL, "string=\"Åse S\""},
    {observation_json, "Observation.component.value.ofType(String)", NULL, "string=\"x\""},
    /* unions and parentheses */
    {patient_json, "Patient.name.family | Patient.contact.name.family", NULL,
     "string=\"Sørensen\" ; string=\"Hansen\""},
    {patient_json, "(Patient.name | Patient.name).family", NULL, "string=\"Sørensen\""},
    /* indexes, first(), last() */
    {patient_json, "Patient.name[1].text", NULL, "string=\"Åse S\""},
    {patient_json, "Patient.name[5]", NULL, ""},
    {patient_json, "Patient.name.given.first()", NULL, "string=\"Åse\""},
    {patient_json, "Patient.name.given.last()", NULL, "string=\"Marie\""},
    /* where(system='...') */
    {patient_json, "Patient.telecom.where(system='email')", NULL,
     "ContactPoint={\"system\":\"email\",\"value\":\"ase@example.dk\"}"},
    {patient_json, "Patient.telecom.where(system='fax')", NULL, ""},
    {patient_json, "Patient.telecom.where(system = 'phone').value", NULL, "string=\"+4512345678\""},
    /* choice types: ofType, as, .as(), is */
    {patient_json, "Patient.deceased", NULL, "boolean=false"},
    {patient_json, "Patient.deceased.ofType(dateTime)", NULL, ""},
    {patient_json, "(Patient.multipleBirth as integer)", NULL, "integer=2"},
    {patient_json, "Patient.multipleBirth.as(integer)", NULL, "integer=2"},
    {patient_json, "Patient.multipleBirth is integer", NULL, "boolean=true"},
    {patient_json, "Patient.multipleBirth.is(boolean)", NULL, "boolean=false"},
    {observation_json, "(Observation.value as Quantity)", NULL,
     "Quantity={\"value\":72.5,\"unit\":\"kg\",\"system\":\"http://unitsofmeasure.org\","
     "\"code\":\"kg\"}"},
    {observation_json, "Observation.value.ofType(FHIR.Quantity).value", NULL, "decimal=72.5"},
    {observation_json, "Observation.value.ofType(string)", NULL, ""},
    {observation_json, "Observation.component.value.ofType(Quantity)", NULL,
     "Quantity={\"value\":1}"},
    {observation_json, "Observation.component.value", NULL,
     "Quantity={\"value\":1} ; string=\"x\" ; CodeableConcept={\"text\":\"cc\"}"},
    {observation_json, "(Observation.component.value.ofType(CodeableConcept)).text", NULL,
     "string=\"cc\""},
    {observation_json, "Observation.code.coding.code", NULL, "code=\"29463-7\""},
    {observation_json, "Observation.valueQuantity.unit", NULL, "string=\"kg\""},
    {observation_json, "Observation.component.valueString", NULL, "string=\"x\""},
    /* exists(), empty(), not(), and, !=, = */
    {patient_json, "Patient.deceased.exists() and Patient.deceased != false", NULL,
     "boolean=false"},
    {"{\"resourceType\":\"Patient\",\"deceasedDateTime\":\"2020-01-01\"}",
     "Patient.deceased.exists() and Patient.deceased != false", NULL, "boolean=true"},
    {"{\"resourceType\":\"Patient\",\"deceasedBoolean\":true}",
     "Patient.deceased.exists() and Patient.deceased != false", NULL, "boolean=true"},
    {"{\"resourceType\":\"Patient\"}", "Patient.deceased.exists() and Patient.deceased != false",
     NULL, "boolean=false"},
    {patient_json, "Patient.name.exists(family = 'Sørensen')", NULL, "boolean=true"},
    {patient_json, "Patient.birthDate.empty()", NULL, "boolean=true"},
    {patient_json, "Patient.deceased.not()", NULL, "boolean=true"},
    {patient_json, "Patient.multipleBirth = 2", NULL, "boolean=true"},
    {patient_json, "Patient.multipleBirth = 2.0", NULL, "boolean=true"},
    {patient_json, "Patient.birthDate = 2", NULL, ""},
    {patient_json, "Patient.deceased or true", NULL, "boolean=true"},
    {patient_json, "Patient.deceased xor true", NULL, "boolean=true"},
    /* resolve(): type of the target; contained resources for real */
    {patient_json, "Patient.generalPractitioner.where(resolve() is Practitioner)", NULL,
     "Reference={\"reference\":\"Practitioner/gp1\"}"},
    {patient_json, "Patient.generalPractitioner.where(resolve() is Organization)", NULL,
     "Reference={\"reference\":\"#org1\"} ; Reference={\"reference\":\"Organization/o2\"}"},
    {patient_json, "Patient.generalPractitioner.resolve().name", NULL, "string=\"Kommune\""},
    {patient_json, "Patient.generalPractitioner.resolve()", NULL,
     "Organization={\"resourceType\":\"Organization\",\"id\":\"org1\",\"name\":\"Kommune\"}"},
    {patient_json, "Patient.link.other.where(resolve() is RelatedPerson)", NULL,
     "Reference={\"reference\":\"RelatedPerson/r1\"}"},
    /* extension('url') */
    {patient_json, "Patient.extension('urn:ext:a').value", NULL, "string=\"A\" ; string=\"A2\""},
    {patient_json, "Patient.extension('urn:ext:b').value.ofType(code)", NULL, "code=\"B\""},
    {patient_json, "Patient.extension('urn:none')", NULL, ""},
    {patient_json, "Patient.extension.where(url = 'urn:ext:b').url", NULL, "uri=\"urn:ext:b\""},
    /* $this */
    {patient_json, "Patient.name.given.where($this = 'Marie')", NULL, "string=\"Marie\""},
    /* a resource inside a resource: typed by its resourceType */
    {bundle_json, "Bundle.entry[0].resource", NULL,
     "MessageHeader={\"resourceType\":\"MessageHeader\",\"id\":\"m1\",\"eventCoding\":"
     "{\"code\":\"x\"}}"},
    {bundle_json, "Bundle.entry.resource.id", NULL, "string=\"m1\" ; string=\"p2\""},
    {bundle_json, "Bundle.entry.resource.eventCoding.code", NULL, "code=\"x\""},
    {bundle_json, "Bundle.entry.resource.ofType(Patient).id", NULL, "string=\"p2\""},
    /* the samverka parameter */
    {"{\"resourceType\":\"Task\",\"restriction\":{\"period\":{\"end\":\"2024-06-01\"}}}",
     "Task.restriction.period.end", NULL, "dateTime=\"2024-06-01\""},
    /* literal escapes */
    {"{\"resourceType\":\"Patient\",\"gender\":\"o'k\"}", "Patient.gender = 'o\\'k'", NULL,
     "boolean=true"},
    /* malformed data is skipped, not fatal */
    {"{\"resourceType\":\"Patient\",\"name\":\"notanarray\",\"telecom\":[null,5]}",
     "Patient.name.family | Patient.telecom.value", NULL, ""},
};

static char *items_to_string(const sv_fhirpath_items *items)
{
    sv_buf b = SV_BUF_INIT;
    for (size_t i = 0; i < items->len; i++) {
        char *js =
            json_dumps(items->items[i].node, JSON_COMPACT | JSON_ENCODE_ANY | JSON_PRESERVE_ORDER);
        sv_buf_addf(&b, "%s%s=%s", i ? " ; " : "",
                    items->items[i].type ? items->items[i].type : "?", js ? js : "?");
        free(js);
    }
    return sv_buf_detach(&b, NULL);
}

static void test_eval_cases(void **state)
{
    (void)state;
    sv_fhirpath_items items = SV_FHIRPATH_ITEMS_INIT;
    for (size_t i = 0; i < sizeof(eval_cases) / sizeof(eval_cases[0]); i++) {
        const eval_case *c = &eval_cases[i];
        json_error_t jerr;
        json_t *res = json_loads(c->resource, 0, &jerr);
        if (!res)
            fail_msg("case %zu: bad JSON: %s", i, jerr.text);
        sv_fhirpath *e = NULL;
        sv_buf err = SV_BUF_INIT;
        if (sv_fhirpath_compile(c->expression, c->context, &e, &err) != SV_OK)
            fail_msg("case %zu: %s", i, err.ptr);
        items.len = 0;
        assert_int_equal(sv_fhirpath_eval(e, res, &items), SV_OK);
        char *got = items_to_string(&items);
        if (strcmp(got, c->want) != 0)
            fail_msg("case %zu: %s\n  got:  %s\n  want: %s", i, c->expression, got, c->want);
        free(got);
        sv_fhirpath_free(e);
        sv_buf_release(&err);
        json_decref(res);
    }
    sv_fhirpath_items_release(&items);
}

/* ---- compile errors ------------------------------------------------------------------ */

typedef struct error_case {
    const char *expression;
    const char *context;
    int err;
    const char *message; /* substring */
} error_case;

static const error_case error_cases[] = {
    {"Patient.nmae", NULL, SV_ERR_INVALID, "unknown element 'nmae' on 'Patient'"},
    {"Patient.name.famly", NULL, SV_ERR_INVALID, "unknown element 'famly' on 'HumanName'"},
    {"Patient.contact.nope", NULL, SV_ERR_INVALID, "on 'Patient.contact'"},
    {"nope", "Patient", SV_ERR_INVALID, "unknown element 'nope'"},
    {"Patient.name.frobnicate()", NULL, SV_ERR_INVALID, "unsupported function 'frobnicate'"},
    {"Observation.value.ofType(Quantiti)", NULL, SV_ERR_INVALID, "unknown type 'Quantiti'"},
    {"Patient.name.", NULL, SV_ERR_PARSE, "expected a name"},
    {"Patient.name.where(", NULL, SV_ERR_PARSE, "unexpected end"},
    {"(Patient.name", NULL, SV_ERR_PARSE, "expected ')'"},
    {"Patient.name)", NULL, SV_ERR_PARSE, "unexpected ')'"},
    {"Patient.gender = 'x", NULL, SV_ERR_PARSE, "unterminated string"},
    {"Patient.name + 1", NULL, SV_ERR_PARSE, "unexpected '+'"},
    {"Patient.name[first]", NULL, SV_ERR_INVALID, "only integer indexes"},
    {"Patient.extension(1)", NULL, SV_ERR_PARSE, "needs a string url"},
    {"$index", NULL, SV_ERR_INVALID, "unsupported variable"},
    {"%context", NULL, SV_ERR_INVALID, "unsupported variable"},
    {"", NULL, SV_ERR_PARSE, "unexpected end"},
    {"Patient.name", "Nonsense", SV_ERR_INVALID, "unknown context type"},
    {"((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((x))))))))))))))))))))"
     "))))))))))))))))))))))))))))))))))))))))))))))",
     NULL, SV_ERR_TOO_DEEP, "nested deeper"},
};

static void test_compile_errors(void **state)
{
    (void)state;
    /* a very long expression is refused before it can exhaust the stack */
    sv_buf longexpr = SV_BUF_INIT;
    sv_buf_adds(&longexpr, "Patient.name");
    for (int i = 0; i < 300; i++)
        sv_buf_adds(&longexpr, " | Patient.name");
    sv_fhirpath *le = NULL;
    sv_buf lerr = SV_BUF_INIT;
    assert_int_equal(sv_fhirpath_compile(longexpr.ptr, NULL, &le, &lerr), SV_ERR_TOO_LARGE);
    assert_non_null(strstr(lerr.ptr, "longer than 512 tokens"));
    assert_null(le);
    sv_buf_release(&lerr);
    sv_buf_release(&longexpr);

    for (size_t i = 0; i < sizeof(error_cases) / sizeof(error_cases[0]); i++) {
        const error_case *c = &error_cases[i];
        sv_fhirpath *e = (sv_fhirpath *)(uintptr_t)1; /* must stay untouched */
        sv_buf err = SV_BUF_INIT;
        int rc = sv_fhirpath_compile(c->expression, c->context, &e, &err);
        if (rc != c->err || !strstr(err.ptr, c->message))
            fail_msg("'%s': rc %d, message \"%s\"; want %d, \"%s\"", c->expression, rc, err.ptr,
                     c->err, c->message);
        assert_ptr_equal(e, (sv_fhirpath *)(uintptr_t)1);
        sv_buf_release(&err);
        /* reterr is optional */
        assert_int_equal(sv_fhirpath_compile(c->expression, c->context, &e, NULL), c->err);
    }
}

/* ---- references ---------------------------------------------------------------------- */

typedef struct ref_case {
    const char *ref;
    const char *type; /* NULL: none */
    const char *id;
    const char *target;
    bool absolute, contained;
} ref_case;

static const ref_case ref_cases[] = {
    {"Patient/123", "Patient", "123", "Patient/123", false, false},
    {"Patient/123/_history/4", "Patient", "123", "Patient/123", false, false},
    {"https://fhir.example.dk/r4/Patient/a-b.c", "Patient", "a-b.c",
     "https://fhir.example.dk/r4/Patient/a-b.c", true, false},
    {"https://x/fhir/Patient/1/_history/2", "Patient", "1", "https://x/fhir/Patient/1", true,
     false},
    {"urn:uuid:2b0e8b8a-2d5f-4a9a-9b8e-1f1f1f1f1f1f", NULL, "",
     "urn:uuid:2b0e8b8a-2d5f-4a9a-9b8e-1f1f1f1f1f1f", true, false},
    {"#org1", NULL, "org1", "#org1", false, true},
    {"Nonsense/1", NULL, "", "Nonsense/1", false, false},
    {"Patient/", NULL, "", "Patient/", false, false},
    {"123", NULL, "", "123", false, false},
    {"Patient/a b", NULL, "", "Patient/a b", false, false},
    {"http://hl7.org/fhir/ValueSet/example|4.0.1", NULL, "",
     "http://hl7.org/fhir/ValueSet/example|4.0.1", true, false},
};

static void test_reference_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ref_cases) / sizeof(ref_cases[0]); i++) {
        const ref_case *c = &ref_cases[i];
        sv_fhir_reference r;
        sv_fhir_reference_parse(c->ref, &r);
        if (c->type)
            assert_string_equal(r.type, c->type);
        else if (r.type)
            fail_msg("%s: type %s, want none", c->ref, r.type);
        assert_int_equal(r.id.len, strlen(c->id));
        assert_memory_equal(r.id.ptr ? r.id.ptr : "", c->id, r.id.len);
        assert_int_equal(r.target.len, strlen(c->target));
        assert_memory_equal(r.target.ptr, c->target, r.target.len);
        assert_int_equal(r.absolute, c->absolute);
        assert_int_equal(r.contained, c->contained);
    }
}

/* ---- model --------------------------------------------------------------------------- */

static void test_model(void **state)
{
    (void)state;
    assert_true(sv_fhir_type_is("Age", "Quantity"));
    assert_true(sv_fhir_type_is("SimpleQuantity", "Quantity"));
    assert_true(sv_fhir_type_is("Patient", "Resource"));
    assert_true(sv_fhir_type_is("Patient", "DomainResource"));
    assert_false(sv_fhir_type_is("Bundle", "DomainResource"));
    assert_false(sv_fhir_type_is("code", "string")); /* primitives match exactly */
    assert_false(sv_fhir_type_is("Quantity", "Age"));
    assert_true(sv_fhir_type_is("Patient.contact", "BackboneElement"));
    /* the model FHIRPath compiles against is fhir/model.h */
    const sv_model_element *e = sv_model_element_find_path("Patient.contact.extension",
                                                           strlen("Patient.contact.extension"));
    assert_non_null(e);
    assert_int_equal(e->ntypes, 1);
    assert_string_equal(sv_model_type_name(sv_model_element_type(e, 0)), "Extension");
    e = sv_model_element_find_path("Questionnaire.item.item", strlen("Questionnaire.item.item"));
    assert_non_null(e);
    assert_non_null(sv_model_backbone_of(e));
    assert_string_equal(sv_model_str(sv_model_backbone_of(e)->path), "Questionnaire.item");
    e = sv_model_element_find_path("Observation.value", strlen("Observation.value"));
    assert_non_null(e);
    assert_true(e->flags & SV_MODEL_EL_CHOICE);
    assert_true(e->ntypes > 1);
    assert_null(sv_model_backbone_of(e));
    assert_string_equal(sv_fhir_resource_type("Patientx", 7), "Patient");
    assert_null(sv_fhir_resource_type("Patien", 6));
    assert_null(sv_fhir_resource_type("Resource", 8)); /* abstract */
}

/* ---- limits -------------------------------------------------------------------------- */

static void test_too_many_items(void **state)
{
    (void)state;
    json_t *res = json_pack("{s:s}", "resourceType", "Patient");
    json_t *names = json_array();
    for (int i = 0; i < SV_FHIRPATH_MAX_ITEMS + 1; i++)
        json_array_append_new(names, json_pack("{s:s}", "text", "x"));
    json_object_set_new(res, "name", names);
    sv_fhirpath *e = NULL;
    assert_int_equal(sv_fhirpath_compile("Patient.name.text", NULL, &e, NULL), SV_OK);
    sv_fhirpath_items items = SV_FHIRPATH_ITEMS_INIT;
    assert_int_equal(sv_fhirpath_eval(e, res, &items), SV_ERR_TOO_LARGE);
    assert_int_equal(items.len, 0);
    sv_fhirpath_items_release(&items);
    sv_fhirpath_free(e);
    json_decref(res);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compile_all),    cmocka_unit_test(test_eval_cases),
        cmocka_unit_test(test_compile_errors), cmocka_unit_test(test_reference_parse),
        cmocka_unit_test(test_model),          cmocka_unit_test(test_too_many_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
