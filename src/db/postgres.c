/*
 * postgres.c - the PostgreSQL backend of db.h (libpq).
 *
 * The URI goes to libpq as it is ("postgres://user@host:port/db?..."), so every
 * libpq connection parameter works.  What the layers above expect from SQLite,
 * and how it is kept here:
 *  - '?' and '?N' placeholders become $N (the only rewriting of SQL text); an
 *    unnumbered '?' takes the next number, as in SQLite.  Quoted strings,
 *    quoted names and comments are left alone.
 *  - Write transactions are serialised, as BEGIN IMMEDIATE serialises SQLite's:
 *    each takes one transaction-scoped advisory lock before its first statement,
 *    so that read-then-write sequences (versions, the audit chain) stay correct
 *    across processes.  The wait is bounded by lock_timeout (the busy timeout),
 *    and running out of it is SV_ERR_BUSY.  Read transactions are REPEATABLE READ
 *    READ ONLY: one snapshot, taken at their first statement.
 *  - Values travel as text; the server infers each parameter's type from where
 *    it is used.  A parameter it cannot infer ("? IS NULL") needs a CAST in the
 *    SQL.  Text cannot hold NUL bytes in PostgreSQL: binding one fails the step.
 *  - A failed statement inside a transaction aborts the transaction (unlike
 *    SQLite); callers roll back, or use SAVEPOINTs as fhir/load.c does.
 * Write transactions run their named statements with generic plans (SET LOCAL
 * plan_cache_mode): left to choose, the planner planned the write path's statements
 * anew at every run, the larger part of PostgreSQL's CPU per created resource.
 * Statements from sv_db_stmt are prepared under a name once per connection;
 * those from sv_db_prepare are checked with an unnamed prepare and run with
 * PQexecParams, so that nothing needs deallocating.  Only db/ includes libpq-fe.h.
 */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

/* The advisory lock every write transaction takes ("svwr"). */
#define WRITE_LOCK_KEY "1937143666"

/* Statements sv_stmt_run may queue before the driver reads their results: bounded, so
 * that the server's answers never fill the socket while it waits for us to read. */
enum { PIPE_MAX = 256 };

typedef struct pg_db {
    sv_db base; /* must be first */
    PGconn *conn;
    int64_t changes;
    unsigned next_name;
    unsigned generation; /* counts reconnections; names of older ones are gone */
    char setup[200];     /* the session settings, sent again after a reconnection */
    char *snapshot;      /* db_data_version: the last pg_current_snapshot() seen */
    uint64_t version;    /* db_data_version: moves when the snapshot does */
    /* A write transaction runs in libpq's pipeline mode (see pipe_sync). */
    bool piped;
    int queued;     /* commands sent whose results are not read yet */
    sv_err failed;  /* the first of their failures, reported by the next call that waits */
    sv_buf failmsg; /* its message */
} pg_db;

typedef struct pg_stmt {
    sv_stmt base;        /* must be first */
    char name[24];       /* the server-side name once prepared under one; "" before */
    unsigned generation; /* the connection's generation when name was prepared */
    char *sql;           /* the translated text */
    int nparams;         /* highest $N */
    char **values;       /* nparams owned copies; NULL binds NULL */
    bool bad_bind;       /* a value PostgreSQL cannot take (NUL in text) */
    PGresult *res;       /* the executed result; NULL before the first step */
    int row, nrows;      /* the current row; -1 before the first */
} pg_stmt;

static PGconn *C(sv_db *db)
{
    return ((pg_db *)db)->conn;
}

static pg_stmt *P(sv_stmt *st)
{
    return (pg_stmt *)st;
}

static void ignore_notice(void *arg, const char *message)
{
    (void)arg, (void)message; /* "relation already exists, skipping" and the like */
}

/* SQLSTATE classes to sv_err: integrity (23) is a conflict; lock timeouts,
 * serialisation failures, deadlocks and cancellations are "busy, try again". */
static sv_err map_state(const char *state)
{
    if (!state || strlen(state) != 5)
        return SV_ERR_IO;
    if (strncmp(state, "23", 2) == 0)
        return SV_ERR_CONFLICT;
    if (strcmp(state, "53200") == 0)
        return SV_ERR_NOMEM;
    /* 53: insufficient resources (too many connections, disk full) */
    if (strcmp(state, "55P03") == 0 || strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 ||
        strcmp(state, "57014") == 0 || strncmp(state, "53", 2) == 0)
        return SV_ERR_BUSY;
    if (strcmp(state, "54000") == 0)
        return SV_ERR_TOO_LARGE;
    return SV_ERR_IO;
}

