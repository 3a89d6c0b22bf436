/* identity.c - see identity.h.  Tables from migration 4 (store/schema.c). */
#include "auth/identity.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"

#define MINUTE_MS (60 * 1000LL)
#define PASSWORD_MAX 4096
/* Sessions are touched at most once a minute, so that reads do not all write. */
#define TOUCH_MS MINUTE_MS
#define FAILURE_MESSAGE "invalid username or password"

static const char SQL_USER_INSERT[] =
    "INSERT INTO auth_user (username, kind, password_hash, practitioner_role, patient, created,"
    " related_person) VALUES (?, ?, ?, ?, ?, ?, ?)";
static const char SQL_USER_BY_NAME[] =
    "SELECT uid, kind, password_hash, practitioner_role, patient, disabled, related_person"
    " FROM auth_user WHERE username = ?";
static const char SQL_USER_DISABLE[] = "UPDATE auth_user SET disabled = 1 WHERE username = ?";
static const char SQL_USER_REVOKE_SESSIONS[] =
    "UPDATE auth_session SET revoked = 1"
    " WHERE uid = (SELECT uid FROM auth_user WHERE username = ?)";
static const char SQL_USER_LIST[] =
    "SELECT u.username, u.kind, (SELECT group_concat(practitioner_role, ',') FROM (SELECT"
    " r.practitioner_role FROM auth_user_role r WHERE r.uid = u.uid ORDER BY r.position)),"
    " u.patient, u.disabled, u.related_person FROM auth_user u ORDER BY u.username";
static const char PG_USER_LIST[] =
    "SELECT u.username, u.kind, (SELECT string_agg(r.practitioner_role, ',' ORDER BY r.position)"
    " FROM auth_user_role r WHERE r.uid = u.uid), u.patient, u.disabled, u.related_person"
    " FROM auth_user u ORDER BY u.username";
static const char SQL_USER_ROLE_INSERT[] =
    "INSERT INTO auth_user_role (uid, practitioner_role, position) VALUES (?, ?, ?)";
static const char SQL_USER_ROLES[] =
    "SELECT r.practitioner_role FROM auth_user_role r JOIN auth_user u ON u.uid = r.uid"
    " WHERE u.username = ? ORDER BY r.position";
static const char SQL_SESSION_HAS_ROLE[] =
    "SELECT 1 FROM auth_session s JOIN auth_user_role r ON r.uid = s.uid"
    " WHERE s.id_hash = ? AND r.practitioner_role = ?";
static const char SQL_SESSION_SET_ROLE[] =
    "UPDATE auth_session SET acting_role = ? WHERE id_hash = ?";
static const char SQL_SESSION_INSERT[] =
    "INSERT INTO auth_session (id_hash, uid, created, last_seen) VALUES (?, ?, ?, ?)";
static const char SQL_SESSION_GET[] =
    "SELECT s.created, s.last_seen, s.revoked, u.disabled, u.username, u.kind,"
    " COALESCE(s.acting_role, u.practitioner_role), u.patient, u.related_person"
    " FROM auth_session s JOIN auth_user u ON u.uid = s.uid WHERE s.id_hash = ?";
static const char SQL_SESSION_TOUCH[] = "UPDATE auth_session SET last_seen = ? WHERE id_hash = ?";
static const char SQL_SESSION_REVOKE[] = "UPDATE auth_session SET revoked = 1 WHERE id_hash = ?";
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

void sv_auth_config_defaults(sv_auth_config *cfg)
{
    if (!cfg->session_idle_ms)
        cfg->session_idle_ms = 30 * MINUTE_MS;
    if (!cfg->session_absolute_ms)
        cfg->session_absolute_ms = 12 * 60 * MINUTE_MS;
    if (!cfg->access_token_ms)
        cfg->access_token_ms = 15 * MINUTE_MS;
    if (!cfg->max_failures_user)
        cfg->max_failures_user = 5;
    if (!cfg->max_failures_address)
        cfg->max_failures_address = 20;
    if (!cfg->failure_window_ms)
        cfg->failure_window_ms = 15 * MINUTE_MS;
    if (!cfg->lockout_ms)
        cfg->lockout_ms = 15 * MINUTE_MS;
}

