/*
 * test_access.c - the access policy below HTTP (docs/access.md): categories
 * from type and labels, grants derived over time from CareTeam periods and
 * Consents (the rows themselves), proxy grants, "visible only when visible in
 * every compartment", and the write rules (nobody widens their own grants).
 * The HTTP matrix (tests/http/access_matrix.test.mjs) covers the channels; this
 * file pins the interval arithmetic with a fixed clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "base/datetime.h"
#include "fhir/rest.h"
#include "policy/policy.h"
#include "store/access.h"
#include "store/schema.h"

typedef struct fixture {
    tmpdb file;
    sv_db *db;
    sv_rest rest; /* the process itself: no policy */
} fixture;

/* 2026-03-01T00:00:00Z */
#define MARCH_1 1772323200000LL
#define DAY 86400000LL

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->file);
    f->db = tmpdb_open(&f->file, 5000);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    f->rest = (sv_rest){
        .db = f->db, .base_url = "http://localhost/fhir", .default_count = 20, .max_count = 100};
    sv_clock_set_fixed(MARCH_1);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_clock_set_fixed(0);
    sv_db_close(f->db);
    tmpdb_remove(&f->file);
    free(f);
    return 0;
}

static sv_err put_as(fixture *f, const sv_access *a, const char *type, const char *id,
                     const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad json in the test: %s", jerr.text);
    sv_rest r = f->rest;
    r.access = a;
    sv_rest_result res;
    sv_rest_result_init(&res);
    sv_err e = sv_rest_update(&r, type, id, j, NULL, &res);
    sv_rest_result_clear(&res);
    json_decref(j);
    return e;
}

static void put(fixture *f, const char *type, const char *id, const char *text)
{
    assert_int_equal(put_as(f, NULL, type, id, text), SV_OK);
}

/* The grants of patient for holder as "mask@from..to" lines (days from March 1;
 * open ends as "-" and "+"). */
static void grants(fixture *f, const char *patient, const char *holder, char *out, size_t cap)
{
    sv_stmt *st = NULL;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_prepare(f->db,
                                   "SELECT mask, t_from, t_to FROM access_grant WHERE patient = ?"
                                   " AND holder = ? ORDER BY t_from",
                                   &st, &err),
                     SV_OK);
    sv_stmt_bind_text(st, 1, patient);
    sv_stmt_bind_text(st, 2, holder);
    out[0] = '\0';
    size_t n = 0;
    for (;;) {
        bool row = false;
        assert_int_equal(sv_stmt_step(st, &row, &err), SV_OK);
        if (!row)
            break;
        int64_t from = sv_stmt_column_int64(st, 1), to = sv_stmt_column_int64(st, 2);
        char a[24], b[24];
        if (from == SV_ACCESS_NEVER)
            snprintf(a, sizeof(a), "-");
        else
            snprintf(a, sizeof(a), "%lld", (long long)((from - MARCH_1) / DAY));
        if (to == SV_ACCESS_FOREVER)
            snprintf(b, sizeof(b), "+");
        else
            snprintf(b, sizeof(b), "%lld", (long long)((to - MARCH_1) / DAY));
        n += (size_t)snprintf(out + n, cap - n, "%s%lld@%s..%s", n ? " " : "",
                              (long long)sv_stmt_column_int64(st, 0), a, b);
    }
    sv_stmt_finalize(st);
    sv_buf_release(&err);
}

static void test_categories(void **state)
{
    (void)state;
    json_t *obs = json_loads("{\"resourceType\":\"Observation\"}", 0, NULL);
    json_t *soc =
        json_loads("{\"resourceType\":\"Observation\",\"meta\":{\"security\":[{\"system\":"
                   "\"http://samverka.dk/fhir/CodeSystem/category\",\"code\":\"social\"}]}}",
                   0, NULL);
    json_t *weaker =
        json_loads("{\"resourceType\":\"Observation\",\"meta\":{\"security\":[{\"system\":"
                   "\"http://samverka.dk/fhir/CodeSystem/category\",\"code\":\"coordination\"}]}}",
                   0, NULL);
    json_t *psy = json_loads("{\"resourceType\":\"Task\",\"meta\":{\"security\":[{\"system\":"
                             "\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":"
                             "\"PSY\"}]}}",
                             0, NULL);
    assert_int_equal(sv_policy_category("Observation", true, obs), SV_CAT_CLINICAL);
    assert_int_equal(sv_policy_category("Observation", true, soc), SV_CAT_SOCIAL);
    assert_int_equal(sv_policy_category("Observation", true, weaker), SV_CAT_CLINICAL);
    assert_int_equal(sv_policy_category("Task", true, NULL), SV_CAT_COORDINATION);
    assert_int_equal(sv_policy_category("Task", true, psy), SV_CAT_SENSITIVE);
    assert_int_equal(sv_policy_category("MedicationStatement", true, NULL), SV_CAT_MEDICATION);
    assert_int_equal(sv_policy_category("Organization", false, NULL), 0);
    json_decref(obs);
    json_decref(soc);
    json_decref(weaker);
    json_decref(psy);
}

