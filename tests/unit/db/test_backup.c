/*
 * test_backup.c - sv_db_backup: the copy of a database file holds what was
 * committed, even while another connection holds a write transaction open (its
 * uncommitted rows are not in the copy); it opens as a database of its own; an
 * existing target is refused and left as it was, with no temporary file left.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tmpdb.h"

static void backup_is_a_consistent_copy(void **state)
{
    (void)state;
    tmpdb src;
    tmpdb_make(&src);
    sv_db *db = tmpdb_open(&src, 2000), *writer = tmpdb_open(&src, 2000);
    sv_buf err = SV_BUF_INIT;
    tmpdb_check(sv_db_exec(db,
                           "CREATE TABLE t (v INTEGER);"
                           "INSERT INTO t VALUES (1), (2), (3)",
                           &err),
                "fill", &err);
    /* A writer in the middle of a transaction: not in the copy, and not blocked. */
    tmpdb_check(sv_db_begin(writer, SV_TX_WRITE, &err), "begin", &err);
    tmpdb_check(sv_db_exec(writer, "INSERT INTO t VALUES (100)", &err), "insert", &err);
    char copy[480];
    snprintf(copy, sizeof(copy), "%.400s.backup", src.path);
    tmpdb_check(sv_db_backup(db, copy, &err), "backup", &err);
    tmpdb_check(sv_db_commit(writer, &err), "commit", &err);

    tmpdb dst;
    snprintf(dst.path, sizeof(dst.path), "%s", copy);
    sv_db *c = tmpdb_open(&dst, 2000);
    assert_int_equal(tmpdb_int(c, "SELECT COUNT(*) FROM t"), 3);
    assert_int_equal(tmpdb_int(c, "SELECT SUM(v) FROM t"), 6);
    assert_int_equal(tmpdb_int(db, "SELECT COUNT(*) FROM t"), 4);
    sv_db_close(c);

    /* The target exists now: refused, and the copy is untouched. */
    sv_buf_reset(&err);
    assert_int_equal(sv_db_backup(db, copy, &err), SV_ERR_CONFLICT);
    assert_non_null(strstr(err.ptr, "exists"));
    c = tmpdb_open(&dst, 2000);
    assert_int_equal(tmpdb_int(c, "SELECT COUNT(*) FROM t"), 3);
    sv_db_close(c);
    char tmp[700];
    snprintf(tmp, sizeof(tmp), "%s.tmp", copy);
    assert_int_not_equal(access(tmp, F_OK), 0);

    sv_buf_release(&err);
    sv_db_close(writer);
    sv_db_close(db);
    tmpdb_remove(&dst);
    tmpdb_remove(&src);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backup_is_a_consistent_copy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