static const char *const kind_names[] = {"anonymous", "practitioner", "citizen",
                                         "relative",  "admin",        "system"};

const char *sv_principal_kind_name(sv_principal_kind kind)
{
    if ((size_t)kind >= sizeof(kind_names) / sizeof(kind_names[0]))
        return "anonymous";
    return kind_names[kind];
}

bool sv_principal_kind_parse(const char *name, sv_principal_kind *ret_kind)
{
    for (int k = SV_PRINCIPAL_PRACTITIONER; k <= SV_PRINCIPAL_ADMIN; k++)
        if (name && strcmp(name, kind_names[k]) == 0) {
            *ret_kind = (sv_principal_kind)k;
            return true;
        }
    return false;
}

/* ---- secrets ---- */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];
static bool dummy_ok;

/* A hash of a random password with our cost: verified when the user is unknown,
 * so that an unknown name costs what a wrong password costs. */
static void init_secrets(void)
{
    if (sodium_init() < 0)
        return;
    char pw[25];
    sv_auth_password_generate(pw);
    dummy_ok = crypto_pwhash_str_alg(dummy_hash, pw, strlen(pw), SV_AUTH_PWHASH_OPSLIMIT,
                                     SV_AUTH_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) == 0;
}

static void random_text(char *out, size_t nbytes, size_t cap)
{
    unsigned char raw[32];
    randombytes_buf(raw, nbytes);
    sodium_bin2base64(out, cap, raw, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

static void new_secret(char out[SV_AUTH_SECRET_LEN])
{
    random_text(out, 32, SV_AUTH_SECRET_LEN);
}

void sv_auth_password_generate(char out[25])
{
    random_text(out, 18, 25);
}

/* The stored form of a secret: hex BLAKE2b-256 of its text under a domain label. */
static void secret_hash(const char *label, const char *secret, char out[65])
{
    unsigned char h[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)label, strlen(label));
    crypto_generichash_update(&st, (const unsigned char *)secret, strlen(secret));
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2hex(out, 65, h, sizeof(h));
}

/* The CSRF token of a session: derived from its id, so nothing more is stored and
 * only the holder of the cookie can know it. */
static void session_csrf(const char *session, char out[SV_AUTH_SECRET_LEN])
{
    unsigned char h[32];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof(h));
    crypto_generichash_update(&st, (const unsigned char *)"samverka-csrf:", 14);
    crypto_generichash_update(&st, (const unsigned char *)session, strlen(session));
    crypto_generichash_final(&st, h, sizeof(h));
    sodium_bin2base64(out, SV_AUTH_SECRET_LEN, h, sizeof(h),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool sv_auth_secret_equal(const char *a, const char *b)
{
    if (!a || !b)
        return false;
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb || la == 0)
        return false;
    return sodium_memcmp(a, b, la) == 0;
}

sv_err sv_auth_password_hash(const char *password, char out[128])
{
    pthread_once(&init_once, init_secrets);
    if (!password || strlen(password) > PASSWORD_MAX)
        return SV_ERR_INVALID;
    if (crypto_pwhash_str_alg(out, password, strlen(password), SV_AUTH_PWHASH_OPSLIMIT,
                              SV_AUTH_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return SV_ERR_NOMEM;
    return SV_OK;
}

/* ---- helpers ---- */

static void copy_col(sv_stmt *st, int col, char *out, size_t cap)
{
    size_t len = 0;
    const char *s = sv_stmt_column_is_null(st, col) ? NULL : sv_stmt_column_text(st, col, &len);
    if (!s || len >= cap)
        len = 0;
    if (s)
        memcpy(out, s, len);
    out[len] = '\0';
}

static bool name_ok(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n >= SV_AUTH_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '@' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static sv_err fail(sv_buf *reterr, sv_err e, const char *msg)
{
    if (reterr)
        sv_buf_adds(reterr, msg);
    return e;
}

/* ---- users ---- */

/* Splits a comma-separated list of PractitionerRole ids (FHIR ids) into ids[];
 * false when one is not an id, one repeats or there are too many. */
static bool split_roles(const char *list, char ids[SV_AUTH_ROLES][65], size_t *ret_n)
{
    *ret_n = 0;
    if (!list || !*list)
        return true;
    const char *p = list;
    for (;;) {
        size_t len = strcspn(p, ",");
        if (len == 0 || len > 64 || *ret_n == SV_AUTH_ROLES)
            return false;
        for (size_t i = 0; i < len; i++) {
            char c = p[i];
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '-' || c == '.'))
                return false;
        }
        memcpy(ids[*ret_n], p, len);
        ids[*ret_n][len] = '\0';
        for (size_t k = 0; k < *ret_n; k++)
            if (strcmp(ids[k], ids[*ret_n]) == 0)
                return false;
        (*ret_n)++;
        if (!p[len])
            return true;
        p += len + 1;
    }
}

sv_err sv_auth_user_add(sv_db *db, const sv_auth_user *user, const char *password, sv_buf *reterr)
{
    if (!name_ok(user->username))
        return fail(reterr, SV_ERR_INVALID,
                    "a username is 1 to 127 characters of letters, digits and . _ @ -");
    if (user->kind == SV_PRINCIPAL_NONE || user->kind == SV_PRINCIPAL_SYSTEM)
        return fail(reterr, SV_ERR_INVALID, "a user is a practitioner, citizen, relative or admin");
    if (!password || !*password)
        return fail(reterr, SV_ERR_INVALID, "the password is empty");
    char roles[SV_AUTH_ROLES][65];
    size_t nroles = 0;
    if (!split_roles(user->practitioner_role, roles, &nroles))
        return fail(reterr, SV_ERR_INVALID,
                    "practitioner roles are up to 16 distinct PractitionerRole ids, separated by"
                    " commas");
    char hash[crypto_pwhash_STRBYTES];
    sv_err e = sv_auth_password_hash(password, hash);
    if (e)
        return fail(reterr, e, "the password cannot be hashed");
    e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (e) {
        sodium_memzero(hash, sizeof(hash));
        return e;
    }
    sv_stmt *st = NULL;
    e = sv_db_stmt(db, SQL_USER_BY_NAME, &st, reterr);
    bool row = false;
    if (!e)
        e = sv_stmt_bind_text(st, 1, user->username);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    if (st)
        sv_stmt_reset(st);
    if (!e && row) {
        if (reterr)
            sv_buf_addf(reterr, "user '%s' exists", user->username);
        e = SV_ERR_CONFLICT;
    }
    if (!e)
        e = sv_db_stmt(db, SQL_USER_INSERT, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, user->username);
    if (!e)
        e = sv_stmt_bind_text(st, 2, sv_principal_kind_name(user->kind));
    if (!e)
        e = sv_stmt_bind_text(st, 3, hash);
    if (!e)
        e = sv_stmt_bind_text(st, 4, nroles ? roles[0] : NULL);
    if (!e)
        e = sv_stmt_bind_text(st, 5, user->patient);
    if (!e)
        e = sv_stmt_bind_int64(st, 6, sv_clock_now_ms());
    if (!e)
        e = sv_stmt_bind_text(st, 7, user->related_person);
    if (!e)
        e = sv_stmt_run(st, reterr);
    sodium_memzero(hash, sizeof(hash));
    int64_t uid = 0;
    if (!e && nroles) {
        e = sv_db_stmt(db, SQL_USER_BY_NAME, &st, reterr);
        if (!e)
            e = sv_stmt_bind_text(st, 1, user->username);
        if (!e)
            e = sv_stmt_step(st, &row, reterr);
        if (!e)
            uid = sv_stmt_column_int64(st, 0);
        if (st)
            sv_stmt_reset(st);
    }
    for (size_t i = 0; !e && i < nroles; i++) {
        e = sv_db_stmt(db, SQL_USER_ROLE_INSERT, &st, reterr);
        if (!e)
            e = sv_stmt_bind_int64(st, 1, uid);
        if (!e)
            e = sv_stmt_bind_text(st, 2, roles[i]);
        if (!e)
            e = sv_stmt_bind_int64(st, 3, (int64_t)i);
        if (!e)
            e = sv_stmt_run(st, reterr);
    }
    if (e) {
        sv_db_rollback(db);
        return e;
    }
    return sv_db_commit(db, reterr);
}

sv_err sv_auth_user_roles(sv_db *db, const char *username, char ret_roles[SV_AUTH_ROLES_MAX],
                          sv_buf *reterr)
{
    ret_roles[0] = '\0';
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_USER_ROLES, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, username);
    size_t used = 0;
    while (!e) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        char id[65];
        copy_col(st, 0, id, sizeof(id));
        size_t n = strlen(id);
        if (!n || used + n + 2 > SV_AUTH_ROLES_MAX)
            continue;
        if (used)
            ret_roles[used++] = ',';
        memcpy(ret_roles + used, id, n + 1);
        used += n;
    }
    if (st)
        sv_stmt_reset(st);
    return e;
}

