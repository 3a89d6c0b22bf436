/*
 * resource_pg.c - the write path on PostgreSQL (see resource_int.h).
 *
 * A statement is a network round trip, so a write replaces all its index rows in
 * one statement: data-modifying CTEs delete the previous version's rows and insert
 * the new ones, each kind's values passed as one JSON array (json_to_recordset).
 * (The deletes see the rows as they were before the statement, so they never meet
 * the new ones.)  The resource and its version go in one statement too.  SQLite,
 * in-process, keeps one cached statement per row (resource.c).
 */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "store/resource_int.h"

#define PG_DEL(name, table) name " AS (DELETE FROM " table " WHERE rid = CAST(?1 AS BIGINT)), "
#define PG_INS(name, table, cols, xcols, types, param)                                             \
    name " AS (INSERT INTO " table " (rid, type, " cols ") SELECT CAST(?1 AS BIGINT),"             \
         " CAST(?2 AS TEXT), " xcols " FROM json_to_recordset(CAST(" param                         \
         " AS json)) AS x(" types "))"
/* clang-format off */
static const char PG_REPLACE_ROWS[] = "WITH "
    PG_DEL("d1", "idx_string") PG_DEL("d2", "idx_token") PG_DEL("d3", "idx_reference")
    PG_DEL("d4", "idx_date") PG_DEL("d5", "idx_number") PG_DEL("d6", "idx_quantity")
    PG_DEL("d7", "idx_uri") PG_DEL("d8", "idx_composite") PG_DEL("d9", "idx_combined")
    /* ?3..?10: the rows of SV_INDEX_STRING..SV_INDEX_COMPOSITE */
    PG_INS("i1", "idx_string", "param, value, exact", "x.param, x.value, x.exact",
           "param text, value text, exact text", "?3") ", "
    PG_INS("i2", "idx_token", "param, system, value, exact, text",
           "x.param, x.system, x.value, x.exact, x.text",
           "param text, system text, value text, exact text, text text", "?4") ", "
    PG_INS("i3", "idx_reference", "param, target_type, target_id, url",
           "x.param, x.system, x.value, x.exact",
           "param text, system text, value text, exact text", "?5") ", "
    PG_INS("i4", "idx_date", "param, low, high", "x.param, x.low, x.high",
           "param text, low bigint, high bigint", "?6") ", "
    PG_INS("i5", "idx_number", "param, value", "x.param, x.number",
           "param text, number float8", "?7") ", "
    PG_INS("i6", "idx_quantity", "param, value, system, code, unit",
           "x.param, x.number, x.system, x.value, x.exact",
           "param text, number float8, system text, value text, exact text", "?8") ", "
    PG_INS("i7", "idx_uri", "param, uri", "x.param, x.value", "param text, value text", "?9") ", "
    PG_INS("i8", "idx_composite", "param, system1, value1, system2, value2, number2, low2, high2",
           "x.param, x.system, x.value, x.system2, x.value2, x.number, x.low, x.high",
           "param text, system text, value text, system2 text, value2 text, number float8,"
           " low bigint, high bigint", "?10")
    " SELECT 1";
/* clang-format on */
static const char PG_WRITE[] =
    "WITH r AS (INSERT INTO resource (type, id, version, last_updated, deleted)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (type, id) DO UPDATE SET version = excluded.version,"
    " last_updated = excluded.last_updated, deleted = excluded.deleted RETURNING rid)"
    " INSERT INTO resource_version (rid, version, last_updated, method, deleted, json)"
    " SELECT r.rid, CAST(?3 AS BIGINT), CAST(?4 AS BIGINT), CAST(?6 AS TEXT), CAST(?5 AS BIGINT),"
    " CAST(?7 AS TEXT) FROM r RETURNING rid";

/* The same that also sets the resource's access category (?8). */
static const char PG_WRITE_CATEGORY[] =
    "WITH r AS (INSERT INTO resource (type, id, version, last_updated, deleted, category)"
    " VALUES (?1, ?2, ?3, ?4, ?5, CAST(?8 AS BIGINT)) ON CONFLICT (type, id) DO UPDATE SET"
    " version = excluded.version, last_updated = excluded.last_updated,"
    " deleted = excluded.deleted, category = excluded.category RETURNING rid)"
    " INSERT INTO resource_version (rid, version, last_updated, method, deleted, json)"
    " SELECT r.rid, CAST(?3 AS BIGINT), CAST(?4 AS BIGINT), CAST(?6 AS TEXT), CAST(?5 AS BIGINT),"
    " CAST(?7 AS TEXT) FROM r RETURNING rid";

