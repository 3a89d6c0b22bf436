/*
 * test_index.c - unit tests for fhir/index: the exact rows extracted from
 * realistic resources (a Danish and a Swedish patient, Task with owner and
 * deadline, Encounter, Observation with valueQuantity, CarePlan, Communication)
 * and the edge cases of each data type.  Cases are data: a resource and the
 * rows it must give, one per line, in extraction order (parameters by code).
 *
 * Row format: "<param> <kind> <system>|<value>|<exact>" with "-" for NULL;
 * date rows add " <low>..<high>" (instants, or -inf/+inf), number and quantity
 * rows add " =<number>".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/error.h"
#include "base/text.h"
#include "fhir/index.h"
#include "fhir/searchparam.h"

#define EXAMPLES_DIR SV_SOURCE_DIR "/node_modules/hl7.fhir.r4.examples"

typedef struct index_case {
    const char *name;
    const char *resource;
    const char *params; /* comma-separated codes to compare; NULL: all rows */
    const char *want;   /* rows, "\n"-terminated */
} index_case;

static const index_case cases[] = {
    {"patient_dk",
     "{\"resourceType\":\"Patient\",\"id\":\"p1\","
     "\"meta\":{\"lastUpdated\":\"2024-05-01T10:00:00.000Z\","
     "\"profile\":[\"http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-patient\"],"
     "\"tag\":[{\"system\":\"urn:samverka:tag\",\"code\":\"social\"}],"
     "\"security\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-Confidentiality\","
     "\"code\":\"R\",\"display\":\"restricted\"}],"
     "\"source\":\"urn:samverka:source:import\"},"
     "\"identifier\":[{\"system\":\"urn:oid:1.2.208.176.1.2\",\"value\":\"0101701234\","
     "\"type\":{\"text\":\"CPR\"}}],"
     "\"active\":true,"
     "\"name\":[{\"use\":\"official\",\"family\":\"Sørensen\",\"given\":[\"Åse\",\"Mærsk\"]}],"
     "\"telecom\":[{\"system\":\"phone\",\"value\":\"+45 12345678\"},"
     "{\"system\":\"email\",\"value\":\"ase@example.dk\"}],"
     "\"gender\":\"female\",\"birthDate\":\"1970-01-01\","
     "\"address\":[{\"line\":[\"Østergade 1\",\"2. th\"],\"city\":\"Århus\","
     "\"postalCode\":\"8000\",\"country\":\"DK\"}],"
     "\"generalPractitioner\":[{\"reference\":\"Practitioner/gp1\"}],"
     "\"managingOrganization\":{\"reference\":\"Organization/kommune-aarhus\"}}",
     NULL,
     "_profile uri -|http://medcomfhir.dk/ig/core/StructureDefinition/medcom-core-patient|-\n"
     "_security token http://terminology.hl7.org/CodeSystem/v3-Confidentiality|R|restricted\n"
     "_source uri -|urn:samverka:source:import|-\n"
     "_tag token urn:samverka:tag|social|-\n"
     "active token -|true|-\n"
     "address string -|ostergade 1|Østergade 1\n"
     "address string -|2. th|2. th\n"
     "address string -|arhus|Århus\n"
     "address string -|8000|8000\n"
     "address string -|dk|DK\n"
     "address-city string -|arhus|Århus\n"
     "address-country string -|dk|DK\n"
     "address-postalcode string -|8000|8000\n"
     "birthdate date - 1970-01-01T00:00:00.000Z..1970-01-01T23:59:59.999Z\n"
     "deceased token -|false|-\n"
     "email token -|ase@example.dk|-\n"
     "family string -|sorensen|Sørensen\n"
     "gender token -|female|-\n"
     "general-practitioner reference Practitioner|gp1|Practitioner/gp1\n"
     "given string -|ase|Åse\n"
     "given string -|maersk|Mærsk\n"
     "identifier token urn:oid:1.2.208.176.1.2|0101701234|-\n"
     "name string -|sorensen|Sørensen\n"
     "name string -|ase|Åse\n"
     "name string -|maersk|Mærsk\n"
     "organization reference Organization|kommune-aarhus|Organization/kommune-aarhus\n"
     "phone token -|+45 12345678|-\n"
     "phonetic string -|sorensen|Sørensen\n"
     "phonetic string -|ase|Åse\n"
     "phonetic string -|maersk|Mærsk\n"
     "telecom token -|+45 12345678|-\n"
     "telecom token -|ase@example.dk|-\n"},

    /* Swedish: personnummer, a repeated name deduplicated, deceased with a date. */
    {"patient_se",
     "{\"resourceType\":\"Patient\",\"id\":\"p2\","
     "\"identifier\":[{\"system\":\"urn:oid:1.2.752.129.2.1.3.1\",\"value\":\"194001019999\"}],"
     "\"name\":[{\"family\":\"Öberg\",\"given\":[\"Åsa\"],\"prefix\":[\"Fru\"]},"
     "{\"use\":\"old\",\"family\":\"Öberg\",\"given\":[\"Åsa\",\"Ängla\"],"
     "\"text\":\"Åsa Ängla Öberg\"}],"
     "\"deceasedDateTime\":\"2024-01-15T13:45:00+01:00\"}",
     "death-date,deceased,identifier,name",
     "death-date date - 2024-01-15T12:45:00.000Z..2024-01-15T12:45:00.999Z\n"
     "deceased token -|true|-\n"
     "identifier token urn:oid:1.2.752.129.2.1.3.1|194001019999|-\n"
     "name string -|oberg|Öberg\n"
     "name string -|asa|Åsa\n"
     "name string -|fru|Fru\n"
     "name string -|angla|Ängla\n"
     "name string -|asa angla oberg|Åsa Ängla Öberg\n"},

    {"task_owner_deadline",
     "{\"resourceType\":\"Task\",\"id\":\"t1\",\"status\":\"requested\",\"intent\":\"order\","
     "\"code\":{\"coding\":[{\"system\":\"urn:samverka:task\",\"code\":\"discharge-followup\","
     "\"display\":\"Opfølgning efter udskrivelse\"}]},"
     "\"for\":{\"reference\":\"Patient/p1\"},"
     "\"owner\":{\"reference\":\"Organization/kommune-aarhus\",\"display\":\"Aarhus Kommune\"},"
     "\"requester\":{\"reference\":\"PractitionerRole/pr1\"},"
     "\"authoredOn\":\"2024-05-01T10:00:00+02:00\","
     "\"restriction\":{\"period\":{\"end\":\"2024-05-03\"}},"
     "\"businessStatus\":{\"text\":\"Afventer\"},"
     "\"basedOn\":[{\"reference\":\"CarePlan/cp1\"}],"
     "\"focus\":{\"reference\":\"ServiceRequest/sr1\"},"
     "\"executionPeriod\":{\"start\":\"2024-05-01T10:00:00Z\"}}",
     NULL,
     "authored-on date - 2024-05-01T08:00:00.000Z..2024-05-01T08:00:00.999Z\n"
     "based-on reference CarePlan|cp1|CarePlan/cp1\n"
     "business-status token -|-|Afventer\n"
     "code token urn:samverka:task|discharge-followup|Opfølgning efter udskrivelse\n"
     "deadline date - 2024-05-03T00:00:00.000Z..2024-05-03T23:59:59.999Z\n"
     "focus reference ServiceRequest|sr1|ServiceRequest/sr1\n"
     "intent token -|order|-\n"
     "owner reference Organization|kommune-aarhus|Organization/kommune-aarhus\n"
     "patient reference Patient|p1|Patient/p1\n"
     "period date - 2024-05-01T10:00:00.000Z..+inf\n"
     "requester reference PractitionerRole|pr1|PractitionerRole/pr1\n"
     "status token -|requested|-\n"
     "subject reference Patient|p1|Patient/p1\n"},

    {"encounter_period",
     "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"in-progress\","
     "\"class\":{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\","
     "\"code\":\"IMP\",\"display\":\"inpatient encounter\"},"
     "\"subject\":{\"reference\":\"Patient/p1\"},"
     "\"period\":{\"start\":\"2024-05-01T08:30:00+02:00\"},"
     "\"serviceProvider\":{\"reference\":\"Organization/rh\"},"
     "\"participant\":[{\"individual\":{\"reference\":\"Practitioner/d1\"}}],"
     "\"episodeOfCare\":[{\"reference\":\"EpisodeOfCare/eoc1\"}],"
     "\"length\":{\"value\":3,\"unit\":\"days\",\"system\":\"http://unitsofmeasure.org\","
     "\"code\":\"d\"}}",
     NULL,
     "class token http://terminology.hl7.org/CodeSystem/v3-ActCode|IMP|inpatient encounter\n"
     "date date - 2024-05-01T06:30:00.000Z..+inf\n"
     "episode-of-care reference EpisodeOfCare|eoc1|EpisodeOfCare/eoc1\n"
     "length quantity http://unitsofmeasure.org|d|days =3\n"
     "participant reference Practitioner|d1|Practitioner/d1\n"
     "patient reference Patient|p1|Patient/p1\n"
     "practitioner reference Practitioner|d1|Practitioner/d1\n"
     "service-provider reference Organization|rh|Organization/rh\n"
     "status token -|in-progress|-\n"
     "subject reference Patient|p1|Patient/p1\n"},

    {"observation_quantity",
     "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"status\":\"final\","
     "\"category\":[{\"coding\":[{\"system\":"
     "\"http://terminology.hl7.org/CodeSystem/observation-category\","
     "\"code\":\"vital-signs\"}]}],"
     "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"29463-7\","
     "\"display\":\"Body weight\"}],\"text\":\"Vægt\"},"
     "\"subject\":{\"reference\":\"Patient/p1\"},"
     "\"effectiveDateTime\":\"2024-05-02T07:15:00+02:00\","
     "\"valueQuantity\":{\"value\":72.5,\"unit\":\"kg\","
     "\"system\":\"http://unitsofmeasure.org\",\"code\":\"kg\"}}",
     NULL,
     "category token http://terminology.hl7.org/CodeSystem/observation-category|vital-signs|-\n"
     "code token http://loinc.org|29463-7|Body weight\n"
     "code token -|-|Vægt\n"
     "code-value-quantity composite http://loinc.org|29463-7 & http://unitsofmeasure.org|kg "
     "=72.5\n"
     "combo-code token http://loinc.org|29463-7|Body weight\n"
     "combo-code token -|-|Vægt\n"
     "combo-code-value-quantity composite http://loinc.org|29463-7 & "
     "http://unitsofmeasure.org|kg =72.5\n"
     "combo-value-quantity quantity http://unitsofmeasure.org|kg|kg =72.5\n"
     "date date - 2024-05-02T05:15:00.000Z..2024-05-02T05:15:00.999Z\n"
     "patient reference Patient|p1|Patient/p1\n"
     "status token -|final|-\n"
     "subject reference Patient|p1|Patient/p1\n"
     "value-quantity quantity http://unitsofmeasure.org|kg|kg =72.5\n"},

    {"careplan_subject_category",
     "{\"resourceType\":\"CarePlan\",\"id\":\"cp1\",\"status\":\"active\",\"intent\":\"plan\","
     "\"category\":[{\"coding\":[{\"system\":\"urn:samverka:careplan-category\","
     "\"code\":\"sip\",\"display\":\"Sammenhængende indsatsplan\"}]}],"
     "\"subject\":{\"reference\":\"Patient/p1\"},"
     "\"period\":{\"start\":\"2024-05-01\",\"end\":\"2024-12-31\"},"
     "\"careTeam\":[{\"reference\":\"CareTeam/ct1\"}],"
     "\"goal\":[{\"reference\":\"Goal/g1\"}],"
     "\"instantiatesCanonical\":[\"http://samverka.example/PlanDefinition/pd1|1.0\"],"
     "\"activity\":[{\"reference\":{\"reference\":\"Task/t1\"}},"
     "{\"detail\":{\"status\":\"scheduled\",\"code\":{\"text\":\"Hjemmebesøg\"},"
     "\"scheduledPeriod\":{\"start\":\"2024-05-10T09:00:00Z\",\"end\":\"2024-05-10T10:00:00Z\"},"
     "\"performer\":[{\"reference\":\"Practitioner/n1\"}]}}]}",
     NULL,
     "activity-code token -|-|Hjemmebesøg\n"
     "activity-date date - 2024-05-10T09:00:00.000Z..2024-05-10T10:00:00.999Z\n"
     "activity-reference reference Task|t1|Task/t1\n"
     "care-team reference CareTeam|ct1|CareTeam/ct1\n"
     "category token urn:samverka:careplan-category|sip|Sammenhængende indsatsplan\n"
     "date date - 2024-05-01T00:00:00.000Z..2024-12-31T23:59:59.999Z\n"
     "goal reference Goal|g1|Goal/g1\n"
     "instantiates-canonical reference -|http://samverka.example/PlanDefinition/pd1|"
     "http://samverka.example/PlanDefinition/pd1|1.0\n"
     "intent token -|plan|-\n"
     "pathway uri -|http://samverka.example/PlanDefinition/pd1|1.0|-\n"
     "patient reference Patient|p1|Patient/p1\n"
     "performer reference Practitioner|n1|Practitioner/n1\n"
     "status token -|active|-\n"
     "subject reference Patient|p1|Patient/p1\n"},

    /* absolute with _history, urn:uuid:, identifier-only (a token row, for :identifier) */
    {"communication_sender_recipient",
     "{\"resourceType\":\"Communication\",\"id\":\"c1\",\"status\":\"completed\","
     "\"category\":[{\"coding\":[{\"system\":"
     "\"http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-categoryCodes\","
     "\"code\":\"carecoordination\"}]}],"
     "\"subject\":{\"reference\":\"Patient/p1\"},"
     "\"sent\":\"2024-05-02T12:00:00Z\",\"received\":\"2024-05-02T12:00:05.250Z\","
     "\"sender\":{\"reference\":\"https://fhir.rh.dk/r4/Organization/rh/_history/3\"},"
     "\"recipient\":[{\"reference\":\"Organization/kommune-aarhus\"},"
     "{\"reference\":\"urn:uuid:9f1c1bb6-0bd2-4c3a-9d2b-0d9c6b3c3b8e\"},"
     "{\"identifier\":{\"value\":\"x\"}}],"
     "\"payload\":[{\"contentString\":\"Hej\"}],"
     "\"basedOn\":[{\"reference\":\"ServiceRequest/sr1\"}],"
     "\"encounter\":{\"reference\":\"Encounter/e1\"}}",
     NULL,
     "based-on reference ServiceRequest|sr1|ServiceRequest/sr1\n"
     "category token "
     "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-categoryCodes"
     "|carecoordination|-\n"
     "encounter reference Encounter|e1|Encounter/e1\n"
     "patient reference Patient|p1|Patient/p1\n"
     "received date - 2024-05-02T12:00:05.250Z..2024-05-02T12:00:05.250Z\n"
     "recipient reference Organization|kommune-aarhus|Organization/kommune-aarhus\n"
     "recipient reference -|urn:uuid:9f1c1bb6-0bd2-4c3a-9d2b-0d9c6b3c3b8e|"
     "urn:uuid:9f1c1bb6-0bd2-4c3a-9d2b-0d9c6b3c3b8e\n"
     "recipient token -|x|-\n"
     "sender reference Organization|https://fhir.rh.dk/r4/Organization/rh|"
     "https://fhir.rh.dk/r4/Organization/rh/_history/3\n"
     "sent date - 2024-05-02T12:00:00.000Z..2024-05-02T12:00:00.999Z\n"
     "status token -|completed|-\n"
     "subject reference Patient|p1|Patient/p1\n"},

    /* an Identifier's type codings paired with its value (token :of-type); a reference with
     * both a literal reference and an identifier */
    {"identifier_of_type",
     "{\"resourceType\":\"Patient\",\"id\":\"p2\","
     "\"identifier\":[{\"type\":{\"coding\":[{\"system\":"
     "\"http://terminology.hl7.org/CodeSystem/v2-0203\",\"code\":\"MR\"}],\"text\":\"MRN\"},"
     "\"system\":\"urn:x\",\"value\":\"123\"}],"
     "\"generalPractitioner\":[{\"reference\":\"Practitioner/gp\","
     "\"identifier\":{\"system\":\"urn:sor\",\"value\":\"9\"}}]}",
     "general-practitioner,identifier",
     "general-practitioner token urn:sor|9|-\n"
     "general-practitioner reference Practitioner|gp|Practitioner/gp\n"
     "identifier token urn:x|123|-\n"
     "identifier composite http://terminology.hl7.org/CodeSystem/v2-0203|MR & -|123\n"},

    /* a composite of a token and a date, per component (Observation.component) */
    {"observation_components",
     "{\"resourceType\":\"Observation\",\"id\":\"o2\",\"status\":\"final\","
     "\"code\":{\"text\":\"BP\"},"
     "\"component\":[{\"code\":{\"coding\":[{\"system\":\"http://loinc.org\","
     "\"code\":\"8480-6\"}]},\"valueQuantity\":{\"value\":120,\"code\":\"mm[Hg]\"}},"
     "{\"code\":{\"coding\":[{\"code\":\"x\"}]},\"valueCodeableConcept\":{\"coding\":"
     "[{\"system\":\"s\",\"code\":\"c\"}]}}]}",
     "component-code-value-quantity,component-code-value-concept,code-value-concept",
     "component-code-value-concept composite -|x & s|c\n"
     "component-code-value-quantity composite http://loinc.org|8480-6 & -|mm[Hg] =120\n"},

    /* ---- edge cases ---- */
    /* identical values in several places give one row; an invalid date gives none */
    {"dedup_and_invalid_date",
     "{\"resourceType\":\"Patient\",\"birthDate\":\"1970-02-30\","
     "\"identifier\":[{\"system\":\"s\",\"value\":\"1\"},{\"system\":\"s\",\"value\":\"1\"},"
     "{\"value\":\"1\"},{\"system\":\"s\"}],"
     "\"name\":[{\"given\":[\"Ole\",\"Ole\"]},{\"given\":[\"OLE\"]}]}",
     "birthdate,given,identifier",
     "given string -|ole|Ole\n"
     "given string -|ole|OLE\n"
     "identifier token s|1|-\n"
     "identifier token -|1|-\n"},
    /* Period open at the start; contained references are not indexed */
    {"period_open_start_contained_ref",
     "{\"resourceType\":\"EpisodeOfCare\",\"status\":\"finished\","
     "\"period\":{\"end\":\"2024-02\"},"
     "\"patient\":{\"reference\":\"#p\"},"
     "\"managingOrganization\":{\"reference\":\"Organization/o1/_history/7\"}}",
     "date,organization,patient",
     "date date - -inf..2024-02-29T23:59:59.999Z\n"
     "organization reference Organization|o1|Organization/o1/_history/7\n"},
    /* Timing.event, one per event */
    {"timing_events",
     "{\"resourceType\":\"ServiceRequest\",\"status\":\"active\",\"intent\":\"order\","
     "\"subject\":{\"reference\":\"Patient/p1\"},"
     "\"occurrenceTiming\":{\"event\":[\"2024-05-01T10:00:00Z\",\"2024-05-08\"]}}",
     "occurrence",
     "occurrence date - 2024-05-01T10:00:00.000Z..2024-05-01T10:00:00.999Z\n"
     "occurrence date - 2024-05-08T00:00:00.000Z..2024-05-08T23:59:59.999Z\n"},
    /* Money */
    {"money",
     "{\"resourceType\":\"Invoice\",\"status\":\"issued\","
     "\"totalNet\":{\"value\":1250.5,\"currency\":\"DKK\"}}",
     "totalnet", "totalnet quantity urn:iso:std:iso:4217|DKK|- =1250.5\n"},
    /* number */
    {"number",
     "{\"resourceType\":\"RiskAssessment\",\"status\":\"final\","
     "\"subject\":{\"reference\":\"Patient/p1\"},"
     "\"prediction\":[{\"probabilityDecimal\":0.25},{\"probabilityRange\":{\"low\":{\"value\":1}}}]"
     "}",
     "probability", "probability number -|-|- =0.25\n"},
    /* Coding-typed token (item.code, not nested items: R4 says Questionnaire.item.code), uri */
    {"questionnaire",
     "{\"resourceType\":\"Questionnaire\",\"status\":\"active\","
     "\"url\":\"http://samverka.example/Questionnaire/funktionsevne\","
     "\"item\":[{\"linkId\":\"1\",\"type\":\"group\",\"code\":[{\"system\":\"http://loinc.org\","
     "\"code\":\"1\",\"display\":\"One\"},{\"system\":\"http://loinc.org\",\"display\":\"No "
     "code\"}],"
     "\"item\":[{\"linkId\":\"1.1\",\"type\":\"string\",\"code\":[{\"code\":\"nested\"}]}]}],"
     "\"title\":\"Funktionsevne\"}",
     "code,status,title,url",
     "code token http://loinc.org|1|One\n"
     "code token http://loinc.org|-|No code\n"
     "status token -|active|-\n"
     "title string -|funktionsevne|Funktionsevne\n"
     "url uri -|http://samverka.example/Questionnaire/funktionsevne|-\n"},
    /* Malformed shapes are skipped, not fatal */
    {"malformed",
     "{\"resourceType\":\"Patient\",\"id\":5,\"name\":\"x\",\"telecom\":[null,3,{\"value\":7}],"
     "\"birthDate\":19700101,\"active\":\"yes\","
     "\"generalPractitioner\":[{\"reference\":7},{\"reference\":\"\"}]}",
     NULL,
     "active token -|yes|-\n"
     "deceased token -|false|-\n"},
};

