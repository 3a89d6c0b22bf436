/* resource.c - see resource.h. */
#include "store/resource.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/text.h"

static const char SQL_CURRENT[] =
    "SELECT r.rid, r.version, r.last_updated, r.deleted, v.json, v.seq, v.method"
    " FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
    " WHERE r.type = ? AND r.id = ?";
static const char SQL_CURRENT_META[] =
    "SELECT rid, version, last_updated, deleted FROM resource WHERE type = ? AND id = ?";
static const char SQL_VREAD[] =
    "SELECT r.rid, v.version, v.last_updated, v.deleted, v.json, v.seq, v.method"
    " FROM resource r JOIN resource_version v ON v.rid = r.rid"
    " WHERE r.type = ? AND r.id = ? AND v.version = ?";
static const char SQL_INSERT_RESOURCE[] =
    "INSERT INTO resource (type, id, version, last_updated, deleted) VALUES (?, ?, ?, ?, ?)"
    " ON CONFLICT (type, id) DO UPDATE SET version = excluded.version,"
    " last_updated = excluded.last_updated, deleted = excluded.deleted"
    " RETURNING rid";
static const char SQL_INSERT_VERSION[] =
    "INSERT INTO resource_version (rid, version, last_updated, method, deleted, json)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_DEL_STRING[] = "DELETE FROM idx_string WHERE rid = ?";
static const char SQL_DEL_TOKEN[] = "DELETE FROM idx_token WHERE rid = ?";
static const char SQL_DEL_REFERENCE[] = "DELETE FROM idx_reference WHERE rid = ?";
static const char SQL_DEL_DATE[] = "DELETE FROM idx_date WHERE rid = ?";
static const char SQL_DEL_NUMBER[] = "DELETE FROM idx_number WHERE rid = ?";
static const char SQL_DEL_QUANTITY[] = "DELETE FROM idx_quantity WHERE rid = ?";
static const char SQL_DEL_URI[] = "DELETE FROM idx_uri WHERE rid = ?";
static const char SQL_DEL_COMPOSITE[] = "DELETE FROM idx_composite WHERE rid = ?";
/* Every row carries its resource's type (schema migration 2): lookups by value stay
 * within one type, and counts need no join with resource. */
static const char SQL_ADD_STRING[] =
    "INSERT INTO idx_string (rid, type, param, value, exact) VALUES (?, ?, ?, ?, ?)";