/* A participant period and a deny with its own period split the grant into
 * intervals; the GP and home municipality get coordination only. */
static void test_intervals(void **state)
{
    fixture *f = *state;
    char got[512];
    put(f, "Organization", "gp", "{\"resourceType\":\"Organization\",\"id\":\"gp\"}");
    put(f, "Patient", "x",
        "{\"resourceType\":\"Patient\",\"id\":\"x\",\"managingOrganization\":{\"reference\":"
        "\"Organization/muni\"},\"generalPractitioner\":[{\"reference\":\"Organization/gp\"}]}");
    grants(f, "x", "Organization/gp", got, sizeof(got));
    assert_string_equal(got, "1@-..+");
    grants(f, "x", "Patient/x", got, sizeof(got));
    assert_string_equal(got, "31@-..+");
    /* the hospital in the team from March 11 until (the end of) March 30 */
    put(f, "CareTeam", "t",
        "{\"resourceType\":\"CareTeam\",\"id\":\"t\",\"status\":\"active\",\"subject\":{"
        "\"reference\":\"Patient/x\"},\"participant\":[{\"member\":{\"reference\":"
        "\"Organization/hosp\"},\"period\":{\"start\":\"2026-03-11\",\"end\":\"2026-03-30\"}}]}");
    grants(f, "x", "Organization/hosp", got, sizeof(got));
    /* social and sensitive need a permit: 31 & ~(8|16) = 7 */
    assert_string_equal(got, "7@10..30");
    /* the citizen denies the hospital clinical data from March 21 */
    put(f, "Consent", "c",
        "{\"resourceType\":\"Consent\",\"id\":\"c\",\"status\":\"active\",\"scope\":{\"text\":"
        "\"privacy\"},\"category\":[{\"text\":\"privacy\"}],\"patient\":{\"reference\":"
        "\"Patient/x\"},\"provision\":{\"type\":\"deny\",\"period\":{\"start\":\"2026-03-21\"},"
        "\"actor\":[{\"role\":{\"text\":\"recipient\"},\"reference\":{\"reference\":"
        "\"Organization/hosp\"}}],\"securityLabel\":[{\"system\":"
        "\"http://samverka.dk/fhir/CodeSystem/category\",\"code\":\"clinical\"}]}}");
    grants(f, "x", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "7@10..20 3@20..30");
    /* revoked: back as before, on the next write's derivation */
    put(f, "Consent", "c",
        "{\"resourceType\":\"Consent\",\"id\":\"c\",\"status\":\"inactive\",\"scope\":{\"text\":"
        "\"privacy\"},\"category\":[{\"text\":\"privacy\"}],\"patient\":{\"reference\":"
        "\"Patient/x\"}}");
    grants(f, "x", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "7@10..30");
}

/* A proxy grant without categories covers coordination; with labels, those. */
static void test_proxy(void **state)
{
    fixture *f = *state;
    char got[256];
    put(f, "Patient", "y", "{\"resourceType\":\"Patient\",\"id\":\"y\"}");
    put(f, "Consent", "p",
        "{\"resourceType\":\"Consent\",\"id\":\"p\",\"status\":\"active\",\"scope\":{\"text\":"
        "\"privacy\"},\"category\":[{\"text\":\"proxy\"}],\"patient\":{\"reference\":"
        "\"Patient/y\"},\"provision\":{\"type\":\"permit\",\"actor\":[{\"role\":{\"text\":"
        "\"proxy\"},\"reference\":{\"reference\":\"RelatedPerson/mum\"}}]}}");
    grants(f, "y", "RelatedPerson/mum", got, sizeof(got));
    assert_string_equal(got, "1@-..+");
    put(f, "Consent", "p",
        "{\"resourceType\":\"Consent\",\"id\":\"p\",\"status\":\"active\",\"scope\":{\"text\":"
        "\"privacy\"},\"category\":[{\"text\":\"proxy\"}],\"patient\":{\"reference\":"
        "\"Patient/y\"},\"provision\":{\"type\":\"permit\",\"actor\":[{\"role\":{\"text\":"
        "\"proxy\"},\"reference\":{\"reference\":\"RelatedPerson/mum\"}}],\"securityLabel\":[{"
        "\"system\":\"http://samverka.dk/fhir/CodeSystem/category\",\"code\":\"coordination\"},"
        "{\"system\":\"http://samverka.dk/fhir/CodeSystem/category\",\"code\":\"medication\"}]}}");
    grants(f, "y", "RelatedPerson/mum", got, sizeof(got));
    assert_string_equal(got, "3@-..+");
}

