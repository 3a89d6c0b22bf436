/*
 * test_search.c - unit tests for store/search: every clause kind and comparator
 * against index rows written by hand (no FHIR parsing involved), OR within a
 * clause, AND across clauses, :not, :missing, chains and _has, current-version-only
 * and not-deleted-only matching, type scoping, sorting on every key kind with
 * missing values, keyset positions forwards and backwards (also while others
 * write), offset paging and totals.
 *
 * The data (type Observation unless noted; last_updated in ms):
 *   r1  lu 8000 (v2)  name ann/"Ann", jorgensen/"Jørgensen"; code loinc|1234-5
 *                     "Glucose [Mass/volume]"; status |final; subject Patient/p1;
 *                     performer Practitioner/x; date 2024-01-01 (day); n 5; q 5.4 mg;
 *                     url .../ValueSet/a; identifier of type MR "123";
 *                     code-value-quantity loinc|1234-5 & 5.4 mg
 *   r2  lu 2000       name anna/"Anna", жанна (not folded: Cyrillic); code sct|1234-5
 *                     "Glucose"; status obs-status|final; subject Group/p1 and by
 *                     identifier urn:cpr|0101; date 2024-01 (month); n 10; q 100 mg;
 *                     url .../ValueSet/b; code-value-quantity sct|1234-5 & 100 mg
 *   r3  lu 3000       name bob/"Bob", z🙂; code loinc|9999-9 (no text); status
 *                     |amended; subject http://other.org/fhir/Patient/p2 (absolute);
 *                     performer http://me/fhir/Practitioner/x (this server's url);
 *                     date 2024-01-02T10:00:00.000Z (one ms); n -1.5; url
 *                     http://example.org/fhir
 *   r4  lu 4000       no index rows at all
 *   r5  deleted (had r1's rows); c6 a Condition with r1's rows: never matched.
 * For chains: Patient p1 (name jensen, organization o1), Patient p2 (name hansen,
 * organization o2), Group p1 (name jensen), Organization o1 "aarhus kommune", o2
 * "odense kommune".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "base/datetime.h"
#include "store/resource.h"
#include "store/schema.h"
#include "store/search.h"

#define LOINC "http://loinc.org"
#define SCT "http://snomed.info/sct"
#define UCUM "http://unitsofmeasure.org"
#define V2 "http://terminology.hl7.org/CodeSystem/v2-0203"
#define OBS_STATUS "http://hl7.org/fhir/observation-status"

typedef struct fixture {
    tmpdb file;
    sv_db *db;
} fixture;

static fixture *g; /* the one database of this file, built once */

static int64_t date_low(const char *text)
{
    sv_datetime_range r;
    if (!sv_datetime_parse(text, strlen(text), &r))
        fail_msg("bad date in the test: %s", text);
    return r.low;
}

static int64_t date_high(const char *text)
{
    sv_datetime_range r;
    if (!sv_datetime_parse(text, strlen(text), &r))
        fail_msg("bad date in the test: %s", text);
    return r.high;
}

static void add_date(sv_index_rows *rows, const char *param, const char *text)
{
    sv_index_row *d = sv_index_rows_add(rows, SV_INDEX_DATE, param, NULL, NULL, NULL);
    d->low = date_low(text);
    d->high = date_high(text);
}

static void rows_r1(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "ann", "Ann");
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "jorgensen", "J\xc3\xb8rgensen");
    sv_index_rows_add(r, SV_INDEX_TOKEN, "code", LOINC, "1234-5", "Glucose [Mass/volume]");
    sv_index_rows_add(r, SV_INDEX_TOKEN, "status", NULL, "final", NULL);
    sv_index_rows_add(r, SV_INDEX_TOKEN, "identifier", "urn:x", "123", NULL);
    sv_index_rows_add_pair(r, "identifier", V2, "MR", NULL, "123");
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "subject", "Patient", "p1", "Patient/p1");
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "performer", "Practitioner", "x", "Practitioner/x");
    add_date(r, "date", "2024-01-01");
    sv_index_rows_add(r, SV_INDEX_NUMBER, "n", NULL, NULL, NULL)->number = 5;
    sv_index_rows_add(r, SV_INDEX_QUANTITY, "q", UCUM, "mg", "mg")->number = 5.4;
    sv_index_rows_add_pair(r, "code-value-quantity", LOINC, "1234-5", UCUM, "mg")->number = 5.4;
    sv_index_row *cd = sv_index_rows_add_pair(r, "code-value-date", LOINC, "1234-5", NULL, NULL);
    cd->low = date_low("2024-01-01");
    cd->high = date_high("2024-01-01");
    sv_index_rows_add(r, SV_INDEX_URI, "url", NULL, "http://example.org/fhir/ValueSet/a", NULL);
}

static void rows_r2(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "anna", "Anna");
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "\xd0\xb6\xd0\xb0\xd0\xbd\xd0\xbd\xd0\xb0",
                      "\xd0\xb6\xd0\xb0\xd0\xbd\xd0\xbd\xd0\xb0"); /* жанна */
    sv_index_rows_add(r, SV_INDEX_TOKEN, "code", SCT, "1234-5", "Glucose");
    sv_index_rows_add(r, SV_INDEX_TOKEN, "status", OBS_STATUS, "final", NULL);
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "subject", "Group", "p1", "Group/p1");
    sv_index_rows_add(r, SV_INDEX_TOKEN, "subject", "urn:cpr", "0101", NULL);
    add_date(r, "date", "2024-01");
    sv_index_rows_add(r, SV_INDEX_NUMBER, "n", NULL, NULL, NULL)->number = 10;
    sv_index_rows_add(r, SV_INDEX_QUANTITY, "q", UCUM, "mg", "mg")->number = 100;
    sv_index_rows_add_pair(r, "code-value-quantity", SCT, "1234-5", UCUM, "mg")->number = 100;
    sv_index_rows_add(r, SV_INDEX_URI, "url", NULL, "http://example.org/fhir/ValueSet/b", NULL);
}

static void rows_r3(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "bob", "Bob");
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "z\xf0\x9f\x99\x82", "z\xf0\x9f\x99\x82");
    sv_index_rows_add(r, SV_INDEX_TOKEN, "code", LOINC, "9999-9", NULL);
    sv_index_rows_add(r, SV_INDEX_TOKEN, "status", NULL, "amended", NULL);
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "subject", "Patient",
                      "http://other.org/fhir/Patient/p2", "http://other.org/fhir/Patient/p2");
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "performer", "Practitioner",
                      "http://me/fhir/Practitioner/x", "http://me/fhir/Practitioner/x");
    add_date(r, "date", "2024-01-02T10:00:00.000Z");
    sv_index_rows_add(r, SV_INDEX_NUMBER, "n", NULL, NULL, NULL)->number = -1.5;
    sv_index_rows_add(r, SV_INDEX_URI, "url", NULL, "http://example.org/fhir", NULL);
}

static void rows_p1(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "jensen", "Jensen");
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "organization", "Organization", "o1",
                      "Organization/o1");
}

static void rows_p2(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "hansen", "Hansen");
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "organization", "Organization", "o2",
                      "Organization/o2");
}

static void rows_group(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "jensen", "Jensen");
}

static void rows_o1(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "aarhus kommune", "Aarhus Kommune");
}

static void rows_o2(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "odense kommune", "Odense Kommune");
}

