/*
 * test_worklist_access.c - the access filter on a worklist (store/access.h
 * SV_ACCESS_VISIBLE_ROW, store/combined.h): the rows' copies of the citizen, the
 * category and the owner's grant answer exactly what the general check answers, and
 * stay true when the grants are derived again (a revocation), when the category
 * changes, and when time passes a grant's end or reaches the next grant's start; a
 * resource in two compartments, a break-the-glass grant (the second holder) and
 * another organisation's worklist go through the general check.  Migration 14's
 * backfill takes the same copies the writer takes, and a category written with the
 * resource the same as one set after it.
 *
 * The data (Tasks, status requested, owner Organization/o1 unless noted; deadline
 * 2024-05-0N for tN):
 *   t1 p1          o1 holds coordination for p1
 *   t2 p2          o1's grant for p2 ended in the past; the next starts in the future
 *   t3 p3          o1 has none for p3; user:u has break-the-glass for p3
 *   t4 p4 social   o1 holds coordination for p4 only
 *   t5 p1 and p3   two compartments
 *   t6 p6 owner o2 o1 holds coordination for p6
 *   t7 p1
 *   t8 p1          owner written as this server's absolute url of o1 only: no copy
 * and, for the derivation that writes only what changed (the last case):
 *   t9 p9, t10 p9 owner o2, t11 p9 owner o3
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "base/datetime.h"
#include "store/access.h"
#include "store/resource.h"
#include "store/schema.h"
#include "store/search.h"

#define HOUR (3600 * 1000LL)

static sv_db *db;
static tmpdb file;
static int64_t now;

static void begin(void)
{
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
}

static void commit(void)
{
    assert_int_equal(sv_db_commit(db, NULL), SV_OK);
}

static void write_task(const char *id, const char *owner, const char *p, const char *p2,
                       int category)
{
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    char ref[64], deadline[32];
    snprintf(ref, sizeof(ref), "Organization/%s", owner);
    sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "owner", "Organization", owner, ref);
    sv_index_rows_add(&rows, SV_INDEX_TOKEN, "status", NULL, "requested", NULL);
    snprintf(deadline, sizeof(deadline), "2024-05-%02d", atoi(id + 1));
    sv_datetime_range r;
    assert_true(sv_datetime_parse(deadline, strlen(deadline), &r));
    sv_index_row *d = sv_index_rows_add(&rows, SV_INDEX_DATE, "deadline", NULL, NULL, NULL);
    d->low = r.low;
    d->high = r.high;
    const char *ps[] = {p, p2};
    for (int i = 0; i < 2; i++) {
        if (!ps[i])
            continue;
        snprintf(ref, sizeof(ref), "Patient/%s", ps[i]);
        sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "_compartment", "Patient", ps[i], ref);
    }
    char json[64];
    snprintf(json, sizeof(json), "{\"id\":\"%s\"}", id);
    begin();
    assert_int_equal(
        sv_store_write(db, "Task", id, 1, 1000, "PUT", json, strlen(json), &rows, NULL), SV_OK);
    assert_int_equal(sv_access_set_category(db, "Task", id, category, NULL), SV_OK);
    commit();
    sv_index_rows_clear(&rows);
}

static void grants(const char *patient, const sv_access_grant *g, size_t n)
{
    begin();
    assert_int_equal(sv_access_grants_replace(db, patient, g, n, NULL), SV_OK);
    commit();
}

static const char O1[] = "Organization/o1";

static void data(void)
{
    now = sv_clock_now_ms();
    const sv_access_grant coordination = {O1, SV_CAT_COORDINATION, SV_ACCESS_NEVER,
                                          SV_ACCESS_FOREVER};
    grants("p1", &coordination, 1);
    const sv_access_grant p2[] = {{O1, SV_CAT_ALL, SV_ACCESS_NEVER, now - HOUR},
                                  {O1, SV_CAT_ALL, now + HOUR, SV_ACCESS_FOREVER}};
    grants("p2", p2, 2);
    grants("p4", &coordination, 1);
    grants("p6", &coordination, 1);
    write_task("t1", "o1", "p1", NULL, SV_CAT_COORDINATION);
    write_task("t2", "o1", "p2", NULL, SV_CAT_COORDINATION);
    write_task("t3", "o1", "p3", NULL, SV_CAT_COORDINATION);
    write_task("t4", "o1", "p4", NULL, SV_CAT_SOCIAL);
    write_task("t5", "o1", "p1", "p3", SV_CAT_COORDINATION);
    write_task("t6", "o2", "p6", NULL, SV_CAT_COORDINATION);
    write_task("t7", "o1", "p1", NULL, SV_CAT_COORDINATION);
    /* a holder named like the url's target, which no policy derives: its grant must not
     * be copied to t8's row, whose owner is o1 */
    const sv_access_grant url = {"Organization/http://b/Organization/o1", SV_CAT_ALL,
                                 SV_ACCESS_NEVER, SV_ACCESS_FOREVER};
    grants("p8", &url, 1);
    write_task("t8", "http://b/Organization/o1", "p8", NULL, SV_CAT_COORDINATION);
    const sv_access_grant btg = {"user:u", SV_CAT_ALL, now - HOUR, now + HOUR};
    begin();
    assert_int_equal(sv_access_grant_add(db, "p3", &btg, "test", NULL), SV_OK);
    commit();
}