static void access_of(fixture *f, const char *role, sv_access *ret)
{
    sv_policy_who who = {
        .kind = SV_POLICY_PRACTITIONER, .username = "u", .practitioner_role = role};
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_policy_access(f->db, &who, sv_clock_now_ms(), ret, &err), SV_OK);
    sv_buf_release(&err);
}

/* In two compartments: visible only with a grant for both; and a member of the
 * home municipality (coordination only) cannot add it to the team. */
static void test_every_compartment_and_no_self_grant(void **state)
{
    fixture *f = *state;
    put(f, "PractitionerRole", "nurse",
        "{\"resourceType\":\"PractitionerRole\",\"id\":\"nurse\",\"organization\":{\"reference\":"
        "\"Organization/muni\"},\"code\":[{\"coding\":[{\"system\":"
        "\"http://samverka.dk/fhir/CodeSystem/role\",\"code\":\"nurse\"}]}]}");
    put(f, "Patient", "a",
        "{\"resourceType\":\"Patient\",\"id\":\"a\",\"managingOrganization\":{\"reference\":"
        "\"Organization/muni\"}}");
    put(f, "Patient", "b", "{\"resourceType\":\"Patient\",\"id\":\"b\"}");
    put(f, "Communication", "both",
        "{\"resourceType\":\"Communication\",\"id\":\"both\",\"status\":\"completed\","
        "\"subject\":{\"reference\":\"Patient/a\"},\"recipient\":[{\"reference\":\"Patient/b\"}]}");
    put(f, "Communication", "one",
        "{\"resourceType\":\"Communication\",\"id\":\"one\",\"status\":\"completed\","
        "\"subject\":{\"reference\":\"Patient/a\"}}");
    sv_access a;
    access_of(f, "nurse", &a);
    assert_string_equal(a.organisation, "Organization/muni");
    bool v = true;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_access_visible(f->db, &a.filter, "Communication", "one", &v, &err), SV_OK);
    assert_true(v);
    assert_int_equal(sv_access_visible(f->db, &a.filter, "Communication", "both", &v, &err), SV_OK);
    assert_false(v);
    put(f, "CareTeam", "t",
        "{\"resourceType\":\"CareTeam\",\"id\":\"t\",\"status\":\"active\",\"subject\":{"
        "\"reference\":\"Patient/a\"},\"participant\":[{\"member\":{\"reference\":"
        "\"Organization/hosp\"}}]}");
    /* the nurse sees the team (coordination) but may not join it for clinical data */
    assert_int_equal(sv_access_visible(f->db, &a.filter, "CareTeam", "t", &v, &err), SV_OK);
    assert_true(v);
    assert_int_equal(
        put_as(f, &a, "CareTeam", "t",
               "{\"resourceType\":\"CareTeam\",\"id\":\"t\",\"status\":\"active\",\"subject\":{"
               "\"reference\":\"Patient/a\"},\"participant\":[{\"member\":{\"reference\":"
               "\"Organization/hosp\"}},{\"member\":{\"reference\":\"Organization/muni\"}}]}"),
        SV_ERR_FORBIDDEN);
    assert_int_equal(tmpdb_int(f->db, "SELECT version FROM resource WHERE id = 't'"), 1);
    /* the hospital may be told about another organisation joining: not self-widening */
    assert_int_equal(
        put_as(f, &a, "CareTeam", "t",
               "{\"resourceType\":\"CareTeam\",\"id\":\"t\",\"status\":\"active\",\"subject\":{"
               "\"reference\":\"Patient/a\"},\"participant\":[{\"member\":{\"reference\":"
               "\"Organization/hosp\"}},{\"member\":{\"reference\":\"Organization/gp2\"}}]}"),
        SV_OK);
    sv_buf_release(&err);
}

