/*
 * auth_routes.c - see auth_routes.h.  Login and logout with a session cookie,
 * whoami, the OAuth2 client-credentials token endpoint, and the check in front
 * of /fhir: credentials, CSRF for cookie-authenticated writes, client scopes.
 * The decisions live in auth/identity.c; here only HTTP.
 */
#include "api/auth_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/audit_log.h"
#include "api/internal.h"
#include "base/base64.h"
#include "base/datetime.h"
#include "base/json.h"
#include "fhir/query.h"

#define LOGIN_FAILED "invalid username or password"
#define MAX_FIELD 4096

static const sv_auth_config *auth_config(void)
{
    static const sv_auth_config cfg = {0}; /* identity.c fills in the defaults */
    return &cfg;
}

static bool https_base(sv_api *api)
{
    return strncasecmp(sv__api_fhir_base(api), "https://", 8) == 0;
}

static void no_store(sv_http_response *res)
{
    sv_http_response_header(res, "Cache-Control", "no-store");
    sv_http_response_header(res, "Pragma", "no-cache");
}

static void send_json(sv_http_response *res, int status, json_t *j)
{
    res->status = status;
    res->content_type = "application/json; charset=utf-8";
    sv_buf_reset(&res->body);
    char *text = json_dumps(j, JSON_COMPACT);
    if (text) {
        sv_buf_adds(&res->body, text);
        free(text);
    }
    json_decref(j);
    no_store(res);
}

/* The value of cookie name in the Cookie header into out; false when absent. */
static bool cookie_value(const sv_http_request *req, const char *name, char *out, size_t cap)
{
    const char *h = sv_http_header_get(req, "Cookie");
    size_t nlen = strlen(name);
    while (h && *h) {
        while (*h == ' ' || *h == ';')
            h++;
        const char *end = strchr(h, ';');
        size_t len = end ? (size_t)(end - h) : strlen(h);
        if (len > nlen && strncmp(h, name, nlen) == 0 && h[nlen] == '=') {
            size_t vlen = len - nlen - 1;
            if (vlen >= cap)
                return false;
            memcpy(out, h + nlen + 1, vlen);
            out[vlen] = '\0';
            return true;
        }
        h = end;
    }
    return false;
}

/* The token of "Authorization: Bearer X" into out; false when there is none. */
static bool bearer_token(const sv_http_request *req, char *out, size_t cap)
{
    const char *h = sv_http_header_get(req, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return false;
    h += 7;
    while (*h == ' ')
        h++;
    size_t len = strlen(h);
    while (len && h[len - 1] == ' ')
        len--;
    if (len >= cap)
        len = cap - 1; /* too long to be ours: it will not match */
    memcpy(out, h, len);
    out[len] = '\0';
    return true;
}

static void session_cookie(sv_api *api, sv_http_response *res, const char *value, bool clear)
{
    char c[256];
    snprintf(c, sizeof(c), "%s=%s; Path=/; HttpOnly; SameSite=Strict%s%s", SV_SESSION_COOKIE, value,
             https_base(api) ? "; Secure" : "", clear ? "; Max-Age=0" : "");
    sv_http_response_header(res, "Set-Cookie", c);
}

json_t *sv__api_principal_json(const sv_principal *p)
{
    json_t *j = json_object();
    json_object_set_new(j, "kind", json_string(sv_principal_kind_name(p->kind)));
    json_object_set_new(j, p->kind == SV_PRINCIPAL_SYSTEM ? "client" : "username",
                        json_string(p->name));
    if (p->practitioner_role[0])
        json_object_set_new(j, "practitioner_role", json_string(p->practitioner_role));
    if (p->roles[0]) { /* every role the user may switch to (POST /auth/role) */
        json_t *list = json_array();
        for (const char *r = p->roles; *r;) {
            size_t len = strcspn(r, ",");
            json_array_append_new(list, json_stringn(r, len));
            r += len + (r[len] == ',');
        }
        json_object_set_new(j, "practitioner_roles", list);
    }
    if (p->patient[0])
        json_object_set_new(j, "patient", json_string(p->patient));
    if (p->related_person[0])
        json_object_set_new(j, "related_person", json_string(p->related_person));
    if (p->kind == SV_PRINCIPAL_SYSTEM)
        json_object_set_new(j, "scope", json_string(p->scopes));
    if (p->method == SV_AUTH_SESSION)
        json_object_set_new(j, "csrf_token", json_string(p->csrf));
    return j;
}

/* Credentials of the request: a bearer token first, else the session cookie.
 * SV_ERR_UNAUTHORIZED when none came or they are not valid (ret_given tells). */
static sv_err identify(sv_api *api, sv_db *db, const sv_http_request *req, sv_principal *ret,
                       bool *ret_given)
{
    char secret[256];
    *ret_given = false;
    if (bearer_token(req, secret, sizeof(secret))) {
        *ret_given = true;
        return sv_auth_token_check(db, secret, ret, NULL);
    }
    if (cookie_value(req, SV_SESSION_COOKIE, secret, sizeof(secret))) {
        *ret_given = true;
        return sv_auth_session_check_memo(db, sv__api_auth_memo(api), auth_config(), secret, ret,
                                          NULL);
    }
    return SV_ERR_UNAUTHORIZED;
}

static bool is_write(const char *method)
{
    return strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0;
}

static bool csrf_ok(const sv_http_request *req, const sv_principal *p)
{
    if (p->method != SV_AUTH_SESSION || !is_write(req->method))
        return true;
    return sv_auth_secret_equal(sv_http_header_get(req, "X-CSRF-Token"), p->csrf);
}

static void unauthorized(sv_http_response *res, bool token_given)
{
    sv_http_response_header(res, "WWW-Authenticate",
                            token_given ? "Bearer realm=\"samverka\", error=\"invalid_token\""
                                        : "Bearer realm=\"samverka\"");
    sv__api_error(res, SV_ERR_UNAUTHORIZED, NULL,
                  "authentication required: log in (/auth/login) or send a bearer token");
}

static bool open_db(sv_api *api, sv_http_response *res, sv_db **ret_db)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv__api_conn(api, ret_db, &err);
    sv_buf_release(&err);
    if (e) {
        sv__api_error(res, e, NULL, "the database cannot be opened");
        return false;
    }
    return true;
}

