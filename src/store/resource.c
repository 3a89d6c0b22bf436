/* resource.c - see resource.h. */
#include "store/resource.h"

#include <stdlib.h>
#include <string.h>

#include "base/text.h"
#include "store/access.h"
#include "store/combined.h"
#include "store/resource_int.h"

static const char SQL_CURRENT[] =
    "SELECT r.rid, r.version, r.last_updated, r.deleted, v.json, v.seq, v.method"
    " FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
    " WHERE r.type = ? AND r.id = ?";
static const char SQL_CURRENT_VISIBLE[] =
    "SELECT r.rid, r.version, r.last_updated, r.deleted, v.json, v.seq, v.method, "
    "r.category, " SV_ACCESS_VISIBLE("r.rid") " FROM resource r JOIN resource_version v ON v.rid = "
                                              "r.rid AND v.version = r.version"
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
/* The same that also sets the resource's access category (sv_store_write_category). */
static const char SQL_INSERT_RESOURCE_CATEGORY[] =
    "INSERT INTO resource (type, id, version, last_updated, deleted, category)"
    " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (type, id) DO UPDATE SET version = excluded.version,"
    " last_updated = excluded.last_updated, deleted = excluded.deleted,"
    " category = excluded.category RETURNING rid";
static const char SQL_INSERT_VERSION[] =
    "INSERT INTO resource_version (rid, version, last_updated, method, deleted, json)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_DEL_COMBINED[] = "DELETE FROM idx_combined WHERE rid = ?";
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

static const char SQL_COUNT_CURRENT[] = "SELECT COUNT(*) FROM resource WHERE deleted = 0";
static const char SQL_CURRENT_PAGE[] =
    "SELECT r.rid, r.type, r.id, r.version, r.last_updated, v.json, v.seq, v.method"
    " FROM resource r JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
    " WHERE r.rid > ? AND r.deleted = 0 ORDER BY r.rid LIMIT ?";
static const char SQL_FIND_TOKEN[] =
    "SELECT r.id FROM idx_token t JOIN resource r ON r.rid = t.rid"
    " WHERE t.type = ? AND t.param = ? AND t.value = ? AND t.system = ? AND r.deleted = 0"
    " LIMIT 2";

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
/* The same under an access filter (store/access.h): only versions of resources visible
 * now; a deleted resource of a compartment type has no compartment left and shows to
 * nobody.  The filter's values are bound first (HIST_VISIBLE_BINDS). */
#define HIST_VISIBLE " WHERE (? OR r.deleted = 0 OR r.category = 0) AND " SV_ACCESS_VISIBLE("r.rid")
#define HIST_VISIBLE_BINDS (1 + SV_ACCESS_BINDS)
static const char SQL_HIST_ALL_ACCESS[] =
    "SELECT r.type, r.id, v.version, v.last_updated, v.deleted, v.json, v.seq, v.method"
    " FROM resource_version v JOIN resource r ON r.rid = v.rid" HIST_VISIBLE
    " AND v.last_updated >= ? AND v.seq < ? ORDER BY v.seq DESC LIMIT ?";
static const char SQL_HIST_ALL_COUNT_ACCESS[] =
    "SELECT COUNT(*) FROM resource_version v JOIN resource r ON r.rid = v.rid" HIST_VISIBLE
    " AND v.last_updated >= ?";
static const char SQL_HIST_TYPE_ACCESS[] =
    "SELECT r.type, r.id, v.version, v.last_updated, v.deleted, v.json, v.seq, v.method"
    " FROM resource_version v JOIN resource r ON r.rid = v.rid" HIST_VISIBLE
    " AND r.type = ? AND v.last_updated >= ? AND v.seq < ? ORDER BY v.seq DESC LIMIT ?";
static const char SQL_HIST_TYPE_COUNT_ACCESS[] =
    "SELECT COUNT(*) FROM resource_version v JOIN resource r ON r.rid = v.rid" HIST_VISIBLE
    " AND r.type = ? AND v.last_updated >= ?";
