/*
 * test_search_result.c - unit tests for the result side of search: _include and
 * _revinclude (with :iterate, cycles, deleted targets, the cap and the depth
 * bound), the _summary/_elements views, compartment search and
 * Patient/$everything with its paging, against a temporary SQLite database
 * filled through fhir/rest.  Searches are cases as data: the query, then the
 * matches and the included resources expected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "fhir/include.h"
#include "fhir/rest.h"
#include "fhir/search.h"
#include "fhir/search_result.h"
#include "store/include.h"
#include "store/schema.h"

#define BASE "http://localhost/fhir"

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("bad json: %s (%.300s)", err.text, text);
    return j;
}

/* ---- the dataset --------------------------------------------------------------------- */

#define OBS(id, subject, performer)                                                                \
    "{\"resourceType\":\"Observation\",\"id\":\"" id "\",\"status\":\"final\","                    \
    "\"code\":{\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8310-5\"}]},"               \
    "\"subject\":{\"reference\":\"" subject "\"},\"performer\":[{\"reference\":\"" performer       \
    "\"}]}"
#define ORG(id, partof)                                                                            \
    "{\"resourceType\":\"Organization\",\"id\":\"" id "\",\"name\":\"" id "\""                     \
    ",\"partOf\":{\"reference\":\"" partof "\"}}"

static const struct {
    const char *type, *id, *json;
} dataset[] = {
    /* o1 and o2 are part of each other: a cycle for :iterate */
    {"Organization", "o1", ORG("o1", "Organization/o2")},
    {"Organization", "o2", ORG("o2", "Organization/o1")},
    {"Practitioner", "pr1", "{\"resourceType\":\"Practitioner\",\"id\":\"pr1\"}"},
    {"Practitioner", "pr2", "{\"resourceType\":\"Practitioner\",\"id\":\"pr2\"}"}, /* deleted */
    {"Medication", "m1",
     "{\"resourceType\":\"Medication\",\"id\":\"m1\",\"code\":{\"text\":\"furosemide\"}}"},
    {"Patient", "p1",
     "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"text\":{\"status\":\"generated\",\"div\":"
     "\"<div xmlns=\\\"http://www.w3.org/1999/xhtml\\\">Hanne</div>\"},\"active\":true,"
     "\"name\":[{\"family\":\"Nielsen\",\"given\":[\"Hanne\"]}],\"gender\":\"female\","
     "\"birthDate\":\"1971-04-12\",\"maritalStatus\":{\"text\":\"married\"},"
     "\"contact\":[{\"name\":{\"family\":\"Nielsen\"}}],"
     "\"managingOrganization\":{\"reference\":\"Organization/o1\"},"
     "\"generalPractitioner\":[{\"reference\":\"Practitioner/pr1\"}]}"},
    {"Patient", "p2",
     "{\"resourceType\":\"Patient\",\"id\":\"p2\",\"managingOrganization\":{\"reference\":"
     "\"Organization/o2\"}}"},
    {"Patient", "p3",
     "{\"resourceType\":\"Patient\",\"id\":\"p3\",\"link\":[{\"other\":{\"reference\":"
     "\"Patient/p1\"},\"type\":\"seealso\"}]}"},
    {"Observation", "obs1", OBS("obs1", "Patient/p1", "Practitioner/pr1")},
    {"Observation", "obs2", OBS("obs2", "Patient/p1", "Practitioner/pr2")},
    {"Observation", "obs3", OBS("obs3", "Patient/p2", "Practitioner/pr1")},
    /* p1's, about p2 (focus is no compartment parameter): p2 stays out of p1's $everything */
    {"Observation", "obs4",
     "{\"resourceType\":\"Observation\",\"id\":\"obs4\",\"status\":\"final\",\"code\":"
     "{\"text\":\"x\"},\"subject\":{\"reference\":\"Patient/p1\"},\"focus\":[{\"reference\":"
     "\"Patient/p2\"}]}"},
    {"Encounter", "e1",
     "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"finished\",\"class\":{\"code\":"
     "\"AMB\"},\"subject\":{\"reference\":\"Patient/p1\"},\"serviceProvider\":{\"reference\":"
     "\"Organization/o1\"}}"},
    {"MedicationRequest", "mr1",
     "{\"resourceType\":\"MedicationRequest\",\"id\":\"mr1\",\"status\":\"active\",\"intent\":"
     "\"order\",\"medicationReference\":{\"reference\":\"Medication/m1\"},\"subject\":"
     "{\"reference\":\"Patient/p1\"},\"requester\":{\"reference\":\"Practitioner/pr1\"}}"},
    {"Task", "t1",
     "{\"resourceType\":\"Task\",\"id\":\"t1\",\"status\":\"requested\",\"intent\":\"order\","
     "\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":\"Organization/o2\"}}"},
    /* a chain for the depth bound: c0 -> c1 -> ... -> c5 */
    {"Organization", "c0", ORG("c0", "Organization/c1")},
    {"Organization", "c1", ORG("c1", "Organization/c2")},
    {"Organization", "c2", ORG("c2", "Organization/c3")},
    {"Organization", "c3", ORG("c3", "Organization/c4")},
    {"Organization", "c4", ORG("c4", "Organization/c5")},
    {"Organization", "c5", "{\"resourceType\":\"Organization\",\"id\":\"c5\"}"},
};

