/*
 * test_resource.c - unit tests for store/resource: versions 1..n, current and
 * vread, deletions and re-creation, history order/paging/since/totals, index
 * rows replaced on update and removed on delete (counted with SQL), and, with
 * the fault-injecting wrapper of db.h, that a write failing at any backend call
 * leaves exactly the state before it (no half-written version, no orphan rows).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "store/resource.h"
#include "store/schema.h"

typedef struct fixture {
    tmpdb file;
    sv_db *db;
} fixture;

static sv_db *open_migrated(const tmpdb *file)
{
    sv_db *db = tmpdb_open(file, 5000);
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_schema_migrate(db, NULL, &err);
    if (e)
        fail_msg("migrate: %s (%s)", sv_strerror(e), err.ptr);
    sv_buf_release(&err);
    return db;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->file);
    f->db = open_migrated(&f->file);
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

/* One write in its own transaction; rolls back on failure. */
static sv_err write_tx(sv_db *db, const char *type, const char *id, int64_t version,
                       int64_t last_updated, const char *method, const char *json,
                       const sv_index_rows *rows, sv_buf *reterr)
{
    sv_err e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (e)
        return e;
    e = sv_store_write(db, type, id, version, last_updated, method, json, json ? strlen(json) : 0,
                       rows, reterr);
    if (e) {
        sv_db_rollback(db);
        return e;
    }
    return sv_db_commit(db, reterr);
}

static void must_write(sv_db *db, const char *type, const char *id, int64_t version,
                       int64_t last_updated, const char *method, const char *json,
                       const sv_index_rows *rows)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = write_tx(db, type, id, version, last_updated, method, json, rows, &err);
    if (e)
        fail_msg("write %s/%s v%lld: %s (%s)", type, id, (long long)version, sv_strerror(e),
                 err.ptr);
    sv_buf_release(&err);
}

/* One row of every index kind (two strings), values marked with tag. */
static void rows_all_kinds(sv_index_rows *r, const char *tag)
{
    sv_index_rows_add(r, SV_INDEX_STRING, "name", NULL, tag, tag);
    sv_index_rows_add(r, SV_INDEX_STRING, "given", NULL, "second", "Second");
    sv_index_rows_add(r, SV_INDEX_TOKEN, "code", "http://loinc.org", tag, "Display");
    sv_index_rows_add(r, SV_INDEX_REFERENCE, "subject", "Patient", tag, "Patient/x");
    sv_index_row *d = sv_index_rows_add(r, SV_INDEX_DATE, "date", NULL, NULL, NULL);
    d->low = 1000;
    d->high = 1999;
    sv_index_rows_add(r, SV_INDEX_NUMBER, "n", NULL, NULL, NULL)->number = 4.5;
    sv_index_rows_add(r, SV_INDEX_QUANTITY, "q", "http://unitsofmeasure.org", "mg", "mg")->number =
        5.5;
    sv_index_rows_add(r, SV_INDEX_URI, "url", NULL, tag, NULL);
}

/* ---- index row counts ------------------------------------------------------ */

#define RID_OF " WHERE rid = (SELECT rid FROM resource WHERE type = ? AND id = ?)"
static const char *const count_sql[] = {
    "SELECT COUNT(*) FROM idx_string" RID_OF,    "SELECT COUNT(*) FROM idx_token" RID_OF,
    "SELECT COUNT(*) FROM idx_reference" RID_OF, "SELECT COUNT(*) FROM idx_date" RID_OF,
    "SELECT COUNT(*) FROM idx_number" RID_OF,    "SELECT COUNT(*) FROM idx_quantity" RID_OF,
    "SELECT COUNT(*) FROM idx_uri" RID_OF,
};
#define N_KINDS 7

typedef struct idx_counts {
    int64_t n[N_KINDS]; /* string, token, reference, date, number, quantity, uri */
} idx_counts;

static idx_counts counts_of(sv_db *db, const char *type, const char *id)
{
    idx_counts c;
    for (int k = 0; k < N_KINDS; k++) {
        sv_stmt *st = NULL;
        bool row = false;
        assert_int_equal(sv_db_stmt(db, count_sql[k], &st, NULL), SV_OK);
        sv_stmt_bind_text(st, 1, type);
        sv_stmt_bind_text(st, 2, id);
        assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
        c.n[k] = sv_stmt_column_int64(st, 0);
        sv_stmt_reset(st);
    }
    return c;
}