static const char SQL_ADD_TOKEN[] = "INSERT INTO idx_token (rid, type, param, system, value, exact,"
                                    " text) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_ADD_REFERENCE[] = "INSERT INTO idx_reference (rid, type, param, target_type,"
                                        " target_id, url) VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_ADD_DATE[] =
    "INSERT INTO idx_date (rid, type, param, low, high) VALUES (?, ?, ?, ?, ?)";
static const char SQL_ADD_NUMBER[] =
    "INSERT INTO idx_number (rid, type, param, value) VALUES (?, ?, ?, ?)";
static const char SQL_ADD_QUANTITY[] = "INSERT INTO idx_quantity (rid, type, param, value, system,"
                                       " code, unit) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_ADD_URI[] = "INSERT INTO idx_uri (rid, type, param, uri) VALUES (?, ?, ?, ?)";
static const char SQL_ADD_COMPOSITE[] =
    "INSERT INTO idx_composite (rid, type, param, system1, value1, system2, value2, number2,"
    " low2, high2) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

/*
 * PostgreSQL: a statement is a network round trip, so a write replaces all its index
 * rows in one statement: data-modifying CTEs delete the previous version's rows and
 * insert the new ones, each kind's values passed as one JSON array
 * (json_to_recordset).  (The deletes see the rows as they were before the
 * statement, so they never meet the new ones.)  The resource and its version go in
 * one statement too.  SQLite, in-process, keeps one cached statement per row.
 */
#define PG_DEL(name, table) name " AS (DELETE FROM " table " WHERE rid = CAST(?1 AS BIGINT)), "
#define PG_INS(name, table, cols, xcols, types, param)                                             \
    name " AS (INSERT INTO " table " (rid, type, " cols ") SELECT CAST(?1 AS BIGINT),"             \
         " CAST(?2 AS TEXT), " xcols " FROM json_to_recordset(CAST(" param                         \
         " AS json)) AS x(" types "))"
static const char PG_REPLACE_ROWS[] = "WITH " PG_DEL("d1", "idx_string") PG_DEL("d2", "idx_token")
    PG_DEL("d3", "idx_reference") PG_DEL("d4", "idx_date") PG_DEL("d5", "idx_number")
        PG_DEL("d6", "idx_quantity") PG_DEL("d7", "idx_uri") PG_DEL("d8", "idx_composite")
    /* ?3..?10: the rows of SV_INDEX_STRING..SV_INDEX_COMPOSITE */
    PG_INS("i1", "idx_string", "param, value, exact", "x.param, x.value, x.exact", "param text, value text, exact text", "?3") ", " PG_INS(
        "i2", "idx_token", "param, system, value, exact, text",
        "x.param, x.system, x.value, x.exact, x.text",
        "param text, system text, value text, exact text, text text",
        "?4") ", " PG_INS("i3", "idx_reference", "param, target_type, target_id, url",
                          "x.param, x.system, x.value, x.exact",
                          "param text, system text, value text, exact text",
                          "?5") ", " PG_INS("i4", "idx_date", "param, low, high",
                                            "x.param, x.low, x.high",
                                            "param text, low bigint, high bigint",
                                            "?6") ", " PG_INS("i5", "idx_number", "param, value",
                                                              "x.param, x.number",
                                                              "param text, number float8",
                                                              "?7") ", " PG_INS("i6",
                                                                                "idx_quantity",
                                                                                "param, value, "
                                                                                "system, code, "
                                                                                "unit",
                                                                                "x.param, "
                                                                                "x.number, "
                                                                                "x.system, "
                                                                                "x.value, x.exact",
                                                                                "param text, "
                                                                                "number float8, "
                                                                                "system text, "
                                                                                "value text, exact "
                                                                                "text",
                                                                                "?8") ", " PG_INS("i7",
                                                                                                  "idx_uri",
                                                                                                  "param, uri",
                                                                                                  "x.param, x.value",
                                                                                                  "param text, value text",
                                                                                                  "?9") ", " PG_INS("i8",
                                                                                                                    "idx_composite",
                                                                                                                    "param, system1, value1, system2, value2, number2, low2, high2",
                                                                                                                    "x.param, x.system, x.value, x.system2, x.value2, x.number, x.low, x.high",
                                                                                                                    "param text, system text, value text, system2 text, value2 text, number float8,"
                                                                                                                    " low bigint, high bigint",
                                                                                                                    "?10") " SELECT 1";
static const char PG_WRITE[] =
    "WITH r AS (INSERT INTO resource (type, id, version, last_updated, deleted)"
    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (type, id) DO UPDATE SET version = excluded.version,"
    " last_updated = excluded.last_updated, deleted = excluded.deleted RETURNING rid)"
    " INSERT INTO resource_version (rid, version, last_updated, method, deleted, json)"
    " SELECT r.rid, CAST(?3 AS BIGINT), CAST(?4 AS BIGINT), CAST(?6 AS TEXT), CAST(?5 AS BIGINT),"
    " CAST(?7 AS TEXT) FROM r RETURNING rid";

/* History: the four shapes (all / type / instance) x (count / page). */
static const char SQL_HIST_ALL[] =
    "SELECT r.type, r.id, v.version, v.last_updated, v.deleted, v.json, v.seq, v.method"
    " FROM resource_version v JOIN resource r ON r.rid = v.rid"
    " WHERE v.last_updated >= ? AND v.seq < ? ORDER BY v.seq DESC LIMIT ?";
static const char SQL_HIST_ALL_COUNT[] =
    "SELECT COUNT(*) FROM resource_version v WHERE v.last_updated >= ?";
static const char SQL_HIST_TYPE[] =
    "SELECT r.type, r.id, v.version, v.last_updated, v.deleted, v.json, v.seq, v.method"
    " FROM resource_version v JOIN resource r ON r.rid = v.rid"
    " WHERE r.type = ? AND v.last_updated >= ? AND v.seq < ? ORDER BY v.seq DESC LIMIT ?";
static const char SQL_HIST_TYPE_COUNT[] =
    "SELECT COUNT(*) FROM resource_version v JOIN resource r ON r.rid = v.rid"
    " WHERE r.type = ? AND v.last_updated >= ?";
static const char SQL_HIST_ID[] =
    "SELECT r.type, r.id, v.version, v.last_updated, v.deleted, v.json, v.seq, v.method"
    " FROM resource_version v JOIN resource r ON r.rid = v.rid"
    " WHERE r.type = ? AND r.id = ? AND v.last_updated >= ? AND v.seq < ?"
    " ORDER BY v.seq DESC LIMIT ?";
static const char SQL_HIST_ID_COUNT[] =
    "SELECT COUNT(*) FROM resource_version v JOIN resource r ON r.rid = v.rid"
    " WHERE r.type = ? AND r.id = ? AND v.last_updated >= ?";

void sv_stored_clear(sv_stored *s)
{
    if (!s)
        return;
    free(s->json);
    memset(s, 0, sizeof(*s));
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static char *dup_column(sv_stmt *st, int col, size_t *ret_len)
{
    if (sv_stmt_column_is_null(st, col)) {
        *ret_len = 0;
        return NULL;
    }
    size_t len = 0;
    const char *p = sv_stmt_column_text(st, col, &len);
    char *c = malloc(len + 1);
    if (!c)
        abort();
    memcpy(c, p, len);
    c[len] = '\0';
    *ret_len = len;
    return c;
}

/* One version by a statement whose columns are (rid, version, last_updated, deleted[, json,
 * seq, method]) and whose parameters are (type, id[, version]). */
static sv_err fetch_version(sv_db *db, const char *sql, const char *type, const char *id,
                            int64_t version, bool with_json, sv_stored *ret, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, type);
    sv_stmt_bind_text(st, 2, id);
    if (version > 0)
        sv_stmt_bind_int64(st, 3, version);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    if (!row) {
        sv_stmt_reset(st);
        return SV_ERR_NOT_FOUND;
    }
    sv_stored s;
    memset(&s, 0, sizeof(s));
    copy_name(s.type, sizeof(s.type), type);
    copy_name(s.id, sizeof(s.id), id);
    s.version = sv_stmt_column_int64(st, 1);
    s.last_updated = sv_stmt_column_int64(st, 2);
    s.deleted = sv_stmt_column_int64(st, 3) != 0;
    if (with_json) {
        s.json = dup_column(st, 4, &s.json_len);
        s.seq = sv_stmt_column_int64(st, 5);
        size_t n;
        copy_name(s.method, sizeof(s.method), sv_stmt_column_text(st, 6, &n));
    }
    sv_stmt_reset(st);
    *ret = s;
    return SV_OK;
}

sv_err sv_store_current(sv_db *db, const char *type, const char *id, bool with_json, sv_stored *ret,
                        sv_buf *reterr)
{
    return fetch_version(db, with_json ? SQL_CURRENT : SQL_CURRENT_META, type, id, 0, with_json,
                         ret, reterr);
}

sv_err sv_store_vread(sv_db *db, const char *type, const char *id, int64_t version, sv_stored *ret,
                      sv_buf *reterr)
{
    if (version < 1)
        return SV_ERR_NOT_FOUND;
    return fetch_version(db, SQL_VREAD, type, id, version, true, ret, reterr);
}

static sv_err run_rid(sv_db *db, const char *sql, int64_t rid, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, rid);
    return sv_stmt_run(st, reterr);
}