typedef struct fixture {
    tmpdb file;
    sv_db *db;
    sv_rest rest;
} fixture;

static void put(sv_rest *r, const char *type, const char *id, const char *text)
{
    json_t *j = parse(text);
    sv_rest_result res;
    sv_rest_result_init(&res);
    if (sv_rest_update(r, type, id, j, NULL, &res))
        fail_msg("PUT %s/%s: %s", type, id,
                 res.outcome.len ? res.outcome.issues[0].diagnostics : "?");
    sv_rest_result_clear(&res);
    json_decref(j);
}

static void del(sv_rest *r, const char *type, const char *id)
{
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(r, type, id, NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->file);
    f->db = tmpdb_open(&f->file, 5000);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    f->rest = (sv_rest){.db = f->db, .base_url = BASE, .default_count = 20, .max_count = 100};
    for (size_t i = 0; i < sizeof(dataset) / sizeof(dataset[0]); i++)
        put(&f->rest, dataset[i].type, dataset[i].id, dataset[i].json);
    del(&f->rest, "Practitioner", "pr2");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_db_close(f->db);
    tmpdb_remove(&f->file);
    free(f);
    return 0;
}

/* ---- running searches ---------------------------------------------------------------- */

typedef enum kind { SEARCH, COMPARTMENT, EVERYTHING } kind;

/* Runs a search; returns the Bundle (or NULL and *ret_err on failure). */
static json_t *run(fixture *f, kind k, const char *type, const char *query, bool lenient,
                   sv_err *ret_err)
{
    sv_query q;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_query_parse(query, &q, &err), SV_OK);
    sv_buf_release(&err);
    sv_rest_result res;
    sv_rest_result_init(&res);
    sv_err e;
    if (k == SEARCH)
        e = sv_search_bundle(&f->rest, type, &q, lenient, &res);
    else if (k == COMPARTMENT)
        e = sv_search_compartment_bundle(&f->rest, "p1", type, &q, lenient, &res);
    else
        e = sv_search_everything(&f->rest, type, &q, NULL, lenient, &res);
    json_t *b = NULL;
    if (!e) {
        b = parse(res.body.ptr);
    } else if (!ret_err) {
        fail_msg("%s?%s: %s (%s)", type, query, sv_strerror(e),
                 res.outcome.len ? res.outcome.issues[0].diagnostics : "");
    } else {
        assert_true(res.outcome.errors > 0);
    }
    if (ret_err)
        *ret_err = e;
    sv_rest_result_clear(&res);
    sv_query_clear(&q);
    return b;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "Type/id,..." of the entries with search.mode == mode, sorted; fails on a
 * resource listed twice in the bundle. */
static char *ids_of(json_t *bundle, const char *mode)
{
    const char *ids[256];
    size_t n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(bundle, "entry"), i, e)
    {
        const char *m = json_string_value(json_object_get(json_object_get(e, "search"), "mode"));
        json_t *r = json_object_get(e, "resource");
        const char *rt = json_string_value(json_object_get(r, "resourceType"));
        if (strcmp(m, mode) != 0)
            continue;
        assert_true(n < 256);
        sv_buf k = SV_BUF_INIT;
        sv_buf_addf(&k, "%s/%s", rt, json_string_value(json_object_get(r, "id")));
        ids[n++] = sv_buf_detach(&k, NULL);
    }
    qsort(ids, n, sizeof(ids[0]), cmp_str);
    sv_buf out = SV_BUF_INIT;
    for (size_t k = 0; k < n; k++) {
        if (k && strcmp(ids[k], ids[k - 1]) == 0)
            fail_msg("%s is in the bundle twice", ids[k]);
        sv_buf_addf(&out, "%s%s", k ? "," : "", ids[k]);
    }
    for (size_t k = 0; k < n; k++)
        free((char *)ids[k]);
    return sv_buf_detach(&out, NULL);
}

/* No resource is both a match and an include. */
static void assert_disjoint(const char *matches, const char *includes)
{
    char *copy = strdup(includes);
    for (char *t = strtok(copy, ","); t; t = strtok(NULL, ",")) {
        size_t len = strlen(t);
        for (const char *m = strstr(matches, t); m; m = strstr(m + 1, t))
            if ((m == matches || m[-1] == ',') && (m[len] == ',' || !m[len]))
                fail_msg("%s is a match and an include", t);
    }
    free(copy);
}

