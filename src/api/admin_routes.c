/*
 * admin_routes.c - users over HTTP for administrators (docs/identity.md):
 *   GET  /admin/users                  every user (no secrets)
 *   POST /admin/users                  {"username", "kind", "practitioner_role"
 *                                       (a string "a,b" or an array), "patient",
 *                                       "related_person", "password"?} -> 201; without a
 *                                       password one is generated and answered once
 *   POST /admin/users/{name}/disable   the user can no longer log in; sessions end
 * Only admin principals (a session of an admin user); with any auth setting.
 * Each change is audited (action create / update on "User").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/audit_log.h"
#include "api/auth_routes.h"
#include "api/internal.h"
#include "base/datetime.h"
#include "base/json.h"

#define JSON_TYPE "application/json; charset=utf-8"

static void answer(sv_http_response *res, int status, json_t *j)
{
    res->status = status;
    res->content_type = JSON_TYPE;
    sv_buf_reset(&res->body);
    char *text = json_dumps(j, JSON_COMPACT);
    if (text)
        sv_buf_adds(&res->body, text);
    free(text);
    json_decref(j);
    sv_http_response_header(res, "Cache-Control", "no-store");
}

static void audit(sv_api *api, const sv_principal *who, const char *action, const char *user,
                  int status)
{
    sv_audit_record rec = {.time_ms = sv_clock_now_ms(),
                           .principal_kind = sv_principal_kind_name(who->kind),
                           .principal_id = who->name,
                           .action = action,
                           .resource_type = "User",
                           .resource_id = user,
                           .outcome = status};
    sv_audit_log_add(sv__api_audit_log(api), &rec);
}

static json_t *roles_json(const char *roles)
{
    json_t *list = json_array();
    for (const char *r = roles; r && *r;) {
        size_t len = strcspn(r, ",");
        json_array_append_new(list, json_stringn(r, len));
        r += len + (r[len] == ',');
    }
    return list;
}

static void add_user(void *ctx, const sv_auth_user *u, bool disabled)
{
    json_t *j = json_pack("{s:s, s:s, s:b}", "username", u->username, "kind",
                          sv_principal_kind_name(u->kind), "disabled", disabled);
    if (u->practitioner_role)
        json_object_set_new(j, "practitioner_roles", roles_json(u->practitioner_role));
    if (u->patient)
        json_object_set_new(j, "patient", json_string(u->patient));
    if (u->related_person)
        json_object_set_new(j, "related_person", json_string(u->related_person));
    json_array_append_new(ctx, j);
}

static void list_users(sv_db *db, sv_http_response *res)
{
    json_t *list = json_array();
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_auth_user_list(db, add_user, list, &err);
    sv_buf_release(&err);
    if (e) {
        json_decref(list);
        sv__api_error(res, e, NULL, "the users cannot be listed");
        return;
    }
    answer(res, 200, json_pack("{s:o}", "users", list));
}

/* practitioner_role as a string or an array of strings, joined by commas. */
static bool roles_of(const json_t *v, sv_buf *out)
{
    if (!v || json_is_null(v))
        return true;
    if (json_is_string(v)) {
        sv_buf_adds(out, json_string_value(v));
        return true;
    }
    if (!json_is_array(v))
        return false;
    size_t i;
    const json_t *r;
    json_array_foreach(v, i, r)
    {
        if (!json_is_string(r))
            return false;
        if (i)
            sv_buf_adds(out, ",");
        sv_buf_adds(out, json_string_value(r));
    }
    return true;
}

static const char *str(const json_t *body, const char *key, bool *ret_bad)
{
    const json_t *v = json_object_get(body, key);
    if (v && !json_is_string(v))
        *ret_bad = true;
    return json_string_value(v);
}