static void assert_counts(sv_db *db, const char *type, const char *id, const int64_t want[N_KINDS])
{
    idx_counts c = counts_of(db, type, id);
    for (int k = 0; k < N_KINDS; k++)
        if (c.n[k] != want[k])
            fail_msg("%s/%s: %lld rows of kind %d, expected %lld", type, id, (long long)c.n[k], k,
                     (long long)want[k]);
}

static const char SQL_ALL_IDX[] =
    "SELECT (SELECT COUNT(*) FROM idx_string) + (SELECT COUNT(*) FROM idx_token) +"
    " (SELECT COUNT(*) FROM idx_reference) + (SELECT COUNT(*) FROM idx_date) +"
    " (SELECT COUNT(*) FROM idx_number) + (SELECT COUNT(*) FROM idx_quantity) +"
    " (SELECT COUNT(*) FROM idx_uri)";
static const char SQL_VERSIONS[] = "SELECT COUNT(*) FROM resource_version";
static const char SQL_RESOURCES[] = "SELECT COUNT(*) FROM resource";

/* ---- write, current, vread --------------------------------------------------- */

static void test_write_needs_a_transaction(void **state)
{
    fixture *f = *state;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_store_write(f->db, "Patient", "a", 1, 1, "POST", "{}", 2, NULL, &err),
                     SV_ERR_INTERNAL);
    assert_true(err.len > 0);
    assert_int_equal(tmpdb_int(f->db, SQL_RESOURCES), 0);
    sv_buf_release(&err);
}

static void test_create_then_read(void **state)
{
    fixture *f = *state;
    must_write(f->db, "Patient", "a", 1, 1700000000123, "POST", "{\"v\":1}", NULL);

    sv_stored s;
    assert_int_equal(sv_store_current(f->db, "Patient", "a", true, &s, NULL), SV_OK);
    assert_string_equal(s.type, "Patient");
    assert_string_equal(s.id, "a");
    assert_int_equal(s.version, 1);
    assert_int_equal(s.last_updated, 1700000000123);
    assert_false(s.deleted);
    assert_string_equal(s.method, "POST");
    assert_true(s.seq > 0);
    assert_int_equal(s.json_len, 7);
    assert_string_equal(s.json, "{\"v\":1}");
    int64_t seq = s.seq;
    sv_stored_clear(&s);
    assert_null(s.json);

    /* without json: the metadata only */
    assert_int_equal(sv_store_current(f->db, "Patient", "a", false, &s, NULL), SV_OK);
    assert_int_equal(s.version, 1);
    assert_int_equal(s.last_updated, 1700000000123);
    assert_null(s.json);
    sv_stored_clear(&s);

    assert_int_equal(sv_store_vread(f->db, "Patient", "a", 1, &s, NULL), SV_OK);
    assert_string_equal(s.json, "{\"v\":1}");
    assert_int_equal(s.seq, seq);
    assert_string_equal(s.method, "POST");
    sv_stored_clear(&s);
    sv_stored_clear(NULL);

    /* what is not there */
    s.version = 77;
    assert_int_equal(sv_store_vread(f->db, "Patient", "a", 2, &s, NULL), SV_ERR_NOT_FOUND);
    assert_int_equal(sv_store_vread(f->db, "Patient", "a", 0, &s, NULL), SV_ERR_NOT_FOUND);
    assert_int_equal(sv_store_vread(f->db, "Patient", "b", 1, &s, NULL), SV_ERR_NOT_FOUND);
    assert_int_equal(sv_store_current(f->db, "Patient", "b", true, &s, NULL), SV_ERR_NOT_FOUND);
    /* the type is part of the identity */
    assert_int_equal(sv_store_current(f->db, "Observation", "a", true, &s, NULL), SV_ERR_NOT_FOUND);
    assert_int_equal(s.version, 77); /* untouched on failure */
}

static void test_versions_one_to_n(void **state)
{
    fixture *f = *state;
    char json[32];
    for (int v = 1; v <= 5; v++) {
        snprintf(json, sizeof(json), "{\"v\":%d}", v);
        must_write(f->db, "Patient", "a", v, 1000 * v, v == 1 ? "POST" : "PUT", json, NULL);
    }
    must_write(f->db, "Observation", "a", 1, 9000, "POST", "{\"other\":true}", NULL);

    sv_stored s;
    assert_int_equal(sv_store_current(f->db, "Patient", "a", true, &s, NULL), SV_OK);
    assert_int_equal(s.version, 5);
    assert_int_equal(s.last_updated, 5000);
    assert_string_equal(s.json, "{\"v\":5}");
    assert_string_equal(s.method, "PUT");
    sv_stored_clear(&s);
    int64_t prev_seq = 0;
    for (int v = 1; v <= 5; v++) {
        assert_int_equal(sv_store_vread(f->db, "Patient", "a", v, &s, NULL), SV_OK);
        snprintf(json, sizeof(json), "{\"v\":%d}", v);
        assert_string_equal(s.json, json);
        assert_int_equal(s.version, v);
        assert_int_equal(s.last_updated, 1000 * v);
        assert_true(s.seq > prev_seq); /* global order follows writes */
        prev_seq = s.seq;
        sv_stored_clear(&s);
    }
    assert_int_equal(tmpdb_int(f->db, SQL_RESOURCES), 2);
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), 6);
}