static int setup(void **state)
{
    (void)state;
    tmpdb_make(&file);
    db = tmpdb_open(&file, 5000);
    assert_int_equal(sv_schema_migrate(db, NULL, NULL), SV_OK);
    data();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sv_db_close(db);
    tmpdb_remove(&file);
    return 0;
}

static bool collect(void *ctx, const sv_stored *s)
{
    sv_buf *ids = ctx;
    if (ids->len)
        sv_buf_addc(ids, ' ');
    sv_buf_adds(ids, s->id);
    return true;
}

/* owner=Organization/<owner>&status=requested&_sort=deadline for holder2 at time t:
 * the ids (a page of limit) and the total. */
static void expect_at(const char *owner, const char *holder2, int64_t t, int64_t limit,
                      const char *ids, int64_t total)
{
    char url[64];
    snprintf(url, sizeof(url), "http://b/Organization/%s", owner);
    sv_clause_value ov = {
        .kind = SV_CLAUSE_REFERENCE, .system = "Organization", .value = owner, .value2 = url};
    sv_clause_value code = {.kind = SV_CLAUSE_TOKEN, .value = "requested"};
    sv_clause clauses[2] = {{.param = "owner", .values = &ov, .nvalues = 1},
                            {.param = "status", .values = &code, .nvalues = 1, .coarse = true}};
    sv_sort_key sort = {.by = SV_SORT_PARAM, .param = "deadline", .index_kind = SV_INDEX_DATE};
    sv_access_filter f = {.holder1 = O1, .holder2 = holder2, .now = t, .mask = SV_CAT_ALL};
    sv_store_query q = {.type = "Task",
                        .clauses = clauses,
                        .nclauses = 2,
                        .sort = &sort,
                        .nsort = 1,
                        .limit = limit,
                        .access = &f};
    sv_buf got = SV_BUF_INIT, err = SV_BUF_INIT;
    int64_t n = -1;
    sv_err e = sv_store_search_run(db, &q, collect, &got, &n, NULL, NULL, &err);
    if (e)
        fail_msg("search: %s (%s)", sv_strerror(e), err.ptr);
    assert_string_equal(got.ptr ? got.ptr : "", ids);
    assert_int_equal(n, total);
    sv_buf_release(&got);
    sv_buf_release(&err);
}

static void expect(const char *holder2, const char *ids, int64_t total)
{
    expect_at("o1", holder2, now, 50, ids, total);
}

static void test_rows_answer_as_the_general_check(void **state)
{
    (void)state;
    /* t2: no live grant; t3 and t5 (p3) only through user:u; t4 social */
    expect("user:u", "t1 t3 t5 t7", 4);
    expect(O1, "t1 t7", 2);
    expect_at("o1", "user:u", now, 2, "t1 t3", 4);
    /* another organisation's worklist: the general check (o1's grant for p6) */
    expect_at("o2", O1, now, 50, "t6", 1);
    /* t8 by the url: found, not shown; with a grant for o1 it is shown */
    const sv_access_grant p8[] = {
        {"Organization/http://b/Organization/o1", SV_CAT_ALL, SV_ACCESS_NEVER, SV_ACCESS_FOREVER},
        {O1, SV_CAT_COORDINATION, SV_ACCESS_NEVER, SV_ACCESS_FOREVER}};
    grants("p8", p8, 2);
    expect(O1, "t1 t7 t8", 3);
    grants("p8", p8, 1);
    expect(O1, "t1 t7", 2);
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM idx_combined WHERE patient = 'p8'"
                                   " AND g_mask IS NULL"),
                     1);
    /* the copies: t1 has p1's grant; t5 is in two compartments; t4 carries social */
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM idx_combined c JOIN resource r ON"
                                   " r.rid = c.rid WHERE r.id = 't1' AND c.patient = 'p1'"
                                   " AND c.g_cat = 1 AND c.g_mask = 1"),
                     1);
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM idx_combined c JOIN resource r ON"
                                   " r.rid = c.rid WHERE r.id = 't5' AND c.patient IS NULL"),
                     1);
    assert_int_equal(tmpdb_int(db,
                               "SELECT COUNT(*) FROM idx_combined c JOIN resource r ON"
                               " r.rid = c.rid WHERE r.id = 't4' AND c.g_mask = 1 AND c.g_cat = 0"),
                     1);
    /* p2's next grant is the copy; it answers once it has begun */
    expect_at("o1", O1, now + 2 * HOUR, 50, "t1 t2 t7", 3);
    /* user:u's break-the-glass has ended */
    expect_at("o1", "user:u", now + 2 * HOUR, 50, "t1 t2 t7", 3);
}

