/*
 * test_log.c - unit tests for base/log: level filtering and the line format
 * (ts=<instant> level=<name> <message>, one line per call, written to stderr).
 * stderr is pointed at a temporary file with dup2 and read back; the clock is
 * pinned so the timestamp is known.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/datetime.h"
#include "base/log.h"

/* 2024-03-10T10:30:00.123Z */
#define FIXED_MS INT64_C(1710066600123)

typedef struct capture {
    int saved_stderr;
    FILE *file;
} capture;

static void capture_start(capture *c)
{
    fflush(stderr);
    c->file = tmpfile();
    assert_non_null(c->file);
    c->saved_stderr = dup(STDERR_FILENO);
    assert_true(c->saved_stderr >= 0);
    assert_true(dup2(fileno(c->file), STDERR_FILENO) >= 0);
}

/* Restores stderr and returns what was written (caller releases). */
static void capture_end(capture *c, sv_buf *out)
{
    fflush(stderr);
    assert_true(dup2(c->saved_stderr, STDERR_FILENO) >= 0);
    close(c->saved_stderr);
    rewind(c->file);
    char chunk[512];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), c->file)) > 0)
        sv_buf_add(out, chunk, n);
    fclose(c->file);
}

static int setup(void **state)
{
    (void)state;
    sv_clock_set_fixed(FIXED_MS);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sv_clock_set_fixed(0);
    sv_log_set_level(SV_LOG_INFO);
    return 0;
}

static void log_all_levels(void)
{
    sv_log(SV_LOG_DEBUG, "event=a n=%d", 1);
    sv_log(SV_LOG_INFO, "event=b n=%d", 2);
    sv_log(SV_LOG_WARN, "event=c n=%d", 3);
    sv_log(SV_LOG_ERROR, "event=d n=%d", 4);
}

static void test_default_level_is_info(void **state)
{
    (void)state;
    assert_int_equal(sv_log_get_level(), SV_LOG_INFO);
}

static void test_filtering_by_level(void **state)
{
    (void)state;
    static const struct {
        sv_log_level min;
        const char *expected;
    } cases[] = {
        {SV_LOG_DEBUG, "ts=2024-03-10T10:30:00.123Z level=debug event=a n=1\n"
                       "ts=2024-03-10T10:30:00.123Z level=info event=b n=2\n"
                       "ts=2024-03-10T10:30:00.123Z level=warn event=c n=3\n"
                       "ts=2024-03-10T10:30:00.123Z level=error event=d n=4\n"},
        {SV_LOG_INFO, "ts=2024-03-10T10:30:00.123Z level=info event=b n=2\n"
                      "ts=2024-03-10T10:30:00.123Z level=warn event=c n=3\n"
                      "ts=2024-03-10T10:30:00.123Z level=error event=d n=4\n"},
        {SV_LOG_WARN, "ts=2024-03-10T10:30:00.123Z level=warn event=c n=3\n"
                      "ts=2024-03-10T10:30:00.123Z level=error event=d n=4\n"},
        {SV_LOG_ERROR, "ts=2024-03-10T10:30:00.123Z level=error event=d n=4\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sv_log_set_level(cases[i].min);
        assert_int_equal(sv_log_get_level(), cases[i].min);
        capture c;
        sv_buf out = SV_BUF_INIT;
        capture_start(&c);
        log_all_levels();
        capture_end(&c, &out);
        assert_string_equal(out.ptr, cases[i].expected);
        sv_buf_release(&out);
    }
}

static void test_long_message_is_one_whole_line(void **state)
{
    (void)state;
    char big[5000];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    capture c;
    sv_buf out = SV_BUF_INIT;
    capture_start(&c);
    sv_log(SV_LOG_WARN, "event=big v=%s", big);
    capture_end(&c, &out);
    const char *prefix = "ts=2024-03-10T10:30:00.123Z level=warn event=big v=";
    assert_int_equal(out.len, strlen(prefix) + strlen(big) + 1);
    assert_memory_equal(out.ptr, prefix, strlen(prefix));
    assert_memory_equal(out.ptr + strlen(prefix), big, strlen(big));
    assert_int_equal(out.ptr[out.len - 1], '\n');
    assert_null(memchr(out.ptr, '\n', out.len - 1));
    sv_buf_release(&out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_level_is_info),
        cmocka_unit_test_setup_teardown(test_filtering_by_level, setup, teardown),
        cmocka_unit_test_setup_teardown(test_long_message_is_one_whole_line, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