static const char SQL_HIST_ID_ACCESS[] =
    "SELECT r.type, r.id, v.version, v.last_updated, v.deleted, v.json, v.seq, v.method"
    " FROM resource_version v JOIN resource r ON r.rid = v.rid" HIST_VISIBLE
    " AND r.type = ? AND r.id = ? AND v.last_updated >= ? AND v.seq < ?"
    " ORDER BY v.seq DESC LIMIT ?";
static const char SQL_HIST_ID_COUNT_ACCESS[] =
    "SELECT COUNT(*) FROM resource_version v JOIN resource r ON r.rid = v.rid" HIST_VISIBLE
    " AND r.type = ? AND r.id = ? AND v.last_updated >= ?";

/* Binds HIST_VISIBLE's values from 1; returns the next index. */
static int bind_hist_access(sv_stmt *st, const sv_access_filter *f)
{
    sv_stmt_bind_int64(st, 1, 0);
    return sv_access_bind(st, 2, f);
}

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

/* The row of a statement whose columns are (rid, version, last_updated, deleted[, json,
 * seq, method]) into *ret. */
static void take_version(sv_stmt *st, const char *type, const char *id, bool with_json,
                         sv_stored *ret)
{
    sv_stored s;
    memset(&s, 0, sizeof(s));
    copy_name(s.type, sizeof(s.type), type);
    copy_name(s.id, sizeof(s.id), id);
    s.version = sv_stmt_column_int64(st, 1);
    s.last_updated = sv_stmt_column_int64(st, 2);
    s.deleted = sv_stmt_column_int64(st, 3) != 0;
    s.rid = sv_stmt_column_int64(st, 0);
    if (with_json) {
        s.json = dup_column(st, 4, &s.json_len);
        s.seq = sv_stmt_column_int64(st, 5);
        size_t n;
        copy_name(s.method, sizeof(s.method), sv_stmt_column_text(st, 6, &n));
    }
    *ret = s;
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
    sv_stmt_bind_text_static(st, 1, type);
    sv_stmt_bind_text_static(st, 2, id);
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
    take_version(st, type, id, with_json, ret);
    sv_stmt_reset(st);
    return SV_OK;
}

sv_err sv_store_current_visible(sv_db *db, const sv_access_filter *f, const char *type,
                                const char *id, sv_stored *ret, sv_buf *reterr)
{
    if (!f)
        return sv_store_current(db, type, id, true, ret, reterr);
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_CURRENT_VISIBLE, &st, reterr);
    if (e)
        return e;
    int i = sv_access_bind(st, 1, f);
    sv_stmt_bind_text_static(st, i++, type);
    sv_stmt_bind_text_static(st, i++, id);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    /* As sv_access_visible: a deleted resource of a compartment has lost its
     * compartment rows, and with them everyone's sight of it. */
    bool deleted = row && sv_stmt_column_int64(st, 3) != 0;
    if (!row || sv_stmt_column_int64(st, 8) == 0 || (deleted && sv_stmt_column_int64(st, 7) != 0)) {
        sv_stmt_reset(st);
        return SV_ERR_NOT_FOUND;
    }
    take_version(st, type, id, true, ret);
    sv_stmt_reset(st);
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

sv_err sv__index_row_add(sv_db *db, int64_t rid, const char *type, const sv_index_row *r,
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
    sv_stmt_bind_text_static(st, 2, type);
    sv_stmt_bind_text_static(st, 3, r->param);
    switch (r->kind) {
    case SV_INDEX_STRING:
        sv_stmt_bind_text_static(st, 4, r->value);
        sv_stmt_bind_text_static(st, 5, r->exact);
        break;
    case SV_INDEX_TOKEN:
        sv_stmt_bind_text_static(st, 4, r->system);
        sv_stmt_bind_text_static(st, 5, r->value);
        sv_stmt_bind_text_static(st, 6, r->exact);
        /* :text matches the folded display or text (base/text.h), as string search does */
        if (r->exact) {
            sv_buf_reset(scratch);
            sv_text_fold(r->exact, strlen(r->exact), scratch);
            sv_stmt_bind_textn_static(st, 7, scratch->ptr, scratch->len);
        } else {
            sv_stmt_bind_null(st, 7);
        }
        break;
    case SV_INDEX_REFERENCE:
        sv_stmt_bind_text_static(st, 4, r->system);
        sv_stmt_bind_text_static(st, 5, r->value);
        sv_stmt_bind_text_static(st, 6, r->exact);
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
        sv_stmt_bind_text_static(st, 5, r->system);
        sv_stmt_bind_text_static(st, 6, r->value);
        sv_stmt_bind_text_static(st, 7, r->exact);
        break;
    case SV_INDEX_URI:
        sv_stmt_bind_text_static(st, 4, r->value);
        break;
    case SV_INDEX_COMPOSITE:
        sv_stmt_bind_text_static(st, 4, r->system);
        sv_stmt_bind_text_static(st, 5, r->value);
        sv_stmt_bind_text_static(st, 6, r->system2);
        sv_stmt_bind_text_static(st, 7, r->value2);
        sv_stmt_bind_double(st, 8, r->number);
        sv_stmt_bind_int64(st, 9, r->low);
        sv_stmt_bind_int64(st, 10, r->high);
        break;
    }
    return sv_stmt_run(st, reterr);
}