static void test_copies_follow_category_and_grants(void **state)
{
    (void)state;
    /* t1 labelled social: o1's coordination grant no longer shows it */
    begin();
    assert_int_equal(sv_access_set_category(db, "Task", "t1", SV_CAT_SOCIAL, NULL), SV_OK);
    commit();
    expect(O1, "t7", 1);
    begin();
    assert_int_equal(sv_access_set_category(db, "Task", "t1", SV_CAT_COORDINATION, NULL), SV_OK);
    commit();
    expect(O1, "t1 t7", 2);
    /* p1's grant now ends in an hour: shown until then, not after */
    const sv_access_grant ending = {O1, SV_CAT_COORDINATION, SV_ACCESS_NEVER, now + HOUR};
    grants("p1", &ending, 1);
    expect(O1, "t1 t7", 2);
    expect_at("o1", O1, now + HOUR, 50, "t2", 1); /* and p2's next grant has begun */
    const sv_access_grant always = {O1, SV_CAT_COORDINATION, SV_ACCESS_NEVER, SV_ACCESS_FOREVER};
    grants("p1", &always, 1);
    expect(O1, "t1 t7", 2);
}

static void test_revocation(void **state)
{
    (void)state;
    /* the citizen's grants derived again without o1 (a revoked consent, an ended
     * relationship): gone on the next search, and so is the copy */
    grants("p1", NULL, 0);
    expect("user:u", "t3", 1);
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM idx_combined WHERE patient = 'p1'"
                                   " AND g_mask IS NOT NULL"),
                     0);
    const sv_access_grant back = {O1, SV_CAT_COORDINATION, SV_ACCESS_NEVER, SV_ACCESS_FOREVER};
    grants("p1", &back, 1);
    expect("user:u", "t1 t3 t5 t7", 4);
}

static void snapshot(sv_buf *ret)
{
    static const char SQL[] =
        "SELECT rid, param, target_id, patient, g_mask, g_cat, g_from, g_to FROM idx_combined"
        " ORDER BY rid, param, target_id, code";
    tmpdb_rows(db, SQL, 8, ret);
}

/* Migration 14 on a database that has the rows already: the copies the writer took. */
static void test_backfill_equals_writer(void **state)
{
    (void)state;
    sv_buf written = SV_BUF_INIT, backfilled = SV_BUF_INIT;
    snapshot(&written);
    assert_int_equal(
        sv_db_exec(db,
                   "DROP INDEX idx_combined_lookup; DROP INDEX idx_combined_patient;"
                   " ALTER TABLE idx_combined DROP COLUMN patient;"
                   " ALTER TABLE idx_combined DROP COLUMN g_mask;"
                   " ALTER TABLE idx_combined DROP COLUMN g_cat;"
                   " ALTER TABLE idx_combined DROP COLUMN g_from;"
                   " ALTER TABLE idx_combined DROP COLUMN g_to;"
                   " CREATE INDEX idx_combined_lookup ON idx_combined(type, param, target_id,"
                   " code, multi, rid, target_type, low, high);"
                   " DELETE FROM schema_migrations WHERE version = 14",
                   NULL),
        SV_OK);
    assert_int_equal(sv_schema_migrate(db, NULL, NULL), SV_OK);
    snapshot(&backfilled);
    assert_string_equal(backfilled.ptr, written.ptr);
    sv_buf_release(&written);
    sv_buf_release(&backfilled);
}

static int64_t count(const char *sql)
{
    return tmpdb_int(db, sql);
}

static void exec(const char *sql)
{
    assert_int_equal(sv_db_exec(db, sql, NULL), SV_OK);
}

