/*
 * test_batch.c - messages that arrive together are applied in one transaction
 * (src/medcom/process.c).  Eight threads, each on its own connection to one
 * database file, submit at once while the writer waits for them
 * (sv_medcom_set_batch_wait), so that all eight land in one batch: two of them
 * refused for their content (each a new citizen created, then the stay found to be
 * another citizen's), one a duplicate of another in the same batch.  The batch is
 * undone and done again without each refusal: the refused leave nothing but their
 * log line, the others keep everything, and a resend of a refused one gets its
 * fatal-error again.  test_batch_postgres.c runs it on PostgreSQL.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "helpers.h"

#define SENDERS 8

/* An admission: message n, stay episode, citizen CPR 010140 + serial (even: female). */
static json_t *admission(int n, const char *episode, int serial)
{
    FILE *fp = fopen(MEDCOM_DATA "a1_stin.json", "r");
    assert_non_null(fp);
    sv_buf text = SV_BUF_INIT;
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        sv_buf_add(&text, chunk, got);
    fclose(fp);
    char id[40], cpr[11];
    snprintf(id, sizeof(id), "a0000000-0000-4000-8000-%012d", n);
    snprintf(cpr, sizeof(cpr), "010140%04d", serial);
    const struct {
        const char *from, *to;
    } subs[] = {
        {"a0000000-0000-4000-8000-000000000001", id}, {"episode-A", episode}, {"0101401234", cpr}};
    sv_buf out = SV_BUF_INIT;
    const char *p = text.ptr;
    while (*p) {
        size_t i = 0;
        for (; i < sizeof(subs) / sizeof(subs[0]); i++)
            if (strncmp(p, subs[i].from, strlen(subs[i].from)) == 0)
                break;
        if (i < sizeof(subs) / sizeof(subs[0])) {
            sv_buf_adds(&out, subs[i].to);
            p += strlen(subs[i].from);
        } else {
            sv_buf_add(&out, p++, 1);
        }
    }
    json_error_t err;
    json_t *m = json_loads(out.ptr, 0, &err);
    assert_non_null(m);
    sv_buf_release(&text);
    sv_buf_release(&out);
    return m;
}

typedef struct sender {
    fixture *f;
    pthread_barrier_t *start;
    json_t *message;
    sv_medcom_result res;
    sv_err e;
} sender;

static void *send_one(void *arg)
{
    sender *s = arg;
    sv_db *db = tmpdb_open(&s->f->file, 10000);
    sv_rest r = s->f->rest;
    r.db = db;
    sv_medcom_result_init(&s->res);
    pthread_barrier_wait(s->start);
    s->e = sv_medcom_process(&r, s->message, &s->res);
    sv_db_close(db);
    return NULL;
}

static int64_t patients_with_cpr(fixture *f, int serial)
{
    char sql[200];
    snprintf(sql, sizeof(sql),
             "SELECT COUNT(*) FROM idx_token t JOIN resource r ON r.rid = t.rid"
             " WHERE r.type = 'Patient' AND t.param = 'identifier' AND t.value = '010140%04d'",
             serial);
    return tmpdb_int(f->db, sql);
}

static void test_refusals_in_one_batch(void **state)
{
    fixture *f = fixture_new();
    (void)state;
    json_t *first = admission(1, "episode-0", 1300);
    sv_medcom_result res;
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&f->rest, first, &res), SV_OK);
    assert_string_equal(res.code, "ok");
    sv_medcom_result_clear(&res);
    json_decref(first);

    sv_medcom_writer_stats before, after;
    sv_medcom_writer_stats_get(&before);
    sv_medcom_set_batch_wait(500); /* the first of the eight waits for the others */
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, SENDERS);
    sender senders[SENDERS];
    pthread_t threads[SENDERS];
    for (int i = 0; i < SENDERS; i++) {
        char episode[32];
        snprintf(episode, sizeof(episode), "episode-b-%d", i);
        senders[i] = (sender){.f = f, .start = &start};
        if (i == 0) /* refused: the stay is 1300's */
            senders[i].message = admission(2, "episode-0", 1302);
        else if (i == 6) /* refused, after others */
            senders[i].message = admission(3, "episode-0", 1304);
        else if (i == 7) /* message 10 (sender 1's) again */
            senders[i].message = admission(10, "episode-b-1", 1310);
        else
            senders[i].message = admission(9 + i, episode, 1308 + 2 * i);
    }
    for (int i = 0; i < SENDERS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, send_one, &senders[i]), 0);
    for (int i = 0; i < SENDERS; i++)
        pthread_join(threads[i], NULL);
    sv_medcom_set_batch_wait(0);
    pthread_barrier_destroy(&start);
    sv_medcom_writer_stats_get(&after);

    /* one batch of eight (the waiting writer took them all), two refusals; on
     * PostgreSQL each connection is its own writer (transactions run side by side
     * there), so each message is a batch of its own */
