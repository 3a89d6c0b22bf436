/*
 * test_rest.c - unit tests for fhir/rest against a temporary SQLite database:
 * create (server-assigned id, meta first), read, update and update-as-create,
 * If-Match, delete and 410 afterwards, vread, history Bundles (order, paging,
 * _since, refusals), create_as, conditional matching and If-None-Exist, the
 * caller's transaction, and (with db.h's fault injection) that a storage failure
 * at any call is reported as an OperationOutcome and changes nothing.
 * The clock is pinned so that lastUpdated values are known.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../db/tmpdb.h"
#include "base/datetime.h"
#include "base/id.h"
#include "fhir/rest.h"
#include "store/schema.h"

#define BASE "http://localhost/fhir"
#define T0 INT64_C(1767225600000) /* 2026-01-01T00:00:00.000Z */

typedef struct fixture {
    tmpdb file;
    sv_db *db;
    sv_rest rest;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->file);
    f->db = tmpdb_open(&f->file, 5000);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    f->rest = (sv_rest){.db = f->db, .base_url = BASE, .default_count = 20, .max_count = 100};
    sv_clock_set_fixed(T0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    sv_clock_set_fixed(0);
    sv_db_close(f->db);
    tmpdb_remove(&f->file);
    free(f);
    return 0;
}

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("bad json in the test: %s (%s)", err.text, text);
    return j;
}

static json_t *body_of(const sv_rest_result *res)
{
    return parse(res->body.ptr);
}

/* "name=Nordmann, identifier=urn:sys|<ident>" Patient; id set when id != NULL. */
static json_t *patient(const char *id, const char *family, const char *ident)
{
    json_t *p = json_pack("{s:s, s:[{s:s}]}", "resourceType", "Patient", "name", "family", family);
    if (id)
        json_object_set_new(p, "id", json_string(id));
    if (ident)
        json_object_set_new(p, "identifier",
                            json_pack("[{s:s, s:s}]", "system", "urn:sys", "value", ident));
    return p;
}

/* Creates a Patient; returns its id in out. */
static void must_create(fixture *f, const char *family, const char *ident, char out[65])
{
    json_t *p = patient(NULL, family, ident);
    sv_rest_result res;
    sv_rest_result_init(&res);
    sv_err e = sv_rest_create(&f->rest, "Patient", p, NULL, &res);
    if (e)
        fail_msg("create: %s (%zu issues)", sv_strerror(e), res.outcome.len);
    snprintf(out, 65, "%s", res.id);
    json_decref(p);
    sv_rest_result_clear(&res);
}

static const char *family_of(const sv_rest_result *res, char out[64])
{
    json_t *j = body_of(res);
    snprintf(out, 64, "%s",
             json_string_value(
                 json_object_get(json_array_get(json_object_get(j, "name"), 0), "family")));
    json_decref(j);
    return out;
}

static void assert_issue(const sv_rest_result *res, const char *code)
{
    assert_true(res->outcome.len >= 1);
    assert_true(res->outcome.errors >= 1);
    for (size_t i = 0; i < res->outcome.len; i++)
        if (strcmp(res->outcome.issues[i].code, code) == 0)
            return;
    fail_msg("no issue with code '%s' (first: '%s')", code, res->outcome.issues[0].code);
}

static const char SQL_VERSIONS[] = "SELECT COUNT(*) FROM resource_version";
static const char SQL_RESOURCES[] = "SELECT COUNT(*) FROM resource";

/* ---- create and read ------------------------------------------------------------ */

static void test_create_then_read(void **state)
{
    fixture *f = *state;
    json_t *p = patient("client-chosen", "Nordmann", NULL);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_create(&f->rest, "Patient", p, NULL, &res), SV_OK);
    assert_int_equal(res.status, 201);
    assert_true(res.created);
    assert_int_equal(res.version, 1);
    assert_int_equal(res.last_updated, T0);
    assert_string_equal(res.type, "Patient");
    /* the server assigns the id: a UUID, not the one in the body */
    assert_int_equal(strlen(res.id), 36);
    assert_true(sv_id_valid(res.id, 36));
    assert_string_not_equal(res.id, "client-chosen");
    /* resourceType, id and meta come first; the rest follows */
    char want[256];
    snprintf(want, sizeof(want),
             "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"meta\":{\"versionId\":\"1\","
             "\"lastUpdated\":\"2026-01-01T00:00:00.000Z\"},",
             res.id);
    assert_memory_equal(res.body.ptr, want, strlen(want));
    char family[64];
    assert_string_equal(family_of(&res, family), "Nordmann");
    assert_int_equal(res.outcome.errors, 0);

    /* read serves the stored text as it was written */
    sv_rest_result got;
    sv_rest_result_init(&got);
    assert_int_equal(sv_rest_read(&f->rest, "Patient", res.id, &got), SV_OK);
    assert_int_equal(got.status, 200);
    assert_int_equal(got.version, 1);
    assert_int_equal(got.last_updated, T0);
    assert_string_equal(got.body.ptr, res.body.ptr);
    sv_rest_result_clear(&got);
    sv_rest_result_clear(&res);
    json_decref(p);
}

