/*
 * internal.h - shared between the files of auth/ only (identity.c holds what is
 * defined here unless a line says otherwise).  Depends on db/ and base/.
 */
#ifndef SV_AUTH_INTERNAL_H
#define SV_AUTH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/identity.h"

#define SV__AUTH_MINUTE_MS (60 * 1000LL)
#define SV__AUTH_PASSWORD_MAX 4096

/* The user row by username (users.c): uid, kind, password_hash, practitioner_role,
 * patient, disabled, related_person. */
extern const char sv__auth_sql_user_by_name[];

/* Initialises libsodium and the dummy hash once per process. */
void sv__auth_init(void);
/* An argon2id hash of a random password at our cost, verified for an unknown user so
 * that an unknown name costs what a wrong password costs; NULL when libsodium failed. */
const char *sv__auth_dummy_hash(void);
/* Whether password matches argon2id string hash: one verification, counted, unless the
 * password is longer than SV__AUTH_PASSWORD_MAX (then false at once). */
bool sv__auth_password_verify(const char *hash, const char *password);
/* Verifications sv__auth_password_verify has run in this process: what a login costs
 * is one of them, whichever way it fails (tests/unit/auth). */
uint64_t sv__auth_verifications(void);

/* A fresh 256-bit secret as base64url text. */
void sv__auth_new_secret(char out[SV_AUTH_SECRET_LEN]);
/* The stored form of a secret: hex BLAKE2b-256 of its text under a domain label. */
void sv__auth_secret_hash(const char *label, const char *secret, char out[65]);
/* The CSRF token of a session, derived from its id. */
void sv__auth_session_csrf(const char *session, char out[SV_AUTH_SECRET_LEN]);
/* Whether s has the length of a secret (a cheap refusal before any hashing). */
bool sv__auth_secret_shape_ok(const char *s);

/* Column col of st into out (cap bytes, NUL-terminated; "" when NULL or too long). */
void sv__auth_copy_col(sv_stmt *st, int col, char *out, size_t cap);
/* 1..127 of [A-Za-z0-9._@-]: usernames and client names. */
bool sv__auth_name_ok(const char *name);
/* Appends msg to reterr (may be NULL) and returns e. */
sv_err sv__auth_fail(sv_buf *reterr, sv_err e, const char *msg);
/* Runs sql with one text (key) or one integer (t) parameter. */
sv_err sv__auth_run_key(sv_db *db, const char *sql, const char *key, sv_buf *reterr);
sv_err sv__auth_run_time(sv_db *db, const char *sql, int64_t t, sv_buf *reterr);

/* Calls fn for each space-separated word of list; stops and returns false when fn does
 * (scopes.c). */
bool sv__auth_each_word(const char *list, bool (*fn)(void *ctx, const char *w, size_t n),
                        void *ctx);

#endif