/* Appends "postgres WHAT: message" (the message's first line) to reterr. */
static void add_message(sv_buf *reterr, const char *what, const char *msg)
{
    if (!reterr)
        return;
    if (!msg || !*msg)
        msg = "unknown error";
    size_t n = strcspn(msg, "\n");
    sv_buf_addf(reterr, "postgres %s: %.*s", what, (int)n, msg);
}

/* Checks a result; on failure fills reterr, clears res and returns the error. */
static sv_err check(PGconn *conn, PGresult *res, const char *what, sv_buf *reterr)
{
    ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY)
        return SV_OK;
    sv_err e;
    if (res) {
        e = map_state(PQresultErrorField(res, PG_DIAG_SQLSTATE));
        add_message(reterr, what, PQresultErrorMessage(res));
    } else {
        e = PQstatus(conn) == CONNECTION_OK ? SV_ERR_NOMEM : SV_ERR_IO;
        add_message(reterr, what, PQerrorMessage(conn));
    }
    PQclear(res);
    return e;
}

/* Rows changed by an INSERT, UPDATE or DELETE (SQLite's changes() ignores the rest). */
static void note_changes(pg_db *db, PGresult *res)
{
    const char *status = PQcmdStatus(res);
    if (strncmp(status, "INSERT", 6) == 0 || strncmp(status, "UPDATE", 6) == 0 ||
        strncmp(status, "DELETE", 6) == 0 || strncmp(status, "MERGE", 5) == 0)
        db->changes = strtoll(PQcmdTuples(res), NULL, 10);
}

static sv_err run_simple(pg_db *db, const char *sql, const char *what, sv_buf *reterr)
{
    PGresult *res = PQexec(db->conn, sql);
    sv_err e = check(db->conn, res, what, reterr);
    if (e)
        return e;
    note_changes(db, res);
    PQclear(res);
    return SV_OK;
}

/*
 * Pipelining.  A write transaction runs in libpq's pipeline mode: sv_stmt_run (an
 * INSERT, UPDATE or DELETE whose rows nobody reads) only queues its statement, and the
 * next call that needs an answer - a step that reads rows, exec, commit, changes -
 * sends its own statement and a Sync behind the queued ones and reads every answer in
 * one round trip.  A queued statement that failed is reported by that call (its error,
 * its message); the transaction has failed then, as it would have at once: roll back,
 * or go back to a savepoint.  Outside write transactions nothing is queued.
 */

/* Hands the failure of a queued statement to the caller, once. */
static sv_err take_failure(pg_db *db, sv_buf *reterr)
{
    sv_err e = db->failed;
    if (e && reterr)
        sv_buf_add(reterr, db->failmsg.ptr, db->failmsg.len);
    db->failed = SV_OK;
    sv_buf_reset(&db->failmsg);
    return e;
}

static void note_failure(pg_db *db, sv_err e, const char *msg)
{
    if (db->failed)
        return;
    db->failed = e;
    sv_buf_reset(&db->failmsg);
    add_message(&db->failmsg, "step", msg);
}

/*
 * Sends a Sync and reads the answers of every queued command.  With ret_res, the last
 * command's result (the caller's own statement) is kept there when it succeeded.
 * Failures go to db->failed (the first one); later commands were skipped by the server
 * (PGRES_PIPELINE_ABORTED).
 */
static void pipe_sync(pg_db *db, PGresult **ret_res)
{
    if (ret_res)
        *ret_res = NULL;
    int commands = db->queued;
    db->queued = 0;
    if (!PQpipelineSync(db->conn)) {
        note_failure(db, SV_ERR_IO, PQerrorMessage(db->conn));
        return;
    }
    for (int i = 0; i < commands; i++) {
        bool mine = ret_res && i == commands - 1;
        PGresult *res;
        while ((res = PQgetResult(db->conn)) != NULL) {
            ExecStatusType s = PQresultStatus(res);
            if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK || s == PGRES_EMPTY_QUERY) {
                if (mine && !*ret_res) {
                    *ret_res = res;
                    continue;
                }
                note_changes(db, res);
            } else if (s != PGRES_PIPELINE_ABORTED) {
                note_failure(db, map_state(PQresultErrorField(res, PG_DIAG_SQLSTATE)),
                             PQresultErrorMessage(res));
            }
            PQclear(res);
        }
    }
    PGresult *res = PQgetResult(db->conn);
    if (!res || PQresultStatus(res) != PGRES_PIPELINE_SYNC)
        note_failure(db, SV_ERR_IO,
                     PQstatus(db->conn) == CONNECTION_OK ? "the pipeline lost its place"
                                                         : PQerrorMessage(db->conn));
    PQclear(res);
}