static void test_read_what_is_not_there(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *type, *id;
    } cases[] = {
        {"Patient", "no-such-id"},
        {"Patient", "bad_id"}, /* not a valid id: not found, not an error */
        {"NotAType", "x"},     /* unknown type */
        {"Observation", "no-such-id"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sv_rest_result res;
        sv_rest_result_init(&res);
        assert_int_equal(sv_rest_read(&f->rest, cases[i].type, cases[i].id, &res),
                         SV_ERR_NOT_FOUND);
        assert_issue(&res, "not-found");
        sv_rest_result_clear(&res);
    }
}

static void test_create_refusals_store_nothing(void **state)
{
    fixture *f = *state;
    static const struct {
        const char *type;
        const char *body;
        sv_err want;
    } cases[] = {
        {"Patient", "[]", SV_ERR_INVALID},
        {"Patient", "{\"name\":[{\"family\":\"X\"}]}", SV_ERR_INVALID},
        {"Patient", "{\"resourceType\":\"Observation\"}", SV_ERR_INVALID},
        {"Patient", "{\"resourceType\":\"Patient\",\"notAnElement\":1}", SV_ERR_PROCESSING},
        {"Patient", "{\"resourceType\":\"Patient\",\"birthDate\":\"2024-02-30\"}",
         SV_ERR_PROCESSING},
        {"NotAType", "{\"resourceType\":\"NotAType\"}", SV_ERR_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *body = parse(cases[i].body);
        sv_rest_result res;
        sv_rest_result_init(&res);
        sv_err e = sv_rest_create(&f->rest, cases[i].type, body, NULL, &res);
        if (e != cases[i].want)
            fail_msg("case %zu: %s, expected %s", i, sv_strerror(e), sv_strerror(cases[i].want));
        assert_true(res.outcome.errors >= 1);
        assert_false(res.created);
        sv_rest_result_clear(&res);
        json_decref(body);
    }
    assert_int_equal(tmpdb_int(f->db, SQL_RESOURCES), 0);
    assert_false(sv_db_in_tx(f->db));
}

/* ---- update, If-Match, delete, vread -------------------------------------------------- */

static sv_err update(fixture *f, const char *id, const char *family, const char *if_match,
                     sv_rest_result *res)
{
    json_t *p = patient(id, family, NULL);
    sv_rest_result_init(res);
    sv_err e = sv_rest_update(&f->rest, "Patient", id, p, if_match, res);
    json_decref(p);
    return e;
}

static void test_update_and_vread(void **state)
{
    fixture *f = *state;
    char id[65], family[64];
    must_create(f, "One", NULL, id);
    sv_clock_set_fixed(T0 + 1000);
    sv_rest_result res;
    assert_int_equal(update(f, id, "Two", NULL, &res), SV_OK);
    assert_int_equal(res.status, 200);
    assert_false(res.created);
    assert_int_equal(res.version, 2);
    assert_int_equal(res.last_updated, T0 + 1000);
    assert_non_null(strstr(res.body.ptr, "\"versionId\":\"2\""));
    sv_rest_result_clear(&res);

    sv_rest_read(&f->rest, "Patient", id, (sv_rest_result_init(&res), &res));
    assert_string_equal(family_of(&res, family), "Two");
    assert_int_equal(res.version, 2);
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_vread(&f->rest, "Patient", id, "1", &res), SV_OK);
    assert_string_equal(family_of(&res, family), "One");
    assert_int_equal(res.version, 1);
    assert_int_equal(res.last_updated, T0);
    sv_rest_result_clear(&res);

    static const char *const bad_versions[] = {"0", "-1", "abc", "1x", "", "3", "99"};
    for (size_t i = 0; i < sizeof(bad_versions) / sizeof(bad_versions[0]); i++) {
        sv_rest_result_init(&res);
        if (sv_rest_vread(&f->rest, "Patient", id, bad_versions[i], &res) != SV_ERR_NOT_FOUND)
            fail_msg("vread version '%s' was not 'not found'", bad_versions[i]);
        assert_issue(&res, "not-found");
        sv_rest_result_clear(&res);
    }
}