static sv_err add_row(sv_db *db, int64_t rid, const char *type, const sv_index_row *r,
                      sv_buf *scratch, sv_buf *reterr)
{
    static const char *const sql[] = {
        [SV_INDEX_STRING] = SQL_ADD_STRING,
        [SV_INDEX_TOKEN] = SQL_ADD_TOKEN,
        [SV_INDEX_REFERENCE] = SQL_ADD_REFERENCE,
        [SV_INDEX_DATE] = SQL_ADD_DATE,
        [SV_INDEX_NUMBER] = SQL_ADD_NUMBER,
        [SV_INDEX_QUANTITY] = SQL_ADD_QUANTITY,
        [SV_INDEX_URI] = SQL_ADD_URI,
        [SV_INDEX_COMPOSITE] = SQL_ADD_COMPOSITE,
    };
    if ((unsigned)r->kind >= sizeof(sql) / sizeof(sql[0])) {
        if (reterr)
            sv_buf_addf(reterr, "index row of unknown kind %d", (int)r->kind);
        return SV_ERR_INTERNAL;
    }
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, sql[r->kind], &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, rid);
    sv_stmt_bind_text(st, 2, type);
    sv_stmt_bind_text(st, 3, r->param);
    switch (r->kind) {
    case SV_INDEX_STRING:
        sv_stmt_bind_text(st, 4, r->value);
        sv_stmt_bind_text(st, 5, r->exact);
        break;
    case SV_INDEX_TOKEN:
        sv_stmt_bind_text(st, 4, r->system);
        sv_stmt_bind_text(st, 5, r->value);
        sv_stmt_bind_text(st, 6, r->exact);
        /* :text matches the folded display or text (base/text.h), as string search does */
        if (r->exact) {
            sv_buf_reset(scratch);
            sv_text_fold(r->exact, strlen(r->exact), scratch);
            sv_stmt_bind_textn(st, 7, scratch->ptr, scratch->len);
        } else {
            sv_stmt_bind_null(st, 7);
        }
        break;
    case SV_INDEX_REFERENCE:
        sv_stmt_bind_text(st, 4, r->system);
        sv_stmt_bind_text(st, 5, r->value);
        sv_stmt_bind_text(st, 6, r->exact);
        break;
    case SV_INDEX_DATE:
        sv_stmt_bind_int64(st, 4, r->low);
        sv_stmt_bind_int64(st, 5, r->high);
        break;
    case SV_INDEX_NUMBER:
        sv_stmt_bind_double(st, 4, r->number);
        break;
    case SV_INDEX_QUANTITY:
        sv_stmt_bind_double(st, 4, r->number);
        sv_stmt_bind_text(st, 5, r->system);
        sv_stmt_bind_text(st, 6, r->value);
        sv_stmt_bind_text(st, 7, r->exact);
        break;
    case SV_INDEX_URI:
        sv_stmt_bind_text(st, 4, r->value);
        break;
    case SV_INDEX_COMPOSITE:
        sv_stmt_bind_text(st, 4, r->system);
        sv_stmt_bind_text(st, 5, r->value);
        sv_stmt_bind_text(st, 6, r->system2);
        sv_stmt_bind_text(st, 7, r->value2);
        sv_stmt_bind_double(st, 8, r->number);
        sv_stmt_bind_int64(st, 9, r->low);
        sv_stmt_bind_int64(st, 10, r->high);
        break;
    }
    return sv_stmt_run(st, reterr);
}

