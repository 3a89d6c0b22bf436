/*
 * test_reminder.c - citizen reminders: the next occurrence of a Timing (daily,
 * weekly on given days, every other week, bounds, events, across the switch to
 * summer time), checked against hand-written instants; and the watchdog job a
 * plan's citizen activities make: fired at the occurrence, told to the citizen
 * only, rescheduled to the next one, gone when the activity is done.
 */
#include "fixture.h"

#include <sys/wait.h>
#include <unistd.h>

#include "coord/reminder.h"
#include "coord/watchdog.h"

static int64_t next(const char *timing, const char *after)
{
    json_t *t = parse(timing);
    int64_t n = sv_coord_timing_next(t, at(after));
    json_decref(t);
    return n;
}

static void test_timing_next(void **state)
{
    (void)state;
    const char *daily = "{\"repeat\":{\"frequency\":1,\"period\":1,\"periodUnit\":\"d\","
                        "\"timeOfDay\":[\"08:00:00\"]}}";
    /* Friday 11:00 in Copenhagen: the next 08:00 is Saturday's (UTC+1) */
    assert_true(next(daily, "2026-03-27T10:00:00Z") == at("2026-03-28T07:00:00Z"));
    /* an occurrence itself is not "after" */
    assert_true(next(daily, "2026-03-28T07:00:00Z") == at("2026-03-29T06:00:00Z"));
    /* Sunday 29 March 2026 is the switch to summer time: 08:00 is UTC+2 */
    assert_true(next(daily, "2026-03-28T08:00:00Z") == at("2026-03-29T06:00:00Z"));
    /* and back in October: Sunday 25 October 2026 08:00 is UTC+1 again */
    assert_true(next(daily, "2026-10-24T07:00:00Z") == at("2026-10-25T07:00:00Z"));
    const char *mwf = "{\"repeat\":{\"frequency\":1,\"period\":1,\"periodUnit\":\"wk\","
                      "\"dayOfWeek\":[\"mon\",\"wed\",\"fri\"],\"timeOfDay\":[\"09:00:00\"]}}";
    assert_true(next(mwf, "2026-03-27T07:59:59Z") == at("2026-03-27T08:00:00Z"));
    assert_true(next(mwf, "2026-03-27T08:00:00Z") == at("2026-03-30T07:00:00Z"));
    /* every other Tuesday from Tuesday 3 March, 10:00 */
    const char *fortnight =
        "{\"repeat\":{\"boundsPeriod\":{\"start\":\"2026-03-03T00:00:00+01:00\"},"
        "\"frequency\":1,\"period\":2,\"periodUnit\":\"wk\","
        "\"dayOfWeek\":[\"tue\"],\"timeOfDay\":[\"10:00:00\"]}}";
    assert_true(next(fortnight, "2026-02-01T00:00:00Z") == at("2026-03-03T09:00:00Z"));
    assert_true(next(fortnight, "2026-03-04T00:00:00Z") == at("2026-03-17T09:00:00Z"));
    assert_true(next(fortnight, "2026-03-17T09:00:00Z") == at("2026-03-31T08:00:00Z"));
    /* two times a day, the earlier first; the bounds end on 28 March */
    const char *bounded =
        "{\"repeat\":{\"boundsPeriod\":{\"end\":\"2026-03-28\"},\"periodUnit\":\"d\","
        "\"timeOfDay\":[\"20:00:00\",\"07:30:00\"]}}";
    assert_true(next(bounded, "2026-03-27T10:00:00Z") == at("2026-03-27T19:00:00Z"));
    assert_true(next(bounded, "2026-03-27T19:00:00Z") == at("2026-03-28T06:30:00Z"));
    assert_true(next(bounded, "2026-03-28T19:00:00Z") == INT64_MIN);
    /* no time of day: 09:00 */
    assert_true(next("{\"repeat\":{\"periodUnit\":\"d\"}}", "2026-03-27T10:00:00Z") ==
                at("2026-03-28T08:00:00Z"));
    /* events */
    assert_true(next("{\"event\":[\"2026-04-02T12:00:00Z\",\"2026-04-01T12:00:00Z\"]}",
                     "2026-03-27T10:00:00Z") == at("2026-04-01T12:00:00Z"));
    /* not reminded: hourly, no repeat */
    assert_true(next("{\"repeat\":{\"periodUnit\":\"h\",\"period\":4}}", "2026-03-27T10:00:00Z") ==
                INT64_MIN);
    assert_true(next("{}", "2026-03-27T10:00:00Z") == INT64_MIN);
}

static sv_coord_tick_stats tick(fixture *f)
{
    sv_coord_tick_stats st;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_coord_watchdog_tick(&f->rest, "test", &st, &err);
    if (e)
        fail_msg("tick: %s %s", sv_strerror(e), err.ptr);
    sv_buf_release(&err);
    return st;
}