static void test_update_refusals(void **state)
{
    fixture *f = *state;
    char id[65];
    must_create(f, "One", NULL, id);
    int64_t versions = tmpdb_int(f->db, SQL_VERSIONS);
    sv_rest_result res;
    /* the body's id must be there and match the url's */
    json_t *no_id = patient(NULL, "X", NULL);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_update(&f->rest, "Patient", id, no_id, NULL, &res), SV_ERR_INVALID);
    assert_issue(&res, "invalid");
    sv_rest_result_clear(&res);
    json_decref(no_id);
    json_t *other_id = patient("someone-else", "X", NULL);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_update(&f->rest, "Patient", id, other_id, NULL, &res), SV_ERR_INVALID);
    sv_rest_result_clear(&res);
    json_decref(other_id);
    /* an invalid id in the url */
    assert_int_equal(update(f, "bad_id", "X", NULL, &res), SV_ERR_INVALID);
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), versions);
}

static void test_update_as_create(void **state)
{
    fixture *f = *state;
    sv_rest_result res;
    assert_int_equal(update(f, "chosen-by-client", "New", NULL, &res), SV_OK);
    assert_int_equal(res.status, 201);
    assert_true(res.created);
    assert_int_equal(res.version, 1);
    assert_string_equal(res.id, "chosen-by-client");
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_read(&f->rest, "Patient", "chosen-by-client", &res), SV_OK);
    sv_rest_result_clear(&res);
}

static void test_if_match(void **state)
{
    fixture *f = *state;
    char id[65];
    must_create(f, "One", NULL, id);
    sv_rest_result res;
    assert_int_equal(update(f, id, "Two", NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
    int64_t versions = tmpdb_int(f->db, SQL_VERSIONS);

    /* a stale version: 412, nothing written */
    assert_int_equal(update(f, id, "Stale", "W/\"1\"", &res), SV_ERR_PRECONDITION);
    assert_issue(&res, "conflict");
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), versions);
    /* the current one, weak and strong forms */
    assert_int_equal(update(f, id, "Three", "W/\"2\"", &res), SV_OK);
    assert_int_equal(res.version, 3);
    sv_rest_result_clear(&res);
    assert_int_equal(update(f, id, "Four", "\"3\"", &res), SV_OK);
    assert_int_equal(res.version, 4);
    sv_rest_result_clear(&res);
    /* not an etag */
    static const char *const malformed[] = {"W/\"abc\"", "", "W/\"\"", "\"-1\"", "W/3x"};
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        if (update(f, id, "X", malformed[i], &res) != SV_ERR_INVALID)
            fail_msg("If-Match '%s' was accepted", malformed[i]);
        sv_rest_result_clear(&res);
    }
    /* on a resource that does not exist: 412, and not created */
    assert_int_equal(update(f, "never-was", "X", "W/\"1\"", &res), SV_ERR_PRECONDITION);
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_read(&f->rest, "Patient", "never-was", &res), SV_ERR_NOT_FOUND);
    sv_rest_result_clear(&res);
    /* on a deleted one, even naming the deletion's version */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", id, NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
    assert_int_equal(update(f, id, "X", "W/\"5\"", &res), SV_ERR_PRECONDITION);
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), versions + 3);
}

static void test_delete_then_gone(void **state)
{
    fixture *f = *state;
    char id[65], family[64];
    must_create(f, "One", NULL, id);
    sv_clock_set_fixed(T0 + 5000);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", id, NULL, &res), SV_OK);
    assert_int_equal(res.status, 204);
    assert_int_equal(res.version, 2);
    assert_int_equal(res.last_updated, T0 + 5000);
    sv_rest_result_clear(&res);

    /* read: 410 Gone, with the deletion's version */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_read(&f->rest, "Patient", id, &res), SV_ERR_GONE);
    assert_int_equal(sv_err_http_status(SV_ERR_GONE), 410);
    assert_issue(&res, "deleted");
    assert_int_equal(res.version, 2);
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_vread(&f->rest, "Patient", id, "2", &res), SV_ERR_GONE);
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_vread(&f->rest, "Patient", id, "1", &res), SV_OK);
    assert_string_equal(family_of(&res, family), "One");
    sv_rest_result_clear(&res);

    /* deleting again is fine and writes nothing */
    int64_t versions = tmpdb_int(f->db, SQL_VERSIONS);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", id, NULL, &res), SV_OK);
    assert_int_equal(res.status, 204);
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), versions);

    /* what never existed */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", "never-was", NULL, &res),
                     SV_ERR_NOT_FOUND);
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", "bad_id", NULL, &res), SV_ERR_NOT_FOUND);
    sv_rest_result_clear(&res);
    assert_false(sv_db_in_tx(f->db));

    /* an update brings it back as a new version */
    assert_int_equal(update(f, id, "Back", NULL, &res), SV_OK);
    assert_int_equal(res.status, 201);
    assert_true(res.created);
    assert_int_equal(res.version, 3);
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_read(&f->rest, "Patient", id, &res), SV_OK);
    assert_string_equal(family_of(&res, family), "Back");
    sv_rest_result_clear(&res);
}