static void test_json_kept_byte_for_byte(void **state)
{
    fixture *f = *state;
    /* served back without re-parsing: spacing, key order and non-ASCII as written */
    const char json[] = "{ \"b\" :1,\n\"a\":\"\xc3\x85se \xe2\x82\xac\"}";
    must_write(f->db, "Patient", "a", 1, 1, "POST", json, NULL);
    sv_stored s;
    assert_int_equal(sv_store_current(f->db, "Patient", "a", true, &s, NULL), SV_OK);
    assert_int_equal(s.json_len, strlen(json));
    assert_memory_equal(s.json, json, s.json_len);
    assert_int_equal(s.json[s.json_len], '\0');
    sv_stored_clear(&s);
}

static void test_delete_and_recreate(void **state)
{
    fixture *f = *state;
    must_write(f->db, "Patient", "a", 1, 1000, "POST", "{\"v\":1}", NULL);
    must_write(f->db, "Patient", "a", 2, 2000, "DELETE", NULL, NULL);

    sv_stored s;
    assert_int_equal(sv_store_current(f->db, "Patient", "a", true, &s, NULL), SV_OK);
    assert_true(s.deleted);
    assert_int_equal(s.version, 2);
    assert_int_equal(s.last_updated, 2000);
    assert_null(s.json);
    assert_int_equal(s.json_len, 0);
    assert_string_equal(s.method, "DELETE");
    sv_stored_clear(&s);
    assert_int_equal(sv_store_current(f->db, "Patient", "a", false, &s, NULL), SV_OK);
    assert_true(s.deleted);
    sv_stored_clear(&s);

    assert_int_equal(sv_store_vread(f->db, "Patient", "a", 2, &s, NULL), SV_OK);
    assert_true(s.deleted);
    assert_null(s.json);
    sv_stored_clear(&s);
    assert_int_equal(sv_store_vread(f->db, "Patient", "a", 1, &s, NULL), SV_OK);
    assert_false(s.deleted);
    assert_string_equal(s.json, "{\"v\":1}");
    sv_stored_clear(&s);

    /* re-created: the next version, no longer deleted */
    must_write(f->db, "Patient", "a", 3, 3000, "PUT", "{\"v\":3}", NULL);
    assert_int_equal(sv_store_current(f->db, "Patient", "a", true, &s, NULL), SV_OK);
    assert_false(s.deleted);
    assert_int_equal(s.version, 3);
    assert_string_equal(s.json, "{\"v\":3}");
    sv_stored_clear(&s);
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), 3);
    assert_int_equal(tmpdb_int(f->db, SQL_RESOURCES), 1);
}

static void test_version_written_twice_is_conflict(void **state)
{
    fixture *f = *state;
    must_write(f->db, "Patient", "a", 1, 1000, "POST", "{\"v\":1}", NULL);
    must_write(f->db, "Patient", "a", 2, 2000, "PUT", "{\"v\":2}", NULL);
    sv_buf before = SV_BUF_INIT, after = SV_BUF_INIT;
    tmpdb_fingerprint(f->db, &before);
    /* a second creator of the same id, and a stale updater */
    assert_int_equal(write_tx(f->db, "Patient", "a", 1, 3000, "POST", "{}", NULL, NULL),
                     SV_ERR_CONFLICT);
    assert_int_equal(write_tx(f->db, "Patient", "a", 2, 3000, "PUT", "{}", NULL, NULL),
                     SV_ERR_CONFLICT);
    tmpdb_fingerprint(f->db, &after);
    assert_string_equal(before.ptr, after.ptr);
    sv_buf_release(&before);
    sv_buf_release(&after);
}

/* ---- index rows ---------------------------------------------------------------- */

