/*
 * test_json.c - unit tests for base/json: depth pre-scan, jansson error
 * mapping and offsets, top-level kinds, compact output.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/json.h"

#define LIT(s) (s), (sizeof(s) - 1)

typedef struct parse_result {
    sv_err err;
    json_t *json;
    size_t offset;
    sv_buf message;
} parse_result;

static parse_result parse(const char *text, size_t len, size_t max_depth, unsigned top)
{
    parse_result r = {.json = NULL, .offset = SIZE_MAX, .message = SV_BUF_INIT};
    r.err = sv_json_parse(text, len, max_depth, top, &r.json, &r.message, &r.offset);
    return r;
}

static void parse_result_release(parse_result *r)
{
    json_decref(r->json);
    sv_buf_release(&r->message);
}

/* Asserts a failure with err at offset, whose message starts with prefix. */
static void expect_failure(const char *text, size_t len, size_t max_depth, unsigned top, sv_err err,
                           size_t offset, const char *prefix)
{
    parse_result r = parse(text, len, max_depth, top);
    if (r.err != err || r.offset != offset)
        print_message("input '%.*s': err %d offset %zu message '%s'\n", (int)len, text, r.err,
                      r.offset, r.message.ptr);
    assert_int_equal(r.err, err);
    assert_int_equal(r.offset, offset);
    assert_null(r.json);
    if (prefix)
        assert_true(strncmp(r.message.ptr, prefix, strlen(prefix)) == 0);
    parse_result_release(&r);
}

static void expect_ok(const char *text, size_t len, size_t max_depth, unsigned top)
{
    parse_result r = parse(text, len, max_depth, top);
    if (r.err != SV_OK)
        print_message("input '%.*s': err %d offset %zu message '%s'\n", (int)len, text, r.err,
                      r.offset, r.message.ptr);
    assert_int_equal(r.err, SV_OK);
    assert_non_null(r.json);
    assert_int_equal(r.offset, SIZE_MAX); /* untouched on success */
    assert_int_equal(r.message.len, 0);
    parse_result_release(&r);
}

/* {"a":[[...1...]]} nesting exactly depth levels (depth >= 2). */
static char *nested(size_t depth, size_t *ret_len)
{
    sv_buf b = SV_BUF_INIT;
    sv_buf_adds(&b, "{\"a\":");
    for (size_t i = 1; i < depth; i++)
        sv_buf_addc(&b, '[');
    sv_buf_addc(&b, '1');
    for (size_t i = 1; i < depth; i++)
        sv_buf_addc(&b, ']');
    sv_buf_addc(&b, '}');
    return sv_buf_detach(&b, ret_len);
}

static void test_depth_exactly_at_limit(void **state)
{
    size_t len;
    char *text = nested(10, &len);
    expect_ok(text, len, 10, SV_JSON_TOP_OBJECT);
    free(text);
}

static void test_depth_one_over_limit(void **state)
{
    size_t len;
    char *text = nested(11, &len);
    /* '{' at 0 is level 1, '[' at 5 is level 2, so level 11 starts at byte 14. */
    expect_failure(text, len, 10, SV_JSON_TOP_OBJECT, SV_ERR_TOO_DEEP, 14,
                   "json nests deeper than 10 levels at byte 14");
    free(text);
}

static void test_depth_zero_allows_only_scalars(void **state)
{
    expect_ok(LIT("\"x\""), 0, SV_JSON_TOP_ANY);
    expect_failure(LIT(" []"), 0, SV_JSON_TOP_ANY, SV_ERR_TOO_DEEP, 1, NULL);
}

static void test_depth_hostile_input_is_cheap(void **state)
{
    size_t len = 1000000;
    char *text = malloc(len);
    assert_non_null(text);
    memset(text, '[', len);
    expect_failure(text, len, 64, SV_JSON_TOP_ARRAY, SV_ERR_TOO_DEEP, 64, NULL);
    /* Stray closers do not drive the count below zero (or wrap it round). */
    memset(text, ']', len / 2);
    expect_failure(text, len, 64, SV_JSON_TOP_ANY, SV_ERR_TOO_DEEP, len / 2 + 64, NULL);
    free(text);
}