static void create_user(sv_api *api, sv_db *db, const sv_principal *who, const sv_http_request *req,
                        sv_http_response *res)
{
    json_t *body = NULL;
    sv_buf err = SV_BUF_INIT, roles = SV_BUF_INIT;
    sv_err e = sv_json_parse(req->body, req->body_len, 8, SV_JSON_TOP_OBJECT, &body, &err, NULL);
    if (e) {
        sv__api_error(res, SV_ERR_INVALID, NULL, "the body must be a JSON object: %s",
                      err.len ? err.ptr : sv_strerror(e));
        goto out;
    }
    bool bad = false;
    sv_auth_user u = {.username = str(body, "username", &bad),
                      .patient = str(body, "patient", &bad),
                      .related_person = str(body, "related_person", &bad)};
    const char *kind = str(body, "kind", &bad);
    const char *password = str(body, "password", &bad);
    if (bad || !u.username) {
        sv__api_error(res, SV_ERR_INVALID, "username",
                      "username, kind, patient, related_person and password are strings;"
                      " username is required");
        goto out;
    }
    if (!kind || !sv_principal_kind_parse(kind, &u.kind)) {
        sv__api_error(res, SV_ERR_INVALID, "kind",
                      "kind is practitioner, citizen, relative or admin");
        goto out;
    }
    if (!roles_of(json_object_get(body, "practitioner_role"), &roles)) {
        sv__api_error(res, SV_ERR_INVALID, "practitioner_role",
                      "practitioner_role is a PractitionerRole id or a list of them");
        goto out;
    }
    u.practitioner_role = roles.len ? roles.ptr : NULL;
    char generated[25] = "";
    if (!password || !*password) {
        sv_auth_password_generate(generated);
        password = generated;
    }
    e = sv_auth_user_add(db, &u, password, &err);
    if (e) {
        sv__api_error(res, e, e == SV_ERR_CONFLICT ? "username" : NULL, "%s",
                      err.len ? err.ptr : sv_strerror(e));
        audit(api, who, "create", u.username, res->status);
        goto out;
    }
    json_t *j = json_pack("{s:s, s:s}", "username", u.username, "kind", kind);
    if (generated[0]) /* shown once, as by the command line */
        json_object_set_new(j, "password", json_string(generated));
    answer(res, 201, j);
    audit(api, who, "create", u.username, 201);
out:
    json_decref(body);
    sv_buf_release(&err);
    sv_buf_release(&roles);
}

static void disable_user(sv_api *api, sv_db *db, const sv_principal *who, const char *name,
                         sv_http_response *res)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_auth_user_disable(db, name, &err);
    if (e)
        sv__api_error(res, e, NULL, "%s", err.len ? err.ptr : sv_strerror(e));
    else
        answer(res, 200, json_pack("{s:s, s:b}", "username", name, "disabled", 1));
    sv_buf_release(&err);
    audit(api, who, "update", name, res->status);
}

static void not_allowed(sv_http_response *res, const char *allow, const char *method)
{
    sv_http_response_header(res, "Allow", allow);
    sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: %s", method,
                  allow);
}

void sv__api_admin_users(sv_api *api, const sv_http_request *req, sv_http_response *res,
                         const char *const *segs, size_t n)
{
    res->route = n == 2 ? "/admin/users" : "/admin/users/:name/disable";
    if (!(n == 2 || (n == 4 && strcmp(segs[3], "disable") == 0))) {
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such endpoint");
        return;
    }
    sv_principal who;
    if (!sv__api_identify(api, req, res, &who))
        return;
    if (who.kind != SV_PRINCIPAL_ADMIN) {
        sv__api_error(res, SV_ERR_FORBIDDEN, NULL, "users are managed by administrators");
        return;
    }
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv__api_conn(api, &db, &err);
    sv_buf_release(&err);
    if (e) {
        sv__api_error(res, e, NULL, "the database cannot be opened");
        return;
    }
    bool get = strcmp(req->method, "GET") == 0, post = strcmp(req->method, "POST") == 0;
    if (n == 2 && get)
        list_users(db, res);
    else if (n == 2 && post)
        create_user(api, db, &who, req, res);
    else if (n == 2)
        not_allowed(res, "GET, POST", req->method);
    else if (post)
        disable_user(api, db, &who, segs[2], res);
    else
        not_allowed(res, "POST", req->method);
}