static void format_ms(int64_t ms, char out[SV_INSTANT_LEN])
{
    if (ms == INT64_MIN)
        snprintf(out, SV_INSTANT_LEN, "-inf");
    else if (ms == INT64_MAX)
        snprintf(out, SV_INSTANT_LEN, "+inf");
    else
        sv_datetime_format_instant(ms, out);
}

static bool wanted(const char *params, const char *code)
{
    if (!params)
        return true;
    size_t len = strlen(code);
    for (const char *p = params; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        if (n == len && memcmp(p, code, n) == 0)
            return true;
        p += n + (comma ? 1 : 0);
    }
    return false;
}

static char *rows_to_string(const sv_index_rows *rows, const char *params)
{
    static const char *const kinds[] = {"string", "token",    "reference", "date",
                                        "number", "quantity", "uri",       "composite"};
    sv_buf b = SV_BUF_INIT;
    for (size_t i = 0; i < rows->len; i++) {
        const sv_index_row *r = &rows->rows[i];
        if (!wanted(params, r->param))
            continue;
        if (r->kind == SV_INDEX_DATE) {
            char low[SV_INSTANT_LEN], high[SV_INSTANT_LEN];
            format_ms(r->low, low);
            format_ms(r->high, high);
            sv_buf_addf(&b, "%s date %s %s..%s\n", r->param,
                        r->system || r->value || r->exact ? "UNEXPECTED" : "-", low, high);
            continue;
        }
        if (r->kind == SV_INDEX_COMPOSITE) {
            /* first component & second component (token, string, reference or unit;
             * number; date range when set) */
            sv_buf_addf(&b, "%s composite %s|%s & %s|%s", r->param, r->system ? r->system : "-",
                        r->value ? r->value : "-", r->system2 ? r->system2 : "-",
                        r->value2 ? r->value2 : "-");
            if (r->number != 0)
                sv_buf_addf(&b, " =%g", r->number);
            if (r->low || r->high) {
                char low[SV_INSTANT_LEN], high[SV_INSTANT_LEN];
                format_ms(r->low, low);
                format_ms(r->high, high);
                sv_buf_addf(&b, " %s..%s", low, high);
            }
            sv_buf_addc(&b, '\n');
            continue;
        }
        sv_buf_addf(&b, "%s %s %s|%s|%s", r->param, kinds[r->kind], r->system ? r->system : "-",
                    r->value ? r->value : "-", r->exact ? r->exact : "-");
        if (r->kind == SV_INDEX_NUMBER || r->kind == SV_INDEX_QUANTITY)
            sv_buf_addf(&b, " =%g", r->number);
        sv_buf_addc(&b, '\n');
    }
    return sv_buf_detach(&b, NULL);
}

