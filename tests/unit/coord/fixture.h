/*
 * fixture.h - shared by the coord unit tests: a temporary database with the
 * coordination hooks on its sv_rest, the clock pinned, and helpers to write
 * resources from JSON text and count notices.  Header-only (static functions).
 */
#ifndef SV_TEST_COORD_FIXTURE_H
#define SV_TEST_COORD_FIXTURE_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "../db/tmpdb.h"
#include "base/datetime.h"
#include "coord/codes.h"
#include "coord/coord.h"
#include "coord/notify.h"
#include "fhir/rest.h"
#include "store/schema.h"

#define BASE "http://localhost/fhir"

typedef struct fixture {
    tmpdb file;
    sv_db *db;
    sv_rest rest;
} fixture;

static inline int64_t at(const char *instant)
{
    sv_datetime_range r;
    if (!sv_datetime_parse(instant, strlen(instant), &r))
        fail_msg("bad instant in the test: %s", instant);
    return r.low;
}

static inline int fixture_setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    tmpdb_make(&f->file);
    f->db = tmpdb_open(&f->file, 5000);
    assert_int_equal(sv_schema_migrate(f->db, NULL, NULL), SV_OK);
    f->rest = (sv_rest){.db = f->db,
                        .base_url = BASE,
                        .default_count = 20,
                        .max_count = 100,
                        .hooks = sv_coord_hooks()};
    sv_clock_set_fixed(at("2026-03-27T10:00:00Z")); /* a Friday */
    *state = f;
    return 0;
}

static inline int fixture_teardown(void **state)
{
    fixture *f = *state;
    sv_clock_set_fixed(0);
    sv_db_close(f->db);
    tmpdb_remove(&f->file);
    free(f);
    return 0;
}

static inline json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    if (!j)
        fail_msg("bad json in the test: %s (%s)", err.text, text);
    return j;
}

/* PUT of the resource text (it carries resourceType and id); returns the error
 * and leaves the result (body, outcome) in *res when res is not NULL. */
static inline sv_err put(fixture *f, const char *text, sv_rest_result *res)
{
    json_t *j = parse(text);
    sv_rest_result own;
    sv_rest_result_init(&own);
    sv_rest_result *rr = res ? res : &own;
    sv_err e = sv_rest_update(&f->rest, json_string_value(json_object_get(j, "resourceType")),
                              json_string_value(json_object_get(j, "id")), j, NULL, rr);
    if (!res)
        sv_rest_result_clear(&own);
    json_decref(j);
    return e;
}

/* As put, asserting success. */
static inline void put_ok(fixture *f, const char *text)
{
    sv_rest_result res;
    sv_rest_result_init(&res);
    sv_err e = put(f, text, &res);
    if (e)
        fail_msg("put failed: %s: %s", sv_strerror(e),
                 res.outcome.len ? res.outcome.issues[0].diagnostics : "");
    sv_rest_result_clear(&res);
}

/* The first issue's expression of a result, or "". */
static inline const char *expression_of(const sv_rest_result *res)
{
    return res->outcome.len && res->outcome.issues[0].expression ? res->outcome.issues[0].expression
                                                                 : "";
}

/* The current version of "Type/id" (caller decrefs), failing the test when absent. */
static inline json_t *current(fixture *f, const char *type, const char *id)
{
    sv_rest_result res;
    sv_rest_result_init(&res);
    if (sv_rest_read(&f->rest, type, id, &res) != SV_OK)
        fail_msg("%s/%s cannot be read", type, id);
    json_t *j = parse(res.body.ptr);
    sv_rest_result_clear(&res);
    return j;
}

/* Notices of kind to recipient and/or organisation (NULL: any). */
static inline int64_t notices(fixture *f, const char *kind, const char *recipient, const char *org)
{
    static const char SQL_NOTICES[] = "SELECT COUNT(*) FROM coord_notification WHERE kind = ?1"
                                      " AND (CAST(?2 AS TEXT) IS NULL OR recipient = ?2)"
                                      " AND (CAST(?3 AS TEXT) IS NULL OR organization = ?3)";
    sv_stmt *st = NULL;
    bool row = false;
    assert_int_equal(sv_db_prepare(f->db, SQL_NOTICES, &st, NULL), SV_OK);
    sv_stmt_bind_text(st, 1, kind);
    sv_stmt_bind_text(st, 2, recipient);
    sv_stmt_bind_text(st, 3, org);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    int64_t n = sv_stmt_column_int64(st, 0);
    sv_stmt_finalize(st);
    return n;
}

/* An organisation, a lead there, a practitioner with a phone and a role there. */
static inline void base_data(fixture *f)
{
    put_ok(f, "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Jensen\","
              "\"given\":[\"Hanne\"]}],\"telecom\":[{\"system\":\"phone\",\"value\":\"+45 1\"}]}");
    put_ok(f, "{\"resourceType\":\"Organization\",\"id\":\"morso\",\"name\":\"Morsø Kommune\","
              "\"telecom\":[{\"system\":\"phone\",\"value\":\"+45 99 70 70 00\"}]}");
    put_ok(f, "{\"resourceType\":\"Organization\",\"id\":\"ry\",\"name\":\"Sclerosehospitalet\"}");
    put_ok(f, "{\"resourceType\":\"PractitionerRole\",\"id\":\"lead\",\"organization\":{"
              "\"reference\":\"Organization/"
              "morso\"},\"code\":[{\"coding\":[{\"system\":\"" SV_SYS_STAFF_ROLE
              "\",\"code\":\"lead\"}]}]}");
    put_ok(f, "{\"resourceType\":\"Practitioner\",\"id\":\"anne\",\"name\":[{\"family\":"
              "\"Mikkelsen\",\"given\":[\"Anne\"]}],\"telecom\":[{\"system\":\"phone\","
              "\"value\":\"+45 87 00 00 11\"}]}");
    put_ok(f, "{\"resourceType\":\"PractitionerRole\",\"id\":\"anne-ry\",\"practitioner\":{"
              "\"reference\":\"Practitioner/anne\"},\"organization\":{\"reference\":"
              "\"Organization/ry\"}}");
    put_ok(f, "{\"resourceType\":\"PractitionerRole\",\"id\":\"birgit\",\"organization\":{"
              "\"reference\":\"Organization/morso\"}}");
}

#endif