/* ---- history ------------------------------------------------------------------------ */

static sv_err history(fixture *f, const char *type, const char *id, const char *query,
                      sv_rest_result *res, json_t **ret_bundle)
{
    sv_query q;
    assert_int_equal(sv_query_parse(query, &q, NULL), SV_OK);
    sv_rest_result_init(res);
    sv_err e = sv_rest_history(&f->rest, type, id, &q, res);
    sv_query_clear(&q);
    *ret_bundle = e ? NULL : body_of(res);
    return e;
}

static const char *entry_str(json_t *bundle, size_t i, const char *obj, const char *key)
{
    json_t *e = json_array_get(json_object_get(bundle, "entry"), i);
    return json_string_value(json_object_get(obj ? json_object_get(e, obj) : e, key));
}

static const char *link_url(json_t *bundle, const char *rel)
{
    size_t i;
    json_t *l;
    json_array_foreach(json_object_get(bundle, "link"), i, l)
    {
        if (strcmp(json_string_value(json_object_get(l, "relation")), rel) == 0)
            return json_string_value(json_object_get(l, "url"));
    }
    return NULL;
}

/* DELETE with If-Match: a stale or malformed etag deletes nothing. */
static void test_delete_if_match(void **state)
{
    fixture *f = *state;
    char id[65], family[64];
    must_create(f, "One", NULL, id);
    sv_rest_result res;
    assert_int_equal(update(f, id, "Two", NULL, &res), SV_OK); /* version 2 */
    sv_rest_result_clear(&res);
    int64_t versions = tmpdb_int(f->db, SQL_VERSIONS);

    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", id, "W/\"1\"", &res), SV_ERR_PRECONDITION);
    assert_int_equal(sv_err_http_status(SV_ERR_PRECONDITION), 412);
    assert_issue(&res, sv_err_issue_code(SV_ERR_PRECONDITION));
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", id, "W/\"x\"", &res), SV_ERR_INVALID);
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), versions);
    assert_false(sv_db_in_tx(f->db));
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_read(&f->rest, "Patient", id, &res), SV_OK);
    assert_string_equal(family_of(&res, family), "Two");
    sv_rest_result_clear(&res);

    /* the current version deletes */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", id, "W/\"2\"", &res), SV_OK);
    assert_int_equal(res.version, 3);
    sv_rest_result_clear(&res);
    /* a deleted resource has no version to match, not even the deletion's */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", id, "W/\"3\"", &res), SV_ERR_PRECONDITION);
    sv_rest_result_clear(&res);
    /* what never existed stays 404 (RFC 9110 13.2.1) */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", "never-was", "W/\"1\"", &res),
                     SV_ERR_NOT_FOUND);
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), versions + 1);
}