/* Through a memo, the access follows a changed PractitionerRole and a new
 * break-the-glass grant from the next call on, and is otherwise the same. */
static void test_memo(void **state)
{
    fixture *f = *state;
    static const char role[] =
        "{\"resourceType\":\"PractitionerRole\",\"id\":\"r\",\"organization\":{\"reference\":"
        "\"Organization/%s\"},\"code\":[{\"coding\":[{\"system\":"
        "\"http://samverka.dk/fhir/CodeSystem/role\",\"code\":\"%s\"}]}]}";
    char text[512];
    snprintf(text, sizeof(text), role, "muni", "nurse");
    put(f, "PractitionerRole", "r", text);
    sv_policy_memo *m = sv_policy_memo_new();
    sv_policy_who who = {.kind = SV_POLICY_PRACTITIONER, .username = "u", .practitioner_role = "r"};
    sv_access direct, a;
    int64_t now = sv_clock_now_ms();
    assert_int_equal(sv_policy_access(f->db, &who, now, &direct, NULL), SV_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sv_policy_access_memo(f->db, m, &who, now, &a, NULL), SV_OK);
        assert_string_equal(a.organisation, "Organization/muni");
        assert_string_equal(a.role, "nurse");
        assert_int_equal(a.filter.mask, direct.filter.mask);
        assert_true(a.btg_until == SV_ACCESS_NEVER);
        assert_string_equal(sv_policy_purpose(f->db, &a, "x", "TREAT"), "TREAT");
    }
    snprintf(text, sizeof(text), role, "hosp", "teacher");
    put(f, "PractitionerRole", "r", text);
    assert_int_equal(sv_policy_access_memo(f->db, m, &who, now, &a, NULL), SV_OK);
    assert_string_equal(a.organisation, "Organization/hosp");
    assert_int_equal(a.filter.mask, SV_CAT_COORDINATION);
    sv_access_grant g = {.holder = "user:u", .mask = 1, .from = now - 1, .to = now + 3600000};
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(sv_access_grant_add(f->db, "x", &g, "test", NULL), SV_OK);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    assert_int_equal(sv_policy_access_memo(f->db, m, &who, now, &a, NULL), SV_OK);
    assert_true(a.btg_until == g.to);
    assert_string_equal(sv_policy_purpose(f->db, &a, "x", "TREAT"), "ETREAT");
    assert_string_equal(sv_policy_purpose(f->db, &a, "y", "TREAT"), "TREAT");
    sv_policy_memo_free(m);
}

static void derive(fixture *f, const char *patient)
{
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(sv_policy_derive(f->db, patient, NULL), SV_OK);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
}

/* Every source of the derivation (Patient, CareTeam, Encounter, EpisodeOfCare,
 * Consent) read in one statement gives each its grant; derived again with nothing
 * changed, no row is written - the grant rows keep a mark and the worklist copies a
 * value that a rewrite would lose - and a change writes that holder's rows and copies
 * only. */
