/*
 * test_json_load.c - sv_json_loadb (base/json_load.c) builds exactly what jansson's
 * json_loadb builds, member order included, and fails exactly where it fails, on
 * the cases its own reader handles and on each kind it hands over to jansson.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/json.h"

static char *dump(const json_t *j)
{
    sv_buf b = SV_BUF_INIT;
    assert_int_equal(sv_json_dumpb(j, &b), SV_OK);
    return sv_buf_detach(&b, NULL);
}

/* Both readers on text (len bytes) with flags: the same value or both NULL.
 * Returns whether they built one. */
static bool check(const char *text, size_t len, size_t flags)
{
    json_error_t jerr;
    json_t *fast = sv_json_loadb(text, len, flags, &jerr);
    json_t *slow = json_loadb(text, len, flags, NULL);
    if (!fast || !slow) {
        if (fast || slow)
            fail_msg("readers disagree on '%.*s' (flags %zu): fast %s, jansson %s", (int)len, text,
                     flags, fast ? "value" : "NULL", slow ? "value" : "NULL");
        json_decref(fast);
        json_decref(slow);
        return false;
    }
    char *a = dump(fast), *b = dump(slow);
    assert_string_equal(a, b);
    assert_true(json_equal(fast, slow));
    free(a);
    free(b);
    json_decref(fast);
    json_decref(slow);
    return true;
}

static void both(const char *text, bool ok)
{
    const size_t flags[] = {0, JSON_REJECT_DUPLICATES, JSON_DECODE_ANY,
                            JSON_REJECT_DUPLICATES | JSON_DECODE_ANY};
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        bool built = check(text, strlen(text), flags[i]);
        if (ok && (text[0] == '{' || text[0] == '[' || (flags[i] & JSON_DECODE_ANY)))
            assert_true(built);
    }
}

static void test_values_it_reads(void **state)
{
    (void)state;
    both("{}", true);
    both("[]", true);
    both(" { \"a\" : [ 1 , -2 , 0 , -0 , 3.25 , -1e3 , 2E+2 , 1.5e-3 , 0.1 ] } ", true);
    both("{\"resourceType\":\"Patient\",\"active\":true,\"deceasedBoolean\":false,\"x\":null}",
         true);
    both("{\"z\":1,\"a\":2,\"m\":{\"y\":[],\"b\":{}}}", true); /* member order kept */
    both("{\"name\":\"S\xc3\xb8ren \xc3\x86"
         "bel\xc3\xb8 \xe2\x82\xac \xf0\x9f\x98\x80\"}",
         true);
    both("{\"e\":\"q\\\" b\\\\ s\\/ \\b\\f\\n\\r\\t\"}", true);
    both("{\"u\":\"\\u00e6\\u20AC\\ud83d\\ude00 \\u0041\"}", true);
    both("{\"k\\u00e6y\":1,\"kæy2\":\"x\"}", true);
    both("{\"big\":9223372036854775807,\"small\":-9223372036854775808}", true);
    both("{\"r\":1.7976931348623157e308,\"t\":4.9e-324,\"u\":1e-320}", true);
    both("\"a scalar\"", true);
    both("12", true);
    both("-0.5", true);
    both("true", true);
    both("null", true);
    both("{\"a\":1,\"a\":2}", false); /* duplicates: kept last without the flag, refused with */
}

static void test_what_it_hands_over(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "   ",
        "{",
        "{\"a\"}",
        "{\"a\":}",
        "{\"a\":1,}",
        "[1,]",
        "[1 2]",
        "{\"a\":1}x",
        "{\"a\":1} {}",
        "[01]",
        "[1.]",
        "[.5]",
        "[-]",
        "[1e]",
        "[1e+]",
        "[+1]",
        "[0x10]",
        "[9223372036854775808]",
        "[-9223372036854775809]",
        "[1e400]",
        "[-1e400]",
        "[1e-400]",
        "[tru]",
        "[nul]",
        "[True]",
        "[\"\\u0000\"]",
        "[\"\\ud83d\"]",
        "[\"\\ude00\"]",
        "[\"\\ud83d\\u0041\"]",
        "[\"\\uZZZZ\"]",
        "[\"\\u12\"]",
        "[\"\\x\"]",
        "[\"tab\there\"]",
        "[\"\xc3\"]",
        "[\"\xc0\xaf\"]",
        "[\"\xed\xa0\x80\"]",
        "[\"\xf4\x90\x80\x80\"]",
        "[\"\xff\"]",
        "[\"open",
        "{\"a\":\"\\",
        "\xef\xbb\xbf{}",
        "{'a':1}",
        "[NaN]",
        "[Infinity]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        both(bad[i], false);
    /* NUL bytes inside and after a value */
    assert_false(check("[\"a\0b\"]", 7, 0));
    assert_false(check("{}\0", 3, 0));
}

