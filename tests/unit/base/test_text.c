/*
 * test_text.c - unit tests for base/text: case and accent folding for string
 * search, Nordic names, the whole Latin-1 Supplement / Latin Extended-A range,
 * decomposed accents, and invalid UTF-8.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "base/text.h"

typedef struct fold_case {
    const char *in;
    size_t len; /* 0: strlen(in) */
    const char *out;
} fold_case;

static const fold_case cases[] = {
    {"", 0, ""},
    {"Hansen", 0, "hansen"},
    {"ABCXYZ abcxyz 0129 -_.", 0, "abcxyz abcxyz 0129 -_."},
    /* Danish, Norwegian, Swedish, German, Icelandic */
    {"Søren Ærø Ålborg", 0, "soren aero alborg"},
    {"ÆØÅ æøå", 0, "aeoa aeoa"},
    {"Åsa Öberg-Ärlig", 0, "asa oberg-arlig"},
    {"Ünal Straße", 0, "unal strasse"},
    {"ÉÈÊË éèêë", 0, "eeee eeee"},
    {"Þórður Guðmundsdóttir", 0, "thordur gudmundsdottir"},
    /* Latin Extended-A */
    {"Łukasz Wałęsa", 0, "lukasz walesa"},
    {"Čapek Dvořák Šťastný Žižka", 0, "capek dvorak stastny zizka"},
    {"Œuvre œil", 0, "oeuvre oeil"},
    {"Ĳssel ĳs", 0, "ijssel ijs"},
    {"İstanbul ılık", 0, "istanbul ilik"},
    {"Ŋŋ Ħħ Ŧŧ Đđ ſ ĸ Ÿ ÿ", 0, "nn hh tt dd s k y y"},
    /* not letters: kept */
    {"2×3÷4", 0, "2×3÷4"},
    /* decomposed: A + combining diaeresis, o + combining ring */
    {"A\xCC\x88rlig o\xCC\x8A", 0, "arlig o"},
    /* no-break space */
    {"Anne\xC2\xA0Marie", 0, "anne marie"},
    /* other scripts untouched */
    {"Ωμέγα Жук 東京", 0, "Ωμέγα Жук 東京"},
    /* invalid UTF-8: each bad byte becomes U+FFFD, the rest survives */
    {"a\x80z", 0, "a\xEF\xBF\xBDz"},
    {"\xC3", 0, "\xEF\xBF\xBD"},                                 /* truncated */
    {"\xC3(", 0, "\xEF\xBF\xBD("},                               /* bad continuation */
    {"\xC0\xAF", 0, "\xEF\xBF\xBD\xEF\xBF\xBD"},                 /* overlong '/' */
    {"\xED\xA0\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* surrogate */
    {"\xF4\x90\x80\x80", 0, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"}, /* > U+10FFFF */
    {"\xFF\xFE", 0, "\xEF\xBF\xBD\xEF\xBF\xBD"},
    {"\xF0\x9F\x98\x80!", 0, "\xF0\x9F\x98\x80!"}, /* 4-byte sequence kept */
    /* embedded NUL is data */
    {"A\0B", 3, "a\0b"},
};

static void test_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const fold_case *c = &cases[i];
        size_t len = c->len ? c->len : strlen(c->in);
        size_t outlen = c->len ? c->len : strlen(c->out);
        sv_buf b = SV_BUF_INIT;
        sv_text_fold(c->in, len, &b);
        if (b.len != outlen || memcmp(b.ptr, c->out, outlen) != 0)
            fail_msg("case %zu: fold(\"%s\") = \"%s\", want \"%s\"", i, c->in, b.ptr, c->out);
        assert_int_equal(b.ptr[b.len], '\0');
        sv_buf_release(&b);
    }
}

/* Every letter of U+00C0..U+017F folds to lowercase ASCII letters, × and ÷ excepted. */
static void test_latin_range(void **state)
{
    (void)state;
    for (unsigned cp = 0xC0; cp < 0x180; cp++) {
        char in[3] = {(char)(0xC0 | (cp >> 6)), (char)(0x80 | (cp & 0x3F)), 0};
        sv_buf b = SV_BUF_INIT;
        sv_text_fold(in, 2, &b);
        if (cp == 0xD7 || cp == 0xF7) {
            assert_memory_equal(b.ptr, in, 2);
        } else {
            assert_true(b.len >= 1 && b.len <= 2);
            for (size_t i = 0; i < b.len; i++) {
                if (b.ptr[i] < 'a' || b.ptr[i] > 'z')
                    fail_msg("U+%04X folds to \"%s\"", cp, b.ptr);
            }
        }
        sv_buf_release(&b);
    }
}

/* Appends: a second fold goes after the first. */
static void test_appends(void **state)
{
    (void)state;
    sv_buf b = SV_BUF_INIT;
    sv_buf_adds(&b, "x:");
    sv_text_fold("Ø", strlen("Ø"), &b);
    assert_string_equal(b.ptr, "x:o");
    sv_buf_release(&b);
}

/* Every byte value in every position: no crash, output always valid UTF-8-ish length. */
static void test_all_bytes(void **state)
{
    (void)state;
    char in[4];
    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b2 = 0; b2 < 256; b2 += 7) {
            in[0] = (char)a;
            in[1] = (char)b2;
            in[2] = (char)0x80;
            in[3] = (char)0xBF;
            sv_buf b = SV_BUF_INIT;
            sv_text_fold(in, 4, &b);
            assert_true(b.len <= 4 * 3);
            sv_buf_release(&b);
        }
    }
}

/* Sanitising keeps valid text as it is (case included) and replaces each bad byte. */
static void test_utf8_sanitize(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"Søren ÆØÅ 東京 \xF0\x9F\x98\x80", "Søren ÆØÅ 東京 \xF0\x9F\x98\x80"},
        {"a\x80z", "a\xEF\xBF\xBDz"},
        {"bad \xC3(", "bad \xEF\xBF\xBD("},
        {"\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"\xFF\xFE", "\xEF\xBF\xBD\xEF\xBF\xBD"},
        {"end \xE2\x82", "end \xEF\xBF\xBD\xEF\xBF\xBD"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        sv_buf b = SV_BUF_INIT;
        sv_buf_adds(&b, "x:");
        sv_text_utf8_sanitize(cases[i].in, strlen(cases[i].in), &b);
        if (strncmp(b.ptr, "x:", 2) != 0 || strcmp(b.ptr + 2, cases[i].out) != 0)
            fail_msg("case %zu: sanitize(\"%s\") = \"%s\"", i, cases[i].in, b.ptr);
        sv_buf_release(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),         cmocka_unit_test(test_latin_range),
        cmocka_unit_test(test_appends),       cmocka_unit_test(test_all_bytes),
        cmocka_unit_test(test_utf8_sanitize),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
