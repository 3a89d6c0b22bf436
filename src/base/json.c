/* json.c - see json.h. */
#include "base/json.h"

#include <assert.h>
#include <errno.h>
#include <float.h>
#include <math.h>
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

/* The length of the number token at p[0..avail): its bytes, syntax or not. */
static size_t number_token_len(const unsigned char *p, size_t avail)
{
    size_t n = 0;
    while (n < avail && ((p[n] >= '0' && p[n] <= '9') || p[n] == '-' || p[n] == '+' ||
                         p[n] == '.' || p[n] == 'e' || p[n] == 'E'))
        n++;
    return n;
}

/*
 * Why the number token p[0..n) cannot be held as written, or NULL when it can.
 * jansson keeps an integer as int64 and a real as a double: a real beyond the
 * double range it refuses without saying where, and one below it (1e-400) it
 * silently reads as 0.  Subnormal doubles keep too few digits to be trusted.
 */
static const char *number_out_of_range(const unsigned char *p, size_t n)
{
    char small[64];
    char *buf = n < sizeof(small) ? small : malloc(n + 1);
    if (!buf)
        return NULL; /* jansson then fails on memory as well */
    memcpy(buf, p, n);
    buf[n] = '\0';
    const char *why = NULL;
    bool real = strpbrk(buf, ".eE") != NULL;
    errno = 0;
    if (!real) {
        (void)strtoll(buf, NULL, 10);
        if (errno == ERANGE)
            why = "an integer beyond 64 bits";
    } else {
        double d = strtod(buf, NULL);
        bool nonzero_digit = false;
        for (const char *c = buf; *c && *c != 'e' && *c != 'E'; c++)
            nonzero_digit |= *c >= '1' && *c <= '9';
        if (isinf(d))
            why = "beyond the largest decimal held (about 1.8e308)";
        else if ((d == 0 && nonzero_digit) || (d != 0 && fabs(d) < DBL_MIN))
            why = "below the smallest decimal held (about 2.2e-308) and would become 0";
    }
    if (buf != small)
        free(buf);
    return why;
}

typedef struct path_frame {
    bool array;
    bool expect_key;
    size_t index;
    size_t key_at, key_len;
} path_frame;

/*
 * The element path of the value at byte `at` ("valueQuantity.value",
 * "component[1].valueQuantity.value"), prefixed with the top-level resourceType
 * when one came before it: a second scan, run only to name a refused value.
 * Keys are copied as written (FHIR names need no escapes).  Depth was checked.
 */
static void path_at(const unsigned char *p, size_t at, size_t max_depth, sv_buf *ret_path)
{
    path_frame *st = calloc(max_depth + 1, sizeof(*st));
    if (!st)
        return;
    size_t depth = 0, str_start = 0, rt_at = 0, rt_len = 0;
    bool in_string = false, pending_rt = false;
    for (size_t i = 0; i < at; i++) {
        unsigned char c = p[i];
        path_frame *f = depth ? &st[depth - 1] : NULL;
        if (in_string) {
            if (c == '\\') {
                i++;
            } else if (c == '"') {
                in_string = false;
                if (f && !f->array && f->expect_key) {
                    f->key_at = str_start;
                    f->key_len = i - str_start;
                } else if (pending_rt) {
                    rt_at = str_start;
                    rt_len = i - str_start;
                }
                pending_rt = false;
            }
            continue;
        }
        if (c == '"') {
            in_string = true;
            str_start = i + 1;
        } else if ((c == '{' || c == '[') && depth <= max_depth) {
            st[depth++] = (path_frame){.array = c == '[', .expect_key = c == '{'};
            pending_rt = false;
        } else if ((c == '}' || c == ']') && depth) {
            depth--;
        } else if (c == ':' && f) {
            f->expect_key = false;
            pending_rt =
                depth == 1 && f->key_len == 12 && memcmp(p + f->key_at, "resourceType", 12) == 0;
        } else if (c == ',' && f) {
            if (f->array)
                f->index++;
            else
                f->expect_key = true;
        }
    }
    if (rt_len)
        sv_buf_add(ret_path, p + rt_at, rt_len);
    for (size_t d = 0; d < depth; d++) {
        if (st[d].array) {
            sv_buf_addf(ret_path, "[%zu]", st[d].index);
        } else {
            if (ret_path->len)
                sv_buf_addc(ret_path, '.');
            sv_buf_add(ret_path, p + st[d].key_at, st[d].key_len);
        }
    }
    free(st);
}