/* Leaves pipeline mode for a call libpq allows only outside it (PQexec); piped stays set
 * and pipe_resume enters it again.  The queued commands' failure stays for the next call. */
static void pipe_pause(pg_db *db)
{
    if (!db->piped)
        return;
    if (db->queued)
        pipe_sync(db, NULL);
    if (!PQexitPipelineMode(db->conn))
        note_failure(db, SV_ERR_IO, PQerrorMessage(db->conn));
}

static void pipe_resume(pg_db *db)
{
    if (db->piped && PQpipelineStatus(db->conn) == PQ_PIPELINE_OFF &&
        !PQenterPipelineMode(db->conn))
        note_failure(db, SV_ERR_IO, PQerrorMessage(db->conn));
}

/*
 * SQLite's placeholders to PostgreSQL's: "?" is the next number, "?N" is $N.
 * Writes the text to out and the highest number to *ret_nparams.  Returns false
 * for a number out of range.
 */
static bool translate(const char *sql, sv_buf *out, int *ret_nparams)
{
    int next = 0, highest = 0;
    for (const char *p = sql; *p;) {
        char c = *p;
        if (c == '\'' || c == '"') { /* a quoted string or name; '' and "" stay inside */
            const char *q = p + 1;
            while (*q && (*q != c || q[1] == c))
                q += *q == c ? 2 : 1;
            if (*q)
                q++;
            sv_buf_add(out, p, (size_t)(q - p));
            p = q;
        } else if (c == '-' && p[1] == '-') {
            size_t n = strcspn(p, "\n");
            sv_buf_add(out, p, n);
            p += n;
        } else if (c == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            size_t n = end ? (size_t)(end + 2 - p) : strlen(p);
            sv_buf_add(out, p, n);
            p += n;
        } else if (c == '?') {
            int num;
            p++;
            if (*p >= '0' && *p <= '9') {
                long v = strtol(p, (char **)&p, 10);
                if (v < 1 || v > 32766)
                    return false;
                num = (int)v;
            } else {
                num = ++next;
            }
            if (num > next)
                next = num; /* SQLite: a bare ? after ?N is N+1 */
            if (num > highest)
                highest = num;
            sv_buf_addf(out, "$%d", num);
        } else {
            sv_buf_addc(out, c);
            p++;
        }
    }
    *ret_nparams = highest;
    return true;
}

static sv_err db_open(const char *uri, const sv_db_options *opt, sv_db **ret_db, sv_buf *reterr)
{
    PGconn *conn = PQconnectdb(uri);
    if (!conn)
        return SV_ERR_NOMEM;
    if (PQstatus(conn) != CONNECTION_OK) {
        /* libpq's message names host and port, never the password */
        add_message(reterr, "connect", PQerrorMessage(conn));
        PQfinish(conn);
        return SV_ERR_IO;
    }
    PQsetNoticeProcessor(conn, ignore_notice, NULL);
    pg_db *db = calloc(1, sizeof(*db));
    if (!db) {
        PQfinish(conn);
        return SV_ERR_NOMEM;
    }
    db->conn = conn;
    snprintf(db->setup, sizeof(db->setup),
             "SET client_encoding = 'UTF8'; SET lock_timeout = %d; SET synchronous_commit = %s",
             opt->busy_timeout_ms > 0 ? opt->busy_timeout_ms : 5000,
             opt->synchronous_off ? "off" : "on");
    sv_err e = run_simple(db, db->setup, "connect", reterr);
    if (e) {
        PQfinish(conn);
        free(db);
        return e;
    }
    *ret_db = &db->base;
    return SV_OK;
}

/*
 * A connection the server dropped (restart, fail-over, idle kill) is made again
 * before the next statement outside a transaction or the next begin, so that a
 * worker thread recovers on its own.  The statement that met the broken
 * connection has failed already; inside a transaction nothing is retried, since
 * the transaction is lost.  Named statements are prepared again on first use.
 */