static void test_history_bundles(void **state)
{
    fixture *f = *state;
    char a[65], b[65];
    must_create(f, "A1", NULL, a); /* T0 */
    sv_clock_set_fixed(T0 + 1000);
    sv_rest_result res;
    assert_int_equal(update(f, a, "A2", NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
    sv_clock_set_fixed(T0 + 2000);
    must_create(f, "B1", NULL, b);
    sv_clock_set_fixed(T0 + 3000);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", a, NULL, &res), SV_OK);
    sv_rest_result_clear(&res);

    json_t *bundle;
    assert_int_equal(history(f, "Patient", a, "", &res, &bundle), SV_OK);
    assert_int_equal(res.status, 200);
    assert_string_equal(json_string_value(json_object_get(bundle, "resourceType")), "Bundle");
    assert_string_equal(json_string_value(json_object_get(bundle, "type")), "history");
    assert_int_equal(json_integer_value(json_object_get(bundle, "total")), 3);
    assert_int_equal(json_array_size(json_object_get(bundle, "entry")), 3);
    /* newest first: the deletion, the update, the create */
    char url[200];
    snprintf(url, sizeof(url), BASE "/Patient/%s", a);
    assert_string_equal(entry_str(bundle, 0, NULL, "fullUrl"), url);
    assert_string_equal(entry_str(bundle, 0, "request", "method"), "DELETE");
    assert_string_equal(entry_str(bundle, 0, "response", "status"), "204");
    assert_string_equal(entry_str(bundle, 0, "response", "etag"), "W/\"3\"");
    assert_null(json_object_get(json_array_get(json_object_get(bundle, "entry"), 0), "resource"));
    assert_string_equal(entry_str(bundle, 1, "request", "method"), "PUT");
    assert_string_equal(entry_str(bundle, 1, "response", "status"), "200");
    assert_string_equal(entry_str(bundle, 1, "response", "lastModified"),
                        "2026-01-01T00:00:01.000Z");
    assert_string_equal(entry_str(bundle, 1, "resource", "id"), a);
    assert_string_equal(entry_str(bundle, 2, "request", "method"), "POST");
    assert_string_equal(entry_str(bundle, 2, "request", "url"), "Patient");
    assert_string_equal(entry_str(bundle, 2, "response", "status"), "201");
    assert_null(link_url(bundle, "next"));
    json_decref(bundle);
    sv_rest_result_clear(&res);

    /* type and system levels */
    assert_int_equal(history(f, "Patient", NULL, "", &res, &bundle), SV_OK);
    assert_int_equal(json_integer_value(json_object_get(bundle, "total")), 4);
    assert_string_equal(entry_str(bundle, 1, "resource", "id"), b);
    json_decref(bundle);
    sv_rest_result_clear(&res);
    assert_int_equal(history(f, NULL, NULL, "", &res, &bundle), SV_OK);
    assert_int_equal(json_integer_value(json_object_get(bundle, "total")), 4);
    json_decref(bundle);
    sv_rest_result_clear(&res);
    assert_int_equal(history(f, "Observation", NULL, "", &res, &bundle), SV_OK);
    assert_int_equal(json_integer_value(json_object_get(bundle, "total")), 0);
    assert_null(json_object_get(bundle, "entry")); /* no empty arrays in FHIR JSON */
    json_decref(bundle);
    sv_rest_result_clear(&res);

    /* _since: from A2 (T0+1s) on */
    assert_int_equal(history(f, "Patient", NULL, "_since=2026-01-01T00:00:01Z", &res, &bundle),
                     SV_OK);
    assert_int_equal(json_integer_value(json_object_get(bundle, "total")), 3);
    json_decref(bundle);
    sv_rest_result_clear(&res);

    /* paging: _count=1, following next links to the end */
    sv_buf seen = SV_BUF_INIT, query = SV_BUF_INIT;
    sv_buf_adds(&query, "_count=1");
    for (int page = 0; page < 10; page++) {
        assert_int_equal(history(f, NULL, NULL, query.ptr, &res, &bundle), SV_OK);
        assert_int_equal(json_integer_value(json_object_get(bundle, "total")), 4);
        json_t *entries = json_object_get(bundle, "entry");
        if (entries) {
            assert_int_equal(json_array_size(entries), 1);
            sv_buf_adds(&seen, entry_str(bundle, 0, "response", "etag"));
            sv_buf_adds(&seen, entry_str(bundle, 0, "request", "method"));
            sv_buf_addc(&seen, ' ');
        }
        const char *next = link_url(bundle, "next");
        assert_non_null(link_url(bundle, "self"));
        sv_buf_reset(&query);
        if (next) {
            const char *qs = strchr(next, '?');
            assert_non_null(qs);
            assert_non_null(strstr(next, BASE "/_history?"));
            sv_buf_adds(&query, qs + 1);
        }
        json_decref(bundle);
        sv_rest_result_clear(&res);
        if (!next)
            break;
    }
    assert_string_equal(seen.ptr, "W/\"3\"DELETE W/\"1\"POST W/\"2\"PUT W/\"1\"POST ");
    sv_buf_release(&seen);
    sv_buf_release(&query);

    /* a next link can be followed even when _since has a '+' offset (T0+1s in +01:00) */
    assert_int_equal(
        history(f, NULL, NULL, "_count=1&_since=2026-01-01T01:00:01%2B01:00", &res, &bundle),
        SV_OK);
    assert_int_equal(json_integer_value(json_object_get(bundle, "total")), 3);
    const char *next = link_url(bundle, "next");
    assert_non_null(next);
    sv_buf nextq = SV_BUF_INIT;
    sv_buf_adds(&nextq, strchr(next, '?') + 1);
    json_decref(bundle);
    sv_rest_result_clear(&res);
    sv_query q;
    assert_int_equal(sv_query_parse(nextq.ptr, &q, NULL), SV_OK);
    assert_string_equal(sv_query_get(&q, "_since"), "2026-01-01T01:00:01+01:00");
    sv_query_clear(&q);
    assert_int_equal(history(f, NULL, NULL, nextq.ptr, &res, &bundle), SV_OK);
    assert_int_equal(json_integer_value(json_object_get(bundle, "total")), 3);
    json_decref(bundle);
    sv_rest_result_clear(&res);
    sv_buf_release(&nextq);

    /* _count above the most honoured is capped */
    f->rest.max_count = 2;
    assert_int_equal(history(f, NULL, NULL, "_count=50", &res, &bundle), SV_OK);
    assert_int_equal(json_array_size(json_object_get(bundle, "entry")), 2);
    assert_non_null(strstr(link_url(bundle, "self"), "_count=2"));
    json_decref(bundle);
    sv_rest_result_clear(&res);
}

static void test_history_refusals(void **state)
{
    fixture *f = *state;
    char a[65];
    must_create(f, "A", NULL, a);
    static const struct {
        const char *id;
        const char *query;
        sv_err want;
    } cases[] = {
        {NULL, "_count=abc", SV_ERR_INVALID},       {NULL, "_count=-1", SV_ERR_INVALID},
        {NULL, "_since=yesterday", SV_ERR_INVALID}, {NULL, "_page=x", SV_ERR_INVALID},
        {NULL, "name=A", SV_ERR_INVALID},           {"no-such-id", "", SV_ERR_NOT_FOUND},
        {"bad_id", "", SV_ERR_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sv_rest_result res;
        json_t *bundle;
        sv_err e = history(f, "Patient", cases[i].id, cases[i].query, &res, &bundle);
        if (e != cases[i].want)
            fail_msg("history %s?%s: %s", cases[i].id ? cases[i].id : "", cases[i].query,
                     sv_strerror(e));
        assert_true(res.outcome.errors >= 1);
        sv_rest_result_clear(&res);
    }
    sv_rest_result res;
    sv_query q = {0};
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_history(&f->rest, "NotAType", NULL, &q, &res), SV_ERR_NOT_FOUND);
    sv_rest_result_clear(&res);
}

static sv_err patch(fixture *f, const char *id, const char *ops, const char *if_match,
                    sv_rest_result *res)
{
    json_t *p = parse(ops);
    sv_rest_result_init(res);
    sv_err e = sv_rest_patch(&f->rest, "Patient", id, p, if_match, res);
    json_decref(p);
    return e;
}

static void test_patch(void **state)
{
    fixture *f = *state;
    char id[65], family[64];
    must_create(f, "Before", NULL, id);
    sv_rest_result res;
    assert_int_equal(patch(f, id,
                           "[{\"op\":\"replace\",\"path\":\"/name/0/family\",\"value\":\"After\"}]",
                           "W/\"1\"", &res),
                     SV_OK);
    assert_int_equal(res.status, 200);
    assert_int_equal(res.version, 2);
    assert_string_equal(family_of(&res, family), "After");
    assert_non_null(strstr(res.body.ptr, "\"versionId\":\"2\""));
    sv_rest_result_clear(&res);
    int64_t versions = tmpdb_int(f->db, SQL_VERSIONS);
    static const struct {
        const char *id, *ops, *if_match;
        sv_err want;
    } refused[] = {
        /* stale If-Match */
        {NULL, "[{\"op\":\"replace\",\"path\":\"/name/0/family\",\"value\":\"X\"}]", "W/\"1\"",
         SV_ERR_PRECONDITION},
        /* the id and resourceType are not the patch's to change */
        {NULL, "[{\"op\":\"replace\",\"path\":\"/id\",\"value\":\"other\"}]", NULL,
         SV_ERR_PROCESSING},
        {NULL, "[{\"op\":\"remove\",\"path\":\"/id\"}]", NULL, SV_ERR_PROCESSING},
        {NULL, "[{\"op\":\"replace\",\"path\":\"/resourceType\",\"value\":\"Group\"}]", NULL,
         SV_ERR_PROCESSING},
        /* the result must validate */
        {NULL, "[{\"op\":\"add\",\"path\":\"/notAnElement\",\"value\":1}]", NULL,
         SV_ERR_PROCESSING},
        {"never-was", "[]", NULL, SV_ERR_NOT_FOUND},
    };
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        sv_err e =
            patch(f, refused[i].id ? refused[i].id : id, refused[i].ops, refused[i].if_match, &res);
        if (e != refused[i].want)
            fail_msg("patch case %zu: %s, expected %s", i, sv_strerror(e),
                     sv_strerror(refused[i].want));
        assert_true(res.outcome.errors >= 1);
        sv_rest_result_clear(&res);
        assert_false(sv_db_in_tx(f->db));
    }
    assert_int_equal(tmpdb_int(f->db, SQL_VERSIONS), versions);
    /* a deleted resource is gone for patch too */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_delete(&f->rest, "Patient", id, NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
    assert_int_equal(patch(f, id, "[]", NULL, &res), SV_ERR_GONE);
    sv_rest_result_clear(&res);
}

/* ---- create_as, matching, conditional create ----------------------------------------- */

static void test_create_as(void **state)
{
    fixture *f = *state;
    json_t *p = patient(NULL, "Chosen", NULL);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_create_as(&f->rest, "Patient", p, "chosen-1", &res), SV_OK);
    assert_int_equal(res.status, 201);
    assert_true(res.created);
    assert_string_equal(res.id, "chosen-1");
    assert_int_equal(res.version, 1);
    sv_rest_result_clear(&res);

    /* the same id again: a conflict, and the first stays as it was */
    sv_buf before = SV_BUF_INIT, after = SV_BUF_INIT;
    tmpdb_fingerprint(f->db, &before);
    json_t *q = patient(NULL, "Second", NULL);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_create_as(&f->rest, "Patient", q, "chosen-1", &res), SV_ERR_CONFLICT);
    assert_true(res.outcome.errors >= 1);
    sv_rest_result_clear(&res);
    assert_false(sv_db_in_tx(f->db));
    tmpdb_fingerprint(f->db, &after);
    assert_string_equal(before.ptr, after.ptr);

    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_create_as(&f->rest, "Patient", p, "not_valid", &res), SV_ERR_INVALID);
    sv_rest_result_clear(&res);
    sv_buf_release(&before);
    sv_buf_release(&after);
    json_decref(p);
    json_decref(q);
}