static const struct {
    kind kind;
    const char *type, *query;
    const char *matches, *includes;
} search_cases[] = {
    {SEARCH, "Patient", "_id=p1&_include=Patient:organization", "Patient/p1", "Organization/o1"},
    {SEARCH, "Patient", "_id=p1&_include=Patient:organization:Organization", "Patient/p1",
     "Organization/o1"},
    {SEARCH, "Patient", "_id=p1&_include=Patient:general-practitioner:PractitionerRole",
     "Patient/p1", ""},
    /* :iterate through a cycle: o1 -> o2 -> o1 stops */
    {SEARCH, "Patient", "_id=p1&_include=Patient:organization&_include:iterate=Organization:partof",
     "Patient/p1", "Organization/o1,Organization/o2"},
    {SEARCH, "Organization", "_id=o1&_include:iterate=Organization:partof", "Organization/o1",
     "Organization/o2"},
    {SEARCH, "Organization", "_id=o1&_include:recurse=Organization:partof", "Organization/o1",
     "Organization/o2"},
    /* without :iterate, one level only */
    {SEARCH, "Organization", "_id=c0&_include=Organization:partof", "Organization/c0",
     "Organization/c1"},
    /* a directive without :iterate does not apply to included resources, also when
     * another one iterates */
    {SEARCH, "Organization",
     "_id=c0&_include=Organization:partof"
     "&_revinclude:iterate=Patient:organization",
     "Organization/c0", "Organization/c1"},
    /* a match is never included again */
    {SEARCH, "Organization", "_id=o1,o2&_include=Organization:partof",
     "Organization/o1,Organization/o2", ""},
    {SEARCH, "Patient", "_id=p1,p3&_include=Patient:link", "Patient/p1,Patient/p3", ""},
    /* two matches with one target: included once */
    {SEARCH, "Observation", "subject=Patient/p1&_include=Observation:subject",
     "Observation/obs1,Observation/obs2,Observation/obs4", "Patient/p1"},
    /* obs2's performer pr2 is deleted: not included */
    {SEARCH, "Observation", "subject=Patient/p1&_include=Observation:performer",
     "Observation/obs1,Observation/obs2,Observation/obs4", "Practitioner/pr1"},
    {SEARCH, "Observation", "_id=obs2&_include=Observation:performer", "Observation/obs2", ""},
    {SEARCH, "Observation", "_id=obs1&_include=*", "Observation/obs1",
     "Patient/p1,Practitioner/pr1"},
    {SEARCH, "Observation", "_id=obs1&_include=Observation:*", "Observation/obs1",
     "Patient/p1,Practitioner/pr1"},
    {SEARCH, "Observation", "_id=obs1&_include=Observation:*:Practitioner", "Observation/obs1",
     "Practitioner/pr1"},
    {SEARCH, "Patient", "_id=p1&_revinclude=Observation:subject", "Patient/p1",
     "Observation/obs1,Observation/obs2,Observation/obs4"},
    {SEARCH, "Patient", "_id=p1&_revinclude=Observation:subject:Patient", "Patient/p1",
     "Observation/obs1,Observation/obs2,Observation/obs4"},
    {SEARCH, "Patient", "_id=p1&_revinclude=*", "Patient/p1",
     "Encounter/e1,MedicationRequest/mr1,Observation/obs1,Observation/obs2,Observation/obs4,"
     "Patient/p3,Task/t1"},
    {SEARCH, "Patient", "_id=p2&_revinclude=Observation:focus", "Patient/p2", "Observation/obs4"},
    {SEARCH, "Patient", "_id=p2&_revinclude=Observation:subject&_revinclude=Encounter:subject",
     "Patient/p2", "Observation/obs3"},
    /* an iterate revinclude from an included resource */
    {SEARCH, "Encounter",
     "_id=e1&_include=Encounter:subject&_revinclude:iterate=Observation:subject", "Encounter/e1",
     "Observation/obs1,Observation/obs2,Observation/obs4,Patient/p1"},
    {SEARCH, "Patient",
     "_id=p1&_revinclude=Observation:subject&_include:iterate=Observation:performer", "Patient/p1",
     "Observation/obs1,Observation/obs2,Observation/obs4,Practitioner/pr1"},
    /* iterate from the matches and from what the other directive added */
    {SEARCH, "Practitioner",
     "_id=pr1&_revinclude=MedicationRequest:requester"
     "&_include:iterate=MedicationRequest:medication",
     "Practitioner/pr1", "Medication/m1,MedicationRequest/mr1"},
    /* no matches, nothing included */
    {SEARCH, "Patient", "_id=nobody&_include=Patient:organization", "", ""},
    /* compartment search: the patient's resources of one type */
    {COMPARTMENT, "Observation", "", "Observation/obs1,Observation/obs2,Observation/obs4", ""},
    {COMPARTMENT, "Observation", "_id=obs1,obs3", "Observation/obs1", ""},
    {COMPARTMENT, "Task", "", "Task/t1", ""},
    {COMPARTMENT, "Patient", "", "Patient/p1,Patient/p3", ""},
    {COMPARTMENT, "Encounter", "_include=Encounter:service-provider", "Encounter/e1",
     "Organization/o1"},
};

static void test_search_cases(void **state)
{
    fixture *f = *state;
    for (size_t c = 0; c < sizeof(search_cases) / sizeof(search_cases[0]); c++) {
        json_t *b =
            run(f, search_cases[c].kind, search_cases[c].type, search_cases[c].query, false, NULL);
        char *m = ids_of(b, "match"), *inc = ids_of(b, "include");
        if (strcmp(m, search_cases[c].matches) != 0 || strcmp(inc, search_cases[c].includes) != 0)
            fail_msg("%s?%s:\n  matches  '%s'\n  expected '%s'\n  includes '%s'\n  expected '%s'",
                     search_cases[c].type, search_cases[c].query, m, search_cases[c].matches, inc,
                     search_cases[c].includes);
        assert_disjoint(m, inc);
        /* total counts the matches only */
        size_t nmatch = *m ? 1 : 0;
        for (const char *p = m; *p; p++)
            nmatch += *p == ',';
        assert_int_equal(json_integer_value(json_object_get(b, "total")), nmatch);
        /* a valid Bundle: no empty entry array */
        json_t *entry = json_object_get(b, "entry");
        assert_true(!entry || json_array_size(entry) > 0);
        free(m);
        free(inc);
        json_decref(b);
    }
}