/* ---- /fhir ---- */

/* The interaction and type a /fhir request asks for, as scopes see it.  Shapes the
 * router does not know get READ on the system level: the router answers them. */
static sv_auth_interaction interaction_of(const char *method, const char *const *segs, size_t n,
                                          const char **ret_type)
{
    bool get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
    *ret_type = n >= 2 && segs[1][0] != '_' ? segs[1] : NULL;
    if (n == 1) /* a batch or transaction: checked as a whole, needs system wildcards */
        return SV_AUTH_UPDATE;
    if (n == 2 && segs[1][0] == '$') { /* $process-message writes several types: wildcards */
        *ret_type = NULL;
        return get ? SV_AUTH_READ : SV_AUTH_UPDATE;
    }
    if (n == 2)
        return get ? SV_AUTH_SEARCH : strcmp(method, "POST") == 0 ? SV_AUTH_CREATE : SV_AUTH_UPDATE;
    if (n == 3 && strcmp(segs[2], "_search") == 0)
        return SV_AUTH_SEARCH;
    if (n == 3 && strcmp(segs[2], "_history") == 0)
        return SV_AUTH_READ;
    if (n == 3) {
        if (get)
            return SV_AUTH_READ;
        return strcmp(method, "DELETE") == 0 ? SV_AUTH_DELETE : SV_AUTH_UPDATE;
    }
    if (n == 4 && strcmp(segs[3], "$apply") == 0 && !get) {
        *ret_type = NULL; /* writes a CarePlan and Tasks: wildcards */
        return SV_AUTH_CREATE;
    }
    if (n >= 4 && strcmp(segs[1], "Patient") == 0 && strcmp(segs[3], "$everything") == 0) {
        *ret_type = NULL; /* every type of the compartment */
        return SV_AUTH_SEARCH;
    }
    if (n >= 4 && strcmp(segs[1], "Patient") == 0 && strcmp(segs[3], "_history") != 0) {
        *ret_type = segs[3]; /* compartment search */
        return SV_AUTH_SEARCH;
    }
    return SV_AUTH_READ;
}

