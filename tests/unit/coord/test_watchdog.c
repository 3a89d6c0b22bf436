/*
 * test_watchdog.c - the watchdog with a pinned clock (no sleeps): nothing
 * before its time, the reminder a day before the deadline, at the deadline the
 * overdue mark, the owner's notice and the escalation to the coordinator and
 * the organisation's lead; each job once; a failure in the middle (injected at
 * the commit, as a crash would) leaves the job for the next tick; two
 * processes ticking on one database fire each job exactly once.  Also run on
 * PostgreSQL (test_watchdog_postgres.c), where the ticks claim with
 * FOR UPDATE SKIP LOCKED before they wait for the write lock.
 */
#include "fixture.h"

#include <sys/wait.h>
#include <unistd.h>

#include "coord/watchdog.h"

static void team_and_task(fixture *f, const char *task_id)
{
    base_data(f);
    put_ok(f, "{\"resourceType\":\"CareTeam\",\"id\":\"team\",\"status\":\"active\",\"category\":"
              "[{\"coding\":[{\"system\":\"" SV_SYS_CARE_TEAM_CATEGORY "\",\"code\":"
              "\"coordination\"}]}],\"subject\":{\"reference\":\"Patient/p1\"},\"participant\":"
              "[{\"role\":[{\"coding\":[{\"system\":\"" SV_SYS_CARE_TEAM_ROLE "\",\"code\":"
              "\"coordinator\"}]}],\"member\":{\"reference\":\"PractitionerRole/anne-ry\"}}]}");
    char text[600];
    snprintf(text, sizeof(text),
             "{\"resourceType\":\"Task\",\"id\":\"%s\",\"status\":\"requested\",\"intent\":"
             "\"order\",\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":"
             "\"Organization/morso\"},\"restriction\":{\"period\":{\"end\":"
             "\"2026-04-01T12:00:00+02:00\"}}}",
             task_id);
    put_ok(f, text);
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

static bool is_overdue(fixture *f, const char *id)
{
    json_t *t = current(f, "Task", id);
    const char *code = json_string_value(json_object_get(
        json_array_get(json_object_get(json_object_get(t, "businessStatus"), "coding"), 0),
        "code"));
    bool overdue = code && strcmp(code, "overdue") == 0;
    json_decref(t);
    return overdue;
}

static void test_reminder_overdue_escalation(void **state)
{
    fixture *f = *state;
    team_and_task(f, "t1");
    sv_coord_tick_stats st = tick(f);
    assert_int_equal(st.jobs, 0);
    /* the deadline is 10:00Z on 1 April; the reminder is due a day before */
    sv_clock_set_fixed(at("2026-03-31T09:59:59Z"));
    assert_int_equal(tick(f).jobs, 0);
    sv_clock_set_fixed(at("2026-03-31T10:00:00Z"));
    st = tick(f);
    assert_int_equal(st.reminders, 1);
    assert_int_equal(notices(f, SV_NOTICE_TASK_REMINDER, NULL, "Organization/morso"), 1);
    assert_int_equal(tick(f).jobs, 0); /* once */
    assert_false(is_overdue(f, "t1"));
    sv_clock_set_fixed(at("2026-04-01T10:00:00Z"));
    st = tick(f);
    assert_int_equal(st.overdue, 1);
    assert_int_equal(st.escalations, 2); /* the coordinator and the lead */
    assert_true(is_overdue(f, "t1"));
    assert_int_equal(notices(f, SV_NOTICE_TASK_OVERDUE, NULL, "Organization/morso"), 1);
    assert_int_equal(notices(f, SV_NOTICE_TASK_ESCALATED, "PractitionerRole/anne-ry", NULL), 1);
    assert_int_equal(notices(f, SV_NOTICE_TASK_ESCALATED, "PractitionerRole/lead", NULL), 1);
    sv_clock_set_fixed(at("2026-04-02T10:00:00Z"));
    st = tick(f);
    assert_int_equal(st.jobs, 0);
    assert_int_equal(notices(f, SV_NOTICE_TASK_ESCALATED, NULL, NULL), 2);
}

static void test_done_or_moved_task_is_skipped(void **state)
{
    fixture *f = *state;
    team_and_task(f, "t2");
    /* moved later: the old jobs are replaced, the new ones fire at the new time */
    put_ok(f, "{\"resourceType\":\"Task\",\"id\":\"t2\",\"status\":\"accepted\",\"intent\":"
              "\"order\",\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":"
              "\"Organization/morso\"},\"restriction\":{\"period\":{\"end\":"
              "\"2026-04-10T12:00:00+02:00\"}}}");
    sv_clock_set_fixed(at("2026-04-01T10:00:00Z"));
    assert_int_equal(tick(f).jobs, 0);
    assert_false(is_overdue(f, "t2"));
    put_ok(f, "{\"resourceType\":\"Task\",\"id\":\"t2\",\"status\":\"cancelled\",\"intent\":"
              "\"order\",\"for\":{\"reference\":\"Patient/p1\"},\"owner\":{\"reference\":"
              "\"Organization/morso\"},\"restriction\":{\"period\":{\"end\":"
              "\"2026-04-10T12:00:00+02:00\"}}}");
    sv_clock_set_fixed(at("2026-04-11T10:00:00Z"));
    assert_int_equal(tick(f).jobs, 0);
    assert_int_equal(notices(f, SV_NOTICE_TASK_OVERDUE, NULL, NULL), 0);
}

static void test_failure_in_the_middle_leaves_the_job(void **state)
{
    fixture *f = *state;
    team_and_task(f, "t3");
    sv_clock_set_fixed(at("2026-03-31T10:00:00Z"));
    assert_int_equal(tick(f).reminders, 1); /* so that one job is left: the overdue one */
    sv_clock_set_fixed(at("2026-04-01T10:00:00Z"));
    /* find the call count of a whole tick, then fail each call in turn: whatever
     * fails, the job either fired completely or not at all, and the next tick
     * (a restart) completes it exactly once */
    for (int nth = 1; nth < 300; nth++) {
        sv_db_fault_inject(f->db, nth, SV_ERR_IO);
        sv_coord_tick_stats st;
        sv_err e = sv_coord_watchdog_tick(&f->rest, "test", &st, NULL);
        bool fired = !sv_db_fault_pending(f->db);
        sv_db_fault_inject(f->db, 0, SV_OK);
        /* all of the job or none of it */
        int64_t told = notices(f, SV_NOTICE_TASK_OVERDUE, NULL, NULL);
        int64_t escalated = notices(f, SV_NOTICE_TASK_ESCALATED, NULL, NULL);
        bool marked = is_overdue(f, "t3");
        bool done = told == 1 && escalated == 2 && marked &&
                    tmpdb_int(f->db, "SELECT COUNT(*) FROM coord_job WHERE claimed IS NULL") == 0;
        bool untouched =
            told == 0 && escalated == 0 && !marked &&
            tmpdb_int(f->db, "SELECT COUNT(*) FROM coord_job WHERE claimed IS NULL") == 1;
        if (!done && !untouched)
            fail_msg("a tick failing at call %d left half a job (%s)", nth, sv_strerror(e));
        if (!fired || done) /* the tick ran whole, or the job committed before the fault */
            break;
        assert_int_not_equal(e, SV_OK);
    }
    assert_int_equal(tick(f).jobs, 0);
    assert_true(is_overdue(f, "t3"));
    assert_int_equal(notices(f, SV_NOTICE_TASK_OVERDUE, NULL, NULL), 1);
}

static void test_two_processes_fire_each_job_once(void **state)
{
    fixture *f = *state;
    base_data(f);
    for (int i = 0; i < 20; i++) {
        char text[600];
        snprintf(text, sizeof(text),
                 "{\"resourceType\":\"Task\",\"id\":\"m%d\",\"status\":\"requested\",\"intent\":"
                 "\"order\",\"owner\":{\"reference\":\"Organization/morso\"},\"restriction\":{"
                 "\"period\":{\"end\":\"2026-04-01T12:00:00+02:00\"}}}",
                 i);
        put_ok(f, text);
    }
    sv_clock_set_fixed(at("2026-04-02T10:00:00Z"));
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
            _exit(e ? 255 : st.overdue);
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
    assert_int_equal(notices(f, SV_NOTICE_TASK_OVERDUE, NULL, NULL), 20);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM coord_job WHERE claimed IS NULL"), 0);
}

int main(void)
{
#ifdef TMPDB_POSTGRES
    TMPDB_SKIP_WITHOUT_BACKEND("coord/test_watchdog_postgres");
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reminder_overdue_escalation, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_done_or_moved_task_is_skipped, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_failure_in_the_middle_leaves_the_job, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_two_processes_fire_each_job_once, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