static void test_cases(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const index_case *c = &cases[i];
        json_error_t jerr;
        json_t *res = json_loads(c->resource, JSON_REJECT_DUPLICATES, &jerr);
        if (!res)
            fail_msg("%s: bad JSON: %s", c->name, jerr.text);
        sv_index_rows rows = SV_INDEX_ROWS_INIT;
        assert_int_equal(sv_fhir_index_extract(res, &rows), SV_OK);
        char *got = rows_to_string(&rows, c->params);
        if (strcmp(got, c->want) != 0) {
            printf("%s:\n--- got\n%s--- want\n%s", c->name, got, c->want);
            failures++;
        }
        free(got);
        sv_index_rows_clear(&rows);
        json_decref(res);
    }
    assert_int_equal(failures, 0);
}

/* Not a resource, or an unknown type: an error, and rows already there stay as they were. */
static void test_invalid(void **state)
{
    (void)state;
    static const char *const docs[] = {
        "{\"resourceType\":\"Patiente\",\"id\":\"x\"}",
        "{\"id\":\"x\"}",
        "{\"resourceType\":7}",
        "[]",
        "\"Patient\"",
        "{\"resourceType\":\"Resource\"}",
    };
    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
        json_t *res = json_loads(docs[i], JSON_DECODE_ANY, NULL);
        assert_non_null(res);
        sv_index_rows rows = SV_INDEX_ROWS_INIT;
        sv_index_rows_add(&rows, SV_INDEX_TOKEN, "keep", NULL, "v", NULL);
        assert_int_equal(sv_fhir_index_extract(res, &rows), SV_ERR_INVALID);
        assert_int_equal(rows.len, 1);
        assert_string_equal(rows.rows[0].value, "v");
        sv_index_rows_clear(&rows);
        json_decref(res);
    }
}