/* The index rows of rid become rows (NULL: none); with clear, the old ones go first. */
static sv_err set_rows(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                       bool clear, sv_buf *reterr)
{
    sv_err e = SV_OK;
    if (sv_db_dialect_of(db) == SV_DIALECT_POSTGRES) {
        if (clear || (rows && rows->len))
            e = sv__pg_replace_rows(db, rid, type, rows, reterr);
        if (!e && rows)
            e = sv__combined_write(db, rid, type, rows, reterr);
        return e;
    }
    if (clear) {
        /* only the rows that changed (store/index_replace.c); the combined rows are few */
        e = sv__index_rows_replace(db, rid, type, rows, reterr);
        if (!e)
            e = run_rid(db, SQL_DEL_COMBINED, rid, reterr);
        if (!e && rows)
            e = sv__combined_write(db, rid, type, rows, reterr);
        return e;
    }
    if (rows) {
        sv_buf scratch = SV_BUF_INIT;
        for (size_t i = 0; i < rows->len && !e; i++)
            e = sv__index_row_add(db, rid, type, &rows->rows[i], &scratch, reterr);
        sv_buf_release(&scratch);
        if (!e) /* the worklists' combined rows (store/combined.h) */
            e = sv__combined_write(db, rid, type, rows, reterr);
    }
    return e;
}

sv_err sv_store_write(sv_db *db, const char *type, const char *id, int64_t version,
                      int64_t last_updated, const char *method, const char *json, size_t json_len,
                      const sv_index_rows *rows, sv_buf *reterr)
{
    return sv_store_write_category(db, type, id, version, last_updated, method, json, json_len,
                                   rows, -1, reterr);
}

sv_err sv_store_write_category(sv_db *db, const char *type, const char *id, int64_t version,
                               int64_t last_updated, const char *method, const char *json,
                               size_t json_len, const sv_index_rows *rows, int category,
                               sv_buf *reterr)
{
    if (!sv_db_in_tx(db)) {
        if (reterr)
            sv_buf_adds(reterr, "sv_store_write needs a write transaction");
        return SV_ERR_INTERNAL;
    }
    bool deleted = json == NULL;
    sv_store_recent_forget(db, type, id);
    if (sv_db_dialect_of(db) == SV_DIALECT_POSTGRES) {
        int64_t rid = 0;
        sv_err e = sv__pg_write(db, type, id, version, last_updated, deleted, method, json,
                                json_len, category, &rid, reterr);
        if (!e)
            e = set_rows(db, rid, type, deleted ? NULL : rows, version > 1, reterr);
        return e;
    }
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, category < 0 ? SQL_INSERT_RESOURCE : SQL_INSERT_RESOURCE_CATEGORY,
                          &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text_static(st, 1, type);
    sv_stmt_bind_text_static(st, 2, id);
    sv_stmt_bind_int64(st, 3, version);
    sv_stmt_bind_int64(st, 4, last_updated);
    sv_stmt_bind_int64(st, 5, deleted);
    if (category >= 0)
        sv_stmt_bind_int64(st, 6, category);
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
    sv_stmt_bind_text_static(st, 4, method);
    sv_stmt_bind_int64(st, 5, deleted);
    if (json)
        sv_stmt_bind_textn_static(st, 6, json, json_len);
    else
        sv_stmt_bind_null(st, 6);
    e = sv_stmt_run(st, reterr);
    if (e)
        return e;

    /* A first version has no rows to remove yet. */
    return set_rows(db, rid, type, deleted ? NULL : rows, version > 1, reterr);
}

