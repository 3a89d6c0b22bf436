/*
 * test_metrics.c - base/metrics: requests are counted per (route, status); the
 * histogram is cumulative, ends in +Inf equal to the count, and its sum is the
 * time recorded; a label value with a quote, backslash or line feed is escaped
 * so that it cannot end the label; a NULL route counts as "-".  A route is its
 * text, whatever its address: the same text in two buffers is one route, a buffer
 * whose text changes counts each text as its own route; a route answering with
 * more statuses than are kept without the lock still counts each; requests
 * counted from several threads at once are all counted.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/metrics.h"

static void counts_and_histogram(void **state)
{
    (void)state;
    sv_metrics_reset();
    sv_metrics_request("GET /fhir/:type", 200, 700);     /* 0.7 ms */
    sv_metrics_request("GET /fhir/:type", 200, 30000);   /* 30 ms */
    sv_metrics_request("GET /fhir/:type", 404, 3000000); /* 3 s */
    sv_metrics_request(NULL, 400, 10);
    sv_buf out = SV_BUF_INIT;
    sv_metrics_render_requests(&out);
    const char *t = out.ptr;
    assert_non_null(
        strstr(t, "samverka_http_requests_total{route=\"GET /fhir/:type\",status=\"200\"} 2\n"));
    assert_non_null(
        strstr(t, "samverka_http_requests_total{route=\"GET /fhir/:type\",status=\"404\"} 1\n"));
    assert_non_null(strstr(t, "samverka_http_requests_total{route=\"-\",status=\"400\"} 1\n"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /fhir/:type\",le=\"0.001\"} 1\n"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /fhir/:type\",le=\"0.025\"} 1\n"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /fhir/:type\",le=\"0.05\"} 2\n"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /fhir/:type\",le=\"2.5\"} 2\n"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /fhir/:type\",le=\"5\"} 3\n"));
    assert_non_null(strstr(t, "_bucket{route=\"GET /fhir/:type\",le=\"+Inf\"} 3\n"));
    assert_non_null(strstr(t, "_sum{route=\"GET /fhir/:type\"} 3.030700\n"));
    assert_non_null(strstr(t, "_count{route=\"GET /fhir/:type\"} 3\n"));
    sv_buf_release(&out);
}

static void labels_are_escaped(void **state)
{
    (void)state;
    sv_metrics_reset();
    sv_metrics_request("GET /a\"b\\c\nd", 200, 1);
    sv_buf out = SV_BUF_INIT;
    sv_metrics_render_requests(&out);
    assert_non_null(strstr(out.ptr, "{route=\"GET /a\\\"b\\\\c\\nd\",status=\"200\"} 1\n"));
    sv_buf_release(&out);
}

/* The value of the sample whose line starts with prefix, -1 when none. */
static long long sample(const char *text, const char *prefix)
{
    const char *at = strstr(text, prefix);
    long long v = -1;
    if (at && sscanf(at + strlen(prefix), " %lld", &v) != 1)
        v = -1;
    return v;
}

static void route_is_its_text(void **state)
{
    (void)state;
    sv_metrics_reset();
    char a[32], b[32];
    snprintf(a, sizeof(a), "GET /x");
    snprintf(b, sizeof(b), "GET /x");
    sv_metrics_request(a, 200, 1);
    sv_metrics_request(b, 200, 1);
    sv_metrics_request(a, 200, 1);
    snprintf(a, sizeof(a), "GET /y"); /* the same address, other text */
    sv_metrics_request(a, 200, 1);
    sv_metrics_request(a, 404, 1);
    sv_buf out = SV_BUF_INIT;
    sv_metrics_render_requests(&out);
    assert_int_equal(
        sample(out.ptr, "samverka_http_requests_total{route=\"GET /x\",status=\"200\"}"), 3);
    assert_int_equal(
        sample(out.ptr, "samverka_http_requests_total{route=\"GET /y\",status=\"200\"}"), 1);
    assert_int_equal(
        sample(out.ptr, "samverka_http_requests_total{route=\"GET /y\",status=\"404\"}"), 1);
    assert_int_equal(sample(out.ptr, "_count{route=\"GET /x\"}"), 3);
    assert_int_equal(sample(out.ptr, "_count{route=\"GET /y\"}"), 2);
    sv_buf_release(&out);
}

static void many_statuses(void **state)
{
    (void)state;
    sv_metrics_reset();
    for (int round = 0; round < 3; round++)
        for (int status = 200; status < 240; status++)
            sv_metrics_request("GET /many", status, 1);
    sv_buf out = SV_BUF_INIT;
    sv_metrics_render_requests(&out);
    for (int status = 200; status < 240; status++) {
        char prefix[96];
        snprintf(prefix, sizeof(prefix),
                 "samverka_http_requests_total{route=\"GET /many\",status=\"%d\"}", status);
        assert_int_equal(sample(out.ptr, prefix), 3);
    }
    assert_int_equal(sample(out.ptr, "_count{route=\"GET /many\"}"), 120);
    sv_buf_release(&out);
}

#define THREADS 4
#define PER_THREAD 100000

static pthread_barrier_t start; /* all threads count at once */

static void *count_requests(void *arg)
{
    static const char *const routes[] = {"GET /a", "GET /b", "POST /c"};
    int t = *(const int *)arg;
    pthread_barrier_wait(&start);
    for (int i = 0; i < PER_THREAD; i++)
        sv_metrics_request(routes[(i + t) % 3], i % 2 ? 200 : 404, (i % 7) * 1000);
    return NULL;
}

static void threads_lose_nothing(void **state)
{
    (void)state;
    sv_metrics_reset();
    int64_t before = sv_metrics_requests_total();
    pthread_t th[THREADS];
    int ids[THREADS];
    assert_int_equal(pthread_barrier_init(&start, NULL, THREADS), 0);
    for (int t = 0; t < THREADS; t++) {
        ids[t] = t;
        assert_int_equal(pthread_create(&th[t], NULL, count_requests, &ids[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&start);
    assert_int_equal(sv_metrics_requests_total() - before, THREADS * PER_THREAD);
    sv_buf out = SV_BUF_INIT;
    sv_metrics_render_requests(&out);
    long long total = 0, counts = 0;
    const char *names[] = {"GET /a", "GET /b", "POST /c"};
    for (int r = 0; r < 3; r++) {
        char prefix[96];
        for (int status = 200; status <= 404; status += 204) {
            snprintf(prefix, sizeof(prefix),
                     "samverka_http_requests_total{route=\"%s\",status=\"%d\"}", names[r], status);
            long long v = sample(out.ptr, prefix);
            assert_true(v > 0);
            total += v;
        }
        snprintf(prefix, sizeof(prefix), "_bucket{route=\"%s\",le=\"+Inf\"}", names[r]);
        long long inf = sample(out.ptr, prefix);
        snprintf(prefix, sizeof(prefix), "_count{route=\"%s\"}", names[r]);
        assert_int_equal(sample(out.ptr, prefix), inf);
        counts += inf;
    }
    assert_int_equal(total, THREADS * PER_THREAD);
    assert_int_equal(counts, THREADS * PER_THREAD);
    sv_buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_and_histogram), cmocka_unit_test(labels_are_escaped),
        cmocka_unit_test(route_is_its_text),    cmocka_unit_test(many_statuses),
        cmocka_unit_test(threads_lose_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
