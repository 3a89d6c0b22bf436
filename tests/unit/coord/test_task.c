/*
 * test_task.c - Task rules through the REST write hooks: the status workflow
 * (allowed and refused transitions on update, patch and in a transaction
 * Bundle; a refusal is 422 naming Task.status and stores nothing), deadlines
 * from a deadline rule in DK and SE (Easter, summer time, end of day; checked
 * against hand-computed values), the watchdog jobs a Task gets, and the
 * notices for a new and a reassigned Task.
 */
#include "fixture.h"

#include "coord/task.h"
#include "fhir/bundle.h"

static void test_transition_table(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to;
        bool ok;
    } cases[] = {
        {"requested", "accepted", true},          {"accepted", "in-progress", true},
        {"in-progress", "completed", true},       {"requested", "rejected", true},
        {"requested", "cancelled", true},         {"accepted", "cancelled", true},
        {"in-progress", "cancelled", true},       {"requested", "requested", true},
        {"completed", "entered-in-error", true},  {"requested", "completed", false},
        {"requested", "in-progress", false},      {"completed", "in-progress", false},
        {"cancelled", "requested", false},        {"rejected", "accepted", false},
        {"accepted", "rejected", false},          {"in-progress", "requested", false},
        {"entered-in-error", "requested", false}, {"requested", "bogus", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (sv_coord_task_transition_allowed(cases[i].from, cases[i].to) != cases[i].ok)
            fail_msg("%s -> %s should be %s", cases[i].from, cases[i].to,
                     cases[i].ok ? "allowed" : "refused");
    assert_true(sv_coord_task_status_final("completed"));
    assert_false(sv_coord_task_status_final("in-progress"));
}

#define TASK(status)                                                                               \
    "{\"resourceType\":\"Task\",\"id\":\"t1\",\"status\":\"" status "\",\"intent\":\"order\","     \
    "\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":\"Organization/morso\"}}"

static void test_refused_transition_stores_nothing(void **state)
{
    fixture *f = *state;
    base_data(f);
    put_ok(f, TASK("requested"));
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(put(f, TASK("completed"), &res), SV_ERR_PROCESSING);
    assert_string_equal(expression_of(&res), "Task.status");
    assert_non_null(strstr(res.outcome.issues[0].diagnostics, "'requested' to 'completed'"));
    sv_rest_result_clear(&res);
    json_t *t = current(f, "Task", "t1");
    assert_string_equal(json_string_value(json_object_get(t, "status")), "requested");
    assert_string_equal(json_string_value(json_object_get(json_object_get(t, "meta"), "versionId")),
                        "1");
    json_decref(t);
    /* the allowed path, one step at a time */
    put_ok(f, TASK("accepted"));
    put_ok(f, TASK("in-progress"));
    put_ok(f, TASK("completed"));
    assert_int_equal(put(f, TASK("in-progress"), NULL), SV_ERR_PROCESSING);
}

static void test_patch_and_transaction_are_checked(void **state)
{
    fixture *f = *state;
    base_data(f);
    put_ok(f, TASK("requested"));
    json_t *patch = parse("[{\"op\":\"replace\",\"path\":\"/status\",\"value\":\"completed\"}]");
    sv_rest_result res;
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_patch(&f->rest, "Task", "t1", patch, NULL, &res), SV_ERR_PROCESSING);
    assert_string_equal(expression_of(&res), "Task.status");
    sv_rest_result_clear(&res);
    json_decref(patch);
    /* a transaction with one good and one refused entry changes nothing */
    json_t *bundle =
        parse("{\"resourceType\":\"Bundle\",\"type\":\"transaction\",\"entry\":["
              "{\"resource\":{\"resourceType\":\"Patient\",\"id\":\"p2\"},"
              "\"request\":{\"method\":\"PUT\",\"url\":\"Patient/p2\"}},"
              "{\"resource\":" TASK(
                  "in-progress") ",\"request\":{\"method\":\"PUT\",\"url\":\"Task/t1\"}}"
                                 "]}");
    sv_rest_result_init(&res);
    sv_err e = sv_bundle_process(&f->rest, bundle, &res);
    assert_int_equal(e, SV_ERR_PROCESSING);
    int found = 0;
    for (size_t i = 0; i < res.outcome.len; i++)
        found += res.outcome.issues[i].expression &&
                 strcmp(res.outcome.issues[i].expression, "Bundle.entry[1].resource.status") == 0;
    assert_true(found > 0);
    sv_rest_result_clear(&res);
    json_decref(bundle);
    sv_rest_result_init(&res);
    assert_int_equal(sv_rest_read(&f->rest, "Patient", "p2", &res), SV_ERR_NOT_FOUND);
    sv_rest_result_clear(&res);
}

