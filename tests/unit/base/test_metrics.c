/*
 * test_metrics.c - base/metrics: requests are counted per (route, status); the
 * histogram is cumulative, ends in +Inf equal to the count, and its sum is the
 * time recorded; a label value with a quote, backslash or line feed is escaped
 * so that it cannot end the label; a NULL route counts as "-".
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_and_histogram),
        cmocka_unit_test(labels_are_escaped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
