/*
 * tmpdb.h - test helper: a temporary SQLite database file, and a fingerprint of
 * a database's whole content for "nothing changed" checks.
 *
 * With TMPDB_POSTGRES defined before it is included, the "file" is a fresh
 * PostgreSQL database instead and path holds its URI (pgtest.h): a test file
 * whose SQL is portable runs on PostgreSQL from a twin that defines it and
 * includes the test (tests/unit/store/test_search_postgres.c).  Such a test calls
 * TMPDB_SKIP_WITHOUT_BACKEND first in main.  tmpdb_fingerprint stays SQLite-only.
 *
 * Header-only (static functions) so that tests in any layer can include it with
 * "../db/tmpdb.h"; CMake builds only tests/unit/<layer>/test_*.c.  Uses db.h only.
 */
#ifndef SV_TEST_TMPDB_H
#define SV_TEST_TMPDB_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"

#ifdef TMPDB_POSTGRES
#include "pgtest.h"
/* In main(): without a cluster the PostgreSQL twin exits 77, which ctest reports as
 * skipped. */
#define TMPDB_SKIP_WITHOUT_BACKEND(name)                                                           \
    do {                                                                                           \
        if (!pgtest_admin_uri(name))                                                               \
            return PGTEST_SKIP;                                                                    \
    } while (0)
#else
#define TMPDB_SKIP_WITHOUT_BACKEND(name) ((void)0)
#endif

typedef struct tmpdb {
    char path[512];
} tmpdb;

/* Creates an empty file under $TMPDIR (or /tmp); SQLite takes it as a new database. */
static inline void tmpdb_make(tmpdb *t)
{
#ifdef TMPDB_POSTGRES
    pgtest_create(t->path, sizeof(t->path));
    return;
#endif
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    snprintf(t->path, sizeof(t->path), "%s/sv-unit-XXXXXX", dir);
    int fd = mkstemp(t->path);
    if (fd < 0) {
        perror("mkstemp");
        abort();
    }
    close(fd);
}

static inline void tmpdb_remove(tmpdb *t)
{
#ifdef TMPDB_POSTGRES
    pgtest_destroy(t->path);
    return;
#endif
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char p[600];
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(p, sizeof(p), "%s%s", t->path, suffixes[i]);
        unlink(p);
    }
}

/* Opens path; aborts the test on failure (the caller asserts on what it tests). */
static inline sv_db *tmpdb_open(const tmpdb *t, int busy_timeout_ms)
{
    sv_db_options opt = {.busy_timeout_ms = busy_timeout_ms};
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_open(t->path, &opt, &db, &err);
    if (e) {
        fprintf(stderr, "tmpdb_open %s: %s\n", t->path, err.ptr);
        abort();
    }
    sv_buf_release(&err);
    return db;
}

/* One integer from a constant query (e.g. a COUNT); aborts on error. */
static inline int64_t tmpdb_int(sv_db *db, const char *sql)
{
    sv_stmt *st = NULL;
    sv_buf err = SV_BUF_INIT;
    bool row = false;
    if (sv_db_prepare(db, sql, &st, &err) || sv_stmt_step(st, &row, &err) || !row) {
        fprintf(stderr, "tmpdb_int '%s': %s\n", sql, err.ptr);
        abort();
    }
    int64_t v = sv_stmt_column_int64(st, 0);
    sv_stmt_finalize(st);
    sv_buf_release(&err);
    return v;
}

/* Appends the rows of a constant query to out, one line each, its first columns
 * columns as text joined by '|' ("-" for NULL); aborts on error. */
static inline void tmpdb_rows(sv_db *db, const char *sql, int columns, sv_buf *out)
{
    sv_stmt *st = NULL;
    sv_buf err = SV_BUF_INIT;
    if (sv_db_prepare(db, sql, &st, &err)) {
        fprintf(stderr, "tmpdb_rows '%s': %s\n", sql, err.ptr);
        abort();
    }
    for (;;) {
        bool row = false;
        if (sv_stmt_step(st, &row, &err)) {
            fprintf(stderr, "tmpdb_rows '%s': %s\n", sql, err.ptr);
            abort();
        }
        if (!row)
            break;
        for (int c = 0; c < columns; c++) {
            sv_buf_adds(out,
                        sv_stmt_column_is_null(st, c) ? "-" : sv_stmt_column_text(st, c, NULL));
            sv_buf_addc(out, c < columns - 1 ? '|' : '\n');
        }
    }
    sv_stmt_finalize(st);
    sv_buf_release(&err);
}

