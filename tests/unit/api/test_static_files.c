/*
 * test_static_files.c - unit tests for api/static_files: which path segments
 * may name a file of the web app (nothing hidden, no "..", no separators or
 * control characters), and the content type of each served extension (no
 * type, not served).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "api/static_files.h"

static void test_segments(void **state)
{
    (void)state;
    const char *ok[] = {"index.html", "app.css", "js", "views", "da.json", "a-b_c.1.js"};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        assert_true(sv__api_static_segment_ok(ok[i]));
    const char *bad[] = {"",       ".",         "..",     ".hidden", ".git",      "a/b",
                         "a\\b",   "a b",       "%2e%2e", "a\x01",   "~user",     "a:b",
                         "file?x", "x\xc3\xa9", "a;b",    "*.js",    "$team.json"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(sv__api_static_segment_ok(bad[i]));
    char longname[102];
    memset(longname, 'a', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    assert_false(sv__api_static_segment_ok(longname));
}

static void test_types(void **state)
{
    (void)state;
    assert_string_equal(sv__api_static_type("index.html"), "text/html; charset=utf-8");
    assert_string_equal(sv__api_static_type("app.js"), "text/javascript; charset=utf-8");
    assert_string_equal(sv__api_static_type("app.mjs"), "text/javascript; charset=utf-8");
    assert_string_equal(sv__api_static_type("app.css"), "text/css; charset=utf-8");
    assert_string_equal(sv__api_static_type("da.json"), "application/json; charset=utf-8");
    assert_string_equal(sv__api_static_type("icon.svg"), "image/svg+xml");
    assert_string_equal(sv__api_static_type("shot.png"), "image/png");
    assert_null(sv__api_static_type("README.md"));
    assert_null(sv__api_static_type("Makefile"));
    assert_null(sv__api_static_type("app.js.bak"));
    assert_null(sv__api_static_type("db.sqlite"));
    assert_null(sv__api_static_type("html"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_segments),
                                       cmocka_unit_test(test_types)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
