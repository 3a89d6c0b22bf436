/* include.c - see include.h.  Every piece of SQL below is a constant. */
#include "store/include.h"

#include <string.h>

#include "store/access.h"

/* Columns of every visiting query: rid, type, id, version, last_updated, json, seq. */
#define COLUMNS_OF(t)                                                                              \
    "SELECT " t ".rid, " t ".type, " t ".id, " t ".version, " t ".last_updated, v.json, v.seq"

/* Targets: the source by (type, id), its rows by rid, each target by (type, id). */
static const char SQL_REFS_FROM_PARAM[] =
    COLUMNS_OF("t") " FROM resource s JOIN idx_reference x ON x.rid = s.rid"
                    " JOIN resource t ON t.type = x.target_type AND t.id = x.target_id"
                    " JOIN resource_version v ON v.rid = t.rid AND v.version = t.version"
                    " WHERE s.type = ? AND s.id = ? AND x.param = ?"
                    " AND (CAST(? AS TEXT) IS NULL OR x.target_type = ?) AND t.deleted = 0"
                    " AND " SV_ACCESS_VISIBLE("t.rid") " ORDER BY t.rid LIMIT ?";
static const char SQL_REFS_FROM_ANY[] =
    COLUMNS_OF("t") " FROM resource s JOIN idx_reference x ON x.rid = s.rid"
                    " JOIN resource t ON t.type = x.target_type AND t.id = x.target_id"
                    " JOIN resource_version v ON v.rid = t.rid AND v.version = t.version"
                    " WHERE s.type = ? AND s.id = ? AND x.param <> ?"
                    " AND (CAST(? AS TEXT) IS NULL OR x.target_type = ?) AND t.deleted = 0"
                    " AND " SV_ACCESS_VISIBLE("t.rid") " ORDER BY t.rid LIMIT ?";
/* Sources: one range of the lookup index (type, param, target_id, rid, ...), in rid order. */
static const char SQL_REFS_TO[] =
    COLUMNS_OF("s") " FROM idx_reference x JOIN resource s ON s.rid = x.rid"
                    " JOIN resource_version v ON v.rid = s.rid AND v.version = s.version"
                    " WHERE x.type = ? AND x.param = ? AND x.target_id = ? AND x.target_type = ?"
                    " AND s.deleted = 0 AND " SV_ACCESS_VISIBLE("s.rid") " ORDER BY x.rid LIMIT ?";
/* Several sources of one target, each its own range of the lookup index; merged in rid
 * order (no sort: each range is in rid order), the source's number last.  ?1
 * target_type, ?2 target_id. */
#define REFS_TO_SOURCE(k, type, param)                                                             \
    "SELECT x.rid, s.type, s.id, s.version, s.last_updated, v.json, v.seq, " k                     \
    " FROM idx_reference x JOIN resource s ON s.rid = x.rid"                                       \
    " JOIN resource_version v ON v.rid = s.rid AND v.version = s.version"                          \
    " WHERE x.type = ?" type " AND x.param = ?" param " AND x.target_id = ?2"                      \
    " AND x.target_type = ?1 AND s.deleted = 0"
static const char SQL_REFS_TO_SOURCES[] =
    REFS_TO_SOURCE("0", "3", "4") " UNION ALL " REFS_TO_SOURCE(
        "1", "5",
        "6") " UNION ALL " REFS_TO_SOURCE("2", "7",
                                          "8") " UNION ALL " REFS_TO_SOURCE("3", "9",
                                                                            "10") " ORDER BY 1";
static const char SQL_REFERRERS[] =
    COLUMNS_OF("r") " FROM idx_reference x JOIN resource r ON r.rid = x.rid"
                    " JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
                    " WHERE x.type = ? AND x.param = ? AND x.target_id = ? AND x.target_type = ?"
                    " AND x.rid > ? AND r.last_updated >= ? AND r.deleted = 0"
                    " AND " SV_ACCESS_VISIBLE("r.rid") " ORDER BY x.rid LIMIT ?";
/* The same rows without their text, for merging several types before reading any. */
static const char SQL_REFERRER_KEYS[] =
    "SELECT r.rid, r.type, r.id, r.version, r.last_updated, NULL, 0"
    " FROM idx_reference x JOIN resource r ON r.rid = x.rid"
    " WHERE x.type = ? AND x.param = ? AND x.target_id = ? AND x.target_type = ?"
    " AND x.rid > ? AND r.last_updated >= ? AND r.deleted = 0"
    " AND " SV_ACCESS_VISIBLE("r.rid") " ORDER BY x.rid LIMIT ?";
static const char SQL_BY_RID[] =
    COLUMNS_OF("r") " FROM resource r"
                    " JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
                    " WHERE r.rid = ? AND r.deleted = 0 AND " SV_ACCESS_VISIBLE("r.rid");