static void test_derive_again_writes_only_the_change(void **state)
{
    fixture *f = *state;
    char got[256];
    put(f, "Patient", "z",
        "{\"resourceType\":\"Patient\",\"id\":\"z\",\"managingOrganization\":{\"reference\":"
        "\"Organization/muni\"}}");
    put(f, "CareTeam", "t",
        "{\"resourceType\":\"CareTeam\",\"id\":\"t\",\"status\":\"active\",\"subject\":{"
        "\"reference\":\"Patient/z\"},\"participant\":[{\"member\":{\"reference\":"
        "\"Organization/team\"}}]}");
    static const char enc[] =
        "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":\"%s\",\"class\":{"
        "\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"IMP\"},"
        "\"subject\":{\"reference\":\"Patient/z\"},\"serviceProvider\":{\"reference\":"
        "\"Organization/hosp\"}}";
    char text[512];
    snprintf(text, sizeof(text), enc, "in-progress");
    put(f, "Encounter", "e", text);
    put(f, "EpisodeOfCare", "eoc",
        "{\"resourceType\":\"EpisodeOfCare\",\"id\":\"eoc\",\"status\":\"active\","
        "\"patient\":{\"reference\":\"Patient/z\"},\"managingOrganization\":{\"reference\":"
        "\"Organization/home\"},\"period\":{\"start\":\"2026-03-03\"}}");
    put(f, "Consent", "c",
        "{\"resourceType\":\"Consent\",\"id\":\"c\",\"status\":\"active\",\"scope\":{\"text\":"
        "\"privacy\"},\"category\":[{\"text\":\"privacy\"}],\"patient\":{\"reference\":"
        "\"Patient/z\"},\"provision\":{\"type\":\"permit\",\"actor\":[{\"role\":{\"text\":"
        "\"recipient\"},\"reference\":{\"reference\":\"Organization/team\"}}],"
        "\"securityLabel\":[{\"system\":\"http://samverka.dk/fhir/CodeSystem/category\","
        "\"code\":\"social\"}]}}");
    put(f, "Task", "th",
        "{\"resourceType\":\"Task\",\"id\":\"th\",\"status\":\"requested\",\"intent\":"
        "\"order\",\"for\":{\"reference\":\"Patient/z\"},\"owner\":{\"reference\":"
        "\"Organization/hosp\"}}");
    put(f, "Task", "tt",
        "{\"resourceType\":\"Task\",\"id\":\"tt\",\"status\":\"requested\",\"intent\":"
        "\"order\",\"for\":{\"reference\":\"Patient/z\"},\"owner\":{\"reference\":"
        "\"Organization/team\"}}");
    grants(f, "z", "Organization/muni", got, sizeof(got));
    assert_string_equal(got, "1@-..+");
    grants(f, "z", "Organization/team", got, sizeof(got));
    assert_string_equal(got, "15@-..+"); /* the consent permits social */
    grants(f, "z", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "7@-..+");
    grants(f, "z", "Organization/home", got, sizeof(got));
    assert_string_equal(got, "7@2..+");
    static const char ROWS[] = "SELECT COUNT(*) FROM access_grant WHERE patient = 'z'";
    assert_int_equal(tmpdb_int(f->db, ROWS), 5); /* and Patient/z's own */
    /* the copies of the hospital's grant on its Task and on the Encounter's worklist row */
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_combined WHERE patient = 'z'"
                                      " AND g_mask = 7"),
                     2);
    assert_int_equal(sv_db_exec(f->db,
                                "UPDATE access_grant SET reason = 'kept' WHERE patient = 'z';"
                                " UPDATE idx_combined SET g_from = 5 WHERE patient = 'z'",
                                NULL),
                     SV_OK);
    derive(f, "z");
    assert_int_equal(tmpdb_int(f->db, ROWS), 5);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM access_grant WHERE patient = 'z'"
                                      " AND reason = 'kept'"),
                     5);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_combined WHERE patient = 'z'"
                                      " AND g_from = 5"),
                     3);
    /* the stay ends: the hospital's grant goes, and the copy on its Task with it */
    snprintf(text, sizeof(text), enc, "finished");
    put(f, "Encounter", "e", text);
    grants(f, "z", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "");
    assert_int_equal(tmpdb_int(f->db, ROWS), 4);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM access_grant WHERE patient = 'z'"
                                      " AND reason = 'kept'"),
                     4);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_combined c JOIN resource r"
                                      " ON r.rid = c.rid WHERE r.id = 'th' AND c.g_mask IS NULL"),
                     1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_combined c JOIN resource r"
                                      " ON r.rid = c.rid WHERE r.id = 'tt' AND c.g_from = 5"),
                     1);
}

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);
    if (!j)
        fail_msg("bad json in the test: %s", jerr.text);
    return j;
}

/* True when a write of type from a to b keeps what the grants are derived from. */
static bool same(const char *type, const char *a, const char *b)
{
    json_t *x = parse(a), *y = parse(b);
    bool r = sv_policy_grant_inputs_same(type, x, y);
    json_decref(x);
    json_decref(y);
    return r;
}

/* What the derivation reads of each source type: a change of any of it is a change;
 * of anything else, or of an Encounter's status from live to live, is none. */