static void test_index_rows_replaced_and_removed(void **state)
{
    fixture *f = *state;
    static const int64_t all[N_KINDS] = {2, 1, 1, 1, 1, 1, 1};
    static const int64_t none[N_KINDS] = {0};
    sv_index_rows one = SV_INDEX_ROWS_INIT, two = SV_INDEX_ROWS_INIT, other = SV_INDEX_ROWS_INIT;
    rows_all_kinds(&one, "one");
    rows_all_kinds(&other, "other");
    sv_index_rows_add(&two, SV_INDEX_STRING, "name", NULL, "two", "Two");
    sv_index_rows_add(&two, SV_INDEX_TOKEN, "code", NULL, "two", NULL);
    sv_index_row *d = sv_index_rows_add(&two, SV_INDEX_DATE, "date", NULL, NULL, NULL);
    d->low = 5, d->high = 6;

    must_write(f->db, "Observation", "a", 1, 1000, "POST", "{}", &one);
    must_write(f->db, "Observation", "b", 1, 1000, "POST", "{}", &other);
    assert_counts(f->db, "Observation", "a", all);
    assert_counts(f->db, "Observation", "b", all);

    /* the values arrive as given, NULLs included */
    assert_int_equal(tmpdb_int(f->db,
                               "SELECT COUNT(*) FROM idx_token WHERE param = 'code' AND system ="
                               " 'http://loinc.org' AND value = 'one' AND exact = 'Display'"),
                     1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_reference WHERE param ="
                                      " 'subject' AND target_type = 'Patient' AND target_id ="
                                      " 'one' AND url = 'Patient/x'"),
                     1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_date WHERE low = 1000 AND"
                                      " high = 1999"),
                     2);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_quantity WHERE value = 5.5 AND"
                                      " system = 'http://unitsofmeasure.org' AND code = 'mg'"
                                      " AND unit = 'mg'"),
                     2);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_number WHERE value = 4.5"), 2);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_uri WHERE uri = 'one'"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_string WHERE value = 'one'"
                                      " AND exact = 'one'"),
                     1);

    /* an update replaces every row of the previous version */
    must_write(f->db, "Observation", "a", 2, 2000, "PUT", "{}", &two);
    static const int64_t after_two[N_KINDS] = {1, 1, 0, 1, 0, 0, 0};
    assert_counts(f->db, "Observation", "a", after_two);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_string WHERE value = 'one'"), 0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_token WHERE value = 'two'"
                                      " AND system IS NULL AND exact IS NULL"),
                     1);
    assert_counts(f->db, "Observation", "b", all); /* others untouched */

    /* a deletion removes them all */
    must_write(f->db, "Observation", "a", 3, 3000, "DELETE", NULL, NULL);
    assert_counts(f->db, "Observation", "a", none);
    assert_counts(f->db, "Observation", "b", all);

    /* even when rows are passed with a deletion */
    must_write(f->db, "Observation", "b", 2, 3000, "DELETE", NULL, &other);
    assert_counts(f->db, "Observation", "b", none);

    /* re-created, indexed again; an update without rows leaves none */
    must_write(f->db, "Observation", "a", 4, 4000, "PUT", "{}", &one);
    assert_counts(f->db, "Observation", "a", all);
    must_write(f->db, "Observation", "a", 5, 5000, "PUT", "{}", NULL);
    assert_counts(f->db, "Observation", "a", none);
    assert_int_equal(tmpdb_int(f->db, SQL_ALL_IDX), 0);

    sv_index_rows_clear(&one);
    sv_index_rows_clear(&two);
    sv_index_rows_clear(&other);
}

/* An update keeps the stored rows that stay the same (their rowids do not move) and
 * writes only the difference; duplicates count as rows of their own. */