bool sv__api_authenticate(sv_api *api, const sv_http_request *req, sv_http_response *res,
                          const char *const *segs, size_t n, sv_principal *ret_who)
{
    memset(ret_who, 0, sizeof(*ret_who));
    if (!sv__api_config(api)->auth_required)
        return true;
    if (n == 2 && strcmp(segs[1], "metadata") == 0)
        return true;
    sv_db *db = NULL;
    if (!open_db(api, res, &db))
        return false;
    bool given = false;
    sv_err e = identify(api, db, req, ret_who, &given);
    if (e == SV_ERR_UNAUTHORIZED) {
        memset(ret_who, 0, sizeof(*ret_who));
        unauthorized(res, given);
        return false;
    }
    if (e) {
        sv__api_error(res, e, NULL, "the credentials cannot be checked");
        return false;
    }
    if (!csrf_ok(req, ret_who)) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                      "a write with a session cookie needs the session's X-CSRF-Token header");
        return false;
    }
    const char *type = NULL;
    sv_auth_interaction in = interaction_of(req->method, segs, n, &type);
    bool allowed = sv_auth_scope_allows(ret_who, type, in);
    if (allowed && n == 1) /* a batch or transaction may do anything: all of it */
        for (int i = SV_AUTH_READ; i <= SV_AUTH_DELETE && allowed; i++)
            allowed = sv_auth_scope_allows(ret_who, NULL, (sv_auth_interaction)i);
    if (!allowed) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                      "the client's scopes do not allow this interaction");
        return false;
    }
    return true;
}

/* ---- /auth ---- */

/* The form or JSON fields of a POST body: copies the named ones into vals. */
static bool read_fields(const sv_http_request *req, sv_http_response *res, const char *const *names,
                        char vals[][MAX_FIELD], size_t count, bool json_ok)
{
    for (size_t i = 0; i < count; i++)
        vals[i][0] = '\0';
    const char *ct = sv_http_header_get(req, "Content-Type");
    if (ct && strncasecmp(ct, "application/x-www-form-urlencoded", 33) == 0) {
        if (req->body_len && memchr(req->body, '\0', req->body_len)) {
            sv__api_error(res, SV_ERR_INVALID, NULL, "the form body contains a nul byte");
            return false;
        }
        sv_query q;
        sv_buf err = SV_BUF_INIT;
        sv_err e = sv_query_parse(req->body_len ? req->body : "", &q, &err);
        if (e) {
            sv__api_error(res, e, NULL, "%s", err.ptr);
            sv_buf_release(&err);
            return false;
        }
        sv_buf_release(&err);
        for (size_t i = 0; i < count; i++) {
            const char *v = sv_query_get(&q, names[i]);
            if (v)
                snprintf(vals[i], MAX_FIELD, "%s", v);
        }
        sv_query_clear(&q);
        return true;
    }
    if (json_ok && ct &&
        (strncasecmp(ct, "application/json", 16) == 0 ||
         strncasecmp(ct, "application/fhir+json", 21) == 0)) {
        json_t *j = NULL;
        sv_buf err = SV_BUF_INIT;
        size_t offset = 0;
        sv_err e =
            sv_json_parse(req->body, req->body_len, 8, SV_JSON_TOP_OBJECT, &j, &err, &offset);
        if (e) {
            sv__api_error(res, e, NULL, "%s", err.len ? err.ptr : sv_strerror(e));
            sv_buf_release(&err);
            return false;
        }
        sv_buf_release(&err);
        for (size_t i = 0; i < count; i++) {
            const char *v = json_string_value(json_object_get(j, names[i]));
            if (v)
                snprintf(vals[i], MAX_FIELD, "%s", v);
        }
        json_decref(j);
        return true;
    }
    sv__api_error(res, SV_ERR_MEDIA_TYPE, NULL,
                  json_ok ? "send application/x-www-form-urlencoded or application/json"
                          : "send application/x-www-form-urlencoded");
    return false;
}

/* A login or failed login in the audit log (docs/audit.md); a failure names the
 * username tried, as given. */
static void audit_login(sv_api *api, const char *username, const sv_principal *p, int status)
{
    char tried[SV_AUTH_NAME_MAX];
    snprintf(tried, sizeof(tried), "%s", username);
    sv_audit_record rec = {.time_ms = sv_clock_now_ms(),
                           .principal_kind = p ? sv_principal_kind_name(p->kind) : "anonymous",
                           .principal_id = p ? p->name : (tried[0] ? tried : NULL),
                           .role = p && p->practitioner_role[0] ? p->practitioner_role : NULL,
                           .action = p ? "login" : "login-failed",
                           .outcome = status};
    sv_audit_log_add(sv__api_audit_log(api), &rec);
}

