/*
 * test_query_plan.c - the common coordination searches stay on indexes: for each,
 * the SQLite plan (EXPLAIN QUERY PLAN) of the page query and of the count query
 * must not SCAN a table (resource, resource_version, idx_*); scanning a subquery's
 * own result (MATERIALIZE/CO-ROUTINE) is fine.  Each case also names the index its
 * driver must use, so that a plan that merely avoids scans by luck is caught.
 *
 * The plans do not depend on data (we never run ANALYZE), so an empty database is
 * enough.  SV_SHOW_PLANS=1 prints every plan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "store/schema.h"
#include "store/search.h"

#define MAXV 3
#define MAXC 3

typedef struct plan_case {
    const char *what;
    const char *type;
    struct {
        const char *param;
        bool negate, coarse;
        sv_clause_value v[MAXV];
        const sv_clause_link *links;
        size_t nlinks;
    } c[MAXC];
    sv_sort_key sort[2];
    bool with_position; /* a keyset page (after a position) */
    bool backward;
    const char *must_use; /* an index the plan must name */
    bool walks_type;      /* reading every resource of the type is expected (sort of all) */
    const char *must_not; /* a step the plan must not have (NULL: none) */
} plan_case;

#define REF(t, id)                                                                                 \
    {                                                                                              \
        .kind = SV_CLAUSE_REFERENCE, .system = t, .value = id, .value2 = "http://b/" id            \
    }
#define CODE(c)                                                                                    \
    {                                                                                              \
        .kind = SV_CLAUSE_TOKEN, .value = c                                                        \
    }
#define TOK(s, c)                                                                                  \
    {                                                                                              \
        .kind = SV_CLAUSE_TOKEN, .system = s, .system_set = true, .value = c                       \
    }
#define DEADLINE                                                                                   \
    {                                                                                              \
        .by = SV_SORT_PARAM, .param = "deadline", .index_kind = SV_INDEX_DATE                      \
    }
#define NEWEST_SENT                                                                                \
    {                                                                                              \
        .by = SV_SORT_PARAM, .param = "sent", .index_kind = SV_INDEX_DATE, .descending = true      \
    }

/* The worklists read one range of combined rows (store/combined.h) that holds exactly
 * their matches with the sort date: no seek per candidate for its status, none per
 * match for its sort key.  A plan that goes back to those has a CORRELATED step (the
 * one allowed reads idx_combined_rid: it tells apart the rows of a resource with
 * several combined rows, multi = 1, and runs for those only; see forbidden_in). */
#define PER_ROW_SEEKS "CORRELATED"

static const sv_clause_link to_patient[] = {{false, "Patient", "subject"}};
static const sv_clause_link has_task[] = {{true, "Task", "patient"}};