sv_err sv__pg_write(sv_db *db, const char *type, const char *id, int64_t version,
                    int64_t last_updated, bool deleted, const char *method, const char *json,
                    size_t json_len, int category, int64_t *ret_rid, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, category < 0 ? PG_WRITE : PG_WRITE_CATEGORY, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, type);
    sv_stmt_bind_text(st, 2, id);
    sv_stmt_bind_int64(st, 3, version);
    sv_stmt_bind_int64(st, 4, last_updated);
    sv_stmt_bind_int64(st, 5, deleted);
    sv_stmt_bind_text(st, 6, method);
    if (json)
        sv_stmt_bind_textn(st, 7, json, json_len);
    else
        sv_stmt_bind_null(st, 7);
    if (category >= 0)
        sv_stmt_bind_int64(st, 8, category);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    *ret_rid = row ? sv_stmt_column_int64(st, 0) : 0;
    sv_stmt_reset(st);
    return row ? SV_OK : SV_ERR_INTERNAL;
}

static json_t *json_text(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The rows of one kind as a JSON array of objects named as in PG_REPLACE_ROWS; NULL when a
 * value cannot be JSON (a non-finite number, text that is not UTF-8): then the rows
 * go one by one, and the database says what it thinks of them. */
static char *rows_json(const sv_index_rows *rows, sv_index_kind kind, sv_buf *scratch)
{
    json_t *arr = json_array();
    bool ok = arr != NULL;
    for (size_t i = 0; ok && i < rows->len; i++) {
        const sv_index_row *r = &rows->rows[i];
        if (r->kind != kind)
            continue;
        if (!isfinite(r->number)) {
            ok = false;
            break;
        }
        const char *text = NULL;
        if (kind == SV_INDEX_TOKEN && r->exact) {
            sv_buf_reset(scratch);
            sv_text_fold(r->exact, strlen(r->exact), scratch);
            text = scratch->ptr;
        }
        json_t *o = json_object();
        ok = o && json_object_set_new(o, "param", json_text(r->param)) == 0 &&
             json_object_set_new(o, "system", json_text(r->system)) == 0 &&
             json_object_set_new(o, "value", json_text(r->value)) == 0 &&
             json_object_set_new(o, "exact", json_text(r->exact)) == 0 &&
             json_object_set_new(o, "text", json_text(text)) == 0 &&
             json_object_set_new(o, "system2", json_text(r->system2)) == 0 &&
             json_object_set_new(o, "value2", json_text(r->value2)) == 0 &&
             json_object_set_new(o, "number", json_real(r->number)) == 0 &&
             json_object_set_new(o, "low", json_integer(r->low)) == 0 &&
             json_object_set_new(o, "high", json_integer(r->high)) == 0 &&
             json_array_append_new(arr, o) == 0;
        /* json_string refuses text that is not UTF-8; set_new then failed */
    }
    char *out = ok ? json_dumps(arr, JSON_COMPACT) : NULL;
    json_decref(arr);
    return out;
}

sv_err sv__pg_replace_rows(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                           sv_buf *reterr)
{
    char *json[SV_INDEX_KIND_COUNT] = {NULL};
    bool one_by_one[SV_INDEX_KIND_COUNT] = {false};
    sv_buf scratch = SV_BUF_INIT;
    sv_err e = SV_OK;
    for (size_t i = 0; rows && i < rows->len && !e; i++) {
        sv_index_kind k = rows->rows[i].kind;
        if ((unsigned)k >= SV_INDEX_KIND_COUNT) {
            if (reterr)
                sv_buf_addf(reterr, "index row of unknown kind %d", (int)k);
            e = SV_ERR_INTERNAL;
        } else if (!json[k] && !one_by_one[k]) {
            json[k] = rows_json(rows, k, &scratch);
            one_by_one[k] = json[k] == NULL;
        }
    }
    sv_stmt *st;
    if (!e)
        e = sv_db_stmt(db, PG_REPLACE_ROWS, &st, reterr);
    if (!e) {
        sv_stmt_bind_int64(st, 1, rid);
        sv_stmt_bind_text(st, 2, type);
        for (int k = 0; k < SV_INDEX_KIND_COUNT; k++)
            sv_stmt_bind_text(st, 3 + k, json[k] ? json[k] : "[]");
        e = sv_stmt_run(st, reterr);
    }
    /* rows that cannot travel as JSON: one by one, and the database judges them */
    for (size_t i = 0; rows && i < rows->len && !e; i++)
        if (one_by_one[rows->rows[i].kind])
            e = sv__index_row_add(db, rid, type, &rows->rows[i], &scratch, reterr);
    for (int k = 0; k < SV_INDEX_KIND_COUNT; k++)
        free(json[k]);
    sv_buf_release(&scratch);
    return e;
}