sv_err sv_auth_user_disable(sv_db *db, const char *username, sv_buf *reterr)
{
    sv_err e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (e)
        return e;
    sv_stmt *st = NULL;
    e = sv_db_stmt(db, SQL_USER_DISABLE, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, username);
    if (!e)
        e = sv_stmt_run(st, reterr);
    if (!e && sv_db_changes(db) == 0) {
        if (reterr)
            sv_buf_addf(reterr, "no user '%s'", username);
        e = SV_ERR_NOT_FOUND;
    }
    if (!e)
        e = sv_db_stmt(db, SQL_USER_REVOKE_SESSIONS, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, username);
    if (!e)
        e = sv_stmt_run(st, reterr);
    if (e) {
        sv_db_rollback(db);
        return e;
    }
    return sv_db_commit(db, reterr);
}

sv_err sv_auth_user_list(sv_db *db, sv_auth_user_fn fn, void *ctx, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e =
        sv_db_stmt(db, sv_db_dialect_of(db) == SV_DIALECT_POSTGRES ? PG_USER_LIST : SQL_USER_LIST,
                   &st, reterr);
    if (e)
        return e;
    for (;;) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        char name[SV_AUTH_NAME_MAX], kind[32], roles[SV_AUTH_ROLES_MAX];
        char patient[SV_AUTH_NAME_MAX], related[SV_AUTH_NAME_MAX];
        copy_col(st, 0, name, sizeof(name));
        copy_col(st, 1, kind, sizeof(kind));
        copy_col(st, 2, roles, sizeof(roles));
        copy_col(st, 3, patient, sizeof(patient));
        copy_col(st, 5, related, sizeof(related));
        sv_auth_user u = {.username = name,
                          .practitioner_role = roles[0] ? roles : NULL,
                          .patient = patient[0] ? patient : NULL,
                          .related_person = related[0] ? related : NULL};
        sv_principal_kind_parse(kind, &u.kind);
        fn(ctx, &u, sv_stmt_column_int64(st, 4) != 0);
    }
    sv_stmt_reset(st);
    return e;
}

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