/* Rows are appended after those already present, and the param strings are static. */
static void test_appends(void **state)
{
    (void)state;
    json_t *res = json_loads("{\"resourceType\":\"Binary\",\"id\":\"b1\","
                             "\"meta\":{\"profile\":[\"http://x\"]},"
                             "\"contentType\":\"application/pdf\"}",
                             0, NULL);
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    assert_int_equal(sv_fhir_index_extract(res, &rows), SV_OK);
    assert_int_equal(sv_fhir_index_extract(res, &rows), SV_OK);
    char *got = rows_to_string(&rows, NULL);
    assert_string_equal(got, "_profile uri -|http://x|-\n_profile uri -|http://x|-\n");
    free(got);
    const char *param = rows.rows[0].param;
    sv_index_rows_clear(&rows);
    json_decref(res);
    assert_string_equal(param, "_profile"); /* still valid after the rows and resource are gone */
}

/* Every row must agree with the parameter it names. */
static void check_rows(const char *file, const char *type, const sv_index_rows *rows)
{
    static const sv_index_kind kind_of[] = {
        [SV_SEARCHPARAM_NUMBER] = SV_INDEX_NUMBER,
        [SV_SEARCHPARAM_DATE] = SV_INDEX_DATE,
        [SV_SEARCHPARAM_STRING] = SV_INDEX_STRING,
        [SV_SEARCHPARAM_TOKEN] = SV_INDEX_TOKEN,
        [SV_SEARCHPARAM_REFERENCE] = SV_INDEX_REFERENCE,
        [SV_SEARCHPARAM_QUANTITY] = SV_INDEX_QUANTITY,
        [SV_SEARCHPARAM_URI] = SV_INDEX_URI,
    };
    sv_buf folded = SV_BUF_INIT;
    for (size_t i = 0; i < rows->len; i++) {
        const sv_index_row *r = &rows->rows[i];
        const sv_searchparam *p = sv_searchparam_find(type, r->param);
        if (!p || p->code != r->param)
            fail_msg("%s: row for '%s', not a parameter of %s", file, r->param, type);
        /* besides its own kind: Reference.identifier rows (token) of a reference parameter,
         * Identifier type + value pairs (composite) of a token parameter */
        bool other_ok = (p->type == SV_SEARCHPARAM_REFERENCE && r->kind == SV_INDEX_TOKEN) ||
                        (p->type == SV_SEARCHPARAM_TOKEN && r->kind == SV_INDEX_COMPOSITE) ||
                        (p->type == SV_SEARCHPARAM_COMPOSITE && r->kind == SV_INDEX_COMPOSITE);
        if (!other_ok && kind_of[p->type] != r->kind)
            fail_msg("%s: %s row of kind %d", file, r->param, (int)r->kind);
        switch (r->kind) {
        case SV_INDEX_STRING:
            assert_non_null(r->exact);
            sv_buf_reset(&folded);
            sv_text_fold(r->exact, strlen(r->exact), &folded);
            assert_string_equal(r->value, folded.ptr);
            break;
        case SV_INDEX_TOKEN:
            assert_true(r->value || r->exact);
            break;
        case SV_INDEX_REFERENCE:
        case SV_INDEX_URI:
            assert_non_null(r->value);
            assert_true(r->value[0] != '\0');
            break;
        case SV_INDEX_DATE:
            if (r->low > r->high)
                fail_msg("%s: %s low > high", file, r->param);
            break;
        default:
            break;
        }
    }
    sv_buf_release(&folded);
}