/* Refused with 400 (SV_ERR_INVALID), or under lenient answered and left out of self. */
static const struct {
    kind kind;
    const char *type, *query;
    sv_err err;
} bad_cases[] = {
    {SEARCH, "Patient", "_include=Observation:subject", SV_ERR_INVALID},
    {SEARCH, "Patient", "_include=Patient:name", SV_ERR_INVALID},
    {SEARCH, "Patient", "_include=Patient:organization:Practitioner", SV_ERR_INVALID},
    {SEARCH, "Patient", "_include=Patient", SV_ERR_INVALID},
    {SEARCH, "Patient", "_include=Patient:organization:Organization:x", SV_ERR_INVALID},
    {SEARCH, "Patient", "_include=Nothing:organization", SV_ERR_INVALID},
    {SEARCH, "Patient", "_include:deep=Patient:organization", SV_ERR_INVALID},
    {SEARCH, "Patient", "_revinclude=Observation:performer:Practitioner", SV_ERR_INVALID},
    {SEARCH, "Patient", "_revinclude=Encounter:service-provider", SV_ERR_INVALID},
    {SEARCH, "Patient", "_summary=maybe", SV_ERR_INVALID},
    {SEARCH, "Patient", "_summary=true&_summary=data", SV_ERR_INVALID},
    {SEARCH, "Patient", "_elements=nmae", SV_ERR_INVALID},
    {SEARCH, "Patient", "_elements=Patient.nmae", SV_ERR_INVALID},
    {SEARCH, "Patient", "_elements=name.family", SV_ERR_INVALID},
    {SEARCH, "Patient", "_elements=name&_summary=true", SV_ERR_INVALID},
    {SEARCH, "Patient", "_contained=true", SV_ERR_INVALID},
    {SEARCH, "Patient", "_containedType=contained", SV_ERR_INVALID},
    {COMPARTMENT, "Organization", "", SV_ERR_INVALID},
    {EVERYTHING, "p1", "_type=Nothing", SV_ERR_INVALID},
    {EVERYTHING, "p1", "_since=yesterday", SV_ERR_INVALID},
    {EVERYTHING, "p1", "_cursor=abc", SV_ERR_INVALID},
    {EVERYTHING, "p1", "start=2020-01-01", SV_ERR_INVALID},
    {EVERYTHING, "p1", "name=x", SV_ERR_INVALID},
    {EVERYTHING, "nobody", "", SV_ERR_NOT_FOUND},
};

static void test_bad_cases(void **state)
{
    fixture *f = *state;
    for (size_t c = 0; c < sizeof(bad_cases) / sizeof(bad_cases[0]); c++) {
        sv_err e = SV_OK;
        json_t *b = run(f, bad_cases[c].kind, bad_cases[c].type, bad_cases[c].query, false, &e);
        if (e != bad_cases[c].err)
            fail_msg("%s?%s: %s, expected %s", bad_cases[c].type, bad_cases[c].query,
                     sv_strerror(e), sv_strerror(bad_cases[c].err));
        json_decref(b);
        if (bad_cases[c].err != SV_ERR_INVALID || bad_cases[c].kind == COMPARTMENT)
            continue;
        /* lenient: answered, and the refused parameter is not in the self link */
        b = run(f, bad_cases[c].kind, bad_cases[c].type, bad_cases[c].query, true, &e);
        if (e)
            fail_msg("lenient %s?%s: %s", bad_cases[c].type, bad_cases[c].query, sv_strerror(e));
        const char *self = json_string_value(
            json_object_get(json_array_get(json_object_get(b, "link"), 0), "url"));
        char name[32];
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(bad_cases[c].query, "=:"),
                 bad_cases[c].query);
        if (strcmp(name, "_summary") != 0 && strcmp(name, "_elements") != 0 && strstr(self, name))
            fail_msg("lenient %s?%s: '%s' in self link %s", bad_cases[c].type, bad_cases[c].query,
                     name, self);
        json_decref(b);
    }
}

/* The self link keeps the result parameters, so that next pages include too. */
static void test_links_keep_result_parameters(void **state)
{
    fixture *f = *state;
    json_t *b = run(f, SEARCH, "Observation",
                    "_count=1&_include=Observation:subject&_elements=status", false, NULL);
    json_t *links = json_object_get(b, "link");
    const char *next = NULL;
    size_t i;
    json_t *l;
    json_array_foreach(links, i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "relation")), "next") == 0)
            next = json_string_value(json_object_get(l, "url"));
    }
    assert_non_null(next);
    assert_non_null(strstr(next, "_include=Observation:subject"));
    assert_non_null(strstr(next, "_elements=status"));
    assert_int_equal(json_array_size(json_object_get(b, "entry")), 2); /* match + its patient */
    json_decref(b);
    /* compartment links stay under the compartment */
    b = run(f, COMPARTMENT, "Observation", "_count=1", false, NULL);
    const char *self =
        json_string_value(json_object_get(json_array_get(json_object_get(b, "link"), 0), "url"));
    static const char want[] = BASE "/Patient/p1/Observation?";
    assert_int_equal(strncmp(self, want, strlen(want)), 0);
    json_decref(b);
}