static void test_index_update_writes_only_changes(void **state)
{
    fixture *f = *state;
    sv_index_rows v1 = SV_INDEX_ROWS_INIT, v2 = SV_INDEX_ROWS_INIT;
    sv_index_rows_add(&v1, SV_INDEX_STRING, "name", NULL, "anna", "Anna");
    sv_index_rows_add(&v1, SV_INDEX_STRING, "name", NULL, "anna", "Anna");
    sv_index_rows_add(&v1, SV_INDEX_STRING, "name", NULL, "bo", "Bo");
    sv_index_rows_add(&v1, SV_INDEX_TOKEN, "code", "s", "1", NULL);
    sv_index_row *d = sv_index_rows_add(&v1, SV_INDEX_DATE, "date", NULL, NULL, NULL);
    d->low = 1, d->high = 2;
    sv_index_rows_add(&v1, SV_INDEX_NUMBER, "n", NULL, NULL, NULL)->number = 4.5;

    sv_index_rows_add(&v2, SV_INDEX_NUMBER, "n", NULL, NULL, NULL)->number = 4.5;
    sv_index_rows_add(&v2, SV_INDEX_STRING, "name", NULL, "bo", "Bo");
    sv_index_rows_add(&v2, SV_INDEX_STRING, "name", NULL, "anna", "Anna");
    sv_index_rows_add(&v2, SV_INDEX_STRING, "name", NULL, "cy", "Cy");
    sv_index_rows_add(&v2, SV_INDEX_STRING, "name", NULL, "bo", "BO"); /* exact differs */
    sv_index_rows_add(&v2, SV_INDEX_TOKEN, "code", "s", "2", NULL);
    d = sv_index_rows_add(&v2, SV_INDEX_DATE, "date", NULL, NULL, NULL);
    d->low = 1, d->high = 2;

    must_write(f->db, "Observation", "a", 1, 1000, "POST", "{}", &v1);
    int64_t bo = tmpdb_int(f->db, "SELECT rowid FROM idx_string WHERE exact = 'Bo'");
    int64_t date = tmpdb_int(f->db, "SELECT rowid FROM idx_date WHERE low = 1");
    int64_t number = tmpdb_int(f->db, "SELECT rowid FROM idx_number WHERE value = 4.5");

    must_write(f->db, "Observation", "a", 2, 2000, "PUT", "{}", &v2);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_string WHERE value = 'anna'"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_string WHERE exact = 'Bo'"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_string WHERE exact = 'BO'"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_string WHERE value = 'cy'"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_string"), 4);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_token WHERE value = '1'"), 0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_token WHERE value = '2' AND"
                                      " system = 's' AND exact IS NULL AND text IS NULL"),
                     1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_date"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_number"), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT rowid FROM idx_string WHERE exact = 'Bo'"), bo);
    assert_int_equal(tmpdb_int(f->db, "SELECT rowid FROM idx_date WHERE low = 1"), date);
    assert_int_equal(tmpdb_int(f->db, "SELECT rowid FROM idx_number WHERE value = 4.5"), number);

    /* the same rows again: nothing is written */
    int64_t last = tmpdb_int(f->db, "SELECT MAX(rowid) FROM idx_string");
    must_write(f->db, "Observation", "a", 3, 3000, "PUT", "{}", &v2);
    assert_int_equal(tmpdb_int(f->db, "SELECT MAX(rowid) FROM idx_string"), last);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_string"), 4);

    sv_index_rows_clear(&v1);
    sv_index_rows_clear(&v2);
}

/* ---- history ------------------------------------------------------------------- */

typedef struct collected {
    char entries[32][160]; /* "type/id/version[/deleted]" */
    int64_t seq[32];
    int n;
    int stop_after; /* 0: never */
} collected;

static bool collect(void *ctx, const sv_stored *s)
{
    collected *c = ctx;
    assert_true(c->n < 32);
    snprintf(c->entries[c->n], sizeof(c->entries[0]), "%s/%s/%lld%s", s->type, s->id,
             (long long)s->version, s->deleted ? "/deleted" : "");
    /* a deletion has no json; every other entry has the json written */
    if (s->deleted) {
        assert_null(s->json);
        assert_string_equal(s->method, "DELETE");
    } else {
        char want[96];
        snprintf(want, sizeof(want), "{\"%s\":%lld}", s->id, (long long)s->version);
        assert_non_null(s->json);
        assert_int_equal(s->json_len, strlen(want));
        assert_memory_equal(s->json, want, s->json_len);
    }
    assert_int_equal(s->last_updated % 1000, 0);
    c->seq[c->n] = s->seq;
    c->n++;
    return c->stop_after == 0 || c->n < c->stop_after;
}

static void assert_entries(const collected *c, const char *want)
{
    sv_buf got = SV_BUF_INIT;
    for (int i = 0; i < c->n; i++) {
        if (i)
            sv_buf_addc(&got, ' ');
        sv_buf_adds(&got, c->entries[i]);
    }
    assert_string_equal(got.ptr, want);
    sv_buf_release(&got);
}

static int history_setup(void **state)
{
    setup(state);
    fixture *f = *state;
    /* seq order: Patient/a/1, Patient/b/1, Observation/o/1, Patient/a/2,
     * Patient/b/2 (deleted), Patient/a/3 */
    must_write(f->db, "Patient", "a", 1, 1000, "POST", "{\"a\":1}", NULL);
    must_write(f->db, "Patient", "b", 1, 2000, "POST", "{\"b\":1}", NULL);
    must_write(f->db, "Observation", "o", 1, 3000, "POST", "{\"o\":1}", NULL);
    must_write(f->db, "Patient", "a", 2, 4000, "PUT", "{\"a\":2}", NULL);
    must_write(f->db, "Patient", "b", 2, 5000, "DELETE", NULL, NULL);
    must_write(f->db, "Patient", "a", 3, 6000, "PUT", "{\"a\":3}", NULL);
    return 0;
}

