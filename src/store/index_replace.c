/*
 * index_replace.c - SQLite: replaces the search index rows of one resource with a new
 * set by writing only the difference.
 *
 * An update usually changes a few elements (a phone number, a status), so most of its
 * index rows are the same as the previous version's.  Deleting them all and inserting
 * them again cost three b-tree changes per row (the table and its two indexes) twice,
 * and dirtied a page of each lookup index for each row, which the commit then wrote to
 * the WAL and the checkpoint to the database.  Here the current rows are read (by the
 * rid index), each matched against an equal new row, and only the unmatched old rows
 * are deleted and the unmatched new rows inserted.  The result is the same multiset of
 * rows as delete-all-then-insert; row order inside a table is not observable (every
 * query orders by its own columns).
 *
 * Uses store/resource_int.h's row insert; knows the idx_* tables (store/schema.c).
 */
#include <stdlib.h>
#include <string.h>

#include "store/resource_int.h"

/* Above this many rows the quadratic matching costs more than it saves. */
#define MATCH_MAX 512

/* All kinds' rows in one statement, each with its kind in column 11: a statement per kind
 * cost eight executions (cursor, seek, halt, reset) for the two or three kinds most
 * resources have. */
#define ROWS_OF(kind, cols, table) "SELECT rowid, " cols ", " #kind " FROM " table " WHERE rid = ?1"
/* clang-format off */
static const char SQL_ROWS_ALL[] =
    ROWS_OF(0, "type, param, NULL, value, exact, NULL, NULL, NULL, NULL, NULL", "idx_string")
    " UNION ALL "
    ROWS_OF(1, "type, param, system, value, exact, NULL, NULL, NULL, NULL, NULL", "idx_token")
    " UNION ALL "
    ROWS_OF(2, "type, param, target_type, target_id, url, NULL, NULL, NULL, NULL, NULL",
            "idx_reference")
    " UNION ALL "
    ROWS_OF(3, "type, param, NULL, NULL, NULL, NULL, NULL, NULL, low, high", "idx_date")
    " UNION ALL "
    ROWS_OF(4, "type, param, NULL, NULL, NULL, NULL, NULL, value, NULL, NULL", "idx_number")
    " UNION ALL "
    ROWS_OF(5, "type, param, system, code, unit, NULL, NULL, value, NULL, NULL", "idx_quantity")
    " UNION ALL "
    ROWS_OF(6, "type, param, NULL, uri, NULL, NULL, NULL, NULL, NULL, NULL", "idx_uri")
    " UNION ALL "
    ROWS_OF(7, "type, param, system1, value1, NULL, system2, value2, number2, low2, high2",
            "idx_composite");
/* clang-format on */
static const char *const SQL_DELETE[] = {
    [SV_INDEX_STRING] = "DELETE FROM idx_string WHERE rowid = ?",
    [SV_INDEX_TOKEN] = "DELETE FROM idx_token WHERE rowid = ?",
    [SV_INDEX_REFERENCE] = "DELETE FROM idx_reference WHERE rowid = ?",
    [SV_INDEX_DATE] = "DELETE FROM idx_date WHERE rowid = ?",
    [SV_INDEX_NUMBER] = "DELETE FROM idx_number WHERE rowid = ?",
    [SV_INDEX_QUANTITY] = "DELETE FROM idx_quantity WHERE rowid = ?",
    [SV_INDEX_URI] = "DELETE FROM idx_uri WHERE rowid = ?",
    [SV_INDEX_COMPOSITE] = "DELETE FROM idx_composite WHERE rowid = ?",
};
static const char *const SQL_DELETE_ALL[] = {
    [SV_INDEX_STRING] = "DELETE FROM idx_string WHERE rid = ?",
    [SV_INDEX_TOKEN] = "DELETE FROM idx_token WHERE rid = ?",
    [SV_INDEX_REFERENCE] = "DELETE FROM idx_reference WHERE rid = ?",
    [SV_INDEX_DATE] = "DELETE FROM idx_date WHERE rid = ?",
    [SV_INDEX_NUMBER] = "DELETE FROM idx_number WHERE rid = ?",
    [SV_INDEX_QUANTITY] = "DELETE FROM idx_quantity WHERE rid = ?",
    [SV_INDEX_URI] = "DELETE FROM idx_uri WHERE rid = ?",
    [SV_INDEX_COMPOSITE] = "DELETE FROM idx_composite WHERE rid = ?",
};
#define KINDS SV_INDEX_KIND_COUNT
_Static_assert(SV_INDEX_STRING == 0 && SV_INDEX_TOKEN == 1 && SV_INDEX_REFERENCE == 2 &&
                   SV_INDEX_DATE == 3 && SV_INDEX_NUMBER == 4 && SV_INDEX_QUANTITY == 5 &&
                   SV_INDEX_URI == 6 && SV_INDEX_COMPOSITE == 7,
               "SQL_ROWS_ALL names the kinds by number");