/* Creates a Task with a deadline rule and returns restriction.period.end. */
static char *deadline_for(fixture *f, const char *authored, int amount, const char *unit,
                          const char *country, bool eod, sv_err *ret_e, char *ret_expr)
{
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"resourceType\":\"Task\",\"id\":\"d1\",\"status\":\"requested\",\"intent\":"
             "\"order\",\"authoredOn\":\"%s\",\"extension\":[{\"url\":\"" SV_EXT_DEADLINE_RULE
             "\",\"extension\":[{\"url\":\"amount\",\"valueInteger\":%d},{\"url\":\"unit\","
             "\"valueCode\":\"%s\"},{\"url\":\"country\",\"valueCode\":\"%s\"}%s]}]}",
             authored, amount, unit, country,
             eod ? ",{\"url\":\"endOfDay\",\"valueBoolean\":true}" : "");
    /* a new resource each time: the rule applies when the end is absent */
    sv_rest_result res;
    sv_rest_result_init(&res);
    sv_rest_delete(&f->rest, "Task", "d1", NULL, &res);
    sv_rest_result_clear(&res);
    sv_rest_result_init(&res);
    *ret_e = put(f, text, &res);
    char *end = NULL;
    if (!*ret_e) {
        json_t *t = parse(res.body.ptr);
        end = strdup(json_string_value(
            json_object_get(json_object_get(json_object_get(t, "restriction"), "period"), "end")));
        json_decref(t);
    } else if (ret_expr) {
        snprintf(ret_expr, 64, "%s", expression_of(&res));
    }
    sv_rest_result_clear(&res);
    return end;
}

static void test_deadline_rules(void **state)
{
    fixture *f = *state;
    /* hand-computed: Easter 2026 is 5 April */
    static const struct {
        const char *authored;
        int amount;
        const char *unit, *country;
        bool eod;
        const char *want;
    } cases[] = {
        /* DK: skærtorsdag 2/4, langfredag 3/4, 2. påskedag 6/4 are holidays */
        {"2026-04-01T10:00:00+02:00", 3, "working-days", "DK", false,
         "2026-04-09T10:00:00.000+02:00"},
        /* SE: skärtorsdag is a working day; långfredag and annandag påsk are not */
        {"2026-04-01T10:00:00+02:00", 3, "working-days", "SE", false,
         "2026-04-08T10:00:00.000+02:00"},
        /* 24 hours across the spring switch (29 March): 25 hours of wall clock */
        {"2026-03-28T12:00:00+01:00", 24, "hours", "DK", false, "2026-03-29T13:00:00.000+02:00"},
        /* one calendar day across it: the same wall-clock time */
        {"2026-03-28T12:00:00+01:00", 1, "calendar-days", "SE", false,
         "2026-03-29T12:00:00.000+02:00"},
        /* 7 calendar days, end of day (the rehabilitation-plan deadline, Sundhedsloven §140) */
        {"2026-03-27T11:00:00+01:00", 7, "calendar-days", "DK", true,
         "2026-04-03T23:59:59.999+02:00"},
        /* a Saturday notice counts from Monday; Christmas in DK */
        {"2026-12-19T09:00:00+01:00", 3, "working-days", "DK", false,
         "2026-12-28T00:00:00.000+01:00"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sv_err e;
        char *end = deadline_for(f, cases[i].authored, cases[i].amount, cases[i].unit,
                                 cases[i].country, cases[i].eod, &e, NULL);
        if (e || !end || strcmp(end, cases[i].want) != 0)
            fail_msg("case %zu: %s %d %s %s: got %s, want %s", i, cases[i].authored,
                     cases[i].amount, cases[i].unit, cases[i].country, end ? end : sv_strerror(e),
                     cases[i].want);
        free(end);
    }
    sv_err e;
    char expr[64] = "";
    assert_null(deadline_for(f, "2026-04-01T10:00:00+02:00", 3, "weeks", "DK", false, &e, expr));
    assert_int_equal(e, SV_ERR_PROCESSING);
    assert_string_equal(expr, "Task.extension[0]");
    assert_null(deadline_for(f, "2026-04-01T10:00:00+02:00", 3, "hours", "NO", false, &e, expr));
    assert_int_equal(e, SV_ERR_PROCESSING);
}

static void test_given_deadline_is_kept_and_authored_filled(void **state)
{
    fixture *f = *state;
    put_ok(f, "{\"resourceType\":\"Task\",\"id\":\"k\",\"status\":\"requested\",\"intent\":"
              "\"order\",\"restriction\":{\"period\":{\"end\":\"2026-05-01T12:00:00+02:00\"}},"
              "\"extension\":[{\"url\":\"" SV_EXT_DEADLINE_RULE "\",\"extension\":[{\"url\":"
              "\"amount\",\"valueInteger\":1},{\"url\":\"unit\",\"valueCode\":\"hours\"},{\"url\":"
              "\"country\",\"valueCode\":\"DK\"}]}]}");
    json_t *t = current(f, "Task", "k");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(t, "restriction"), "period"), "end")),
                        "2026-05-01T12:00:00+02:00");
    json_decref(t);
    put_ok(f, "{\"resourceType\":\"Task\",\"id\":\"k2\",\"status\":\"requested\",\"intent\":"
              "\"order\",\"extension\":[{\"url\":\"" SV_EXT_DEADLINE_RULE "\",\"extension\":[{"
              "\"url\":\"amount\",\"valueInteger\":2},{\"url\":\"unit\",\"valueCode\":\"hours\"},"
              "{\"url\":\"country\",\"valueCode\":\"DK\"}]}]}");
    t = current(f, "Task", "k2");
    /* no authoredOn: the clock's now (2026-03-27T10:00Z) is the start, and is kept */
    assert_string_equal(json_string_value(json_object_get(t, "authoredOn")),
                        "2026-03-27T10:00:00.000Z");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(t, "restriction"), "period"), "end")),
                        "2026-03-27T13:00:00.000+01:00");
    json_decref(t);
}

