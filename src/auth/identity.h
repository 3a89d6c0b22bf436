/*
 * identity.h - who is making a request: users with argon2id password hashes,
 * login sessions with idle and absolute expiry, bearer tokens for API clients
 * (OAuth2 client credentials, SMART-style scopes), and the failed-login lockout.
 *
 * Secrets (session ids, tokens) are 256-bit random values handed out once and
 * stored only as BLAKE2b hashes; passwords only as argon2id strings.  Time comes
 * from base/datetime.h (sv_clock_now_ms), so tests pin it instead of sleeping.
 * Whether a principal may see a resource is not decided here (that is the
 * access policy); here only "who", and what a client's scopes allow.
 *
 * Depends on db/ and base/ (and libsodium); knows nothing of HTTP or FHIR
 * semantics beyond resource type names in scopes.
 */
#ifndef SV_AUTH_IDENTITY_H
#define SV_AUTH_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "db/db.h"

/* argon2id cost: one hash takes about 55 ms on the reference machine
 * (2 cores, gcc 12, libsodium 1.0.18); docs/identity.md. */
#define SV_AUTH_PWHASH_OPSLIMIT 4
#define SV_AUTH_PWHASH_MEMLIMIT (32u * 1024 * 1024)

/* A secret as text: 43 base64url characters (256 bits) + NUL. */
#define SV_AUTH_SECRET_LEN 44
#define SV_AUTH_NAME_MAX 128
#define SV_AUTH_SCOPES_MAX 1024
/* A user's PractitionerRoles, comma-separated: at most SV_AUTH_ROLES of up to 64 characters. */
#define SV_AUTH_ROLES 16
#define SV_AUTH_ROLES_MAX (SV_AUTH_ROLES * 65)

typedef enum sv_principal_kind {
    SV_PRINCIPAL_NONE = 0, /* anonymous */
    SV_PRINCIPAL_PRACTITIONER,
    SV_PRINCIPAL_CITIZEN,
    SV_PRINCIPAL_RELATIVE,
    SV_PRINCIPAL_ADMIN,
    SV_PRINCIPAL_SYSTEM, /* an API client with a bearer token */
} sv_principal_kind;

/* "practitioner", "citizen", ...; "anonymous" for NONE. */
const char *sv_principal_kind_name(sv_principal_kind kind);
/* Parses a user kind (practitioner, citizen, relative, admin); false otherwise. */
bool sv_principal_kind_parse(const char *name, sv_principal_kind *ret_kind);

typedef enum sv_auth_method {
    SV_AUTH_NONE = 0,
    SV_AUTH_SESSION, /* cookie: writes need the CSRF token */
    SV_AUTH_BEARER,
} sv_auth_method;

/* The authenticated caller of one request.  Plain values, no ownership. */
typedef struct sv_principal {
    sv_principal_kind kind;
    sv_auth_method method;
    char name[SV_AUTH_NAME_MAX];              /* username, or client name for SYSTEM */
    char practitioner_role[SV_AUTH_NAME_MAX]; /* the PractitionerRole acted in, "" when none */
    char roles[SV_AUTH_ROLES_MAX];  /* every role the user may act in, comma-separated; filled by
                                       login and sv_auth_user_roles, not by session checks */
    char patient[SV_AUTH_NAME_MAX]; /* Patient id, "" when none */
    char related_person[SV_AUTH_NAME_MAX]; /* relative: RelatedPerson id, "" when none */
    char scopes[SV_AUTH_SCOPES_MAX];       /* SYSTEM: space-separated SMART scopes */
    char csrf[SV_AUTH_SECRET_LEN];         /* SESSION: the double-submit token */
} sv_principal;

typedef struct sv_auth_config {
    int64_t session_idle_ms;     /* default 30 min */
    int64_t session_absolute_ms; /* default 12 h */
    int64_t access_token_ms;     /* client-credentials access tokens; default 15 min */
    int max_failures_user;       /* default 5 */
    int max_failures_address;    /* default 20: many people may share one address */
    int64_t failure_window_ms;   /* default 15 min */
    int64_t lockout_ms;          /* default 15 min */
} sv_auth_config;

/* Fills every zero field of cfg with its default. */
void sv_auth_config_defaults(sv_auth_config *cfg);

/* ---- passwords ---- */

/* argon2id string of password into out (crypto_pwhash_STRBYTES = 128 bytes). */
sv_err sv_auth_password_hash(const char *password, char out[128]);
/* A fresh random password (24 base64url characters) into out. */
void sv_auth_password_generate(char out[25]);

/* ---- users ---- */

typedef struct sv_auth_user {
    const char *username;   /* 1..127 of [A-Za-z0-9._@-] */
    sv_principal_kind kind; /* not NONE or SYSTEM */
    /* PractitionerRole ids, comma-separated ("a,b"): the roles a practitioner may act
     * in, the first one the default of every new session.  May be NULL. */
    const char *practitioner_role;
    const char *patient;        /* may be NULL */
    const char *related_person; /* relatives; may be NULL */
} sv_auth_user;

/* Adds a user; SV_ERR_CONFLICT when the name is taken, SV_ERR_INVALID on a bad name. */
sv_err sv_auth_user_add(sv_db *db, const sv_auth_user *user, const char *password, sv_buf *reterr);
/* Disables a user and revokes their sessions; SV_ERR_NOT_FOUND when unknown. */
sv_err sv_auth_user_disable(sv_db *db, const char *username, sv_buf *reterr);
/* Calls fn once per user in name order (strings borrowed for the call). */
typedef void (*sv_auth_user_fn)(void *ctx, const sv_auth_user *user, bool disabled);
sv_err sv_auth_user_list(sv_db *db, sv_auth_user_fn fn, void *ctx, sv_buf *reterr);