/* Which of the optional fields each kind stores. */
enum { F_SYSTEM = 1, F_VALUE = 2, F_EXACT = 4, F_PAIR = 8, F_NUMBER = 16, F_RANGE = 32 };
static const int FIELDS[] = {
    [SV_INDEX_STRING] = F_VALUE | F_EXACT,
    [SV_INDEX_TOKEN] = F_SYSTEM | F_VALUE | F_EXACT,
    [SV_INDEX_REFERENCE] = F_SYSTEM | F_VALUE | F_EXACT,
    [SV_INDEX_DATE] = F_RANGE,
    [SV_INDEX_NUMBER] = F_NUMBER,
    [SV_INDEX_QUANTITY] = F_SYSTEM | F_VALUE | F_EXACT | F_NUMBER,
    [SV_INDEX_URI] = F_VALUE,
    [SV_INDEX_COMPOSITE] = F_SYSTEM | F_VALUE | F_PAIR | F_NUMBER | F_RANGE,
};

/* Column col of st equals s, NULL only to NULL. */
static bool text_is(sv_stmt *st, int col, const char *s)
{
    if (sv_stmt_column_is_null(st, col))
        return s == NULL;
    if (!s)
        return false;
    size_t len = 0;
    const char *c = sv_stmt_column_text(st, col, &len);
    return c && strlen(s) == len && memcmp(c, s, len) == 0;
}

/* The stored row under st (SQL_ROWS_ALL's columns) is r. */
static bool row_is(sv_stmt *st, const char *type, const sv_index_row *r)
{
    int f = FIELDS[r->kind];
    if (!text_is(st, 1, type) || !text_is(st, 2, r->param))
        return false;
    if ((f & F_SYSTEM) && !text_is(st, 3, r->system))
        return false;
    if ((f & F_VALUE) && !text_is(st, 4, r->value))
        return false;
    if ((f & F_EXACT) && !text_is(st, 5, r->exact))
        return false;
    if ((f & F_PAIR) && (!text_is(st, 6, r->system2) || !text_is(st, 7, r->value2)))
        return false;
    if ((f & F_NUMBER) &&
        (sv_stmt_column_is_null(st, 8) || sv_stmt_column_double(st, 8) != r->number))
        return false;
    if ((f & F_RANGE) &&
        (sv_stmt_column_is_null(st, 9) || sv_stmt_column_int64(st, 9) != r->low ||
         sv_stmt_column_is_null(st, 10) || sv_stmt_column_int64(st, 10) != r->high))
        return false;
    return true;
}

typedef struct stale_row {
    sv_index_kind kind;
    int64_t rowid;
} stale_row;

typedef struct stale_rows {
    stale_row *v;
    size_t len, cap;
} stale_rows;

static void stale_add(stale_rows *r, sv_index_kind kind, int64_t rowid)
{
    if (r->len == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 16;
        stale_row *p = realloc(r->v, cap * sizeof(*p));
        if (!p)
            abort();
        r->v = p;
        r->cap = cap;
    }
    r->v[r->len++] = (stale_row){kind, rowid};
}

static sv_err run_id(sv_db *db, const char *sql, int64_t id, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, id);
    return sv_stmt_run(st, reterr);
}

/* Marks in kept[] the new rows that are stored already (each stored row matches at most
 * one new row of its kind), and collects the stored rows that match none. */
static sv_err match_rows(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                         bool *kept, stale_rows *stale, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_ROWS_ALL, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, rid);
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        int64_t kind = sv_stmt_column_int64(st, 11);
        if (kind < 0 || kind >= KINDS) {
            if (reterr)
                sv_buf_addf(reterr, "index row of unknown kind %lld", (long long)kind);
            e = SV_ERR_INTERNAL;
            break;
        }
        bool found = false;
        for (size_t i = 0; i < rows->len && !found; i++)
            if (!kept[i] && rows->rows[i].kind == kind && row_is(st, type, &rows->rows[i]))
                kept[i] = found = true;
        if (!found)
            stale_add(stale, (sv_index_kind)kind, sv_stmt_column_int64(st, 0));
    }
    sv_stmt_reset(st);
    return e;
}

sv_err sv__index_rows_replace(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                              sv_buf *reterr)
{
    size_t n = rows ? rows->len : 0;
    sv_err e = SV_OK;
    if (n == 0 || n > MATCH_MAX) {
        for (size_t k = 0; k < KINDS && !e; k++)
            e = run_id(db, SQL_DELETE_ALL[k], rid, reterr);
        sv_buf scratch = SV_BUF_INIT;
        for (size_t i = 0; i < n && !e; i++)
            e = sv__index_row_add(db, rid, type, &rows->rows[i], &scratch, reterr);
        sv_buf_release(&scratch);
        return e;
    }
    bool *kept = calloc(n, sizeof(*kept));
    if (!kept)
        abort();
    stale_rows stale = {0};
    e = match_rows(db, rid, type, rows, kept, &stale, reterr);
    for (size_t i = 0; i < stale.len && !e; i++)
        e = run_id(db, SQL_DELETE[stale.v[i].kind], stale.v[i].rowid, reterr);
    sv_buf scratch = SV_BUF_INIT;
    for (size_t i = 0; i < n && !e; i++)
        if (!kept[i])
            e = sv__index_row_add(db, rid, type, &rows->rows[i], &scratch, reterr);
    sv_buf_release(&scratch);
    free(stale.v);
    free(kept);
    return e;
}