static void test_deep_nesting(void **state)
{
    (void)state;
    /* 600 levels: past the fast reader's own limit, within jansson's */
    size_t n = 600;
    char *text = malloc(2 * n + 1);
    assert_non_null(text);
    memset(text, '[', n);
    memset(text + n, ']', n);
    text[2 * n] = '\0';
    assert_true(check(text, 2 * n, 0));
    free(text);
}

static void test_other_flags_go_to_jansson(void **state)
{
    (void)state;
    json_error_t err;
    json_t *j = sv_json_loadb("{\"a\":1} tail", 12, JSON_DISABLE_EOF_CHECK, &err);
    assert_non_null(j);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 1);
    json_decref(j);
    assert_null(sv_json_loadb("{\"a\":", 5, 0, &err));
    assert_true(strlen(err.text) > 0); /* the error is jansson's */
}

/* Strings are scanned eight bytes at a time: a byte that stops the scan (quote,
 * backslash, control character, UTF-8 lead) at every offset of a long string is
 * seen by the fast reader itself, not only by jansson behind it. */
static void test_stop_bytes_at_every_offset(void **state)
{
    (void)state;
    const char *stops[] = {
        "\\\"", "\\\\", "\\n", "\\u00e6", "\xc3\xa6", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    for (size_t k = 0; k < sizeof(stops) / sizeof(stops[0]); k++) {
        for (size_t at = 0; at < 20; at++) {
            char text[128];
            snprintf(text, sizeof(text), "[\"%.*s%s%.*s\"]", (int)at, "abcdefghijklmnopqrstuvwxyz",
                     stops[k], (int)(19 - at), "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
            json_t *fast = sv__json_read(text, strlen(text), JSON_REJECT_DUPLICATES, 8);
            assert_non_null(fast);
            json_t *slow = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
            assert_true(json_equal(fast, slow));
            json_decref(fast);
            json_decref(slow);
        }
    }
    /* a raw control character or a broken UTF-8 sequence anywhere: not taken */
    const char *bad[] = {"\t", "\x01", "\xc3", "\xff", "\xed\xa0\x80"};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        for (size_t at = 0; at < 20; at++) {
            char text[128];
            snprintf(text, sizeof(text), "[\"%.*s%s%.*s\"]", (int)at, "abcdefghijklmnopqrstuvwxyz",
                     bad[k], (int)(19 - at), "ABCDEFGHIJKLMNOPQRSTUVWXYZ");
            assert_null(sv__json_read(text, strlen(text), 0, 8));
            both(text, false);
        }
    }
}

/* A duplicate member is refused by the fast reader (jansson then says where) under
 * JSON_REJECT_DUPLICATES, and keeps the last value without it, as jansson does. */
static void test_duplicates(void **state)
{
    (void)state;
    const char *dups[] = {"{\"a\":1,\"a\":2}", "{\"a\":{\"b\":1,\"c\":2,\"b\":3}}",
                          "[{\"x\":1},{\"y\":[1,{\"z\":1,\"z\":1}]}]", "{\"\\u0061\":1,\"a\":2}"};
    for (size_t i = 0; i < sizeof(dups) / sizeof(dups[0]); i++) {
        assert_null(sv__json_read(dups[i], strlen(dups[i]), JSON_REJECT_DUPLICATES, 8));
        json_t *last = sv__json_read(dups[i], strlen(dups[i]), 0, 8);
        assert_non_null(last);
        json_decref(last);
        both(dups[i], false);
    }
    json_t *j = sv__json_read("{\"a\":1,\"b\":2,\"a\":3}", 19, 0, 8);
    assert_int_equal(json_integer_value(json_object_get(j, "a")), 3);
    json_decref(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_it_reads),
        cmocka_unit_test(test_what_it_hands_over),
        cmocka_unit_test(test_deep_nesting),
        cmocka_unit_test(test_other_flags_go_to_jansson),
        cmocka_unit_test(test_stop_bytes_at_every_offset),
        cmocka_unit_test(test_duplicates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
