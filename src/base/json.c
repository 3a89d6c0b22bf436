/* json.c - see json.h. */
#include "base/json.h"

#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail_at(sv_buf *reterr, size_t *ret_offset, size_t offset, const char *what)
{
    if (reterr)
        sv_buf_addf(reterr, "malformed json at byte %zu: %s", offset, what);
    if (ret_offset)
        *ret_offset = offset;
}

static bool is_json_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* The SV_JSON_TOP_* kind a value starting with c would have; 0 if none can. */
static unsigned kind_of_first_byte(unsigned char c)
{
    if (c == '{')
        return SV_JSON_TOP_OBJECT;
    if (c == '[')
        return SV_JSON_TOP_ARRAY;
    if (c == '"' || c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n')
        return SV_JSON_TOP_SCALAR;
    return 0;
}

static const char *kind_name(unsigned kind)
{
    switch (kind) {
    case SV_JSON_TOP_OBJECT:
        return "an object";
    case SV_JSON_TOP_ARRAY:
        return "an array";
    default:
        return "a scalar";
    }
}

static void add_expected_kinds(sv_buf *b, unsigned top)
{
    static const unsigned kinds[] = {SV_JSON_TOP_OBJECT, SV_JSON_TOP_ARRAY, SV_JSON_TOP_SCALAR};
    bool first = true;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (!(top & kinds[i]))
            continue;
        sv_buf_adds(b, first ? "" : " or ");
        sv_buf_adds(b, kind_name(kinds[i]));
        first = false;
    }
}

/*
 * One pass over the raw bytes, no recursion: refuses NUL bytes and nesting
 * beyond max_depth, and the wrong kind of top-level value.  Brackets inside
 * strings do not count; a backslash inside a string hides the next byte, so
 * \" and \\ are handled.  Everything else (unbalanced or mismatched brackets,
 * bad escapes, unterminated strings) is left to jansson, which reports it.
 */
static sv_err prescan(const unsigned char *p, size_t len, size_t max_depth, unsigned top,
                      sv_buf *reterr, size_t *ret_offset)
{
    size_t depth = 0;
    bool in_string = false;
    bool seen_value = false;

    /* Said plainly, rather than by jansson echoing the invisible character. */
    if (len >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf) {
        fail_at(reterr, ret_offset, 0, "a byte order mark; send UTF-8 without one");
        return SV_ERR_PARSE;
    }

    for (size_t i = 0; i < len; i++) {
        unsigned char c = p[i];
        if (c == '\0') {
            fail_at(reterr, ret_offset, i, "nul byte");
            return SV_ERR_PARSE;
        }
        if (in_string) {
            if (c == '\\') {
                if (i + 1 < len && p[i + 1] == '\0') {
                    fail_at(reterr, ret_offset, i + 1, "nul byte");
                    return SV_ERR_PARSE;
                }
                i++;
            } else if (c == '"') {
                in_string = false;
            }
            continue;
        }
        if (!seen_value && !is_json_space(c)) {
            unsigned kind = kind_of_first_byte(c);
            seen_value = true;
            if (kind != 0 && !(top & kind)) {
                if (reterr) {
                    sv_buf_addf(reterr, "malformed json at byte %zu: expected ", i);
                    add_expected_kinds(reterr, top);
                    sv_buf_addf(reterr, " at the top level, found %s", kind_name(kind));
                }
                if (ret_offset)
                    *ret_offset = i;
                return SV_ERR_PARSE;
            }
        }
        if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (depth == max_depth) {
                if (reterr)
                    sv_buf_addf(reterr, "json nests deeper than %zu levels at byte %zu", max_depth,
                                i);
                if (ret_offset)
                    *ret_offset = i;
                return SV_ERR_TOO_DEEP;
            }
            depth++;
        } else if ((c == '}' || c == ']') && depth > 0) {
            depth--;
        }
    }
    return SV_OK;
}