static sv_err match(fixture *f, const char *query, int *count, char id[65])
{
    sv_rest_result res;
    sv_rest_result_init(&res);
    id[0] = '\0';
    *count = -1;
    sv_err e = sv_rest_match(&f->rest, "Patient", query, count, id, &res);
    if (e && e != SV_ERR_MULTIPLE)
        assert_true(res.outcome.errors >= 1);
    sv_rest_result_clear(&res);
    return e;
}

static void test_match_and_conditional_create(void **state)
{
    fixture *f = *state;
    char p1[65], p2[65], p3[65], id[65];
    int count;
    must_create(f, "One", "1", p1);
    must_create(f, "Two", "2", p2);
    must_create(f, "Two bis", "2", p3);

    assert_int_equal(match(f, "identifier=urn:sys|1", &count, id), SV_OK);
    assert_int_equal(count, 1);
    assert_string_equal(id, p1);
    assert_int_equal(match(f, "identifier=urn:sys%7C1", &count, id), SV_OK); /* decoded */
    assert_int_equal(count, 1);
    assert_int_equal(match(f, "identifier=urn:sys|9", &count, id), SV_OK);
    assert_int_equal(count, 0);
    assert_int_equal(match(f, "identifier=urn:sys|2", &count, id), SV_ERR_MULTIPLE);
    assert_int_equal(count, 2);
    assert_int_equal(match(f, "", &count, id), SV_ERR_INVALID);
    assert_int_equal(match(f, "not-a-param=1", &count, id), SV_ERR_INVALID);
    assert_int_equal(match(f, "identifier=%zz", &count, id), SV_ERR_INVALID);

    /* the index follows updates: p1's identifier changes */
    json_t *changed = patient(p1, "One", "5");
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_update(&f->rest, "Patient", p1, changed, NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
    json_decref(changed);
    assert_int_equal(match(f, "identifier=urn:sys|1", &count, id), SV_OK);
    assert_int_equal(count, 0);
    assert_int_equal(match(f, "identifier=urn:sys|5", &count, id), SV_OK);
    assert_int_equal(count, 1);
    assert_string_equal(id, p1);

    /* If-None-Exist: one match answers it (200, no new resource) */
    int64_t resources = tmpdb_int(f->db, SQL_RESOURCES);
    json_t *again = patient(NULL, "Again", "5");
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_create(&f->rest, "Patient", again, "identifier=urn:sys|5", &res),
                     SV_OK);
    assert_int_equal(res.status, 200);
    assert_false(res.created);
    assert_string_equal(res.id, p1);
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_RESOURCES), resources);
    /* several: 412 multiple matches, nothing created */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_create(&f->rest, "Patient", again, "identifier=urn:sys|2", &res),
                     SV_ERR_MULTIPLE);
    assert_issue(&res, "multiple-matches");
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_RESOURCES), resources);
    /* none: created */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_create(&f->rest, "Patient", again, "identifier=urn:sys|7", &res),
                     SV_OK);
    assert_int_equal(res.status, 201);
    assert_true(res.created);
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_RESOURCES), resources + 1);
    /* a bad condition refuses the create */
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_create(&f->rest, "Patient", again, "identifier=%zz", &res),
                     SV_ERR_INVALID);
    sv_rest_result_clear(&res);
    assert_int_equal(tmpdb_int(f->db, SQL_RESOURCES), resources + 1);
    assert_false(sv_db_in_tx(f->db));
    json_decref(again);
}