/* ---- the cap and the depth bound ----------------------------------------------------- */

static bool has_outcome(json_t *bundle, const char *diagnostics_part)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(bundle, "entry"), i, e)
    {
        const char *m = json_string_value(json_object_get(json_object_get(e, "search"), "mode"));
        if (strcmp(m, "outcome") != 0)
            continue;
        json_t *issue = json_array_get(json_object_get(json_object_get(e, "resource"), "issue"), 0);
        assert_string_equal(json_string_value(json_object_get(issue, "severity")), "warning");
        const char *d = json_string_value(json_object_get(issue, "diagnostics"));
        return d && strstr(d, diagnostics_part);
    }
    return false;
}

static void test_depth_bound(void **state)
{
    fixture *f = *state;
    /* c0 reaches c1..c5: the bound (4 levels) stops before c5 and says so */
    json_t *b =
        run(f, SEARCH, "Organization", "_id=c0&_include:iterate=Organization:partof", false, NULL);
    char *inc = ids_of(b, "include");
    assert_string_equal(inc, "Organization/c1,Organization/c2,Organization/c3,Organization/c4");
    assert_true(has_outcome(b, ":iterate stopped after 4 levels"));
    free(inc);
    json_decref(b);
    /* c1 reaches c2..c5 in exactly 4 levels: complete, no warning */
    b = run(f, SEARCH, "Organization", "_id=c1&_include:iterate=Organization:partof", false, NULL);
    inc = ids_of(b, "include");
    assert_string_equal(inc, "Organization/c2,Organization/c3,Organization/c4,Organization/c5");
    assert_false(has_outcome(b, ""));
    free(inc);
    json_decref(b);
}

static void found_add(sv_found_list *l, const char *type, const char *id)
{
    sv_stored s;
    memset(&s, 0, sizeof(s));
    snprintf(s.type, sizeof(s.type), "%s", type);
    snprintf(s.id, sizeof(s.id), "%s", id);
    s.json = "{}";
    s.json_len = 2;
    sv_found_list_add(l, 0, &s);
}

static void test_cap(void **state)
{
    fixture *f = *state;
    sv_include_spec spec = {.reverse = true, .source_type = "Observation", .param = "subject"};
    sv_include_spec spec2 = {.source_type = "Patient", .param = "organization"};
    sv_include_spec specs[2] = {spec, spec2};
    sv_found_list matches = SV_FOUND_LIST_INIT, included = SV_FOUND_LIST_INIT;
    found_add(&matches, "Patient", "p1");
    sv_outcome w = SV_OUTCOME_INIT;
    sv_buf err = SV_BUF_INIT;
    /* 4 reachable (obs1, obs2, obs4, o1), cap 3: three included and a warning */
    sv_include_options opt = {.max_resources = 3};
    assert_int_equal(sv_include_run(f->db, specs, 2, &matches, &opt, &included, &w, &err), SV_OK);
    assert_int_equal(included.len, 3);
    assert_int_equal(w.len, 1);
    assert_int_equal(w.issues[0].severity, SV_SEV_WARNING);
    assert_string_equal(w.issues[0].code, "too-costly");
    assert_non_null(strstr(w.issues[0].diagnostics, "stopped at 3 included resources"));
    sv_found_list_clear(&included);
    sv_outcome_clear(&w);
    /* cap 4: exactly what there is, no warning */
    opt.max_resources = 4;
    assert_int_equal(sv_include_run(f->db, specs, 2, &matches, &opt, &included, &w, &err), SV_OK);
    assert_int_equal(included.len, 4);
    assert_int_equal(w.len, 0);
    sv_found_list_clear(&included);
    sv_found_list_clear(&matches);
    /* rows of resources already in the result do not use up the cap: with obs1 and
     * obs2 matched, cap 1 still reaches obs4, and that is all there is */
    found_add(&matches, "Patient", "p1");
    found_add(&matches, "Observation", "obs1");
    found_add(&matches, "Observation", "obs2");
    opt.max_resources = 1;
    assert_int_equal(sv_include_run(f->db, &spec, 1, &matches, &opt, &included, &w, &err), SV_OK);
    assert_int_equal(included.len, 1);
    assert_string_equal(included.items[0].id, "obs4");
    assert_int_equal(w.len, 0);
    sv_found_list_clear(&included);
    sv_found_list_clear(&matches);
    sv_buf_release(&err);
}

/* ---- views --------------------------------------------------------------------------- */

