/*
 * users.c - users: add, disable, list, and the PractitionerRoles they may act in.
 * See identity.h.
 */
#include <sodium.h>
#include <string.h>

#include "auth/internal.h"
#include "base/datetime.h"

static const char SQL_USER_INSERT[] =
    "INSERT INTO auth_user (username, kind, password_hash, practitioner_role, patient, created,"
    " related_person) VALUES (?, ?, ?, ?, ?, ?, ?)";
const char sv__auth_sql_user_by_name[] =
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
    if (!sv__auth_name_ok(user->username))
        return sv__auth_fail(reterr, SV_ERR_INVALID,
                             "a username is 1 to 127 characters of letters, digits and . _ @ -");
    if (user->kind == SV_PRINCIPAL_NONE || user->kind == SV_PRINCIPAL_SYSTEM)
        return sv__auth_fail(reterr, SV_ERR_INVALID,
                             "a user is a practitioner, citizen, relative or admin");
    if (!password || !*password)
        return sv__auth_fail(reterr, SV_ERR_INVALID, "the password is empty");
    char roles[SV_AUTH_ROLES][65];
    size_t nroles = 0;
    if (!split_roles(user->practitioner_role, roles, &nroles))
        return sv__auth_fail(
            reterr, SV_ERR_INVALID,
            "practitioner roles are up to 16 distinct PractitionerRole ids, separated by"
            " commas");
    char hash[crypto_pwhash_STRBYTES];
    sv_err e = sv_auth_password_hash(password, hash);
    if (e)
        return sv__auth_fail(reterr, e, "the password cannot be hashed");
    e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (e) {
        sodium_memzero(hash, sizeof(hash));
        return e;
    }
    sv_stmt *st = NULL;
    e = sv_db_stmt(db, sv__auth_sql_user_by_name, &st, reterr);
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
        e = sv_db_stmt(db, sv__auth_sql_user_by_name, &st, reterr);
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
        sv__auth_copy_col(st, 0, id, sizeof(id));
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
        sv__auth_copy_col(st, 0, name, sizeof(name));
        sv__auth_copy_col(st, 1, kind, sizeof(kind));
        sv__auth_copy_col(st, 2, roles, sizeof(roles));
        sv__auth_copy_col(st, 3, patient, sizeof(patient));
        sv__auth_copy_col(st, 5, related, sizeof(related));
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