static sv_err run_key(sv_db *db, const char *sql, const char *key, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, key);
    if (!e)
        e = sv_stmt_run(st, reterr);
    return e;
}

static sv_err run_time(sv_db *db, const char *sql, int64_t t, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (!e)
        e = sv_stmt_bind_int64(st, 1, t);
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
    pthread_once(&init_once, init_secrets);
    if (!dummy_ok)
        return fail(reterr, SV_ERR_INTERNAL, "libsodium failed to initialise");
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
    if (name_ok(username)) {
        sv_stmt *st = NULL;
        e = sv_db_stmt(db, SQL_USER_BY_NAME, &st, reterr);
        if (!e)
            e = sv_stmt_bind_text(st, 1, username);
        if (!e)
            e = sv_stmt_step(st, &found, reterr);
        if (!e && found) {
            uid = sv_stmt_column_int64(st, 0);
            copy_col(st, 1, kind, sizeof(kind));
            copy_col(st, 2, hash, sizeof(hash));
            copy_col(st, 3, role, sizeof(role));
            copy_col(st, 4, patient, sizeof(patient));
            disabled = sv_stmt_column_int64(st, 5) != 0;
            copy_col(st, 6, related, sizeof(related));
        }
        if (st)
            sv_stmt_reset(st);
        if (e)
            return e;
    }
    /* Always one verification, of the real hash or of the dummy one. */
    const char *check = found && hash[0] ? hash : dummy_hash;
    bool ok = strlen(password) <= PASSWORD_MAX &&
              crypto_pwhash_str_verify(check, password, strlen(password)) == 0;
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
            e = run_time(db, SQL_FAILURE_PURGE, now - cfg.failure_window_ms, reterr);
        if (!e)
            e = run_time(db, SQL_LOCK_PURGE, now, reterr);
        if (e) {
            sv_db_rollback(db);
            return e;
        }
        e = sv_db_commit(db, reterr);
        if (e)
            return e;
        return fail(reterr, SV_ERR_UNAUTHORIZED, FAILURE_MESSAGE);
    }
    char session[SV_AUTH_SECRET_LEN], session_hash[65];
    new_secret(session);
    secret_hash("session:", session, session_hash);
    e = run_key(db, SQL_FAILURE_CLEAR, user_key, reterr);
    if (!e)
        e = run_time(db, SQL_SESSION_PURGE, now - cfg.session_absolute_ms, reterr);
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
    session_csrf(session, p.csrf);
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

