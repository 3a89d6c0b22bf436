/*
 * test_served.c - the served-by rows of idx_combined (store/combined.h): which
 * organisation served which citizen when, written with the resource.  A Task gives
 * one row at its authoredOn (low = high), an Encounter one over its period, an
 * EpisodeOfCare likewise; a second owner gives a second row, an update replaces the
 * rows, a delete removes them, a resource without a date or a patient gives none;
 * and schema migration 13's backfill derives exactly the rows the writer wrote.
 * test_served_postgres.c runs the same on PostgreSQL.
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

static sv_db *db;
static tmpdb file;

static void add_date(sv_index_rows *rows, const char *param, const char *from, const char *to)
{
    sv_datetime_range a, b;
    if (!sv_datetime_parse(from, strlen(from), &a) || !sv_datetime_parse(to, strlen(to), &b))
        fail_msg("bad date in the test: %s %s", from, to);
    sv_index_row *d = sv_index_rows_add(rows, SV_INDEX_DATE, param, NULL, NULL, NULL);
    d->low = a.low;
    d->high = b.high;
}

static void add_ref(sv_index_rows *rows, const char *param, const char *type, const char *id)
{
    char ref[128];
    snprintf(ref, sizeof(ref), "%s/%s", type, id);
    sv_index_rows_add(rows, SV_INDEX_REFERENCE, param, type, id, ref);
}

/* Writes (version > 0) or deletes (version < 0) type/id with rows. */
static void write_rows(const char *type, const char *id, int64_t version, sv_index_rows *rows)
{
    char json[64];
    snprintf(json, sizeof(json), "{\"id\":\"%s\"}", id);
    sv_buf err = SV_BUF_INIT;
    bool deleted = version < 0;
    sv_err e = sv_db_begin(db, SV_TX_WRITE, &err);
    if (!e)
        e = sv_store_write(db, type, id, deleted ? -version : version, 1000 + version,
                           deleted ? "DELETE" : "PUT", deleted ? NULL : json,
                           deleted ? 0 : strlen(json), deleted ? NULL : rows, &err);
    if (!e)
        e = sv_db_commit(db, &err);
    if (e)
        fail_msg("write %s/%s: %s (%s)", type, id, sv_strerror(e), err.ptr);
    sv_buf_release(&err);
    sv_index_rows_clear(rows);
}

/* A Task of patient (NULL: none) owned by owner_type/owner (and owner2), authored at. */
static void task(const char *id, int64_t version, const char *patient, const char *owner_type,
                 const char *owner, const char *owner2, const char *at)
{
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    if (patient)
        add_ref(&rows, "patient", "Patient", patient);
    add_ref(&rows, "owner", owner_type, owner);
    if (owner2)
        add_ref(&rows, "owner", "Organization", owner2);
    sv_index_rows_add(&rows, SV_INDEX_TOKEN, "status", NULL, "requested", NULL);
    if (at)
        add_date(&rows, "authored-on", at, at);
    add_date(&rows, "deadline", "2026-05-01", "2026-05-01");
    write_rows("Task", id, version, &rows);
}

static void stay(const char *type, const char *id, int64_t version, const char *patient,
                 const char *org, const char *param, const char *from, const char *to)
{
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    add_ref(&rows, "patient", "Patient", patient);
    add_ref(&rows, param, "Organization", org);
    add_date(&rows, "date", from, to);
    write_rows(type, id, version, &rows);
}

static int setup(void **state)
{
    (void)state;
    tmpdb_make(&file);
    db = tmpdb_open(&file, 5000);
    assert_int_equal(sv_schema_migrate(db, NULL, NULL), SV_OK);
    task("t1", 1, "p1", "Organization", "o1", NULL, "2026-03-05T09:00:00Z");
    task("t2", 1, "p1", "PractitionerRole", "r1", NULL, "2026-03-06T09:00:00Z");
    task("t2", 2, "p2", "Organization", "o2", NULL, "2026-03-07T09:00:00Z"); /* replaces */
    task("t3", 1, "p2", "Organization", "o1", "o3", "2026-03-08T09:00:00Z"); /* two rows */
    task("t4", 1, "p3", "Organization", "o1", NULL, NULL);                   /* no date */
    task("t5", 1, NULL, "Organization", "o1", NULL, "2026-03-08T09:00:00Z"); /* no patient */
    task("t6", 1, "p3", "Organization", "o1", NULL, "2026-03-09T09:00:00Z");
    task("t6", -2, NULL, "Organization", "o1", NULL, NULL); /* deleted */
    stay("Encounter", "e1", 1, "p1", "h1", "service-provider", "2026-03-01T10:00:00Z",
         "2026-03-10T10:00:00Z");
    stay("EpisodeOfCare", "c1", 1, "p2", "m1", "organization", "2026-01-01", "2026-12-31");
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sv_db_close(db);
    tmpdb_remove(&file);
    return 0;
}

