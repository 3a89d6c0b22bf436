/*
 * test_combined.c - the combined index rows of the worklists (store/combined.h):
 * Task by owner and status, sorted by deadline, answered from idx_combined.  The
 * rows follow every write (update, delete) of the resource; several statuses,
 * several deadlines and none sort as the rid-index plan sorts them (least start
 * ascending, greatest end descending, none last); keyset pages are exact; and
 * schema migration 6's backfill derives the same rows the writer writes.
 *
 * The data (type Task; all owned by Organization/o1 unless noted):
 *   t1  requested, deadline 2024-05-03
 *   t2  completed, deadline 2024-05-01
 *   t3  in-progress, no deadline
 *   t4  requested, deadline 2024-05-02, owner Organization/o2
 *   t5  requested twice (no system, a system), deadlines 2024-04-30 and 2024-05-04
 *   t6  no status, deadline 2024-05-05
 *   t7  requested, then (version 2) completed with deadline 2024-05-06
 *   t8  requested, deadline 2024-04-01, then deleted
 *   t9  requested, deadline 2024-05-07, owner o1 written twice (Organization/o1 and
 *       this server's absolute url): two combined rows, both found by Organization/o1
 *   t10 requested and in-progress, deadline 2024-04-29: two combined rows
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

static sv_db *db;
static tmpdb file;

static void add_date(sv_index_rows *rows, const char *text)
{
    sv_datetime_range r;
    if (!sv_datetime_parse(text, strlen(text), &r))
        fail_msg("bad date in the test: %s", text);
    sv_index_row *d = sv_index_rows_add(rows, SV_INDEX_DATE, "deadline", NULL, NULL, NULL);
    d->low = r.low;
    d->high = r.high;
}

/* A Task: owner (NULL: o1), status (NULL: none), up to two deadlines. */
static void write_task(const char *id, int64_t version, const char *owner, const char *status,
                       const char *deadline, const char *deadline2)
{
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    char ref[64];
    snprintf(ref, sizeof(ref), "Organization/%s", owner ? owner : "o1");
    sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "owner", "Organization", owner ? owner : "o1",
                      ref);
    sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "patient", "Patient", "p1", "Patient/p1");
    if (status)
        sv_index_rows_add(&rows, SV_INDEX_TOKEN, "status", NULL, status, NULL);
    if (deadline)
        add_date(&rows, deadline);
    if (deadline2)
        add_date(&rows, deadline2);
    if (strcmp(id, "t5") == 0) /* the same code again, with a system: one combined row */
        sv_index_rows_add(&rows, SV_INDEX_TOKEN, "status", "http://hl7.org/fhir/task-status",
                          status, NULL);
    if (strcmp(id, "t9") == 0)
        sv_index_rows_add(&rows, SV_INDEX_REFERENCE, "owner", "Organization",
                          "http://b/Organization/o1", "http://b/Organization/o1");
    if (strcmp(id, "t10") == 0)
        sv_index_rows_add(&rows, SV_INDEX_TOKEN, "status", NULL, "in-progress", NULL);
    char json[64];
    snprintf(json, sizeof(json), "{\"id\":\"%s\"}", id);
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_begin(db, SV_TX_WRITE, &err);
    bool deleted = version < 0;
    if (!e)
        e = sv_store_write(db, "Task", id, deleted ? -version : version, 1000 + version,
                           deleted ? "DELETE" : "PUT", deleted ? NULL : json,
                           deleted ? 0 : strlen(json), &rows, &err);
    if (!e)
        e = sv_db_commit(db, &err);
    if (e)
        fail_msg("write Task/%s: %s (%s)", id, sv_strerror(e), err.ptr);
    sv_buf_release(&err);
    sv_index_rows_clear(&rows);
}

