/* text.c - see text.h. */
#include "base/text.h"

#include <stdint.h>

/*
 * Base letters for U+00C0..U+017F, lowercase; NULL keeps the character (× and ÷).
 * One entry per code point, eight per line.
 */
static const char *const latin_fold[0x180 - 0xC0] = {
    /* U+00C0 */ "a", "a", "a",  "a",  "a", "a", "ae", "c",
    /* U+00C8 */ "e", "e", "e",  "e",  "i", "i", "i",  "i",
    /* U+00D0 */ "d", "n", "o",  "o",  "o", "o", "o",  NULL,
    /* U+00D8 */ "o", "u", "u",  "u",  "u", "y", "th", "ss",
    /* U+00E0 */ "a", "a", "a",  "a",  "a", "a", "ae", "c",
    /* U+00E8 */ "e", "e", "e",  "e",  "i", "i", "i",  "i",
    /* U+00F0 */ "d", "n", "o",  "o",  "o", "o", "o",  NULL,
    /* U+00F8 */ "o", "u", "u",  "u",  "u", "y", "th", "y",
    /* U+0100 */ "a", "a", "a",  "a",  "a", "a", "c",  "c",
    /* U+0108 */ "c", "c", "c",  "c",  "c", "c", "d",  "d",
    /* U+0110 */ "d", "d", "e",  "e",  "e", "e", "e",  "e",
    /* U+0118 */ "e", "e", "e",  "e",  "g", "g", "g",  "g",
    /* U+0120 */ "g", "g", "g",  "g",  "h", "h", "h",  "h",
    /* U+0128 */ "i", "i", "i",  "i",  "i", "i", "i",  "i",
    /* U+0130 */ "i", "i", "ij", "ij", "j", "j", "k",  "k",
    /* U+0138 */ "k", "l", "l",  "l",  "l", "l", "l",  "l",
    /* U+0140 */ "l", "l", "l",  "n",  "n", "n", "n",  "n",
    /* U+0148 */ "n", "n", "n",  "n",  "o", "o", "o",  "o",
    /* U+0150 */ "o", "o", "oe", "oe", "r", "r", "r",  "r",
    /* U+0158 */ "r", "r", "s",  "s",  "s", "s", "s",  "s",
    /* U+0160 */ "s", "s", "t",  "t",  "t", "t", "t",  "t",
    /* U+0168 */ "u", "u", "u",  "u",  "u", "u", "u",  "u",
    /* U+0170 */ "u", "u", "u",  "u",  "w", "w", "y",  "y",
    /* U+0178 */ "y", "z", "z",  "z",  "z", "z", "z",  "s",
};

static const char replacement[] = "\xEF\xBF\xBD"; /* U+FFFD */

/*
 * Decodes one UTF-8 sequence at s[0..avail).  Returns its length, or 0 if the
 * sequence is invalid (the caller then replaces one byte and resynchronises).
 */
static size_t utf8_decode(const unsigned char *s, size_t avail, uint32_t *ret_cp)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c < 0x80) {
        *ret_cp = c;
        return 1;
    } else if (c >= 0xC2 && c <= 0xDF) {
        n = 2, cp = c & 0x1F, min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3, cp = c & 0x0F, min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4, cp = c & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (avail < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    *ret_cp = cp;
    return n;
}

void sv_text_fold(const char *text, size_t len, sv_buf *ret_folded)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    sv_buf_grow(ret_folded, len);
    while (i < len) {
        /* ASCII run: the common case for names and codes. */
        size_t start = i;
        while (i < len && s[i] < 0x80)
            i++;
        if (i > start) {
            size_t at = ret_folded->len;
            sv_buf_add(ret_folded, s + start, i - start);
            for (char *p = ret_folded->ptr + at; p < ret_folded->ptr + ret_folded->len; p++) {
                if (*p >= 'A' && *p <= 'Z')
                    *p = (char)(*p - 'A' + 'a');
            }
            if (i == len)
                break;
        }
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            sv_buf_add(ret_folded, replacement, 3);
            i++;
            continue;
        }
        if (cp >= 0xC0 && cp < 0x180 && latin_fold[cp - 0xC0]) {
            sv_buf_adds(ret_folded, latin_fold[cp - 0xC0]);
        } else if (cp >= 0x300 && cp <= 0x36F) {
            /* combining mark: the base letter was already written */
        } else if (cp == 0xA0) {
            sv_buf_addc(ret_folded, ' ');
        } else {
            sv_buf_add(ret_folded, s + i, n);
        }
        i += n;
    }
}

void sv_text_utf8_sanitize(const char *text, size_t len, sv_buf *ret_valid)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    sv_buf_grow(ret_valid, len);
    while (i < len) {
        uint32_t cp;
        size_t n = utf8_decode(s + i, len - i, &cp);
        if (n == 0) {
            sv_buf_add(ret_valid, replacement, 3);
            i++;
        } else {
            sv_buf_add(ret_valid, s + i, n);
            i += n;
        }
    }
}