static void test_grant_inputs(void **state)
{
    (void)state;
    static const char enc[] =
        "{\"resourceType\":\"Encounter\",\"status\":\"in-progress\",\"subject\":{\"reference\":"
        "\"Patient/z\"},\"serviceProvider\":{\"reference\":\"Organization/hosp\"}}";
    assert_true(same("Encounter", enc, enc));
    assert_true(same("Encounter", enc,
                     "{\"resourceType\":\"Encounter\",\"status\":\"onleave\",\"subject\":{"
                     "\"reference\":\"Patient/z\"},\"serviceProvider\":{\"reference\":"
                     "\"Organization/hosp\"},\"period\":{\"start\":\"2026-03-01\"}}"));
    assert_false(same("Encounter", enc,
                      "{\"resourceType\":\"Encounter\",\"status\":\"finished\",\"subject\":{"
                      "\"reference\":\"Patient/z\"},\"serviceProvider\":{\"reference\":"
                      "\"Organization/hosp\"}}"));
    assert_false(same("Encounter", enc,
                      "{\"resourceType\":\"Encounter\",\"status\":\"in-progress\",\"subject\":{"
                      "\"reference\":\"Patient/z\"},\"serviceProvider\":{\"reference\":"
                      "\"Organization/other\"}}"));
    assert_false(same("Encounter", enc,
                      "{\"resourceType\":\"Encounter\",\"status\":\"in-progress\",\"subject\":{"
                      "\"reference\":\"Patient/y\"},\"serviceProvider\":{\"reference\":"
                      "\"Organization/hosp\"}}"));
    assert_false(same("Encounter", enc,
                      "{\"resourceType\":\"Encounter\",\"status\":\"in-progress\",\"subject\":{"
                      "\"reference\":\"Patient/z\"}}"));
    assert_true(same("Patient", "{\"managingOrganization\":{\"reference\":\"Organization/m\"}}",
                     "{\"managingOrganization\":{\"reference\":\"Organization/m\"},"
                     "\"deceasedBoolean\":true}"));
    assert_false(same("Patient", "{\"managingOrganization\":{\"reference\":\"Organization/m\"}}",
                      "{\"managingOrganization\":{\"reference\":\"Organization/n\"}}"));
    assert_false(
        same("Patient", "{}", "{\"generalPractitioner\":[{\"reference\":\"Organization/gp\"}]}"));
    assert_true(same("PractitionerRole", "{\"organization\":{\"reference\":\"Organization/o\"}}",
                     "{\"organization\":{\"reference\":\"Organization/o\"},\"code\":[]}"));
    assert_false(same("PractitionerRole", "{\"organization\":{\"reference\":\"Organization/o\"}}",
                      "{\"organization\":{\"reference\":\"Organization/o\"},\"active\":false}"));
    static const char team[] =
        "{\"status\":\"active\",\"subject\":{\"reference\":\"Patient/z\"},\"participant\":[{"
        "\"member\":{\"reference\":\"Organization/t\"}}]}";
    assert_true(same("CareTeam", team,
                     "{\"status\":\"active\",\"name\":\"x\",\"subject\":{\"reference\":"
                     "\"Patient/z\"},\"participant\":[{\"member\":{\"reference\":"
                     "\"Organization/t\"}}]}"));
    assert_false(same("CareTeam", team,
                      "{\"status\":\"active\",\"subject\":{\"reference\":\"Patient/z\"},"
                      "\"participant\":[{\"member\":{\"reference\":\"Organization/t\"},"
                      "\"period\":{\"end\":\"2026-03-05\"}}]}"));
    assert_false(same("CareTeam", team,
                      "{\"status\":\"inactive\",\"subject\":{\"reference\":\"Patient/z\"},"
                      "\"participant\":[{\"member\":{\"reference\":\"Organization/t\"}}]}"));
    assert_false(same("CareTeam", team,
                      "{\"status\":\"active\",\"period\":{\"start\":\"2026-03-02\"},"
                      "\"subject\":{\"reference\":\"Patient/z\"},\"participant\":[{\"member\":"
                      "{\"reference\":\"Organization/t\"}}]}"));
    assert_false(same("EpisodeOfCare", "{\"status\":\"active\"}", "{\"status\":\"finished\"}"));
    assert_false(same("EpisodeOfCare", "{\"period\":{\"start\":\"2026-03-02\"}}", "{}"));
    assert_false(same("EpisodeOfCare", "{\"managingOrganization\":{\"reference\":\"O/a\"}}",
                      "{\"managingOrganization\":{\"reference\":\"O/b\"}}"));
    assert_true(
        same("EpisodeOfCare", "{\"status\":\"active\"}", "{\"status\":\"active\",\"type\":[]}"));
    assert_false(same("Consent", "{\"provision\":{\"type\":\"permit\"}}",
                      "{\"provision\":{\"type\":\"deny\"}}"));
    assert_false(same("Consent", "{\"patient\":{\"reference\":\"Patient/z\"}}",
                      "{\"patient\":{\"reference\":\"Patient/y\"}}"));
    assert_true(same("Consent", "{\"status\":\"active\"}",
                     "{\"status\":\"active\",\"dateTime\":\"2026-03-01\"}"));
    assert_false(same("Task", "{}", "{}")); /* not a source */
    assert_false(sv_policy_grant_inputs_same("Encounter", NULL, NULL));
}