static bool secret_shape_ok(const char *s)
{
    return s && strlen(s) == SV_AUTH_SECRET_LEN - 1;
}

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
        return e ? e : fail(reterr, SV_ERR_UNAUTHORIZED, "no valid session");
    }
    memset(ret, 0, sizeof(*ret));
    ret->created = sv_stmt_column_int64(st, 0);
    ret->last_seen = sv_stmt_column_int64(st, 1);
    bool revoked = sv_stmt_column_int64(st, 2) != 0;
    bool disabled = sv_stmt_column_int64(st, 3) != 0;
    sv_principal *p = &ret->principal;
    char kind[32];
    copy_col(st, 4, p->name, sizeof(p->name));
    copy_col(st, 5, kind, sizeof(kind));
    copy_col(st, 6, p->practitioner_role, sizeof(p->practitioner_role));
    copy_col(st, 7, p->patient, sizeof(p->patient));
    copy_col(st, 8, p->related_person, sizeof(p->related_person));
    sv_stmt_reset(st);
    if (revoked || disabled)
        return fail(reterr, SV_ERR_UNAUTHORIZED, "no valid session");
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
    if (!secret_shape_ok(session))
        return fail(reterr, SV_ERR_UNAUTHORIZED, "no valid session");
    sv_auth_config cfg = *cfg_in;
    sv_auth_config_defaults(&cfg);
    int64_t now = sv_clock_now_ms();
    char h[65];
    secret_hash("session:", session, h);
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
        session_csrf(session, cur.principal.csrf);
    }
    if (now - cur.last_seen > cfg.session_idle_ms || now - cur.created > cfg.session_absolute_ms)
        return fail(reterr, SV_ERR_UNAUTHORIZED, "no valid session");
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
    secret_hash("session:", session, h);
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
    if (!secret_shape_ok(session))
        return SV_OK;
    char h[65];
    secret_hash("session:", session, h);
    return run_key(db, SQL_SESSION_REVOKE, h, reterr);
}