typedef struct history_case {
    const char *type, *id;
    int64_t since;
    int64_t limit;
    const char *want;
    int64_t total;
} history_case;

static void test_history_order_filters_totals(void **state)
{
    fixture *f = *state;
    static const history_case cases[] = {
        {NULL, NULL, INT64_MIN, 100,
         "Patient/a/3 Patient/b/2/deleted Patient/a/2 Observation/o/1 Patient/b/1 Patient/a/1", 6},
        {"Patient", NULL, INT64_MIN, 100,
         "Patient/a/3 Patient/b/2/deleted Patient/a/2 Patient/b/1 Patient/a/1", 5},
        {"Patient", "a", INT64_MIN, 100, "Patient/a/3 Patient/a/2 Patient/a/1", 3},
        {"Patient", "b", INT64_MIN, 100, "Patient/b/2/deleted Patient/b/1", 2},
        {"Observation", NULL, INT64_MIN, 100, "Observation/o/1", 1},
        {"Encounter", NULL, INT64_MIN, 100, "", 0},
        {"Patient", "zzz", INT64_MIN, 100, "", 0},
        /* since: last_updated >= since (inclusive) */
        {NULL, NULL, 4000, 100, "Patient/a/3 Patient/b/2/deleted Patient/a/2", 3},
        {"Patient", NULL, 4001, 100, "Patient/a/3 Patient/b/2/deleted", 2},
        {"Patient", "a", 6000, 100, "Patient/a/3", 1},
        {"Patient", "a", 6001, 100, "", 0},
        /* limit: the newest first; the total ignores it */
        {NULL, NULL, INT64_MIN, 2, "Patient/a/3 Patient/b/2/deleted", 6},
        {"Patient", "a", INT64_MIN, 1, "Patient/a/3", 3},
        {NULL, NULL, INT64_MIN, 0, "", 6},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sv_history_query q = {.type = cases[i].type,
                              .id = cases[i].id,
                              .since = cases[i].since,
                              .limit = cases[i].limit};
        collected c = {0};
        int64_t total = -1;
        assert_int_equal(sv_store_history(f->db, &q, collect, &c, &total, NULL), SV_OK);
        assert_entries(&c, cases[i].want);
        assert_int_equal(total, cases[i].total);
        for (int k = 1; k < c.n; k++)
            assert_true(c.seq[k] < c.seq[k - 1]); /* strictly newest first */
        /* ret_total may be NULL */
        collected again = {0};
        assert_int_equal(sv_store_history(f->db, &q, collect, &again, NULL, NULL), SV_OK);
        assert_int_equal(again.n, c.n);
    }
}

static void test_history_paging_with_before_seq(void **state)
{
    fixture *f = *state;
    static const char *const pages[] = {"Patient/a/3 Patient/b/2/deleted",
                                        "Patient/a/2 Observation/o/1", "Patient/b/1 Patient/a/1",
                                        ""};
    sv_history_query q = {.since = INT64_MIN, .limit = 2};
    for (size_t p = 0; p < sizeof(pages) / sizeof(pages[0]); p++) {
        collected c = {0};
        int64_t total = -1;
        assert_int_equal(sv_store_history(f->db, &q, collect, &c, &total, NULL), SV_OK);
        assert_entries(&c, pages[p]);
        assert_int_equal(total, 6); /* the count of all matches, on every page */
        if (c.n)
            q.before_seq = c.seq[c.n - 1];
    }
    /* paging an instance with since */
    sv_history_query qi = {.type = "Patient", .id = "a", .since = 2000, .limit = 1};
    static const char *const ipages[] = {"Patient/a/3", "Patient/a/2", ""};
    for (size_t p = 0; p < sizeof(ipages) / sizeof(ipages[0]); p++) {
        collected c = {0};
        int64_t total = -1;
        assert_int_equal(sv_store_history(f->db, &qi, collect, &c, &total, NULL), SV_OK);
        assert_entries(&c, ipages[p]);
        assert_int_equal(total, 2);
        if (c.n)
            qi.before_seq = c.seq[c.n - 1];
    }
}