static sv_err revive(pg_db *db, sv_buf *reterr)
{
    if (PQstatus(db->conn) == CONNECTION_OK || db->base.tx_depth > 0)
        return SV_OK;
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK) {
        add_message(reterr, "reconnect", PQerrorMessage(db->conn));
        return SV_ERR_IO;
    }
    db->generation++;
    return run_simple(db, db->setup, "reconnect", reterr);
}

static void db_close(sv_db *db)
{
    PQfinish(C(db));
    sv_buf_release(&((pg_db *)db)->failmsg);
    free(((pg_db *)db)->snapshot);
    free(db);
}

/* In a pipelined transaction: the queued statements' failure instead of running sql. */
static sv_err db_exec(sv_db *db, const char *sql, sv_buf *reterr)
{
    if (db->tx_depth == 0) /* may be an own write in autocommit: a held version is stale */
        db->version_kept_valid = false;
    pg_db *pd = (pg_db *)db;
    sv_err e = revive(pd, reterr);
    if (e)
        return e;
    pipe_pause(pd);
    e = take_failure(pd, reterr);
    if (!e)
        e = run_simple(pd, sql, "exec", reterr);
    pipe_resume(pd);
    return e;
}

static void st_free(pg_stmt *st)
{
    if (!st)
        return;
    PQclear(st->res);
    for (int i = 0; i < st->nparams; i++)
        free(st->values[i]);
    free(st->values);
    free(st->sql);
    free(st);
}

/* Checked with the unnamed statement, which the next prepare replaces: whether the
 * statement is cached is known only at its first step (db.c sets base.sql). */
static sv_err db_prepare(sv_db *db, const char *sql, sv_stmt **ret_stmt, sv_buf *reterr)
{
    pg_db *pd = (pg_db *)db;
    sv_err e = revive(pd, reterr);
    if (e)
        return e;
    sv_buf text = SV_BUF_INIT;
    int nparams = 0;
    if (!translate(sql, &text, &nparams)) {
        sv_buf_release(&text);
        if (reterr)
            sv_buf_adds(reterr, "postgres prepare: a placeholder number out of range");
        return SV_ERR_INTERNAL;
    }
    pg_stmt *st = calloc(1, sizeof(*st));
    if (!st) {
        sv_buf_release(&text);
        return SV_ERR_NOMEM;
    }
    st->nparams = nparams;
    st->values = nparams ? calloc((size_t)nparams, sizeof(char *)) : NULL;
    st->sql = sv_buf_detach(&text, NULL);
    st->row = -1;
    if ((nparams && !st->values) || !st->sql) {
        st_free(st);
        return SV_ERR_NOMEM;
    }
    pipe_pause(pd);
    e = take_failure(pd, reterr);
    if (!e) {
        PGresult *res = PQprepare(pd->conn, "", st->sql, 0, NULL);
        e = check(pd->conn, res, "prepare", reterr);
        if (!e)
            PQclear(res);
    }
    pipe_resume(pd);
    if (e) {
        st_free(st);
        return e;
    }
    *ret_stmt = &st->base;
    return SV_OK;
}

static void st_finalize(sv_stmt *s)
{
    pg_stmt *st = P(s);
    if (st->name[0] && st->generation == ((pg_db *)s->db)->generation) {
        /* In a failed transaction this fails too; the name is never used again. */
        char sql[48];
        snprintf(sql, sizeof(sql), "DEALLOCATE %s", st->name);
        pipe_pause((pg_db *)s->db);
        PQclear(PQexec(C(s->db), sql));
        pipe_resume((pg_db *)s->db);
    }
    st_free(st);
}

static void st_reset(sv_stmt *s)
{
    pg_stmt *st = P(s);
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    st->nrows = 0;
    for (int i = 0; i < st->nparams; i++) {
        free(st->values[i]);
        st->values[i] = NULL;
    }
    st->bad_bind = false;
}

static sv_err set_value(pg_stmt *st, int idx, const char *s, size_t len)
{
    if (idx < 1 || idx > st->nparams)
        return SV_ERR_INTERNAL;
    char *v = NULL;
    if (s) {
        if (memchr(s, '\0', len)) {
            st->bad_bind = true;
            return SV_ERR_INVALID;
        }
        v = malloc(len + 1);
        if (!v)
            return SV_ERR_NOMEM;
        memcpy(v, s, len);
        v[len] = '\0';
    }
    free(st->values[idx - 1]);
    st->values[idx - 1] = v;
    return SV_OK;
}

