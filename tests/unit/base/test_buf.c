/*
 * test_buf.c - unit tests for base/buf: the growable buffer's invariants (never
 * NULL, always NUL-terminated, the shared empty storage never written), growth,
 * formatted appends longer than the first guess, truncate/reset, detach, and
 * the sv_str view helpers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"

/* The invariants every buffer keeps after every operation. */
static void assert_buf_ok(const sv_buf *b)
{
    assert_non_null(b->ptr);
    assert_int_equal(b->ptr[b->len], '\0');
    if (b->cap == 0) {
        assert_ptr_equal(b->ptr, sv__buf_empty);
        assert_int_equal(b->len, 0);
    } else {
        assert_true(b->len < b->cap);
    }
    assert_int_equal(sv__buf_empty[0], '\0'); /* the shared empty string is never written */
}

static void test_empty_buffer(void **state)
{
    (void)state;
    sv_buf a = SV_BUF_INIT, b;
    sv_buf_init(&b);
    assert_buf_ok(&a);
    assert_buf_ok(&b);
    assert_string_equal(a.ptr, "");
    /* operations that add nothing keep it unallocated */
    sv_buf_add(&a, "xyz", 0);
    sv_buf_truncate(&a, 0);
    sv_buf_truncate(&a, 10);
    sv_buf_reset(&a);
    assert_int_equal(a.cap, 0);
    assert_buf_ok(&a);
    sv_buf_release(&a);
    sv_buf_release(&a); /* twice is fine */
    sv_buf_release(NULL);
    assert_buf_ok(&a);
}

static void test_add_grows_and_keeps_content(void **state)
{
    (void)state;
    sv_buf b = SV_BUF_INIT;
    for (int i = 0; i < 10000; i++) {
        sv_buf_addc(&b, (char)('a' + i % 26));
        if (i % 997 == 0)
            assert_buf_ok(&b);
    }
    assert_int_equal(b.len, 10000);
    assert_buf_ok(&b);
    for (int i = 0; i < 10000; i++)
        assert_int_equal(b.ptr[i], 'a' + i % 26);
    /* binary data with NUL bytes counts every byte */
    sv_buf_reset(&b);
    sv_buf_add(&b, "a\0b\0", 4);
    assert_int_equal(b.len, 4);
    assert_memory_equal(b.ptr, "a\0b\0", 5);
    sv_buf_adds(&b, "cd");
    assert_int_equal(b.len, 6);
    assert_memory_equal(b.ptr, "a\0b\0cd", 7);
    sv_buf_release(&b);
    assert_buf_ok(&b);
    /* usable again after release */
    sv_buf_adds(&b, "again");
    assert_string_equal(b.ptr, "again");
    sv_buf_release(&b);
}

static void test_grow_reserves(void **state)
{
    (void)state;
    sv_buf b = SV_BUF_INIT;
    sv_buf_grow(&b, 1000);
    assert_true(b.cap >= 1001);
    assert_int_equal(b.len, 0);
    assert_buf_ok(&b);
    char *before = b.ptr;
    for (int i = 0; i < 1000; i++)
        sv_buf_addc(&b, 'x');
    assert_ptr_equal(b.ptr, before); /* no reallocation within the reservation */
    assert_buf_ok(&b);
    sv_buf_grow(&b, 0);
    assert_buf_ok(&b);
    sv_buf_release(&b);
}

static void test_addf_long_and_appending(void **state)
{
    (void)state;
    sv_buf b = SV_BUF_INIT;
    sv_buf_addf(&b, "%s", "");
    assert_buf_ok(&b);
    assert_int_equal(b.len, 0);
    sv_buf_addf(&b, "n=%d s=%s", 42, "x");
    assert_string_equal(b.ptr, "n=42 s=x");

    /* longer than the first 64-byte guess, and longer than the capacity so far */
    size_t sizes[] = {63, 64, 65, 200, 5000, 70000};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        char *long_s = malloc(sizes[k] + 1);
        assert_non_null(long_s);
        for (size_t i = 0; i < sizes[k]; i++)
            long_s[i] = (char)('A' + i % 26);
        long_s[sizes[k]] = '\0';
        sv_buf_reset(&b);
        sv_buf_adds(&b, "head:");
        sv_buf_addf(&b, "[%s]%zu", long_s, sizes[k]);
        char tail[32];
        int n = snprintf(tail, sizeof(tail), "%zu", sizes[k]);
        assert_int_equal(b.len, 5 + 1 + sizes[k] + 1 + (size_t)n);
        assert_memory_equal(b.ptr, "head:[", 6);
        assert_memory_equal(b.ptr + 6, long_s, sizes[k]);
        assert_int_equal(b.ptr[6 + sizes[k]], ']');
        assert_string_equal(b.ptr + 7 + sizes[k], tail);
        assert_buf_ok(&b);
        free(long_s);
    }
    /* many small appends */
    sv_buf_reset(&b);
    for (int i = 0; i < 1000; i++)
        sv_buf_addf(&b, "%d,", i % 10);
    assert_int_equal(b.len, 2000);
    assert_memory_equal(b.ptr, "0,1,2,", 6);
    assert_buf_ok(&b);
    sv_buf_release(&b);
}

