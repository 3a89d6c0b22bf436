/*
 * test_search_parse.c - unit tests for fhir/search_parse: FHIR search parameters
 * into store clauses, and whole searches over a temporary database whose index
 * rows come from the real extraction (fhir/index.c).
 *
 *  - test_parse: one case per parameter type, modifier, prefix and escape: the plan
 *    as a line of text, or the 400 with the parameter named in issue.expression;
 *  - test_lenient: unknown parameters and modifiers dropped (and not in the self link);
 *  - test_search: each case a query and the ids it finds, over Danish coordination
 *    data (æøå, time zones, date precisions, absolute references, chains, _has, _sort);
 *  - test_cursor_paging: next and previous cursors walk the same pages both ways,
 *    and a cursor is refused with another _sort or when it is not one of ours.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "base/datetime.h"
#include "fhir/index.h"
#include "fhir/query.h"
#include "fhir/search_plan.h"
#include "store/schema.h"

#define BASE "http://localhost/fhir"
#define CPR "urn:oid:1.2.208.176.1.2"
#define LOINC "http://loinc.org"
#define UCUM "http://unitsofmeasure.org"
#define V2 "http://terminology.hl7.org/CodeSystem/v2-0203"
#define NOW INT64_C(1717200000000) /* 2024-06-01T00:00:00.000Z */

/* ---- the plan as text ----------------------------------------------------------- */

static const char *const kinds[] = {
    [SV_CLAUSE_ID] = "id",
    [SV_CLAUSE_LAST_UPDATED] = "lastUpdated",
    [SV_CLAUSE_STRING] = "string",
    [SV_CLAUSE_STRING_EXACT] = "exact",
    [SV_CLAUSE_STRING_CONTAINS] = "contains",
    [SV_CLAUSE_TOKEN] = "token",
    [SV_CLAUSE_TOKEN_TEXT] = "text",
    [SV_CLAUSE_REFERENCE] = "ref",
    [SV_CLAUSE_REFERENCE_URL] = "url",
    [SV_CLAUSE_DATE] = "date",
    [SV_CLAUSE_NUMBER] = "number",
    [SV_CLAUSE_QUANTITY] = "quantity",
    [SV_CLAUSE_URI] = "uri",
    [SV_CLAUSE_MISSING] = "missing",
    [SV_CLAUSE_TOKEN_OF_TYPE] = "of-type",
    [SV_CLAUSE_URI_BELOW] = "below",
    [SV_CLAUSE_URI_ABOVE] = "above",
    [SV_CLAUSE_COMPOSITE] = "composite",
};
static const char *const cmps[] = {"eq", "ne", "lt", "gt", "le", "ge", "sa", "eb", "ap"};

static void put_str(sv_buf *b, const char *s)
{
    sv_buf_adds(b, s ? s : "-");
}

static void put_instant(sv_buf *b, int64_t ms)
{
    if (ms == INT64_MIN || ms == INT64_MAX) {
        sv_buf_adds(b, ms == INT64_MIN ? "-inf" : "+inf");
        return;
    }
    char t[SV_INSTANT_LEN];
    sv_datetime_format_instant(ms, t);
    sv_buf_adds(b, t);
}

static void dump_value(sv_buf *b, const sv_clause_value *v)
{
    sv_buf_adds(b, kinds[v->kind]);
    sv_buf_addc(b, '(');
    switch (v->kind) {
    case SV_CLAUSE_LAST_UPDATED:
    case SV_CLAUSE_DATE:
        sv_buf_addf(b, "%s ", cmps[v->cmp]);
        put_instant(b, v->low);
        sv_buf_adds(b, "..");
        put_instant(b, v->high);
        break;
    case SV_CLAUSE_NUMBER:
    case SV_CLAUSE_QUANTITY:
        sv_buf_addf(b, "%s %g [%g,%g]", cmps[v->cmp], v->number, v->dlow, v->dhigh);
        if (v->kind == SV_CLAUSE_QUANTITY && (v->system || v->value)) {
            sv_buf_adds(b, " ");
            put_str(b, v->system);
            sv_buf_adds(b, "|");
            put_str(b, v->value);
        }
        break;
    case SV_CLAUSE_TOKEN:
        if (v->system_set) {
            put_str(b, v->system);
            sv_buf_adds(b, "|");
        }
        put_str(b, v->value);
        break;
    case SV_CLAUSE_REFERENCE:
        put_str(b, v->system);
        sv_buf_adds(b, "/");
        put_str(b, v->value);
        if (v->value2) {
            sv_buf_adds(b, " or ");
            sv_buf_adds(b, v->value2);
        }
        break;
    case SV_CLAUSE_TOKEN_OF_TYPE:
        put_str(b, v->system);
        sv_buf_adds(b, "|");
        put_str(b, v->value);
        sv_buf_adds(b, "|");
        put_str(b, v->value2);
        break;
    case SV_CLAUSE_REFERENCE_URL:
        put_str(b, v->value);
        if (v->value2) {
            sv_buf_adds(b, " as ");
            sv_buf_adds(b, v->value2);
        }
        break;
    case SV_CLAUSE_MISSING:
        sv_buf_adds(b, v->number != 0 ? "true" : "false");
        break;
    case SV_CLAUSE_COMPOSITE:
        dump_value(b, &v->parts[0]);
        sv_buf_adds(b, " $ ");
        dump_value(b, &v->parts[1]);
        break;
    default:
        put_str(b, v->value);
        break;
    }
    sv_buf_addc(b, ')');
}