#ifdef TMPDB_POSTGRES
    assert_int_equal(after.batches - before.batches, SENDERS);
#else
    assert_int_equal(after.batches - before.batches, 1);
#endif
    assert_int_equal(after.messages - before.messages, SENDERS);
    assert_int_equal(after.refusals - before.refusals, 2);
    for (int i = 0; i < SENDERS; i++)
        assert_int_equal(senders[i].e, SV_OK);
    assert_string_equal(senders[0].res.code, "fatal-error");
    assert_string_equal(senders[6].res.code, "fatal-error");
    assert_non_null(strstr(senders[6].res.body.ptr, "does not match the citizen of this stay"));
    for (int i = 1; i <= 5; i++)
        assert_string_equal(senders[i].res.code, "ok");
    /* the duplicate got the answer to the first of the two */
    assert_string_equal(senders[7].res.code, "ok");
    assert_true(senders[1].res.duplicate != senders[7].res.duplicate);
    assert_string_equal(senders[7].res.body.ptr, senders[1].res.body.ptr);

    assert_int_equal(patients_with_cpr(f, 1302), 0);
    assert_int_equal(patients_with_cpr(f, 1304), 0);
    for (int i = 1; i <= 5; i++)
        assert_int_equal(patients_with_cpr(f, 1308 + 2 * i), 1);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource WHERE type = 'Patient'"), 6);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource WHERE type = 'Encounter'"), 6);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM medcom_event"), 6);
    assert_int_equal(
        tmpdb_int(f->db, "SELECT COUNT(*) FROM medcom_message WHERE code = 'fatal-error'"), 2);

    /* a resend of a refused message: its fatal-error again, nothing changed */
    json_t *again = admission(2, "episode-0", 1302);
    sv_medcom_result_init(&res);
    assert_int_equal(sv_medcom_process(&f->rest, again, &res), SV_OK);
    assert_true(res.duplicate);
    assert_string_equal(res.body.ptr, senders[0].res.body.ptr);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource WHERE type = 'Patient'"), 6);
    sv_medcom_result_clear(&res);
    json_decref(again);

    for (int i = 0; i < SENDERS; i++) {
        sv_medcom_result_clear(&senders[i].res);
        json_decref(senders[i].message);
    }
    fixture_free(f);
}

/* A batch on an empty database whose first message creates the two organisations
 * (and the stay) and whose second is refused (the stay is another citizen's): the
 * batch is undone and done again, and the first message creates them again rather
 * than naming the ones the undone pass made (medcom/parties.c keeps the
 * organisations a transaction found only for that transaction). */
static void test_organisations_of_an_undone_batch(void **state)
{
    fixture *f = fixture_new();
    (void)state;
    sv_medcom_set_batch_wait(500);
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, 2);
    sender senders[2];
    pthread_t threads[2];
    for (int i = 0; i < 2; i++) {
        senders[i] = (sender){.f = f, .start = &start};
        senders[i].message = admission(20 + i, "episode-u", 1400 + 2 * i);
    }
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, send_one, &senders[i]), 0);
    for (int i = 0; i < 2; i++)
        pthread_join(threads[i], NULL);
    sv_medcom_set_batch_wait(0);
    pthread_barrier_destroy(&start);
    int ok = 0;
    for (int i = 0; i < 2; i++) {
        assert_int_equal(senders[i].e, SV_OK);
        ok += strcmp(senders[i].res.code, "ok") == 0;
    }
    assert_int_equal(ok, 1);
    /* the sender and the receiver, each once, and every link and reference to one */
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM resource WHERE type ="
                                      " 'Organization' AND deleted = 0"),
                     2);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM medcom_link l WHERE l.type ="
                                      " 'Organization' AND NOT EXISTS (SELECT 1 FROM resource r"
                                      " WHERE r.type = 'Organization' AND r.id = l.id)"),
                     0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_reference x JOIN resource r"
                                      " ON r.rid = x.rid WHERE r.type = 'Encounter' AND"
                                      " x.target_type = 'Organization' AND NOT EXISTS (SELECT 1"
                                      " FROM resource o WHERE o.type = 'Organization' AND"
                                      " o.id = x.target_id)"),
                     0);
    assert_int_equal(tmpdb_int(f->db, "SELECT COUNT(*) FROM idx_reference x JOIN resource r"
                                      " ON r.rid = x.rid WHERE r.type = 'Encounter' AND"
                                      " x.target_type = 'Organization'"),
                     1);
    for (int i = 0; i < 2; i++) {
        sv_medcom_result_clear(&senders[i].res);
        json_decref(senders[i].message);
    }
    fixture_free(f);
}

int main(void)
{
#ifdef TMPDB_POSTGRES
    TMPDB_SKIP_WITHOUT_BACKEND("medcom/test_batch_postgres");
#endif
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refusals_in_one_batch),
        cmocka_unit_test(test_organisations_of_an_undone_batch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
