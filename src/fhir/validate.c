/*
 * validate.c - see validate.h.  Also implements the model.h lookups.
 *
 * One recursive walk over the JSON.  The issue path is kept as a stack of
 * borrowed (name, index) frames and only turned into a string when an issue
 * is reported, so a valid resource costs no allocation at all.
 */
#include "fhir/validate.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fhir/ident.h"
#include "fhir/model.h"

/* ---- model lookups ------------------------------------------------------ */

/* strcmp(stored, name[0..len)) for a name that is not NUL-terminated. */
static int cmp_stored(const char *stored, const char *name, size_t len)
{
    int r = strncmp(stored, name, len);
    if (r != 0)
        return r;
    return stored[len] == '\0' ? 0 : 1;
}

const sv_model_type *sv_model_type_findn(const char *name, size_t len)
{
    size_t lo = 0, hi = sv_model_type_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_stored(sv_model_type_name(&sv_model_types[mid]), name, len);
        if (r == 0)
            return &sv_model_types[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const sv_model_type *sv_model_type_find(const char *name)
{
    return name ? sv_model_type_findn(name, strlen(name)) : NULL;
}

bool sv_model_is_resource_type(const char *name)
{
    const sv_model_type *t = sv_model_type_find(name);
    return t && t->kind == SV_MODEL_KIND_RESOURCE && !t->abstract;
}

const sv_model_element *sv_model_element_find(const sv_model_element *first, size_t count,
                                              const char *name, size_t len)
{
    size_t lo = 0, hi = count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int r = cmp_stored(sv_model_element_name(&first[mid]), name, len);
        if (r == 0)
            return &first[mid];
        if (r < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

void sv_model_element_children(const sv_model_element *e, const sv_model_element **ret_first,
                               size_t *ret_count)
{
    if (e->count) {
        *ret_first = &sv_model_elements[e->first];
        *ret_count = e->count;
        return;
    }
    const sv_model_type *t = sv_model_element_type(e, 0);
    *ret_first = &sv_model_elements[t->first];
    *ret_count = t->count;
}

bool sv_model_valueset_contains(unsigned vs, const char *system, const char *code)
{
    if (vs >= sv_model_valueset_count || !code)
        return false;
    const sv_model_code *codes = &sv_model_codes[sv_model_valuesets[vs].first];
    size_t lo = 0, hi = sv_model_valuesets[vs].count;
    while (lo < hi) { /* first entry with code >= the one sought */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(sv_model_str(codes[mid].code), code) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (; lo < sv_model_valuesets[vs].count; lo++) {
        if (strcmp(sv_model_str(codes[lo].code), code) != 0)
            break;
        if (!system || strcmp(sv_model_str(codes[lo].system), system) == 0)
            return true;
    }
    return false;
}

const char *sv_model_valueset_url(unsigned vs)
{
    return vs < sv_model_valueset_count ? sv_model_str(sv_model_valuesets[vs].url) : "";
}

const sv_model_backbone *sv_model_backbone_of(const sv_model_element *e)
{
    if (!e->count)
        return NULL;
    size_t lo = 0, hi = sv_model_backbone_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (sv_model_backbones[mid].first == e->first)
            return &sv_model_backbones[mid];
        if (sv_model_backbones[mid].first < e->first)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const sv_model_element *sv_model_element_find_path(const char *path, size_t len)
{
    const char *end = path + len;
    const char *dot = memchr(path, '.', len);
    if (!dot)
        return NULL;
    const sv_model_type *t = sv_model_type_findn(path, (size_t)(dot - path));
    if (!t)
        return NULL;
    const sv_model_element *first = &sv_model_elements[t->first], *e = NULL;
    size_t count = t->count;
    while (dot) {
        const char *name = dot + 1;
        dot = memchr(name, '.', (size_t)(end - name));
        if (e) {
            if (e->ntypes != 1)
                return NULL; /* a choice: no one set of children */
            sv_model_element_children(e, &first, &count);
        }
        e = sv_model_element_find(first, count, name, (size_t)((dot ? dot : end) - name));
        if (!e)
            return NULL;
    }
    return e;
}

const sv_model_profile *sv_model_profile_find(const char *name)
{
    for (size_t i = 0; name && i < sv_model_profile_count; i++) {
        if (strcmp(sv_model_str(sv_model_profiles[i].name), name) == 0)
            return &sv_model_profiles[i];
    }
    return NULL;
}

/* ---- walk state and reporting ------------------------------------------ */

typedef struct frame {
    const char *name; /* borrowed: a JSON key or a model string */
    size_t len;
    long index; /* array index, -1 if none */
} frame;

typedef struct vctx {
    sv_outcome *out;
    int errors;           /* error issues added */
    int issues;           /* issues added */
    bool stopped;         /* issue limit reached */
    bool too_deep;        /* depth issue already reported */
    int conditional_refs; /* > 0 inside a transaction or batch Bundle */
    const sv_model_type *element_type;
    size_t depth;
    frame frames[SV_FHIR_VALIDATE_MAX_DEPTH];
} vctx;

/* Object flags for check_object. */
#define OBJ_RESOURCE 0x1  /* a resource root: resourceType allowed */
#define OBJ_HAS_VALUE 0x2 /* the _name of a primitive that has a value */

static void path_build(const vctx *c, sv_buf *b, const char *extra)
{
    for (size_t i = 0; i < c->depth; i++) {
        if (i > 0)
            sv_buf_addc(b, '.');
        sv_buf_add(b, c->frames[i].name, c->frames[i].len);
        if (c->frames[i].index >= 0)
            sv_buf_addf(b, "[%ld]", c->frames[i].index);
    }
    if (extra) {
        if (c->depth)
            sv_buf_addc(b, '.');
        sv_buf_adds(b, extra);
    }
}

static void report(vctx *c, sv_severity sev, const char *code, const char *extra, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

static void report(vctx *c, sv_severity sev, const char *code, const char *extra, const char *fmt,
                   ...)
{
    if (c->stopped)
        return;
    if (c->issues == SV_FHIR_VALIDATE_MAX_ISSUES) {
        sv_outcome_add(c->out, SV_SEV_ERROR, "too-costly", NULL,
                       "too many issues; validation stopped after %d", c->issues);
        c->errors++;
        c->stopped = true;
        return;
    }
    sv_buf path = SV_BUF_INIT, msg = SV_BUF_INIT;
    path_build(c, &path, extra);
    va_list ap;
    va_start(ap, fmt);
    sv_buf_vaddf(&msg, fmt, ap);
    va_end(ap);
    sv_outcome_add(c->out, sev, code, path.len ? path.ptr : NULL, "%s", msg.ptr);
    sv_buf_release(&path);
    sv_buf_release(&msg);
    c->issues++;
    if (sev == SV_SEV_ERROR || sev == SV_SEV_FATAL)
        c->errors++;
}

static bool push(vctx *c, const char *name, size_t len)
{
    if (c->depth == SV_FHIR_VALIDATE_MAX_DEPTH) {
        if (!c->too_deep)
            report(c, SV_SEV_ERROR, "too-costly", NULL, "nesting deeper than %d levels",
                   SV_FHIR_VALIDATE_MAX_DEPTH);
        c->too_deep = true;
        return false;
    }
    c->frames[c->depth++] = (frame){name, len, -1};
    return true;
}

static void pop(vctx *c)
{
    c->depth--;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
        return "an integer";
    case JSON_REAL:
        return "a decimal number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "a value";
}

/* A user value for diagnostics: quoted, at most ~60 bytes, control characters
 * replaced, never cut inside a UTF-8 sequence. */
typedef struct quoted {
    char s[80];
} quoted;

static quoted quote(const char *s, size_t len)
{
    quoted q;
    size_t max = 60, n = len > max ? max : len, o = 0;
    if (len > max)
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    q.s[o++] = '\'';
    for (size_t i = 0; i < n; i++)
        q.s[o++] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    if (n < len) {
        memcpy(q.s + o, "...", 3);
        o += 3;
    }
    q.s[o++] = '\'';
    q.s[o] = '\0';
    return q;
}

/* ---- primitive formats (R4 datatypes.html, checked by hand) ------------ */

static bool is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\f' || ch == '\v';
}

static bool is_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool is_alnum(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static bool is_lower_hex(char ch)
{
    return is_digit(ch) || (ch >= 'a' && ch <= 'f');
}

static bool is_id(const char *s, size_t len)
{
    if (len < 1 || len > 64)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '.')
            return false;
    return true;
}

/* urn:oid:[0-2](\.(0|[1-9][0-9]*))+ */
static bool is_oid(const char *s, size_t len)
{
    if (len < 8 || memcmp(s, "urn:oid:", 8) != 0)
        return false;
    size_t i = 8;
    if (i >= len || s[i] < '0' || s[i] > '2')
        return false;
    i++;
    int arcs = 0;
    while (i < len) {
        if (s[i] != '.' || i + 1 >= len || !is_digit(s[i + 1]))
            return false;
        i++;
        if (s[i] == '0' && i + 1 < len && is_digit(s[i + 1]))
            return false;
        while (i < len && is_digit(s[i]))
            i++;
        arcs++;
    }
    return arcs > 0;
}

/* urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12} */
static bool is_uuid(const char *s, size_t len)
{
    if (len != 45 || memcmp(s, "urn:uuid:", 9) != 0)
        return false;
    for (size_t i = 9; i < len; i++) {
        size_t k = i - 9;
        if (k == 8 || k == 13 || k == 18 || k == 23) {
            if (s[i] != '-')
                return false;
        } else if (!is_lower_hex(s[i])) {
            return false;
        }
    }
    return true;
}

typedef struct cursor {
    const char *s;
    size_t len, pos;
} cursor;

static bool take_digits(cursor *c, int n, int *ret)
{
    int v = 0;
    if (c->pos + (size_t)n > c->len)
        return false;
    for (int i = 0; i < n; i++) {
        char ch = c->s[c->pos + i];
        if (!is_digit(ch))
            return false;
        v = v * 10 + (ch - '0');
    }
    c->pos += n;
    *ret = v;
    return true;
}

static bool take(cursor *c, char ch)
{
    if (c->pos < c->len && c->s[c->pos] == ch) {
        c->pos++;
        return true;
    }
    return false;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* YYYY[-MM[-DD]]; *ret_parts is how many of the three were given. */
static const char *parse_date(cursor *c, int *ret_parts)
{
    int y, m, d;
    *ret_parts = 0;
    if (!take_digits(c, 4, &y))
        return "expected a four-digit year";
    if (y == 0)
        return "there is no year 0000";
    *ret_parts = 1;
    if (!take(c, '-'))
        return NULL;
    if (!take_digits(c, 2, &m))
        return "expected a two-digit month after the year";
    if (m < 1 || m > 12)
        return "month must be 01-12";
    *ret_parts = 2;
    if (!take(c, '-'))
        return NULL;
    if (!take_digits(c, 2, &d))
        return "expected a two-digit day after the month";
    if (d < 1 || d > days_in_month(y, m))
        return "no such day in that month";
    *ret_parts = 3;
    return NULL;
}

/* hh:mm:ss(.f+)? */
static const char *parse_time(cursor *c)
{
    int h, m, s;
    if (!take_digits(c, 2, &h) || !take(c, ':') || !take_digits(c, 2, &m) || !take(c, ':') ||
        !take_digits(c, 2, &s))
        return "expected a time as hh:mm:ss";
    if (h > 23)
        return "hour must be 00-23";
    if (m > 59)
        return "minutes must be 00-59";
    if (s > 60)
        return "seconds must be 00-60";
    if (take(c, '.')) {
        size_t start = c->pos;
        while (c->pos < c->len && is_digit(c->s[c->pos]))
            c->pos++;
        if (c->pos == start)
            return "expected digits after the decimal point of the seconds";
    }
    return NULL;
}

/* Z or (+|-)hh:mm, hh:mm up to 14:00 */
static const char *parse_zone(cursor *c)
{
    int h, m;
    if (take(c, 'Z'))
        return NULL;
    if (!take(c, '+') && !take(c, '-'))
        return c->pos == c->len ? "a time zone (Z or +hh:mm) is required when a time is given"
                                : "expected a time zone (Z or +hh:mm)";
    if (!take_digits(c, 2, &h) || !take(c, ':') || !take_digits(c, 2, &m))
        return "expected a time zone offset as +hh:mm or -hh:mm";
    if (m > 59 || h > 14 || (h == 14 && m != 0))
        return "time zone offset out of range (-14:00 to +14:00)";
    return NULL;
}

static const char *check_date_like(sv_model_builtin b, const char *s, size_t len)
{
    cursor c = {s, len, 0};
    const char *why;
    int parts;
    if (b == SV_MODEL_BUILTIN_TIME) {
        if ((why = parse_time(&c)))
            return why;
        return c.pos == len ? NULL : "unexpected characters after the time";
    }
    if ((why = parse_date(&c, &parts)))
        return why;
    if (b == SV_MODEL_BUILTIN_DATE)
        return c.pos == len ? NULL : "unexpected characters after the date (a date has no time)";
    if (c.pos == len) {
        if (b == SV_MODEL_BUILTIN_INSTANT)
            return "an instant needs a full date, time and time zone";
        return NULL;
    }
    if (!take(&c, 'T'))
        return "expected 'T' and a time after the date";
    if (parts != 3)
        return "a time is only allowed after a full date";
    if ((why = parse_time(&c)))
        return why;
    if ((why = parse_zone(&c)))
        return why;
    return c.pos == len ? NULL : "unexpected characters after the time zone";
}

static const char *check_base64(const char *s, size_t len)
{
    size_t n = 0, pad = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = s[i];
        if (is_space(ch))
            continue;
        if (ch == '=') {
            if (++pad > 2)
                return "too much '=' padding";
        } else if (is_alnum(ch) || ch == '+' || ch == '/') {
            if (pad)
                return "data after '=' padding";
        } else {
            return "invalid base64 character";
        }
        n++;
    }
    if (n == 0)
        return "no base64 data";
    if (n % 4 != 0)
        return "base64 length is not a multiple of 4";
    return NULL;
}

/* Classes of bytes for check_chars, looked up once per byte: a control character
 * other than tab, CR and LF; whitespace as is_space has it (\f and \v are both). */
#define CHAR_CONTROL 0x1
#define CHAR_SPACE 0x2
static const unsigned char char_class[256] = {
    [0x00 ... 0x08] = CHAR_CONTROL,
    ['\t'] = CHAR_SPACE,
    ['\n'] = CHAR_SPACE,
    ['\v'] = CHAR_CONTROL | CHAR_SPACE,
    ['\f'] = CHAR_CONTROL | CHAR_SPACE,
    ['\r'] = CHAR_SPACE,
    [0x0e ... 0x1f] = CHAR_CONTROL,
    [' '] = CHAR_SPACE,
};

static const char *check_chars(const char *s, size_t len, bool allow_space)
{
    const unsigned char *p = (const unsigned char *)s;
    unsigned refused = allow_space ? CHAR_CONTROL : CHAR_CONTROL | CHAR_SPACE;
    for (size_t i = 0; i < len; i++) {
        unsigned cls = char_class[p[i]] & refused;
        if (cls == 0)
            continue;
        return cls & CHAR_CONTROL ? "contains a control character" : "must not contain whitespace";
    }
    return NULL;
}

/*
 * Narrative safety (txt-1, in the part that matters for people who display it):
 * only the HTML 4 formatting elements R4 names (chapters 7-11 and 15 without
 * 9.4, links and images), no event handler attributes, no script urls, no
 * declarations.  Not a full XHTML parse: well-formedness is not checked.
 */
static const char *const narrative_elements[] = {
    "a",          "abbr",  "acronym", "address", "b",      "basefont", "bdo", "big",
    "blockquote", "br",    "caption", "center",  "cite",   "code",     "col", "colgroup",
    "dd",         "dfn",   "dir",     "div",     "dl",     "dt",       "em",  "font",
    "h1",         "h2",    "h3",      "h4",      "h5",     "h6",       "hr",  "i",
    "img",        "kbd",   "li",      "menu",    "ol",     "p",        "pre", "q",
    "s",          "samp",  "small",   "span",    "strike", "strong",   "sub", "sup",
    "table",      "tbody", "td",      "tfoot",   "th",     "thead",    "tr",  "tt",
    "u",          "ul",    "var",
};

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == ':' || c == '.';
}

static bool narrative_element_allowed(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(narrative_elements) / sizeof(narrative_elements[0]); i++)
        if (strlen(narrative_elements[i]) == n && strncasecmp(narrative_elements[i], name, n) == 0)
            return true;
    return false;
}

/* The scheme of a url attribute value, lowercased into out (at most 15 characters),
 * reading past whitespace, control characters and numeric character references as a
 * browser would ("&#106;ava script:" is "javascript:").  "" when there is none. */
static void url_scheme(const char *v, size_t n, char out[16])
{
    size_t k = 0;
    for (size_t i = 0; i < n && k < 15;) {
        unsigned long c = (unsigned char)v[i];
        if (c == '&' && i + 1 < n && v[i + 1] == '#') {
            size_t j = i + 2;
            int base = 10;
            if (j < n && (v[j] == 'x' || v[j] == 'X')) {
                base = 16;
                j++;
            }
            c = 0;
            while (j < n && v[j] != ';' && c < 0x110000) {
                char d = v[j];
                int dv = d >= '0' && d <= '9'   ? d - '0'
                         : d >= 'a' && d <= 'f' ? d - 'a' + 10
                         : d >= 'A' && d <= 'F' ? d - 'A' + 10
                                                : 99;
                if (dv >= base)
                    break;
                c = c * (unsigned long)base + (unsigned long)dv;
                j++;
            }
            i = j < n && v[j] == ';' ? j + 1 : j;
        } else {
            i++;
        }
        if (c <= 0x20)
            continue;
        if (c == ':') {
            out[k] = '\0';
            return;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '+' || c == '-' || c == '.'))
            break;
        out[k++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    out[0] = '\0';
}

static const char *check_narrative(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (s[i] != '<')
            continue;
        if (i + 1 < len && (s[i + 1] == '!' || s[i + 1] == '?')) {
            if (len - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
                const char *end = memmem(s + i + 4, len - i - 4, "-->", 3);
                if (!end)
                    return "an unterminated comment";
                i = (size_t)(end - s) + 2;
                continue;
            }
            return "a declaration or processing instruction (<!DOCTYPE, <![CDATA[, <?)";
        }
        size_t j = i + 1;
        if (j < len && s[j] == '/')
            j++;
        size_t name = j;
        while (j < len && is_name_char(s[j]))
            j++;
        if (j == name)
            continue; /* not a tag */
        bool img = j - name == 3 && strncasecmp(s + name, "img", 3) == 0;
        if (!narrative_element_allowed(s + name, j - name))
            return "an element other than the HTML formatting, list, table, link and image "
                   "elements txt-1 allows (no script, style, form, frame or object)";
        /* attributes, up to the end of the tag */
        while (j < len && s[j] != '>') {
            if (is_space(s[j]) || s[j] == '/') {
                j++;
                continue;
            }
            size_t an = j;
            while (j < len && !is_space(s[j]) && s[j] != '=' && s[j] != '>' && s[j] != '/')
                j++;
            size_t alen = j - an;
            if (alen == 0) {
                j++;
                continue;
            }
            if (alen >= 2 && strncasecmp(s + an, "on", 2) == 0)
                return "an event handler attribute (on...)";
            while (j < len && is_space(s[j]))
                j++;
            if (j >= len || s[j] != '=')
                continue;
            j++;
            while (j < len && is_space(s[j]))
                j++;
            size_t vs = j, ve;
            if (j < len && (s[j] == '"' || s[j] == '\'')) {
                char q = s[j++];
                vs = j;
                while (j < len && s[j] != q)
                    j++;
                ve = j;
                if (j < len)
                    j++;
            } else {
                while (j < len && !is_space(s[j]) && s[j] != '>')
                    j++;
                ve = j;
            }
            char scheme[16];
            url_scheme(s + vs, ve - vs, scheme);
            if (strcmp(scheme, "javascript") == 0 || strcmp(scheme, "vbscript") == 0)
                return "a javascript: or vbscript: url";
            if (strcmp(scheme, "data") == 0 &&
                !(img && alen == 3 && strncasecmp(s + an, "src", 3) == 0))
                return "a data: url outside an image";
            if (memmem(s + vs, ve - vs, "expression(", 11))
                return "a css expression()";
        }
        i = j;
    }
    return NULL;
}

/* The lexical rules of the string-based primitives; NULL if s is fine. */
static const char *check_string_format(sv_model_builtin b, const char *s, size_t len)
{
    const char *why;
    if (len == 0)
        return "empty strings are not allowed";
    switch (b) {
    case SV_MODEL_BUILTIN_STRING:
    case SV_MODEL_BUILTIN_MARKDOWN:
        if (len > 1024 * 1024)
            return "longer than 1 MiB";
        return check_chars(s, len, true);
    case SV_MODEL_BUILTIN_CODE:
        if ((why = check_chars(s, len, true)))
            return why;
        if (is_space(s[0]) || is_space(s[len - 1]))
            return "leading or trailing whitespace";
        for (size_t i = 1; i < len; i++)
            if (is_space(s[i]) && is_space(s[i - 1]))
                return "more than one whitespace character in a row";
        return NULL;
    case SV_MODEL_BUILTIN_ID:
        return is_id(s, len) ? NULL : "must be 1-64 characters of A-Z, a-z, 0-9, '-' and '.'";
    case SV_MODEL_BUILTIN_URI:
    case SV_MODEL_BUILTIN_URL:
    case SV_MODEL_BUILTIN_CANONICAL:
        return check_chars(s, len, false);
    case SV_MODEL_BUILTIN_OID:
        return is_oid(s, len) ? NULL : "must be urn:oid: followed by a dotted oid such as 1.2.3";
    case SV_MODEL_BUILTIN_UUID:
        return is_uuid(s, len) ? NULL : "must be urn:uuid: followed by a lowercase uuid";
    case SV_MODEL_BUILTIN_BASE64:
        return check_base64(s, len);
    case SV_MODEL_BUILTIN_DATE:
    case SV_MODEL_BUILTIN_DATETIME:
    case SV_MODEL_BUILTIN_INSTANT:
    case SV_MODEL_BUILTIN_TIME:
        return check_date_like(b, s, len);
    case SV_MODEL_BUILTIN_XHTML: {
        size_t i = 0;
        while (i < len && is_space(s[i]))
            i++;
        if (len - i < 4 || memcmp(s + i, "<div", 4) != 0)
            return "narrative must be an xhtml <div> element";
        /* R4's 1 MB limit is for string; official examples carry narratives of up to
         * 1.8 MB (ValueSet-c80-doc-typecodes), so narrative gets 4 MiB */
        if (len > 4u * 1024 * 1024)
            return "longer than 4 MiB";
        if ((why = check_chars(s, len, true)))
            return why;
        return check_narrative(s, len);
    }
    default:
        return NULL;
    }
}

/* Returns whether v is a valid value of primitive type t. */
static bool check_primitive(vctx *c, const sv_model_type *t, const json_t *v)
{
    const char *tn = sv_model_type_name(t);
    switch (t->builtin) {
    case SV_MODEL_BUILTIN_BOOLEAN:
        if (json_is_boolean(v))
            return true;
        report(c, SV_SEV_ERROR, "structure", NULL, "expected true or false (boolean), found %s",
               json_kind(v));
        return false;
    case SV_MODEL_BUILTIN_INTEGER:
    case SV_MODEL_BUILTIN_POSITIVE_INT:
    case SV_MODEL_BUILTIN_UNSIGNED_INT: {
        if (!json_is_integer(v)) {
            report(c, SV_SEV_ERROR, "structure", NULL, "expected a json integer (%s), found %s", tn,
                   json_kind(v));
            return false;
        }
        json_int_t n = json_integer_value(v);
        json_int_t min = t->builtin == SV_MODEL_BUILTIN_INTEGER        ? INT32_MIN
                         : t->builtin == SV_MODEL_BUILTIN_POSITIVE_INT ? 1
                                                                       : 0;
        if (n >= min && n <= INT32_MAX)
            return true;
        report(c, SV_SEV_ERROR, "invalid", NULL, "%s %lld is out of range (%lld to %ld)", tn,
               (long long)n, (long long)min, (long)INT32_MAX);
        return false;
    }
    case SV_MODEL_BUILTIN_DECIMAL:
        if (json_is_number(v))
            return true;
        report(c, SV_SEV_ERROR, "structure", NULL, "expected a json number (decimal), found %s",
               json_kind(v));
        return false;
    default:
        break;
    }
    if (!json_is_string(v)) {
        report(c, SV_SEV_ERROR, "structure", NULL, "expected a json string (%s), found %s", tn,
               json_kind(v));
        return false;
    }
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    const char *why = check_string_format(t->builtin, s, len);
    if (why) {
        report(c, SV_SEV_ERROR, "invalid", NULL, "invalid %s %s: %s", tn, quote(s, len).s, why);
        return false;
    }
    if (t->builtin == SV_MODEL_BUILTIN_STRING && (is_space(s[0]) || is_space(s[len - 1])))
        report(c, SV_SEV_WARNING, "invalid", NULL, "string %s has leading or trailing whitespace",
               quote(s, len).s);
    return true;
}

/* ---- bindings, references, identifiers ---------------------------------- */

/* ", a, b, c" for small value sets, to help the developer; "" otherwise. */
static void allowed_codes(unsigned vs, sv_buf *b)
{
    const sv_model_valueset *set = &sv_model_valuesets[vs];
    if (set->count > 12)
        return;
    sv_buf_adds(b, " (allowed: ");
    for (uint32_t i = 0; i < set->count; i++)
        sv_buf_addf(b, "%s%s", i ? ", " : "", sv_model_str(sv_model_codes[set->first + i].code));
    sv_buf_addc(b, ')');
}

static void check_code_binding(vctx *c, const sv_model_element *el, const json_t *v)
{
    const char *code = json_string_value(v);
    unsigned vs = el->binding - 1u;
    if (sv_model_valueset_contains(vs, NULL, code))
        return;
    sv_buf allowed = SV_BUF_INIT;
    allowed_codes(vs, &allowed);
    report(c, SV_SEV_ERROR, "code-invalid", NULL, "code %s is not in the required value set %s%s",
           quote(code, json_string_length(v)).s, sv_model_valueset_url(vs), allowed.ptr);
    sv_buf_release(&allowed);
}

static bool coding_in(unsigned vs, const json_t *coding)
{
    const json_t *system = json_object_get(coding, "system");
    const json_t *code = json_object_get(coding, "code");
    return json_is_string(code) &&
           sv_model_valueset_contains(vs, json_is_string(system) ? json_string_value(system) : NULL,
                                      json_string_value(code));
}

static void check_coding_binding(vctx *c, const sv_model_element *el, const sv_model_type *t,
                                 const json_t *obj)
{
    unsigned vs = el->binding - 1u;
    if (t->builtin == SV_MODEL_BUILTIN_CODING) {
        if (!coding_in(vs, obj))
            report(c, SV_SEV_ERROR, "code-invalid", NULL,
                   "the coding is not in the required value set %s", sv_model_valueset_url(vs));
        return;
    }
    const json_t *codings = json_object_get(obj, "coding");
    for (size_t i = 0; i < json_array_size(codings); i++)
        if (coding_in(vs, json_array_get(codings, i)))
            return;
    sv_buf allowed = SV_BUF_INIT;
    allowed_codes(vs, &allowed);
    report(c, SV_SEV_ERROR, "code-invalid", NULL, "no coding is from the required value set %s%s",
           sv_model_valueset_url(vs), allowed.ptr);
    sv_buf_release(&allowed);
}

static bool target_allowed(const sv_model_element *el, const sv_model_type *target)
{
    if (!el->ntargets)
        return true;
    size_t ti = (size_t)(target - sv_model_types);
    for (unsigned i = 0; i < el->ntargets; i++)
        if (sv_model_type_refs[el->targets + i] == ti)
            return true;
    return false;
}

/* A resource type name at s[0..len) that is concrete. */
static const sv_model_type *resource_type_n(const char *s, size_t len)
{
    const sv_model_type *t = sv_model_type_findn(s, len);
    return t && t->kind == SV_MODEL_KIND_RESOURCE && !t->abstract ? t : NULL;
}

/*
 * Parses "Type/id" or "Type/id/_history/vid" at s[0..len).  Returns NULL and
 * the type when it matches, else why not.  *ret_type is NULL when s is not
 * even shaped like Type/...
 */
static const char *parse_relative(const char *s, size_t len, const sv_model_type **ret_type)
{
    const char *slash = memchr(s, '/', len);
    *ret_type = NULL;
    if (!slash)
        return "expected Type/id";
    const sv_model_type *t = resource_type_n(s, (size_t)(slash - s));
    if (!t)
        return "unknown resource type before the '/'";
    *ret_type = t;
    const char *id = slash + 1, *end = s + len;
    const char *next = memchr(id, '/', (size_t)(end - id));
    if (!is_id(id, (size_t)((next ? next : end) - id)))
        return "the id after the type must be 1-64 characters of A-Z, a-z, 0-9, '-' and '.'";
    if (!next)
        return NULL;
    if ((size_t)(end - next) < 10 || memcmp(next, "/_history/", 10) != 0)
        return "only /_history/version may follow Type/id";
    if (!is_id(next + 10, (size_t)(end - next - 10)))
        return "the version after /_history/ must be a valid id";
    return NULL;
}

static void check_reference(vctx *c, const sv_model_element *el, const json_t *obj)
{
    const json_t *ref = json_object_get(obj, "reference");
    if (!json_is_string(ref))
        return; /* absent (identifier/display only) or already reported */
    const char *s = json_string_value(ref);
    size_t len = json_string_length(ref);
    const sv_model_type *target = NULL;
    const char *why = NULL;

    if (len == 0)
        return; /* reported as an empty string */
    if (s[0] == '#') {
        if (len > 1 && !is_id(s + 1, len - 1))
            why = "'#' must be followed by the id of a contained resource";
    } else if (len >= 9 && memcmp(s, "urn:uuid:", 9) == 0) {
        if (!is_uuid(s, len))
            why = "'urn:uuid:' must be followed by a lowercase uuid";
    } else if (len >= 8 && memcmp(s, "urn:oid:", 8) == 0) {
        if (!is_oid(s, len))
            why = "'urn:oid:' must be followed by a dotted oid";
    } else if ((len > 7 && memcmp(s, "http://", 7) == 0) ||
               (len > 8 && memcmp(s, "https://", 8) == 0)) {
        if (check_chars(s, len, false))
            why = "a url must not contain whitespace";
        else {
            /* Take the type from a trailing .../Type/id[/_history/vid] for
             * the target check; other urls are opaque. */
            size_t slashes = 0;
            for (size_t i = len; i > 0 && slashes < 4 && !target; i--) {
                const sv_model_type *t;
                if (s[i - 1] != '/')
                    continue;
                slashes++;
                if ((slashes == 2 || slashes == 4) && !parse_relative(s + i, len - i, &t))
                    target = t;
            }
        }
    } else {
        const char *q = memchr(s, '?', len);
        const sv_model_type *t = NULL;
        if (q && c->conditional_refs > 0) {
            /* a conditional reference, resolved by the server in a transaction */
            t = resource_type_n(s, (size_t)(q - s));
            if (!t)
                why = "a conditional reference must start with a resource type";
        } else {
            why = parse_relative(s, len, &t);
            if (why && !t && memchr(s, ':', len))
                why = "must be Type/id, Type/id/_history/version, an http(s) url, '#id', "
                      "'urn:uuid:...' or 'urn:oid:...'";
        }
        target = t;
    }
    if (why) {
        report(c, SV_SEV_ERROR, "invalid", "reference", "invalid reference %s: %s", quote(s, len).s,
               why);
        return;
    }
    if (target && !target_allowed(el, target)) {
        sv_buf allowed = SV_BUF_INIT;
        for (unsigned i = 0; i < el->ntargets; i++)
            sv_buf_addf(&allowed, "%s%s", i ? ", " : "",
                        sv_model_type_name(&sv_model_types[sv_model_type_refs[el->targets + i]]));
        report(c, SV_SEV_ERROR, "invalid", "reference",
               "a reference to %s is not allowed here; allowed: %s", sv_model_type_name(target),
               allowed.ptr);
        sv_buf_release(&allowed);
    }
}

static void check_identifier(vctx *c, const json_t *obj)
{
    const json_t *system = json_object_get(obj, "system");
    const json_t *value = json_object_get(obj, "value");
    if (!json_is_string(system) || !json_is_string(value) || json_string_length(value) == 0)
        return; /* a missing or empty value is reported on its own */
    sv_ident_kind kind = sv_ident_kind_from_system(json_string_value(system));
    if (kind == SV_IDENT_NONE)
        return;
    sv_buf why = SV_BUF_INIT;
    if (sv_ident_check(kind, json_string_value(value), &why) != SV_OK)
        report(c, SV_SEV_ERROR, "invalid", "value", "not a valid %s: %s", sv_ident_kind_name(kind),
               why.ptr);
    sv_buf_release(&why);
}

/* ---- structure ----------------------------------------------------------- */

static void check_object(vctx *c, const json_t *obj, const sv_model_element *kids, size_t n,
                         unsigned flags);
static void check_resource(vctx *c, const json_t *v, bool contained);

static void check_value(vctx *c, const sv_model_element *el, const sv_model_type *t,
                        const json_t *v)
{
    if (t->kind == SV_MODEL_KIND_PRIMITIVE) {
        if (check_primitive(c, t, v) && el->binding && t->builtin == SV_MODEL_BUILTIN_CODE)
            check_code_binding(c, el, v);
        return;
    }
    if (t->kind == SV_MODEL_KIND_RESOURCE) {
        check_resource(c, v, strcmp(sv_model_element_name(el), "contained") == 0);
        return;
    }
    if (!json_is_object(v)) {
        report(c, SV_SEV_ERROR, "structure", NULL, "expected an object (%s), found %s",
               sv_model_type_name(t), json_kind(v));
        return;
    }
    const sv_model_element *kids = &sv_model_elements[el->count ? el->first : t->first];
    check_object(c, v, kids, el->count ? el->count : t->count, 0);
    switch (t->builtin) {
    case SV_MODEL_BUILTIN_REFERENCE:
        check_reference(c, el, v);
        break;
    case SV_MODEL_BUILTIN_IDENTIFIER:
        check_identifier(c, v);
        break;
    case SV_MODEL_BUILTIN_CODING:
    case SV_MODEL_BUILTIN_CODEABLE_CONCEPT:
        if (el->binding)
            check_coding_binding(c, el, t, v);
        break;
    default:
        break;
    }
}

/* The value of a known element "name": cardinality, nulls, then each value.
 * ext is the "_name" sibling, if any. */
static void check_element(vctx *c, const sv_model_element *el, const sv_model_type *t,
                          const json_t *v, const json_t *ext)
{
    if (!(el->flags & SV_MODEL_EL_ARRAY)) {
        if (json_is_array(v))
            report(c, SV_SEV_ERROR, "structure", NULL,
                   "must be a single value, not an array (it cannot repeat)");
        else if (json_is_null(v))
            report(c, SV_SEV_ERROR, "structure", NULL, "null is not a valid value");
        else
            check_value(c, el, t, v);
        return;
    }
    if (!json_is_array(v)) {
        report(c, SV_SEV_ERROR, "structure", NULL, "must be an array (it can repeat), found %s",
               json_kind(v));
        return;
    }
    size_t m = json_array_size(v);
    if (m == 0) {
        report(c, SV_SEV_ERROR, "structure", NULL, "empty arrays are not allowed");
        return;
    }
    frame *f = &c->frames[c->depth - 1];
    for (size_t i = 0; i < m && !c->stopped; i++) {
        const json_t *item = json_array_get(v, i);
        f->index = (long)i;
        if (json_is_null(item)) {
            if (!(t->kind == SV_MODEL_KIND_PRIMITIVE && json_is_object(json_array_get(ext, i))))
                report(c, SV_SEV_ERROR, "structure", NULL,
                       "null is only allowed in a list of primitives, where the '_' list "
                       "has an extension at the same index");
            continue;
        }
        check_value(c, el, t, item);
    }
    f->index = -1;
}

/* The object of a "_name" entry: an Element (id, extension). */
static void check_extension_object(vctx *c, const json_t *v, bool has_value)
{
    if (!json_is_object(v)) {
        report(c, SV_SEV_ERROR, "structure", NULL,
               "the '_' entry of a primitive must be an object with id or extension, found %s",
               json_kind(v));
        return;
    }
    check_object(c, v, &sv_model_elements[c->element_type->first], c->element_type->count,
                 has_value ? OBJ_HAS_VALUE : 0);
}

/* "_name": extensions of a primitive, aligned with "name" when it repeats. */
static void check_extension_sibling(vctx *c, const sv_model_element *el, const json_t *ext,
                                    const json_t *value)
{
    if (!(el->flags & SV_MODEL_EL_ARRAY)) {
        check_extension_object(c, ext, value && !json_is_null(value));
        return;
    }
    if (!json_is_array(ext)) {
        report(c, SV_SEV_ERROR, "structure", NULL,
               "the '_' entry of a repeating primitive must be an array, found %s", json_kind(ext));
        return;
    }
    size_t m = json_array_size(ext);
    if (m == 0) {
        report(c, SV_SEV_ERROR, "structure", NULL, "empty arrays are not allowed");
        return;
    }
    if (json_is_array(value) && json_array_size(value) != m) {
        report(c, SV_SEV_ERROR, "structure", NULL,
               "the '_' list has %zu entries but the value list has %zu; they must align", m,
               json_array_size(value));
        return;
    }
    frame *f = &c->frames[c->depth - 1];
    for (size_t i = 0; i < m && !c->stopped; i++) {
        const json_t *item = json_array_get(ext, i);
        const json_t *paired = json_array_get(value, i); /* NULL if none */
        f->index = (long)i;
        if (json_is_null(item)) {
            /* both null is reported on the value side */
            if (!paired)
                report(c, SV_SEV_ERROR, "structure", NULL,
                       "null in the '_' list needs a value at the same index");
            continue;
        }
        check_extension_object(c, item, paired && !json_is_null(paired));
    }
    f->index = -1;
}

/*
 * Resolves a JSON name among sibling elements, including choice names
 * (valueQuantity -> value[x] with type Quantity).  Returns NULL if unknown;
 * then *ret_choice is the choice element whose prefix matched, if any.
 */
static const sv_model_element *resolve(const sv_model_element *kids, size_t n, const char *name,
                                       size_t len, unsigned *ret_slot,
                                       const sv_model_element **ret_choice)
{
    const sv_model_element *e = sv_model_element_find(kids, n, name, len);
    *ret_choice = NULL;
    if (e) {
        if (e->flags & SV_MODEL_EL_CHOICE) {
            *ret_choice = e;
            return NULL;
        }
        *ret_slot = 0;
        return e;
    }
    for (size_t p = 1; p < len; p++) {
        if (name[p] < 'A' || name[p] > 'Z')
            continue;
        e = sv_model_element_find(kids, n, name, p);
        if (!e || !(e->flags & SV_MODEL_EL_CHOICE))
            continue;
        *ret_choice = e;
        for (unsigned i = 0; i < e->ntypes; i++) {
            const char *tn = sv_model_type_name(sv_model_element_type(e, i));
            char first = tn[0] >= 'a' && tn[0] <= 'z' ? (char)(tn[0] - 'a' + 'A') : tn[0];
            if (first == name[p] && cmp_stored(tn + 1, name + p + 1, len - p - 1) == 0) {
                *ret_slot = i;
                *ret_choice = NULL;
                return e;
            }
        }
        return NULL;
    }
    return NULL;
}

static void choice_name(const sv_model_element *e, unsigned slot, char *buf, size_t cap)
{
    const char *tn = sv_model_type_name(sv_model_element_type(e, slot));
    char first = tn[0] >= 'a' && tn[0] <= 'z' ? (char)(tn[0] - 'a' + 'A') : tn[0];
    snprintf(buf, cap, "%s%c%s", sv_model_element_name(e), first, tn + 1);
}

static void report_unknown(vctx *c, const char *key, const sv_model_element *choice)
{
    /* The key is user input: keep the path short, and cut only between
     * UTF-8 sequences. */
    size_t len = strlen(key), max = 64;
    if (len > max) {
        len = max;
        while (len > 0 && ((unsigned char)key[len] & 0xC0) == 0x80)
            len--;
    }
    if (!push(c, key, len))
        return;
    if (choice) {
        sv_buf names = SV_BUF_INIT;
        char one[96];
        for (unsigned i = 0; i < choice->ntypes && i < 12; i++) {
            choice_name(choice, i, one, sizeof(one));
            sv_buf_addf(&names, "%s%s", i ? ", " : "", one);
        }
        if (choice->ntypes > 12)
            sv_buf_adds(&names, ", ...");
        report(c, SV_SEV_ERROR, "structure", NULL, "unknown element %s; %s[x] allows %s",
               quote(key, strlen(key)).s, sv_model_element_name(choice), names.ptr);
        sv_buf_release(&names);
    } else {
        report(c, SV_SEV_ERROR, "structure", NULL, "unknown element %s", quote(key, strlen(key)).s);
    }
    pop(c);
}

static void check_object(vctx *c, const json_t *obj, const sv_model_element *kids, size_t n,
                         unsigned flags)
{
    uint8_t seen[SV_MODEL_MAX_CHILDREN];
    size_t size = json_object_size(obj);
    const char *key;
    json_t *val;

    if (size == 0) {
        report(c, SV_SEV_ERROR, "invalid", NULL, "empty objects are not allowed");
        return;
    }
    if (!(flags & (OBJ_RESOURCE | OBJ_HAS_VALUE)) && size == 1 && json_object_get(obj, "id")) {
        report(c, SV_SEV_ERROR, "invalid", NULL,
               "an element must have a value or children besides id (ele-1)");
        return;
    }
    memset(seen, 0, n);
    /* Most objects have no "_name" member: then no primitive needs a lookup for one. */
    bool has_ext = false;
    json_object_foreach((json_t *)obj, key, val)
    {
        if (key[0] == '_') {
            has_ext = true;
            break;
        }
    }
    json_object_foreach((json_t *)obj, key, val)
    {
        if (c->stopped)
            return;
        if ((flags & OBJ_RESOURCE) && strcmp(key, "resourceType") == 0)
            continue;
        bool is_ext = key[0] == '_';
        const char *name = key + is_ext;
        size_t len = strlen(name);
        unsigned slot = 0;
        const sv_model_element *choice = NULL;
        const sv_model_element *el = len ? resolve(kids, n, name, len, &slot, &choice) : NULL;
        if (!el) {
            report_unknown(c, key, choice);
            continue;
        }
        const sv_model_type *t = sv_model_element_type(el, slot);
        if (is_ext && (t->kind != SV_MODEL_KIND_PRIMITIVE || t->builtin == SV_MODEL_BUILTIN_XHTML ||
                       (el->flags & SV_MODEL_EL_NO_EXTENSION))) {
            report_unknown(c, key, NULL);
            continue;
        }
        size_t idx = (size_t)(el - kids);
        if ((el->flags & SV_MODEL_EL_CHOICE) && seen[idx] && seen[idx] != slot + 1) {
            char other[96];
            choice_name(el, seen[idx] - 1u, other, sizeof(other));
            if (push(c, name, len)) {
                report(c, SV_SEV_ERROR, "structure", NULL,
                       "only one %s[x] is allowed, and '%s' is also present",
                       sv_model_element_name(el), other);
                pop(c);
            }
            continue;
        }
        seen[idx] = (uint8_t)(slot + 1);
        if (!push(c, name, len))
            return;
        if (is_ext) {
            check_extension_sibling(c, el, val, json_object_get(obj, name));
        } else {
            const json_t *ext = NULL;
            char ext_key[128];
            if (has_ext && t->kind == SV_MODEL_KIND_PRIMITIVE && len + 2 <= sizeof(ext_key)) {
                ext_key[0] = '_';
                memcpy(ext_key + 1, name, len + 1);
                ext = json_object_get(obj, ext_key);
            }
            check_element(c, el, t, val, ext);
        }
        pop(c);
    }
    for (size_t i = 0; i < n && !c->stopped; i++) {
        if (!(kids[i].flags & SV_MODEL_EL_REQUIRED) || seen[i])
            continue;
        char name[96];
        snprintf(name, sizeof(name), "%s%s", sv_model_element_name(&kids[i]),
                 kids[i].flags & SV_MODEL_EL_CHOICE ? "[x]" : "");
        report(c, SV_SEV_ERROR, "required", name, "missing required element '%s'", name);
    }
}

/* dom-2, dom-4 and dom-5 of DomainResource: plain structure, so checked. */
static void check_contained(vctx *c, const json_t *res)
{
    if (json_object_get(res, "contained"))
        report(c, SV_SEV_ERROR, "invalid", "contained",
               "a contained resource must not contain resources itself (dom-2)");
    const json_t *meta = json_object_get(res, "meta");
    if (!json_is_object(meta))
        return;
    if (json_object_get(meta, "versionId"))
        report(c, SV_SEV_ERROR, "invalid", "meta.versionId",
               "a contained resource must not have meta.versionId (dom-4)");
    if (json_object_get(meta, "lastUpdated"))
        report(c, SV_SEV_ERROR, "invalid", "meta.lastUpdated",
               "a contained resource must not have meta.lastUpdated (dom-4)");
    if (json_object_get(meta, "security"))
        report(c, SV_SEV_ERROR, "invalid", "meta.security",
               "a contained resource must not have security labels (dom-5)");
}

static void check_resource(vctx *c, const json_t *v, bool contained)
{
    if (!json_is_object(v)) {
        report(c, SV_SEV_ERROR, "structure", NULL, "expected a resource (a json object), found %s",
               v ? json_kind(v) : "nothing");
        return;
    }
    const json_t *rt = json_object_get(v, "resourceType");
    if (!rt) {
        report(c, SV_SEV_ERROR, "required", "resourceType", "missing resourceType");
        return;
    }
    if (!json_is_string(rt)) {
        report(c, SV_SEV_ERROR, "structure", "resourceType",
               "resourceType must be a string, found %s", json_kind(rt));
        return;
    }
    const char *name = json_string_value(rt);
    size_t len = json_string_length(rt);
    const sv_model_type *t = resource_type_n(name, len);
    if (!t) {
        report(c, SV_SEV_ERROR, "structure", "resourceType",
               "unknown resource type %s (not an R4 resource)", quote(name, len).s);
        return;
    }
    bool top = c->depth == 0;
    if (top)
        push(c, name, len);
    /* Conditional references are legal inside transactions and batches. */
    bool conditional = false;
    if (strcmp(name, "Bundle") == 0) {
        const json_t *type = json_object_get(v, "type");
        const char *bt = json_is_string(type) ? json_string_value(type) : "";
        conditional = strcmp(bt, "transaction") == 0 || strcmp(bt, "batch") == 0;
    }
    c->conditional_refs += conditional;
    check_object(c, v, &sv_model_elements[t->first], t->count, OBJ_RESOURCE);
    c->conditional_refs -= conditional;
    if (contained)
        check_contained(c, v);
    if (top)
        pop(c);
}

int sv_fhir_validate(const json_t *resource, sv_outcome *out)
{
    vctx c;
    c.out = out;
    c.errors = 0;
    c.issues = 0;
    c.stopped = false;
    c.too_deep = false;
    c.conditional_refs = 0;
    c.depth = 0;
    c.element_type = sv_model_type_find("Element");
    check_resource(&c, resource, false);
    return c.errors;
}
