/*
 * helpers.h - shared by the stays unit tests: the coord fixture (a temporary
 * database, the clock pinned) with the stay hooks of the real rulesets
 * (data/rulesets) on its sv_rest, the organisations and citizens of a Swedish
 * and a Danish stay, and queries of tasks and stay events.  Header-only.
 */
#ifndef SV_TEST_STAYS_HELPERS_H
#define SV_TEST_STAYS_HELPERS_H

#include "../coord/fixture.h"

#include <stdio.h>

#include "coord/util.h"
#include "stays/stays.h"

static sv_stays *rules;

static inline int rules_setup(void **state)
{
    (void)state;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_stays_load(SV_SOURCE_DIR "/data/rulesets", &rules, &err);
    if (e)
        fail_msg("the rulesets do not load: %s", err.ptr);
    sv_buf_release(&err);
    return 0;
}

static inline int rules_teardown(void **state)
{
    (void)state;
    sv_stays_free(rules);
    return 0;
}

static inline int stay_setup(void **state)
{
    fixture_setup(state);
    fixture *f = *state;
    f->rest.hooks = sv_stays_hooks(rules);
    return 0;
}

/* Sweden: the hospital (HSA id, so the se ruleset), Malmö stad, the vårdcentral. */
static inline void se_data(fixture *f, const char *provider_ruleset)
{
    char org[600];
    snprintf(org, sizeof(org),
             "{\"resourceType\":\"Organization\",\"id\":\"sus\",\"name\":\"SUS Malmö\","
             "\"identifier\":[{\"system\":\"urn:oid:1.2.752.29.4.19\",\"value\":\"SE1\"}]%s%s%s}",
             provider_ruleset ? ",\"extension\":[{\"url\":\"http://samverka.org/fhir/"
                                "StructureDefinition/ruleset\",\"valueCode\":\""
                              : "",
             provider_ruleset ? provider_ruleset : "", provider_ruleset ? "\"}]" : "");
    put_ok(f, org);
    put_ok(f, "{\"resourceType\":\"Organization\",\"id\":\"malmo\",\"name\":\"Malmö stad\","
              "\"identifier\":[{\"system\":\"http://samverka.org/fhir/sid/se-municipality-code\","
              "\"value\":\"1280\"}]}");
    put_ok(f, "{\"resourceType\":\"Organization\",\"id\":\"vc\",\"name\":\"Vårdcentralen\"}");
    put_ok(f, "{\"resourceType\":\"Patient\",\"id\":\"bengt\",\"name\":[{\"family\":\"Nilsson\","
              "\"given\":[\"Bengt\"]}],\"managingOrganization\":{\"reference\":"
              "\"Organization/malmo\"},\"generalPractitioner\":[{\"reference\":"
              "\"Organization/vc\"}],\"address\":[{\"use\":\"home\",\"city\":\"Malmö\","
              "\"country\":\"SE\"}]}");
}

/* Denmark: the hospital (SOR id), Morsø Kommune, the GP. */
static inline void dk_data(fixture *f)
{
    put_ok(f, "{\"resourceType\":\"Organization\",\"id\":\"aauh\",\"name\":\"Aalborg UH\","
              "\"identifier\":[{\"system\":\"urn:oid:1.2.208.176.1.1\",\"value\":\"4\"}]}");
    put_ok(f, "{\"resourceType\":\"Organization\",\"id\":\"morso\",\"name\":\"Morsø Kommune\","
              "\"identifier\":[{\"system\":\"http://samverka.org/fhir/sid/dk-municipality-code\","
              "\"value\":\"773\"}]}");
    put_ok(f, "{\"resourceType\":\"Organization\",\"id\":\"gp\",\"name\":\"Lægehuset\"}");
    put_ok(f, "{\"resourceType\":\"Patient\",\"id\":\"hanne\",\"name\":[{\"family\":\"Jensen\"}],"
              "\"generalPractitioner\":[{\"reference\":\"Organization/gp\"}],\"address\":[{"
              "\"use\":\"home\",\"country\":\"DK\",\"extension\":[{\"url\":\"http://samverka.org/"
              "fhir/StructureDefinition/municipality-code\",\"valueCode\":\"773\"}]}]}");
}

typedef struct task_row {
    char id[65], status[24], owner[SV_COORD_REF_LEN], end[40];
    int count;
} task_row;

static inline bool task_visit(void *ctx, const json_t *task)
{
    task_row *t = ctx;
    t->count++;
    snprintf(t->id, sizeof(t->id), "%s", json_string_value(json_object_get(task, "id")));
    snprintf(t->status, sizeof(t->status), "%s",
             json_string_value(json_object_get(task, "status")));
    if (!sv__coord_ref(json_object_get(task, "owner"), t->owner))
        t->owner[0] = '\0';
    const char *end = json_string_value(
        json_object_get(json_object_get(json_object_get(task, "restriction"), "period"), "end"));
    snprintf(t->end, sizeof(t->end), "%s", end ? end : "");
    return true;
}

/* The (last) task of the stay-task code for the patient; count 0 when none. */
static inline task_row task_of(fixture *f, const char *patient, const char *code)
{
    task_row t = {.count = 0};
    char token[200];
    snprintf(token, sizeof(token), "http://samverka.org/fhir/CodeSystem/stay-task|%s", code);
    const char *names[] = {"patient", "code"};
    const char *values[] = {patient, token};
    assert_int_equal(sv__coord_find(f->db, "Task", names, values, 2, 100, task_visit, &t), SV_OK);
    return t;
}

/* Count of stay_event rows of kind (NULL: any) for the encounter id. */
static inline int64_t stay_events(fixture *f, const char *encounter, const char *kind)
{
    static const char SQL[] = "SELECT COUNT(*) FROM stay_event WHERE encounter_id = ?1"
                              " AND (?2 IS NULL OR kind = ?2)";
    sv_stmt *st = NULL;
    bool row = false;
    assert_int_equal(sv_db_prepare(f->db, SQL, &st, NULL), SV_OK);
    sv_stmt_bind_text(st, 1, encounter);
    sv_stmt_bind_text(st, 2, kind);
    assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
    int64_t n = sv_stmt_column_int64(st, 0);
    sv_stmt_finalize(st);
    return n;
}

#endif
