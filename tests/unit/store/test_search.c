/*
 * test_search.c - unit tests for store/search: every clause kind and comparator
 * against index rows written by hand (no FHIR parsing involved), OR within a
 * clause, AND across clauses, :not, :missing, current-version-only and
 * not-deleted-only matching, type scoping, paging (offset/limit) and totals.
 *
 * The data (type Observation unless noted; last_updated in ms):
 *   r1  lu 8000 (v2)  name ann/"Ann", jorgensen/"Jørgensen"; code loinc|1234-5
 *                     "Glucose [Mass/volume]"; status |final; subject Patient/p1;
 *                     date 2024-01-01 (day); n 5; q 5.4; url .../ValueSet/a
 *   r2  lu 2000       name anna/"Anna", жанна/"Жанна"; code sct|1234-5 "Glucose";
 *                     status obs-status|final; subject Group/p1; date 2024-01
 *                     (month); n 10; q 100; url .../ValueSet/b
 *   r3  lu 3000       name bob/"Bob", z🙂; code loinc|9999-9 (no text); status
 *                     |amended; subject p2 (untyped, absolute url); date
 *                     2024-01-02T10:00:00.000Z (one ms); n -1.5; no q, no url
 *   r4  lu 4000       no index rows at all
 *   r5  deleted (had r1's rows); c6 a Condition with r1's rows: never matched.
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
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "subject", "Patient", "p1", "Patient/p1");
    add_date(r, "date", "2024-01-01");
    sv_index_rows_add(r, SV_INDEX_NUMBER, "n", NULL, NULL, NULL)->number = 5;
    sv_index_rows_add(r, SV_INDEX_QUANTITY, "q", "http://unitsofmeasure.org", "mg", "mg")->number =
        5.4;
    sv_index_rows_add(r, SV_INDEX_URI, "url", NULL, "http://example.org/fhir/ValueSet/a", NULL);
}

static void rows_r2(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "anna", "Anna");
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "\xd0\xb6\xd0\xb0\xd0\xbd\xd0\xbd\xd0\xb0",
                      "\xd0\x96\xd0\xb0\xd0\xbd\xd0\xbd\xd0\xb0"); /* жанна, Жанна */
    sv_index_rows_add(r, SV_INDEX_TOKEN, "code", SCT, "1234-5", "Glucose");
    sv_index_rows_add(r, SV_INDEX_TOKEN, "status", OBS_STATUS, "final", NULL);
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "subject", "Group", "p1", "Group/p1");
    add_date(r, "date", "2024-01");
    sv_index_rows_add(r, SV_INDEX_NUMBER, "n", NULL, NULL, NULL)->number = 10;
    sv_index_rows_add(r, SV_INDEX_QUANTITY, "q", "http://unitsofmeasure.org", "mg", "mg")->number =
        100;
    sv_index_rows_add(r, SV_INDEX_URI, "url", NULL, "http://example.org/fhir/ValueSet/b", NULL);
}

static void rows_r3(sv_index_rows *r)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "bob", "Bob");
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, "z\xf0\x9f\x99\x82", "z\xf0\x9f\x99\x82");
    sv_index_rows_add(r, SV_INDEX_TOKEN, "code", LOINC, "9999-9", NULL);
    sv_index_rows_add(r, SV_INDEX_TOKEN, "status", NULL, "amended", NULL);
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "subject", NULL, "p2",
                      "http://other.org/fhir/Patient/p2");
    add_date(r, "date", "2024-01-02T10:00:00.000Z");
    sv_index_rows_add(r, SV_INDEX_NUMBER, "n", NULL, NULL, NULL)->number = -1.5;
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
    assert_string_equal(s->type, "Observation");
    assert_false(s->deleted);
    assert_non_null(s->json);
    /* the json is the current version's, and names the resource */
    char want[80];
    snprintf(want, sizeof(want), "{\"id\":\"%s\"", s->id);
    assert_memory_equal(s->json, want, strlen(want));
    assert_int_equal(s->json_len, strlen(s->json));
    if (strcmp(s->id, "r1") == 0) {
        assert_int_equal(s->version, 2);
        assert_int_equal(s->last_updated, 8000);
        assert_string_equal(s->json, "{\"id\":\"r1\",\"v\":2}");
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
} cspec;