sv_err sv_store_replace_rows(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                             sv_buf *reterr)
{
    if (!sv_db_in_tx(db)) {
        if (reterr)
            sv_buf_adds(reterr, "sv_store_replace_rows needs a write transaction");
        return SV_ERR_INTERNAL;
    }
    return set_rows(db, rid, type, rows, true, reterr);
}

sv_err sv_store_count_current(sv_db *db, int64_t *ret_count, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_COUNT_CURRENT, &st, reterr);
    if (e)
        return e;
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (!e)
        *ret_count = row ? sv_stmt_column_int64(st, 0) : 0;
    sv_stmt_reset(st);
    return e;
}

sv_err sv_store_current_page(sv_db *db, int64_t after_rid, int64_t limit, sv_store_visit visit,
                             void *ctx, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_CURRENT_PAGE, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, after_rid);
    sv_stmt_bind_int64(st, 2, limit);
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        sv_stored s;
        memset(&s, 0, sizeof(s));
        size_t n;
        s.rid = sv_stmt_column_int64(st, 0);
        copy_name(s.type, sizeof(s.type), sv_stmt_column_text(st, 1, &n));
        copy_name(s.id, sizeof(s.id), sv_stmt_column_text(st, 2, &n));
        s.version = sv_stmt_column_int64(st, 3);
        s.last_updated = sv_stmt_column_int64(st, 4);
        s.json = sv_stmt_column_is_null(st, 5) ? NULL : (char *)sv_stmt_column_text(st, 5, &n);
        s.json_len = s.json ? n : 0;
        s.seq = sv_stmt_column_int64(st, 6);
        copy_name(s.method, sizeof(s.method), sv_stmt_column_text(st, 7, &n));
        if (!visit(ctx, &s))
            break;
    }
    sv_stmt_reset(st);
    return e;
}

sv_err sv_store_history(sv_db *db, const sv_history_query *q, sv_store_visit visit, void *ctx,
                        int64_t *ret_total, sv_buf *reterr)
{
    bool a = q->access != NULL;
    const char *sql = a ? SQL_HIST_ALL_ACCESS : SQL_HIST_ALL;
    const char *count_sql = a ? SQL_HIST_ALL_COUNT_ACCESS : SQL_HIST_ALL_COUNT;
    if (q->type && q->id) {
        sql = a ? SQL_HIST_ID_ACCESS : SQL_HIST_ID;
        count_sql = a ? SQL_HIST_ID_COUNT_ACCESS : SQL_HIST_ID_COUNT;
    } else if (q->type) {
        sql = a ? SQL_HIST_TYPE_ACCESS : SQL_HIST_TYPE;
        count_sql = a ? SQL_HIST_TYPE_COUNT_ACCESS : SQL_HIST_TYPE_COUNT;
    }
    sv_stmt *st;
    sv_err e;
    int i;
    if (ret_total) {
        e = sv_db_stmt(db, count_sql, &st, reterr);
        if (e)
            return e;
        i = q->access ? bind_hist_access(st, q->access) : 1;
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
    i = q->access ? bind_hist_access(st, q->access) : 1;
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

sv_err sv_store_find_token(sv_db *db, const char *type, const char *param, const char *system,
                           const char *value, char ret_ids[2][65], int *ret_count, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_FIND_TOKEN, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, type);
    sv_stmt_bind_text(st, 2, param);
    sv_stmt_bind_text(st, 3, value);
    sv_stmt_bind_text(st, 4, system);
    int n = 0;
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        size_t len = 0;
        const char *id = sv_stmt_column_text(st, 0, &len);
        if (id && len < 65 && n < 2) {
            memcpy(ret_ids[n], id, len);
            ret_ids[n][len] = '\0';
            n++;
        }
    }
    sv_stmt_reset(st);
    if (!e)
        *ret_count = n;
    return e;
}
