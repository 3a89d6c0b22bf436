/*
 * identity.c - what the files of auth/ share: the configuration's defaults, principal
 * kinds, secrets (random values, their stored hashes, CSRF tokens, argon2id hashes and
 * their verification) and the statement helpers of internal.h.  The rest of identity.h
 * is in users.c, login.c, session.c, scopes.c and tokens.c.  Tables from migration 4
 * (store/schema.c).
 */
#include <pthread.h>
#include <sodium.h>
#include <string.h>

#include "auth/internal.h"

void sv_auth_config_defaults(sv_auth_config *cfg)
{
    if (!cfg->session_idle_ms)
        cfg->session_idle_ms = 30 * SV__AUTH_MINUTE_MS;
    if (!cfg->session_absolute_ms)
        cfg->session_absolute_ms = 12 * 60 * SV__AUTH_MINUTE_MS;
    if (!cfg->access_token_ms)
        cfg->access_token_ms = 15 * SV__AUTH_MINUTE_MS;
    if (!cfg->max_failures_user)
        cfg->max_failures_user = 5;
    if (!cfg->max_failures_address)
        cfg->max_failures_address = 20;
    if (!cfg->failure_window_ms)
        cfg->failure_window_ms = 15 * SV__AUTH_MINUTE_MS;
    if (!cfg->lockout_ms)
        cfg->lockout_ms = 15 * SV__AUTH_MINUTE_MS;
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

void sv__auth_init(void)
{
    pthread_once(&init_once, init_secrets);
}

const char *sv__auth_dummy_hash(void)
{
    sv__auth_init();
    return dummy_ok ? dummy_hash : NULL;
}

static void random_text(char *out, size_t nbytes, size_t cap)
{
    unsigned char raw[32];
    randombytes_buf(raw, nbytes);
    sodium_bin2base64(out, cap, raw, nbytes, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof(raw));
}

void sv__auth_new_secret(char out[SV_AUTH_SECRET_LEN])
{
    random_text(out, 32, SV_AUTH_SECRET_LEN);
}

void sv_auth_password_generate(char out[25])
{
    random_text(out, 18, 25);
}

/* The stored form of a secret: hex BLAKE2b-256 of its text under a domain label. */
void sv__auth_secret_hash(const char *label, const char *secret, char out[65])
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
void sv__auth_session_csrf(const char *session, char out[SV_AUTH_SECRET_LEN])
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
    sv__auth_init();
    if (!password || strlen(password) > SV__AUTH_PASSWORD_MAX)
        return SV_ERR_INVALID;
    if (crypto_pwhash_str_alg(out, password, strlen(password), SV_AUTH_PWHASH_OPSLIMIT,
                              SV_AUTH_PWHASH_MEMLIMIT, crypto_pwhash_ALG_ARGON2ID13) != 0)
        return SV_ERR_NOMEM;
    return SV_OK;
}

static uint64_t verifications; /* atomic */

bool sv__auth_password_verify(const char *hash, const char *password)
{
    size_t len = strlen(password);
    if (len > SV__AUTH_PASSWORD_MAX)
        return false;
    __atomic_add_fetch(&verifications, 1, __ATOMIC_RELAXED);
    return crypto_pwhash_str_verify(hash, password, len) == 0;
}

uint64_t sv__auth_verifications(void)
{
    return __atomic_load_n(&verifications, __ATOMIC_RELAXED);
}

/* ---- statement helpers ---- */

void sv__auth_copy_col(sv_stmt *st, int col, char *out, size_t cap)
{
    size_t len = 0;
    const char *s = sv_stmt_column_is_null(st, col) ? NULL : sv_stmt_column_text(st, col, &len);
    if (!s || len >= cap)
        len = 0;
    if (s)
        memcpy(out, s, len);
    out[len] = '\0';
}

bool sv__auth_name_ok(const char *name)
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

sv_err sv__auth_fail(sv_buf *reterr, sv_err e, const char *msg)
{
    if (reterr)
        sv_buf_adds(reterr, msg);
    return e;
}

sv_err sv__auth_run_key(sv_db *db, const char *sql, const char *key, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (!e)
        e = sv_stmt_bind_text(st, 1, key);
    if (!e)
        e = sv_stmt_run(st, reterr);
    return e;
}

sv_err sv__auth_run_time(sv_db *db, const char *sql, int64_t t, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, sql, &st, reterr);
    if (!e)
        e = sv_stmt_bind_int64(st, 1, t);
    if (!e)
        e = sv_stmt_run(st, reterr);
    return e;
}

bool sv__auth_secret_shape_ok(const char *s)
{
    return s && strlen(s) == SV_AUTH_SECRET_LEN - 1;
}