static int setup(void **state)
{
    (void)state;
    tmpdb_make(&file);
    db = tmpdb_open(&file, 5000);
    assert_int_equal(sv_schema_migrate(db, NULL, NULL), SV_OK);
    write_task("t1", 1, NULL, "requested", "2024-05-03", NULL);
    write_task("t2", 1, NULL, "completed", "2024-05-01", NULL);
    write_task("t3", 1, NULL, "in-progress", NULL, NULL);
    write_task("t4", 1, "o2", "requested", "2024-05-02", NULL);
    write_task("t5", 1, NULL, "requested", "2024-05-04", "2024-04-30");
    write_task("t6", 1, NULL, NULL, "2024-05-05", NULL);
    write_task("t7", 1, NULL, "requested", NULL, NULL);
    write_task("t7", 2, NULL, "completed", "2024-05-06", NULL);
    write_task("t8", 1, NULL, "requested", "2024-04-01", NULL);
    write_task("t8", -2, NULL, NULL, NULL, NULL);
    write_task("t9", 1, NULL, "requested", "2024-05-07", NULL);
    write_task("t10", 1, NULL, "requested", "2024-04-29", NULL);
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

#define OWNER(id)                                                                                  \
    {                                                                                              \
        .kind = SV_CLAUSE_REFERENCE, .system = "Organization", .value = id,                        \
        .value2 = "http://b/Organization/" id                                                      \
    }
#define CODE(c)                                                                                    \
    {                                                                                              \
        .kind = SV_CLAUSE_TOKEN, .value = c                                                        \
    }

static const sv_clause_value o1[] = {OWNER("o1")};
static const sv_clause_value o1_o2[] = {OWNER("o1"), OWNER("o2")};

/* Runs owner=owners [&status=codes] sorted by deadline; returns the ids, and the total. */
static void run(const sv_clause_value *owners, size_t nowners, const sv_clause_value *codes,
                size_t ncodes, bool descending, int64_t limit, const sv_search_position *after,
                sv_buf *ret_ids, int64_t *ret_total, sv_search_position *ret_last)
{
    sv_clause clauses[2] = {
        {.param = "owner", .values = (sv_clause_value *)owners, .nvalues = nowners},
        {.param = "status", .values = (sv_clause_value *)codes, .nvalues = ncodes, .coarse = true}};
    sv_sort_key sort = {.by = SV_SORT_PARAM,
                        .param = "deadline",
                        .index_kind = SV_INDEX_DATE,
                        .descending = descending};
    sv_store_query q = {.type = "Task",
                        .clauses = clauses,
                        .nclauses = ncodes ? 2 : 1,
                        .sort = &sort,
                        .nsort = 1,
                        .after = after,
                        .limit = limit};
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_store_search_run(db, &q, collect, ret_ids, ret_total, NULL, ret_last, &err);
    if (e)
        fail_msg("search: %s (%s)", sv_strerror(e), err.ptr);
    sv_buf_release(&err);
}

static void expect_of(const sv_clause_value *owners, size_t nowners, const sv_clause_value *codes,
                      size_t ncodes, bool descending, const char *ids, int64_t total)
{
    sv_buf got = SV_BUF_INIT;
    int64_t n = -1;
    run(owners, nowners, codes, ncodes, descending, 50, NULL, &got, &n, NULL);
    assert_string_equal(got.ptr, ids);
    assert_int_equal(n, total);
    sv_buf_release(&got);
}

static void expect(const sv_clause_value *codes, size_t ncodes, bool descending, const char *ids,
                   int64_t total)
{
    expect_of(o1, 1, codes, ncodes, descending, ids, total);
}

static void test_worklist(void **state)
{
    (void)state;
    const sv_clause_value open[] = {CODE("requested"), CODE("in-progress")};
    const sv_clause_value completed[] = {CODE("completed")};
    const sv_clause_value none[] = {CODE("cancelled")};
    /* t5 by its earliest deadline; t3 has none: last; t4 is o2's; t7 changed; t8 deleted;
     * t9 and t10 match twice each, and come once */
    expect(open, 2, false, "t10 t5 t1 t9 t3", 5);
    /* descending by the latest deadline: t5's 05-04 before t1's 05-03; none still last */
    expect(open, 2, true, "t9 t5 t1 t10 t3", 5);
    expect(completed, 1, false, "t2 t7", 2);
    expect(none, 1, false, "", 0);
    /* without status: every Task of o1, also t6 that has no status */
    expect(NULL, 0, false, "t10 t5 t2 t1 t6 t7 t9 t3", 8);
    expect(NULL, 0, true, "t9 t7 t6 t5 t1 t2 t10 t3", 8);
    /* two owners (OR): the rows of both, each Task once */
    expect_of(o1_o2, 2, open, 2, false, "t10 t5 t4 t1 t9 t3", 6);
}

/* One row per page, from each page's last position: every match once, in order. */
static void test_keyset_pages(void **state)
{
    (void)state;
    const sv_clause_value open[] = {CODE("requested"), CODE("in-progress")};
    for (int descending = 0; descending < 2; descending++) {
        sv_buf all = SV_BUF_INIT;
        sv_search_position at;
        memset(&at, 0, sizeof(at));
        for (int page = 0; page < 8; page++) {
            sv_buf got = SV_BUF_INIT;
            sv_search_position last;
            memset(&last, 0, sizeof(last));
            run(o1, 1, open, 2, descending, 1, page ? &at : NULL, &got, NULL, &last);
            if (got.len) {
                if (all.len)
                    sv_buf_addc(&all, ' ');
                sv_buf_adds(&all, got.ptr);
            }
            sv_buf_release(&got);
            sv_search_position_clear(&at);
            at = last;
            if (!at.rid)
                break;
        }
        sv_search_position_clear(&at);
        assert_string_equal(all.ptr, descending ? "t9 t5 t1 t10 t3" : "t10 t5 t1 t9 t3");
        sv_buf_release(&all);
    }
}

static void snapshot(sv_buf *ret)
{
    static const char SQL[] =
        "SELECT rid, type, param, target_type, target_id, code, low, high, multi FROM idx_combined"
        " ORDER BY rid, param, target_id, code";
    tmpdb_rows(db, SQL, 9, ret);
}

/* Migration 8 on a database that has the resources already: the rows the writer wrote. */
static void test_backfill_equals_writer(void **state)
{
    (void)state;
    sv_buf written = SV_BUF_INIT, backfilled = SV_BUF_INIT;
    snapshot(&written);
    /* t1..t7 with o1's or o2's reference: one row each, t5 once despite its two codes;
     * t9 and t10 two each, marked multi */
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM idx_combined"), 11);
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM idx_combined WHERE multi = 1"), 4);
    assert_int_equal(sv_db_exec(db,
                                "DROP TABLE idx_combined;"
                                " DELETE FROM schema_migrations WHERE version = 8",
                                NULL),
                     SV_OK);
    assert_int_equal(sv_schema_migrate(db, NULL, NULL), SV_OK);
    snapshot(&backfilled);
    assert_string_equal(backfilled.ptr, written.ptr);
    sv_buf_release(&written);
    sv_buf_release(&backfilled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worklist),
        cmocka_unit_test(test_keyset_pages),
        cmocka_unit_test(test_backfill_equals_writer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