sv_err sv_json_parse(const char *text, size_t len, size_t max_depth, unsigned top,
                     json_t **ret_json, sv_buf *reterr, size_t *ret_offset)
{
    assert(top & SV_JSON_TOP_ANY);
    assert(text || len == 0);
    if (!text)
        text = "";

    sv_err err = prescan((const unsigned char *)text, len, max_depth, top, reterr, ret_offset);
    if (err != SV_OK)
        return err;

    json_error_t jerr;
    size_t flags = JSON_REJECT_DUPLICATES;
    if (top & SV_JSON_TOP_SCALAR)
        flags |= JSON_DECODE_ANY;
    json_t *j = json_loadb(text, len, flags, &jerr);
    if (!j) {
        size_t offset = jerr.position >= 0 ? (size_t)jerr.position : 0;
        if (offset > len)
            offset = len;
        switch (json_error_code(&jerr)) {
        case json_error_out_of_memory:
            err = SV_ERR_NOMEM;
            break;
        case json_error_stack_overflow:
            err = SV_ERR_TOO_DEEP;
            break;
        default:
            err = SV_ERR_PARSE;
            break;
        }
        fail_at(reterr, ret_offset, offset, jerr.text);
        return err;
    }

    /* prescan already refused the wrong kind; this only guards against the two disagreeing. */
    unsigned kind = json_is_object(j)  ? SV_JSON_TOP_OBJECT
                    : json_is_array(j) ? SV_JSON_TOP_ARRAY
                                       : SV_JSON_TOP_SCALAR;
    if (!(top & kind)) {
        json_decref(j);
        fail_at(reterr, ret_offset, 0, "unexpected kind of value at the top level");
        return SV_ERR_PARSE;
    }
    *ret_json = j;
    return SV_OK;
}

/*
 * Our own writer instead of json_dumps: jansson prints every real with one fixed
 * precision, which either adds noise digits (17: 98.6 -> 98.599999999999994) or
 * changes the value (15: 66.899999999999991 -> 66.9, a different double).  We print
 * each real with the fewest digits (15, 16 or 17) that read back as the same double.
 */
static void dump_real(double d, sv_buf *out)
{
    char tmp[40];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    sv_buf_adds(out, tmp);
    if (!strpbrk(tmp, ".eE"))
        sv_buf_adds(out, ".0"); /* a real stays a real: 1.0 is not written as 1 */
}

static void dump_string(const char *s, size_t len, sv_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    sv_buf_grow(out, len + 2);
    sv_buf_addc(out, '"');
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sv_buf_add(out, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"':
            sv_buf_adds(out, "\\\"");
            break;
        case '\\':
            sv_buf_adds(out, "\\\\");
            break;
        case '\n':
            sv_buf_adds(out, "\\n");
            break;
        case '\r':
            sv_buf_adds(out, "\\r");
            break;
        case '\t':
            sv_buf_adds(out, "\\t");
            break;
        default: {
            char u[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], 0};
            sv_buf_adds(out, u);
        }
        }
    }
    sv_buf_add(out, s + start, len - start);
    sv_buf_addc(out, '"');
}

static void dump_value(const json_t *j, sv_buf *out)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *v;
        bool first = true;
        sv_buf_addc(out, '{');
        json_object_foreach((json_t *)j, key, v)
        {
            if (!first)
                sv_buf_addc(out, ',');
            first = false;
            dump_string(key, strlen(key), out);
            sv_buf_addc(out, ':');
            dump_value(v, out);
        }
        sv_buf_addc(out, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t i;
        json_t *v;
        sv_buf_addc(out, '[');
        json_array_foreach(j, i, v)
        {
            if (i)
                sv_buf_addc(out, ',');
            dump_value(v, out);
        }
        sv_buf_addc(out, ']');
        break;
    }
    case JSON_STRING:
        dump_string(json_string_value(j), json_string_length(j), out);
        break;
    case JSON_INTEGER:
        sv_buf_addf(out, "%" JSON_INTEGER_FORMAT, json_integer_value(j));
        break;
    case JSON_REAL:
        dump_real(json_real_value(j), out);
        break;
    case JSON_TRUE:
        sv_buf_adds(out, "true");
        break;
    case JSON_FALSE:
        sv_buf_adds(out, "false");
        break;
    case JSON_NULL:
        sv_buf_adds(out, "null");
        break;
    }
}

sv_err sv_json_dumpb(const json_t *j, sv_buf *out)
{
    if (!j)
        return SV_ERR_INTERNAL;
    dump_value(j, out);
    return SV_OK;
}
