/* gauges.c - see gauges.h. */
#include "ops/gauges.h"

#include "store/schema.h"

static const char SQL_JOBS[] =
    "SELECT COALESCE(SUM(CASE WHEN claimed IS NOT NULL THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN claimed IS NULL THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN claimed IS NULL AND due < ? THEN 1 ELSE 0 END), 0) FROM coord_job";
static const char SQL_OUTBOX[] =
    "SELECT COALESCE(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN state = 'sent' THEN 1 ELSE 0 END), 0),"
    " COALESCE(SUM(CASE WHEN state NOT IN ('pending', 'sent') THEN 1 ELSE 0 END), 0)"
    " FROM medcom_outbox";
static const char SQL_AUDIT[] = "SELECT records FROM audit_head WHERE one = 1";
static const char SQL_SCHEMA[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";

/* Runs a one-row statement and reads n integer columns. */
static sv_err one_row(sv_db *db, const char *sql, int64_t bind, int n, int64_t *out, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    bool row = false;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (!e && bind >= 0)
        e = sv_stmt_bind_int64(st, 1, bind);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    for (int i = 0; !e && row && i < n; i++)
        out[i] = sv_stmt_column_int64(st, i);
    if (st)
        sv_stmt_reset(st);
    return e;
}

sv_err sv_ops_gauges_read(sv_db *db, int64_t now_ms, sv_ops_gauges *ret, sv_buf *reterr)
{
    int64_t jobs[3] = {0}, outbox[3] = {0}, audit = 0, schema = 0;
    sv_err e = sv_db_begin(db, SV_TX_READ, reterr);
    if (!e)
        e = one_row(db, SQL_JOBS, now_ms, 3, jobs, reterr);
    if (!e)
        e = one_row(db, SQL_OUTBOX, -1, 3, outbox, reterr);
    if (!e)
        e = one_row(db, SQL_AUDIT, -1, 1, &audit, reterr);
    if (!e)
        e = one_row(db, SQL_SCHEMA, -1, 1, &schema, reterr);
    sv_db_rollback(db);
    if (e)
        return e;
    *ret = (sv_ops_gauges){.jobs_fired = jobs[0],
                           .jobs_waiting = jobs[1],
                           .jobs_overdue = jobs[2],
                           .outbox_pending = outbox[0],
                           .outbox_sent = outbox[1],
                           .outbox_other = outbox[2],
                           .audit_records = audit,
                           .schema_version = (int)schema};
    return SV_OK;
}

sv_err sv_ops_health(sv_db *db, sv_buf *reterr)
{
    int64_t schema = 0;
    sv_err e = one_row(db, SQL_SCHEMA, -1, 1, &schema, reterr);
    if (e)
        return e;
    if (schema != sv_schema_latest()) {
        if (reterr)
            sv_buf_addf(reterr, "the database schema is at version %lld, this build needs %d",
                        (long long)schema, sv_schema_latest());
        return SV_ERR_CONFLICT;
    }
    return SV_OK;
}