static char *dump_plan(const sv_search_plan *p)
{
    sv_buf b = SV_BUF_INIT;
    for (size_t i = 0; i < p->n; i++) {
        const sv_clause *c = &p->clauses[i];
        if (i)
            sv_buf_adds(&b, " & ");
        for (size_t l = 0; l < c->nlinks; l++)
            sv_buf_addf(&b, "%s%s:%s.", c->links[l].reverse ? "_has:" : "", c->links[l].type,
                        c->links[l].param);
        sv_buf_addf(&b, "%s%s%s ", c->param, c->negate ? ":not" : "", c->coarse ? "~" : "");
        for (size_t k = 0; k < c->nvalues; k++) {
            if (k)
                sv_buf_adds(&b, " , ");
            dump_value(&b, &c->values[k]);
        }
    }
    if (p->nsort)
        sv_buf_addf(&b, "%s_sort %s", p->n ? " & " : "", p->sort_text);
    return sv_buf_detach(&b, NULL);
}

/* ---- parsing ------------------------------------------------------------------- */

typedef struct parse_case {
    const char *type;
    const char *query; /* URL-encoded, as on the wire */
    const char *want;  /* the plan, or "400 <expression>" */
} parse_case;

static const parse_case parse_cases[] = {
    /* string: folded prefix, :exact as written, :contains folded; escapes */
    {"Patient", "name=J%C3%B8rgensen", "name string(jorgensen)"},
    {"Patient", "name=%C3%85SE", "name string(ase)"},
    {"Patient", "family:exact=J%C3%B8rgensen", "family exact(Jørgensen)"},
    {"Patient", "family:contains=SEN", "family contains(sen)"},
    {"Patient", "family=a%5C%2Cb,c", "family string(a,b) , string(c)"},
    {"Patient", "family=a%5C%7Cb%5C%24c%5C%5Cd", "family string(a|b$c\\d)"},
    {"Patient", "family=a%7Cb", "family string(a|b)"}, /* | has no meaning for strings */
    {"Patient", "family=", "400 family"},
    {"Patient", "family=a,,b", "400 family"},
    {"Patient", "family:text=a", "400 family:text"},
    /* token */
    {"Patient", "identifier=" CPR "%7C0101701234", "identifier token(" CPR "|0101701234)"},
    {"Patient", "identifier=0101701234", "identifier token(0101701234)"},
    {"Patient", "identifier=%7C0101701234", "identifier token(-|0101701234)"},
    {"Patient", "identifier=" CPR "%7C", "identifier token(" CPR "|-)"},
    {"Patient", "identifier=a%5C%7Cb", "identifier token(a|b)"},
    {"Patient", "identifier=s%7Ca%5C%7Cb", "identifier token(s|a|b)"},
    {"Patient", "identifier=a%5C%2Cb,c%5C%24", "identifier token(a,b) , token(c$)"},
    {"Patient", "identifier=a%7Cb%7Cc", "400 identifier"},
    {"Patient", "identifier=%7C", "400 identifier"},
    {"Patient", "identifier:of-type=" V2 "%7CMR%7C123", "identifier of-type(" V2 "|MR|123)"},
    {"Patient", "identifier:of-type=%7CMR%7C123", "identifier of-type(-|MR|123)"},
    {"Patient", "identifier:of-type=MR%7C123", "400 identifier:of-type"},
    {"Patient", "gender:not=male", "gender:not~ token(male)"},
    {"Patient", "gender=male,female", "gender~ token(male) , token(female)"},
    {"Observation", "code:text=V%C3%A6g", "code text(vaeg)"},
    {"Patient", "gender:in=http://x", "400 gender:in"},
    /* reference */
    {"Task", "owner=Organization/o1", "owner ref(Organization/o1 or " BASE "/Organization/o1)"},
    {"Task", "owner=o1", "owner ref(-/o1)"},
    {"Task", "owner:Organization=o1", "owner ref(Organization/o1 or " BASE "/Organization/o1)"},
    {"Task", "owner=" BASE "/Organization/o1",
     "owner ref(Organization/o1 or " BASE "/Organization/o1)"},
    {"Task", "owner=Organization/o1/_history/2",
     "owner ref(Organization/o1 or " BASE "/Organization/o1)"},
    {"Task", "owner=https://fhir.rh.dk/r4/Organization/rh/_history/3",
     "owner url(https://fhir.rh.dk/r4/Organization/rh)"},
    {"Task", "owner=urn:uuid:9f1c1bb6-0bd2-4c3a-9d2b-0d9c6b3c3b8e",
     "owner url(urn:uuid:9f1c1bb6-0bd2-4c3a-9d2b-0d9c6b3c3b8e)"},
    {"QuestionnaireResponse", "questionnaire=http://x/Q%7C1",
     "questionnaire url(http://x/Q as http://x/Q|1)"},
    {"Patient", "general-practitioner:identifier=urn:sor%7C999",
     "general-practitioner token(urn:sor|999)"},
    {"Task", "owner=Organization/", "400 owner"},
    {"Task", "owner=Organisation/o1", "400 owner"},
    {"Task", "owner:Organization=Patient/p1", "400 owner:Organization"},
    {"Task", "owner=Observation/o1", "400 owner"}, /* not a target of Task.owner */
    {"Task", "owner:Observation=o1", "400 owner:Observation"},
    /* date: every precision, zones, prefixes */
    {"Task", "deadline=2024",
     "deadline date(eq 2024-01-01T00:00:00.000Z..2024-12-31T23:59:59.999Z)"},
    {"Task", "deadline=2024-02",
     "deadline date(eq 2024-02-01T00:00:00.000Z..2024-02-29T23:59:59.999Z)"},
    {"Task", "deadline=le2024-05-03",
     "deadline date(le 2024-05-03T00:00:00.000Z..2024-05-03T23:59:59.999Z)"},
    {"Task", "authored-on=gt2024-05-01T10:00:00%2B02:00",
     "authored-on date(gt 2024-05-01T08:00:00.000Z..2024-05-01T08:00:00.999Z)"},
    {"Task", "authored-on=sa2024-05-01T10:00-03:00",
     "authored-on date(sa 2024-05-01T13:00:00.000Z..2024-05-01T13:00:59.999Z)"},
    {"Task", "authored-on=eb2024-05-01T10:00:00.5Z",
     "authored-on date(eb 2024-05-01T10:00:00.500Z..2024-05-01T10:00:00.599Z)"},
    {"Task", "deadline=ne2024,ge2025-01-01",
     "deadline date(ne 2024-01-01T00:00:00.000Z..2024-12-31T23:59:59.999Z) , "
     "date(ge 2025-01-01T00:00:00.000Z..2025-01-01T23:59:59.999Z)"},
    /* ap: 10% of the distance to now (2024-06-01): 151.5 days / 10 = 15 days 3:36 */
    {"Task", "deadline=ap2024-01-01",
     "deadline date(ap 2023-12-16T20:24:00.000Z..2024-01-17T03:35:59.999Z)"},
    {"Task", "deadline=2024-02-30", "400 deadline"},
    {"Task", "deadline=2024-05-03T25:00", "400 deadline"},
    {"Task", "deadline=xx2024", "400 deadline"},
    {"Task", "deadline=ge", "400 deadline"},
    {"Task", "deadline:exact=2024", "400 deadline:exact"},
    {"Task", "_lastUpdated=ge2024-05-01",
     "_lastUpdated lastUpdated(ge 2024-05-01T00:00:00.000Z..2024-05-01T23:59:59.999Z)"},
    /* number and quantity: implicit precision */
    {"RiskAssessment", "probability=0.5", "probability number(eq 0.5 [0.45,0.55])"},
    {"RiskAssessment", "probability=gt0.50", "probability number(gt 0.5 [0.495,0.505])"},
    {"RiskAssessment", "probability=100", "probability number(eq 100 [99.5,100.5])"},
    {"RiskAssessment", "probability=1e2", "probability number(eq 100 [50,150])"},
    {"RiskAssessment", "probability=1.5e2", "probability number(eq 150 [145,155])"},
    {"RiskAssessment", "probability=ap100", "probability number(ap 100 [90,110])"},
    {"RiskAssessment", "probability=0x10", "400 probability"},
    {"RiskAssessment", "probability=nan", "400 probability"},
    {"Observation", "value-quantity=5.4%7C" UCUM "%7Cmg",
     "value-quantity quantity(eq 5.4 [5.35,5.45] " UCUM "|mg)"},
    {"Observation", "value-quantity=lt5.4%7C%7Cmg",
     "value-quantity quantity(lt 5.4 [5.35,5.45] -|mg)"},
    {"Observation", "value-quantity=5.4", "value-quantity quantity(eq 5.4 [5.35,5.45])"},
    {"Observation", "value-quantity=5.4%7Cmg", "400 value-quantity"},
    {"Observation", "value-quantity=abc", "400 value-quantity"},
    /* uri */
    {"ValueSet", "url=http://x/a", "url uri(http://x/a)"},
    {"ValueSet", "url:below=http://x/", "url below(http://x/)"},
    {"ValueSet", "url:above=http://x/a/b", "url above(http://x/a/b)"},
    {"ValueSet", "url:contains=x", "400 url:contains"},
    /* composite */
    {"Observation", "code-value-quantity=" LOINC "%7C8480-6%24gt100%7C" UCUM "%7Cmm%5BHg%5D",
     "code-value-quantity composite(token(" LOINC "|8480-6) $ quantity(gt 100 [99.5,100.5] " UCUM
     "|mm[Hg]))"},
    {"Observation", "code-value-concept=8480-6%24" LOINC "%7Cx",
     "code-value-concept composite(token(8480-6) $ token(" LOINC "|x))"},
    {"Observation", "code-value-date=8480-6%24ge2024",
     "code-value-date composite(token(8480-6) $ date(ge 2024-01-01T00:00:00.000Z..2024-12-31T23:59:"
     "59.999Z))"},
    {"Observation", "code-value-quantity=8480-6", "400 code-value-quantity"},
    {"Observation", "code-value-quantity=a%5C%24b%24c", "400 code-value-quantity"},
    /* :missing on every type, _id */
    {"Task", "deadline:missing=true", "deadline missing(true)"},
    {"Task", "owner:missing=false", "owner missing(false)"},
    {"Task", "owner:missing=yes", "400 owner:missing"},
    {"Task", "_id=a,b", "_id id(a) , id(b)"},
    {"Task", "_id:missing=true", "400 _id:missing"},
    /* chains */
    {"Observation", "subject:Patient.name=jens", "Patient:subject.name string(jens)"},
    {"Encounter", "subject.birthdate=1970",
     "Patient:subject.birthdate date(eq 1970-01-01T00:00:00.000Z..1970-12-31T23:59:59.999Z)"},
    {"Observation", "subject:Patient.organization.name=aarhus",
     "Patient:subject.Organization:organization.name string(aarhus)"},
    {"Observation", "subject:Patient.name:exact=Jensen", "Patient:subject.name exact(Jensen)"},
    {"Observation", "subject.name=x", "400 subject.name"}, /* Patient or Location */
    {"Observation", "status.name=x", "400 status.name"},
    {"Observation", "subject:Patient.nope=x", "400 subject:Patient.nope"},
    {"Observation", "subject:Basic.code=x", "400 subject:Basic.code"},
    {"Observation", "subject:Patient.organization.partof.partof.partof.name=x",
     "400 subject:Patient.organization.partof.partof.partof.name"},
    /* _has */
    {"Patient", "_has:Observation:patient:code=1234-5",
     "_has:Observation:patient.code token(1234-5)"},
    {"Organization", "_has:Patient:organization:_has:Observation:patient:status=final",
     "_has:Patient:organization._has:Observation:patient.status~ token(final)"},
    {"Patient", "_has:Observation:patient:code:text=glu",
     "_has:Observation:patient.code text(glu)"},
    {"Patient", "_has:Observation:performer:code=x", "_has:Observation:performer.code token(x)"},
    {"Patient", "_has:Observation:code:status=x", "400 _has:Observation:code:status"},
    {"Patient", "_has:Observation:patient=x", "400 _has:Observation:patient"},
    {"Patient", "_has:Nope:patient:code=x", "400 _has:Nope:patient:code"},
    {"Organization", "_has:Observation:patient:code=x", "400 _has:Observation:patient:code"},
    /* _sort */
    {"Task", "_sort=-deadline,status,_id", "_sort -deadline,status,_id"},
    {"Task", "owner=o1&_sort=-_lastUpdated", "owner ref(-/o1) & _sort -_lastUpdated"},
    {"Task", "_sort=nope", "400 _sort"},
    {"Observation", "_sort=code-value-quantity", "400 _sort"},
    {"Task", "_sort=a,b,c,d,e,f,g,h,i", "400 _sort"},
    {"Task", "_sort:desc=deadline", "400 _sort:desc"},
    /* unknown */
    {"Patient", "nope=1", "400 nope"},
    {"Patient", "_text=x", "400 _text"},
    {"Patient", "_cursor=zz", "400 _cursor"},
    {"Patient", "_cursor=5b5d", "400 _cursor"}, /* [] */
};