static void write_one(sv_db *db, const char *type, const char *id, int64_t version, int64_t lu,
                      const char *json, void (*rows_fn)(sv_index_rows *))
{
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    if (rows_fn)
        rows_fn(&rows);
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_begin(db, SV_TX_WRITE, &err);
    if (!e)
        e = sv_store_write(db, type, id, version, lu, json ? "PUT" : "DELETE", json,
                           json ? strlen(json) : 0, &rows, &err);
    if (!e)
        e = sv_db_commit(db, &err);
    if (e)
        fail_msg("write %s/%s: %s (%s)", type, id, sv_strerror(e), err.ptr);
    sv_buf_release(&err);
    sv_index_rows_clear(&rows);
}

static int group_setup(void **state)
{
    (void)state;
    g = calloc(1, sizeof(*g));
    assert_non_null(g);
    tmpdb_make(&g->file);
    g->db = tmpdb_open(&g->file, 5000);
    assert_int_equal(sv_schema_migrate(g->db, NULL, NULL), SV_OK);
    write_one(g->db, "Observation", "r1", 1, 1000, "{\"id\":\"r1\",\"v\":1}", rows_r1);
    write_one(g->db, "Observation", "r2", 1, 2000, "{\"id\":\"r2\"}", rows_r2);
    write_one(g->db, "Observation", "r3", 1, 3000, "{\"id\":\"r3\"}", rows_r3);
    write_one(g->db, "Observation", "r4", 1, 4000, "{\"id\":\"r4\"}", NULL);
    write_one(g->db, "Observation", "r5", 1, 5000, "{\"id\":\"r5\"}", rows_r1);
    write_one(g->db, "Condition", "c6", 1, 6000, "{\"id\":\"c6\"}", rows_r1);
    write_one(g->db, "Observation", "r5", 2, 7000, NULL, rows_r1);
    /* r1 updated last: stays first (insertion order), matched by its current rows */
    write_one(g->db, "Observation", "r1", 2, 8000, "{\"id\":\"r1\",\"v\":2}", rows_r1);
    write_one(g->db, "Patient", "p1", 1, 9000, "{\"id\":\"p1\"}", rows_p1);
    write_one(g->db, "Patient", "p2", 1, 9001, "{\"id\":\"p2\"}", rows_p2);
    write_one(g->db, "Group", "p1", 1, 9002, "{\"id\":\"p1\"}", rows_group);
    write_one(g->db, "Organization", "o1", 1, 9003, "{\"id\":\"o1\"}", rows_o1);
    write_one(g->db, "Organization", "o2", 1, 9004, "{\"id\":\"o2\"}", rows_o2);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    sv_db_close(g->db);
    tmpdb_remove(&g->file);
    free(g);
    return 0;
}

/* ---- collecting results ------------------------------------------------------- */

typedef struct found {
    sv_buf ids; /* "r1 r2" */
    int n;
    int stop_after; /* 0: never */
} found;

static bool collect(void *ctx, const sv_stored *s)
{
    found *f = ctx;
    assert_false(s->deleted);
    assert_non_null(s->json);
    /* the json is the current version's, and names the resource */
    char want[80];
    snprintf(want, sizeof(want), "{\"id\":\"%s\"", s->id);
    assert_memory_equal(s->json, want, strlen(want));
    assert_int_equal(s->json_len, strlen(s->json));
    if (strcmp(s->type, "Observation") == 0 && strcmp(s->id, "r1") == 0) {
        assert_int_equal(s->version, 2);
        assert_int_equal(s->last_updated, 8000);
        assert_string_equal(s->json, "{\"id\":\"r1\",\"v\":2}");
        assert_string_equal(s->method, "PUT");
    }
    assert_true(s->seq > 0);
    if (f->n++)
        sv_buf_addc(&f->ids, ' ');
    sv_buf_adds(&f->ids, s->id);
    return f->stop_after == 0 || f->n < f->stop_after;
}

/* ---- the cases ---------------------------------------------------------------- */

#define MAXV 3
#define MAXC 3

typedef struct vspec {
    bool set;
    sv_clause_value v;
    const char *date; /* SV_CLAUSE_DATE: low/high are taken from this text */
} vspec;

typedef struct cspec {
    const char *param;
    bool negate;
    vspec v[MAXV];
    const sv_clause_link *links;
    size_t nlinks;
} cspec;

typedef struct search_case {
    const char *what;
    const char *type; /* NULL: Observation */
    cspec c[MAXC];
    const char *want; /* matching ids in insertion order */
} search_case;

#define ID(x)                                                                                      \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_ID, .value = x}, NULL                                             \
    }
#define LU(c, lo, hi)                                                                              \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_LAST_UPDATED, .cmp = c, .low = lo, .high = hi}, NULL              \
    }
#define STR(x)                                                                                     \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_STRING, .value = x}, NULL                                         \
    }
#define EXACT(x)                                                                                   \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_STRING_EXACT, .value = x}, NULL                                   \
    }
#define CONTAINS(x)                                                                                \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_STRING_CONTAINS, .value = x}, NULL                                \
    }
#define TOK(s, c)                                                                                  \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_TOKEN, .system = s, .system_set = true, .value = c}, NULL         \
    }
#define CODE(c)                                                                                    \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_TOKEN, .value = c}, NULL                                          \
    }
#define TEXT(x)                                                                                    \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_TOKEN_TEXT, .value = x}, NULL                                     \
    }
#define OFTYPE(s, c, v)                                                                            \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_TOKEN_OF_TYPE, .system = s, .value = c, .value2 = v}, NULL        \
    }
#define REF(t, id)                                                                                 \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_REFERENCE, .system = t, .value = id}, NULL                        \
    }
#define REFALT(t, id, url)                                                                         \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_REFERENCE, .system = t, .value = id, .value2 = url}, NULL         \
    }
#define REFURL(u)                                                                                  \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_REFERENCE_URL, .value = u}, NULL                                  \
    }
#define DATE(c, text)                                                                              \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_DATE, .cmp = c}, text                                             \
    }
#define NUM(c, n, lo, hi)                                                                          \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_NUMBER, .cmp = c, .number = n, .dlow = lo, .dhigh = hi}, NULL     \
    }
#define QTY(c, n, lo, hi)                                                                          \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_QUANTITY, .cmp = c, .number = n, .dlow = lo, .dhigh = hi}, NULL   \
    }
#define QTYU(c, n, lo, hi, s, u)                                                                   \
    {                                                                                              \
        true,                                                                                      \
            {.kind = SV_CLAUSE_QUANTITY,                                                           \
             .cmp = c,                                                                             \
             .number = n,                                                                          \
             .dlow = lo,                                                                           \
             .dhigh = hi,                                                                          \
             .system = s,                                                                          \
             .value = u},                                                                          \
            NULL                                                                                   \
    }
#define URI(x)                                                                                     \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_URI, .value = x}, NULL                                            \
    }
#define BELOW(x)                                                                                   \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_URI_BELOW, .value = x}, NULL                                      \
    }
#define ABOVE(x)                                                                                   \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_URI_ABOVE, .value = x}, NULL                                      \
    }
#define PAIR(pv)                                                                                   \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_COMPOSITE, .parts = pv, .nparts = 2}, NULL                        \
    }
#define MISSING(k, yes)                                                                            \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_MISSING, .number = yes, .index_kind = k}, NULL                    \
    }