/* ---- transactions and storage failures ----------------------------------------------- */

static void test_caller_transaction_is_respected(void **state)
{
    fixture *f = *state;
    char id[65];
    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    must_create(f, "Inside", NULL, id);
    assert_true(sv_db_in_tx(f->db)); /* the caller's to end */
    sv_rest_result res;
    assert_int_equal(update(f, id, "Inside 2", NULL, &res), SV_OK);
    sv_rest_result_clear(&res);
    assert_true(sv_db_in_tx(f->db));
    sv_db_rollback(f->db);
    assert_int_equal(tmpdb_int(f->db, SQL_RESOURCES), 0);

    assert_int_equal(sv_db_begin(f->db, SV_TX_WRITE, NULL), SV_OK);
    must_create(f, "Kept", NULL, id);
    assert_int_equal(sv_db_commit(f->db, NULL), SV_OK);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_read(&f->rest, "Patient", id, &res), SV_OK);
    sv_rest_result_clear(&res);
}

typedef enum op { OP_CREATE, OP_UPDATE, OP_DELETE, OP_CONDITIONAL_CREATE } op;

static sv_err run_op(fixture *f, op which, const char *id, sv_rest_result *res)
{
    sv_rest_result_init(res);
    json_t *p = patient(which == OP_UPDATE ? id : NULL, "Changed", "42");
    sv_err e = SV_OK;
    switch (which) {
    case OP_CREATE:
        e = sv_rest_create(&f->rest, "Patient", p, NULL, res);
        break;
    case OP_UPDATE:
        e = sv_rest_update(&f->rest, "Patient", id, p, "W/\"1\"", res);
        break;
    case OP_DELETE:
        e = sv_rest_delete(&f->rest, "Patient", id, NULL, res);
        break;
    case OP_CONDITIONAL_CREATE:
        e = sv_rest_create(&f->rest, "Patient", p, "identifier=urn:sys|42", res);
        break;
    }
    json_decref(p);
    return e;
}