static void test_parse(void **state)
{
    (void)state;
    sv_clock_set_fixed(NOW);
    sv_rest r = {.base_url = BASE, .default_count = 20, .max_count = 100};
    int failed = 0;
    for (size_t i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        const parse_case *c = &parse_cases[i];
        sv_query q;
        sv_buf qerr = SV_BUF_INIT;
        assert_int_equal(sv_query_parse(c->query, &q, &qerr), SV_OK);
        sv_search_plan p;
        sv__search_plan_init(&p);
        sv_outcome out = SV_OUTCOME_INIT;
        sv_err e = sv__search_parse(&r, c->type, &q, false, &p, &out);
        char *got;
        if (e) {
            sv_buf b = SV_BUF_INIT;
            sv_buf_addf(&b, "%d %s", sv_err_http_status(e),
                        out.len && out.issues[0].expression ? out.issues[0].expression : "-");
            got = sv_buf_detach(&b, NULL);
        } else {
            got = dump_plan(&p);
        }
        if (strcmp(got, c->want) != 0) {
            print_error("%s?%s\n  got  %s\n  want %s%s%s\n", c->type, c->query, got, c->want,
                        out.len ? "\n  diagnostics: " : "",
                        out.len && out.issues[0].diagnostics ? out.issues[0].diagnostics : "");
            failed++;
        }
        free(got);
        sv_outcome_clear(&out);
        sv__search_plan_clear(&p);
        sv_query_clear(&q);
        sv_buf_release(&qerr);
    }
    sv_clock_set_fixed(0);
    assert_int_equal(failed, 0);
}