static void test_depth_beyond_jansson_limit(void **state)
{
    /* Our limit set above jansson's own (2048): its refusal is also TOO_DEEP. */
    size_t len;
    char *text = nested(3000, &len);
    parse_result r = parse(text, len, 5000, SV_JSON_TOP_OBJECT);
    assert_int_equal(r.err, SV_ERR_TOO_DEEP);
    assert_null(r.json);
    parse_result_release(&r);
    free(text);
}

static void test_brackets_inside_strings(void **state)
{
    expect_ok(LIT("{\"a\":\"[[[[{{{{\",\"b\":\"]]]]}}}}\",\"[[\":1}"), 1, SV_JSON_TOP_OBJECT);
    /* A string full of closers must not hide real nesting that follows. */
    expect_failure(LIT("{\"a\":\"]]]]\",\"b\":[[1]]}"), 2, SV_JSON_TOP_OBJECT, SV_ERR_TOO_DEEP, 17,
                   NULL);
}

static void test_escapes_inside_strings(void **state)
{
    /* \" does not end the string: the brackets after it are text. */
    expect_ok(LIT("{\"a\":\"x\\\"[[[[\",\"b\":1}"), 1, SV_JSON_TOP_OBJECT);
    /* \\ is a whole escape: the quote after it ends the string, and [[ counts. */
    expect_failure(LIT("{\"a\":\"\\\\\",\"b\":[[1]]}"), 2, SV_JSON_TOP_OBJECT, SV_ERR_TOO_DEEP, 15,
                   NULL);
    expect_ok(LIT("{\"a\":\"\\\\\",\"b\":[[1]]}"), 3, SV_JSON_TOP_OBJECT);
    /* \u005b is '[' as text. */
    expect_ok(LIT("{\"a\":\"\\u005b\\u005b\"}"), 1, SV_JSON_TOP_OBJECT);
}