/* p9's grants derived again: the same set (in another order) writes nothing - the
 * stored rows keep a mark a delete and insert would lose, and the worklist copies a
 * value a restamp would overwrite; a changed set writes exactly the change, and only
 * the copies of the holder whose grants changed are taken again. */
static void test_derivation_writes_only_the_change(void **state)
{
    (void)state;
    static const char O2[] = "Organization/o2", O3[] = "Organization/o3";
    const sv_access_grant first[] = {
        {O1, SV_CAT_COORDINATION, SV_ACCESS_NEVER, SV_ACCESS_FOREVER},
        {O2, SV_CAT_ALL, SV_ACCESS_NEVER, now + HOUR},
        {"Patient/p9", SV_CAT_ALL, SV_ACCESS_NEVER, SV_ACCESS_FOREVER}};
    grants("p9", first, 3);
    write_task("t9", "o1", "p9", NULL, SV_CAT_COORDINATION);
    write_task("t10", "o2", "p9", NULL, SV_CAT_COORDINATION);
    write_task("t11", "o3", "p9", NULL, SV_CAT_COORDINATION);
    assert_int_equal(count("SELECT COUNT(*) FROM idx_combined WHERE patient = 'p9'"
                           " AND g_mask IS NOT NULL"),
                     2);
    exec("UPDATE access_grant SET reason = 'kept' WHERE patient = 'p9'");
    exec("UPDATE idx_combined SET g_from = 7 WHERE patient = 'p9'");

    const sv_access_grant same[] = {first[2], first[1], first[0]};
    grants("p9", same, 3);
    assert_int_equal(count("SELECT COUNT(*) FROM access_grant WHERE patient = 'p9'"), 3);
    assert_int_equal(count("SELECT COUNT(*) FROM access_grant WHERE patient = 'p9'"
                           " AND reason = 'kept'"),
                     3);
    assert_int_equal(count("SELECT COUNT(*) FROM idx_combined WHERE patient = 'p9'"
                           " AND g_from = 7"),
                     3);

    /* o2's grant ends later: its row changes, its copy follows; o1's stay as they were */
    const sv_access_grant later[] = {
        first[0], {O2, SV_CAT_ALL, SV_ACCESS_NEVER, now + 2 * HOUR}, first[2]};
    grants("p9", later, 3);
    assert_int_equal(count("SELECT COUNT(*) FROM access_grant WHERE patient = 'p9'"), 3);
    assert_int_equal(count("SELECT COUNT(*) FROM access_grant WHERE patient = 'p9'"
                           " AND reason = 'kept' AND holder <> 'Organization/o2'"),
                     2);
    char sql[256];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM access_grant WHERE patient = 'p9' AND holder ="
             " 'Organization/o2' AND mask = 31 AND t_to = %lld",
             (long long)(now + 2 * HOUR));
    assert_int_equal(count(sql), 1);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM idx_combined c JOIN resource r ON r.rid = c.rid"
             " WHERE r.id = 't10' AND c.g_from <> 7 AND c.g_to = %lld",
             (long long)(now + 2 * HOUR));
    assert_int_equal(count(sql), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM idx_combined WHERE patient = 'p9'"
                           " AND g_from = 7"),
                     2); /* t9's (o1) and t11's (o3, which has none) */

    /* o2 gone, o3 in: one row deleted, one inserted; t10's copy goes, t11's comes */
    const sv_access_grant swap[] = {
        first[0], first[2], {O3, SV_CAT_COORDINATION, now - HOUR, SV_ACCESS_FOREVER}};
    grants("p9", swap, 3);
    assert_int_equal(count("SELECT COUNT(*) FROM access_grant WHERE patient = 'p9'"), 3);
    assert_int_equal(count("SELECT COUNT(*) FROM access_grant WHERE patient = 'p9'"
                           " AND reason = 'kept'"),
                     2);
    assert_int_equal(count("SELECT COUNT(*) FROM access_grant WHERE patient = 'p9'"
                           " AND holder = 'Organization/o3' AND reason IS NULL"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM idx_combined c JOIN resource r ON r.rid = c.rid"
                           " WHERE r.id = 't10' AND c.g_mask IS NULL"),
                     1);
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM idx_combined c JOIN resource r ON r.rid = c.rid"
             " WHERE r.id = 't11' AND c.g_mask = 1 AND c.g_from = %lld",
             (long long)(now - HOUR));
    assert_int_equal(count(sql), 1);
    assert_int_equal(count("SELECT COUNT(*) FROM idx_combined c JOIN resource r ON r.rid = c.rid"
                           " WHERE r.id = 't9' AND c.g_from = 7"),
                     1);

    /* a row stored twice (no derivation writes one): the set replaces it whole */
    exec("INSERT INTO access_grant (patient, holder, mask, t_from, t_to, derived)"
         " SELECT patient, holder, mask, t_from, t_to, derived FROM access_grant"
         " WHERE patient = 'p9' AND holder = 'Organization/o1'");
    grants("p9", swap, 3);
    assert_int_equal(count("SELECT COUNT(*) FROM access_grant WHERE patient = 'p9'"), 3);
    assert_int_equal(count("SELECT COUNT(*) FROM access_grant WHERE patient = 'p9'"
                           " AND holder = 'Organization/o1'"),
                     1);
    assert_int_equal(count("SELECT COUNT(*) FROM idx_combined WHERE patient = 'p9'"
                           " AND g_from = 7"),
                     0);
    expect_at("o1", O1, now, 50, "t1 t7 t9", 3);
}

