/*
 * login.c - sv_auth_login: one argon2id verification per attempt, whichever way it
 * fails, and the failed-login lockout per username and per address.  See identity.h.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/internal.h"
#include "base/datetime.h"

#define FAILURE_MESSAGE "invalid username or password"

static const char SQL_SESSION_INSERT[] =
    "INSERT INTO auth_session (id_hash, uid, created, last_seen) VALUES (?, ?, ?, ?)";
static const char SQL_SESSION_PURGE[] = "DELETE FROM auth_session WHERE created < ?";
static const char SQL_FAILURE_INSERT[] = "INSERT INTO auth_failure (key, at) VALUES (?, ?)";
static const char SQL_FAILURE_COUNT[] =
    "SELECT COUNT(*) FROM auth_failure WHERE key = ? AND at > ?";
static const char SQL_FAILURE_CLEAR[] = "DELETE FROM auth_failure WHERE key = ?";
static const char SQL_FAILURE_PURGE[] = "DELETE FROM auth_failure WHERE at <= ?";
static const char SQL_LOCK_SET[] = "INSERT INTO auth_lock (key, until) VALUES (?, ?)"
                                   " ON CONFLICT (key) DO UPDATE SET until = excluded.until";
static const char SQL_LOCK_PURGE[] = "DELETE FROM auth_lock WHERE until <= ?";
static const char SQL_LOCK_GET[] = "SELECT until FROM auth_lock WHERE key = ?";

/* ---- lockout ---- */

static sv_err locked_until(sv_db *db, const char *key, int64_t *ret_until, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    bool row = false;
    sv_err e = sv_db_stmt(db, SQL_LOCK_GET, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, key);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    *ret_until = (!e && row) ? sv_stmt_column_int64(st, 0) : 0;
    if (st)
        sv_stmt_reset(st);
    return e;
}

/* Counts one failure for key; the max-th within the window locks the key. */
static sv_err record_failure(sv_db *db, const sv_auth_config *cfg, const char *key, int max,
                             int64_t now, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    bool row = false;
    sv_err e = sv_db_stmt(db, SQL_FAILURE_INSERT, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, key);
    if (!e)
        e = sv_stmt_bind_int64(st, 2, now);
    if (!e)
        e = sv_stmt_run(st, reterr);
    if (!e)
        e = sv_db_stmt(db, SQL_FAILURE_COUNT, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, key);
    if (!e)
        e = sv_stmt_bind_int64(st, 2, now - cfg->failure_window_ms);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    int64_t count = (!e && row) ? sv_stmt_column_int64(st, 0) : 0;
    if (st)
        sv_stmt_reset(st);
    if (e || count < max)
        return e;
    e = sv_db_stmt(db, SQL_LOCK_SET, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, key);
    if (!e)
        e = sv_stmt_bind_int64(st, 2, now + cfg->lockout_ms);
    if (!e)
        e = sv_stmt_run(st, reterr);
    /* The lock starts a new count: after it, max more failures lock again. */
    if (!e)
        e = sv_db_stmt(db, SQL_FAILURE_CLEAR, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, key);
    if (!e)
        e = sv_stmt_run(st, reterr);
    return e;
}

/* ---- login and sessions ---- */