#define C(p, ...)                                                                                  \
    {                                                                                              \
        p, false, {__VA_ARGS__}, NULL, 0                                                           \
    }
#define NOT(p, ...)                                                                                \
    {                                                                                              \
        p, true, {__VA_ARGS__}, NULL, 0                                                            \
    }
#define CHAIN(l, p, ...)                                                                           \
    {                                                                                              \
        p, false, {__VA_ARGS__}, l, sizeof(l) / sizeof(l[0])                                       \
    }

/* composite values: code-value-quantity and code-value-date */
static const sv_clause_value loinc_mg_5_4[2] = {
    {.kind = SV_CLAUSE_TOKEN, .system = LOINC, .system_set = true, .value = "1234-5"},
    {.kind = SV_CLAUSE_QUANTITY,
     .cmp = SV_CMP_EQ,
     .dlow = 5.35,
     .dhigh = 5.45,
     .system = UCUM,
     .value = "mg"}};
static const sv_clause_value any_gt_50[2] = {
    {.kind = SV_CLAUSE_TOKEN, .value = "1234-5"},
    {.kind = SV_CLAUSE_QUANTITY, .cmp = SV_CMP_GT, .number = 50}};
static const sv_clause_value loinc_gt_50[2] = {
    {.kind = SV_CLAUSE_TOKEN, .system = LOINC, .system_set = true, .value = "1234-5"},
    {.kind = SV_CLAUSE_QUANTITY, .cmp = SV_CMP_GT, .number = 50}};
static sv_clause_value loinc_on_day[2] = {
    {.kind = SV_CLAUSE_TOKEN, .value = "1234-5"},
    {.kind = SV_CLAUSE_DATE, .cmp = SV_CMP_EQ}}; /* low/high set in group_setup's caller */

/* chains */
static const sv_clause_link to_patient[] = {{false, "Patient", "subject"}};
static const sv_clause_link to_group[] = {{false, "Group", "subject"}};
static const sv_clause_link to_org[] = {{false, "Patient", "subject"},
                                        {false, "Organization", "organization"}};
static const sv_clause_link has_obs[] = {{true, "Observation", "subject"}};
static const sv_clause_link has_patient_obs[] = {{true, "Patient", "organization"},
                                                 {true, "Observation", "subject"}};

