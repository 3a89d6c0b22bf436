/*
 * test_base64.c - unit tests for base/base64: standard alphabet with padding
 * (RFC 4648 section 4, as FHIR base64Binary uses it), whitespace between groups,
 * and the inputs that must be refused: wrong alphabet, missing or misplaced
 * padding, trailing garbage, an output buffer too small.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/base64.h"

typedef struct good_case {
    const char *text;
    const char *bytes;
    size_t len;
} good_case;

static const good_case good[] = {
    /* RFC 4648 section 10 test vectors */
    {"", "", 0},
    {"Zg==", "f", 1},
    {"Zm8=", "fo", 2},
    {"Zm9v", "foo", 3},
    {"Zm9vYg==", "foob", 4},
    {"Zm9vYmE=", "fooba", 5},
    {"Zm9vYmFy", "foobar", 6},
    /* both special characters of the standard alphabet, and binary bytes */
    {"+/8=", "\xfb\xff", 2},
    {"AAEC", "\x00\x01\x02", 3},
    /* line breaks and spaces between groups (MIME-wrapped data) */
    {"Zm9v\nYmFy", "foobar", 6},
    {"Zm9v\r\nYmFy\r\n", "foobar", 6},
    {" Zm9v YmFy ", "foobar", 6},
    {"Zm\t9v", "foo", 3},
};

static const char *const bad[] = {
    "Zg",        /* padding missing */
    "Zg=",       /* padding short */
    "Z",         /* a lone character */
    "Zm9v!",     /* not in the alphabet */
    "Zm9v*Ymg=", /* not in the alphabet, mid-way */
    "-_8=",      /* the URL-safe alphabet */
    "Zg==Zg==",  /* data after the padding */
    "Zg===",     /* too much padding */
    "=Zg=",      /* padding first */
    "Zm9v\x01",  /* a control character */
};

static void test_decode_good(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        unsigned char out[64];
        memset(out, 0xee, sizeof(out));
        size_t len = 999;
        if (sv_base64_decode(good[i].text, out, sizeof(out), &len) != 0)
            fail_msg("\"%s\" was refused", good[i].text);
        assert_int_equal(len, good[i].len);
        assert_memory_equal(out, good[i].bytes, len);
    }
}

static void test_decode_bad(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        unsigned char out[64];
        size_t len = 12345;
        if (sv_base64_decode(bad[i], out, sizeof(out), &len) != -1)
            fail_msg("\"%s\" was accepted (%zu bytes)", bad[i], len);
        assert_int_equal(len, 12345); /* untouched on failure */
    }
}

static void test_decode_capacity(void **state)
{
    (void)state;
    unsigned char out[6];
    size_t len = 0;
    assert_int_equal(sv_base64_decode("Zm9vYmFy", out, 6, &len), 0);
    assert_int_equal(len, 6);
    len = 777;
    assert_int_equal(sv_base64_decode("Zm9vYmFy", out, 5, &len), -1);
    assert_int_equal(len, 777);
    assert_int_equal(sv_base64_decode("", out, 0, &len), 0);
    assert_int_equal(len, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_good),
        cmocka_unit_test(test_decode_bad),
        cmocka_unit_test(test_decode_capacity),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