/* The served-by rows, one line each: resource, citizen, who, from, to. */
static void snapshot(sv_buf *ret)
{
    static const char SQL[] =
        "SELECT r.type || '/' || r.id, c.type, c.target_id, c.target_type, c.code, c.low, c.high,"
        " c.multi FROM idx_combined c JOIN resource r ON r.rid = c.rid"
        " WHERE c.param = 'served-by' ORDER BY r.type, r.id, c.code";
    sv_stmt *st = NULL;
    assert_int_equal(sv_db_prepare(db, SQL, &st, NULL), SV_OK);
    for (;;) {
        bool row = false;
        assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
        if (!row)
            break;
        for (int c = 0; c < 8; c++) {
            const char *t = sv_stmt_column_is_null(st, c) ? "-" : sv_stmt_column_text(st, c, NULL);
            if (c == 5 || c == 6) { /* the instants, readable */
                char buf[SV_INSTANT_LEN];
                sv_datetime_format_instant(sv_stmt_column_int64(st, c), buf);
                sv_buf_adds(ret, buf);
            } else {
                sv_buf_adds(ret, t);
            }
            sv_buf_addc(ret, c < 7 ? '|' : '\n');
        }
    }
    sv_stmt_finalize(st);
}

static void test_rows_follow_writes(void **state)
{
    (void)state;
    sv_buf got = SV_BUF_INIT;
    snapshot(&got);
    assert_string_equal(got.ptr, "Encounter/e1|Patient|p1|Organization|h1|"
                                 "2026-03-01T10:00:00.000Z|2026-03-10T10:00:00.999Z|0\n"
                                 "EpisodeOfCare/c1|Patient|p2|Organization|m1|"
                                 "2026-01-01T00:00:00.000Z|2026-12-31T23:59:59.999Z|0\n"
                                 "Task/t1|Patient|p1|Organization|o1|"
                                 "2026-03-05T09:00:00.000Z|2026-03-05T09:00:00.000Z|0\n"
                                 "Task/t2|Patient|p2|Organization|o2|"
                                 "2026-03-07T09:00:00.000Z|2026-03-07T09:00:00.000Z|0\n"
                                 "Task/t3|Patient|p2|Organization|o1|"
                                 "2026-03-08T09:00:00.000Z|2026-03-08T09:00:00.000Z|0\n"
                                 "Task/t3|Patient|p2|Organization|o3|"
                                 "2026-03-08T09:00:00.000Z|2026-03-08T09:00:00.000Z|0\n");
    sv_buf_release(&got);
}

/* Migration 13 on a database that has the resources already: the rows the writer wrote. */
static void test_backfill_equals_writer(void **state)
{
    (void)state;
    sv_buf written = SV_BUF_INIT, backfilled = SV_BUF_INIT;
    snapshot(&written);
    assert_int_equal(sv_db_exec(db,
                                "DELETE FROM idx_combined WHERE param = 'served-by';"
                                " DELETE FROM schema_migrations WHERE version = 13",
                                NULL),
                     SV_OK);
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM idx_combined WHERE param = 'served-by'"),
                     0);
    assert_int_equal(sv_schema_migrate(db, NULL, NULL), SV_OK);
    snapshot(&backfilled);
    assert_string_equal(backfilled.ptr, written.ptr);
    sv_buf_release(&written);
    sv_buf_release(&backfilled);
}

int main(void)
{
    TMPDB_SKIP_WITHOUT_BACKEND("store/test_served_postgres");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rows_follow_writes),
        cmocka_unit_test(test_backfill_equals_writer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
