/*
 * session.c - checking sessions (through a per-connection memo), switching the acting
 * role, revoking.  Sessions are created by login.c.  See identity.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/internal.h"
#include "base/datetime.h"

/* Sessions are touched at most once a minute, so that reads do not all write. */
#define TOUCH_MS SV__AUTH_MINUTE_MS

static const char SQL_SESSION_HAS_ROLE[] =
    "SELECT 1 FROM auth_session s JOIN auth_user_role r ON r.uid = s.uid"
    " WHERE s.id_hash = ? AND r.practitioner_role = ?";
static const char SQL_SESSION_SET_ROLE[] =
    "UPDATE auth_session SET acting_role = ? WHERE id_hash = ?";
static const char SQL_SESSION_GET[] =
    "SELECT s.created, s.last_seen, s.revoked, u.disabled, u.username, u.kind,"
    " COALESCE(s.acting_role, u.practitioner_role), u.patient, u.related_person"
    " FROM auth_session s JOIN auth_user u ON u.uid = s.uid WHERE s.id_hash = ?";
static const char SQL_SESSION_TOUCH[] = "UPDATE auth_session SET last_seen = ? WHERE id_hash = ?";
static const char SQL_SESSION_REVOKE[] = "UPDATE auth_session SET revoked = 1 WHERE id_hash = ?";

/* A valid session as read from the database: what a memo keeps. */
typedef struct session_entry {
    uint64_t data_version; /* 0: empty */
    char id_hash[65];
    int64_t created, last_seen;
    sv_principal principal;
} session_entry;

#define MEMO_SLOTS 32

struct sv_auth_memo {
    session_entry sessions[MEMO_SLOTS];
    size_t next; /* round robin */
};

sv_auth_memo *sv_auth_memo_new(void)
{
    sv_auth_memo *m = calloc(1, sizeof(*m));
    if (!m)
        abort();
    return m;
}

void sv_auth_memo_free(sv_auth_memo *m)
{
    free(m);
}

/* The session row of id hash h: SV_ERR_UNAUTHORIZED when missing, revoked or its
 * user disabled. */
static sv_err session_read(sv_db *db, const char *h, session_entry *ret, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    bool row = false;
    sv_err e = sv_db_stmt(db, SQL_SESSION_GET, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, h);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    if (e || !row) {
        if (st)
            sv_stmt_reset(st);
        return e ? e : sv__auth_fail(reterr, SV_ERR_UNAUTHORIZED, "no valid session");
    }
    memset(ret, 0, sizeof(*ret));
    ret->created = sv_stmt_column_int64(st, 0);
    ret->last_seen = sv_stmt_column_int64(st, 1);
    bool revoked = sv_stmt_column_int64(st, 2) != 0;
    bool disabled = sv_stmt_column_int64(st, 3) != 0;
    sv_principal *p = &ret->principal;
    char kind[32];
    sv__auth_copy_col(st, 4, p->name, sizeof(p->name));
    sv__auth_copy_col(st, 5, kind, sizeof(kind));
    sv__auth_copy_col(st, 6, p->practitioner_role, sizeof(p->practitioner_role));
    sv__auth_copy_col(st, 7, p->patient, sizeof(p->patient));
    sv__auth_copy_col(st, 8, p->related_person, sizeof(p->related_person));
    sv_stmt_reset(st);
    if (revoked || disabled)
        return sv__auth_fail(reterr, SV_ERR_UNAUTHORIZED, "no valid session");
    sv_principal_kind_parse(kind, &p->kind);
    p->method = SV_AUTH_SESSION;
    snprintf(ret->id_hash, sizeof(ret->id_hash), "%s", h);
    return SV_OK;
}

sv_err sv_auth_session_check(sv_db *db, const sv_auth_config *cfg, const char *session,
                             sv_principal *ret_principal, sv_buf *reterr)
{
    return sv_auth_session_check_memo(db, NULL, cfg, session, ret_principal, reterr);
}

sv_err sv_auth_session_check_memo(sv_db *db, sv_auth_memo *m, const sv_auth_config *cfg_in,
                                  const char *session, sv_principal *ret_principal, sv_buf *reterr)
{
    if (!sv__auth_secret_shape_ok(session))
        return sv__auth_fail(reterr, SV_ERR_UNAUTHORIZED, "no valid session");
    sv_auth_config cfg = *cfg_in;
    sv_auth_config_defaults(&cfg);
    int64_t now = sv_clock_now_ms();
    char h[65];
    sv__auth_secret_hash("session:", session, h);
    /* Taken before the read: a commit after it makes what is kept stale. */
    uint64_t version = 0;
    if (m && !sv_db_data_version(db, &version))
        version = 0;
    session_entry cur, *kept = NULL;
    for (size_t i = 0; m && version && i < MEMO_SLOTS && !kept; i++)
        if (m->sessions[i].data_version == version && strcmp(m->sessions[i].id_hash, h) == 0)
            kept = &m->sessions[i];
    if (kept) {
        cur = *kept;
    } else {
        sv_err e = session_read(db, h, &cur, reterr);
        if (e)
            return e;
        sv__auth_session_csrf(session, cur.principal.csrf);
    }
    if (now - cur.last_seen > cfg.session_idle_ms || now - cur.created > cfg.session_absolute_ms)
        return sv__auth_fail(reterr, SV_ERR_UNAUTHORIZED, "no valid session");
    if (now - cur.last_seen >= TOUCH_MS) {
        sv_stmt *st = NULL;
        sv_err e = sv_db_stmt(db, SQL_SESSION_TOUCH, &st, reterr);
        if (!e)
            e = sv_stmt_bind_int64(st, 1, now);
        if (!e)
            e = sv_stmt_bind_text(st, 2, h);
        if (!e)
            e = sv_stmt_run(st, reterr);
        if (e)
            return e;
        version = 0; /* the write made it stale */
    }
    if (m && version && !kept) {
        cur.data_version = version;
        m->sessions[m->next++ % MEMO_SLOTS] = cur;
    }
    if (ret_principal)
        *ret_principal = cur.principal;
    return SV_OK;
}

sv_err sv_auth_session_set_role(sv_db *db, const sv_auth_config *cfg, const char *session,
                                const char *practitioner_role, sv_buf *reterr)
{
    sv_principal p;
    sv_err e = sv_auth_session_check(db, cfg, session, &p, reterr);
    if (e)
        return e;
    char h[65];
    sv__auth_secret_hash("session:", session, h);
    sv_stmt *st = NULL;
    bool row = false;
    e = sv_db_stmt(db, SQL_SESSION_HAS_ROLE, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, h);
    if (!e)
        e = sv_stmt_bind_text(st, 2, practitioner_role);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    if (st)
        sv_stmt_reset(st);
    if (e)
        return e;
    if (!row) {
        if (reterr)
            sv_buf_addf(reterr, "'%s' is not one of your practitioner roles", practitioner_role);
        return SV_ERR_FORBIDDEN;
    }
    e = sv_db_stmt(db, SQL_SESSION_SET_ROLE, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, practitioner_role);
    if (!e)
        e = sv_stmt_bind_text(st, 2, h);
    if (!e)
        e = sv_stmt_run(st, reterr);
    return e;
}

sv_err sv_auth_session_revoke(sv_db *db, const char *session, sv_buf *reterr)
{
    if (!sv__auth_secret_shape_ok(session))
        return SV_OK;
    char h[65];
    sv__auth_secret_hash("session:", session, h);
    return sv__auth_run_key(db, SQL_SESSION_REVOKE, h, reterr);
}