/* The sorted keys of the first match, comma-separated; and whether it is tagged. */
static char *keys_of_first(json_t *bundle, bool *ret_tagged)
{
    json_t *r = json_object_get(json_array_get(json_object_get(bundle, "entry"), 0), "resource");
    const char *keys[64];
    size_t n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(r, k, v) keys[n++] = k;
    qsort(keys, n, sizeof(keys[0]), cmp_str);
    sv_buf out = SV_BUF_INIT;
    for (size_t i = 0; i < n; i++)
        sv_buf_addf(&out, "%s%s", i ? "," : "", keys[i]);
    *ret_tagged = false;
    size_t i;
    json_array_foreach(json_object_get(json_object_get(r, "meta"), "tag"), i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "code")), "SUBSETTED") == 0)
            *ret_tagged = true;
    }
    return sv_buf_detach(&out, NULL);
}

static const struct {
    const char *type, *query, *keys;
    bool tagged;
} view_cases[] = {
    {"Patient", "_id=p1",
     "active,birthDate,contact,gender,generalPractitioner,id,managingOrganization,maritalStatus,"
     "meta,name,resourceType,text",
     false},
    {"Patient", "_id=p1&_summary=false",
     "active,birthDate,contact,gender,generalPractitioner,id,managingOrganization,maritalStatus,"
     "meta,name,resourceType,text",
     false},
    /* isSummary in R4: not text, contact, maritalStatus, generalPractitioner */
    {"Patient", "_id=p1&_summary=true",
     "active,birthDate,gender,id,managingOrganization,meta,name,resourceType", true},
    {"Patient", "_id=p1&_summary=text", "id,meta,resourceType,text", true},
    /* Observation.status and code are required: kept by text */
    {"Observation", "_id=obs1&_summary=text", "code,id,meta,resourceType,status", true},
    {"Patient", "_id=p1&_summary=data",
     "active,birthDate,contact,gender,generalPractitioner,id,managingOrganization,maritalStatus,"
     "meta,name,resourceType",
     true},
    {"Patient", "_id=p1&_elements=name,birthDate", "birthDate,id,meta,name,resourceType", true},
    {"Patient", "_id=p1&_elements=Patient.gender", "gender,id,meta,resourceType", true},
    {"Observation", "_id=obs1&_elements=valueQuantity,status", "id,meta,resourceType,status", true},
    /* a name for another type leaves the matches whole */
    {"Patient", "_id=p1&_elements=Observation.status",
     "active,birthDate,contact,gender,generalPractitioner,id,managingOrganization,maritalStatus,"
     "meta,name,resourceType,text",
     false},
};

static void test_views(void **state)
{
    fixture *f = *state;
    for (size_t c = 0; c < sizeof(view_cases) / sizeof(view_cases[0]); c++) {
        json_t *b = run(f, SEARCH, view_cases[c].type, view_cases[c].query, false, NULL);
        bool tagged;
        char *keys = keys_of_first(b, &tagged);
        if (strcmp(keys, view_cases[c].keys) != 0 || tagged != view_cases[c].tagged)
            fail_msg("%s?%s: keys '%s'%s, expected '%s'%s", view_cases[c].type, view_cases[c].query,
                     keys, tagged ? " (tagged)" : "", view_cases[c].keys,
                     view_cases[c].tagged ? " (tagged)" : "");
        free(keys);
        json_decref(b);
    }
}

/* Directly: choice elements, backbone recursion, primitive extensions, the tag. */
static void test_render(void **state)
{
    (void)state;
    static const char obs[] =
        "{\"resourceType\":\"Observation\",\"id\":\"x\",\"meta\":{\"versionId\":\"1\"},"
        "\"status\":\"final\",\"_status\":{\"extension\":[{\"url\":\"http://e.org\","
        "\"valueString\":\"s\"}]},\"code\":{\"text\":\"bp\"},\"valueQuantity\":{\"value\":1.5},"
        "\"note\":[{\"text\":\"n\"}],\"component\":[{\"code\":{\"text\":\"sys\"},"
        "\"valueQuantity\":{\"value\":120},\"interpretation\":[{\"text\":\"high\"}]}]}";
    struct sv_search_result r = {.summary = SV_SUMMARY_TRUE};
    sv_buf out = SV_BUF_INIT;
    sv__search_result_render(&r, "Observation", true, obs, strlen(obs), &out);
    json_t *j = parse(out.ptr);
    assert_non_null(json_object_get(j, "valueQuantity"));
    assert_non_null(json_object_get(j, "_status")); /* follows status */
    assert_null(json_object_get(j, "note"));
    json_t *comp = json_array_get(json_object_get(j, "component"), 0);
    assert_non_null(json_object_get(comp, "code"));
    assert_non_null(json_object_get(comp, "valueQuantity"));
    assert_null(json_object_get(comp, "interpretation")); /* not isSummary in a backbone */
    json_t *tag = json_array_get(json_object_get(json_object_get(j, "meta"), "tag"), 0);
    assert_string_equal(json_string_value(json_object_get(tag, "system")),
                        "http://terminology.hl7.org/CodeSystem/v3-ObservationValue");
    assert_string_equal(json_string_value(json_object_get(tag, "code")), "SUBSETTED");
    assert_string_equal(json_string_value(json_object_get(json_object_get(j, "meta"), "versionId")),
                        "1");
    json_decref(j);
    /* _elements=value keeps valueQuantity */
    char *names[] = {"value"};
    struct sv_search_result e = {.elements = names, .nelements = 1};
    sv_buf_reset(&out);
    sv__search_result_render(&e, "Observation", true, obs, strlen(obs), &out);
    j = parse(out.ptr);
    assert_non_null(json_object_get(j, "valueQuantity"));
    assert_null(json_object_get(j, "status"));
    assert_null(json_object_get(j, "component"));
    assert_int_equal(json_object_size(j), 4); /* resourceType, id, meta, valueQuantity */
    json_decref(j);
    /* _elements=valueString keeps only that choice: nothing here */
    char *names2[] = {"valueString"};
    struct sv_search_result e2 = {.elements = names2, .nelements = 1};
    sv_buf_reset(&out);
    sv__search_result_render(&e2, "Observation", true, obs, strlen(obs), &out);
    j = parse(out.ptr);
    assert_null(json_object_get(j, "valueQuantity"));
    assert_int_equal(json_object_size(j), 3);
    json_decref(j);
    /* as an included resource, a plain name does not apply: unchanged text */
    sv_buf_reset(&out);
    sv__search_result_render(&e, "Observation", false, obs, strlen(obs), &out);
    assert_string_equal(out.ptr, obs);
    /* no view: the stored text itself */
    sv_buf_reset(&out);
    sv__search_result_render(NULL, "Observation", true, obs, strlen(obs), &out);
    assert_string_equal(out.ptr, obs);
    sv_buf_release(&out);
}