/* Aborts with the message when e is an error (helpers only; tests assert). */
static inline void tmpdb_check(sv_err e, const char *what, const sv_buf *err)
{
    if (e) {
        fprintf(stderr, "%s: %s (%s)\n", what, sv_strerror(e), err->ptr);
        abort();
    }
}

/*
 * Appends every row of every table (by name, rows by rowid) to out, one line per
 * row, each column as SQL quote() writes it (so NULL and 'NULL' differ).  Two
 * fingerprints are equal exactly when the tables hold the same rows, including
 * AUTOINCREMENT counters (sqlite_sequence).  SQLite-specific, as its name says.
 */
static inline void tmpdb_fingerprint(sv_db *db, sv_buf *out)
{
    static const char SQL_TABLES[] =
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name";
    /* pk: the column's place in the primary key, 0 when none; a WITHOUT ROWID
     * table's rows are ordered by it instead of the rowid it lacks */
    static const char SQL_COLUMNS[] = "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid";
    static const char SQL_ROWID[] = "SELECT 1 FROM sqlite_master WHERE name = ?"
                                    " AND sql LIKE '%WITHOUT ROWID%'";
    sv_stmt *tables = NULL, *cols = NULL, *rows = NULL, *rowid = NULL;
    sv_buf err = SV_BUF_INIT, sql = SV_BUF_INIT, order = SV_BUF_INIT;
    bool row = false;
    tmpdb_check(sv_db_prepare(db, SQL_TABLES, &tables, &err), "fingerprint", &err);
    for (;;) {
        tmpdb_check(sv_stmt_step(tables, &row, &err), "fingerprint", &err);
        if (!row)
            break;
        const char *name = sv_stmt_column_text(tables, 0, NULL);
        sv_buf_addf(out, "[%s]\n", name);
        /* Names come from sqlite_master, not from users: a test-only query. */
        sv_buf_reset(&sql);
        sv_buf_reset(&order);
        sv_buf_adds(&sql, "SELECT ''");
        bool without_rowid = false;
        tmpdb_check(sv_db_prepare(db, SQL_ROWID, &rowid, &err), "fingerprint", &err);
        sv_stmt_bind_text(rowid, 1, name);
        tmpdb_check(sv_stmt_step(rowid, &without_rowid, &err), "fingerprint", &err);
        sv_stmt_finalize(rowid);
        tmpdb_check(sv_db_prepare(db, SQL_COLUMNS, &cols, &err), "fingerprint", &err);
        sv_stmt_bind_text(cols, 1, name);
        for (;;) {
            tmpdb_check(sv_stmt_step(cols, &row, &err), "fingerprint", &err);
            if (!row)
                break;
            sv_buf_addf(&sql, " || '|' || quote(\"%s\")", sv_stmt_column_text(cols, 0, NULL));
            if (sv_stmt_column_int64(cols, 1) > 0) /* the key is unique: any column order will do */
                sv_buf_addf(&order, "%s\"%s\"", order.len ? ", " : "",
                            sv_stmt_column_text(cols, 0, NULL));
        }
        sv_stmt_finalize(cols);
        sv_buf_addf(&sql, " FROM \"%s\" ORDER BY %s", name,
                    without_rowid && order.len ? order.ptr : "rowid");
        tmpdb_check(sv_db_prepare(db, sql.ptr, &rows, &err), "fingerprint", &err);
        for (;;) {
            tmpdb_check(sv_stmt_step(rows, &row, &err), "fingerprint", &err);
            if (!row)
                break;
            size_t n = 0;
            const char *v = sv_stmt_column_text(rows, 0, &n);
            sv_buf_add(out, v, n);
            sv_buf_addc(out, '\n');
        }
        sv_stmt_finalize(rows);
    }
    sv_stmt_finalize(tables);
    sv_buf_release(&sql);
    sv_buf_release(&order);
    sv_buf_release(&err);
}

#endif