/* ---- scopes ---- */

typedef struct scope {
    char context[8]; /* system, user, patient */
    char type[64];   /* resource type or "*" */
    bool allow[5];   /* by sv_auth_interaction */
} scope;

static bool parse_scope(const char *s, size_t len, scope *ret)
{
    memset(ret, 0, sizeof(*ret));
    const char *slash = memchr(s, '/', len);
    if (!slash)
        return false;
    size_t clen = (size_t)(slash - s);
    if (!((clen == 6 && memcmp(s, "system", 6) == 0) || (clen == 4 && memcmp(s, "user", 4) == 0) ||
          (clen == 7 && memcmp(s, "patient", 7) == 0)))
        return false;
    memcpy(ret->context, s, clen);
    const char *t = slash + 1, *end = s + len;
    const char *dot = memchr(t, '.', (size_t)(end - t));
    if (!dot || dot == t || (size_t)(dot - t) >= sizeof(ret->type))
        return false;
    size_t tlen = (size_t)(dot - t);
    if (!(tlen == 1 && t[0] == '*')) {
        if (t[0] < 'A' || t[0] > 'Z')
            return false;
        for (size_t i = 0; i < tlen; i++)
            if (!((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')))
                return false;
    }
    memcpy(ret->type, t, tlen);
    const char *perm = dot + 1;
    size_t plen = (size_t)(end - perm);
    if (plen == 4 && memcmp(perm, "read", 4) == 0) {
        ret->allow[SV_AUTH_READ] = ret->allow[SV_AUTH_SEARCH] = true;
    } else if (plen == 5 && memcmp(perm, "write", 5) == 0) {
        ret->allow[SV_AUTH_CREATE] = ret->allow[SV_AUTH_UPDATE] = ret->allow[SV_AUTH_DELETE] = true;
    } else if (plen == 1 && perm[0] == '*') {
        for (int i = 0; i < 5; i++)
            ret->allow[i] = true;
    } else {
        /* SMART v2: letters of "cruds", in that order, each at most once. */
        static const char order[] = "cruds";
        static const sv_auth_interaction map[] = {SV_AUTH_CREATE, SV_AUTH_READ, SV_AUTH_UPDATE,
                                                  SV_AUTH_DELETE, SV_AUTH_SEARCH};
        size_t at = 0;
        if (plen == 0)
            return false;
        for (size_t i = 0; i < plen; i++) {
            const char *c = memchr(order + at, perm[i], 5 - at);
            if (!c)
                return false;
            at = (size_t)(c - order) + 1;
            ret->allow[map[c - order]] = true;
        }
    }
    return true;
}

/* Calls fn for each space-separated word of list; stops and returns false when fn does. */
static bool each_word(const char *list, bool (*fn)(void *ctx, const char *w, size_t n), void *ctx)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *w = p;
        while (*p && *p != ' ')
            p++;
        if (p > w && !fn(ctx, w, (size_t)(p - w)))
            return false;
    }
    return true;
}

static bool word_valid(void *ctx, const char *w, size_t n)
{
    scope sc;
    (*(int *)ctx)++;
    return parse_scope(w, n, &sc);
}

bool sv_auth_scopes_valid(const char *scopes)
{
    int count = 0;
    if (!scopes || strlen(scopes) >= SV_AUTH_SCOPES_MAX)
        return false;
    return each_word(scopes, word_valid, &count) && count > 0;
}

typedef struct allow_ctx {
    const char *type;
    sv_auth_interaction interaction;
    bool allowed;
} allow_ctx;

static bool word_allows(void *ctx, const char *w, size_t n)
{
    allow_ctx *a = ctx;
    scope sc;
    if (!parse_scope(w, n, &sc) || strcmp(sc.context, "system") != 0)
        return true;
    bool type_ok = strcmp(sc.type, "*") == 0 || (a->type && strcmp(sc.type, a->type) == 0);
    if (type_ok && sc.allow[a->interaction]) {
        a->allowed = true;
        return false;
    }
    return true;
}

bool sv_auth_scope_allows(const sv_principal *p, const char *type, sv_auth_interaction interaction)
{
    if (!p || p->kind == SV_PRINCIPAL_NONE || (unsigned)interaction > SV_AUTH_DELETE)
        return false;
    if (p->kind != SV_PRINCIPAL_SYSTEM)
        return true;
    allow_ctx a = {.type = type, .interaction = interaction};
    each_word(p->scopes, word_allows, &a);
    return a.allowed;
}

/* ---- tokens ---- */

static sv_err insert_token(sv_db *db, const char *token, int64_t cid, const char *scopes,
                           bool secret, int64_t expires, sv_buf *reterr)
{
    char h[65];
    secret_hash("token:", token, h);
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
    pthread_once(&init_once, init_secrets);
    if (!name_ok(client))
        return fail(reterr, SV_ERR_INVALID,
                    "a client name is 1 to 127 characters of letters, digits and . _ @ -");
    if (!sv_auth_scopes_valid(scopes))
        return fail(reterr, SV_ERR_INVALID,
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
    new_secret(token);
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
    if (!secret_shape_ok(token))
        return fail(reterr, SV_ERR_UNAUTHORIZED, "invalid token");
    char h[65];
    secret_hash("token:", token, h);
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
        return e ? e : fail(reterr, SV_ERR_UNAUTHORIZED, "invalid token");
    }
    ret->cid = sv_stmt_column_int64(st, 0);
    copy_col(st, 1, ret->client, sizeof(ret->client));
    copy_col(st, 2, ret->scopes, sizeof(ret->scopes));
    ret->secret = sv_stmt_column_int64(st, 3) != 0;
    int64_t expires = sv_stmt_column_int64(st, 4);
    bool revoked = sv_stmt_column_int64(st, 5) != 0;
    sv_stmt_reset(st);
    if (revoked || (expires && sv_clock_now_ms() >= expires))
        return fail(reterr, SV_ERR_UNAUTHORIZED, "invalid token");
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
    pthread_once(&init_once, init_secrets);
    sv_auth_config cfg = *cfg_in;
    sv_auth_config_defaults(&cfg);
    token_row t;
    sv_err e = token_get(db, secret, &t, NULL);
    if (e == SV_ERR_UNAUTHORIZED ||
        (!e && (!t.secret || !client_id || !sv_auth_secret_equal(t.client, client_id))))
        return fail(reterr, SV_ERR_UNAUTHORIZED, "invalid client credentials");
    if (e)
        return e;
    const char *granted = t.scopes;
    if (requested && *requested) {
        narrow_ctx c = {.held = t.scopes, .ok = true};
        if (!sv_auth_scopes_valid(requested) || !each_word(requested, word_held, &c) || !c.ok)
            return fail(reterr, SV_ERR_FORBIDDEN, "a requested scope is not granted to the client");
        granted = requested;
    }
    char token[SV_AUTH_SECRET_LEN];
    new_secret(token);
    e = insert_token(db, token, t.cid, granted, false, sv_clock_now_ms() + cfg.access_token_ms,
                     reterr);
    if (!e) {
        memcpy(ret_token, token, SV_AUTH_SECRET_LEN);
        snprintf(ret_scopes, SV_AUTH_SCOPES_MAX, "%s", granted);
    }
    sodium_memzero(token, sizeof(token));
    return e;
}