/* ---- $everything --------------------------------------------------------------------- */

static const char *next_url(json_t *bundle)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(bundle, "link"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "relation")), "next") == 0)
            return json_string_value(json_object_get(l, "url"));
    }
    return NULL;
}

/* Walks every page of $everything from query; returns the sorted set of every
 * resource seen (matches and includes), and the number of pages. */
static char *everything_all(fixture *f, const char *patient, const char *query, int *ret_pages,
                            int64_t *ret_total)
{
    const char *prefix = BASE "/Patient/";
    sv_buf q = SV_BUF_INIT, all = SV_BUF_INIT;
    sv_buf_adds(&q, query);
    int pages = 0;
    const char *ids[256];
    size_t n = 0;
    for (;;) {
        json_t *b = run(f, EVERYTHING, patient, q.ptr, false, NULL);
        pages++;
        *ret_total = json_integer_value(json_object_get(b, "total"));
        size_t i;
        json_t *e;
        json_array_foreach(json_object_get(b, "entry"), i, e)
        {
            json_t *r = json_object_get(e, "resource");
            sv_buf k = SV_BUF_INIT;
            sv_buf_addf(&k, "%s/%s", json_string_value(json_object_get(r, "resourceType")),
                        json_string_value(json_object_get(r, "id")));
            bool dup = false;
            for (size_t d = 0; d < n; d++)
                dup |= strcmp(ids[d], k.ptr) == 0;
            const char *mode =
                json_string_value(json_object_get(json_object_get(e, "search"), "mode"));
            if (dup && strcmp(mode, "match") == 0)
                fail_msg("%s matched on two pages", k.ptr);
            if (dup) {
                sv_buf_release(&k);
                continue;
            }
            assert_true(n < 256);
            ids[n++] = sv_buf_detach(&k, NULL);
        }
        const char *next = next_url(b);
        if (!next) {
            json_decref(b);
            break;
        }
        assert_int_equal(strncmp(next, prefix, strlen(prefix)), 0);
        const char *qs = strchr(next, '?');
        assert_non_null(qs);
        sv_buf_reset(&q);
        sv_buf_adds(&q, qs + 1);
        json_decref(b);
        assert_true(pages < 100);
    }
    qsort(ids, n, sizeof(ids[0]), cmp_str);
    for (size_t k = 0; k < n; k++) {
        sv_buf_addf(&all, "%s%s", k ? "," : "", ids[k]);
        free((char *)ids[k]);
    }
    sv_buf_release(&q);
    *ret_pages = pages;
    return sv_buf_detach(&all, NULL);
}

static void test_everything_pages(void **state)
{
    fixture *f = *state;
    static const char expected[] =
        "Encounter/e1,Medication/m1,MedicationRequest/mr1,Observation/obs1,Observation/obs2,"
        "Observation/obs4,Organization/o1,Organization/o2,Patient/p1,Patient/p3,Practitioner/pr1,"
        "Task/t1";
    static const struct {
        const char *query;
        const char *set;
        int pages;
        int64_t total;
    } cases[] = {
        {"", expected, 1, 8},
        {"_count=1", expected, 8, 8},
        {"_count=3", expected, 3, 8},
        {"_count=7", expected, 2, 8},
        {"_count=8", expected, 1, 8},
        {"_type=Observation", "Observation/obs1,Observation/obs2,Observation/obs4", 1, 3},
        {"_type=Observation,Task&_count=1",
         "Observation/obs1,Observation/obs2,Observation/obs4,Task/t1", 4, 4},
        {"_type=Observation,Practitioner",
         "Observation/obs1,Observation/obs2,Observation/obs4,Practitioner/pr1", 1, 3},
        {"_type=Observation,Patient&_count=4",
         "Observation/obs1,Observation/obs2,Observation/obs4,Patient/p1,Patient/p3", 2, 5},
        {"_type=Organization", "", 1, 0},
        {"_since=2999-01-01T00:00:00Z", "", 1, 0},
        {"_since=2000-01-01T00:00:00Z&_count=2", expected, 4, 8},
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        int pages = 0;
        int64_t total = -1;
        char *set = everything_all(f, "p1", cases[c].query, &pages, &total);
        if (strcmp(set, cases[c].set) != 0 || pages != cases[c].pages || total != cases[c].total)
            fail_msg("$everything?%s:\n  got      %s (%d pages, total %lld)\n  expected %s (%d "
                     "pages, total %lld)",
                     cases[c].query, set, pages, (long long)total, cases[c].set, cases[c].pages,
                     (long long)cases[c].total);
        free(set);
    }
}