static sv_err st_bind_text(sv_stmt *st, int idx, const char *s, size_t len)
{
    return set_value(P(st), idx, s ? s : "", len);
}

static sv_err st_bind_int64(sv_stmt *st, int idx, int64_t v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%lld", (long long)v);
    return set_value(P(st), idx, b, (size_t)n);
}

static sv_err st_bind_double(sv_stmt *st, int idx, double v)
{
    char b[40];
    int n;
    if (v != v)
        n = snprintf(b, sizeof(b), "NaN");
    else if (v > 1.7976931348623157e308)
        n = snprintf(b, sizeof(b), "Infinity");
    else if (v < -1.7976931348623157e308)
        n = snprintf(b, sizeof(b), "-Infinity");
    else
        n = snprintf(b, sizeof(b), "%.17g", v);
    return set_value(P(st), idx, b, (size_t)n);
}

static sv_err st_bind_null(sv_stmt *st, int idx)
{
    return set_value(P(st), idx, NULL, 0);
}

/* A cached statement is prepared under a name at its first run on this connection (at
 * once, also in a pipelined transaction: a name whose prepare the server skipped after a
 * failure would be missing in every later transaction). */
static sv_err ensure_prepared(pg_db *db, pg_stmt *st, sv_buf *reterr)
{
    if (st->name[0] && st->generation == db->generation)
        return SV_OK;
    pipe_pause(db);
    sv_err e = take_failure(db, reterr);
    if (!e) {
        char name[24];
        snprintf(name, sizeof(name), "sv%u", ++db->next_name);
        PGresult *res = PQprepare(db->conn, name, st->sql, 0, NULL);
        e = check(db->conn, res, "prepare", reterr);
        if (!e) {
            PQclear(res);
            memcpy(st->name, name, sizeof(name));
            st->generation = db->generation;
        }
    }
    pipe_resume(db);
    return e;
}

/* Queues st's statement (prepared already when cached) in the pipeline. */
static sv_err pipe_send(pg_db *db, pg_stmt *st, bool cached, sv_buf *reterr)
{
    const char *const *values = (const char *const *)st->values;
    int ok = cached
                 ? PQsendQueryPrepared(db->conn, st->name, st->nparams, values, NULL, NULL, 0)
                 : PQsendQueryParams(db->conn, st->sql, st->nparams, NULL, values, NULL, NULL, 0);
    if (!ok) {
        note_failure(db, SV_ERR_IO, PQerrorMessage(db->conn));
        return take_failure(db, reterr);
    }
    db->queued++;
    return SV_OK;
}

static sv_err st_step(sv_stmt *s, bool *ret_row, sv_buf *reterr)
{
    pg_stmt *st = P(s);
    pg_db *db = (pg_db *)s->db;
    *ret_row = false;
    if (!st->res && db->base.tx_depth == 0) /* as in db_exec */
        db->base.version_kept_valid = false;
    if (!st->res) {
        if (st->bad_bind) {
            if (reterr)
                sv_buf_adds(reterr, "postgres step: text with a NUL byte cannot be stored");
            st_reset(s);
            return SV_ERR_INVALID;
        }
        sv_err e = revive(db, reterr);
        if (e) {
            st_reset(s);
            return e;
        }
        const char *const *values = (const char *const *)st->values;
        PGresult *res = NULL;
        if (s->sql) /* cached: under a name; uncached: parsed again, nothing left behind */
            e = ensure_prepared(db, st, reterr);
        if (e) {
            st_reset(s);
            return e;
        }
        if (db->piped) { /* the queued statements go first, in the same round trip */
            e = pipe_send(db, st, s->sql != NULL, reterr);
            if (!e) {
                pipe_sync(db, &res);
                e = take_failure(db, reterr);
            }
        } else {
            res = s->sql
                      ? PQexecPrepared(db->conn, st->name, st->nparams, values, NULL, NULL, 0)
                      : PQexecParams(db->conn, st->sql, st->nparams, NULL, values, NULL, NULL, 0);
            e = check(db->conn, res, "step", reterr);
            if (e)
                res = NULL; /* check cleared it */
        }
        if (e) {
            PQclear(res);
            st_reset(s);
            return e;
        }
        note_changes(db, res);
        st->res = res;
        st->nrows = PQntuples(res);
        st->row = -1;
    }
    if (st->row + 1 < st->nrows) {
        st->row++;
        *ret_row = true;
        return SV_OK;
    }
    /* Done: as in SQLite, the next step runs the statement again. */
    PQclear(st->res);
    st->res = NULL;
    st->row = -1;
    return SV_OK;
}

