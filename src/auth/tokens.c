/*
 * tokens.c - bearer tokens: clients' long-lived secrets and the OAuth2
 * client-credentials grant.  See identity.h.
 */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/internal.h"
#include "base/datetime.h"

static const char SQL_CLIENT_UPSERT[] =
    "INSERT INTO auth_client (name, scopes, created) VALUES (?, ?, ?)"
    " ON CONFLICT (name) DO UPDATE SET scopes = excluded.scopes";
static const char SQL_CLIENT_ID[] = "SELECT cid FROM auth_client WHERE name = ?";
static const char SQL_TOKEN_INSERT[] =
    "INSERT INTO auth_token (token_hash, cid, scopes, secret, created, expires)"
    " VALUES (?, ?, ?, ?, ?, ?)";
/* A secret token carries its client's current scopes; an access token its own. */
static const char SQL_TOKEN_GET[] =
    "SELECT c.cid, c.name, CASE WHEN t.secret <> 0 THEN c.scopes ELSE t.scopes END,"
    " t.secret, t.expires, t.revoked"
    " FROM auth_token t JOIN auth_client c ON c.cid = t.cid WHERE t.token_hash = ?";

static sv_err insert_token(sv_db *db, const char *token, int64_t cid, const char *scopes,
                           bool secret, int64_t expires, sv_buf *reterr)
{
    char h[65];
    sv__auth_secret_hash("token:", token, h);
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_TOKEN_INSERT, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, h);
    if (!e)
        e = sv_stmt_bind_int64(st, 2, cid);
    if (!e)
        e = sv_stmt_bind_text(st, 3, scopes);
    if (!e)
        e = sv_stmt_bind_int64(st, 4, secret ? 1 : 0);
    if (!e)
        e = sv_stmt_bind_int64(st, 5, sv_clock_now_ms());
    if (!e)
        e = sv_stmt_bind_int64(st, 6, expires);
    if (!e)
        e = sv_stmt_run(st, reterr);
    return e;
}

sv_err sv_auth_token_create(sv_db *db, const char *client, const char *scopes,
                            char ret_token[SV_AUTH_SECRET_LEN], sv_buf *reterr)
{
    sv__auth_init();
    if (!sv__auth_name_ok(client))
        return sv__auth_fail(reterr, SV_ERR_INVALID,
                             "a client name is 1 to 127 characters of letters, digits and . _ @ -");
    if (!sv_auth_scopes_valid(scopes))
        return sv__auth_fail(
            reterr, SV_ERR_INVALID,
            "scopes are SMART scopes separated by spaces, e.g. 'system/Task.read'");
    sv_err e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (e)
        return e;
    sv_stmt *st = NULL;
    bool row = false;
    e = sv_db_stmt(db, SQL_CLIENT_UPSERT, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, client);
    if (!e)
        e = sv_stmt_bind_text(st, 2, scopes);
    if (!e)
        e = sv_stmt_bind_int64(st, 3, sv_clock_now_ms());
    if (!e)
        e = sv_stmt_run(st, reterr);
    if (!e)
        e = sv_db_stmt(db, SQL_CLIENT_ID, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, client);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    int64_t cid = (!e && row) ? sv_stmt_column_int64(st, 0) : 0;
    if (st)
        sv_stmt_reset(st);
    if (!e && !row)
        e = SV_ERR_INTERNAL;
    char token[SV_AUTH_SECRET_LEN];
    sv__auth_new_secret(token);
    if (!e)
        e = insert_token(db, token, cid, scopes, true, 0, reterr);
    if (e) {
        sv_db_rollback(db);
        return e;
    }
    e = sv_db_commit(db, reterr);
    if (!e)
        memcpy(ret_token, token, SV_AUTH_SECRET_LEN);
    sodium_memzero(token, sizeof(token));
    return e;
}

typedef struct token_row {
    int64_t cid;
    char client[SV_AUTH_NAME_MAX];
    char scopes[SV_AUTH_SCOPES_MAX];
    bool secret;
} token_row;

