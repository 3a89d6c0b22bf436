/*
 * test_id.c - unit tests for base/id: random UUIDs (version 4 and RFC 4122
 * variant bits, lowercase, 36 characters, distinct) and the FHIR id syntax
 * [A-Za-z0-9\-\.]{1,64} at its edges.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/id.h"

static void assert_uuid_v4(const char *u)
{
    assert_int_equal(strlen(u), 36);
    for (int i = 0; i < 36; i++) {
        char c = u[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            assert_int_equal(c, '-');
            continue;
        }
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            fail_msg("'%s': character %d is not lowercase hex", u, i);
    }
    assert_int_equal(u[14], '4');           /* version 4 */
    assert_non_null(strchr("89ab", u[19])); /* variant 10xx */
    assert_true(sv_id_valid(u, strlen(u))); /* usable as a resource id */
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void test_uuid_format_and_distinct(void **state)
{
    (void)state;
    enum { N = 1000 };
    static char ids[N][SV_UUID_LEN];
    /* which variant nibbles and bits we saw: a fixed bit pattern would show */
    int variants_seen = 0, ones[32] = {0};
    for (int i = 0; i < N; i++) {
        memset(ids[i], 'Z', SV_UUID_LEN);
        sv_id_uuid(ids[i]);
        assert_int_equal(ids[i][36], '\0');
        assert_uuid_v4(ids[i]);
        variants_seen |= 1 << (strchr("89ab", ids[i][19]) - "89ab");
        for (int k = 0; k < 8; k++) { /* the first 32 random bits */
            char c = ids[i][k];
            int v = c <= '9' ? c - '0' : c - 'a' + 10;
            for (int bit = 0; bit < 4; bit++)
                ones[k * 4 + bit] += (v >> bit) & 1;
        }
    }
    qsort(ids, N, SV_UUID_LEN, cmp_str);
    for (int i = 1; i < N; i++)
        if (strcmp(ids[i - 1], ids[i]) == 0)
            fail_msg("duplicate uuid %s", ids[i]);
    assert_int_equal(variants_seen, 0xf);
    for (int b = 0; b < 32; b++)
        assert_in_range(ones[b], 350, 650); /* each bit about half the time */
}

typedef struct id_case {
    const char *s;
    size_t len; /* 0: strlen(s) */
    bool valid;
} id_case;

static const char ID64[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.";
static const char ID65[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-.x";

static void test_id_valid_edges(void **state)
{
    (void)state;
    _Static_assert(sizeof(ID64) - 1 == 64, "64 characters");
    _Static_assert(sizeof(ID65) - 1 == 65, "65 characters");
    const id_case cases[] = {
        {"a", 0, true},         {"Z", 0, true},        {"0", 0, true},     {"-", 0, true},
        {".", 0, true},         {"a.b-c.D9", 0, true}, {"..", 0, true},    {ID64, 0, true},
        {ID65, 0, false},       {ID65, 64, true}, /* only len characters count */
        {"", 0, false},         {"a_b", 0, false},     {"_", 0, false},    {"a b", 0, false},
        {"a/b", 0, false},      {"a:b", 0, false},     {"a%20", 0, false}, {"a+b", 0, false},
        {"\xc3\xa5", 0, false},                     /* å */
        {"ab_", 2, true},       {"a\0b", 3, false}, /* an embedded NUL */
        {"abc\n", 0, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len = cases[i].len ? cases[i].len : strlen(cases[i].s);
        if (sv_id_valid(cases[i].s, len) != cases[i].valid)
            fail_msg("case %zu \"%.*s\" (len %zu): expected %s", i, (int)len, cases[i].s, len,
                     cases[i].valid ? "valid" : "invalid");
    }
    assert_false(sv_id_valid("abc", 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uuid_format_and_distinct),
        cmocka_unit_test(test_id_valid_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