static void login(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    res->route = "POST /auth/login";
    static const char *const names[] = {"username", "password"};
    char(*vals)[MAX_FIELD] = calloc(2, MAX_FIELD);
    if (!vals) {
        sv__api_error(res, SV_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    sv_db *db = NULL;
    if (!read_fields(req, res, names, vals, 2, true) || !open_db(api, res, &db))
        goto out;
    char session[SV_AUTH_SECRET_LEN];
    sv_principal p;
    /* The peer's address counts failures per address too (identity.h). */
    sv_err e =
        sv_auth_login(db, auth_config(), vals[0], vals[1], req->client_address, session, &p, NULL);
    if (e == SV_ERR_UNAUTHORIZED) {
        sv__api_error(res, SV_ERR_UNAUTHORIZED, NULL, LOGIN_FAILED);
        audit_login(api, vals[0], NULL, 401);
        goto out;
    }
    if (e) {
        sv__api_error(res, e, NULL, "the login cannot be checked");
        goto out;
    }
    session_cookie(api, res, session, false);
    send_json(res, 200, sv__api_principal_json(&p));
    audit_login(api, vals[0], &p, 200);
out:
    if (vals)
        memset(vals, 0, 2 * MAX_FIELD);
    free(vals);
}

static void logout(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    res->route = "POST /auth/logout";
    sv_db *db = NULL;
    if (!open_db(api, res, &db))
        return;
    char session[256];
    if (cookie_value(req, SV_SESSION_COOKIE, session, sizeof(session))) {
        sv_principal p;
        sv_err e = sv_auth_session_check(db, auth_config(), session, &p, NULL);
        if (!e && !csrf_ok(req, &p)) {
            sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                          "logout with a session cookie needs the session's X-CSRF-Token header");
            return;
        }
        if (!e)
            e = sv_auth_session_revoke(db, session, NULL);
        if (e && e != SV_ERR_UNAUTHORIZED) {
            sv__api_error(res, e, NULL, "the session cannot be ended");
            return;
        }
    }
    session_cookie(api, res, "", true);
    res->status = 204;
    no_store(res);
}

static void whoami(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    res->route = "GET /auth/whoami";
    sv_db *db = NULL;
    if (!open_db(api, res, &db))
        return;
    sv_principal p;
    bool given = false;
    sv_err e = identify(api, db, req, &p, &given);
    if (e == SV_ERR_UNAUTHORIZED) {
        unauthorized(res, given);
        return;
    }
    if (!e && p.kind == SV_PRINCIPAL_PRACTITIONER)
        e = sv_auth_user_roles(db, p.name, p.roles, NULL);
    if (e) {
        sv__api_error(res, e, NULL, "the credentials cannot be checked");
        return;
    }
    send_json(res, 200, sv__api_principal_json(&p));
}

/* POST /auth/role {"practitioner_role": "b"}: the session acts in role b from now
 * on (one of the user's roles).  A write with the cookie: CSRF applies. */
static void switch_role(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    res->route = "POST /auth/role";
    sv_db *db = NULL;
    if (!open_db(api, res, &db))
        return;
    char session[256];
    sv_principal p;
    if (!cookie_value(req, SV_SESSION_COOKIE, session, sizeof(session)) ||
        sv_auth_session_check(db, auth_config(), session, &p, NULL) != SV_OK) {
        unauthorized(res, false);
        return;
    }
    if (!csrf_ok(req, &p)) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                      "a write with a session cookie needs the session's X-CSRF-Token header");
        return;
    }
    static const char *const names[] = {"practitioner_role"};
    char(*vals)[MAX_FIELD] = calloc(1, MAX_FIELD);
    if (!vals) {
        sv__api_error(res, SV_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    if (!read_fields(req, res, names, vals, 1, true))
        goto out;
    if (!vals[0][0]) {
        sv__api_error(res, SV_ERR_INVALID, "practitioner_role",
                      "name the PractitionerRole to act in: practitioner_role");
        goto out;
    }
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_auth_session_set_role(db, auth_config(), session, vals[0], &err);
    if (!e)
        e = sv_auth_session_check(db, auth_config(), session, &p, &err);
    if (!e)
        e = sv_auth_user_roles(db, p.name, p.roles, &err);
    if (e == SV_ERR_FORBIDDEN)
        sv__api_error(res, e, "practitioner_role", "%s", err.ptr);
    else if (e)
        sv__api_error(res, e, NULL, "the role cannot be changed");
    else
        send_json(res, 200, sv__api_principal_json(&p));
    sv_buf_release(&err);
out:
    free(vals);
}

bool sv__api_identify(sv_api *api, const sv_http_request *req, sv_http_response *res,
                      sv_principal *ret_who)
{
    sv_db *db = NULL;
    if (!open_db(api, res, &db))
        return false;
    bool given = false;
    sv_err e = identify(api, db, req, ret_who, &given);
    if (e == SV_ERR_UNAUTHORIZED) {
        unauthorized(res, given);
        return false;
    }
    if (e) {
        sv__api_error(res, e, NULL, "the credentials cannot be checked");
        return false;
    }
    if (!csrf_ok(req, ret_who)) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                      "a write with a session cookie needs the session's X-CSRF-Token header");
        return false;
    }
    return true;
}