static void test_duplicate_keys_rejected(void **state)
{
    expect_failure(LIT("{\"a\":1,\"a\":2}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 10,
                   "malformed json at byte 10: duplicate object key");
    expect_failure(LIT("{\"x\":{\"b\":1,\"b\":2}}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 15,
                   "malformed json at byte 15: duplicate object key");
}

static void test_syntax_error_offsets(void **state)
{
    /* jansson stops just past the offending token. */
    expect_failure(LIT("{\"a\":1,}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 8,
                   "malformed json at byte 8: ");
    expect_failure(LIT("{\"a\":tru}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 8,
                   "malformed json at byte 8: invalid token");
    expect_failure(LIT("{} x"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 4,
                   "malformed json at byte 4: end of file expected");
    /* refused before jansson, which would say "too big integer" at byte 25 */
    expect_failure(LIT("{\"a\":99999999999999999999}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_INVALID, 5,
                   "the number 99999999999999999999 at byte 5 in a is an integer beyond 64 bits");
}

static void test_truncated_input(void **state)
{
    expect_failure(LIT("{\"a\":[1,2"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 9,
                   "malformed json at byte 9: ");
    expect_failure(LIT("{\"a\":\"abc"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 9, NULL);
    expect_failure(LIT("{\"a\""), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 4, NULL);
    expect_failure(LIT(""), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 0, "malformed json at byte 0: ");
    expect_failure(LIT("  \n"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 3, NULL);
    /* A backslash as the very last byte must not make the scan read past the end. */
    expect_failure(LIT("{\"a\":\"\\"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 7, NULL);
}

static void test_nul_byte(void **state)
{
    expect_failure(LIT("{\"a\":\0}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 5,
                   "malformed json at byte 5: nul byte");
    expect_failure(LIT("{\"a\":\"x\0y\"}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 7,
                   "malformed json at byte 7: nul byte");
    /* Right after a backslash, where the scan skips a byte. */
    expect_failure(LIT("{\"a\":\"\\\0\"}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 7,
                   "malformed json at byte 7: nul byte");
    /* The escaped form is refused too (jansson without JSON_ALLOW_NUL). */
    expect_failure(LIT("{\"a\":\"\\u0000\"}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 13, NULL);
}

static void test_invalid_utf8(void **state)
{
    expect_failure(LIT("{\"a\":\"\xff\"}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 6,
                   "malformed json at byte 6: unable to decode byte 0xff");
    /* Overlong encoding of '/'. */
    expect_failure(LIT("{\"a\":\"ab\xc0\xaf\"}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 8, NULL);
    /* UTF-8 encoded surrogate. */
    expect_failure(LIT("{\"a\":\"\xed\xa0\x80\"}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 6, NULL);
    /* In a member name. */
    expect_failure(LIT("{\"\xfe\":1}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 2, NULL);
    /* Valid multi-byte text passes. */
    expect_ok(LIT("{\"name\":\"Bj\xc3\xb6rk \xe2\x82\xac \xf0\x9f\x98\x80\"}"), 64,
              SV_JSON_TOP_OBJECT);
    /* A lone surrogate escape. */
    expect_failure(LIT("{\"a\":\"\\ud800\"}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 13, NULL);
}

static void test_top_level_kind(void **state)
{
    expect_failure(LIT("[1]"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 0,
                   "malformed json at byte 0: expected an object at the top level, found an "
                   "array");
    expect_failure(LIT("  1"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 2,
                   "malformed json at byte 2: expected an object at the top level, found a "
                   "scalar");
    expect_failure(LIT("\"{}\""), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 0, NULL);
    expect_failure(LIT("true"), 64, SV_JSON_TOP_OBJECT | SV_JSON_TOP_ARRAY, SV_ERR_PARSE, 0,
                   "malformed json at byte 0: expected an object or an array at the top level, "
                   "found a scalar");
    expect_failure(LIT("{}"), 64, SV_JSON_TOP_ARRAY, SV_ERR_PARSE, 0, NULL);
    /* Garbage is jansson's to describe. */
    expect_failure(LIT("x"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 1,
                   "malformed json at byte 1: '[' or '{' expected");
    /* A byte order mark is not skipped. */
    expect_failure(LIT("\xef\xbb\xbf{}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_PARSE, 0,
                   "malformed json at byte 0: a byte order mark");

    expect_ok(LIT("[1]"), 64, SV_JSON_TOP_ARRAY);
    expect_ok(LIT(" {} "), 64, SV_JSON_TOP_OBJECT);
    expect_ok(LIT("1"), 64, SV_JSON_TOP_ANY);
    expect_ok(LIT("null"), 64, SV_JSON_TOP_SCALAR);
    expect_ok(LIT("\"s\""), 64, SV_JSON_TOP_ANY);
}

static void test_outputs_on_failure(void **state)
{
    json_t *sentinel = json_object();
    json_t *j = sentinel;
    sv_buf message = SV_BUF_INIT;
    sv_buf_adds(&message, "earlier; ");
    size_t offset = 12345;
    assert_int_equal(sv_json_parse(LIT("{\"a\":}"), 64, SV_JSON_TOP_OBJECT, &j, &message, &offset),
                     SV_ERR_PARSE);
    assert_ptr_equal(j, sentinel);
    assert_true(strncmp(message.ptr, "earlier; malformed json at byte ", 32) == 0);
    assert_int_not_equal(offset, 12345);
    /* reterr and ret_offset are optional. */
    assert_int_equal(sv_json_parse(LIT("{\"a\":}"), 64, SV_JSON_TOP_OBJECT, &j, NULL, NULL),
                     SV_ERR_PARSE);
    assert_int_equal(sv_json_parse(LIT("[[[]]]"), 2, SV_JSON_TOP_ANY, &j, NULL, NULL),
                     SV_ERR_TOO_DEEP);
    assert_int_equal(sv_json_parse(LIT("[]"), 2, SV_JSON_TOP_OBJECT, &j, NULL, NULL), SV_ERR_PARSE);
    assert_ptr_equal(j, sentinel);
    json_decref(sentinel);
    sv_buf_release(&message);
}

static void test_parse_values(void **state)
{
    parse_result r =
        parse(LIT("{\"resourceType\":\"Patient\",\"a\":[1,2.5,\"[\"]}"), 64, SV_JSON_TOP_OBJECT);
    assert_int_equal(r.err, SV_OK);
    assert_string_equal(json_string_value(json_object_get(r.json, "resourceType")), "Patient");
    assert_int_equal(json_array_size(json_object_get(r.json, "a")), 3);
    parse_result_release(&r);
}

static void test_dumpb(void **state)
{
    const char text[] =
        "{\"z\":1,\"a\":[true,null,\"\xc3\xa9\\\"\"],\"c\":98.6,\"d\":1.0,\"e\":{}}";
    parse_result r = parse(LIT(text), 64, SV_JSON_TOP_OBJECT);
    assert_int_equal(r.err, SV_OK);
    sv_buf out = SV_BUF_INIT;
    sv_buf_adds(&out, ">");
    assert_int_equal(sv_json_dumpb(r.json, &out), SV_OK);
    /* Appended; order kept; UTF-8 raw; 98.6 not 98.599999999999994. */
    assert_string_equal(out.ptr, ">"
                                 "{\"z\":1,\"a\":[true,null,\"\xc3\xa9\\\"\"],\"c\":98.6,"
                                 "\"d\":1.0,\"e\":{}}");
    parse_result_release(&r);

    sv_buf_reset(&out);
    json_t *s = json_string("x");
    assert_int_equal(sv_json_dumpb(s, &out), SV_OK);
    assert_string_equal(out.ptr, "\"x\"");
    json_decref(s);

    sv_buf_reset(&out);
    assert_int_equal(sv_json_dumpb(NULL, &out), SV_ERR_INTERNAL);
    assert_int_equal(out.len, 0);
    sv_buf_release(&out);
}

/* Numbers that cannot be held as written are refused at their byte, with their path. */
static void test_numbers_out_of_range(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *path; /* NULL: accepted */
    } cases[] = {
        {"{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":1e-400}}",
         "Observation.valueQuantity.value"},
        {"{\"resourceType\":\"Observation\",\"valueQuantity\":{\"value\":-1E400}}",
         "Observation.valueQuantity.value"},
        {"{\"resourceType\":\"Observation\",\"component\":[{\"v\":1},{\"v\":2,\"w\":[0, "
         "10.5e-400]}]}",
         "Observation.component[1].w[1]"},
        {"{\"a\":{\"b\":1,\"c\":\"x:1e999\"},\"d\":[12345678901234567890]}", "d[0]"},
        {"{\"a\":4.9e-324}", "a"}, /* subnormal: digits lost */
        {"[{\"op\":\"add\",\"value\":1e309}]", "[0].value"},
        /* in range, zero written as zero, and numbers inside strings */
        {"{\"a\":[1.50,0.0,0e-400,-0,1e308,2.3e-308,9223372036854775807,-9223372036854775808],"
         "\"s\":\"1e-400\"}",
         NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *j = NULL;
        sv_buf err = SV_BUF_INIT, path = SV_BUF_INIT;
        size_t offset = SIZE_MAX;
        const char *t = cases[i].text;
        sv_err e = sv_json_parse_at(t, strlen(t), 64, SV_JSON_TOP_OBJECT | SV_JSON_TOP_ARRAY, &j,
                                    &err, &offset, &path);
        if (!cases[i].path) {
            if (e)
                fail_msg("case %zu refused: %s", i, err.ptr);
            json_decref(j);
        } else {
            if (e != SV_ERR_INVALID)
                fail_msg("case %zu: err %d (%s)", i, e, err.ptr);
            assert_null(j);
            assert_string_equal(path.ptr, cases[i].path);
            /* the offset is the number's first byte */
            assert_true(t[offset] == '-' || (t[offset] >= '0' && t[offset] <= '9'));
            assert_non_null(strstr(err.ptr, cases[i].path));
        }
        sv_buf_release(&err);
        sv_buf_release(&path);
    }
    /* sv_json_parse refuses the same, with the path in the message */
    expect_failure(LIT("{\"x\":[1e-400]}"), 64, SV_JSON_TOP_OBJECT, SV_ERR_INVALID, 6,
                   "the number 1e-400 at byte 6 in x[0] is below");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_depth_exactly_at_limit),
        cmocka_unit_test(test_depth_one_over_limit),
        cmocka_unit_test(test_depth_zero_allows_only_scalars),
        cmocka_unit_test(test_depth_hostile_input_is_cheap),
        cmocka_unit_test(test_depth_beyond_jansson_limit),
        cmocka_unit_test(test_brackets_inside_strings),
        cmocka_unit_test(test_escapes_inside_strings),
        cmocka_unit_test(test_duplicate_keys_rejected),
        cmocka_unit_test(test_syntax_error_offsets),
        cmocka_unit_test(test_truncated_input),
        cmocka_unit_test(test_nul_byte),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_top_level_kind),
        cmocka_unit_test(test_outputs_on_failure),
        cmocka_unit_test(test_parse_values),
        cmocka_unit_test(test_dumpb),
        cmocka_unit_test(test_numbers_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