/* sv_stmt_run: in a pipelined transaction the statement is only queued (see pipe_sync). */
static sv_err st_run(sv_stmt *s, sv_buf *reterr)
{
    pg_stmt *st = P(s);
    pg_db *db = (pg_db *)s->db;
    bool row = false;
    sv_err e = SV_OK;
    if (!db->piped || st->res || st->bad_bind) {
        do
            e = st_step(s, &row, reterr);
        while (!e && row);
        return e;
    }
    if (s->sql)
        e = ensure_prepared(db, st, reterr);
    if (!e)
        e = pipe_send(db, st, s->sql != NULL, reterr);
    if (!e && db->queued >= PIPE_MAX) {
        pipe_sync(db, NULL);
        e = take_failure(db, reterr);
    }
    if (e)
        st_reset(s);
    return e;
}

static bool st_column_is_null(sv_stmt *s, int col)
{
    pg_stmt *st = P(s);
    if (!st->res || st->row < 0 || col >= PQnfields(st->res))
        return true;
    return PQgetisnull(st->res, st->row, col);
}

static const char *st_column_text(sv_stmt *s, int col, size_t *ret_len)
{
    pg_stmt *st = P(s);
    if (st_column_is_null(s, col)) {
        if (ret_len)
            *ret_len = 0;
        return NULL;
    }
    if (ret_len)
        *ret_len = (size_t)PQgetlength(st->res, st->row, col);
    return PQgetvalue(st->res, st->row, col);
}

static int64_t st_column_int64(sv_stmt *s, int col)
{
    const char *v = st_column_text(s, col, NULL);
    if (!v)
        return 0;
    if (v[0] == 't' && v[1] == '\0') /* boolean */
        return 1;
    if (strpbrk(v, ".eEIN")) /* a real, read as SQLite does: truncated */
        return (int64_t)strtod(v, NULL);
    return strtoll(v, NULL, 10);
}

static double st_column_double(sv_stmt *s, int col)
{
    const char *v = st_column_text(s, col, NULL);
    return v ? strtod(v, NULL) : 0.0;
}

static sv_err db_begin(sv_db *db, sv_tx_kind kind, sv_buf *reterr)
{
    pg_db *pd = (pg_db *)db;
    sv_err e = revive(pd, reterr);
    if (e)
        return e;
    if (kind == SV_TX_READ)
        return run_simple(pd, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "begin", reterr);
    if (kind == SV_TX_CLAIM) /* the lock comes with db_write_lock, after the claim */
        return run_simple(pd, "BEGIN ISOLATION LEVEL READ COMMITTED", "begin", reterr);
    e = run_simple(pd,
                   "BEGIN ISOLATION LEVEL READ COMMITTED;"
                   " SET LOCAL plan_cache_mode = force_generic_plan;"
                   " SELECT pg_advisory_xact_lock(" WRITE_LOCK_KEY ")",
                   "begin", reterr);
    if (e) {
        PQclear(PQexec(pd->conn, "ROLLBACK"));
        if (e == SV_ERR_BUSY && reterr)
            sv_buf_adds(reterr, " (another writer held the database past the busy timeout)");
        return e;
    }
    pd->queued = 0;
    take_failure(pd, NULL);
    pd->piped = PQenterPipelineMode(pd->conn) == 1; /* else unpipelined, as it was */
    return SV_OK;
}

/* Ends pipeline mode at the end of a transaction (every answer read by then). */
static void pipe_leave(pg_db *db)
{
    if (!db->piped)
        return;
    pipe_pause(db);
    db->piped = false;
    take_failure(db, NULL);
}

/* While it waits, this transaction holds the row locks of its claim; no writer
 * that holds the write lock waits for them, since every statement that touches a
 * claimable row while another transaction may hold it skips locked rows too. */
static sv_err db_write_lock(sv_db *db, sv_buf *reterr)
{
    sv_err e = run_simple((pg_db *)db, "SELECT pg_advisory_xact_lock(" WRITE_LOCK_KEY ")",
                          "write lock", reterr);
    if (e == SV_ERR_BUSY && reterr)
        sv_buf_adds(reterr, " (another writer held the database past the busy timeout)");
    return e;
}