/* The category written with the resource (sv_store_write_category) leaves what the write
 * and sv_access_set_category after it leave: the resource's category and its worklist
 * row's copies; a negative category keeps the stored one. */
static void write_owned(const char *id, int64_t version, int category, bool after)
{
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "owner", "Organization", "o12",
                      "Organization/o12");
    sv_index_rows_add(&rows, SV_INDEX_TOKEN, "status", NULL, "requested", NULL);
    sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "_compartment", "Patient", "p12", "Patient/p12");
    char json[64];
    snprintf(json, sizeof(json), "{\"id\":\"%s\"}", id);
    begin();
    if (after) {
        assert_int_equal(
            sv_store_write(db, "Task", id, version, 1000, "PUT", json, strlen(json), &rows, NULL),
            SV_OK);
        assert_int_equal(sv_access_set_category(db, "Task", id, category, NULL), SV_OK);
    } else {
        assert_int_equal(sv_store_write_category(db, "Task", id, version, 1000, "PUT", json,
                                                 strlen(json), &rows, category, NULL),
                         SV_OK);
    }
    commit();
    sv_index_rows_clear(&rows);
}

/* ta's and tb's categories and worklist copies are the same, and ta's category is cat. */
static void expect_same(int cat)
{
    assert_int_equal(tmpdb_int(db, "SELECT category FROM resource WHERE id = 'ta'"), cat);
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM resource a, resource b, idx_combined x,"
                                   " idx_combined y WHERE a.id = 'ta' AND b.id = 'tb'"
                                   " AND x.rid = a.rid AND y.rid = b.rid"
                                   " AND a.category = b.category AND x.patient = 'p12'"
                                   " AND y.patient = 'p12' AND x.g_mask = y.g_mask"
                                   " AND x.g_cat = y.g_cat AND x.g_from = y.g_from"
                                   " AND x.g_to = y.g_to"),
                     1);
}

static void test_category_with_the_write(void **state)
{
    (void)state;
    const sv_access_grant g = {"Organization/o12", SV_CAT_COORDINATION, SV_ACCESS_NEVER,
                               SV_ACCESS_FOREVER};
    grants("p12", &g, 1);
    write_owned("ta", 1, SV_CAT_SOCIAL, false);
    write_owned("tb", 1, SV_CAT_SOCIAL, true);
    expect_same(SV_CAT_SOCIAL);
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM idx_combined c JOIN resource r ON"
                                   " r.rid = c.rid WHERE r.id = 'ta' AND c.g_cat = 0"),
                     1);
    write_owned("ta", 2, SV_CAT_COORDINATION, false);
    write_owned("tb", 2, SV_CAT_COORDINATION, true);
    expect_same(SV_CAT_COORDINATION);
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM idx_combined c JOIN resource r ON"
                                   " r.rid = c.rid WHERE r.id = 'ta' AND c.g_cat = 1"),
                     1);
    /* kept: the stored category stays, and so do the copies */
    write_owned("ta", 3, -1, false);
    expect_same(SV_CAT_COORDINATION);
}

int main(void)
{
    TMPDB_SKIP_WITHOUT_BACKEND("store/test_worklist_access_postgres");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_answer_as_the_general_check),
        cmocka_unit_test(test_copies_follow_category_and_grants),
        cmocka_unit_test(test_revocation),
        cmocka_unit_test(test_backfill_equals_writer),
        cmocka_unit_test(test_derivation_writes_only_the_change),
        cmocka_unit_test(test_category_with_the_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