sv_err sv_auth_login(sv_db *db, const sv_auth_config *cfg_in, const char *username,
                     const char *password, const char *address,
                     char ret_session[SV_AUTH_SECRET_LEN], sv_principal *ret_principal,
                     sv_buf *reterr)
{
    const char *dummy_hash = sv__auth_dummy_hash();
    if (!dummy_hash)
        return sv__auth_fail(reterr, SV_ERR_INTERNAL, "libsodium failed to initialise");
    sv_auth_config cfg = *cfg_in;
    sv_auth_config_defaults(&cfg);
    int64_t now = sv_clock_now_ms();
    if (!username)
        username = "";
    if (!password)
        password = "";
    char user_key[SV_AUTH_NAME_MAX + 8], addr_key[SV_AUTH_NAME_MAX + 8];
    snprintf(user_key, sizeof(user_key), "u:%.*s", SV_AUTH_NAME_MAX - 1, username);
    snprintf(addr_key, sizeof(addr_key), "a:%.*s", SV_AUTH_NAME_MAX - 1, address ? address : "");

    /* Look up the user and the locks outside the write lock: the hash takes ~55 ms. */
    int64_t user_lock = 0, addr_lock = 0;
    sv_err e = locked_until(db, user_key, &user_lock, reterr);
    if (!e && address)
        e = locked_until(db, addr_key, &addr_lock, reterr);
    if (e)
        return e;
    bool locked = user_lock > now || addr_lock > now;

    char hash[crypto_pwhash_STRBYTES] = "";
    char kind[32] = "", role[SV_AUTH_NAME_MAX] = "", patient[SV_AUTH_NAME_MAX] = "";
    char related[SV_AUTH_NAME_MAX] = "";
    int64_t uid = 0;
    bool found = false, disabled = false;
    if (sv__auth_name_ok(username)) {
        sv_stmt *st = NULL;
        e = sv_db_stmt(db, sv__auth_sql_user_by_name, &st, reterr);
        if (!e)
            e = sv_stmt_bind_text(st, 1, username);
        if (!e)
            e = sv_stmt_step(st, &found, reterr);
        if (!e && found) {
            uid = sv_stmt_column_int64(st, 0);
            sv__auth_copy_col(st, 1, kind, sizeof(kind));
            sv__auth_copy_col(st, 2, hash, sizeof(hash));
            sv__auth_copy_col(st, 3, role, sizeof(role));
            sv__auth_copy_col(st, 4, patient, sizeof(patient));
            disabled = sv_stmt_column_int64(st, 5) != 0;
            sv__auth_copy_col(st, 6, related, sizeof(related));
        }
        if (st)
            sv_stmt_reset(st);
        if (e)
            return e;
    }
    /* Always one verification, of the real hash or of the dummy one. */
    const char *check = found && hash[0] ? hash : dummy_hash;
    bool ok = sv__auth_password_verify(check, password);
    sodium_memzero(hash, sizeof(hash));
    ok = ok && found && !disabled && !locked;

    e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (e)
        return e;
    if (!ok) {
        /* While locked, attempts are not counted: the lock already runs. */
        if (user_lock <= now)
            e = record_failure(db, &cfg, user_key, cfg.max_failures_user, now, reterr);
        if (!e && address && addr_lock <= now)
            e = record_failure(db, &cfg, addr_key, cfg.max_failures_address, now, reterr);
        if (!e)
            e = sv__auth_run_time(db, SQL_FAILURE_PURGE, now - cfg.failure_window_ms, reterr);
        if (!e)
            e = sv__auth_run_time(db, SQL_LOCK_PURGE, now, reterr);
        if (e) {
            sv_db_rollback(db);
            return e;
        }
        e = sv_db_commit(db, reterr);
        if (e)
            return e;
        return sv__auth_fail(reterr, SV_ERR_UNAUTHORIZED, FAILURE_MESSAGE);
    }
    char session[SV_AUTH_SECRET_LEN], session_hash[65];
    sv__auth_new_secret(session);
    sv__auth_secret_hash("session:", session, session_hash);
    e = sv__auth_run_key(db, SQL_FAILURE_CLEAR, user_key, reterr);
    if (!e)
        e = sv__auth_run_time(db, SQL_SESSION_PURGE, now - cfg.session_absolute_ms, reterr);
    sv_stmt *st = NULL;
    if (!e)
        e = sv_db_stmt(db, SQL_SESSION_INSERT, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, session_hash);
    if (!e)
        e = sv_stmt_bind_int64(st, 2, uid);
    if (!e)
        e = sv_stmt_bind_int64(st, 3, now);
    if (!e)
        e = sv_stmt_bind_int64(st, 4, now);
    if (!e)
        e = sv_stmt_run(st, reterr);
    if (e) {
        sv_db_rollback(db);
        return e;
    }
    e = sv_db_commit(db, reterr);
    if (e)
        return e;
    sv_principal p;
    memset(&p, 0, sizeof(p));
    sv_principal_kind_parse(kind, &p.kind);
    p.method = SV_AUTH_SESSION;
    snprintf(p.name, sizeof(p.name), "%s", username);
    snprintf(p.practitioner_role, sizeof(p.practitioner_role), "%s", role);
    snprintf(p.patient, sizeof(p.patient), "%s", patient);
    snprintf(p.related_person, sizeof(p.related_person), "%s", related);
    sv__auth_session_csrf(session, p.csrf);
    if (p.kind == SV_PRINCIPAL_PRACTITIONER) {
        e = sv_auth_user_roles(db, username, p.roles, reterr);
        if (e)
            return e;
    }
    memcpy(ret_session, session, SV_AUTH_SECRET_LEN);
    sodium_memzero(session, sizeof(session));
    if (ret_principal)
        *ret_principal = p;
    return SV_OK;
}