static void test_storage_failure_changes_nothing(void **state)
{
    fixture *f = *state;
    char id[65];
    must_create(f, "Before", "1", id);
    static const op ops[] = {OP_CREATE, OP_UPDATE, OP_DELETE, OP_CONDITIONAL_CREATE};
    for (size_t k = 0; k < sizeof(ops) / sizeof(ops[0]); k++) {
        sv_buf before = SV_BUF_INIT, now = SV_BUF_INIT;
        tmpdb_fingerprint(f->db, &before);
        int failures = 0;
        for (int nth = 1;; nth++) {
            sv_db_fault_inject(f->db, nth, SV_ERR_IO);
            sv_rest_result res;
            sv_err e = run_op(f, ops[k], id, &res);
            bool fired = !sv_db_fault_pending(f->db);
            sv_db_fault_inject(f->db, 0, SV_OK);
            if (!e) {
                if (fired)
                    fail_msg("op %zu: the fault at call %d was swallowed", k, nth);
                sv_rest_result_clear(&res);
                break;
            }
            failures++;
            assert_true(fired);
            assert_int_equal(e, SV_ERR_IO);
            assert_issue(&res, "exception");
            assert_false(res.created);
            assert_false(sv_db_in_tx(f->db));
            /* storage details stay out of the response */
            for (size_t i = 0; i < res.outcome.len; i++)
                if (res.outcome.issues[i].diagnostics &&
                    strstr(res.outcome.issues[i].diagnostics, "injected"))
                    fail_msg("storage detail in the outcome: %s",
                             res.outcome.issues[i].diagnostics);
            sv_rest_result_clear(&res);
            sv_buf_reset(&now);
            tmpdb_fingerprint(f->db, &now);
            if (strcmp(now.ptr, before.ptr) != 0)
                fail_msg("op %zu: fault at call %d changed the database", k, nth);
            assert_true(nth < 1000);
        }
        assert_true(failures >= 3); /* begin, a write, commit at the least */
        sv_buf_release(&before);
        sv_buf_release(&now);
        if (ops[k] == OP_DELETE) { /* bring it back for the next op */
            sv_rest_result res;
            assert_int_equal(update(f, id, "Before", NULL, &res), SV_OK);
            sv_rest_result_clear(&res);
        }
    }
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_create_then_read),
        T(test_read_what_is_not_there),
        T(test_create_refusals_store_nothing),
        T(test_update_and_vread),
        T(test_update_refusals),
        T(test_update_as_create),
        T(test_if_match),
        T(test_delete_then_gone),
        T(test_delete_if_match),
        T(test_patch),
        T(test_history_bundles),
        T(test_history_refusals),
        T(test_create_as),
        T(test_match_and_conditional_create),
        T(test_caller_transaction_is_respected),
        T(test_storage_failure_changes_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