/* A parameter marked single (one index row per resource at most) lets a count drop its
 * DISTINCT: only a code element that is no list may be marked. */
static void test_single(void **state)
{
    (void)state;
    static const struct {
        const char *type, *query;
        bool single;
    } cases[] = {
        {"Task", "status=completed", true},      /* Task.status: code, 1..1 */
        {"Task", "intent=order", true},          /* Task.intent: code, 1..1 */
        {"Encounter", "status=finished", true},  /* Encounter.status */
        {"Observation", "code=x", false},        /* CodeableConcept: several codings */
        {"Patient", "identifier=x", false},      /* a list */
        {"Task", "owner=Organization/o", false}, /* a reference */
        {"Patient", "name=x", false},            /* a string */
        {"Patient", "gender=male", true},        /* code */
        {"CarePlan", "category=x", false},       /* a list of CodeableConcepts */
    };
    sv_rest r = {.base_url = BASE, .default_count = 20, .max_count = 100};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sv_query q;
        assert_int_equal(sv_query_parse(cases[i].query, &q, NULL), SV_OK);
        sv_search_plan p;
        sv__search_plan_init(&p);
        sv_outcome out = SV_OUTCOME_INIT;
        assert_int_equal(sv__search_parse(&r, cases[i].type, &q, false, &p, &out), SV_OK);
        assert_int_equal(p.n, 1);
        if (p.clauses[0].single != cases[i].single)
            fail_msg("%s?%s: single %d, want %d", cases[i].type, cases[i].query,
                     p.clauses[0].single, cases[i].single);
        sv_outcome_clear(&out);
        sv__search_plan_clear(&p);
        sv_query_clear(&q);
    }
}

/* Prefer: handling=lenient drops what it does not know, and leaves it out of the self link. */
static void test_lenient(void **state)
{
    (void)state;
    sv_rest r = {.base_url = BASE, .default_count = 20, .max_count = 100};
    sv_query q;
    assert_int_equal(sv_query_parse("nope=1&name=a&name:foo=b&_has:Nope:x:y=1&_sort=nope,name&"
                                    "subject:Patient.nope=1&_text=x",
                                    &q, NULL),
                     SV_OK);
    sv_search_plan p;
    sv__search_plan_init(&p);
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv__search_parse(&r, "Patient", &q, true, &p, &out), SV_OK);
    char *got = dump_plan(&p);
    assert_string_equal(got, "name string(a) & _sort name");
    assert_string_equal(p.self.ptr, "?name=a&_sort=nope%2Cname");
    free(got);
    /* a malformed value is still refused */
    sv_query bad;
    assert_int_equal(sv_query_parse("birthdate=2024-13", &bad, NULL), SV_OK);
    sv_search_plan p2;
    sv__search_plan_init(&p2);
    assert_int_equal(sv__search_parse(&r, "Patient", &bad, true, &p2, &out), SV_ERR_INVALID);
    sv__search_plan_clear(&p2);
    sv_query_clear(&bad);
    /* and so is a value beyond the limit */
    sv_buf big = SV_BUF_INIT;
    sv_buf_adds(&big, "name=");
    for (int i = 0; i < 8200; i++)
        sv_buf_addc(&big, 'a');
    assert_int_equal(sv_query_parse(big.ptr, &bad, NULL), SV_OK);
    sv__search_plan_init(&p2);
    sv_outcome_clear(&out);
    assert_int_equal(sv__search_parse(&r, "Patient", &bad, true, &p2, &out), SV_ERR_INVALID);
    assert_string_equal(out.issues[0].code, "too-long");
    assert_string_equal(out.issues[0].expression, "name");
    sv__search_plan_clear(&p2);
    sv_query_clear(&bad);
    sv_buf_release(&big);
    sv_outcome_clear(&out);
    sv__search_plan_clear(&p);
    sv_query_clear(&q);
}