static void oauth_error(sv_http_response *res, int status, const char *error, const char *text)
{
    if (status == 401)
        sv_http_response_header(res, "WWW-Authenticate", "Basic realm=\"samverka\"");
    send_json(res, status, json_pack("{s:s, s:s}", "error", error, "error_description", text));
}

/* client_id and client_secret from HTTP Basic (RFC 6749 2.3.1), when sent so. */
static void basic_credentials(const sv_http_request *req, char *id, char *secret)
{
    const char *h = sv_http_header_get(req, "Authorization");
    if (!h || strncasecmp(h, "Basic ", 6) != 0)
        return;
    unsigned char raw[512];
    size_t len = 0;
    if (sv_base64_decode(h + 6, raw, sizeof(raw) - 1, &len) != 0)
        return;
    raw[len] = '\0';
    char *colon = memchr(raw, ':', len);
    if (!colon || memchr(raw, '\0', len))
        return;
    *colon = '\0';
    /* RFC 6749: both parts are form-urlencoded; ours need no decoding. */
    snprintf(id, MAX_FIELD, "%s", (char *)raw);
    snprintf(secret, MAX_FIELD, "%s", colon + 1);
}

static void token(sv_api *api, const sv_http_request *req, sv_http_response *res)
{
    res->route = "POST /auth/token";
    static const char *const names[] = {"grant_type", "client_id", "client_secret", "scope"};
    char(*vals)[MAX_FIELD] = calloc(4, MAX_FIELD);
    if (!vals) {
        sv__api_error(res, SV_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    sv_db *db = NULL;
    if (!read_fields(req, res, names, vals, 4, false) || !open_db(api, res, &db))
        goto out;
    basic_credentials(req, vals[1], vals[2]);
    if (strcmp(vals[0], "client_credentials") != 0) {
        oauth_error(res, 400, "unsupported_grant_type", "only client_credentials is supported");
        goto out;
    }
    char access[SV_AUTH_SECRET_LEN], scopes[SV_AUTH_SCOPES_MAX];
    sv_err e = sv_auth_client_credentials(db, auth_config(), vals[1], vals[2], vals[3], access,
                                          scopes, NULL);
    if (e == SV_ERR_UNAUTHORIZED) {
        oauth_error(res, 401, "invalid_client", "invalid client credentials");
    } else if (e == SV_ERR_FORBIDDEN) {
        oauth_error(res, 400, "invalid_scope", "a requested scope is not granted to the client");
    } else if (e) {
        sv__api_error(res, e, NULL, "the token cannot be issued");
    } else {
        sv_auth_config cfg = *auth_config();
        sv_auth_config_defaults(&cfg);
        send_json(res, 200,
                  json_pack("{s:s, s:s, s:I, s:s}", "access_token", access, "token_type", "Bearer",
                            "expires_in", (json_int_t)(cfg.access_token_ms / 1000), "scope",
                            scopes));
    }
out:
    if (vals)
        memset(vals, 0, 4 * MAX_FIELD);
    free(vals);
}

void sv__api_auth(sv_api *api, const sv_http_request *req, sv_http_response *res,
                  const char *const *segs, size_t n)
{
    static const struct {
        const char *name, *method;
        void (*fn)(sv_api *, const sv_http_request *, sv_http_response *);
    } routes[] = {{"login", "POST", login},
                  {"logout", "POST", logout},
                  {"whoami", "GET", whoami},
                  {"token", "POST", token},
                  {"role", "POST", switch_role}};
    res->route = "/auth/:unknown";
    for (size_t i = 0; n == 2 && i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(segs[1], routes[i].name) != 0)
            continue;
        if (strcmp(req->method, routes[i].method) != 0) {
            sv_http_response_header(res, "Allow", routes[i].method);
            sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: %s",
                          req->method, routes[i].method);
            return;
        }
        routes[i].fn(api, req, res);
        return;
    }
    sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such endpoint");
}
