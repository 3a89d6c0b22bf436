/*
 * test_feed.c - the stay rules of a MedCom message in the message's own
 * transaction (sv_stays_feed_event as medcom's apply hook, api.c's wiring): the
 * rules get the Encounter the message wrote and act once; and a failure inside
 * the rules, wherever it strikes, leaves the message applied and its row for the
 * drain (sv_stays_feed), which then acts on it - never half the rules' writes:
 * the rules run without a savepoint, and medcom's writer undoes the transaction
 * and applies the message again without them.  test_feed_postgres.c runs the same
 * on PostgreSQL, where a failed statement aborts the whole transaction.
 */
#include "helpers.h"

#include "medcom/medcom.h"

static int fault_at; /* 0: none; else the nth db call from the hook on fails */

static sv_err hook(void *ctx, sv_rest *r, const sv_medcom_event *ev, bool *ret_handled)
{
    if (fault_at > 0)
        sv_db_fault_inject(r->db, fault_at, SV_ERR_IO);
    sv_err e = sv_stays_feed_event(r, ctx, ev, ret_handled, NULL);
    bool fired = fault_at > 0 && !sv_db_fault_pending(r->db);
    sv_db_fault_inject(r->db, 0, SV_OK);
    if (fired) /* inside the rules: failed, to be undone (-1), or a read they did without (-2) */
        fault_at = e ? -1 : -2;
    return e;
}

static json_t *message_of(const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/tests/data/medcom/%s", SV_SOURCE_DIR, name);
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j)
        fail_msg("%s: %s", name, err.text);
    return j;
}

static json_t *message(void)
{
    return message_of("a1_stin.json");
}

static const char *process(fixture *f, json_t *m)
{
    static char code[32];
    sv_rest r = f->rest;
    r.hooks = sv_coord_hooks(); /* as api/message_routes.c */
    sv_medcom_result res;
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&r, m, &res), SV_OK);
    snprintf(code, sizeof(code), "%s", res.code ? res.code : "");
    sv_medcom_result_clear(&res);
    return code;
}

static void citizen(fixture *f)
{
    dk_data(f);
    put_ok(f, "{\"resourceType\":\"Patient\",\"id\":\"pa\",\"identifier\":[{\"system\":"
              "\"urn:oid:1.2.208.176.1.2\",\"value\":\"0101401234\"}],\"managingOrganization\":"
              "{\"reference\":\"Organization/morso\"}}");
}

static int64_t count(fixture *f, const char *sql)
{
    return tmpdb_int(f->db, sql);
}

static void test_acted_on_in_the_message(void **state)
{
    fixture *f = *state;
    citizen(f);
    sv_medcom_set_apply_hook(hook, rules);
    fault_at = 0;
    json_t *m = message();
    assert_string_equal(process(f, m), "ok");
    json_decref(m);
    sv_medcom_set_apply_hook(NULL, NULL);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM medcom_event WHERE handled = 1"), 1);
    assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/morso"), 1);
    /* the stay event names the version of the Encounter the message wrote */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM stay_event e JOIN resource r ON"
                              " r.type = 'Encounter' AND r.id = e.encounter_id AND"
                              " r.version = e.encounter_version WHERE e.source = 'medcom'"),
                     1);
    sv_buf err = SV_BUF_INIT;
    int done = -1;
    assert_int_equal(sv_stays_feed(&f->rest, rules, &done, &err), SV_OK);
    sv_buf_release(&err);
    assert_int_equal(done, 0); /* once */
}

static void test_a_rules_failure_leaves_the_message(void **state)
{
    (void)state;
    int undone = 0;
    for (int nth = 1; nth < 200; nth++) {
        fixture *f = NULL;
        stay_setup((void **)&f);
        citizen(f);
        sv_medcom_set_apply_hook(hook, rules);
        fault_at = nth;
        json_t *m = message();
        const char *code = process(f, m);
        int outcome = fault_at;
        bool fired = outcome < 0 || !strcmp(code, "transient-error");
        fault_at = 0;
        sv_medcom_set_apply_hook(NULL, NULL);
        if (outcome == -1) {
            /* the message stands; nothing of the rules does; the row waits */
            assert_string_equal(code, "ok");
            assert_int_equal(count(f, "SELECT COUNT(*) FROM resource WHERE type = 'Encounter'"), 1);
            assert_int_equal(count(f, "SELECT COUNT(*) FROM medcom_event WHERE handled = 0"), 1);
            assert_int_equal(count(f, "SELECT COUNT(*) FROM stay_event"), 0);
            assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/morso"), 0);
            sv_buf err = SV_BUF_INIT;
            int done = -1;
            assert_int_equal(sv_stays_feed(&f->rest, rules, &done, &err), SV_OK);
            sv_buf_release(&err);
            assert_int_equal(done, 1);
            undone++;
        } else if (fired && outcome != -2) {
            /* before the rules' savepoint: the whole message is retried later */
            assert_string_equal(code, "transient-error");
            assert_int_equal(count(f, "SELECT COUNT(*) FROM medcom_event"), 0);
        }
        if (!fired || outcome < 0) { /* acted on once, now or by the drain */
            assert_int_equal(notices(f, "stay-admitted", NULL, "Organization/morso"), 1);
            assert_int_equal(count(f, "SELECT COUNT(*) FROM medcom_event WHERE handled = 1"), 1);
            assert_int_equal(count(f, "SELECT COUNT(*) FROM stay_event"), 1);
        }
        json_decref(m);
        fixture_teardown((void **)&f);
        if (!fired)
            break;
    }
    assert_true(undone > 5);
}

/* The event row is written claimed for the rules (medcom/process.c): when they do
 * not act on it - an earlier row of the stay waits, or the event is no stay's - it
 * is left unhandled, for the drain or its own consumer. */
static void test_rows_the_rules_leave_wait(void **state)
{
    fixture *f = *state;
    citizen(f);
    json_t *m = message(); /* without the rules: its row waits for the drain */
    assert_string_equal(process(f, m), "ok");
    json_decref(m);
    sv_medcom_set_apply_hook(hook, rules);
    fault_at = 0;
    m = message_of("a2_stor.json"); /* the same stay: must wait for the first */
    assert_string_equal(process(f, m), "ok");
    json_decref(m);
    m = message_of("t1_cc_new.json"); /* no stay's event */
    assert_string_equal(process(f, m), "ok");
    json_decref(m);
    sv_medcom_set_apply_hook(NULL, NULL);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM medcom_event WHERE handled = 0"), 3);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM stay_event"), 0);
    sv_buf err = SV_BUF_INIT;
    int done = -1;
    assert_int_equal(sv_stays_feed(&f->rest, rules, &done, &err), SV_OK);
    sv_buf_release(&err);
    assert_int_equal(done, 2); /* the stay's two, in order; the message's row is not the feed's */
    assert_int_equal(count(f, "SELECT COUNT(*) FROM stay_event"), 2);
    assert_int_equal(count(f, "SELECT COUNT(*) FROM medcom_event WHERE handled = 0 AND kind"
                              " NOT LIKE 'encounter.%'"),
                     1);
}

int main(void)
{
    TMPDB_SKIP_WITHOUT_BACKEND("stays/test_feed_postgres");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_acted_on_in_the_message, stay_setup, fixture_teardown),
        cmocka_unit_test(test_a_rules_failure_leaves_the_message),
        cmocka_unit_test_setup_teardown(test_rows_the_rules_leave_wait, stay_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, rules_setup, rules_teardown);
}