static const search_case cases[] = {
    {"no clauses", NULL, {{0}}, "r1 r2 r3 r4"},
    /* _id */
    {"_id", NULL, {C("_id", ID("r2"))}, "r2"},
    {"_id or", NULL, {C("_id", ID("r3"), ID("r1"))}, "r1 r3"},
    {"_id of a deleted resource", NULL, {C("_id", ID("r5"))}, ""},
    {"_id of another type", NULL, {C("_id", ID("c6"))}, ""},
    {"_id and another clause",
     NULL,
     {C("_id", ID("r1"), ID("r2")), C("n", NUM(SV_CMP_GT, 6, 0, 0))},
     "r2"},
    /* _lastUpdated (r1 8000, r2 2000, r3 3000, r4 4000): an instant, so the ranges reduce */
    {"lu eq", NULL, {C("_lastUpdated", LU(SV_CMP_EQ, 3000, 3000))}, "r3"},
    {"lu eq range", NULL, {C("_lastUpdated", LU(SV_CMP_EQ, 2000, 3999))}, "r2 r3"},
    {"lu ne", NULL, {C("_lastUpdated", LU(SV_CMP_NE, 3000, 3000))}, "r1 r2 r4"},
    {"lu lt", NULL, {C("_lastUpdated", LU(SV_CMP_LT, 3000, 3999))}, "r2"},
    {"lu le", NULL, {C("_lastUpdated", LU(SV_CMP_LE, 3000, 3000))}, "r2 r3"},
    {"lu le range", NULL, {C("_lastUpdated", LU(SV_CMP_LE, 3000, 3999))}, "r2 r3"},
    {"lu gt", NULL, {C("_lastUpdated", LU(SV_CMP_GT, 3000, 3000))}, "r1 r4"},
    {"lu ge", NULL, {C("_lastUpdated", LU(SV_CMP_GE, 3000, 3000))}, "r1 r3 r4"},
    {"lu sa", NULL, {C("_lastUpdated", LU(SV_CMP_SA, 2000, 3000))}, "r1 r4"},
    {"lu eb", NULL, {C("_lastUpdated", LU(SV_CMP_EB, 3000, 4000))}, "r2"},
    {"lu ap", NULL, {C("_lastUpdated", LU(SV_CMP_AP, 2000, 4000))}, "r2 r3 r4"},
    /* string: prefix of the folded value */
    {"string prefix", NULL, {C("name", STR("an"))}, "r1 r2"},
    {"string whole value is a prefix", NULL, {C("name", STR("ann"))}, "r1 r2"},
    {"string longer prefix", NULL, {C("name", STR("anna"))}, "r2"},
    {"string no match", NULL, {C("name", STR("ano"))}, ""},
    {"string second value of a resource", NULL, {C("name", STR("jorg"))}, "r1"},
    {"string non-ascii prefix", NULL, {C("name", STR("\xd0\xb6"))}, "r2"},
    {"string non-ascii longer", NULL, {C("name", STR("\xd0\xb6\xd0\xb0"))}, "r2"},
    {"string non-ascii no match", NULL, {C("name", STR("\xd0\xb6\xd0\xbe"))}, ""},
    {"string before a 4-byte character", NULL, {C("name", STR("z"))}, "r3"},
    {"string with a 4-byte character", NULL, {C("name", STR("z\xf0\x9f\x99\x82"))}, "r3"},
    {"string or", NULL, {C("name", STR("bob"), STR("anna"))}, "r2 r3"},
    {"string other param", NULL, {C("family", STR("an"))}, ""},
    {"exact", NULL, {C("name", EXACT("Ann"))}, "r1"},
    {"exact is case-sensitive", NULL, {C("name", EXACT("ann"))}, ""},
    {"exact is not a prefix", NULL, {C("name", EXACT("J\xc3\xb8r"))}, ""},
    {"exact non-ascii", NULL, {C("name", EXACT("J\xc3\xb8rgensen"))}, "r1"},
    {"exact accents count", NULL, {C("name", EXACT("Jorgensen"))}, ""},
    {"exact cyrillic", NULL, {C("name", EXACT("\xd0\xb6\xd0\xb0\xd0\xbd\xd0\xbd\xd0\xb0"))}, "r2"},
    {"contains", NULL, {C("name", CONTAINS("nn"))}, "r1 r2"},
    {"contains non-ascii", NULL, {C("name", CONTAINS("\xd0\xb0\xd0\xbd\xd0\xbd"))}, "r2"},
    {"contains suffix", NULL, {C("name", CONTAINS("sen"))}, "r1"},
    {"contains nothing", NULL, {C("name", CONTAINS("xyz"))}, ""},
    {"contains: % and _ are not wildcards",
     NULL,
     {
         C("name", CONTAINS("a%")),
     },
     ""},
    {"contains: _ is not a wildcard", NULL, {C("name", CONTAINS("a_n"))}, ""},
    /* token */
    {"token system|code", NULL, {C("code", TOK(LOINC, "1234-5"))}, "r1"},
    {"token other system|code", NULL, {C("code", TOK(SCT, "1234-5"))}, "r2"},
    {"token code in any system", NULL, {C("code", CODE("1234-5"))}, "r1 r2"},
    {"token |code: no system", NULL, {C("status", TOK(NULL, "final"))}, "r1"},
    {"token system|code with system", NULL, {C("status", TOK(OBS_STATUS, "final"))}, "r2"},
    {"token code, with and without system", NULL, {C("status", CODE("final"))}, "r1 r2"},
    {"token system|", NULL, {C("code", TOK(LOINC, NULL))}, "r1 r3"},
    {"token is scoped by param", NULL, {C("status", TOK(LOINC, "1234-5"))}, ""},
    {"token or", NULL, {C("code", TOK(LOINC, "9999-9"), TOK(SCT, "1234-5"))}, "r2 r3"},
    {"token :not (includes resources without the param)",
     NULL,
     {NOT("status", CODE("final"))},
     "r3 r4"},
    {"token :not of several", NULL, {NOT("status", CODE("final"), CODE("amended"))}, "r4"},
    {"token :not system|code", NULL, {NOT("code", TOK(LOINC, "1234-5"))}, "r2 r3 r4"},
    {"token :text prefix", NULL, {C("code", TEXT("gluc"))}, "r1 r2"},
    {"token :text longer prefix", NULL, {C("code", TEXT("glucose ["))}, "r1"},
    {"token :text is a prefix of the text", NULL, {C("code", TEXT("mass"))}, ""},
    {"token :text needs a text", NULL, {C("code", TEXT("9999"))}, ""},
    {"token :of-type", NULL, {C("identifier", OFTYPE(V2, "MR", "123"))}, "r1"},
    {"token :of-type any type system", NULL, {C("identifier", OFTYPE(NULL, "MR", "123"))}, "r1"},
    {"token :of-type other value", NULL, {C("identifier", OFTYPE(V2, "MR", "124"))}, ""},
    {"token :of-type other type", NULL, {C("identifier", OFTYPE(V2, "PPN", "123"))}, ""},
    /* reference */
    {"reference typed", NULL, {C("subject", REF("Patient", "p1"))}, "r1"},
    {"reference other type", NULL, {C("subject", REF("Group", "p1"))}, "r2"},
    {"reference untyped", NULL, {C("subject", REF(NULL, "p1"))}, "r1 r2"},
    {"reference absolute url",
     NULL,
     {C("subject", REFURL("http://other.org/fhir/Patient/p2"))},
     "r3"},
    {"reference id is not the url", NULL, {C("subject", REF("Patient", "p2"))}, ""},
    {"reference: ours, relative or absolute",
     NULL,
     {C("performer", REFALT("Practitioner", "x", "http://me/fhir/Practitioner/x"))},
     "r1 r3"},
    {"reference :identifier", NULL, {C("subject", TOK("urn:cpr", "0101"))}, "r2"},
    {"reference or",
     NULL,
     {C("subject", REF("Group", "p1"), REFURL("http://other.org/fhir/Patient/p2"))},
     "r2 r3"},
    /* date: r1 the day 2024-01-01, r2 the month 2024-01, r3 2024-01-02T10:00:00.000Z */
    {"date eq day", NULL, {C("date", DATE(SV_CMP_EQ, "2024-01-01"))}, "r1"},
    {"date eq month", NULL, {C("date", DATE(SV_CMP_EQ, "2024-01"))}, "r1 r2 r3"},
    {"date eq next day", NULL, {C("date", DATE(SV_CMP_EQ, "2024-01-02"))}, "r3"},
    {"date eq year", NULL, {C("date", DATE(SV_CMP_EQ, "2024"))}, "r1 r2 r3"},
    {"date eq other year", NULL, {C("date", DATE(SV_CMP_EQ, "2023"))}, ""},
    {"date eq in a zone", NULL, {C("date", DATE(SV_CMP_EQ, "2024-01-02T11:00:00+01:00"))}, "r3"},
    {"date ne", NULL, {C("date", DATE(SV_CMP_NE, "2024-01-01"))}, "r2 r3"},
    {"date lt", NULL, {C("date", DATE(SV_CMP_LT, "2024-01-02"))}, "r1 r2"},
    {"date lt nothing earlier", NULL, {C("date", DATE(SV_CMP_LT, "2024-01-01"))}, ""},
    {"date gt", NULL, {C("date", DATE(SV_CMP_GT, "2024-01-01"))}, "r2 r3"},
    {"date le (lt, or inside)", NULL, {C("date", DATE(SV_CMP_LE, "2024-01-01"))}, "r1"},
    {"date le month", NULL, {C("date", DATE(SV_CMP_LE, "2024-01"))}, "r1 r2 r3"},
    {"date ge (gt, or inside)", NULL, {C("date", DATE(SV_CMP_GE, "2024-01-02"))}, "r2 r3"},
    {"date sa", NULL, {C("date", DATE(SV_CMP_SA, "2024-01-01"))}, "r3"},
    {"date eb", NULL, {C("date", DATE(SV_CMP_EB, "2024-01-02"))}, "r1"},
    {"date eb month", NULL, {C("date", DATE(SV_CMP_EB, "2024-02"))}, "r1 r2 r3"},
    {"date ap (overlap)", NULL, {C("date", DATE(SV_CMP_AP, "2024-01-02"))}, "r2 r3"},
    {"date gt at the ms", NULL, {C("date", DATE(SV_CMP_GT, "2024-01-02T10:00:00.000Z"))}, "r2"},
    {"date ge at the ms", NULL, {C("date", DATE(SV_CMP_GE, "2024-01-02T10:00:00.000Z"))}, "r2 r3"},
    {"date lt at the ms", NULL, {C("date", DATE(SV_CMP_LT, "2024-01-02T10:00:00.000Z"))}, "r1 r2"},
    {"date le at the ms",
     NULL,
     {C("date", DATE(SV_CMP_LE, "2024-01-02T10:00:00.000Z"))},
     "r1 r2 r3"},
    {"date or",
     NULL,
     {C("date", DATE(SV_CMP_EQ, "2024-01-01"), DATE(SV_CMP_EQ, "2024-01-02"))},
     "r1 r3"},
    {"date range by and",
     NULL,
     {C("date", DATE(SV_CMP_GE, "2024-01-01")), C("date", DATE(SV_CMP_LT, "2024-01-02"))},
     "r1 r2"},
    /* number: r1 5, r2 10, r3 -1.5; eq is [dlow, dhigh) */
    {"number eq", NULL, {C("n", NUM(SV_CMP_EQ, 5, 4.5, 5.5))}, "r1"},
    {"number eq other", NULL, {C("n", NUM(SV_CMP_EQ, 10, 9.5, 10.5))}, "r2"},
    {"number eq none", NULL, {C("n", NUM(SV_CMP_EQ, 5.5, 5.45, 5.55))}, ""},
    {"number eq low bound inclusive", NULL, {C("n", NUM(SV_CMP_EQ, 5.5, 5, 6))}, "r1"},
    {"number eq high bound exclusive", NULL, {C("n", NUM(SV_CMP_EQ, 4.5, 4, 5))}, ""},
    {"number ne (of those with a value)", NULL, {C("n", NUM(SV_CMP_NE, 5, 4.5, 5.5))}, "r2 r3"},
    {"number lt", NULL, {C("n", NUM(SV_CMP_LT, 5, 4.5, 5.5))}, "r3"},
    {"number le", NULL, {C("n", NUM(SV_CMP_LE, 5, 4.5, 5.5))}, "r1 r3"},
    {"number gt", NULL, {C("n", NUM(SV_CMP_GT, 5, 4.5, 5.5))}, "r2"},
    {"number ge", NULL, {C("n", NUM(SV_CMP_GE, 5, 4.5, 5.5))}, "r1 r2"},
    {"number sa: above the implicit range", NULL, {C("n", NUM(SV_CMP_SA, 4, 3.5, 4.5))}, "r1 r2"},
    {"number sa excludes the range", NULL, {C("n", NUM(SV_CMP_SA, 5, 4.5, 5.5))}, "r2"},
    {"number eb: below the implicit range", NULL, {C("n", NUM(SV_CMP_EB, 5, 4.5, 5.5))}, "r3"},
    {"number ap", NULL, {C("n", NUM(SV_CMP_AP, 10, 9, 11))}, "r2"},
    {"number negative", NULL, {C("n", NUM(SV_CMP_EQ, -1.5, -1.55, -1.45))}, "r3"},
    {"number or",
     NULL,
     {C("n", NUM(SV_CMP_EQ, 5, 4.5, 5.5), NUM(SV_CMP_EQ, 10, 9.5, 10.5))},
     "r1 r2"},
    /* quantity: r1 5.4 mg, r2 100 mg */
    {"quantity eq", NULL, {C("q", QTY(SV_CMP_EQ, 5.4, 5.35, 5.45))}, "r1"},
    {"quantity ne", NULL, {C("q", QTY(SV_CMP_NE, 5.4, 5.35, 5.45))}, "r2"},
    {"quantity lt", NULL, {C("q", QTY(SV_CMP_LT, 50, 49.5, 50.5))}, "r1"},
    {"quantity le", NULL, {C("q", QTY(SV_CMP_LE, 5.4, 5.35, 5.45))}, "r1"},
    {"quantity gt", NULL, {C("q", QTY(SV_CMP_GT, 50, 49.5, 50.5))}, "r2"},
    {"quantity ge", NULL, {C("q", QTY(SV_CMP_GE, 5.4, 5.35, 5.45))}, "r1 r2"},
    {"quantity sa", NULL, {C("q", QTY(SV_CMP_SA, 50, 49.5, 50.5))}, "r2"},
    {"quantity eb", NULL, {C("q", QTY(SV_CMP_EB, 50, 49.5, 50.5))}, "r1"},
    {"quantity system|code", NULL, {C("q", QTYU(SV_CMP_GT, 1, 0.5, 1.5, UCUM, "mg"))}, "r1 r2"},
    {"quantity other unit", NULL, {C("q", QTYU(SV_CMP_GT, 1, 0.5, 1.5, UCUM, "g"))}, ""},
    {"quantity ||code matches the code",
     NULL,
     {C("q", QTYU(SV_CMP_GT, 1, 0.5, 1.5, NULL, "mg"))},
     "r1 r2"},
    /* uri */
    {"uri", NULL, {C("url", URI("http://example.org/fhir/ValueSet/a"))}, "r1"},
    {"uri is not a prefix", NULL, {C("url", URI("http://example.org/fhir/ValueSet"))}, ""},
    {"uri :below", NULL, {C("url", BELOW("http://example.org/fhir/ValueSet/"))}, "r1 r2"},
    {"uri :below itself", NULL, {C("url", BELOW("http://example.org/fhir"))}, "r1 r2 r3"},
    {"uri :above",
     NULL,
     {C("url", ABOVE("http://example.org/fhir/ValueSet/a/_history/2"))},
     "r1 r3"},
    {"uri :above no parent", NULL, {C("url", ABOVE("http://other.org/fhir/ValueSet/a"))}, ""},
    /* composite */
    {"composite token & quantity", NULL, {C("code-value-quantity", PAIR(loinc_mg_5_4))}, "r1"},
    {"composite any system & gt", NULL, {C("code-value-quantity", PAIR(any_gt_50))}, "r2"},
    {"composite: both in one row", NULL, {C("code-value-quantity", PAIR(loinc_gt_50))}, ""},
    {"composite token & date", NULL, {C("code-value-date", PAIR(loinc_on_day))}, "r1"},
    /* :missing, per index table */
    {"missing string", NULL, {C("name", MISSING(SV_INDEX_STRING, 1))}, "r4"},
    {"missing token", NULL, {C("code", MISSING(SV_INDEX_TOKEN, 1))}, "r4"},
    {"missing reference", NULL, {C("subject", MISSING(SV_INDEX_REFERENCE, 1))}, "r4"},
    {"missing reference: an identifier is a value",
     NULL,
     {C("subject", MISSING(SV_INDEX_REFERENCE, 0))},
     "r1 r2 r3"},
    {"missing date", NULL, {C("date", MISSING(SV_INDEX_DATE, 1))}, "r4"},
    {"missing number", NULL, {C("n", MISSING(SV_INDEX_NUMBER, 1))}, "r4"},
    {"missing quantity", NULL, {C("q", MISSING(SV_INDEX_QUANTITY, 1))}, "r3 r4"},
    {"missing uri", NULL, {C("url", MISSING(SV_INDEX_URI, 1))}, "r4"},
    {"missing composite",
     NULL,
     {C("code-value-quantity", MISSING(SV_INDEX_COMPOSITE, 1))},
     "r3 r4"},
    {"present string", NULL, {C("name", MISSING(SV_INDEX_STRING, 0))}, "r1 r2 r3"},
    {"present quantity", NULL, {C("q", MISSING(SV_INDEX_QUANTITY, 0))}, "r1 r2"},
    {"present uri", NULL, {C("url", MISSING(SV_INDEX_URI, 0))}, "r1 r2 r3"},
    {"missing looks at the param", NULL, {C("nope", MISSING(SV_INDEX_STRING, 1))}, "r1 r2 r3 r4"},
    {"present looks at the param", NULL, {C("nope", MISSING(SV_INDEX_TOKEN, 0))}, ""},
    /* AND across clauses */
    {"and", NULL, {C("name", STR("an")), C("code", TOK(LOINC, "1234-5"))}, "r1"},
    {"and date", NULL, {C("name", STR("an")), C("date", DATE(SV_CMP_GE, "2024-01-02"))}, "r2"},
    {"and not", NULL, {C("status", CODE("final")), NOT("code", TOK(LOINC, "1234-5"))}, "r2"},
    {"and not all", NULL, {C("status", CODE("final")), NOT("code", CODE("1234-5"))}, ""},
    {"and three",
     NULL,
     {C("_id", ID("r1"), ID("r2"), ID("r3")), C("n", NUM(SV_CMP_GE, 0, 0, 0)),
      C("q", QTY(SV_CMP_LT, 1000, 0, 0))},
     "r1 r2"},
    {"and missing",
     NULL,
     {C("status", CODE("final")), C("url", MISSING(SV_INDEX_URI, 0))},
     "r1 r2"},
    /* chains: subject:Patient.name, subject:Group.name, two levels */
    {"chain", NULL, {CHAIN(to_patient, "name", STR("jens"))}, "r1"},
    {"chain to another type", NULL, {CHAIN(to_group, "name", STR("jens"))}, "r2"},
    {"chain no match", NULL, {CHAIN(to_patient, "name", STR("hans"))}, ""},
    {"chain or", NULL, {CHAIN(to_patient, "name", STR("hans"), STR("jens"))}, "r1"},
    {"chain two levels", NULL, {CHAIN(to_org, "name", STR("aarhus"))}, "r1"},
    {"chain two levels, other", NULL, {CHAIN(to_org, "name", STR("odense"))}, ""},
    {"chain and a filter",
     NULL,
     {CHAIN(to_patient, "name", STR("jens")), C("n", NUM(SV_CMP_GT, 9, 0, 0))},
     ""},
    {"chain as a filter",
     NULL,
     {C("_id", ID("r1"), ID("r2")), CHAIN(to_patient, "name", STR("j"))},
     "r1"},
    {"chain ending in :missing",
     NULL,
     {CHAIN(to_patient, "name", MISSING(SV_INDEX_STRING, 0))},
     "r1"},
    /* _has */
    {"_has", "Patient", {CHAIN(has_obs, "code", CODE("1234-5"))}, "p1"},
    {"_has none", "Patient", {CHAIN(has_obs, "code", CODE("0000-0"))}, ""},
    {"_has with the type", "Group", {CHAIN(has_obs, "code", TOK(SCT, "1234-5"))}, "p1"},
    {"_has nested", "Organization", {CHAIN(has_patient_obs, "status", CODE("final"))}, "o1"},
    {"_has as a filter",
     "Patient",
     {C("name", STR("j"), STR("h")), CHAIN(has_obs, "name", STR("ann"))},
     "p1"},
    {"_has and :not",
     "Patient",
     {NOT("name", STR("hans")), CHAIN(has_obs, "status", CODE("final"))},
     "p1"},
};