static void test_history_visitor_stops(void **state)
{
    fixture *f = *state;
    sv_history_query q = {.since = INT64_MIN, .limit = 100};
    collected c = {.stop_after = 2};
    int64_t total = 0;
    assert_int_equal(sv_store_history(f->db, &q, collect, &c, &total, NULL), SV_OK);
    assert_entries(&c, "Patient/a/3 Patient/b/2/deleted");
    assert_int_equal(total, 6);
    /* the statement was left clean: the same query runs again from the start */
    collected again = {0};
    assert_int_equal(sv_store_history(f->db, &q, collect, &again, NULL, NULL), SV_OK);
    assert_int_equal(again.n, 6);
}

/* ---- atomicity under injected faults ------------------------------------------ */

typedef struct scenario {
    const char *name;
    const char *id;
    int64_t version;
    const char *method;
    const char *json; /* NULL: a deletion */
    bool with_rows;
} scenario;

/* The database every scenario starts from: Observation/x at version 1 with
 * rows of every kind, Observation/y at version 2 (rows), Observation/gone deleted. */
static void seed(sv_db *db)
{
    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    rows_all_kinds(&rows, "seed");
    must_write(db, "Observation", "x", 1, 1000, "POST", "{\"x\":1}", &rows);
    must_write(db, "Observation", "y", 1, 1000, "POST", "{\"y\":1}", &rows);
    must_write(db, "Observation", "y", 2, 2000, "PUT", "{\"y\":2}", &rows);
    must_write(db, "Observation", "gone", 1, 1000, "POST", "{}", &rows);
    must_write(db, "Observation", "gone", 2, 2000, "DELETE", NULL, NULL);
    sv_index_rows_clear(&rows);
}

static const scenario scenarios[] = {
    {"create with rows", "new", 1, "POST", "{\"new\":1}", true},
    {"update replacing rows", "x", 2, "PUT", "{\"x\":2}", true},
    {"update dropping rows", "y", 3, "PUT", "{\"y\":3}", false},
    {"delete", "x", 2, "DELETE", NULL, false},
    {"re-create after delete", "gone", 3, "PUT", "{\"gone\":3}", true},
};

/* Runs one scenario with a fault at call 1, 2, 3, ... until the write succeeds.
 * cold: a new connection per attempt (every statement is prepared: prepare
 * failures too); warm: one connection (statements cached after first use). */
static int run_with_faults(const scenario *sc, bool cold)
{
    tmpdb file;
    tmpdb_make(&file);
    sv_db *setup_db = open_migrated(&file);
    seed(setup_db);
    sv_db_close(setup_db);

    sv_db *observer = tmpdb_open(&file, 5000); /* sees only what is committed */
    sv_db *db = cold ? NULL : tmpdb_open(&file, 5000);
    sv_buf before = SV_BUF_INIT, now = SV_BUF_INIT;
    tmpdb_fingerprint(observer, &before);
    int64_t versions = tmpdb_int(observer, SQL_VERSIONS);
    int64_t idx_rows = tmpdb_int(observer, SQL_ALL_IDX);
    int64_t resources = tmpdb_int(observer, SQL_RESOURCES);

    sv_index_rows rows = SV_INDEX_ROWS_INIT;
    if (sc->with_rows)
        rows_all_kinds(&rows, "new");
    int failures = 0;
    for (int nth = 1;; nth++) {
        if (cold)
            db = tmpdb_open(&file, 5000);
        sv_db_fault_inject(db, nth, SV_ERR_IO);
        sv_buf err = SV_BUF_INIT;
        sv_err e = write_tx(db, "Observation", sc->id, sc->version, 9000, sc->method, sc->json,
                            sc->with_rows ? &rows : NULL, &err);
        bool fired = !sv_db_fault_pending(db);
        sv_db_fault_inject(db, 0, SV_OK);
        if (!e) {
            if (fired)
                fail_msg("%s: the fault at call %d was swallowed", sc->name, nth);
            sv_buf_release(&err);
            break;
        }
        failures++;
        if (!fired)
            fail_msg("%s: failed without the fault (%s)", sc->name, err.ptr);
        assert_int_equal(e, SV_ERR_IO);
        assert_false(sv_db_in_tx(db));
        /* exactly the state before, for this connection and for any other */
        sv_buf_reset(&now);
        tmpdb_fingerprint(db, &now);
        if (strcmp(now.ptr, before.ptr) != 0)
            fail_msg("%s (%s): fault at call %d changed the database", sc->name,
                     cold ? "cold" : "warm", nth);
        sv_buf_reset(&now);
        tmpdb_fingerprint(observer, &now);
        assert_string_equal(now.ptr, before.ptr);
        assert_int_equal(tmpdb_int(observer, SQL_VERSIONS), versions);
        assert_int_equal(tmpdb_int(observer, SQL_ALL_IDX), idx_rows);
        assert_int_equal(tmpdb_int(observer, SQL_RESOURCES), resources);
        sv_buf_release(&err);
        if (cold) {
            sv_db_close(db);
            db = NULL;
        }
        assert_true(nth < 1000);
    }

    /* and the write that finally went through is whole */
    sv_stored s;
    assert_int_equal(sv_store_current(observer, "Observation", sc->id, true, &s, NULL), SV_OK);
    assert_int_equal(s.version, sc->version);
    assert_int_equal(s.deleted, sc->json == NULL);
    if (sc->json)
        assert_string_equal(s.json, sc->json);
    sv_stored_clear(&s);
    assert_int_equal(tmpdb_int(observer, SQL_VERSIONS), versions + 1);
    int64_t want_rows[N_KINDS] = {0};
    if (sc->with_rows)
        memcpy(want_rows, (int64_t[N_KINDS]){2, 1, 1, 1, 1, 1, 1}, sizeof(want_rows));
    assert_counts(observer, "Observation", sc->id, want_rows);

    sv_index_rows_clear(&rows);
    sv_buf_release(&before);
    sv_buf_release(&now);
    sv_db_close(db);
    sv_db_close(observer);
    tmpdb_remove(&file);
    return failures;
}