/* The PractitionerRoles username may act in, comma-separated in their order, into
 * ret_roles ("" when none or unknown). */
sv_err sv_auth_user_roles(sv_db *db, const char *username, char ret_roles[SV_AUTH_ROLES_MAX],
                          sv_buf *reterr);

/* ---- login and sessions ---- */

/*
 * Checks username and password; on success creates a session and writes its id
 * (give it to the user once, as the cookie) and the principal.  address (may be
 * NULL) is the client's address for the per-address lockout.  Every failure —
 * unknown user, wrong password, disabled user, locked out — is SV_ERR_UNAUTHORIZED
 * with the same message and costs one argon2id verification.
 */
sv_err sv_auth_login(sv_db *db, const sv_auth_config *cfg, const char *username,
                     const char *password, const char *address,
                     char ret_session[SV_AUTH_SECRET_LEN], sv_principal *ret_principal,
                     sv_buf *reterr);
/* The principal of a live session (touching its idle timer); SV_ERR_UNAUTHORIZED
 * when unknown, revoked, idle or past its absolute lifetime, or its user disabled. */
sv_err sv_auth_session_check(sv_db *db, const sv_auth_config *cfg, const char *session,
                             sv_principal *ret_principal, sv_buf *reterr);
/*
 * A memo of session checks for one connection: a session found valid is kept in
 * memory (by its id hash, never the id) while nothing has been committed to the
 * database since (sv_db_data_version), so that a request that changes nothing
 * costs no statement for it; idle and absolute lifetimes are checked each time,
 * and any logout, revocation, role switch or disabled user is a commit.  Used by
 * one thread at a time; caller frees.
 */
typedef struct sv_auth_memo sv_auth_memo;
sv_auth_memo *sv_auth_memo_new(void);
void sv_auth_memo_free(sv_auth_memo *m); /* accepts NULL */
/* sv_auth_session_check through memo m (NULL: none) of db's connection. */
sv_err sv_auth_session_check_memo(sv_db *db, sv_auth_memo *m, const sv_auth_config *cfg,
                                  const char *session, sv_principal *ret_principal, sv_buf *reterr);
/* Sets the PractitionerRole the session acts in from now on; SV_ERR_FORBIDDEN when
 * it is not one of the user's roles, SV_ERR_UNAUTHORIZED when the session is not
 * valid. */
sv_err sv_auth_session_set_role(sv_db *db, const sv_auth_config *cfg, const char *session,
                                const char *practitioner_role, sv_buf *reterr);
/* Revokes a session; unknown ones are fine (logout is idempotent). */
sv_err sv_auth_session_revoke(sv_db *db, const char *session, sv_buf *reterr);

/* ---- bearer tokens ---- */

/* True when scopes is a non-empty space-separated list of valid SMART scopes. */
bool sv_auth_scopes_valid(const char *scopes);
/* Creates (or re-scopes) client `client` and a long-lived token for it, which
 * is also the client's secret for the client-credentials grant.  Printed once. */
sv_err sv_auth_token_create(sv_db *db, const char *client, const char *scopes,
                            char ret_token[SV_AUTH_SECRET_LEN], sv_buf *reterr);
/* The principal of a bearer token; SV_ERR_UNAUTHORIZED when unknown or expired. */
sv_err sv_auth_token_check(sv_db *db, const char *token, sv_principal *ret_principal,
                           sv_buf *reterr);
/*
 * OAuth2 client credentials: with a valid client_id and secret, issues an access
 * token that expires after cfg->access_token_ms.  requested (may be NULL or "")
 * narrows the scopes: each requested scope must be one the client holds.
 * ret_scopes gets the granted scopes.  Failures are SV_ERR_UNAUTHORIZED
 * (SV_ERR_FORBIDDEN for a scope the client does not hold).
 */
sv_err sv_auth_client_credentials(sv_db *db, const sv_auth_config *cfg, const char *client_id,
                                  const char *secret, const char *requested,
                                  char ret_token[SV_AUTH_SECRET_LEN],
                                  char ret_scopes[SV_AUTH_SCOPES_MAX], sv_buf *reterr);

/* ---- scopes ---- */

typedef enum sv_auth_interaction {
    SV_AUTH_READ,   /* read, vread, history */
    SV_AUTH_SEARCH, /* search, compartment search, $everything */
    SV_AUTH_CREATE,
    SV_AUTH_UPDATE, /* update, patch */
    SV_AUTH_DELETE,
} sv_auth_interaction;

/*
 * Whether p's scopes allow interaction on resources of type (NULL: the system
 * level, e.g. a transaction, which needs a wildcard type).  SMART v1
 * (`system/Task.read`, `.write`, `.*`) and v2 (`system/Task.rs`, letters of
 * "cruds") forms; context system/, user/ or patient/; `*` as the type.
 * Users (sessions) carry no scopes: the access policy decides for them, so this
 * answers true.  Anonymous principals: false.
 */
bool sv_auth_scope_allows(const sv_principal *p, const char *type, sv_auth_interaction interaction);

/* Constant-time equality of two NUL-terminated secrets. */
bool sv_auth_secret_equal(const char *a, const char *b);

#endif