static size_t build(const search_case *sc, sv_clause clauses[MAXC],
                    sv_clause_value values[MAXC][MAXV])
{
    size_t n = 0;
    for (size_t c = 0; c < MAXC && sc->c[c].param; c++) {
        size_t k = 0;
        for (; k < MAXV && sc->c[c].v[k].set; k++) {
            values[n][k] = sc->c[c].v[k].v;
            if (sc->c[c].v[k].date) {
                values[n][k].low = date_low(sc->c[c].v[k].date);
                values[n][k].high = date_high(sc->c[c].v[k].date);
            }
        }
        clauses[n] = (sv_clause){.param = sc->c[c].param,
                                 .negate = sc->c[c].negate,
                                 .values = values[n],
                                 .nvalues = k,
                                 .links = sc->c[c].links,
                                 .nlinks = sc->c[c].nlinks};
        n++;
    }
    return n;
}

/* Each case three ways: the page (insertion order), the total, and the page again with a
 * sort key (another query shape: every clause then filters or drives as for a sort). */
static void test_clauses(void **state)
{
    (void)state;
    loinc_on_day[1].low = date_low("2024-01-01");
    loinc_on_day[1].high = date_high("2024-01-01");
    int failed = 0;
    static const sv_sort_key by_id = {.by = SV_SORT_ID};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sv_clause clauses[MAXC];
        sv_clause_value values[MAXC][MAXV];
        size_t n = build(&cases[i], clauses, values);
        const char *type = cases[i].type ? cases[i].type : "Observation";
        for (int sorted = 0; sorted < 2; sorted++) {
            found f = {SV_BUF_INIT, 0, 0};
            int64_t total = -1;
            sv_buf err = SV_BUF_INIT;
            sv_store_query q = {.type = type,
                                .clauses = clauses,
                                .nclauses = n,
                                .sort = sorted ? &by_id : NULL,
                                .nsort = sorted ? 1 : 0,
                                .limit = 100};
            sv_err e = sv_store_search_run(g->db, &q, collect, &f, &total, NULL, NULL, &err);
            if (e) {
                print_error("%s: %s (%s)\n", cases[i].what, sv_strerror(e), err.ptr);
                failed++;
            } else if (strcmp(f.ids.ptr, cases[i].want) != 0 || total != f.n) {
                print_error("%s%s: got \"%s\" (total %lld), expected \"%s\"\n", cases[i].what,
                            sorted ? " (sorted by _id)" : "", f.ids.ptr, (long long)total,
                            cases[i].want);
                failed++;
            }
            sv_buf_release(&f.ids);
            sv_buf_release(&err);
        }
    }
    assert_int_equal(failed, 0);
}