static json_t *json_text(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The rows of one kind as a JSON array of objects named as in PG_ADD_*; NULL when a
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

/* Replaces the index rows of rid with rows (NULL: none) in one statement. */
static sv_err replace_rows_postgres(sv_db *db, int64_t rid, const char *type,
                                    const sv_index_rows *rows, sv_buf *reterr)
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
            e = add_row(db, rid, type, &rows->rows[i], &scratch, reterr);
    for (int k = 0; k < SV_INDEX_KIND_COUNT; k++)
        free(json[k]);
    sv_buf_release(&scratch);
    return e;
}

sv_err sv_store_write(sv_db *db, const char *type, const char *id, int64_t version,
                      int64_t last_updated, const char *method, const char *json, size_t json_len,
                      const sv_index_rows *rows, sv_buf *reterr)
{
    if (!sv_db_in_tx(db)) {
        if (reterr)
            sv_buf_adds(reterr, "sv_store_write needs a write transaction");
        return SV_ERR_INTERNAL;
    }
    bool deleted = json == NULL;
    bool postgres = sv_db_dialect_of(db) == SV_DIALECT_POSTGRES;
    sv_stmt *st;
    if (postgres) {
        sv_err e = sv_db_stmt(db, PG_WRITE, &st, reterr);
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
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e)
            return e;
        int64_t rid = row ? sv_stmt_column_int64(st, 0) : 0;
        sv_stmt_reset(st);
        if (!row)
            return SV_ERR_INTERNAL;
        if (version > 1 || (!deleted && rows && rows->len))
            e = replace_rows_postgres(db, rid, type, deleted ? NULL : rows, reterr);
        return e;
    }
    sv_err e = sv_db_stmt(db, SQL_INSERT_RESOURCE, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, type);
    sv_stmt_bind_text(st, 2, id);
    sv_stmt_bind_int64(st, 3, version);
    sv_stmt_bind_int64(st, 4, last_updated);
    sv_stmt_bind_int64(st, 5, deleted);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    if (!row) {
        sv_stmt_reset(st);
        return SV_ERR_INTERNAL;
    }
    int64_t rid = sv_stmt_column_int64(st, 0);
    sv_stmt_reset(st);

    e = sv_db_stmt(db, SQL_INSERT_VERSION, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, rid);
    sv_stmt_bind_int64(st, 2, version);
    sv_stmt_bind_int64(st, 3, last_updated);
    sv_stmt_bind_text(st, 4, method);
    sv_stmt_bind_int64(st, 5, deleted);
    if (json)
        sv_stmt_bind_textn(st, 6, json, json_len);
    else
        sv_stmt_bind_null(st, 6);
    e = sv_stmt_run(st, reterr);
    if (e)
        return e;

    if (version > 1) {
        static const char *const del[] = {SQL_DEL_STRING, SQL_DEL_TOKEN,    SQL_DEL_REFERENCE,
                                          SQL_DEL_DATE,   SQL_DEL_NUMBER,   SQL_DEL_QUANTITY,
                                          SQL_DEL_URI,    SQL_DEL_COMPOSITE};
        for (size_t i = 0; i < sizeof(del) / sizeof(del[0]); i++) {
            e = run_rid(db, del[i], rid, reterr);
            if (e)
                return e;
        }
    }
    if (!deleted && rows) {
        sv_buf scratch = SV_BUF_INIT;
        for (size_t i = 0; i < rows->len && !e; i++)
            e = add_row(db, rid, type, &rows->rows[i], &scratch, reterr);
        sv_buf_release(&scratch);
        if (e)
            return e;
    }
    return SV_OK;
}