/* A live token's row; SV_ERR_UNAUTHORIZED when unknown, revoked or expired. */
static sv_err token_get(sv_db *db, const char *token, token_row *ret, sv_buf *reterr)
{
    if (!sv__auth_secret_shape_ok(token))
        return sv__auth_fail(reterr, SV_ERR_UNAUTHORIZED, "invalid token");
    char h[65];
    sv__auth_secret_hash("token:", token, h);
    sv_stmt *st = NULL;
    bool row = false;
    sv_err e = sv_db_stmt(db, SQL_TOKEN_GET, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, h);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    if (e || !row) {
        if (st)
            sv_stmt_reset(st);
        return e ? e : sv__auth_fail(reterr, SV_ERR_UNAUTHORIZED, "invalid token");
    }
    ret->cid = sv_stmt_column_int64(st, 0);
    sv__auth_copy_col(st, 1, ret->client, sizeof(ret->client));
    sv__auth_copy_col(st, 2, ret->scopes, sizeof(ret->scopes));
    ret->secret = sv_stmt_column_int64(st, 3) != 0;
    int64_t expires = sv_stmt_column_int64(st, 4);
    bool revoked = sv_stmt_column_int64(st, 5) != 0;
    sv_stmt_reset(st);
    if (revoked || (expires && sv_clock_now_ms() >= expires))
        return sv__auth_fail(reterr, SV_ERR_UNAUTHORIZED, "invalid token");
    return SV_OK;
}

sv_err sv_auth_token_check(sv_db *db, const char *token, sv_principal *ret_principal,
                           sv_buf *reterr)
{
    token_row t;
    sv_err e = token_get(db, token, &t, reterr);
    if (e)
        return e;
    sv_principal p;
    memset(&p, 0, sizeof(p));
    p.kind = SV_PRINCIPAL_SYSTEM;
    p.method = SV_AUTH_BEARER;
    memcpy(p.name, t.client, sizeof(p.name));
    memcpy(p.scopes, t.scopes, sizeof(p.scopes));
    if (ret_principal)
        *ret_principal = p;
    return SV_OK;
}

typedef struct narrow_ctx {
    const char *held;
    bool ok;
} narrow_ctx;

static bool word_held(void *ctx, const char *w, size_t n)
{
    narrow_ctx *c = ctx;
    const char *p = c->held;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *h = p;
        while (*p && *p != ' ')
            p++;
        if ((size_t)(p - h) == n && memcmp(h, w, n) == 0)
            return true;
    }
    c->ok = false;
    return false;
}

sv_err sv_auth_client_credentials(sv_db *db, const sv_auth_config *cfg_in, const char *client_id,
                                  const char *secret, const char *requested,
                                  char ret_token[SV_AUTH_SECRET_LEN],
                                  char ret_scopes[SV_AUTH_SCOPES_MAX], sv_buf *reterr)
{
    sv__auth_init();
    sv_auth_config cfg = *cfg_in;
    sv_auth_config_defaults(&cfg);
    token_row t;
    sv_err e = token_get(db, secret, &t, NULL);
    if (e == SV_ERR_UNAUTHORIZED ||
        (!e && (!t.secret || !client_id || !sv_auth_secret_equal(t.client, client_id))))
        return sv__auth_fail(reterr, SV_ERR_UNAUTHORIZED, "invalid client credentials");
    if (e)
        return e;
    const char *granted = t.scopes;
    if (requested && *requested) {
        narrow_ctx c = {.held = t.scopes, .ok = true};
        if (!sv_auth_scopes_valid(requested) || !sv__auth_each_word(requested, word_held, &c) ||
            !c.ok)
            return sv__auth_fail(reterr, SV_ERR_FORBIDDEN,
                                 "a requested scope is not granted to the client");
        granted = requested;
    }
    char token[SV_AUTH_SECRET_LEN];
    sv__auth_new_secret(token);
    e = insert_token(db, token, t.cid, granted, false, sv_clock_now_ms() + cfg.access_token_ms,
                     reterr);
    if (!e) {
        memcpy(ret_token, token, SV_AUTH_SECRET_LEN);
        snprintf(ret_scopes, SV_AUTH_SCOPES_MAX, "%s", granted);
    }
    sodium_memzero(token, sizeof(token));
    return e;
}