/* ---- whole searches --------------------------------------------------------------- */

static const char *const resources[] = {
    "{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"Aarhus Kommune\"}",
    "{\"resourceType\":\"Organization\",\"id\":\"o2\",\"name\":\"Odense Kommune\"}",
    "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"gender\":\"female\",\"birthDate\":\"1970-01-"
    "01\","
    "\"name\":[{\"family\":\"J\xc3\xb8rgensen\",\"given\":[\"\xc3\x85se\"]}],"
    "\"identifier\":[{\"type\":{\"coding\":[{\"system\":\"" V2 "\",\"code\":\"MR\"}]},"
    "\"system\":\"" CPR "\",\"value\":\"0101701234\"}],"
    "\"managingOrganization\":{\"reference\":\"Organization/o1\"},"
    "\"generalPractitioner\":[{\"identifier\":{\"system\":\"urn:sor\",\"value\":\"999\"}}]}",
    "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"gender\":\"male\",\"birthDate\":\"1980-06\","
    "\"name\":[{\"family\":\"S\xc3\xb8rensen\",\"given\":[\"S\xc3\xb8ren\"]}],"
    "\"managingOrganization\":{\"reference\":\"Organization/o2\"}}",
    "{\"resourceType\":\"Patient\",\"id\":\"p3\",\"birthDate\":\"1990\","
    "\"name\":[{\"family\":\"A|B$C\\\\D\",\"given\":[\"Maria, Anna\"]}]}",
    "{\"resourceType\":\"Task\",\"id\":\"t1\",\"status\":\"requested\",\"intent\":\"order\","
    "\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":\"Organization/o1\"},"
    "\"authoredOn\":\"2024-05-01T10:00:00+02:00\",\"businessStatus\":{\"text\":\"Afventer svar\"},"
    "\"restriction\":{\"period\":{\"end\":\"2024-05-03\"}}}",
    "{\"resourceType\":\"Task\",\"id\":\"t2\",\"status\":\"in-progress\",\"intent\":\"order\","
    "\"for\":{\"reference\":\"Patient/p2\"},\"owner\":{\"reference\":\"Organization/o1\"},"
    "\"restriction\":{\"period\":{\"end\":\"2024-05-02\"}}}",
    "{\"resourceType\":\"Task\",\"id\":\"t3\",\"status\":\"requested\",\"intent\":\"order\","
    "\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":\"Organization/o2\"},"
    "\"restriction\":{\"period\":{\"end\":\"2024-06\"}}}",
    "{\"resourceType\":\"Task\",\"id\":\"t4\",\"status\":\"completed\",\"intent\":\"order\","
    "\"for\":{\"reference\":\"Patient/p3\"},\"owner\":{\"reference\":\"Organization/o1\"}}",
    "{\"resourceType\":\"Task\",\"id\":\"t5\",\"status\":\"requested\",\"intent\":\"order\","
    "\"owner\":{\"reference\":\"" BASE "/Organization/o1\"},"
    "\"restriction\":{\"period\":{\"end\":\"2024-05-02T12:00:00Z\"}}}",
    "{\"resourceType\":\"Observation\",\"id\":\"obs1\",\"status\":\"final\","
    "\"subject\":{\"reference\":\"Patient/p1\"},\"code\":{\"coding\":[{\"system\":\"" LOINC
    "\",\"code\":\"8480-6\",\"display\":\"Systolic blood pressure\"}]},"
    "\"effectiveDateTime\":\"2024-05-02T23:30:00-02:00\","
    "\"valueQuantity\":{\"value\":120,\"unit\":\"mmHg\",\"system\":\"" UCUM
    "\",\"code\":\"mm[Hg]\"}}",
    "{\"resourceType\":\"Observation\",\"id\":\"obs2\",\"status\":\"final\","
    "\"subject\":{\"reference\":\"Patient/p2\"},\"code\":{\"coding\":[{\"system\":\"" LOINC
    "\",\"code\":\"29463-7\"}],\"text\":\"V\xc3\xa6gt\"},"
    "\"effectivePeriod\":{\"start\":\"2024-05-01\"},"
    "\"valueQuantity\":{\"value\":72.5,\"unit\":\"kg\",\"system\":\"" UCUM "\",\"code\":\"kg\"}}",
    "{\"resourceType\":\"Observation\",\"id\":\"obs3\",\"status\":\"amended\","
    "\"subject\":{\"reference\":\"Patient/p1\"},\"code\":{\"coding\":[{\"system\":\"" LOINC
    "\",\"code\":\"8480-6\"}]},\"valueQuantity\":{\"value\":135,\"unit\":\"mmHg\"}}",
    "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"in-progress\","
    "\"class\":{\"code\":\"IMP\"},\"subject\":{\"reference\":\"Patient/p1\"},"
    "\"period\":{\"start\":\"2024-05-01T08:00:00Z\"},"
    "\"serviceProvider\":{\"reference\":\"Organization/o1\"}}",
    "{\"resourceType\":\"ValueSet\",\"id\":\"vs1\",\"status\":\"active\","
    "\"url\":\"http://example.org/fhir/ValueSet/a\"}",
    "{\"resourceType\":\"ValueSet\",\"id\":\"vs2\",\"status\":\"active\","
    "\"url\":\"http://example.org/fhir/ValueSet/a/b\"}",
    "{\"resourceType\":\"QuestionnaireResponse\",\"id\":\"qr1\",\"status\":\"completed\","
    "\"questionnaire\":\"http://x/Q|1\"}",
};

