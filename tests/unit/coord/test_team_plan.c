/*
 * test_team_plan.c - the coordination team (exactly one active coordinator, one
 * active team per citizen, a hand-over needs a reason and leaves a Provenance
 * and notices; Patient/$team lists the coordinator first with contact details)
 * and the plan (SIP step and category codes, agreement per party and version,
 * a change after agreement asks again, $diff between versions).
 */
#include "fixture.h"

#include "coord/plan.h"
#include "coord/team.h"

#define TEAM_HEAD                                                                                  \
    "{\"resourceType\":\"CareTeam\",\"id\":\"%s\",\"status\":\"active\",\"category\":[{"           \
    "\"coding\":[{\"system\":\"" SV_SYS_CARE_TEAM_CATEGORY "\",\"code\":\"coordination\"}]}],"     \
    "\"subject\":{\"reference\":\"Patient/p1\"},\"managingOrganization\":[{\"reference\":"         \
    "\"Organization/morso\"}]%s,\"participant\":["
#define COORDINATOR(member)                                                                        \
    "{\"role\":[{\"coding\":[{\"system\":\"" SV_SYS_CARE_TEAM_ROLE "\",\"code\":"                  \
    "\"coordinator\"}]}],\"member\":{\"reference\":\"" member "\"}}"
#define MEMBER(member, text)                                                                       \
    "{\"role\":[{\"text\":\"" text "\"}],\"member\":{\"reference\":\"" member "\"}}"

static sv_err team(fixture *f, const char *id, const char *extra, const char *participants,
                   sv_rest_result *res)
{
    char text[2048];
    snprintf(text, sizeof(text), TEAM_HEAD "%s]}", id, extra, participants);
    return put(f, text, res);
}

static void test_exactly_one_coordinator(void **state)
{
    fixture *f = *state;
    base_data(f);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(team(f, "c1", "", MEMBER("PractitionerRole/birgit", "home care"), &res),
                     SV_ERR_PROCESSING);
    assert_string_equal(expression_of(&res), "CareTeam.participant");
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    assert_int_equal(
        team(f, "c1", "",
             COORDINATOR("PractitionerRole/birgit") "," COORDINATOR("PractitionerRole/anne-ry"),
             &res),
        SV_ERR_PROCESSING);
    sv_rest_result_clear(&res);
    assert_int_equal(team(f, "c1", "",
                          COORDINATOR("PractitionerRole/anne-ry") "," MEMBER(
                              "PractitionerRole/birgit", "home care"),
                          NULL),
                     SV_OK);
    /* a second active team for the same citizen is a conflict */
    sv_rest_result_init(&res);
    assert_int_equal(team(f, "c2", "", COORDINATOR("PractitionerRole/birgit"), &res),
                     SV_ERR_CONFLICT);
    assert_string_equal(expression_of(&res), "CareTeam.subject");
    sv_rest_result_clear(&res);
    /* the coordinator was named: a Provenance and a notice to the citizen */
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource WHERE type = 'Provenance'"),
                     1);
    assert_int_equal(notices(f, SV_NOTICE_COORDINATOR_CHANGED, "Patient/p1", NULL), 1);
}

