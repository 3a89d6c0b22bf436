/* audit_query.c - see audit.h: reading the audit log, newest first, for the
 * AuditEvent view and the citizen's access log (docs/access.md).  Two constant
 * statements per question, with and without a citizen, so that each can use its
 * index: audit_citizen (citizen, time) or audit_time (time); seq is the rowid,
 * the last column of both. */
#include <string.h>

#include "store/audit.h"

#define COLUMNS                                                                                    \
    "SELECT seq, time, principal_kind, principal_id, organisation, role, citizen, action,"         \
    " resource_type, resource_id, resource_version, purpose, outcome, reason FROM audit"
#define FILTER                                                                                     \
    " time >= ? AND time < ? AND (? = 0 OR principal_kind != 'citizen') AND (? = 0 OR seq = ?)"    \
    " AND (? = 0 OR time < ? OR (time = ? AND seq < ?))"

static const char SQL_LIST_CITIZEN[] =
    COLUMNS " WHERE citizen = ? AND" FILTER " ORDER BY time DESC, seq DESC LIMIT ?";
static const char SQL_LIST_ALL[] = COLUMNS " WHERE" FILTER " ORDER BY time DESC, seq DESC LIMIT ?";
static const char SQL_COUNT_CITIZEN[] = "SELECT COUNT(*) FROM audit WHERE citizen = ? AND" FILTER;
static const char SQL_COUNT_ALL[] = "SELECT COUNT(*) FROM audit WHERE" FILTER;

static sv_err prepare(sv_db *db, const sv_audit_query *q, bool count, sv_stmt **ret, sv_buf *reterr)
{
    const char *sql = q->citizen ? (count ? SQL_COUNT_CITIZEN : SQL_LIST_CITIZEN)
                                 : (count ? SQL_COUNT_ALL : SQL_LIST_ALL);
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (e)
        return e;
    int i = 1;
    if (q->citizen)
        sv_stmt_bind_text(st, i++, q->citizen);
    sv_stmt_bind_int64(st, i++, q->from);
    sv_stmt_bind_int64(st, i++, q->to);
    sv_stmt_bind_int64(st, i++, q->others_only);
    sv_stmt_bind_int64(st, i++, q->seq > 0);
    sv_stmt_bind_int64(st, i++, q->seq);
    bool paged = !count && q->after_seq > 0;
    sv_stmt_bind_int64(st, i++, paged);
    sv_stmt_bind_int64(st, i++, q->after_time);
    sv_stmt_bind_int64(st, i++, q->after_time);
    sv_stmt_bind_int64(st, i++, q->after_seq);
    if (!count)
        sv_stmt_bind_int64(st, i++, q->limit);
    *ret = st;
    return SV_OK;
}

static const char *text_or_null(sv_stmt *st, int col)
{
    size_t n = 0;
    return sv_stmt_column_is_null(st, col) ? NULL : sv_stmt_column_text(st, col, &n);
}

sv_err sv_audit_list(sv_db *db, const sv_audit_query *q, sv_audit_record_fn fn, void *ctx,
                     sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = prepare(db, q, false, &st, reterr);
    if (e)
        return e;
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        sv_audit_record rec = {
            .time_ms = sv_stmt_column_int64(st, 1),
            .principal_kind = text_or_null(st, 2),
            .principal_id = text_or_null(st, 3),
            .organisation = text_or_null(st, 4),
            .role = text_or_null(st, 5),
            .citizen = text_or_null(st, 6),
            .action = text_or_null(st, 7),
            .resource_type = text_or_null(st, 8),
            .resource_id = text_or_null(st, 9),
            .resource_version = sv_stmt_column_is_null(st, 10) ? 0 : sv_stmt_column_int64(st, 10),
            .purpose = text_or_null(st, 11),
            .outcome = (int)sv_stmt_column_int64(st, 12),
            .reason = text_or_null(st, 13),
        };
        if (!fn(ctx, sv_stmt_column_int64(st, 0), &rec))
            break;
    }
    sv_stmt_reset(st);
    return e;
}

sv_err sv_audit_count(sv_db *db, const sv_audit_query *q, int64_t *ret_count, sv_buf *reterr)
{
    *ret_count = 0;
    sv_stmt *st = NULL;
    sv_err e = prepare(db, q, true, &st, reterr);
    if (e)
        return e;
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (!e && row)
        *ret_count = sv_stmt_column_int64(st, 0);
    sv_stmt_reset(st);
    return e;
}