static void test_failed_write_leaves_state_before(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++) {
        int cold = run_with_faults(&scenarios[i], true);
        int warm = run_with_faults(&scenarios[i], false);
        /* begin, the resource row, the version row, commit at the least.  Both
         * also prepare each statement once: a write transaction runs on the file's
         * shared writer (group commit), whose statement cache outlives a cold
         * connection, so cold has no more calls to fail than warm. */
        assert_true(warm >= 4);
        assert_true(cold >= warm);
        if (scenarios[i].with_rows)
            assert_true(warm >= 4 + 8);
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
#define TH(fn) cmocka_unit_test_setup_teardown(fn, history_setup, teardown)

/* ---- sv_store_find_token ---------------------------------------------------- */

static void ident_rows(sv_index_rows *r, const char *system, const char *value)
{
    sv_index_rows_add(r, SV_INDEX_TOKEN, "identifier", system, value, NULL);
}

/* None, one, more than one; only live resources of the type; system and value exact. */
static void test_find_token(void **state)
{
    fixture *f = *state;
    char ids[2][65];
    int n = -1;
    assert_int_equal(
        sv_store_find_token(f->db, "Patient", "identifier", "urn:cpr", "1", ids, &n, NULL), SV_OK);
    assert_int_equal(n, 0);
    sv_index_rows a = SV_INDEX_ROWS_INIT, b = SV_INDEX_ROWS_INIT, c = SV_INDEX_ROWS_INIT;
    ident_rows(&a, "urn:cpr", "1");
    ident_rows(&b, "urn:other", "1");
    ident_rows(&c, "urn:cpr", "1");
    must_write(f->db, "Patient", "pa", 1, 1000, "PUT", "{}", &a);
    must_write(f->db, "Patient", "pb", 1, 1000, "PUT", "{}", &b);
    must_write(f->db, "Group", "g", 1, 1000, "PUT", "{}", &c);
    assert_int_equal(
        sv_store_find_token(f->db, "Patient", "identifier", "urn:cpr", "1", ids, &n, NULL), SV_OK);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "pa");
    must_write(f->db, "Patient", "pc", 1, 1000, "PUT", "{}", &c);
    assert_int_equal(
        sv_store_find_token(f->db, "Patient", "identifier", "urn:cpr", "1", ids, &n, NULL), SV_OK);
    assert_int_equal(n, 2);
    must_write(f->db, "Patient", "pc", 2, 2000, "DELETE", NULL, NULL);
    assert_int_equal(
        sv_store_find_token(f->db, "Patient", "identifier", "urn:cpr", "1", ids, &n, NULL), SV_OK);
    assert_int_equal(n, 1);
    sv_index_rows_clear(&a);
    sv_index_rows_clear(&b);
    sv_index_rows_clear(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_find_token, setup, teardown),
        T(test_write_needs_a_transaction),
        T(test_create_then_read),
        T(test_versions_one_to_n),
        T(test_json_kept_byte_for_byte),
        T(test_delete_and_recreate),
        T(test_version_written_twice_is_conflict),
        T(test_index_rows_replaced_and_removed),
        T(test_index_update_writes_only_changes),
        TH(test_history_order_filters_totals),
        TH(test_history_paging_with_before_seq),
        TH(test_history_visitor_stops),
        cmocka_unit_test(test_failed_write_leaves_state_before),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