/* Through the writes (with write hooks, which read the version before): a change of
 * what the grants are derived from derives them, deferred or at once; a write that
 * changes none of it derives nothing (the row removed below is not put back). */
static void test_unchanged_inputs_derive_nothing(void **state)
{
    fixture *f = *state;
    static const sv_rest_hooks hooks = {0};
    f->rest.hooks = &hooks;
    char got[256];
    put(f, "Patient", "z", "{\"resourceType\":\"Patient\",\"id\":\"z\"}");
    put(f, "Patient", "y", "{\"resourceType\":\"Patient\",\"id\":\"y\"}");
    static const char enc[] =
        "{\"resourceType\":\"Encounter\",\"id\":\"e\",\"status\":\"%s\",\"class\":{"
        "\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\",\"code\":\"IMP\"},"
        "\"subject\":{\"reference\":\"Patient/%s\"},\"serviceProvider\":{\"reference\":"
        "\"Organization/%s\"}}";
    char text[512];
    snprintf(text, sizeof(text), enc, "in-progress", "z", "hosp");
    put(f, "Encounter", "e", text);
    grants(f, "z", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "7@-..+");
    static const char DROP[] = "DELETE FROM access_grant WHERE holder = 'Organization/hosp'";
    assert_int_equal(sv_db_exec(f->db, DROP, NULL), SV_OK);
    snprintf(text, sizeof(text), enc, "onleave", "z", "hosp"); /* live to live */
    put(f, "Encounter", "e", text);
    grants(f, "z", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "");
    /* deferred (a MedCom message's writes): the citizen is listed only on a change */
    sv_policy_patients later = {0};
    f->rest.defer_grants = &later;
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    snprintf(text, sizeof(text), enc, "in-progress", "z", "hosp");
    put(f, "Encounter", "e", text);
    assert_int_equal(later.len, 0);
    snprintf(text, sizeof(text), enc, "in-progress", "z", "other");
    put(f, "Encounter", "e", text);
    assert_int_equal(later.len, 1);
    assert_string_equal(later.ids[0], "z");
    assert_int_equal(sv_policy_derive(f->db, "z", NULL), SV_OK);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    sv_policy_patients_clear(&later);
    f->rest.defer_grants = NULL;
    grants(f, "z", "Organization/other", got, sizeof(got));
    assert_string_equal(got, "7@-..+");
    /* at once: each input changed derives */
    snprintf(text, sizeof(text), enc, "in-progress", "z", "hosp");
    put(f, "Encounter", "e", text);
    grants(f, "z", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "7@-..+");
    grants(f, "z", "Organization/other", got, sizeof(got));
    assert_string_equal(got, "");
    snprintf(text, sizeof(text), enc, "in-progress", "y", "hosp"); /* the citizen */
    put(f, "Encounter", "e", text);
    grants(f, "z", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "");
    grants(f, "y", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "7@-..+");
    snprintf(text, sizeof(text), enc, "finished", "y", "hosp"); /* live to not */
    put(f, "Encounter", "e", text);
    grants(f, "y", "Organization/hosp", got, sizeof(got));
    assert_string_equal(got, "");
    put(f, "Patient", "y",
        "{\"resourceType\":\"Patient\",\"id\":\"y\",\"managingOrganization\":{\"reference\":"
        "\"Organization/muni\"}}");
    grants(f, "y", "Organization/muni", got, sizeof(got));
    assert_string_equal(got, "1@-..+");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_categories),
        cmocka_unit_test_setup_teardown(test_intervals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_proxy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_every_compartment_and_no_self_grant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_derive_again_writes_only_the_change, setup, teardown),
        cmocka_unit_test(test_grant_inputs),
        cmocka_unit_test_setup_teardown(test_unchanged_inputs_derive_nothing, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