static void test_truncate_and_reset(void **state)
{
    (void)state;
    sv_buf b = SV_BUF_INIT;
    sv_buf_adds(&b, "hello world");
    size_t cap = b.cap;
    sv_buf_truncate(&b, 5);
    assert_int_equal(b.len, 5);
    assert_string_equal(b.ptr, "hello");
    sv_buf_truncate(&b, 50); /* longer: no-op */
    assert_int_equal(b.len, 5);
    assert_string_equal(b.ptr, "hello");
    sv_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_string_equal(b.ptr, "");
    assert_int_equal(b.cap, cap); /* storage kept */
    assert_buf_ok(&b);
    sv_buf_release(&b);
}

static void test_detach(void **state)
{
    (void)state;
    sv_buf b = SV_BUF_INIT;
    size_t len = 99;
    /* empty: still a fresh, freeable "" */
    char *p = sv_buf_detach(&b, &len);
    assert_non_null(p);
    assert_ptr_not_equal(p, sv__buf_empty);
    assert_string_equal(p, "");
    assert_int_equal(len, 0);
    free(p);

    sv_buf_add(&b, "ab\0c", 4);
    p = sv_buf_detach(&b, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(p, "ab\0c", 5);
    assert_buf_ok(&b); /* left empty and usable */
    sv_buf_adds(&b, "next");
    assert_string_equal(b.ptr, "next");
    free(p);

    p = sv_buf_detach(&b, NULL); /* ret_len may be NULL */
    assert_string_equal(p, "next");
    free(p);
    assert_buf_ok(&b);
    sv_buf_release(&b);
}

static void test_str_helpers(void **state)
{
    (void)state;
    sv_str lit = SV_STR("abc");
    assert_int_equal(lit.len, 3);
    sv_str from = sv_str_from("abc");
    assert_int_equal(from.len, 3);
    sv_str null = sv_str_from(NULL);
    assert_null(null.ptr);
    assert_int_equal(null.len, 0);

    char other[] = "abc";
    assert_true(sv_str_eq(lit, (sv_str){other, 3})); /* by content, not pointer */
    assert_false(sv_str_eq(lit, (sv_str){other, 2}));
    assert_false(sv_str_eq(lit, sv_str_from("abd")));
    assert_true(sv_str_eq(null, sv_str_from(""))); /* empty equals empty */
    assert_true(sv_str_eq(null, null));
    assert_true(sv_str_eqs(lit, "abc"));
    assert_false(sv_str_eqs(lit, "ab"));
    assert_false(sv_str_eqs(lit, "abcd"));
    assert_true(sv_str_eqs(null, ""));

    /* a view need not be NUL-terminated */
    sv_str part = {"abcdef", 3};
    assert_true(sv_str_eqs(part, "abc"));
    assert_true(sv_str_starts(part, "ab"));
    assert_true(sv_str_starts(part, "abc"));
    assert_true(sv_str_starts(part, ""));
    assert_false(sv_str_starts(part, "abcd")); /* the bytes beyond len do not count */
    assert_false(sv_str_starts(part, "b"));

    char *d = sv_str_dup(part);
    assert_string_equal(d, "abc");
    free(d);
    d = sv_str_dup((sv_str){"a\0b", 3});
    assert_memory_equal(d, "a\0b", 4);
    free(d);
    d = sv_str_dup(null);
    assert_non_null(d);
    assert_string_equal(d, "");
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_buffer),
        cmocka_unit_test(test_add_grows_and_keeps_content),
        cmocka_unit_test(test_grow_reserves),
        cmocka_unit_test(test_addf_long_and_appending),
        cmocka_unit_test(test_truncate_and_reset),
        cmocka_unit_test(test_detach),
        cmocka_unit_test(test_str_helpers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
