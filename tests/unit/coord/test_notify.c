/*
 * test_notify.c - the inbox (coord/notify.c): each inbox finds its notices - a
 * recipient's, an organisation's (most have no recipient, so they are not in the
 * recipient index), a subject's alone - with the unread count; and the statements
 * of a recipient's and an organisation's inbox take their indexes (SQLite plan).
 */
#include "fixture.h"

static void notify(fixture *f, const char *recipient, const char *org, const char *citizen)
{
    sv_coord_notice n = {.recipient = recipient,
                         .organization = org,
                         .kind = SV_NOTICE_STAY_ADMITTED,
                         .citizen = citizen,
                         .resource = "Encounter/e",
                         .text = "admitted"};
    assert_int_equal(sv_coord_notify(f->db, &n, NULL), SV_OK);
}

/* The ids of the inbox's notices, newest first ("3,1"), and its unread count. */
static const char *inbox(fixture *f, const char *recipient, const char *org, const char *citizen,
                         bool unread_only, int64_t *ret_unread)
{
    static char ids[256];
    sv_coord_inbox_query q = {.recipient = recipient,
                              .organization = org,
                              .citizen = citizen,
                              .unread_only = unread_only,
                              .limit = 50};
    json_t *list = NULL;
    assert_int_equal(sv_coord_inbox(f->db, &q, &list, ret_unread, NULL), SV_OK);
    ids[0] = '\0';
    size_t i;
    json_t *n;
    json_array_foreach(list, i, n)
    {
        size_t len = strlen(ids);
        snprintf(ids + len, sizeof(ids) - len, "%s%s", i ? "," : "",
                 json_string_value(json_object_get(n, "id")));
    }
    json_decref(list);
    return ids;
}

static void test_each_inbox_finds_its_notices(void **state)
{
    fixture *f = *state;
    notify(f, NULL, "Organization/muni", "Patient/p1");                     /* 1 */
    notify(f, "PractitionerRole/nurse", "Organization/muni", "Patient/p2"); /* 2 */
    notify(f, "Patient/p1", NULL, "Patient/p1");                            /* 3 */
    notify(f, NULL, "Organization/gp", "Patient/p1");                       /* 4 */
    notify(f, NULL, "Organization/muni", "Patient/p2");                     /* 5 */
    int64_t unread = -1;
    assert_string_equal(inbox(f, NULL, "Organization/muni", NULL, false, &unread), "5,2,1");
    assert_int_equal(unread, 3);
    assert_string_equal(inbox(f, "PractitionerRole/nurse", NULL, NULL, false, &unread), "2");
    assert_int_equal(unread, 1);
    assert_string_equal(inbox(f, "Patient/p1", NULL, NULL, false, &unread), "3");
    assert_string_equal(inbox(f, NULL, NULL, "Patient/p1", false, &unread), "4,3,1");
    assert_int_equal(unread, 3);
    assert_string_equal(inbox(f, NULL, "Organization/muni", "Patient/p2", false, &unread), "5,2");
    assert_string_equal(
        inbox(f, "PractitionerRole/nurse", "Organization/muni", NULL, false, &unread), "2");
    assert_string_equal(inbox(f, "PractitionerRole/nurse", "Organization/gp", NULL, false, &unread),
                        "");
    assert_int_equal(unread, 0);
    assert_string_equal(inbox(f, "Organization/muni", NULL, NULL, false, &unread), "");

    assert_int_equal(sv_coord_notice_mark_read(f->db, 2, NULL), SV_OK);
    assert_string_equal(inbox(f, NULL, "Organization/muni", NULL, true, &unread), "5,1");
    assert_int_equal(unread, 2);
    assert_string_equal(inbox(f, "PractitionerRole/nurse", NULL, NULL, true, &unread), "");
    assert_int_equal(unread, 0);
}

/* The plan of the statement as one text (SQLite). */
static void plan_of(fixture *f, const char *sql, sv_buf *out)
{
    sv_buf text = SV_BUF_INIT;
    sv_buf_addf(&text, "EXPLAIN QUERY PLAN %s", sql);
    sv_stmt *st = NULL;
    assert_int_equal(sv_db_prepare(f->db, text.ptr, &st, NULL), SV_OK);
    for (;;) {
        bool row = false;
        assert_int_equal(sv_stmt_step(st, &row, NULL), SV_OK);
        if (!row)
            break;
        sv_buf_addf(out, "%s\n", sv_stmt_column_text(st, 3, NULL));
    }
    sv_stmt_finalize(st);
    sv_buf_release(&text);
}

static void test_inboxes_take_their_indexes(void **state)
{
    fixture *f = *state;
    if (sv_db_dialect_of(f->db) != SV_DIALECT_SQLITE)
        skip();
    static const struct {
        sv_coord_inbox_query q;
        const char *index;
    } cases[] = {
        {{.recipient = "PractitionerRole/nurse"}, "coord_notification_recipient"},
        {{.recipient = "Patient/p", .citizen = "Patient/p"}, "coord_notification_recipient"},
        {{.organization = "Organization/muni"}, "coord_notification_organization"},
        {{.organization = "Organization/muni", .citizen = "Patient/p"},
         "coord_notification_organization"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        for (int count = 0; count < 2; count++) {
            sv_buf plan = SV_BUF_INIT;
            plan_of(f, sv__coord_inbox_sql(&cases[i].q, count), &plan);
            if (!strstr(plan.ptr, cases[i].index) || strstr(plan.ptr, "SCAN"))
                fail_msg("case %zu (%s): the plan does not take %s:\n%s", i,
                         count ? "count" : "page", cases[i].index, plan.ptr);
            sv_buf_release(&plan);
        }
    }
}

int main(void)
{
    TMPDB_SKIP_WITHOUT_BACKEND("coord/test_notify_postgres");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_inbox_finds_its_notices, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_inboxes_take_their_indexes, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