static void test_jobs_and_notices(void **state)
{
    fixture *f = *state;
    base_data(f);
    put_ok(f, "{\"resourceType\":\"Task\",\"id\":\"j\",\"status\":\"requested\",\"intent\":"
              "\"order\",\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":"
              "\"Organization/morso\"},\"restriction\":{\"period\":{\"end\":"
              "\"2026-04-01T12:00:00+02:00\"}}}");
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM coord_job WHERE resource_id = 'j'"), 2);
    assert_int_equal(notices(f, SV_NOTICE_TASK_NEW, NULL, "Organization/morso"), 1);
    /* reassigned to a person: that person's inbox and their organisation's */
    put_ok(f, "{\"resourceType\":\"Task\",\"id\":\"j\",\"status\":\"accepted\",\"intent\":"
              "\"order\",\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":"
              "\"PractitionerRole/birgit\"},\"restriction\":{\"period\":{\"end\":"
              "\"2026-04-01T12:00:00+02:00\"}}}");
    assert_int_equal(
        notices(f, SV_NOTICE_TASK_REASSIGNED, "PractitionerRole/birgit", "Organization/morso"), 1);
    /* the same owner again: no new notice; the jobs are replaced, not added */
    put_ok(f, "{\"resourceType\":\"Task\",\"id\":\"j\",\"status\":\"in-progress\",\"intent\":"
              "\"order\",\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":"
              "\"PractitionerRole/birgit\"},\"restriction\":{\"period\":{\"end\":"
              "\"2026-04-01T12:00:00+02:00\"}}}");
    assert_int_equal(notices(f, SV_NOTICE_TASK_REASSIGNED, NULL, NULL), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM coord_job WHERE resource_id = 'j'"), 2);
    /* done: no jobs left */
    put_ok(f, "{\"resourceType\":\"Task\",\"id\":\"j\",\"status\":\"completed\",\"intent\":"
              "\"order\",\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":"
              "\"PractitionerRole/birgit\"},\"restriction\":{\"period\":{\"end\":"
              "\"2026-04-01T12:00:00+02:00\"}}}");
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM coord_job WHERE resource_id = 'j'"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transition_table),
        cmocka_unit_test_setup_teardown(test_refused_transition_stores_nothing, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_patch_and_transaction_are_checked, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_deadline_rules, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_given_deadline_is_kept_and_authored_filled,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_jobs_and_notices, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