sv_err sv_store_history(sv_db *db, const sv_history_query *q, sv_store_visit visit, void *ctx,
                        int64_t *ret_total, sv_buf *reterr)
{
    const char *sql = SQL_HIST_ALL, *count_sql = SQL_HIST_ALL_COUNT;
    if (q->type && q->id) {
        sql = SQL_HIST_ID;
        count_sql = SQL_HIST_ID_COUNT;
    } else if (q->type) {
        sql = SQL_HIST_TYPE;
        count_sql = SQL_HIST_TYPE_COUNT;
    }
    sv_stmt *st;
    sv_err e;
    int i;
    if (ret_total) {
        e = sv_db_stmt(db, count_sql, &st, reterr);
        if (e)
            return e;
        i = 1;
        if (q->type)
            sv_stmt_bind_text(st, i++, q->type);
        if (q->type && q->id)
            sv_stmt_bind_text(st, i++, q->id);
        sv_stmt_bind_int64(st, i++, q->since);
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e)
            return e;
        *ret_total = row ? sv_stmt_column_int64(st, 0) : 0;
        sv_stmt_reset(st);
    }
    e = sv_db_stmt(db, sql, &st, reterr);
    if (e)
        return e;
    i = 1;
    if (q->type)
        sv_stmt_bind_text(st, i++, q->type);
    if (q->type && q->id)
        sv_stmt_bind_text(st, i++, q->id);
    sv_stmt_bind_int64(st, i++, q->since);
    sv_stmt_bind_int64(st, i++, q->before_seq > 0 ? q->before_seq : INT64_MAX);
    sv_stmt_bind_int64(st, i++, q->limit);
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        sv_stored s;
        memset(&s, 0, sizeof(s));
        size_t n;
        copy_name(s.type, sizeof(s.type), sv_stmt_column_text(st, 0, &n));
        copy_name(s.id, sizeof(s.id), sv_stmt_column_text(st, 1, &n));
        s.version = sv_stmt_column_int64(st, 2);
        s.last_updated = sv_stmt_column_int64(st, 3);
        s.deleted = sv_stmt_column_int64(st, 4) != 0;
        s.json = sv_stmt_column_is_null(st, 5) ? NULL : (char *)sv_stmt_column_text(st, 5, &n);
        s.json_len = s.json ? n : 0;
        s.seq = sv_stmt_column_int64(st, 6);
        copy_name(s.method, sizeof(s.method), sv_stmt_column_text(st, 7, &n));
        bool more = visit(ctx, &s); /* s.json is borrowed from the statement here */
        if (!more)
            break;
    }
    sv_stmt_reset(st);
    return e;
}