static void test_paging_and_totals(void **state)
{
    (void)state;
    static const struct {
        int64_t offset, limit;
        const char *want;
    } pages[] = {
        {0, 2, "r1 r2"}, {2, 2, "r3 r4"}, {1, 2, "r2 r3"}, {3, 10, "r4"},
        {4, 10, ""},     {100, 10, ""},   {0, 0, ""},
    };
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++) {
        found f = {SV_BUF_INIT, 0, 0};
        int64_t total = -1;
        assert_int_equal(sv_store_search(g->db, "Observation", NULL, 0, pages[i].offset,
                                         pages[i].limit, collect, &f, &total, NULL),
                         SV_OK);
        assert_string_equal(f.ids.ptr, pages[i].want);
        assert_int_equal(total, 4); /* all matches, whatever the page */
        sv_buf_release(&f.ids);
    }

    /* with a clause */
    sv_clause_value final = {.kind = SV_CLAUSE_TOKEN, .value = "final"};
    sv_clause status = {.param = "status", .values = &final, .nvalues = 1};
    found f = {SV_BUF_INIT, 0, 0};
    int64_t total = -1;
    assert_int_equal(
        sv_store_search(g->db, "Observation", &status, 1, 1, 10, collect, &f, &total, NULL), SV_OK);
    assert_string_equal(f.ids.ptr, "r2");
    assert_int_equal(total, 2);
    sv_buf_release(&f.ids);

    /* no total asked */
    found nt = {SV_BUF_INIT, 0, 0};
    assert_int_equal(
        sv_store_search(g->db, "Observation", NULL, 0, 0, 10, collect, &nt, NULL, NULL), SV_OK);
    assert_string_equal(nt.ids.ptr, "r1 r2 r3 r4");
    sv_buf_release(&nt.ids);

    /* the visitor stops the walk */
    found stop = {SV_BUF_INIT, 0, 2};
    total = -1;
    assert_int_equal(
        sv_store_search(g->db, "Observation", NULL, 0, 0, 10, collect, &stop, &total, NULL), SV_OK);
    assert_string_equal(stop.ids.ptr, "r1 r2");
    assert_int_equal(total, 4);
    sv_buf_release(&stop.ids);

    /* another type: only its own resources */
    int64_t conditions = -1;
    assert_int_equal(
        sv_store_search(g->db, "Condition", NULL, 0, 0, 0, collect, NULL, &conditions, NULL),
        SV_OK);
    assert_int_equal(conditions, 1);
    int64_t none = -1;
    assert_int_equal(
        sv_store_search(g->db, "Encounter", NULL, 0, 0, 10, collect, NULL, &none, NULL), SV_OK);
    assert_int_equal(none, 0);
}

/* ---- sorting and keyset positions --------------------------------------------- */

typedef struct sort_case {
    const char *what;
    sv_sort_key keys[3];
    size_t nkeys;
    const char *want;
} sort_case;

#define KEY(p, kind, desc)                                                                         \
    {                                                                                              \
        .by = SV_SORT_PARAM, .param = p, .index_kind = kind, .descending = desc                    \
    }