static void test_handover(void **state)
{
    fixture *f = *state;
    base_data(f);
    assert_int_equal(team(f, "c1", "",
                          COORDINATOR("PractitionerRole/anne-ry") "," MEMBER(
                              "PractitionerRole/birgit", "home care"),
                          NULL),
                     SV_OK);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(team(f, "c1", "",
                          COORDINATOR("PractitionerRole/birgit") "," MEMBER(
                              "PractitionerRole/anne-ry", "MS nurse"),
                          &res),
                     SV_ERR_PROCESSING);
    assert_string_equal(expression_of(&res), "CareTeam.extension");
    sv_rest_result_clear(&res);
    sv_clock_set_fixed(at("2026-04-02T08:00:00Z"));
    assert_int_equal(team(f, "c1",
                          ",\"extension\":[{\"url\":\"" SV_EXT_HANDOVER_REASON "\","
                          "\"valueString\":\"discharged home; the municipality takes over\"}]",
                          COORDINATOR("PractitionerRole/birgit") "," MEMBER(
                              "PractitionerRole/anne-ry", "MS nurse"),
                          NULL),
                     SV_OK);
    /* who, when, why */
    static const char SQL_PROV[] =
        "SELECT COUNT(*) FROM resource_version v JOIN resource r ON r.rid = v.rid"
        " WHERE r.type = 'Provenance' AND v.json LIKE '%coordinator-handover%'"
        " AND v.json LIKE '%discharged home; the municipality takes over%'"
        " AND v.json LIKE '%CareTeam/c1/_history/2%' AND v.json LIKE '%2026-04-02T08:00:00.000Z%'"
        " AND v.json LIKE '%PractitionerRole/anne-ry%'";
    assert_int_equal(tmpdb_int(f->db, SQL_PROV), 1);
    /* everyone is told: the citizen, both coordinators, the managing organisation */
    assert_int_equal(notices(f, SV_NOTICE_COORDINATOR_CHANGED, "Patient/p1", NULL), 2);
    assert_int_equal(notices(f, SV_NOTICE_COORDINATOR_CHANGED, "PractitionerRole/anne-ry", NULL),
                     2);
    assert_int_equal(notices(f, SV_NOTICE_COORDINATOR_CHANGED, "PractitionerRole/birgit", NULL), 2);
    assert_int_equal(notices(f, SV_NOTICE_COORDINATOR_CHANGED, NULL, "Organization/morso"), 4);
    /* $team: the new coordinator first */
    json_t *view = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv_coord_team_view(f->db, "p1", &view, &out), SV_OK);
    json_t *members = json_object_get(view, "members");
    assert_int_equal(json_array_size(members), 2);
    json_t *first = json_array_get(members, 0), *second = json_array_get(members, 1);
    assert_true(json_is_true(json_object_get(first, "coordinator")));
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(first, "member"), "reference")),
        "PractitionerRole/birgit");
    /* no own line: the organisation's phone */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(first, "telecom"), 0), "value")),
                        "+45 99 70 70 00");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(second, "member"), "display")),
        "Anne Mikkelsen");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(second, "telecom"), 0), "value")),
                        "+45 87 00 00 11");
    json_decref(view);
    assert_int_equal(sv_coord_team_view(f->db, "nobody", &view, &out), SV_ERR_NOT_FOUND);
    sv_outcome_clear(&out);
}

#define PLAN(title, extra)                                                                         \
    "{\"resourceType\":\"CarePlan\",\"id\":\"plan\",\"status\":\"active\",\"intent\":\"plan\","    \
    "\"title\":\"" title "\",\"subject\":{\"reference\":\"Patient/p1\"},\"category\":[{"           \
    "\"coding\":[{\"system\":\"" SV_SYS_CAREPLAN_CATEGORY "\",\"code\":\"sip\"}]}],"               \
    "\"contributor\":[{\"reference\":\"PractitionerRole/anne-ry\"},{\"reference\":"                \
    "\"Organization/morso\"}]" extra "}"

static sv_err agree(fixture *f, const char *id, const char *who, int version)
{
    char text[800];
    snprintf(text, sizeof(text),
             "{\"resourceType\":\"Provenance\",\"id\":\"%s\",\"target\":[{\"reference\":"
             "\"CarePlan/plan/_history/%d\"}],\"recorded\":\"2026-03-27T10:00:00Z\","
             "\"activity\":{\"coding\":[{\"system\":\"" SV_SYS_PROVENANCE_ACTIVITY "\",\"code\":"
             "\"agreement\"}]},\"agent\":[{\"who\":{\"reference\":\"%s\"}}]}",
             id, version, who);
    return put(f, text, NULL);
}

static bool agreed_by_all(fixture *f)
{
    json_t *view = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv_coord_plan_agreement(f->db, "plan", &view, &out), SV_OK);
    bool all = json_is_true(json_object_get(view, "agreedByAll"));
    assert_int_equal(json_array_size(json_object_get(view, "parties")), 3);
    json_decref(view);
    return all;
}

