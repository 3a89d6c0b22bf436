/*
 * test_recent.c - the transaction's memo of current resources (store/recent.c,
 * sv_store_current_json): it answers what sv_store_current and a parse answer, a
 * second time without a statement, and never after the resource changed under it:
 * a write of it, a ROLLBACK TO, another transaction.  test_recent_postgres.c runs
 * the same on PostgreSQL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "store/resource.h"
#include "store/schema.h"

static sv_db *db;
static tmpdb file;

static void put(const char *type, const char *id, int64_t version, const char *name)
{
    char json[128];
    snprintf(json, sizeof(json), "{\"resourceType\":\"%s\",\"id\":\"%s\",\"name\":\"%s\"}", type,
             id, name);
    assert_int_equal(sv_store_write(db, type, id, version, 1000 + version, "PUT", json,
                                    strlen(json), NULL, NULL),
                     SV_OK);
}

static const char *name_of(const char *type, const char *id, int64_t *ret_version)
{
    static char out[64];
    json_t *j = NULL;
    sv_err e = sv_store_current_json(db, type, id, &j, ret_version, NULL);
    if (e)
        return sv_strerror(e);
    snprintf(out, sizeof(out), "%s", j ? json_string_value(json_object_get(j, "name")) : "deleted");
    json_decref(j);
    return out;
}

static int setup(void **state)
{
    (void)state;
    tmpdb_make(&file);
    db = tmpdb_open(&file, 5000);
    assert_int_equal(sv_schema_migrate(db, NULL, NULL), SV_OK);
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    put("Patient", "p1", 1, "first");
    assert_int_equal(sv_db_commit(db, NULL), SV_OK);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sv_db_close(db);
    tmpdb_remove(&file);
    return 0;
}

/* Read twice in a transaction: the second from the memo, the same value. */
static void test_reads_once(void **state)
{
    (void)state;
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    json_t *a = NULL, *b = NULL;
    int64_t va = 0, vb = 0;
    assert_int_equal(sv_store_current_json(db, "Patient", "p1", &a, &va, NULL), SV_OK);
    assert_true(sv_store_recent_get(db, "Patient", "p1", &b, &vb));
    assert_ptr_equal(a, b); /* no statement, no parse */
    assert_int_equal(va, vb);
    json_decref(b);
    /* what a plain read answers */
    sv_stored s;
    assert_int_equal(sv_store_current(db, "Patient", "p1", true, &s, NULL), SV_OK);
    json_t *plain = json_loadb(s.json, s.json_len, 0, NULL);
    assert_true(json_equal(plain, a));
    assert_int_equal(s.version, va);
    json_decref(plain);
    sv_stored_clear(&s);
    json_decref(a);
    assert_int_equal(sv_store_current_json(db, "Patient", "nobody", &a, NULL, NULL),
                     SV_ERR_NOT_FOUND);
    assert_false(sv_store_recent_get(db, "Patient", "nobody", &a, NULL));
    sv_db_rollback(db);
}

/* A write of the resource forgets it; the next read has the new version. */
static void test_write_forgets(void **state)
{
    (void)state;
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    int64_t v = 0;
    assert_string_equal(name_of("Patient", "p1", &v), "first");
    assert_int_equal(v, 1);
    put("Patient", "p1", 2, "second");
    json_t *j = NULL;
    assert_false(sv_store_recent_get(db, "Patient", "p1", &j, NULL));
    assert_string_equal(name_of("Patient", "p1", &v), "second");
    assert_int_equal(v, 2);
    /* a deletion reads as deleted */
    assert_int_equal(sv_store_write(db, "Patient", "p1", 3, 1003, "DELETE", NULL, 0, NULL, NULL),
                     SV_OK);
    assert_string_equal(name_of("Patient", "p1", &v), "deleted");
    assert_int_equal(v, 3);
    sv_db_rollback(db);
}

/* What a ROLLBACK TO undid, and what another transaction may have changed, is
 * read again. */
static void test_rollback_and_next_transaction(void **state)
{
    (void)state;
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    assert_int_equal(sv_db_exec(db, "SAVEPOINT s", NULL), SV_OK);
    put("Patient", "p1", 2, "undone");
    assert_string_equal(name_of("Patient", "p1", NULL), "undone");
    assert_int_equal(sv_db_exec(db, "ROLLBACK TO s", NULL), SV_OK);
    json_t *j = NULL;
    assert_false(sv_store_recent_get(db, "Patient", "p1", &j, NULL));
    assert_string_equal(name_of("Patient", "p1", NULL), "first");
    assert_int_equal(sv_db_exec(db, "RELEASE s", NULL), SV_OK);
    sv_db_rollback(db);

    /* entered by a writer (sv_store_recent_put), gone with its transaction */
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    put("Patient", "p1", 2, "written");
    json_t *w =
        json_pack("{s:s, s:s, s:s}", "resourceType", "Patient", "id", "p1", "name", "written");
    sv_store_recent_put(db, "Patient", "p1", 2, w);
    assert_true(sv_store_recent_get(db, "Patient", "p1", &j, NULL));
    assert_ptr_equal(j, w);
    json_decref(j);
    json_decref(w);
    sv_db_rollback(db);
    assert_int_equal(sv_db_begin(db, SV_TX_READ, NULL), SV_OK);
    assert_false(sv_store_recent_get(db, "Patient", "p1", &j, NULL));
    assert_string_equal(name_of("Patient", "p1", NULL), "first");
    sv_db_rollback(db);

    /* outside a transaction nothing is kept */
    assert_string_equal(name_of("Patient", "p1", NULL), "first");
    assert_false(sv_store_recent_get(db, "Patient", "p1", &j, NULL));
}

/* More resources than the memo holds: the least recently used give way, and are
 * read again when asked for. */
static void test_least_recent_gives_way(void **state)
{
    (void)state;
    assert_int_equal(sv_db_begin(db, SV_TX_WRITE, NULL), SV_OK);
    char id[16], name[16];
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "o%d", i);
        snprintf(name, sizeof(name), "org %d", i);
        put("Organization", id, 1, name);
    }
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "o%d", i);
        snprintf(name, sizeof(name), "org %d", i);
        assert_string_equal(name_of("Organization", id, NULL), name);
        if (i == 7) /* o0 used again: o1 and o2 are now the least recent */
            assert_string_equal(name_of("Organization", "o0", NULL), "org 0");
    }
    json_t *j = NULL;
    int held = 0;
    for (int i = 0; i < 10; i++) {
        snprintf(id, sizeof(id), "o%d", i);
        bool in = sv_store_recent_get(db, "Organization", id, &j, NULL);
        held += in;
        if (in)
            json_decref(j);
        if (i == 1 || i == 2)
            assert_false(in);
        else
            assert_true(in);
    }
    assert_int_equal(held, 8);
    assert_string_equal(name_of("Organization", "o1", NULL), "org 1");
    sv_db_rollback(db);
}

int main(void)
{
    TMPDB_SKIP_WITHOUT_BACKEND("store/test_recent_postgres");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_once),
        cmocka_unit_test(test_write_forgets),
        cmocka_unit_test(test_rollback_and_next_transaction),
        cmocka_unit_test(test_least_recent_gives_way),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