/* A deleted resource has no index rows: without _since the count is the index range. */
static const char SQL_REFERRERS_COUNT[] =
    "SELECT COUNT(*) FROM idx_reference x"
    " WHERE x.type = ? AND x.param = ? AND x.target_id = ? AND x.target_type = ?"
    " AND " SV_ACCESS_VISIBLE("x.rid");
static const char SQL_REFERRERS_COUNT_SINCE[] =
    "SELECT COUNT(*) FROM idx_reference x JOIN resource r ON r.rid = x.rid"
    " WHERE x.type = ? AND x.param = ? AND x.target_id = ? AND x.target_type = ?"
    " AND r.last_updated >= ? AND r.deleted = 0 AND " SV_ACCESS_VISIBLE("r.rid");

static void copy_column(sv_stmt *st, int col, char *dst, size_t cap)
{
    size_t n = 0;
    const char *t = sv_stmt_column_text(st, col, &n);
    if (!t)
        n = 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, t ? t : "", n);
    dst[n] = '\0';
}

/* Steps st to the end (or until visit says stop), visiting each row.  st is a
 * cached statement: reset afterwards, never finalized. */
static sv_err run(sv_stmt *st, sv_store_visit_rid visit, void *ctx, sv_buf *reterr)
{
    sv_err e = SV_OK;
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        sv_stored s;
        memset(&s, 0, sizeof(s));
        int64_t rid = sv_stmt_column_int64(st, 0);
        copy_column(st, 1, s.type, sizeof(s.type));
        copy_column(st, 2, s.id, sizeof(s.id));
        s.version = sv_stmt_column_int64(st, 3);
        s.last_updated = sv_stmt_column_int64(st, 4);
        s.json = (char *)sv_stmt_column_text(st, 5, &s.json_len);
        s.seq = sv_stmt_column_int64(st, 6);
        if (!visit(ctx, rid, &s))
            break;
    }
    sv_stmt_reset(st);
    return e;
}

sv_err sv_store_refs_from(sv_db *db, const sv_access_filter *acc, const char *type, const char *id,
                          const char *param, const char *skip_param, const char *target_type,
                          int64_t limit, sv_store_visit_rid visit, void *ctx, sv_buf *reterr)
{
    if (limit <= 0)
        return SV_OK;
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, param ? SQL_REFS_FROM_PARAM : SQL_REFS_FROM_ANY, &st, reterr);
    if (e)
        return e;
    int i = 1;
    sv_stmt_bind_text(st, i++, type);
    sv_stmt_bind_text(st, i++, id);
    sv_stmt_bind_text(st, i++, param ? param : skip_param ? skip_param : "");
    sv_stmt_bind_text(st, i++, target_type);
    sv_stmt_bind_text(st, i++, target_type);
    i = sv_access_bind(st, i, acc);
    sv_stmt_bind_int64(st, i++, limit);
    return run(st, visit, ctx, reterr);
}

sv_err sv_store_refs_to(sv_db *db, const sv_access_filter *acc, const char *target_type,
                        const char *target_id, const char *param, const char *source_type,
                        int64_t limit, sv_store_visit_rid visit, void *ctx, sv_buf *reterr)
{
    if (limit <= 0)
        return SV_OK;
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_REFS_TO, &st, reterr);
    if (e)
        return e;
    int i = 1;
    sv_stmt_bind_text(st, i++, source_type);
    sv_stmt_bind_text(st, i++, param);
    sv_stmt_bind_text(st, i++, target_id);
    sv_stmt_bind_text(st, i++, target_type);
    i = sv_access_bind(st, i, acc);
    sv_stmt_bind_int64(st, i++, limit);
    return run(st, visit, ctx, reterr);
}

sv_err sv_store_refs_to_sources(sv_db *db, const char *target_type, const char *target_id,
                                const sv_store_ref_source *sources, size_t nsources, int64_t limit,
                                sv_store_visit_source visit, void *ctx, sv_buf *reterr)
{
    if (limit <= 0 || nsources == 0)
        return SV_OK;
    if (nsources > SV_STORE_REF_SOURCES_MAX) {
        if (reterr)
            sv_buf_addf(reterr, "more than %d reference sources", SV_STORE_REF_SOURCES_MAX);
        return SV_ERR_INTERNAL;
    }
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_REFS_TO_SOURCES, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, target_type);
    sv_stmt_bind_text(st, 2, target_id);
    for (size_t k = 0; k < SV_STORE_REF_SOURCES_MAX; k++) { /* the unused: no type has no name */
        sv_stmt_bind_text(st, 3 + 2 * (int)k, k < nsources ? sources[k].type : "");
        sv_stmt_bind_text(st, 4 + 2 * (int)k, k < nsources ? sources[k].param : "");
    }
    /* The limit is each source's: counted here, as a LIMIT per source would need a
     * subquery each and a sort of their union.  Past it a source's rows are skipped. */
    int64_t seen[SV_STORE_REF_SOURCES_MAX] = {0};
    size_t full = 0;
    while (full < nsources) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        int64_t k = sv_stmt_column_int64(st, 7);
        if (k < 0 || (size_t)k >= nsources || seen[k] >= limit)
            continue;
        full += ++seen[k] == limit;
        sv_stored s;
        memset(&s, 0, sizeof(s));
        copy_column(st, 1, s.type, sizeof(s.type));
        copy_column(st, 2, s.id, sizeof(s.id));
        s.version = sv_stmt_column_int64(st, 3);
        s.last_updated = sv_stmt_column_int64(st, 4);
        s.json = (char *)sv_stmt_column_text(st, 5, &s.json_len);
        s.seq = sv_stmt_column_int64(st, 6);
        if (!visit(ctx, (size_t)k, sv_stmt_column_int64(st, 0), &s))
            break;
    }
    sv_stmt_reset(st);
    return e;
}