static void test_plan_agreement_and_diff(void **state)
{
    fixture *f = *state;
    base_data(f);
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(
        put(f,
            PLAN("x", ",\"extension\":[{\"url\":\"" SV_EXT_SIP_STEP "\",\"valueCode\":\"lunch\"}]"),
            &res),
        SV_ERR_PROCESSING);
    assert_string_equal(expression_of(&res), "CarePlan.extension");
    sv_rest_result_clear(&res);
    put_ok(f, PLAN("Hanne's plan",
                   ",\"extension\":[{\"url\":\"" SV_EXT_SIP_STEP "\",\"valueCode\":\"plan\"}]"));
    /* the parties: the citizen, the hospital (for its PractitionerRole), the municipality */
    assert_int_equal(notices(f, SV_NOTICE_PLAN_AWAITING, "Patient/p1", NULL), 1);
    assert_int_equal(notices(f, SV_NOTICE_PLAN_AWAITING, NULL, "Organization/ry"), 1);
    assert_false(agreed_by_all(f));
    assert_int_equal(agree(f, "a0", "Organization/elsewhere", 1), SV_ERR_PROCESSING);
    assert_int_equal(agree(f, "a0", "Organization/morso", 2), SV_ERR_PROCESSING);
    assert_int_equal(agree(f, "a1", "Organization/morso", 1), SV_OK);
    assert_int_equal(agree(f, "a2", "PractitionerRole/anne-ry", 1), SV_OK);
    assert_false(agreed_by_all(f));
    assert_int_equal(notices(f, SV_NOTICE_PLAN_AGREED, "Patient/p1", NULL), 0);
    assert_int_equal(agree(f, "a3", "Patient/p1", 1), SV_OK);
    /* the last party's agreement tells everyone and moves the SIP plan on to
     * follow-up (version 2): a step forward needs no new agreement */
    assert_true(agreed_by_all(f));
    assert_int_equal(notices(f, SV_NOTICE_PLAN_AGREED, "Patient/p1", NULL), 1);
    assert_int_equal(notices(f, SV_NOTICE_PLAN_AGREED, NULL, "Organization/morso"), 1);
    assert_int_equal(notices(f, SV_NOTICE_PLAN_AWAITING, "Patient/p1", NULL), 1);
    json_t *plan = current(f, "CarePlan", "plan");
    assert_string_equal(
        json_string_value(json_object_get(json_object_get(plan, "meta"), "versionId")), "2");
    json_decref(plan);
    /* an agreement given twice tells nobody again */
    assert_int_equal(agree(f, "a4", "Patient/p1", 2), SV_OK);
    assert_int_equal(notices(f, SV_NOTICE_PLAN_AGREED, "Patient/p1", NULL), 1);
    /* the process does not go back */
    assert_int_equal(put(f,
                         PLAN("Hanne's plan", ",\"extension\":[{\"url\":\"" SV_EXT_SIP_STEP
                                              "\",\"valueCode\":\"needs\"}]"),
                         &res),
                     SV_ERR_PROCESSING);
    assert_string_equal(expression_of(&res), "CarePlan.extension");
    sv_rest_result_clear(&res);
    /* a change asks again */
    put_ok(f, PLAN("Hanne's plan", ",\"extension\":[{\"url\":\"" SV_EXT_SIP_STEP
                                   "\",\"valueCode\":\"evaluation\"}],\"description\":\"x\""));
    assert_false(agreed_by_all(f));
    assert_int_equal(notices(f, SV_NOTICE_PLAN_AWAITING, "Patient/p1", NULL), 2);
    assert_int_equal(notices(f, SV_NOTICE_PLAN_CHANGED, NULL, "Organization/morso"), 1);
    json_t *d = NULL;
    sv_outcome out = SV_OUTCOME_INIT;
    assert_int_equal(sv_coord_diff(f->db, "CarePlan", "plan", 1, 3, &d, &out), SV_OK);
    json_t *changes = json_object_get(d, "changes");
    assert_int_equal(json_array_size(changes), 2);
    json_t *c0 = json_array_get(changes, 0), *c1 = json_array_get(changes, 1);
    assert_string_equal(json_string_value(json_object_get(c0, "path")),
                        "CarePlan.extension[0].valueCode");
    assert_string_equal(json_string_value(json_object_get(c0, "from")), "plan");
    assert_string_equal(json_string_value(json_object_get(c0, "to")), "evaluation");
    assert_string_equal(json_string_value(json_object_get(c1, "change")), "added");
    json_decref(d);
    assert_int_equal(sv_coord_diff(f->db, "CarePlan", "plan", 1, 9, &d, &out), SV_ERR_NOT_FOUND);
    sv_outcome_clear(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_exactly_one_coordinator, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_handover, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_plan_agreement_and_diff, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