typedef struct search_case {
    const char *what;
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
#define REF(t, id)                                                                                 \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_REFERENCE, .system = t, .value = id}, NULL                        \
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
#define URI(x)                                                                                     \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_URI, .value = x}, NULL                                            \
    }
#define MISSING(k, yes)                                                                            \
    {                                                                                              \
        true, {.kind = SV_CLAUSE_MISSING, .number = yes, .index_kind = k}, NULL                    \
    }

#define C(p, ...)                                                                                  \
    {                                                                                              \
        p, false,                                                                                  \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }
#define NOT(p, ...)                                                                                \
    {                                                                                              \
        p, true,                                                                                   \
        {                                                                                          \
            __VA_ARGS__                                                                            \
        }                                                                                          \
    }

static const search_case cases[] = {
    {"no clauses", {{0}}, "r1 r2 r3 r4"},
    /* _id */
    {"_id", {C("_id", ID("r2"))}, "r2"},
    {"_id or", {C("_id", ID("r3"), ID("r1"))}, "r1 r3"},
    {"_id of a deleted resource", {C("_id", ID("r5"))}, ""},
    {"_id of another type", {C("_id", ID("c6"))}, ""},
    /* _lastUpdated (r1 8000, r2 2000, r3 3000, r4 4000) */
    {"lu eq", {C("_lastUpdated", LU(SV_CMP_EQ, 3000, 3000))}, "r3"},
    {"lu ne", {C("_lastUpdated", LU(SV_CMP_NE, 3000, 3000))}, "r1 r2 r4"},
    {"lu lt", {C("_lastUpdated", LU(SV_CMP_LT, 3000, 3999))}, "r2"},
    {"lu le", {C("_lastUpdated", LU(SV_CMP_LE, 3000, 3000))}, "r2 r3"},
    {"lu gt", {C("_lastUpdated", LU(SV_CMP_GT, 3000, 3000))}, "r1 r4"},
    {"lu ge", {C("_lastUpdated", LU(SV_CMP_GE, 3000, 3000))}, "r1 r3 r4"},
    {"lu sa", {C("_lastUpdated", LU(SV_CMP_SA, 2000, 3000))}, "r1 r4"},
    {"lu eb", {C("_lastUpdated", LU(SV_CMP_EB, 3000, 4000))}, "r2"},
    {"lu ap", {C("_lastUpdated", LU(SV_CMP_AP, 2000, 4000))}, "r2 r3 r4"},
    /* string: prefix of the folded value */
    {"string prefix", {C("name", STR("an"))}, "r1 r2"},
    {"string whole value is a prefix", {C("name", STR("ann"))}, "r1 r2"},
    {"string longer prefix", {C("name", STR("anna"))}, "r2"},
    {"string no match", {C("name", STR("ano"))}, ""},
    {"string second value of a resource", {C("name", STR("jorg"))}, "r1"},
    {"string non-ascii prefix", {C("name", STR("\xd0\xb6"))}, "r2"},
    {"string non-ascii longer", {C("name", STR("\xd0\xb6\xd0\xb0"))}, "r2"},
    {"string non-ascii no match", {C("name", STR("\xd0\xb6\xd0\xbe"))}, ""},
    {"string before a 4-byte character", {C("name", STR("z"))}, "r3"},
    {"string with a 4-byte character", {C("name", STR("z\xf0\x9f\x99\x82"))}, "r3"},
    {"string or", {C("name", STR("bob"), STR("anna"))}, "r2 r3"},
    {"string other param", {C("family", STR("an"))}, ""},
    {"exact", {C("name", EXACT("Ann"))}, "r1"},
    {"exact is case-sensitive", {C("name", EXACT("ann"))}, ""},
    {"exact is not a prefix", {C("name", EXACT("J\xc3\xb8r"))}, ""},
    {"exact non-ascii", {C("name", EXACT("J\xc3\xb8rgensen"))}, "r1"},
    {"exact cyrillic", {C("name", EXACT("\xd0\x96\xd0\xb0\xd0\xbd\xd0\xbd\xd0\xb0"))}, "r2"},
    {"contains", {C("name", CONTAINS("nn"))}, "r1 r2"},
    {"contains non-ascii", {C("name", CONTAINS("\xd0\xb0\xd0\xbd\xd0\xbd"))}, "r2"},
    {"contains suffix", {C("name", CONTAINS("sen"))}, "r1"},
    {"contains nothing", {C("name", CONTAINS("xyz"))}, ""},
    /* token */
    {"token system|code", {C("code", TOK(LOINC, "1234-5"))}, "r1"},
    {"token other system|code", {C("code", TOK(SCT, "1234-5"))}, "r2"},
    {"token code in any system", {C("code", CODE("1234-5"))}, "r1 r2"},
    {"token |code: no system", {C("status", TOK(NULL, "final"))}, "r1"},
    {"token system|code with system", {C("status", TOK(OBS_STATUS, "final"))}, "r2"},
    {"token code, with and without system", {C("status", CODE("final"))}, "r1 r2"},
    {"token system|", {C("code", TOK(LOINC, NULL))}, "r1 r3"},
    {"token is scoped by param", {C("status", TOK(LOINC, "1234-5"))}, ""},
    {"token or", {C("code", TOK(LOINC, "9999-9"), TOK(SCT, "1234-5"))}, "r2 r3"},
    {"token :not (includes resources without the param)", {NOT("status", CODE("final"))}, "r3 r4"},
    {"token :not of several", {NOT("status", CODE("final"), CODE("amended"))}, "r4"},
    {"token :not system|code", {NOT("code", TOK(LOINC, "1234-5"))}, "r2 r3 r4"},
    {"token :text prefix", {C("code", TEXT("gluc"))}, "r1 r2"},
    {"token :text longer prefix", {C("code", TEXT("glucose ["))}, "r1"},
    {"token :text needs a text", {C("code", TEXT("9999"))}, ""},
    /* reference */
    {"reference typed", {C("subject", REF("Patient", "p1"))}, "r1"},
    {"reference other type", {C("subject", REF("Group", "p1"))}, "r2"},
    {"reference untyped", {C("subject", REF(NULL, "p1"))}, "r1 r2"},
    {"reference untyped to untyped row", {C("subject", REF(NULL, "p2"))}, "r3"},
    {"reference typed to untyped row", {C("subject", REF("Patient", "p2"))}, ""},
    {"reference url", {C("subject", REFURL("http://other.org/fhir/Patient/p2"))}, "r3"},
    {"reference url as written", {C("subject", REFURL("Patient/p1"))}, "r1"},
    /* date: r1 the day 2024-01-01, r2 the month 2024-01, r3 2024-01-02T10:00:00.000Z */
    {"date eq day", {C("date", DATE(SV_CMP_EQ, "2024-01-01"))}, "r1"},
    {"date eq month", {C("date", DATE(SV_CMP_EQ, "2024-01"))}, "r1 r2 r3"},
    {"date eq next day", {C("date", DATE(SV_CMP_EQ, "2024-01-02"))}, "r3"},
    {"date eq year", {C("date", DATE(SV_CMP_EQ, "2024"))}, "r1 r2 r3"},
    {"date eq other year", {C("date", DATE(SV_CMP_EQ, "2023"))}, ""},
    {"date ne", {C("date", DATE(SV_CMP_NE, "2024-01-01"))}, "r2 r3"},
    {"date lt", {C("date", DATE(SV_CMP_LT, "2024-01-02"))}, "r1 r2"},
    {"date lt nothing earlier", {C("date", DATE(SV_CMP_LT, "2024-01-01"))}, ""},
    {"date gt", {C("date", DATE(SV_CMP_GT, "2024-01-01"))}, "r2 r3"},
    {"date le", {C("date", DATE(SV_CMP_LE, "2024-01-01"))}, "r1 r2"},
    {"date ge", {C("date", DATE(SV_CMP_GE, "2024-01-02"))}, "r2 r3"},
    {"date sa", {C("date", DATE(SV_CMP_SA, "2024-01-01"))}, "r3"},
    {"date eb", {C("date", DATE(SV_CMP_EB, "2024-01-02"))}, "r1"},
    {"date eb month", {C("date", DATE(SV_CMP_EB, "2024-02"))}, "r1 r2 r3"},
    {"date ap", {C("date", DATE(SV_CMP_AP, "2024-01-02"))}, "r2 r3"},
    {"date gt at the ms", {C("date", DATE(SV_CMP_GT, "2024-01-02T10:00:00.000Z"))}, "r2"},
    {"date ge at the ms", {C("date", DATE(SV_CMP_GE, "2024-01-02T10:00:00.000Z"))}, "r2 r3"},
    {"date lt at the ms", {C("date", DATE(SV_CMP_LT, "2024-01-02T10:00:00.000Z"))}, "r1 r2"},
    {"date le at the ms", {C("date", DATE(SV_CMP_LE, "2024-01-02T10:00:00.000Z"))}, "r1 r2 r3"},
    {"date or", {C("date", DATE(SV_CMP_EQ, "2024-01-01"), DATE(SV_CMP_EQ, "2024-01-02"))}, "r1 r3"},
    /* number: r1 5, r2 10, r3 -1.5; eq is [dlow, dhigh) */
    {"number eq", {C("n", NUM(SV_CMP_EQ, 5, 4.5, 5.5))}, "r1"},
    {"number eq other", {C("n", NUM(SV_CMP_EQ, 10, 9.5, 10.5))}, "r2"},
    {"number eq none", {C("n", NUM(SV_CMP_EQ, 5.5, 5.45, 5.55))}, ""},
    {"number eq low bound inclusive", {C("n", NUM(SV_CMP_EQ, 5.5, 5, 6))}, "r1"},
    {"number eq high bound exclusive", {C("n", NUM(SV_CMP_EQ, 4.5, 4, 5))}, ""},
    {"number ne",
     {C("n", NUM(SV_CMP_NE, 5, 4.5, 5.5)), C("n", MISSING(SV_INDEX_NUMBER, 0))},
     "r2 r3"},
    {"number lt", {C("n", NUM(SV_CMP_LT, 5, 0, 0))}, "r3"},
    {"number le", {C("n", NUM(SV_CMP_LE, 5, 0, 0))}, "r1 r3"},
    {"number gt", {C("n", NUM(SV_CMP_GT, 5, 0, 0))}, "r2"},
    {"number ge", {C("n", NUM(SV_CMP_GE, 5, 0, 0))}, "r1 r2"},
    {"number sa", {C("n", NUM(SV_CMP_SA, 5, 0, 0))}, "r2"},
    {"number eb", {C("n", NUM(SV_CMP_EB, 5, 0, 0))}, "r3"},
    {"number ap", {C("n", NUM(SV_CMP_AP, 10, 9, 11))}, "r2"},
    {"number negative", {C("n", NUM(SV_CMP_EQ, -1.5, -1.55, -1.45))}, "r3"},
    {"number or", {C("n", NUM(SV_CMP_EQ, 5, 4.5, 5.5), NUM(SV_CMP_EQ, 10, 9.5, 10.5))}, "r1 r2"},
    /* quantity: r1 5.4, r2 100 */
    {"quantity eq", {C("q", QTY(SV_CMP_EQ, 5.4, 5.35, 5.45))}, "r1"},
    {"quantity ne",
     {C("q", QTY(SV_CMP_NE, 5.4, 5.35, 5.45)), C("q", MISSING(SV_INDEX_QUANTITY, 0))},
     "r2"},
    {"quantity lt", {C("q", QTY(SV_CMP_LT, 50, 0, 0))}, "r1"},
    {"quantity le", {C("q", QTY(SV_CMP_LE, 5.4, 0, 0))}, "r1"},
    {"quantity gt", {C("q", QTY(SV_CMP_GT, 50, 0, 0))}, "r2"},
    {"quantity ge", {C("q", QTY(SV_CMP_GE, 5.4, 0, 0))}, "r1 r2"},
    {"quantity sa", {C("q", QTY(SV_CMP_SA, 50, 0, 0))}, "r2"},
    {"quantity eb", {C("q", QTY(SV_CMP_EB, 50, 0, 0))}, "r1"},
    /* uri: exact */
    {"uri", {C("url", URI("http://example.org/fhir/ValueSet/a"))}, "r1"},
    {"uri is not a prefix", {C("url", URI("http://example.org/fhir/ValueSet"))}, ""},
    /* :missing, per index table */
    {"missing string", {C("name", MISSING(SV_INDEX_STRING, 1))}, "r4"},
    {"missing token", {C("code", MISSING(SV_INDEX_TOKEN, 1))}, "r4"},
    {"missing reference", {C("subject", MISSING(SV_INDEX_REFERENCE, 1))}, "r4"},
    {"missing date", {C("date", MISSING(SV_INDEX_DATE, 1))}, "r4"},
    {"missing number", {C("n", MISSING(SV_INDEX_NUMBER, 1))}, "r4"},
    {"missing quantity", {C("q", MISSING(SV_INDEX_QUANTITY, 1))}, "r3 r4"},
    {"missing uri", {C("url", MISSING(SV_INDEX_URI, 1))}, "r3 r4"},
    {"present string", {C("name", MISSING(SV_INDEX_STRING, 0))}, "r1 r2 r3"},
    {"present quantity", {C("q", MISSING(SV_INDEX_QUANTITY, 0))}, "r1 r2"},
    {"present uri", {C("url", MISSING(SV_INDEX_URI, 0))}, "r1 r2"},
    {"missing looks at the param", {C("nope", MISSING(SV_INDEX_STRING, 1))}, "r1 r2 r3 r4"},
    {"present looks at the param", {C("nope", MISSING(SV_INDEX_TOKEN, 0))}, ""},
    /* AND across clauses */
    {"and", {C("name", STR("an")), C("code", TOK(LOINC, "1234-5"))}, "r1"},
    {"and date", {C("name", STR("an")), C("date", DATE(SV_CMP_GE, "2024-01-02"))}, "r2"},
    {"and not", {C("status", CODE("final")), NOT("code", TOK(LOINC, "1234-5"))}, "r2"},
    {"and not all", {C("status", CODE("final")), NOT("code", CODE("1234-5"))}, ""},
    {"and three",
     {C("_id", ID("r1"), ID("r2"), ID("r3")), C("n", NUM(SV_CMP_GE, 0, 0, 0)),
      C("q", QTY(SV_CMP_LT, 1000, 0, 0))},
     "r1 r2"},
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
        clauses[n] = (sv_clause){
            .param = sc->c[c].param, .negate = sc->c[c].negate, .values = values[n], .nvalues = k};
        n++;
    }
    return n;
}

static void test_clauses(void **state)
{
    (void)state;
    int failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sv_clause clauses[MAXC];
        sv_clause_value values[MAXC][MAXV];
        size_t n = build(&cases[i], clauses, values);
        found f = {SV_BUF_INIT, 0, 0};
        int64_t total = -1;
        sv_buf err = SV_BUF_INIT;
        sv_err e =
            sv_store_search(g->db, "Observation", clauses, n, 0, 100, collect, &f, &total, &err);
        if (e) {
            print_error("%s: %s (%s)\n", cases[i].what, sv_strerror(e), err.ptr);
            failed++;
        } else if (strcmp(f.ids.ptr, cases[i].want) != 0 || total != f.n) {
            print_error("%s: got \"%s\" (total %lld), expected \"%s\"\n", cases[i].what, f.ids.ptr,
                        (long long)total, cases[i].want);
            failed++;
        }
        sv_buf_release(&f.ids);
        sv_buf_release(&err);
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clauses),
        cmocka_unit_test(test_paging_and_totals),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