typedef struct search_case {
    const char *type;
    const char *query;
    const char *want; /* ids in the order found */
} search_case;

static const search_case search_cases[] = {
    /* strings: æøå fold on both sides */
    {"Patient", "name=jorg", "p1"},
    {"Patient", "name=J%C3%98RG", "p1"},
    {"Patient", "given=ase", "p1"},
    {"Patient", "given=S%C3%B8ren", "p2"},
    {"Patient", "name=sor", "p2"},
    {"Patient", "name:exact=J%C3%B8rgensen", "p1"},
    {"Patient", "name:exact=j%C3%B8rgensen", ""},
    {"Patient", "name:contains=ENSE", "p1 p2"},
    {"Patient", "family=a%5C%7Cb%5C%24c%5C%5Cd", "p3"},
    {"Patient", "family:exact=A%7CB%24C%5CD", "p3"},
    {"Patient", "given=maria%5C%2C%20anna", "p3"},
    {"Patient", "given=maria,sor", "p2 p3"},
    /* tokens */
    {"Patient", "identifier=" CPR "%7C0101701234", "p1"},
    {"Patient", "identifier=0101701234", "p1"},
    {"Patient", "identifier=%7C0101701234", ""},
    {"Patient", "identifier=" CPR "%7C", "p1"},
    {"Patient", "identifier:of-type=" V2 "%7CMR%7C0101701234", "p1"},
    {"Patient", "identifier:of-type=" V2 "%7CPPN%7C0101701234", ""},
    {"Patient", "gender=female", "p1"},
    {"Patient", "gender:not=male", "p1 p3"},
    {"Observation", "code:text=vaeg", "obs2"},
    {"Observation", "code:text=V%C3%86G", "obs2"},
    {"Observation", "code:text=systolic", "obs1"},
    {"Observation", "code:text=blood", ""},
    {"Task", "business-status:text=afventer", "t1"},
    /* references */
    {"Task", "owner=Organization/o1", "t1 t2 t4 t5"},
    {"Task", "owner=o1", "t1 t2 t4"},
    {"Task", "owner:Organization=o1", "t1 t2 t4 t5"},
    {"Task", "owner=" BASE "/Organization/o1", "t1 t2 t4 t5"},
    {"Task", "owner=Organization/o1/_history/3", "t1 t2 t4 t5"},
    {"Task", "owner=Organization/o2,Organization/o9", "t3"},
    {"Task", "subject=Patient/p1", "t1 t3"},
    {"Task", "patient=p1", "t1 t3"},
    {"Patient", "general-practitioner:identifier=urn:sor%7C999", "p1"},
    {"QuestionnaireResponse", "questionnaire=http://x/Q%7C1", "qr1"},
    {"QuestionnaireResponse", "questionnaire=http://x/Q", "qr1"},
    {"QuestionnaireResponse", "questionnaire=http://x/Q%7C2", ""},
    /* dates: precisions and zones (t1 2024-05-03, t2 2024-05-02, t3 2024-06, t5 ...-02T12:00Z) */
    {"Task", "deadline=2024-05-03", "t1"},
    {"Task", "deadline=2024-05", "t1 t2 t5"},
    {"Task", "deadline=2024", "t1 t2 t3 t5"},
    {"Task", "deadline=lt2024-05-03", "t2 t5"},
    {"Task", "deadline=le2024-05-03", "t1 t2 t5"},
    {"Task", "deadline=gt2024-05-02", "t1 t3"},
    {"Task", "deadline=ge2024-06-15", "t3"},
    {"Task", "deadline=eq2024-06-15", ""},
    {"Task", "deadline=sa2024-05-03", "t3"},
    {"Task", "deadline=eb2024-06", "t1 t2 t5"},
    {"Task", "deadline=ne2024-05-03", "t2 t3 t5"},
    {"Task", "deadline=ap2024-06-15", "t3"},
    /* t2's day reaches above 12:00:00, so it is ge; both start before the 3rd */
    {"Task", "deadline=ge2024-05-02T12:00:00Z&deadline=lt2024-05-03", "t2 t5"},
    {"Task", "deadline=sa2024-05-02T11:59:59Z&deadline=lt2024-05-03", "t5"},
    {"Task", "authored-on=2024-05-01", "t1"},
    {"Task", "authored-on=2024-05-01T08:00:00Z", "t1"},
    {"Task", "authored-on=2024-05-01T10:00:00%2B02:00", "t1"},
    {"Task", "authored-on=2024-05-01T09:00:00%2B02:00", ""},
    {"Task", "authored-on=gt2024-05-01T07:59:59Z", "t1"},
    {"Task", "authored-on=2024-05-01T10:00", ""}, /* no zone: taken as UTC */
    {"Task", "authored-on=2024-05-01T08:00", "t1"},
    {"Observation", "date=2024-05-03", "obs1"}, /* 23:30-02:00 is the 3rd in UTC */
    {"Observation", "date=2024-05-02", ""},
    {"Observation", "date=ge2024-05-01", "obs1 obs2"},
    {"Observation", "date=lt2024-05-01", ""},
    {"Encounter", "date=ap2024-05-10", "e1"},
    {"Encounter", "date=eq2024-05", ""}, /* still open: not within May */
    {"Encounter", "date=ge2030", "e1"},
    /* quantities */
    {"Observation", "value-quantity=120", "obs1"},
    {"Observation", "value-quantity=120%7C" UCUM "%7Cmm%5BHg%5D", "obs1"},
    {"Observation", "value-quantity=135%7C%7CmmHg", "obs3"},
    {"Observation", "value-quantity=120%7C%7CmmHg", "obs1"},
    {"Observation", "value-quantity=gt100", "obs1 obs3"},
    {"Observation", "value-quantity=1e2", "obs1 obs2 obs3"},
    {"Observation", "value-quantity=le72.5", "obs2"},
    {"Observation", "value-quantity=ap130", "obs1 obs3"},
    /* composite */
    {"Observation", "code-value-quantity=" LOINC "%7C8480-6%24gt125", "obs3"},
    {"Observation", "code-value-quantity=8480-6%24120", "obs1"},
    {"Observation", "code-value-quantity=29463-7%24120", ""},
    /* uri */
    {"ValueSet", "url=http://example.org/fhir/ValueSet/a", "vs1"},
    {"ValueSet", "url:below=http://example.org/fhir/ValueSet/a", "vs1 vs2"},
    {"ValueSet", "url:above=http://example.org/fhir/ValueSet/a/b/c", "vs1 vs2"},
    {"ValueSet", "url:above=http://example.org/fhir/ValueSet/a", "vs1"},
    /* missing */
    {"Task", "deadline:missing=true", "t4"},
    {"Patient", "gender:missing=true", "p3"},
    {"Patient", "general-practitioner:missing=false", "p1"},
    /* chains */
    {"Task", "subject:Patient.name=jorg", "t1 t3"},
    {"Task", "owner:Organization.name=aarhus", "t1 t2 t4"},
    {"Observation", "subject:Patient.organization.name=odense", "obs2"},
    {"Encounter", "subject.birthdate=1970", "e1"},
    {"Observation", "subject:Patient.gender=male,female&value-quantity=gt100", "obs1 obs3"},
    /* _has */
    {"Patient", "_has:Observation:patient:code=8480-6", "p1"},
    {"Patient", "_has:Task:patient:status=in-progress", "p2"},
    {"Patient", "_has:Task:patient:status=requested,in-progress", "p1 p2"},
    {"Organization", "_has:Patient:organization:_has:Observation:patient:code=29463-7", "o2"},
    {"Organization", "_has:Task:owner:status=requested", "o1 o2"},
    /* _sort */
    {"Task", "_sort=deadline", "t2 t5 t1 t3 t4"},
    {"Task", "_sort=-deadline", "t3 t1 t2 t5 t4"},
    {"Task", "_sort=status,-deadline", "t4 t2 t3 t1 t5"},
    {"Task", "owner=Organization/o1&_sort=-_id", "t5 t4 t2 t1"},
    {"Patient", "_sort=family", "p3 p1 p2"},
    {"Patient", "_sort=-birthdate", "p3 p2 p1"},
    {"Observation", "_sort=-value-quantity", "obs3 obs1 obs2"},
    {"Observation", "_sort=code,date", "obs2 obs1 obs3"},
};