static sv_err db_commit(sv_db *db, sv_buf *reterr)
{
    pg_db *pd = (pg_db *)db;
    PGresult *res = NULL;
    sv_err e;
    if (pd->piped) { /* COMMIT goes behind the queued statements */
        if (PQsendQueryParams(pd->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0)) {
            pd->queued++;
            pipe_sync(pd, &res);
        } else {
            note_failure(pd, SV_ERR_IO, PQerrorMessage(pd->conn));
        }
        e = take_failure(pd, reterr);
        if (e) {
            PQclear(res);
            return e; /* db.c rolls back */
        }
        pipe_leave(pd);
    } else {
        res = PQexec(pd->conn, "COMMIT");
        e = check(pd->conn, res, "commit", reterr);
        if (e)
            return e; /* db.c rolls back */
    }
    /* COMMIT of a failed transaction "succeeds" with ROLLBACK as its status */
    bool rolled_back = strcmp(PQcmdStatus(res), "ROLLBACK") == 0;
    PQclear(res);
    if (rolled_back) {
        if (reterr)
            sv_buf_adds(reterr, "postgres commit: the transaction had failed and was rolled back");
        return SV_ERR_IO;
    }
    return SV_OK;
}

static sv_err db_rollback(sv_db *db)
{
    pipe_leave((pg_db *)db);
    return run_simple((pg_db *)db, "ROLLBACK", "rollback", NULL);
}

/* The queued statements' failure, if any, stays for the next call that can report it. */
static int64_t db_changes(sv_db *db)
{
    pg_db *pd = (pg_db *)db;
    if (pd->piped && pd->queued)
        pipe_sync(pd, NULL);
    return pd->changes;
}

/*
 * The data version: the server's current snapshot (xmin:xmax:running xids),
 * numbered per connection.  Two equal snapshots see the same committed data,
 * and a commit anywhere (any process, any database of the cluster) changes it:
 * xmax only grows, and with xmax unchanged the running list only shrinks, so a
 * snapshot never comes back once it has moved.  A commit is in it as soon as it
 * is visible, with no race against delivery.  (A NOTIFY from every writer, read
 * here without a round trip, was the other way: it arrives after the commit is
 * visible, so a request on this process right after a write on another could
 * still take a stale value; one round trip per check is the price of never
 * doing that.)
 */
static bool db_data_version(sv_db *db, uint64_t *ret_version)
{
    pg_db *pd = (pg_db *)db;
    /* Held (sv_db_data_version_hold) for one request, the round trip is made once;
     * a commit or rollback on this connection drops the held value. */
    if (db->version_held && db->version_kept_valid) {
        *ret_version = pd->version;
        return true;
    }
    if (revive(pd, NULL))
        return false;
    PGresult *res = PQexec(pd->conn, "SELECT pg_current_snapshot()");
    if (check(pd->conn, res, "data version", NULL)) /* it cleared res */
        return false;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return false;
    }
    const char *now = PQgetvalue(res, 0, 0);
    if (!pd->snapshot || strcmp(pd->snapshot, now) != 0) {
        char *copy = strdup(now);
        if (!copy) {
            PQclear(res);
            return false;
        }
        free(pd->snapshot);
        pd->snapshot = copy;
        pd->version++;
    }
    PQclear(res);
    db->version_kept_valid = db->version_held;
    *ret_version = pd->version;
    return true;
}

const sv_db_backend sv_db_postgres_backend = {
    .version = SV_DB_BACKEND_VERSION,
    .name = "postgres",
    .dialect = SV_DIALECT_POSTGRES,
    .open = db_open,
    .close = db_close,
    .exec = db_exec,
    .prepare = db_prepare,
    .finalize = st_finalize,
    .reset = st_reset,
    .bind_text = st_bind_text,
    .bind_int64 = st_bind_int64,
    .bind_double = st_bind_double,
    .bind_null = st_bind_null,
    .step = st_step,
    .column_is_null = st_column_is_null,
    .column_text = st_column_text,
    .column_int64 = st_column_int64,
    .column_double = st_column_double,
    .begin = db_begin,
    .commit = db_commit,
    .rollback = db_rollback,
    .changes = db_changes,
    .data_version = db_data_version,
    .write_lock = db_write_lock,
    .run = st_run,
};