static const sort_case sorts[] = {
    {"number", {KEY("n", SV_INDEX_NUMBER, false)}, 1, "r3 r1 r2 r4"},
    {"number descending, missing last", {KEY("n", SV_INDEX_NUMBER, true)}, 1, "r2 r1 r3 r4"},
    {"quantity", {KEY("q", SV_INDEX_QUANTITY, false)}, 1, "r1 r2 r3 r4"},
    {"quantity descending", {KEY("q", SV_INDEX_QUANTITY, true)}, 1, "r2 r1 r3 r4"},
    /* dates: the start ascending (r1 and r2 tie: rid), the end descending */
    {"date", {KEY("date", SV_INDEX_DATE, false)}, 1, "r1 r2 r3 r4"},
    {"date descending", {KEY("date", SV_INDEX_DATE, true)}, 1, "r2 r3 r1 r4"},
    /* strings: the least folded value ascending, the greatest descending */
    {"string", {KEY("name", SV_INDEX_STRING, false)}, 1, "r1 r2 r3 r4"},
    {"string descending", {KEY("name", SV_INDEX_STRING, true)}, 1, "r2 r3 r1 r4"},
    {"token", {KEY("status", SV_INDEX_TOKEN, false)}, 1, "r3 r1 r2 r4"},
    {"reference", {KEY("subject", SV_INDEX_REFERENCE, false)}, 1, "r3 r1 r2 r4"},
    {"uri descending", {KEY("url", SV_INDEX_URI, true)}, 1, "r2 r1 r3 r4"},
    {"_id descending", {{.by = SV_SORT_ID, .descending = true}}, 1, "r4 r3 r2 r1"},
    {"_lastUpdated", {{.by = SV_SORT_LAST_UPDATED}}, 1, "r2 r3 r4 r1"},
    {"_lastUpdated descending",
     {{.by = SV_SORT_LAST_UPDATED, .descending = true}},
     1,
     "r1 r4 r3 r2"},
    {"two keys",
     {KEY("status", SV_INDEX_TOKEN, false), KEY("n", SV_INDEX_NUMBER, true)},
     2,
     "r3 r2 r1 r4"},
    {"three keys, ties to the last",
     {KEY("status", SV_INDEX_TOKEN, true),
      KEY("date", SV_INDEX_DATE, false),
      {.by = SV_SORT_ID, .descending = true}},
     3,
     "r2 r1 r3 r4"},
};

typedef struct walk {
    sv_buf ids;
    int n;
} walk;

static bool walk_collect(void *ctx, const sv_stored *s)
{
    walk *w = ctx;
    if (w->n++)
        sv_buf_addc(&w->ids, ' ');
    sv_buf_adds(&w->ids, s->id);
    return true;
}

/* All pages of size `size` by positions, forwards; returns the ids in order.  Each
 * page's total must be want_total (all matches, wherever the page is), unless -1. */
static char *page_through(sv_db *db, const char *type, const sv_clause *clauses, size_t nclauses,
                          const sv_sort_key *keys, size_t nkeys, int64_t size, int *ret_pages,
                          void (*between)(int page), int64_t want_total)
{
    walk all = {SV_BUF_INIT, 0};
    sv_search_position at;
    memset(&at, 0, sizeof(at));
    int pages = 0;
    for (;;) {
        sv_search_position last;
        memset(&last, 0, sizeof(last));
        walk w = {SV_BUF_INIT, 0};
        sv_store_query q = {.type = type,
                            .clauses = clauses,
                            .nclauses = nclauses,
                            .sort = keys,
                            .nsort = nkeys,
                            .after = at.rid ? &at : NULL,
                            .limit = size};
        sv_buf err = SV_BUF_INIT;
        int64_t total = -1;
        sv_err e = sv_store_search_run(db, &q, walk_collect, &w, want_total >= 0 ? &total : NULL,
                                       NULL, &last, &err);
        if (e)
            fail_msg("page %d: %s (%s)", pages, sv_strerror(e), err.ptr);
        if (want_total >= 0 && total != want_total)
            fail_msg("page %d: total %lld, want %lld", pages, (long long)total,
                     (long long)want_total);
        sv_buf_release(&err);
        if (w.n) {
            if (all.n)
                sv_buf_addc(&all.ids, ' ');
            sv_buf_adds(&all.ids, w.ids.ptr);
            all.n += w.n;
        }
        sv_buf_release(&w.ids);
        pages++;
        if (!last.rid || pages > 100) {
            sv_search_position_clear(&last);
            break;
        }
        sv_search_position_clear(&at);
        at = last;
        if (between)
            between(pages);
    }
    sv_search_position_clear(&at);
    *ret_pages = pages;
    return sv_buf_detach(&all.ids, NULL);
}

/* The same, backwards from after the last row: pages of rows before the position. */
static char *page_back(sv_db *db, const char *type, const sv_sort_key *keys, size_t nkeys,
                       int64_t size)
{
    /* the position of the last row */
    sv_search_position end;
    memset(&end, 0, sizeof(end));
    walk w0 = {SV_BUF_INIT, 0};
    sv_store_query q = {.type = type, .sort = keys, .nsort = nkeys, .limit = 1000};
    assert_int_equal(sv_store_search_run(db, &q, walk_collect, &w0, NULL, NULL, &end, NULL), SV_OK);
    sv_buf_release(&w0.ids);
    /* pages before the last row; each comes nearest first */
    sv_buf out = SV_BUF_INIT;
    sv_search_position at = end;
    int guard = 0;
    for (;;) {
        sv_search_position farthest;
        memset(&farthest, 0, sizeof(farthest));
        walk w = {SV_BUF_INIT, 0};
        sv_store_query b = {.type = type,
                            .sort = keys,
                            .nsort = nkeys,
                            .after = &at,
                            .backward = true,
                            .limit = size};
        assert_int_equal(sv_store_search_run(db, &b, walk_collect, &w, NULL, NULL, &farthest, NULL),
                         SV_OK);
        if (w.n) {
            if (out.len)
                sv_buf_addc(&out, '|');
            sv_buf_adds(&out, w.ids.ptr);
        }
        sv_buf_release(&w.ids);
        sv_search_position_clear(&at);
        at = farthest;
        if (!at.rid || ++guard > 100)
            break;
    }
    sv_search_position_clear(&at);
    return sv_buf_detach(&out, NULL);
}