static const plan_case cases[] = {
    {"Task by owner and status, by deadline",
     "Task",
     {{"owner", false, false, {REF("Organization", "o1")}, NULL, 0},
      {"status", false, true, {CODE("requested"), CODE("in-progress")}, NULL, 0}},
     {DEADLINE},
     false,
     false,
     "idx_combined_lookup",
     false,
     PER_ROW_SEEKS},
    {"the next page of it (keyset)",
     "Task",
     {{"owner", false, false, {REF("Organization", "o1")}, NULL, 0},
      {"status", false, true, {CODE("requested"), CODE("in-progress")}, NULL, 0}},
     {DEADLINE},
     true,
     false,
     "idx_combined_lookup",
     false,
     PER_ROW_SEEKS},
    {"the previous page of it (keyset, backward)",
     "Task",
     {{"owner", false, false, {REF("Organization", "o1")}, NULL, 0},
      {"status", false, true, {CODE("requested"), CODE("in-progress")}, NULL, 0}},
     {DEADLINE},
     true,
     true,
     "idx_combined_lookup",
     false,
     PER_ROW_SEEKS},
    {"CarePlan by subject and status",
     "CarePlan",
     {{"subject", false, false, {REF("Patient", "p1")}, NULL, 0},
      {"status", false, true, {CODE("active")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_reference_lookup",
     false,
     NULL},
    {"Encounter by status and location",
     "Encounter",
     {{"status", false, true, {CODE("in-progress")}, NULL, 0},
      {"location", false, false, {REF("Location", "l1")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_reference_lookup",
     false,
     NULL},
    {"Encounter by status and service provider",
     "Encounter",
     {{"status", false, true, {CODE("in-progress"), CODE("onleave")}, NULL, 0},
      {"service-provider", false, false, {REF("Organization", "o1")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_combined_lookup",
     false,
     PER_ROW_SEEKS},
    {"Patient by identifier",
     "Patient",
     {{"identifier", false, false, {TOK("urn:oid:1.2.208.176.1.2", "0101701234")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_token_lookup",
     false,
     NULL},
    {"Communication by recipient",
     "Communication",
     {{"recipient", false, false, {REF("Organization", "o1")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_combined_lookup",
     false,
     PER_ROW_SEEKS},
    {"Communication by recipient, newest first",
     "Communication",
     {{"recipient", false, false, {REF("Organization", "o1")}, NULL, 0}},
     {NEWEST_SENT},
     false,
     false,
     "idx_combined_lookup",
     false,
     PER_ROW_SEEKS},
    {"Task by owner and a status with a system (not combined: the rows hold the code)",
     "Task",
     {{"owner", false, false, {REF("Organization", "o1")}, NULL, 0},
      {"status", false, true, {TOK("http://hl7.org/fhir/task-status", "requested")}, NULL, 0}},
     {DEADLINE},
     false,
     false,
     "idx_token_rid",
     false,
     NULL},
    {"CareTeam by participant",
     "CareTeam",
     {{"participant", false, false, {REF("Organization", "o1")}, NULL, 0},
      {"status", false, true, {CODE("active")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_reference_lookup",
     false,
     NULL},
    {"all Tasks of a status (a big count)",
     "Task",
     {{"status", false, true, {CODE("requested")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_token_lookup",
     false,
     NULL},
    /* the single-citizen searches of bench/search.sh */
    {"Task by patient",
     "Task",
     {{"patient", false, false, {REF("Patient", "p1")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_reference_lookup",
     false,
     NULL},
    {"Encounter by subject",
     "Encounter",
     {{"subject", false, false, {REF("Patient", "p1")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_reference_lookup",
     false,
     NULL},
    {"CareTeam by subject",
     "CareTeam",
     {{"subject", false, false, {REF("Patient", "p1")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_reference_lookup",
     false,
     NULL},
    {"all Observations of a code (a big count)",
     "Observation",
     {{"code", false, false, {TOK("http://loinc.org", "29463-7")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_token_lookup",
     false,
     NULL},
    {"all Tasks, by deadline",
     "Task",
     {{0}},
     {DEADLINE},
     false,
     false,
     "resource_type_live",
     true,
     NULL},
    {"Task by a chain to the citizen's CPR",
     "Task",
     {{"identifier", false, false, {TOK("urn:oid:1.2.208.176.1.2", "0101701234")}, to_patient, 1},
      {"status", true, true, {CODE("completed")}, NULL, 0}},
     {{0}},
     false,
     false,
     "idx_token_lookup",
     false,
     NULL},
    {"citizens with open tasks of an organisation (_has)",
     "Patient",
     {{"owner", false, false, {REF("Organization", "o1")}, has_task, 1}},
     {{0}},
     false,
     false,
     "idx_reference_lookup",
     false,
     NULL},
};

/* Whether names (" a b c") holds the word name[0..len). */
static bool name_in(const char *names, const char *name, size_t len)
{
    for (const char *p = names; *p;) {
        while (*p == ' ')
            p++;
        size_t n = strcspn(p, " ");
        if (n == len && strncmp(p, name, len) == 0)
            return true;
        p += n;
    }
    return false;
}

/*
 * The full scans in plan: "SCAN x" lines whose x is not a subquery's result; and,
 * as bad on a big table though SQLite calls them searches, reading all rows of one
 * parameter of a type (an idx_*_lookup index by type and param only) and, unless
 * walks_type, all resources of a type (resource_type_live by type and deleted only).
 */
static int count_scans(const char *plan, bool walks_type, sv_buf *why)
{
    sv_buf derived = SV_BUF_INIT;
    static const char *const makes[] = {"MATERIALIZE ", "CO-ROUTINE "};
    for (const char *line = plan; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        const char *detail = strstr(line, ": ");
        detail = detail && detail < line + n ? detail + 2 : line;
        for (int k = 0; k < 2; k++) {
            size_t mlen = strlen(makes[k]);
            if (strncmp(detail, makes[k], mlen) == 0) {
                sv_buf_addc(&derived, ' ');
                sv_buf_add(&derived, detail + mlen, strcspn(detail + mlen, " \n"));
            }
        }
        line += n + (end ? 1 : 0);
    }
    int scans = 0;
    for (const char *line = plan; *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        const char *detail = strstr(line, ": ");
        detail = detail && detail < line + n ? detail + 2 : line;
        bool bad = false;
        if (strncmp(detail, "SCAN ", 5) == 0) {
            const char *name = detail + 5;
            size_t len = strcspn(name, " \n");
            bad = !name_in(derived.ptr, name, len);
        }
        const char *whole_param = strstr(detail, "_lookup (type=? AND param=?)");
        const char *whole_type = strstr(detail, "resource_type_live (type=? AND deleted=?)");
        if ((whole_param && whole_param < line + n) ||
            (!walks_type && whole_type && whole_type < line + n))
            bad = true;
        if (bad) {
            scans++;
            sv_buf_add(why, line, n);
            sv_buf_addc(why, '\n');
        }
        line += n + (end ? 1 : 0);
    }
    sv_buf_release(&derived);
    return scans;
}

/* Whether a line of plan holds step, other than a correlated step whose next line
 * (its search) reads idx_combined_rid. */
static bool forbidden_in(const char *plan, const char *step)
{
    for (const char *at = strstr(plan, step); at; at = strstr(at + 1, step)) {
        const char *next = strchr(at, '\n');
        const char *after = next ? strchr(next + 1, '\n') : NULL;
        const char *twin = next ? strstr(next, "idx_combined_rid") : NULL;
        if (!twin || (after && twin > after))
            return true;
    }
    return false;
}

static void test_plans(void **state)
{
    (void)state;
    tmpdb file;
    tmpdb_make(&file);
    sv_db *db = tmpdb_open(&file, 5000);
    assert_int_equal(sv_schema_migrate(db, NULL, NULL), SV_OK);
    bool show = getenv("SV_SHOW_PLANS") && *getenv("SV_SHOW_PLANS") == '1';
    int failed = 0;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const plan_case *pc = &cases[i];
        sv_clause clauses[MAXC];
        size_t n = 0;
        for (; n < MAXC && pc->c[n].param; n++) {
            size_t k = 0; /* the values given: every one here has a value */
            while (k < MAXV && pc->c[n].v[k].value)
                k++;
            clauses[n] = (sv_clause){.param = pc->c[n].param,
                                     .negate = pc->c[n].negate,
                                     .coarse = pc->c[n].coarse,
                                     .values = (sv_clause_value *)pc->c[n].v,
                                     .nvalues = k,
                                     .links = pc->c[n].links,
                                     .nlinks = pc->c[n].nlinks};
        }
        size_t nsort = pc->sort[0].param || pc->sort[0].by ? 1 : 0;
        sv_search_position at = {.rid = 42, .nkeys = nsort};
        at.keys[0] = (sv_key_value){.type = SV_KEY_INT, .i = 1714694400000};
        sv_store_query q = {.type = pc->type,
                            .clauses = clauses,
                            .nclauses = n,
                            .sort = nsort ? pc->sort : NULL,
                            .nsort = nsort,
                            .after = pc->with_position ? &at : NULL,
                            .backward = pc->backward,
                            .limit = 21};
        sv_buf plan = SV_BUF_INIT, why = SV_BUF_INIT, err = SV_BUF_INIT;
        assert_int_equal(sv_store_search_explain(db, &q, &plan, &err), SV_OK);
        int scans = count_scans(plan.ptr, pc->walks_type, &why);
        bool uses = strstr(plan.ptr, pc->must_use) != NULL;
        bool forbidden = pc->must_not && forbidden_in(plan.ptr, pc->must_not);
        if (show || scans || !uses || forbidden)
            printf("-- %s\n%s", pc->what, plan.ptr);
        if (scans) {
            print_error("%s: full scan:\n%s", pc->what, why.ptr);
            failed++;
        }
        if (!uses) {
            print_error("%s: the plan does not use %s\n", pc->what, pc->must_use);
            failed++;
        }
        if (forbidden) {
            print_error("%s: the plan has %s\n", pc->what, pc->must_not);
            failed++;
        }
        sv_buf_release(&plan);
        sv_buf_release(&why);
        sv_buf_release(&err);
    }
    sv_db_close(db);
    tmpdb_remove(&file);
    assert_int_equal(failed, 0);
}

/* The checker itself: a full scan is seen, a subquery's scan is not. */
static void test_checker(void **state)
{
    (void)state;
    sv_buf why = SV_BUF_INIT;
    assert_int_equal(count_scans("page: SCAN r\n", false, &why), 1);
    assert_int_equal(count_scans("page: MATERIALIZE m\npage: SCAN m\n", false, &why), 0);
    assert_int_equal(count_scans("count: CO-ROUTINE p\ncount: SCAN p\ncount: SCAN t USING "
                                 "COVERING INDEX idx_token_rid\n",
                                 false, &why),
                     1);
    assert_int_equal(count_scans("page: SEARCH x USING COVERING INDEX idx_reference_lookup "
                                 "(type=? AND param=?)\n",
                                 false, &why),
                     1);
    assert_int_equal(count_scans("page: SEARCH x USING COVERING INDEX idx_reference_lookup "
                                 "(type=? AND param=? AND target_id=?)\n",
                                 false, &why),
                     0);
    const char *walk = "page: SEARCH m USING INDEX resource_type_live (type=? AND deleted=?)\n";
    assert_int_equal(count_scans(walk, false, &why), 1);
    assert_int_equal(count_scans(walk, true, &why), 0);
    sv_buf_release(&why);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checker),
        cmocka_unit_test(test_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