typedef struct world {
    tmpdb file;
    sv_db *db;
    sv_rest rest;
} world;

static world *w;

static int world_setup(void **state)
{
    (void)state;
    w = calloc(1, sizeof(*w));
    assert_non_null(w);
    tmpdb_make(&w->file);
    w->db = tmpdb_open(&w->file, 5000);
    assert_int_equal(sv_schema_migrate(w->db, NULL, NULL), SV_OK);
    w->rest = (sv_rest){.db = w->db, .base_url = BASE, .default_count = 20, .max_count = 100};
    for (size_t i = 0; i < sizeof(resources) / sizeof(resources[0]); i++) {
        json_error_t jerr;
        json_t *res = json_loads(resources[i], JSON_REJECT_DUPLICATES, &jerr);
        if (!res)
            fail_msg("resource %zu: %s", i, jerr.text);
        sv_index_rows rows = SV_INDEX_ROWS_INIT;
        assert_int_equal(sv_fhir_index_extract(res, &rows), SV_OK);
        const char *type = json_string_value(json_object_get(res, "resourceType"));
        const char *id = json_string_value(json_object_get(res, "id"));
        sv_buf err = SV_BUF_INIT;
        sv_err e = sv_db_begin(w->db, SV_TX_WRITE, &err);
        if (!e)
            e = sv_store_write(w->db, type, id, 1, 1000 + (int64_t)i, "POST", resources[i],
                               strlen(resources[i]), &rows, &err);
        if (!e)
            e = sv_db_commit(w->db, &err);
        if (e)
            fail_msg("write %s/%s: %s", type, id, err.ptr);
        sv_buf_release(&err);
        sv_index_rows_clear(&rows);
        json_decref(res);
    }
    return 0;
}

static int world_teardown(void **state)
{
    (void)state;
    sv_db_close(w->db);
    tmpdb_remove(&w->file);
    free(w);
    return 0;
}

typedef struct ids {
    sv_buf text;
    int64_t n, limit; /* limit: refuse the row after that many (the probe) */
} ids;

static bool add_id(void *ctx, const sv_stored *s)
{
    ids *x = ctx;
    if (x->limit && x->n == x->limit)
        return false;
    if (x->n++)
        sv_buf_addc(&x->text, ' ');
    sv_buf_adds(&x->text, s->id);
    return true;
}

/* Parses query for type and runs it: the ids found, or "400".  limit > 0: pages of
 * that size (_count), with the probe row that search.c asks for. */