static int bind_referrers(sv_stmt *st, const sv_store_referrers_query *q)
{
    int i = 1;
    sv_stmt_bind_text(st, i++, q->type);
    sv_stmt_bind_text(st, i++, q->param);
    sv_stmt_bind_text(st, i++, q->target_id);
    sv_stmt_bind_text(st, i++, q->target_type);
    return i;
}

sv_err sv_store_referrers(sv_db *db, const sv_store_referrers_query *q, sv_store_visit_rid visit,
                          void *ctx, int64_t *ret_total, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e;
    if (ret_total) {
        bool since = q->since != INT64_MIN;
        e = sv_db_stmt(db, since ? SQL_REFERRERS_COUNT_SINCE : SQL_REFERRERS_COUNT, &st, reterr);
        if (e)
            return e;
        int i = bind_referrers(st, q);
        if (since)
            sv_stmt_bind_int64(st, i++, q->since);
        sv_access_bind(st, i, q->access);
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        int64_t total = row ? sv_stmt_column_int64(st, 0) : 0;
        sv_stmt_reset(st);
        if (e)
            return e;
        *ret_total = total;
    }
    if (q->limit <= 0)
        return SV_OK;
    e = sv_db_stmt(db, q->keys_only ? SQL_REFERRER_KEYS : SQL_REFERRERS, &st, reterr);
    if (e)
        return e;
    int i = bind_referrers(st, q);
    sv_stmt_bind_int64(st, i++, q->after_rid);
    sv_stmt_bind_int64(st, i++, q->since);
    i = sv_access_bind(st, i, q->access);
    sv_stmt_bind_int64(st, i++, q->limit);
    return run(st, visit, ctx, reterr);
}

sv_err sv_store_by_rid(sv_db *db, const sv_access_filter *acc, int64_t rid,
                       sv_store_visit_rid visit, void *ctx, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_BY_RID, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, rid);
    sv_access_bind(st, 2, acc);
    return run(st, visit, ctx, reterr);
}

sv_err sv_store_include_explain(sv_db *db, sv_buf *ret_plan, sv_buf *reterr)
{
    static const struct {
        const char *name;
        const char *sql;
    } queries[] = {
        {"refs_from", SQL_REFS_FROM_PARAM},
        {"refs_from_any", SQL_REFS_FROM_ANY},
        {"refs_to", SQL_REFS_TO},
        {"refs_to_sources", SQL_REFS_TO_SOURCES},
        {"referrers", SQL_REFERRERS},
        {"referrers_keys", SQL_REFERRER_KEYS},
        {"by_rid", SQL_BY_RID},
        {"referrers_count", SQL_REFERRERS_COUNT},
        {"referrers_count_since", SQL_REFERRERS_COUNT_SINCE},
    };
    /* SQLite's plan rows carry the step in column 3; PostgreSQL's EXPLAIN one line per row */
    bool postgres = sv_db_dialect_of(db) == SV_DIALECT_POSTGRES;
    sv_buf sql = SV_BUF_INIT;
    sv_err e = SV_OK;
    for (size_t q = 0; q < sizeof(queries) / sizeof(queries[0]) && !e; q++) {
        sv_buf_reset(&sql);
        sv_buf_adds(&sql, postgres ? "EXPLAIN " : "EXPLAIN QUERY PLAN ");
        sv_buf_adds(&sql, queries[q].sql);
        sv_stmt *st = NULL;
        e = sv_db_prepare(db, sql.ptr, &st, reterr);
        for (bool row = true; !e && row;) {
            e = sv_stmt_step(st, &row, reterr);
            if (!e && row)
                sv_buf_addf(ret_plan, "%s: %s\n", queries[q].name,
                            sv_stmt_column_text(st, postgres ? 0 : 3, NULL));
        }
        sv_stmt_finalize(st);
    }
    sv_buf_release(&sql);
    return e;
}