/*
 * One pass over the raw bytes, no recursion: refuses NUL bytes and nesting
 * beyond max_depth, and the wrong kind of top-level value.  Brackets inside
 * strings do not count; a backslash inside a string hides the next byte, so
 * \" and \\ are handled.  Everything else (unbalanced or mismatched brackets,
 * bad escapes, unterminated strings) is left to jansson, which reports it.
 */
static sv_err prescan(const unsigned char *p, size_t len, size_t max_depth, unsigned top,
                      sv_buf *reterr, size_t *ret_offset, sv_buf *ret_path)
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
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t n = number_token_len(p + i, len - i);
            const char *why = number_out_of_range(p + i, n);
            if (why) {
                sv_buf path = SV_BUF_INIT;
                path_at(p, i, max_depth, &path);
                if (reterr)
                    sv_buf_addf(reterr, "the number %.*s at byte %zu%s%s is %s",
                                (int)(n > 40 ? 40 : n), (const char *)p + i, i,
                                path.len ? " in " : "", path.ptr, why);
                if (ret_offset)
                    *ret_offset = i;
                if (ret_path)
                    sv_buf_add(ret_path, path.ptr, path.len);
                sv_buf_release(&path);
                return SV_ERR_INVALID;
            }
            i += n - 1;
        } else if (c == '"') {
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

static unsigned kind_of_value(const json_t *j)
{
    return json_is_object(j)  ? SV_JSON_TOP_OBJECT
           : json_is_array(j) ? SV_JSON_TOP_ARRAY
                              : SV_JSON_TOP_SCALAR;
}

sv_err sv_json_parse(const char *text, size_t len, size_t max_depth, unsigned top,
                     json_t **ret_json, sv_buf *reterr, size_t *ret_offset)
{
    return sv_json_parse_at(text, len, max_depth, top, ret_json, reterr, ret_offset, NULL);
}

sv_err sv_json_parse_at(const char *text, size_t len, size_t max_depth, unsigned top,
                        json_t **ret_json, sv_buf *reterr, size_t *ret_offset, sv_buf *ret_path)
{
    assert(top & SV_JSON_TOP_ANY);
    assert(text || len == 0);
    if (!text)
        text = "";

    size_t flags = JSON_REJECT_DUPLICATES;
    if (top & SV_JSON_TOP_SCALAR)
        flags |= JSON_DECODE_ANY;

    /* One pass for a well-formed document: what the fast reader builds has no NUL
     * byte, no byte order mark, no number out of range and no nesting beyond
     * max_depth, so the scan below would have passed it.  Anything else takes the
     * scan and jansson, which give the error with its offset and path. */
    json_t *j = sv__json_read(text, len, flags, max_depth);
    if (j) {
        if (top & kind_of_value(j)) {
            *ret_json = j;
            return SV_OK;
        }
        json_decref(j);
    }

    sv_err err =
        prescan((const unsigned char *)text, len, max_depth, top, reterr, ret_offset, ret_path);
    if (err != SV_OK)
        return err;

    json_error_t jerr;
    j = sv_json_loadb(text, len, flags, &jerr);
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
    if (!(top & kind_of_value(j))) {
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

/* The bytes of a string that are written escaped: the quote, the backslash and
 * control characters. */
static const unsigned char needs_escape[256] = {[0x00 ... 0x1f] = 1, ['"'] = 1, ['\\'] = 1};

void sv_json_add_string(sv_buf *out, const char *s, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    sv_buf_grow(out, len + 2);
    sv_buf_addc(out, '"');
    size_t start = 0;
    for (size_t i = 0;; i++) {
        while (i < len && !needs_escape[p[i]])
            i++;
        if (i >= len)
            break;
        unsigned char c = p[i];
        sv_buf_add(out, s + start, i - start);
        start = i + 1;
        switch (c) {
        case '"':
            sv_buf_add(out, "\\\"", 2);
            break;
        case '\\':
            sv_buf_add(out, "\\\\", 2);
            break;
        case '\n':
            sv_buf_add(out, "\\n", 2);
            break;
        case '\r':
            sv_buf_add(out, "\\r", 2);
            break;
        case '\t':
            sv_buf_add(out, "\\t", 2);
            break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            sv_buf_add(out, u, sizeof(u));
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
            sv_json_add_string(out, key, strlen(key));
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
        sv_json_add_string(out, json_string_value(j), json_string_length(j));
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