static char *run(const char *type, const char *query, sv_search_plan *keep_plan, int64_t limit)
{
    sv_query q;
    sv_buf text = SV_BUF_INIT;
    sv_buf_adds(&text, query);
    if (limit)
        sv_buf_addf(&text, "%s_count=%lld", *query ? "&" : "", (long long)limit);
    assert_int_equal(sv_query_parse(text.ptr, &q, NULL), SV_OK);
    sv_buf_release(&text);
    sv_search_plan p;
    sv__search_plan_init(&p);
    sv_outcome out = SV_OUTCOME_INIT;
    ids found = {SV_BUF_INIT, 0, limit};
    sv_err e = sv__search_parse(&w->rest, type, &q, false, &p, &out);
    int64_t total = -1;
    if (!e) {
        sv_buf err = SV_BUF_INIT;
        e = sv__search_plan_run(w->db, type, &p, limit ? limit + 1 : 100, add_id, &found, &total,
                                &err);
        if (e)
            fail_msg("%s?%s: %s (%s)", type, query, sv_strerror(e), err.ptr);
        sv_buf_release(&err);
        if (!limit && total != found.n)
            fail_msg("%s?%s: total %lld for %lld found", type, query, (long long)total,
                     (long long)found.n);
    }
    sv_outcome_clear(&out);
    sv_query_clear(&q);
    if (keep_plan)
        *keep_plan = p;
    else
        sv__search_plan_clear(&p);
    if (e) {
        sv_buf_release(&found.text);
        return strdup("400");
    }
    return sv_buf_detach(&found.text, NULL);
}

static void test_search(void **state)
{
    (void)state;
    sv_clock_set_fixed(NOW);
    int failed = 0;
    for (size_t i = 0; i < sizeof(search_cases) / sizeof(search_cases[0]); i++) {
        const search_case *c = &search_cases[i];
        char *got = run(c->type, c->query, NULL, 0);
        if (strcmp(got, c->want) != 0) {
            print_error("%s?%s: got \"%s\", want \"%s\"\n", c->type, c->query, got, c->want);
            failed++;
        }
        free(got);
    }
    sv_clock_set_fixed(0);
    assert_int_equal(failed, 0);
}

/* Next cursors walk forwards, previous cursors walk back over the same pages. */
static void test_cursor_paging(void **state)
{
    (void)state;
    static const char *const queries[] = {"_sort=deadline", "_sort=-deadline,_id", "",
                                          "owner=Organization/o1&_sort=status"};
    for (size_t qi = 0; qi < sizeof(queries) / sizeof(queries[0]); qi++) {
        char *all = run("Task", queries[qi], NULL, 0);
        for (int64_t size = 1; size <= 3; size++) {
            char *pages[16];
            int npages = 0;
            sv_buf query = SV_BUF_INIT, joined = SV_BUF_INIT;
            sv_buf_adds(&query, queries[qi]);
            for (;;) {
                sv_search_plan p;
                char *got = run("Task", query.ptr, &p, size);
                assert_true(npages < 16);
                pages[npages++] = got;
                if (*got) {
                    if (joined.len)
                        sv_buf_addc(&joined, ' ');
                    sv_buf_adds(&joined, got);
                }
                /* a previous link exactly from the second page on */
                if (npages == 1)
                    assert_null(p.prev_cursor);
                else
                    assert_non_null(p.prev_cursor);
                char *next = p.next_cursor ? strdup(p.next_cursor) : NULL;
                sv__search_plan_clear(&p);
                if (!next)
                    break;
                sv_buf_reset(&query);
                sv_buf_addf(&query, "%s%s_cursor=%s", queries[qi], *queries[qi] ? "&" : "", next);
                free(next);
            }
            assert_string_equal(joined.ptr, all);
            /* back from the last page: the same pages in reverse */
            sv_search_plan last;
            free(run("Task", query.ptr, &last, size));
            char *prev = last.prev_cursor ? strdup(last.prev_cursor) : NULL;
            sv__search_plan_clear(&last);
            for (int k = npages - 2; k >= 0; k--) {
                assert_non_null(prev);
                sv_buf_reset(&query);
                sv_buf_addf(&query, "%s%s_cursor=%s", queries[qi], *queries[qi] ? "&" : "", prev);
                free(prev);
                sv_search_plan p;
                char *got = run("Task", query.ptr, &p, size);
                assert_string_equal(got, pages[k]);
                assert_non_null(p.next_cursor); /* the page after exists */
                prev = p.prev_cursor ? strdup(p.prev_cursor) : NULL;
                if (k == 0)
                    assert_null(prev);
                sv__search_plan_clear(&p);
                free(got);
            }
            free(prev);
            for (int k = 0; k < npages; k++)
                free(pages[k]);
            sv_buf_release(&query);
            sv_buf_release(&joined);
        }
        free(all);
    }
    /* a cursor of one _sort is refused with another, and a forged one is refused */
    sv_search_plan p;
    free(run("Task", "_sort=deadline", &p, 1));
    assert_non_null(p.next_cursor);
    char q[512];
    snprintf(q, sizeof(q), "_sort=-deadline&_cursor=%s", p.next_cursor);
    char *got = run("Task", q, NULL, 1);
    assert_string_equal(got, "400");
    free(got);
    snprintf(q, sizeof(q), "_cursor=%s", p.next_cursor);
    got = run("Task", q, NULL, 1);
    assert_string_equal(got, "400");
    free(got);
    sv__search_plan_clear(&p);
    /* ["deadline","a",1,"x"]: a text where a date belongs */
    got =
        run("Task", "_sort=deadline&_cursor=5b22646561646c696e65222c2261222c312c2278225d", NULL, 1);
    assert_string_equal(got, "400");
    free(got);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),         cmocka_unit_test(test_single),
        cmocka_unit_test(test_lenient),       cmocka_unit_test(test_search),
        cmocka_unit_test(test_cursor_paging),
    };
    return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