/* A resource written between two pages appears on a later page; none is lost. */
static void test_everything_write_between_pages(void **state)
{
    fixture *f = *state;
    json_t *b = run(f, EVERYTHING, "p2", "_count=1", false, NULL);
    char *first = ids_of(b, "match");
    const char *next = next_url(b);
    assert_non_null(next);
    char *qs = strdup(strchr(next, '?') + 1);
    json_decref(b);
    put(&f->rest, "Observation", "late", OBS("late", "Patient/p2", "Practitioner/pr1"));
    sv_buf seen = SV_BUF_INIT;
    sv_buf_adds(&seen, first);
    for (int guard = 0; qs && guard < 10; guard++) {
        b = run(f, EVERYTHING, "p2", qs, false, NULL);
        char *m = ids_of(b, "match");
        sv_buf_addf(&seen, ",%s", m);
        free(m);
        free(qs);
        next = next_url(b);
        qs = next ? strdup(strchr(next, '?') + 1) : NULL;
        json_decref(b);
    }
    assert_non_null(strstr(seen.ptr, "Observation/late"));
    assert_non_null(strstr(seen.ptr, "Observation/obs3"));
    assert_non_null(strstr(seen.ptr, "Patient/p2"));
    sv_buf_release(&seen);
    free(first);
    del(&f->rest, "Observation", "late");
}

static void test_everything_gone_and_parameters(void **state)
{
    fixture *f = *state;
    put(&f->rest, "Patient", "gone", "{\"resourceType\":\"Patient\",\"id\":\"gone\"}");
    del(&f->rest, "Patient", "gone");
    sv_err e = SV_OK;
    json_t *b = run(f, EVERYTHING, "gone", "", false, &e);
    assert_int_equal(e, SV_ERR_GONE);
    assert_null(b);
    /* POST with a Parameters body */
    json_t *params = parse("{\"resourceType\":\"Parameters\",\"parameter\":["
                           "{\"name\":\"_type\",\"valueCode\":\"Observation\"},"
                           "{\"name\":\"_count\",\"valueInteger\":1}]}");
    sv_query q = {0};
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_search_everything(&f->rest, "p1", &q, params, false, &res), SV_OK);
    b = parse(res.body.ptr);
    assert_int_equal(json_array_size(json_object_get(b, "entry")), 1);
    assert_int_equal(json_integer_value(json_object_get(b, "total")), 3);
    const char *next = next_url(b);
    assert_non_null(next);
    assert_non_null(strstr(next, "_type=Observation"));
    assert_non_null(strstr(next, "_cursor="));
    json_decref(b);
    sv_rest_result_clear(&res);
    json_decref(params);
    /* not a Parameters resource */
    params = parse("{\"resourceType\":\"Patient\"}");
    sv_rest_result_init(&res);
    assert_int_equal(sv_search_everything(&f->rest, "p1", &q, params, false, &res), SV_ERR_INVALID);
    sv_rest_result_clear(&res);
    json_decref(params);
}

/* Every include and compartment statement stays on indexes: no table scan, and
 * the compartment pages read one index range in row order (no sort). */
static void test_query_plans(void **state)
{
    fixture *f = *state;
    sv_buf plan = SV_BUF_INIT, err = SV_BUF_INIT;
    assert_int_equal(sv_store_include_explain(f->db, &plan, &err), SV_OK);
    for (char *line = strtok(plan.ptr, "\n"); line; line = strtok(NULL, "\n")) {
        if (strstr(line, "SCAN"))
            fail_msg("a scan: %s", line);
        /* pc_: the access filter's compartment rows of one resource, read by rid */
        if (strncmp(line, "referrers", 9) == 0 && strstr(line, "idx_reference") &&
            !strstr(line, "idx_reference_lookup") && !strstr(line, "pc_ USING"))
            fail_msg("not on the lookup index: %s", line);
        if (strncmp(line, "referrers:", 10) == 0 && strstr(line, "TEMP B-TREE"))
            fail_msg("compartment pages sort: %s", line);
    }
    sv_buf_release(&plan);
    sv_buf_release(&err);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_search_cases),
        cmocka_unit_test(test_bad_cases),
        cmocka_unit_test(test_links_keep_result_parameters),
        cmocka_unit_test(test_depth_bound),
        cmocka_unit_test(test_cap),
        cmocka_unit_test(test_views),
        cmocka_unit_test(test_render),
        cmocka_unit_test(test_everything_pages),
        cmocka_unit_test(test_everything_write_between_pages),
        cmocka_unit_test(test_everything_gone_and_parameters),
        cmocka_unit_test(test_query_plans),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
