/*
 * test_validate.c - sv_fhir_validate on small resources, table-driven.
 *
 * Each case is a resource written with single quotes (turned into double
 * quotes before parsing) and the one error it must produce: its expression,
 * issue code and a piece of the diagnostics.  A NULL expression means the
 * resource must be valid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "fhir/model.h"
#include "fhir/validate.h"

typedef struct vcase {
    const char *json;       /* single quotes stand for double quotes */
    const char *expression; /* of the only error; NULL: valid */
    const char *code;       /* issue code of that error */
    const char *diag;       /* a substring of its diagnostics */
} vcase;

static json_t *parse(const char *text)
{
    char *s = strdup(text);
    assert_non_null(s);
    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    json_error_t err;
    json_t *j = json_loads(s, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("bad test json: %s in %s", err.text, s);
    free(s);
    return j;
}

static void print_issues(const sv_outcome *o)
{
    for (size_t i = 0; i < o->len; i++)
        printf("    issue: %s %s: %s\n", o->issues[i].code,
               o->issues[i].expression ? o->issues[i].expression : "(null)",
               o->issues[i].diagnostics);
}

static const sv_issue *first_error(const sv_outcome *o)
{
    for (size_t i = 0; i < o->len; i++)
        if (o->issues[i].severity <= SV_SEV_ERROR)
            return &o->issues[i];
    return NULL;
}

static void run_cases(const vcase *cases, size_t n)
{
    int failures = 0;
    for (size_t i = 0; i < n; i++) {
        const vcase *c = &cases[i];
        json_t *j = parse(c->json);
        sv_outcome o = SV_OUTCOME_INIT;
        int errors = sv_fhir_validate(j, &o);
        const sv_issue *is = first_error(&o);
        bool ok;
        if (!c->expression)
            ok = errors == 0;
        else
            ok = errors == 1 && is && is->expression &&
                 strcmp(is->expression, c->expression) == 0 &&
                 (!c->code || strcmp(is->code, c->code) == 0) &&
                 (!c->diag || (is->diagnostics && strstr(is->diagnostics, c->diag)));
        if (!ok) {
            failures++;
            printf("case %zu: %s\n  expected %s %s '%s', got %d errors\n", i, c->json,
                   c->code ? c->code : "", c->expression ? c->expression : "valid",
                   c->diag ? c->diag : "", errors);
            print_issues(&o);
        }
        sv_outcome_clear(&o);
        json_decref(j);
    }
    assert_int_equal(failures, 0);
}

#define VALID(json)                                                                                \
    {                                                                                              \
        json, NULL, NULL, NULL                                                                     \
    }
#define RUN(cases) run_cases(cases, sizeof(cases) / sizeof(cases[0]))

/* ---- resources that must be accepted ------------------------------------ */

static const vcase valid_cases[] = {
    VALID("{'resourceType':'Patient'}"),
    VALID("{'resourceType':'Patient','id':'pat-1.a','meta':{'versionId':'1','lastUpdated':"
          "'2024-01-02T03:04:05.678Z','profile':['http://x.org/StructureDefinition/p|1.0']},"
          "'active':true,'name':[{'use':'official','family':'Svensson','given':['Sven','Erik']}],"
          "'gender':'male','birthDate':'1980-02-29','deceasedBoolean':false,"
          "'multipleBirthInteger':2147483647,'telecom':[{'system':'phone','value':'+46 8 123'}]}"),
    /* extension-only primitive, and aligned nulls */
    VALID("{'resourceType':'Patient','_birthDate':{'extension':[{'url':'http://x.org/e',"
          "'valueCode':'unknown'}]}}"),
    VALID("{'resourceType':'Patient','name':[{'given':['A',null],'_given':[null,{'extension':"
          "[{'url':'http://x.org/e','valueString':'x'}]}]}]}"),
    VALID("{'resourceType':'Patient','name':[{'given':['A','B'],'_given':[{'id':'g1'},null]}]}"),
    VALID("{'resourceType':'Patient','_id':{'extension':[{'url':'http://x.org/e','valueBoolean':"
          "true}]},'id':'a'}"),
    /* dates and times */
    VALID("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
          "'effectiveDateTime':'2020'}"),
    VALID("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
          "'effectiveDateTime':'2020-02'}"),
    VALID(
        "{'resourceType':'Observation','status':'final','code':{'text':'x'},"
        "'effectiveDateTime':'2020-02-29T23:59:60.123+14:00','issued':'2020-01-01T00:00:00-03:30',"
        "'valueTime':'12:30:00.5'}"),
    /* decimals are any json number; integers */
    VALID("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
          "'valueQuantity':{'value':1,'unit':'kg'}}"),
    VALID("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
          "'valueQuantity':{'value':-1.5e3,'comparator':'<='}}"),
    VALID("{'resourceType':'MedicationRequest','status':'active','intent':'order',"
          "'medicationCodeableConcept':{'text':'x'},'subject':{'reference':'Patient/1'},"
          "'dispenseRequest':{'numberOfRepeatsAllowed':0},'dosageInstruction':[{'timing':"
          "{'repeat':{'frequency':1,'period':1,'periodUnit':'d'}}}]}"),
    /* references of every shape */
    VALID("{'resourceType':'Observation','status':'final','code':{'text':'x'},"
          "'subject':{'reference':'Patient/1/_history/2'},'performer':[{'reference':"
          "'http://x.org/fhir/Practitioner/9'},{'reference':'urn:uuid:"
          "0b2a3f4c-1d2e-4f5a-8b9c-0d1e2f3a4b5c'},{'reference':'urn:oid:1.2.752.1'},"
          "{'display':'no reference at all'}],'hasMember':[{'reference':'#obs2'}],"
          "'focus':[{'reference':'https://x.org/a/b'}]}"),
    VALID("{'resourceType':'Patient','contained':[{'resourceType':'Organization','id':'o1',"
          "'name':'Org'}],'managingOrganization':{'reference':'#o1'}}"),
    /* conditional references are fine inside a transaction */
    VALID(
        "{'resourceType':'Bundle','type':'transaction','entry':[{'fullUrl':"
        "'urn:uuid:0b2a3f4c-1d2e-4f5a-8b9c-0d1e2f3a4b5c','resource':{'resourceType':"
        "'Observation','status':'final','code':{'text':'x'},'subject':{'reference':"
        "'Patient?identifier=http://x.org|1'}},'request':{'method':'POST','url':'Observation'}}]}"),
    /* nested resources of any type */
    VALID(
        "{'resourceType':'Parameters','parameter':[{'name':'r','resource':{'resourceType':"
        "'Medication','code':{'text':'m'}}},{'name':'p','part':[{'name':'q','valueInteger':1}]}]}"),
    /* other primitives */
    VALID("{'resourceType':'Binary','contentType':'text/plain','data':'aGVs bG8='}"),
    VALID("{'resourceType':'Patient','extension':[{'url':'http://x.org/a','valueOid':"
          "'urn:oid:2.16.840.1.113883'},{'url':'http://x.org/b','valueUuid':"
          "'urn:uuid:0b2a3f4c-1d2e-4f5a-8b9c-0d1e2f3a4b5c'},{'url':'http://x.org/c','valueCode':"
          "'two words'},{'url':'http://x.org/d','valueMarkdown':'# x\\n\\n* y'},{'url':"
          "'http://x.org/e','valueInstant':'2020-01-01T00:00:00Z'},{'url':'http://x.org/f',"
          "'valueBase64Binary':'AAEC/w=='},{'url':'http://x.org/g','extension':[{'url':'h',"
          "'valueId':'x.y-z'}]}]}"),
    /* required binding on CodeableConcept */
    VALID("{'resourceType':'Condition','subject':{'reference':'Patient/1'},'clinicalStatus':"
          "{'coding':[{'system':'http://x.org/local','code':'a'},{'system':"
          "'http://terminology.hl7.org/CodeSystem/condition-clinical','code':'active'}]}}"),
    /* national identifiers */
    VALID("{'resourceType':'Patient','identifier':[{'system':'urn:oid:1.2.752.129.2.1.3.1',"
          "'value':'19121212-1212'},{'system':'urn:oid:1.2.752.129.2.1.3.3','value':"
          "'701063-2391'},{'system':'urn:oid:1.2.208.176.1.2','value':'010180-1234'},"
          "{'system':'http://x.org/other','value':'anything'}]}"),
    /* a string with a leading space is only a warning */
    VALID("{'resourceType':'Patient','name':[{'text':' Sven'}]}"),
};

static void test_valid(void **state)
{
    (void)state;
    RUN(valid_cases);
}

/* ---- one error each, at an exact path ------------------------------------ */

static const vcase structure_cases[] = {
    {"{'id':'x'}", "resourceType", "required", "missing resourceType"},
    {"{'resourceType':'Foo'}", "resourceType", "structure", "unknown resource type 'Foo'"},
    {"{'resourceType':'DomainResource'}", "resourceType", "structure", "unknown resource type"},
    {"{'resourceType':1}", "resourceType", "structure", "must be a string"},
    {"{'resourceType':'Patient','foo':1}", "Patient.foo", "structure", "unknown element 'foo'"},
    {"{'resourceType':'Patient','name':[{'family':'x'},{'foo':1}]}", "Patient.name[1].foo",
     "structure", "unknown element"},
    {"{'resourceType':'Patient','_foo':{}}", "Patient._foo", "structure", "unknown element"},
    {"{'resourceType':'Patient','_name':[{'id':'a'}]}", "Patient._name", "structure",
     "unknown element"},
    {"{'resourceType':'Patient','name':[{'_id':{'id':'x'},'text':'a'}]}", "Patient.name[0]._id",
     "structure", "unknown element"},
    {"{'resourceType':'Patient','text':{'status':'generated','div':'<div>x</div>','_div':{"
     "'id':'d'}}}",
     "Patient.text._div", "structure", "unknown element"},
    {"{'resourceType':'Patient','text':{'status':'generated'}}", "Patient.text.div", "required",
     "missing required element 'div'"},
    {"{'resourceType':'Patient','name':[{'resourceType':'HumanName'}]}",
     "Patient.name[0].resourceType", "structure", "unknown element"},
    /* json types */
    {"{'resourceType':'Patient','active':'true'}", "Patient.active", "structure",
     "expected true or false"},
    {"{'resourceType':'Patient','multipleBirthInteger':1.5}", "Patient.multipleBirthInteger",
     "structure", "expected a json integer"},
    {"{'resourceType':'Patient','multipleBirthInteger':'2'}", "Patient.multipleBirthInteger",
     "structure", "found a string"},
    {"{'resourceType':'Patient','multipleBirthInteger':2147483648}", "Patient.multipleBirthInteger",
     "invalid", "out of range"},
    {"{'resourceType':'Patient','multipleBirthInteger':-2147483649}",
     "Patient.multipleBirthInteger", "invalid", "out of range"},
    {"{'resourceType':'Observation','status':'final','code':{'text':'x'},"
     "'valueQuantity':{'value':'1.0'}}",
     "Observation.valueQuantity.value", "structure", "expected a json number"},
    {"{'resourceType':'Patient','birthDate':19800101}", "Patient.birthDate", "structure",
     "expected a json string"},
    {"{'resourceType':'Patient','name':'Sven'}", "Patient.name", "structure", "must be an array"},
    {"{'resourceType':'Patient','gender':['male']}", "Patient.gender", "structure", "not an array"},
    {"{'resourceType':'Patient','name':{'family':'x'}}", "Patient.name", "structure",
     "must be an array"},
    {"{'resourceType':'Patient','maritalStatus':'M'}", "Patient.maritalStatus", "structure",
     "expected an object (CodeableConcept)"},
    /* empties and nulls */
    {"{'resourceType':'Patient','name':[]}", "Patient.name", "structure", "empty arrays"},
    {"{'resourceType':'Patient','name':[{}]}", "Patient.name[0]", "invalid", "empty objects"},
    {"{'resourceType':'Patient','name':[{'family':''}]}", "Patient.name[0].family", "invalid",
     "empty strings"},
    {"{'resourceType':'Patient','name':[{'id':'n1'}]}", "Patient.name[0]", "invalid", "ele-1"},
    {"{'resourceType':'Patient','name':[null]}", "Patient.name[0]", "structure",
     "null is only allowed"},
    {"{'resourceType':'Patient','gender':null}", "Patient.gender", "structure", "null"},
    {"{'resourceType':'Patient','name':[{'given':['a',null]}]}", "Patient.name[0].given[1]",
     "structure", "null is only allowed"},
    {"{'resourceType':'Patient','name':[{'given':[null,'b'],'_given':[null,{'id':'x'}]}]}",
     "Patient.name[0].given[0]", "structure", "null is only allowed"},
    {"{'resourceType':'Patient','name':[{'_given':[null]}]}", "Patient.name[0].given[0]",
     "structure", "needs a value"},
    {"{'resourceType':'Patient','name':[{'given':['a'],'_given':[{'id':'x'},null]}]}",
     "Patient.name[0].given", "structure", "must align"},
    {"{'resourceType':'Patient','name':[{'given':['a'],'_given':{'id':'x'}}]}",
     "Patient.name[0].given", "structure", "must be an array"},
    {"{'resourceType':'Patient','_birthDate':'x'}", "Patient.birthDate", "structure",
     "must be an object"},
    {"{'resourceType':'Patient','_birthDate':{'id':'x'}}", "Patient.birthDate", "invalid", "ele-1"},
    {"{'resourceType':'Patient','_birthDate':{'extension':[{'url':'http://x.org/e'}],"
     "'foo':1}}",
     "Patient.birthDate.foo", "structure", "unknown element"},
    {"{'resourceType':'Patient','birthDate':'2000-01-01','_birthDate':{'extension':[{"
     "'valueString':'x'}]}}",
     "Patient.birthDate.extension[0].url", "required", "missing required element 'url'"},
    /* choice elements */
    {"{'resourceType':'Patient','deceasedString':'yes'}", "Patient.deceasedString", "structure",
     "deceased[x] allows deceasedBoolean, deceasedDateTime"},
    {"{'resourceType':'Patient','deceased':true}", "Patient.deceased", "structure",
     "deceased[x] allows"},
    {"{'resourceType':'Patient','deceasedBoolean':true,'deceasedDateTime':'2020'}",
     "Patient.deceasedDateTime", "structure", "'deceasedBoolean' is also present"},
    {"{'resourceType':'Patient','deceasedboolean':true}", "Patient.deceasedboolean", "structure",
     "unknown element"},
    /* required elements */
    {"{'resourceType':'Observation','code':{'text':'x'}}", "Observation.status", "required",
     "missing required element 'status'"},
    {"{'resourceType':'Observation','_status':{'extension':[{'url':'http://x.org/e',"
     "'valueString':'x'}]}}",
     "Observation.code", "required", "'code'"},
    {"{'resourceType':'MedicationRequest','status':'active','intent':'order','subject':"
     "{'reference':'Patient/1'}}",
     "MedicationRequest.medication[x]", "required", "medication[x]"},
    {"{'resourceType':'Patient','extension':[{'valueString':'x'}]}", "Patient.extension[0].url",
     "required", "url"},
    {"{'resourceType':'Questionnaire','status':'draft','item':[{'linkId':'1','type':'group',"
     "'item':[{'type':'string'}]}]}",
     "Questionnaire.item[0].item[0].linkId", "required", "linkId"},
    {"{'resourceType':'Parameters','parameter':[{'name':'a','part':[{'name':'b','part':[{"
     "'name':'c','valueString':''}]}]}]}",
     "Parameters.parameter[0].part[0].part[0].valueString", "invalid", "empty strings"},
    /* nested resources */
    {"{'resourceType':'Bundle','type':'collection','entry':[{'resource':{'resourceType':"
     "'Patient'}},{'resource':{'resourceType':'Patient'}},{'resource':{'resourceType':"
     "'Observation','status':'final','code':{'text':'x'},'subject':{'reference':"
     "'Patient 1'}}}]}",
     "Bundle.entry[2].resource.subject.reference", "invalid", "invalid reference"},
    {"{'resourceType':'Bundle','type':'collection','entry':[{'resource':{'resourceType':"
     "'Nope'}}]}",
     "Bundle.entry[0].resource.resourceType", "structure", "unknown resource type"},
    {"{'resourceType':'Bundle','type':'collection','entry':[{'resource':'Patient/1'}]}",
     "Bundle.entry[0].resource", "structure", "expected a resource"},
    {"{'resourceType':'Patient','contained':[{'resourceType':'Practitioner','name':[{"
     "'family':''}]}]}",
     "Patient.contained[0].name[0].family", "invalid", "empty"},
    {"{'resourceType':'Patient','contained':[{'resourceType':'Practitioner','meta':{"
     "'versionId':'2'}}]}",
     "Patient.contained[0].meta.versionId", "invalid", "dom-4"},
    {"{'resourceType':'Patient','contained':[{'resourceType':'Practitioner','contained':[{"
     "'resourceType':'Organization'}]}]}",
     "Patient.contained[0].contained", "invalid", "dom-2"},
    {"{'resourceType':'Parameters','parameter':[{'name':'r','resource':{'resourceType':"
     "'Patient','gender':'f'}}]}",
     "Parameters.parameter[0].resource.gender", "code-invalid",
     "not in the required value set http://hl7.org/fhir/ValueSet/administrative-gender "
     "(allowed: female, male, other, unknown)"},
    {"{'resourceType':'Bundle','type':'collection','entry':[{'resource':{'resourceType':"
     "'Observation','status':'final','code':{'text':'x'},'subject':{'reference':"
     "'Patient?identifier=1'}}}]}",
     "Bundle.entry[0].resource.subject.reference", "invalid", "invalid reference"},
};

static void test_structure(void **state)
{
    (void)state;
    RUN(structure_cases);
}

/* ---- primitive formats --------------------------------------------------- */

/* Patient with an extension whose value[x] is given; one error expected at
 * Patient.extension[0].value<Type> (or none if expression is NULL). */
#define EXT(type, value)                                                                           \
    "{'resourceType':'Patient','extension':[{'url':'http://x.org/e','value" type "':" value "}]}"
#define AT(type) "Patient.extension[0].value" type

static const vcase format_cases[] = {
    /* date */
    VALID(EXT("Date", "'2019-02-28'")),
    {EXT("Date", "'2019-02-29'"), AT("Date"), "invalid", "no such day"},
    {EXT("Date", "'2019-02-30'"), AT("Date"), "invalid", "no such day"},
    VALID(EXT("Date", "'2000-02-29'")),
    {EXT("Date", "'1900-02-29'"), AT("Date"), "invalid", "no such day"},
    {EXT("Date", "'2019-04-31'"), AT("Date"), "invalid", "no such day"},
    {EXT("Date", "'2019-13-01'"), AT("Date"), "invalid", "month must be 01-12"},
    {EXT("Date", "'2019-00'"), AT("Date"), "invalid", "month"},
    {EXT("Date", "'19-01-01'"), AT("Date"), "invalid", "four-digit year"},
    {EXT("Date", "'2019-1-1'"), AT("Date"), "invalid", "two-digit month"},
    {EXT("Date", "'0000'"), AT("Date"), "invalid", "0000"},
    {EXT("Date", "'2019-01-01T10:00:00Z'"), AT("Date"), "invalid", "a date has no time"},
    {EXT("Date", "'2019-01-01 '"), AT("Date"), "invalid", "unexpected characters"},
    /* dateTime */
    VALID(EXT("DateTime", "'2019-01-01T10:00:00Z'")),
    VALID(EXT("DateTime", "'2019-01-01T10:00:00.000001-14:00'")),
    {EXT("DateTime", "'2019-01-01T10:00'"), AT("DateTime"), "invalid", "hh:mm:ss"},
    {EXT("DateTime", "'2019-01-01T10:00:00'"), AT("DateTime"), "invalid", "time zone"},
    {EXT("DateTime", "'2019-01T10:00:00Z'"), AT("DateTime"), "invalid", "full date"},
    {EXT("DateTime", "'2019-01-01T24:00:00Z'"), AT("DateTime"), "invalid", "hour"},
    {EXT("DateTime", "'2019-01-01T10:60:00Z'"), AT("DateTime"), "invalid", "minutes"},
    {EXT("DateTime", "'2019-01-01T10:00:61Z'"), AT("DateTime"), "invalid", "seconds"},
    {EXT("DateTime", "'2019-01-01T10:00:00.Z'"), AT("DateTime"), "invalid", "decimal point"},
    {EXT("DateTime", "'2019-01-01T10:00:00+15:00'"), AT("DateTime"), "invalid", "out of range"},
    {EXT("DateTime", "'2019-01-01T10:00:00+14:30'"), AT("DateTime"), "invalid", "out of range"},
    {EXT("DateTime", "'2019-01-01T10:00:00+0100'"), AT("DateTime"), "invalid", "+hh:mm"},
    {EXT("DateTime", "'2019-01-01t10:00:00Z'"), AT("DateTime"), "invalid", "'T'"},
    /* instant and time */
    {EXT("Instant", "'2019-01-01'"), AT("Instant"), "invalid", "full date, time"},
    {EXT("Instant", "'2019-01-01T10:00:00'"), AT("Instant"), "invalid", "time zone"},
    VALID(EXT("Time", "'23:59:59'")),
    {EXT("Time", "'24:00:00'"), AT("Time"), "invalid", "hour"},
    {EXT("Time", "'10:00'"), AT("Time"), "invalid", "hh:mm:ss"},
    {EXT("Time", "'10:00:00Z'"), AT("Time"), "invalid", "after the time"},
    /* integers */
    VALID(EXT("Integer", "-2147483648")),
    {EXT("Integer", "2147483648"), AT("Integer"), "invalid", "out of range"},
    VALID(EXT("PositiveInt", "1")),
    {EXT("PositiveInt", "0"), AT("PositiveInt"), "invalid", "out of range (1 to 2147483647)"},
    VALID(EXT("UnsignedInt", "0")),
    {EXT("UnsignedInt", "-1"), AT("UnsignedInt"), "invalid", "out of range (0 to"},
    {EXT("UnsignedInt", "1.0"), AT("UnsignedInt"), "structure", "json integer"},
    {EXT("Decimal", "'1.5'"), AT("Decimal"), "structure", "json number"},
    {EXT("Boolean", "1"), AT("Boolean"), "structure", "true or false"},
    /* string-like */
    {EXT("String", "''"), AT("String"), "invalid", "empty"},
    {EXT("String", "'a\\u0001b'"), AT("String"), "invalid", "control character"},
    VALID(EXT("String", "'tab\\tand\\r\\nnewline'")),
    {EXT("Markdown", "'\\u0007'"), AT("Markdown"), "invalid", "control character"},
    {EXT("Code", "' a'"), AT("Code"), "invalid", "leading or trailing whitespace"},
    {EXT("Code", "'a '"), AT("Code"), "invalid", "leading or trailing whitespace"},
    {EXT("Code", "'a  b'"), AT("Code"), "invalid", "in a row"},
    VALID(EXT("Code", "'a\\nb'")),
    {EXT("Id", "'a_b'"), AT("Id"), "invalid", "1-64 characters"},
    VALID(EXT("Id", "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'")),
    {EXT("Id", "'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"), AT("Id"),
     "invalid", "1-64 characters"},
    {EXT("Uri", "'http://x.org/a b'"), AT("Uri"), "invalid", "whitespace"},
    {EXT("Uri", "'http://x.org/a\\tb'"), AT("Uri"), "invalid", "whitespace"},
    {EXT("Uri", "'http://x.org/a\\fb'"), AT("Uri"), "invalid", "control character"},
    {EXT("String", "'form\\ffeed'"), AT("String"), "invalid", "control character"},
    {EXT("Url", "''"), AT("Url"), "invalid", "empty"},
    VALID(EXT("Canonical", "'http://x.org/p|1.0'")),
    {EXT("Canonical", "'http://x.org/p |1.0'"), AT("Canonical"), "invalid", "whitespace"},
    VALID(EXT("Oid", "'urn:oid:1.2.3'")),
    {EXT("Oid", "'urn:oid:1.02'"), AT("Oid"), "invalid", "urn:oid:"},
    {EXT("Oid", "'urn:oid:3.1'"), AT("Oid"), "invalid", "urn:oid:"},
    {EXT("Oid", "'urn:oid:1'"), AT("Oid"), "invalid", "urn:oid:"},
    {EXT("Oid", "'1.2.3'"), AT("Oid"), "invalid", "urn:oid:"},
    {EXT("Uuid", "'urn:uuid:0B2A3F4C-1D2E-4F5A-8B9C-0D1E2F3A4B5C'"), AT("Uuid"), "invalid",
     "lowercase uuid"},
    {EXT("Uuid", "'urn:uuid:0b2a3f4c1d2e4f5a8b9c0d1e2f3a4b5c'"), AT("Uuid"), "invalid", "uuid"},
    VALID(EXT("Base64Binary", "'QUJD'")),
    {EXT("Base64Binary", "'QUJ'"), AT("Base64Binary"), "invalid", "multiple of 4"},
    {EXT("Base64Binary", "'QU=D'"), AT("Base64Binary"), "invalid", "after '=' padding"},
    {EXT("Base64Binary", "'Q==='"), AT("Base64Binary"), "invalid", "padding"},
    {EXT("Base64Binary", "'QU*D'"), AT("Base64Binary"), "invalid", "invalid base64 character"},
    {"{'resourceType':'Patient','text':{'status':'generated','div':'<p>x</p>'}}",
     "Patient.text.div", "invalid", "<div>"},
    {"{'resourceType':'Patient','id':'a b'}", "Patient.id", "invalid", "1-64 characters"},
};

static void test_formats(void **state)
{
    (void)state;
    RUN(format_cases);
}

/* ---- references, bindings, identifiers ---------------------------------- */

#define OBS_SUBJECT(ref)                                                                           \
    "{'resourceType':'Observation','status':'final','code':{'text':'x'},'subject':{'reference':"   \
    "'" ref "'}}"
#define SUBJECT_AT "Observation.subject.reference"

static const vcase reference_cases[] = {
    {OBS_SUBJECT("Patient"), SUBJECT_AT, "invalid", "expected Type/id"},
    {OBS_SUBJECT("Patient/"), SUBJECT_AT, "invalid", "the id after the type"},
    {OBS_SUBJECT("Foo/1"), SUBJECT_AT, "invalid", "unknown resource type"},
    {OBS_SUBJECT("patient/1"), SUBJECT_AT, "invalid", "unknown resource type"},
    {OBS_SUBJECT("Patient/a_b"), SUBJECT_AT, "invalid", "the id after the type"},
    {OBS_SUBJECT("Patient/1/_history"), SUBJECT_AT, "invalid", "/_history/version"},
    {OBS_SUBJECT("Patient/1/_history/"), SUBJECT_AT, "invalid", "version after /_history/"},
    {OBS_SUBJECT("Patient/1/foo/2"), SUBJECT_AT, "invalid", "/_history/version"},
    {OBS_SUBJECT("urn:uuid:ABC"), SUBJECT_AT, "invalid", "lowercase uuid"},
    {OBS_SUBJECT("urn:oid:1.x"), SUBJECT_AT, "invalid", "dotted oid"},
    {OBS_SUBJECT("ftp://x.org/Patient/1"), SUBJECT_AT, "invalid", "an http(s) url"},
    {OBS_SUBJECT("#a b"), SUBJECT_AT, "invalid", "contained resource"},
    {OBS_SUBJECT("http://x.org/a b"), SUBJECT_AT, "invalid", "whitespace"},
    VALID(OBS_SUBJECT("#p1")),
    VALID(OBS_SUBJECT("Group/1")),
    /* target types */
    {OBS_SUBJECT("Medication/1"), SUBJECT_AT, "invalid",
     "a reference to Medication is not allowed here; allowed: Device, Group, Location, Patient"},
    {OBS_SUBJECT("http://x.org/fhir/Medication/1/_history/3"), SUBJECT_AT, "invalid",
     "a reference to Medication is not allowed"},
    VALID(OBS_SUBJECT("http://x.org/fhir/Medication")),
    {"{'resourceType':'Patient','generalPractitioner':[{'reference':'Practitioner/1'},"
     "{'reference':'Patient/2'}]}",
     "Patient.generalPractitioner[1].reference", "invalid", "Patient is not allowed"},
    /* any type where the element allows any */
    VALID("{'resourceType':'Patient','extension':[{'url':'http://x.org/e','valueReference':"
          "{'reference':'Medication/1'}}]}"),
    /* required bindings */
    {"{'resourceType':'Patient','gender':'M'}", "Patient.gender", "code-invalid",
     "code 'M' is not in the required value set"},
    {"{'resourceType':'Patient','gender':'male '}", "Patient.gender", "invalid",
     "leading or trailing whitespace"},
    {"{'resourceType':'Patient','telecom':[{'system':'phone','use':'mobile'},{'system':"
     "'cell'}]}",
     "Patient.telecom[1].system", "code-invalid", "contact-point-system"},
    {"{'resourceType':'Condition','subject':{'reference':'Patient/1'},'clinicalStatus':"
     "{'coding':[{'system':'http://x.org/other','code':'active'}]}}",
     "Condition.clinicalStatus", "code-invalid", "no coding is from the required value set"},
    {"{'resourceType':'Condition','subject':{'reference':'Patient/1'},'clinicalStatus':"
     "{'text':'active'}}",
     "Condition.clinicalStatus", "code-invalid", "no coding"},
    {"{'resourceType':'Bundle','type':'searchset','entry':[{'search':{'mode':'match'}},"
     "{'search':{'mode':'maybe'}}]}",
     "Bundle.entry[1].search.mode", "code-invalid", "search-entry-mode"},
    {"{'resourceType':'Bundle','type':'collection','entry':[{'resource':{'resourceType':"
     "'Patient','contained':[{'resourceType':'Observation','status':'done','code':{'text':"
     "'x'}}]}}]}",
     "Bundle.entry[0].resource.contained[0].status", "code-invalid", "observation-status"},
    /* identifiers */
    {"{'resourceType':'Patient','identifier':[{'system':'http://x.org','value':'1'},"
     "{'system':'urn:oid:1.2.752.129.2.1.3.1','value':'19121212-1213'}]}",
     "Patient.identifier[1].value", "invalid",
     "not a valid swedish personnummer: check digit does not match"},
    {"{'resourceType':'Patient','identifier':[{'system':'urn:oid:1.2.752.129.2.1.3.3',"
     "'value':'121212-1212'}]}",
     "Patient.identifier[0].value", "invalid", "swedish samordningsnummer"},
    {"{'resourceType':'Patient','identifier':[{'system':'urn:oid:1.2.208.176.1.2',"
     "'value':'310280-1234'}]}",
     "Patient.identifier[0].value", "invalid", "danish cpr-nummer: no such date"},
    {"{'resourceType':'Observation','status':'final','code':{'text':'x'},'subject':{"
     "'identifier':{'system':'urn:oid:1.2.208.176.1.2','value':'x'}}}",
     "Observation.subject.identifier.value", "invalid", "danish cpr-nummer"},
};

static void test_references_bindings_identifiers(void **state)
{
    (void)state;
    RUN(reference_cases);
}

/* ---- limits, outcome shape, model lookups -------------------------------- */

static void test_issue_limit(void **state)
{
    (void)state;
    json_t *p = json_object();
    json_object_set_new(p, "resourceType", json_string("Patient"));
    for (int i = 0; i < 150; i++) {
        char key[32];
        snprintf(key, sizeof(key), "bad%d", i);
        json_object_set_new(p, key, json_true());
    }
    sv_outcome o = SV_OUTCOME_INIT;
    int errors = sv_fhir_validate(p, &o);
    assert_int_equal(o.len, SV_FHIR_VALIDATE_MAX_ISSUES + 1);
    assert_int_equal(errors, SV_FHIR_VALIDATE_MAX_ISSUES + 1);
    assert_string_equal(o.issues[0].expression, "Patient.bad0");
    assert_string_equal(o.issues[o.len - 1].code, "too-costly");
    sv_outcome_clear(&o);
    json_decref(p);
}

static void test_depth_limit(void **state)
{
    (void)state;
    /* Patient.extension[0].extension[0]... 200 levels deep */
    json_t *root = json_object();
    json_object_set_new(root, "resourceType", json_string("Patient"));
    json_t *parent = root;
    for (int i = 0; i < 200; i++) {
        json_t *ext = json_object();
        json_object_set_new(ext, "url", json_string("http://x.org/e"));
        json_t *arr = json_array();
        json_array_append_new(arr, ext);
        json_object_set_new(parent, "extension", arr);
        parent = ext;
    }
    json_object_set_new(parent, "valueString", json_string("deep"));
    sv_outcome o = SV_OUTCOME_INIT;
    int errors = sv_fhir_validate(root, &o);
    assert_int_equal(errors, 1);
    assert_string_equal(o.issues[0].code, "too-costly");
    sv_outcome_clear(&o);
    json_decref(root);
}

static void test_not_an_object(void **state)
{
    (void)state;
    json_t *a = json_array();
    sv_outcome o = SV_OUTCOME_INIT;
    assert_int_equal(sv_fhir_validate(a, &o), 1);
    assert_null(o.issues[0].expression);
    assert_int_equal(sv_fhir_validate(NULL, &o), 1);
    sv_outcome_clear(&o);
    json_decref(a);
}

static void test_long_unknown_key(void **state)
{
    (void)state;
    char key[201], expected[80];
    memset(key, 'k', 200);
    key[200] = '\0';
    snprintf(expected, sizeof(expected), "Patient.%.64s", key);
    json_t *p = json_object();
    json_object_set_new(p, "resourceType", json_string("Patient"));
    json_object_set_new(p, key, json_true());
    sv_outcome o = SV_OUTCOME_INIT;
    assert_int_equal(sv_fhir_validate(p, &o), 1);
    assert_string_equal(o.issues[0].expression, expected);
    assert_true(strlen(o.issues[0].diagnostics) < 100);
    sv_outcome_clear(&o);
    json_decref(p);
}

static void test_warning_is_not_an_error(void **state)
{
    (void)state;
    json_t *j = parse("{'resourceType':'Patient','name':[{'family':'Svensson '}]}");
    sv_outcome o = SV_OUTCOME_INIT;
    assert_int_equal(sv_fhir_validate(j, &o), 0);
    assert_int_equal(o.len, 1);
    assert_int_equal(o.issues[0].severity, SV_SEV_WARNING);
    assert_string_equal(o.issues[0].expression, "Patient.name[0].family");
    sv_outcome_clear(&o);
    json_decref(j);
}

static void test_several_errors_in_order(void **state)
{
    (void)state;
    json_t *j = parse("{'resourceType':'Observation','status':'nope','code':{'text':'x'},"
                      "'valueQuantity':{'value':'1'},'note':[{'text':''}],'foo':1}");
    sv_outcome o = SV_OUTCOME_INIT;
    assert_int_equal(sv_fhir_validate(j, &o), 4);
    assert_string_equal(o.issues[0].expression, "Observation.status");
    assert_string_equal(o.issues[1].expression, "Observation.valueQuantity.value");
    assert_string_equal(o.issues[2].expression, "Observation.note[0].text");
    assert_string_equal(o.issues[3].expression, "Observation.foo");
    json_t *oo = sv_outcome_to_json(&o);
    json_t *issue = json_array_get(json_object_get(oo, "issue"), 0);
    assert_string_equal(json_string_value(json_object_get(issue, "code")), "code-invalid");
    assert_string_equal(json_string_value(json_array_get(json_object_get(issue, "expression"), 0)),
                        "Observation.status");
    json_decref(oo);
    sv_outcome_clear(&o);
    json_decref(j);
}

static void test_model_lookups(void **state)
{
    (void)state;
    assert_true(sv_model_is_resource_type("Patient"));
    assert_true(sv_model_is_resource_type("Parameters"));
    assert_true(sv_model_is_resource_type("MedicinalProductUndesirableEffect"));
    assert_false(sv_model_is_resource_type("Resource"));
    assert_false(sv_model_is_resource_type("DomainResource"));
    assert_false(sv_model_is_resource_type("HumanName"));
    assert_false(sv_model_is_resource_type("SubscriptionStatus")); /* R4B, not R4 */
    assert_false(sv_model_is_resource_type("patient"));
    assert_false(sv_model_is_resource_type(NULL));

    size_t resources = 0;
    for (size_t i = 0; i < sv_model_type_count; i++)
        if (sv_model_types[i].kind == SV_MODEL_KIND_RESOURCE && !sv_model_types[i].abstract)
            resources++;
    assert_int_equal(resources, 146);

    const sv_model_type *t = sv_model_type_find("dateTime");
    assert_non_null(t);
    assert_int_equal(t->kind, SV_MODEL_KIND_PRIMITIVE);
    assert_int_equal(t->builtin, SV_MODEL_BUILTIN_DATETIME);

    t = sv_model_type_find("Patient");
    const sv_model_element *kids = &sv_model_elements[t->first];
    const sv_model_element *e = sv_model_element_find(kids, t->count, "deceased", 8);
    assert_non_null(e);
    assert_true(e->flags & SV_MODEL_EL_CHOICE);
    assert_int_equal(e->ntypes, 2);
    e = sv_model_element_find(kids, t->count, "contact", 7);
    assert_non_null(e);
    assert_true(e->flags & SV_MODEL_EL_ARRAY);
    const sv_model_element *first;
    size_t count;
    sv_model_element_children(e, &first, &count);
    assert_non_null(sv_model_element_find(first, count, "relationship", 12));
    assert_null(sv_model_element_find(kids, t->count, "nope", 4));

    /* Meta as in R4, without medplum's additions */
    t = sv_model_type_find("Meta");
    assert_null(sv_model_element_find(&sv_model_elements[t->first], t->count, "project", 7));

    t = sv_model_type_find("Patient");
    e = sv_model_element_find(&sv_model_elements[t->first], t->count, "gender", 6);
    assert_true(e->binding > 0);
    assert_string_equal(sv_model_valueset_url(e->binding - 1u),
                        "http://hl7.org/fhir/ValueSet/administrative-gender");
    assert_true(sv_model_valueset_contains(e->binding - 1u, NULL, "unknown"));
    assert_true(sv_model_valueset_contains(e->binding - 1u,
                                           "http://hl7.org/fhir/administrative-gender", "male"));
    assert_false(sv_model_valueset_contains(e->binding - 1u, "http://x.org", "male"));
    assert_false(sv_model_valueset_contains(e->binding - 1u, NULL, "Male"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_references_bindings_identifiers),
        cmocka_unit_test(test_issue_limit),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_not_an_object),
        cmocka_unit_test(test_long_unknown_key),
        cmocka_unit_test(test_warning_is_not_an_error),
        cmocka_unit_test(test_several_errors_in_order),
        cmocka_unit_test(test_model_lookups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
