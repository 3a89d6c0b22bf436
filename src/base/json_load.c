/*
 * json_load.c - see json.h (sv_json_loadb): a fast reader in front of jansson's.
 *
 * jansson's reader takes ~185 instructions per byte (a character stream with a
 * callback per byte and a growing buffer per token); a message of the MedCom
 * benchmark parsed some nine documents, a third of its CPU.  This reader scans
 * the text in place and builds the same jansson values.  It accepts only what
 * it is sure jansson accepts with the same result; anything else (a syntax
 * error, a duplicate key under JSON_REJECT_DUPLICATES, "\u0000", a lone
 * surrogate, a number out of range, deep nesting, flags it does not know) is
 * handed to json_loadb, which then gives the answer and its error message.
 * Depends on jansson only.
 */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

#define FAST_MAX_DEPTH 512 /* deeper: jansson decides (its limit is 2048) */
#define FAST_FLAGS (JSON_REJECT_DUPLICATES | JSON_DECODE_ANY)

typedef struct reader {
    const unsigned char *p, *end;
    size_t flags;
    int max_depth;
    char *scratch; /* unescaped strings */
    size_t cap;
} reader;

static void skip_space(reader *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

/* Length of the valid UTF-8 sequence (RFC 3629: no overlongs, no surrogates,
 * at most U+10FFFF) starting at p, or 0. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end)
{
    unsigned c = p[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        n = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF)
            return 0;
    return n;
}

static int hex4(const unsigned char *p)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (int)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (int)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (int)(c - 'A' + 10);
        else
            return -1;
    }
    return v;
}

static bool scratch_room(reader *r, size_t need)
{
    if (need <= r->cap)
        return true;
    size_t cap = r->cap ? r->cap : 256;
    while (cap < need)
        cap *= 2;
    char *s = realloc(r->scratch, cap);
    if (!s)
        return false;
    r->scratch = s;
    r->cap = cap;
    return true;
}

/* The bytes a string's scan must stop at: the quote, the backslash, control
 * characters (refused) and the lead bytes of UTF-8 sequences (checked). */
static const unsigned char string_stop[256] = {
    [0x00 ... 0x1f] = 1,
    ['"'] = 1,
    ['\\'] = 1,
    [0x80 ... 0xff] = 1,
};

/* A string at r->p (past its opening quote): *ret and *ret_len point into the text or
 * into r->scratch (valid until the next string).  false: hand it to jansson. */
static bool read_string(reader *r, const char **ret, size_t *ret_len)
{
    const unsigned char *s = r->p, *q = s;
    for (;;) {
        /* eight bytes at a time while none of them is a stop byte (SWAR: a byte below
         * 0x20, equal to '"' or '\\', or with its high bit set) */
        while (r->end - q >= 8) {
            uint64_t w;
            memcpy(&w, q, 8);
            const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
            uint64_t quote = w ^ (ones * '"'), backslash = w ^ (ones * '\\');
            /* high bit of each term: a byte >= 0x80, < 0x20, == '"', == '\\' (the
             * usual "has less than" and "has zero" tests; they may flag a byte next to
             * a stop byte, never miss one) */
            uint64_t stop = w | ((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
                            ((backslash - ones) & ~backslash);
            if ((stop & high) != 0)
                break;
            q += 8;
        }
        while (q < r->end && !string_stop[*q])
            q++;
        if (q >= r->end || *q == '"' || *q == '\\')
            break;
        if (*q < 0x20)
            return false;
        size_t n = utf8_len(q, r->end);
        if (!n)
            return false;
        q += n;
    }
    if (q >= r->end)
        return false;
    if (*q == '"') {
        *ret = (const char *)s;
        *ret_len = (size_t)(q - s);
        r->p = q + 1;
        return true;
    }
    /* escapes: unescape into scratch (never longer than the text) */
    size_t len = (size_t)(q - s);
    if (!scratch_room(r, (size_t)(r->end - s) + 1))
        return false;
    memcpy(r->scratch, s, len);
    while (q < r->end && *q != '"') {
        if (*q == '\\') {
            if (r->end - q < 2)
                return false;
            unsigned char e = q[1];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char out[] = "\"\\/\b\f\n\r\t";
                r->scratch[len++] = out[simple - "\"\\/bfnrt"];
                q += 2;
                continue;
            }
            if (e != 'u' || r->end - q < 6)
                return false;
            int u = hex4(q + 2);
            q += 6;
            if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
                return false; /* \u0000, bad hex, lone low surrogate */
            uint32_t cp = (uint32_t)u;
            if (u >= 0xD800 && u <= 0xDBFF) {
                if (r->end - q < 6 || q[0] != '\\' || q[1] != 'u')
                    return false;
                int lo = hex4(q + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return false;
                q += 6;
                cp = 0x10000 + (((uint32_t)u - 0xD800) << 10) + ((uint32_t)lo - 0xDC00);
            }
            char *o = r->scratch + len;
            if (cp < 0x80) {
                o[0] = (char)cp;
                len += 1;
            } else if (cp < 0x800) {
                o[0] = (char)(0xC0 | (cp >> 6));
                o[1] = (char)(0x80 | (cp & 0x3F));
                len += 2;
            } else if (cp < 0x10000) {
                o[0] = (char)(0xE0 | (cp >> 12));
                o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
                o[2] = (char)(0x80 | (cp & 0x3F));
                len += 3;
            } else {
                o[0] = (char)(0xF0 | (cp >> 18));
                o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
                o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
                o[3] = (char)(0x80 | (cp & 0x3F));
                len += 4;
            }
            continue;
        }
        if (*q < 0x20)
            return false;
        size_t n = *q < 0x80 ? 1 : utf8_len(q, r->end);
        if (!n)
            return false;
        memcpy(r->scratch + len, q, n);
        len += n;
        q += n;
    }
    if (q >= r->end)
        return false;
    r->scratch[len] = '\0';
    *ret = r->scratch;
    *ret_len = len;
    r->p = q + 1;
    return true;
}

/* A number in jansson's grammar; out of range (either way): jansson decides. */
static json_t *read_number(reader *r)
{
    const unsigned char *s = r->p, *q = s;
    bool real = false;
    if (q < r->end && *q == '-')
        q++;
    if (q >= r->end || *q < '0' || *q > '9')
        return NULL;
    if (*q == '0') {
        q++;
        if (q < r->end && *q >= '0' && *q <= '9')
            return NULL;
    } else {
        while (q < r->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < r->end && *q == '.') {
        real = true;
        q++;
        if (q >= r->end || *q < '0' || *q > '9')
            return NULL;
        while (q < r->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < r->end && (*q == 'e' || *q == 'E')) {
        real = true;
        q++;
        if (q < r->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= r->end || *q < '0' || *q > '9')
            return NULL;
        while (q < r->end && *q >= '0' && *q <= '9')
            q++;
    }
    char buf[64];
    size_t n = (size_t)(q - s);
    if (n >= sizeof(buf))
        return NULL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    r->p = q;
    errno = 0;
    if (!real) {
        long long v = strtoll(buf, NULL, 10);
        return errno ? NULL : json_integer(v);
    }
    double d = strtod(buf, NULL);
    if (errno || !isfinite(d))
        return NULL;
    /* Subnormal, or 0 from digits that are not all zero: sv_json_parse refuses these
     * (json.h), so its fast path must not take them; jansson answers for them here. */
    if (d != 0 ? fabs(d) < DBL_MIN : strcspn(buf, "123456789") < strcspn(buf, "eE"))
        return NULL;
    return json_real(d);
}

static json_t *read_value(reader *r, int depth);

static json_t *read_object(reader *r, int depth)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    skip_space(r);
    if (r->p < r->end && *r->p == '}') {
        r->p++;
        return o;
    }
    for (;;) {
        skip_space(r);
        if (r->p >= r->end || *r->p != '"')
            break;
        r->p++;
        const char *key;
        size_t klen;
        if (!read_string(r, &key, &klen))
            break;
        /* A key with escapes lives in scratch, which the value's strings reuse: copied.
         * Any other points into the text (jansson takes it with its length). */
        char small[128];
        const char *k = key;
        char *copy = NULL;
        if (key == r->scratch) {
            copy = klen < sizeof(small) ? small : malloc(klen + 1);
            if (!copy)
                break;
            memcpy(copy, key, klen);
            k = copy;
        }
        json_t *v = NULL;
        skip_space(r);
        if (r->p < r->end && *r->p == ':') {
            r->p++;
            v = read_value(r, depth);
        }
        /* A duplicate replaces the first value and leaves the size as it was: no
         * lookup of its own is needed to refuse it. */
        size_t size = json_object_size(o);
        bool ok = v && json_object_setn_new_nocheck(o, k, klen, v) == 0 &&
                  (!(r->flags & JSON_REJECT_DUPLICATES) || json_object_size(o) > size);
        if (copy != small)
            free(copy);
        if (!ok)
            break;
        skip_space(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == '}') {
            r->p++;
            return o;
        }
        break;
    }
    json_decref(o);
    return NULL;
}

static json_t *read_array(reader *r, int depth)
{
    json_t *a = json_array();
    if (!a)
        return NULL;
    skip_space(r);
    if (r->p < r->end && *r->p == ']') {
        r->p++;
        return a;
    }
    for (;;) {
        json_t *v = read_value(r, depth);
        if (!v || json_array_append_new(a, v) != 0)
            break;
        skip_space(r);
        if (r->p < r->end && *r->p == ',') {
            r->p++;
            continue;
        }
        if (r->p < r->end && *r->p == ']') {
            r->p++;
            return a;
        }
        break;
    }
    json_decref(a);
    return NULL;
}

static bool literal(reader *r, const char *word, size_t n)
{
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return false;
    r->p += n;
    return true;
}

static json_t *read_value(reader *r, int depth)
{
    skip_space(r);
    if (r->p >= r->end)
        return NULL;
    switch (*r->p) {
    case '{':
    case '[':
        if (depth + 1 > r->max_depth)
            return NULL;
        return *r->p++ == '{' ? read_object(r, depth + 1) : read_array(r, depth + 1);
    case '"': {
        r->p++;
        const char *s;
        size_t n;
        return read_string(r, &s, &n) ? json_stringn_nocheck(s, n) : NULL;
    }
    case 't':
        return literal(r, "true", 4) ? json_true() : NULL;
    case 'f':
        return literal(r, "false", 5) ? json_false() : NULL;
    case 'n':
        return literal(r, "null", 4) ? json_null() : NULL;
    default:
        return read_number(r);
    }
}

json_t *sv__json_read(const char *text, size_t len, size_t flags, size_t max_depth)
{
    if (!text || (flags & ~(size_t)FAST_FLAGS))
        return NULL;
    reader r = {.p = (const unsigned char *)text,
                .end = (const unsigned char *)text + len,
                .flags = flags,
                .max_depth = max_depth < FAST_MAX_DEPTH ? (int)max_depth : FAST_MAX_DEPTH};
    skip_space(&r);
    json_t *j = NULL;
    if (r.p < r.end && ((flags & JSON_DECODE_ANY) || *r.p == '{' || *r.p == '['))
        j = read_value(&r, 0);
    free(r.scratch);
    if (j) {
        skip_space(&r);
        if (r.p == r.end)
            return j;
        json_decref(j);
    }
    return NULL;
}

json_t *sv_json_loadb(const char *text, size_t len, size_t flags, json_error_t *ret_error)
{
    json_t *j = sv__json_read(text, len, flags, FAST_MAX_DEPTH);
    return j ? j : json_loadb(text, len, flags, ret_error);
}