static void test_sort(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(sorts) / sizeof(sorts[0]); i++) {
        const sort_case *sc = &sorts[i];
        /* the whole order at once */
        walk w = {SV_BUF_INIT, 0};
        sv_store_query q = {
            .type = "Observation", .sort = sc->keys, .nsort = sc->nkeys, .limit = 100};
        assert_int_equal(sv_store_search_run(g->db, &q, walk_collect, &w, NULL, NULL, NULL, NULL),
                         SV_OK);
        if (strcmp(w.ids.ptr, sc->want) != 0) {
            print_error("sort %s: got \"%s\", expected \"%s\"\n", sc->what, w.ids.ptr, sc->want);
            failed++;
        }
        sv_buf_release(&w.ids);
        /* page by page, every size: the same order, each row once */
        for (int64_t size = 1; size <= 4; size++) {
            int pages = 0;
            char *got = page_through(g->db, "Observation", NULL, 0, sc->keys, sc->nkeys, size,
                                     &pages, NULL, 4);
            if (strcmp(got, sc->want) != 0) {
                print_error("sort %s, pages of %lld: got \"%s\"\n", sc->what, (long long)size, got);
                failed++;
            }
            free(got);
        }
        /* backwards from the last row, in pages of 2: the rows before it, nearest first */
        char *back = page_back(g->db, "Observation", sc->keys, sc->nkeys, 2);
        /* expected: want without its last id, reversed, split in twos */
        char want[128], rev[4][16];
        snprintf(want, sizeof(want), "%s", sc->want);
        int n = 0;
        for (char *tok = strtok(want, " "); tok && n < 4; tok = strtok(NULL, " "))
            snprintf(rev[n++], sizeof(rev[0]), "%s", tok);
        char expect[128] = "";
        int k = 0;
        for (int j = n - 2; j >= 0; j--, k++) {
            if (k && k % 2 == 0)
                strcat(expect, "|");
            else if (k)
                strcat(expect, " ");
            strcat(expect, rev[j]);
        }
        if (strcmp(back, expect) != 0) {
            print_error("sort %s backwards: got \"%s\", expected \"%s\"\n", sc->what, back, expect);
            failed++;
        }
        free(back);
    }
    /* a clause with a sort: the driver and the keys together */
    sv_clause_value final = {.kind = SV_CLAUSE_TOKEN, .value = "final"};
    sv_clause status = {.param = "status", .values = &final, .nvalues = 1};
    sv_sort_key n_desc = KEY("n", SV_INDEX_NUMBER, true);
    int pages = 0;
    char *got = page_through(g->db, "Observation", &status, 1, &n_desc, 1, 1, &pages, NULL, 2);
    assert_string_equal(got, "r2 r1");
    free(got);
    assert_int_equal(failed, 0);
}

/* ---- keyset pages while others write ------------------------------------------ */

static int64_t day(int d)
{
    return date_low("2024-05-01") + (int64_t)d * 86400000;
}

static void task(const char *id, int version, int deadline_day, const char *owner)
{
    char json[64];
    snprintf(json, sizeof(json), "{\"id\":\"%s\"}", id);
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    sv_index_row *d = sv_index_rows_add(&rows, SV_INDEX_DATE, "deadline", NULL, NULL, NULL);
    d->low = day(deadline_day);
    d->high = day(deadline_day) + 86399999;
    sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "owner", "Organization", owner, NULL);
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_begin(g->db, SV_TX_WRITE, &err);
    if (!e)
        e = sv_store_write(g->db, "Task", id, version, 10000 + version, "PUT", json, strlen(json),
                           &rows, &err);
    if (!e)
        e = sv_db_commit(g->db, &err);
    if (e)
        fail_msg("task %s: %s (%s)", id, sv_strerror(e), err.ptr);
    sv_buf_release(&err);
    sv_index_rows_clear(&rows);
}

static void task_delete(const char *id, int version)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_begin(g->db, SV_TX_WRITE, &err);
    if (!e)
        e = sv_store_write(g->db, "Task", id, version, 20000, "DELETE", NULL, 0, NULL, &err);
    if (!e)
        e = sv_db_commit(g->db, &err);
    if (e)
        fail_msg("delete %s: %s", id, err.ptr);
    sv_buf_release(&err);
}

/* Between the pages of "owner o1, by deadline", in pages of 2 over
 * t1(d1) t2(d2) t3(d2) t4(d4) t5(d5) t6(d6) t7(d7):
 * after page 1 (t1 t2): t1 is deleted, t3 updated (same deadline), a task created before
 *   the position (n1, d0: must not appear) and one after it (n2, d5: must appear, after t5);
 * after page 2 (t3 t4): t5 deleted, t6 updated to another owner, n3 created at d3 (before
 *   the position: not shown) and t2's deadline moved to d9 (it moves: shown again at the end,
 *   the one documented exception). */
static void writes_between(int page)
{
    if (page == 1) {
        task_delete("t1", 2);
        task("t3", 2, 2, "o1");
        task("n1", 1, 0, "o1");
        task("n2", 1, 5, "o1");
    } else if (page == 2) {
        task_delete("t5", 2);
        task("t6", 2, 6, "o2");
        task("n3", 1, 3, "o1");
        task("t2", 2, 9, "o1");
    }
}

static void test_keyset_while_writing(void **state)
{
    (void)state;
    static const struct {
        const char *id;
        int d;
    } tasks[] = {{"t1", 1}, {"t2", 2}, {"t3", 2}, {"t4", 4}, {"t5", 5}, {"t6", 6}, {"t7", 7}};
    for (size_t i = 0; i < sizeof(tasks) / sizeof(tasks[0]); i++)
        task(tasks[i].id, 1, tasks[i].d, "o1");
    task("x1", 1, 3, "o2"); /* another owner: never shown */
    sv_clause_value o1 = {.kind = SV_CLAUSE_REFERENCE, .system = "Organization", .value = "o1"};
    sv_clause owner = {.param = "owner", .values = &o1, .nvalues = 1};
    sv_sort_key deadline = KEY("deadline", SV_INDEX_DATE, false);
    int pages = 0;
    char *got = page_through(g->db, "Task", &owner, 1, &deadline, 1, 2, &pages, writes_between, -1);
    assert_string_equal(got, "t1 t2 t3 t4 n2 t7 t2");
    free(got);

    /* insertion order (no sort): a new resource comes at the end, a deleted one is gone,
     * nothing is skipped or repeated */
    got = page_through(g->db, "Task", &owner, 1, NULL, 0, 2, &pages, NULL, 7);
    assert_string_equal(got, "t2 t3 t4 t7 n1 n2 n3");
    free(got);
}

/* Bad queries are refused, not run. */
static void test_refused(void **state)
{
    (void)state;
    sv_clause_value bad_parts[2] = {{.kind = SV_CLAUSE_DATE}, {.kind = SV_CLAUSE_TOKEN}};
    sv_clause_value v = {.kind = SV_CLAUSE_COMPOSITE, .parts = bad_parts, .nparts = 2};
    sv_clause c = {.param = "x", .values = &v, .nvalues = 1};
    sv_store_query q = {.type = "Observation", .clauses = &c, .nclauses = 1, .limit = 10};
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_store_search_run(g->db, &q, walk_collect, NULL, NULL, NULL, NULL, &err),
                     SV_ERR_INVALID);
    assert_non_null(strstr(err.ptr, "composite"));
    sv_buf_release(&err);
    sv_clause_link links[SV_CLAUSE_MAX_LINKS + 1];
    for (size_t i = 0; i <= SV_CLAUSE_MAX_LINKS; i++)
        links[i] = (sv_clause_link){false, "Patient", "link"};
    sv_clause_value s = {.kind = SV_CLAUSE_STRING, .value = "a"};
    sv_clause chain = {.param = "name",
                       .values = &s,
                       .nvalues = 1,
                       .links = links,
                       .nlinks = SV_CLAUSE_MAX_LINKS + 1};
    q.clauses = &chain;
    assert_int_equal(sv_store_search_run(g->db, &q, walk_collect, NULL, NULL, NULL, NULL, NULL),
                     SV_ERR_INVALID);
}

int main(void)
{
    TMPDB_SKIP_WITHOUT_BACKEND("store/test_search_postgres");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clauses), cmocka_unit_test(test_paging_and_totals),
        cmocka_unit_test(test_sort),    cmocka_unit_test(test_keyset_while_writing),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