/* The official R4 examples (npm hl7.fhir.r4.examples) up to 1 MB, and every resource in
 * their Bundles. */
static void test_official_examples(void **state)
{
    (void)state;
    DIR *dir = opendir(EXAMPLES_DIR);
    if (!dir) {
        printf("skipped: %s not installed\n", EXAMPLES_DIR);
        return;
    }
    size_t files = 0, resources = 0, nrows = 0;
    struct dirent *de;
    while ((de = readdir(dir))) {
        size_t len = strlen(de->d_name);
        if (len < 6 || strcmp(de->d_name + len - 5, ".json") != 0 || de->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", EXAMPLES_DIR, de->d_name);
        /* The 15 files over 1 MB are definition bundles (value sets, data elements), not
         * examples; parsing them would be most of this test's time. */
        struct stat st;
        if (stat(path, &st) != 0 || st.st_size > 1024 * 1024)
            continue;
        json_t *doc = json_load_file(path, 0, NULL);
        const char *type = json_string_value(json_object_get(doc, "resourceType"));
        size_t nlist;
        if (!type || !sv_searchparam_list(type, &nlist)) {
            json_decref(doc); /* package.json, ImplementationGuide fragments */
            continue;
        }
        files++;
        json_t *todo[1 + 512];
        size_t ntodo = 0;
        todo[ntodo++] = doc;
        json_t *entries = json_object_get(doc, "entry");
        for (size_t i = 0; i < json_array_size(entries) && ntodo < 513; i++) {
            json_t *r = json_object_get(json_array_get(entries, i), "resource");
            if (json_is_object(r))
                todo[ntodo++] = r;
        }
        for (size_t i = 0; i < ntodo; i++) {
            const char *rtype = json_string_value(json_object_get(todo[i], "resourceType"));
            if (!rtype || !sv_searchparam_list(rtype, &nlist))
                continue;
            sv_index_rows rows = SV_INDEX_ROWS_INIT;
            if (sv_fhir_index_extract(todo[i], &rows) != SV_OK)
                fail_msg("%s: extraction failed", de->d_name);
            check_rows(de->d_name, rtype, &rows);
            resources++;
            nrows += rows.len;
            sv_index_rows_clear(&rows);
        }
        json_decref(doc);
    }
    closedir(dir);
    printf("indexed %zu resources from %zu example files: %zu rows\n", resources, files, nrows);
    assert_true(files > 1000);
}

/* Threads index at once from a cold start: the one-time initialisation races, then
 * evaluation shares the compiled expressions.  Only counts cross back to the main
 * thread (cmocka's asserts are not thread-safe). */
#define NTHREADS 4

typedef struct thread_job {
    const index_case *c;
    int mismatches;
} thread_job;

static void *index_thread(void *arg)
{
    thread_job *job = arg;
    json_t *res = json_loads(job->c->resource, 0, NULL);
    for (int k = 0; k < 200; k++) {
        sv_index_rows rows = SV_INDEX_ROWS_INIT;
        if (sv_fhir_index_extract(res, &rows) != SV_OK) {
            job->mismatches++;
        } else {
            char *got = rows_to_string(&rows, job->c->params);
            if (strcmp(got, job->c->want) != 0)
                job->mismatches++;
            free(got);
        }
        sv_index_rows_clear(&rows);
    }
    json_decref(res);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t threads[NTHREADS];
    thread_job jobs[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        jobs[i] = (thread_job){&cases[0], 0};
        assert_int_equal(pthread_create(&threads[i], NULL, index_thread, &jobs[i]), 0);
    }
    for (int i = 0; i < NTHREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(jobs[i].mismatches, 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads), /* first: it must see the cold start */
        cmocka_unit_test(test_cases),   cmocka_unit_test(test_invalid),
        cmocka_unit_test(test_appends), cmocka_unit_test(test_official_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