#define EXERCISES(status)                                                                          \
    "{\"resourceType\":\"CarePlan\",\"id\":\"cp\",\"status\":\"active\",\"intent\":\"plan\","      \
    "\"subject\":{\"reference\":\"Patient/p1\"},\"activity\":["                                    \
    "{\"detail\":{\"status\":\"" status "\",\"description\":\"home exercises\","                   \
    "\"performer\":[{\"reference\":\"Patient/p1\"}],\"scheduledTiming\":{\"repeat\":"              \
    "{\"periodUnit\":\"d\",\"timeOfDay\":[\"08:00:00\"]}}}},"                                      \
    "{\"detail\":{\"status\":\"scheduled\",\"description\":\"physiotherapy\","                     \
    "\"performer\":[{\"reference\":\"Organization/morso\"}],\"scheduledTiming\":{\"repeat\":"      \
    "{\"periodUnit\":\"d\",\"timeOfDay\":[\"07:00:00\"]}}}}]}"

static void test_plan_reminders(void **state)
{
    fixture *f = *state;
    put_ok(f, "{\"resourceType\":\"Patient\",\"id\":\"p1\"}");
    put_ok(f, "{\"resourceType\":\"Organization\",\"id\":\"morso\"}");
    put_ok(f, EXERCISES("scheduled"));
    /* nothing before Saturday 08:00 local (07:00 UTC); the organisation's own
     * activity at 07:00 local is no citizen reminder */
    sv_clock_set_fixed(at("2026-03-28T06:59:00Z"));
    assert_int_equal(tick(f).citizen_reminders, 0);
    sv_clock_set_fixed(at("2026-03-28T07:00:00Z"));
    sv_coord_tick_stats st = tick(f);
    assert_int_equal(st.citizen_reminders, 1);
    assert_int_equal(notices(f, SV_NOTICE_CITIZEN_REMINDER, "Patient/p1", NULL), 1);
    assert_int_equal(notices(f, SV_NOTICE_CITIZEN_REMINDER, NULL, "Organization/morso"), 0);
    assert_int_equal(tick(f).jobs, 0); /* fired once */
    /* the next is Sunday 08:00 summer time; a server down until Tuesday sends
     * one reminder, not three */
    sv_clock_set_fixed(at("2026-03-31T10:00:00Z"));
    assert_int_equal(tick(f).citizen_reminders, 1);
    assert_int_equal(tick(f).citizen_reminders, 0);
    sv_clock_set_fixed(at("2026-04-01T06:00:00Z"));
    assert_int_equal(tick(f).citizen_reminders, 1);
    assert_int_equal(notices(f, SV_NOTICE_CITIZEN_REMINDER, "Patient/p1", NULL), 3);
    /* done: no more reminders */
    put_ok(f, EXERCISES("completed"));
    sv_clock_set_fixed(at("2026-04-02T06:00:00Z"));
    assert_int_equal(tick(f).jobs, 0);
    assert_int_equal(notices(f, SV_NOTICE_CITIZEN_REMINDER, "Patient/p1", NULL), 3);
}

/* Two processes ticking on one database: each plan's reminder fires once, and
 * each plan keeps exactly one job, the next occurrence. */
static void test_two_processes_remind_once(void **state)
{
    fixture *f = *state;
    put_ok(f, "{\"resourceType\":\"Patient\",\"id\":\"p1\"}");
    for (int i = 0; i < 20; i++) {
        char text[700];
        snprintf(text, sizeof(text),
                 "{\"resourceType\":\"CarePlan\",\"id\":\"cp%d\",\"status\":\"active\","
                 "\"intent\":\"plan\",\"subject\":{\"reference\":\"Patient/p1\"},\"activity\":"
                 "[{\"detail\":{\"status\":\"scheduled\",\"performer\":[{\"reference\":"
                 "\"Patient/p1\"}],\"scheduledTiming\":{\"repeat\":{\"periodUnit\":\"d\","
                 "\"timeOfDay\":[\"08:00:00\"]}}}}]}",
                 i);
        put_ok(f, text);
    }
    sv_clock_set_fixed(at("2026-03-28T07:00:00Z"));
    pid_t kids[2];
    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            sv_db *db = tmpdb_open(&f->file, 30000);
            sv_rest r = f->rest;
            r.db = db;
            sv_coord_tick_stats st;
            sv_err e = sv_coord_watchdog_tick(&r, k ? "two" : "one", &st, NULL);
            sv_db_close(db);
            _exit(e ? 255 : st.citizen_reminders);
        }
    }
    int total = 0;
    for (int k = 0; k < 2; k++) {
        int status = 0;
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_true(WIFEXITED(status));
        assert_int_not_equal(WEXITSTATUS(status), 255);
        total += WEXITSTATUS(status);
    }
    assert_int_equal(total, 20);
    assert_int_equal(notices(f, SV_NOTICE_CITIZEN_REMINDER, "Patient/p1", NULL), 20);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM coord_job WHERE claimed IS NULL"
                                      " AND kind = 'remind-citizen'"),
                     20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timing_next),
        cmocka_unit_test_setup_teardown(test_plan_reminders, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_two_processes_remind_once, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
