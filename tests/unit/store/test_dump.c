/*
 * test_dump.c - unit tests for store/dump: every table the migrations create is
 * either copied by an export or named as derived (a new table that is neither
 * fails here, so that `samverka export` cannot silently lose it), and so is
 * every column of a copied table; each copied table's column kinds match its
 * columns; rows read from one database and inserted into another read back
 * the same.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "store/dump.h"
#include "store/schema.h"

static sv_db *open_memory(void)
{
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_db_open(":memory:", NULL, &db, &err), SV_OK);
    assert_int_equal(sv_schema_migrate(db, NULL, &err), SV_OK);
    sv_buf_release(&err);
    return db;
}

static bool known(const char *table)
{
    if (strcmp(table, "resource") == 0 || strcmp(table, "resource_version") == 0)
        return true;
    for (size_t i = 0; i < sv_dump_table_count; i++)
        if (strcmp(sv_dump_tables[i].name, table) == 0)
            return true;
    for (size_t i = 0; sv_dump_derived[i]; i++)
        if (strcmp(sv_dump_derived[i], table) == 0)
            return true;
    return false;
}

static const char SQL_TABLES[] = "SELECT name FROM sqlite_master WHERE type = 'table'"
                                 " AND name NOT LIKE 'sqlite_%' ORDER BY name";

static void every_table_is_copied_or_derived(void **state)
{
    (void)state;
    sv_db *db = open_memory();
    sv_stmt *st = NULL;
    assert_int_equal(sv_db_stmt(db, SQL_TABLES, &st, NULL), SV_OK);
    bool row = false;
    int tables = 0;
    while (sv_stmt_step(st, &row, NULL) == SV_OK && row) {
        const char *name = sv_stmt_column_text(st, 0, NULL);
        if (!known(name))
            fail_msg("table %s is neither exported (store/dump.c) nor listed as derived", name);
        tables++;
    }
    sv_stmt_reset(st);
    assert_true(tables > 20);
    sv_db_close(db);
}

static const char SQL_COLUMNS[] = "SELECT name FROM pragma_table_info(?) ORDER BY cid";

static bool listed(const char *const *columns, const char *name)
{
    for (size_t i = 0; columns[i]; i++)
        if (strcmp(columns[i], name) == 0)
            return true;
    return false;
}

/* A column a migration adds to a copied table must be copied too (or, for the
 * resource table, be derived: category). */
static void every_column_is_copied(void **state)
{
    (void)state;
    sv_db *db = open_memory();
    static const char *const resource_cols[] = {"rid",          "type",    "id",       "version",
                                                "last_updated", "deleted", "category", NULL};
    static const char *const version_cols[] = {"seq",    "rid",     "version", "last_updated",
                                               "method", "deleted", "json",    NULL};
    for (size_t i = 0; i < sv_dump_table_count + 2; i++) {
        const char *table = i < sv_dump_table_count    ? sv_dump_tables[i].name
                            : i == sv_dump_table_count ? "resource"
                                                       : "resource_version";
        const char *const *cols = i < sv_dump_table_count    ? sv_dump_tables[i].column
                                  : i == sv_dump_table_count ? resource_cols
                                                             : version_cols;
        sv_stmt *st = NULL;
        assert_int_equal(sv_db_stmt(db, SQL_COLUMNS, &st, NULL), SV_OK);
        sv_stmt_bind_text(st, 1, table);
        bool row = false;
        int n = 0;
        while (sv_stmt_step(st, &row, NULL) == SV_OK && row) {
            const char *name = sv_stmt_column_text(st, 0, NULL);
            if (!listed(cols, name))
                fail_msg("%s.%s is not exported (store/dump.c)", table, name);
            n++;
        }
        sv_stmt_reset(st);
        assert_true(n > 0);
    }
    sv_db_close(db);
}

static void kinds_match_columns(void **state)
{
    (void)state;
    for (size_t i = 0; i < sv_dump_table_count; i++) {
        const sv_dump_table *t = &sv_dump_tables[i];
        size_t n = 0;
        while (t->column[n])
            n++;
        if (strlen(t->kind) != n)
            fail_msg("%s: %zu columns, %zu kinds", t->name, n, strlen(t->kind));
    }
}

static bool collect(void *ctx, json_t *row)
{
    json_array_append(ctx, row);
    return true;
}

static void rows_copy_between_databases(void **state)
{
    (void)state;
    sv_db *from = open_memory(), *to = open_memory();
    assert_int_equal(sv_db_exec(from,
                                "INSERT INTO auth_user (uid, username, kind, password_hash,"
                                " created) VALUES (7, 'anne', 'practitioner', 'h', 5);"
                                "INSERT INTO coord_notification (nid, recipient, kind, text,"
                                " created) VALUES (3, 'Organization/o', 'task', 'åäö', 9)",
                                NULL),
                     SV_OK);
    for (size_t i = 0; i < sv_dump_table_count; i++) {
        const sv_dump_table *t = &sv_dump_tables[i];
        json_t *a = json_array(), *b = json_array();
        assert_int_equal(sv_dump_rows(from, t, collect, a, NULL), SV_OK);
        size_t k;
        json_t *row;
        json_array_foreach(a, k, row)
        {
            assert_int_equal(sv_dump_insert(to, t, row, NULL), SV_OK);
        }
        assert_int_equal(sv_dump_rows(to, t, collect, b, NULL), SV_OK);
        if (!json_equal(a, b))
            fail_msg("%s differs after the copy", t->name);
        if (strcmp(t->name, "auth_user") == 0 || strcmp(t->name, "coord_notification") == 0)
            assert_int_equal(json_array_size(b), 1);
        json_decref(a);
        json_decref(b);
    }
    sv_buf err = SV_BUF_INIT;
    assert_int_equal(sv_dump_check_empty(to, &err), SV_ERR_CONFLICT);
    assert_non_null(strstr(err.ptr, "auth_user"));
    sv_buf_release(&err);
    sv_db_close(from);
    sv_db_close(to);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_table_is_copied_or_derived),
        cmocka_unit_test(every_column_is_copied),
        cmocka_unit_test(kinds_match_columns),
        cmocka_unit_test(rows_copy_between_databases),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
