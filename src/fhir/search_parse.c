/*
 * search_parse.c - FHIR search parameters into store clauses (search_plan.h),
 * and running a plan with keyset paging.
 *
 * AND of parameters, OR of comma-separated values, the semantics of each
 * parameter type with its modifiers and prefixes (docs/search.md).  Values keep
 * FHIR's escapes (\, \| \$ \\) until the parameter type says how to split them.
 * A name may chain (subject:Patient.name, at most SV_CLAUSE_MAX_LINKS steps) and
 * reverse-chain (_has:Observation:subject:code).
 */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/id.h"
#include "base/text.h"
#include "fhir/fhirpath.h"
#include "fhir/model.h"
#include "fhir/index.h"
#include "fhir/search_plan.h"
#include "fhir/search_result.h"
#include "fhir/searchparam.h"

#define MAX_VALUES 64
#define MAX_NAME 256
#define MAX_VALUE_LEN 8192 /* bytes of one parameter's value (all its comma-separated parts) */

/* ---- the plan's memory ------------------------------------------------------------- */

static void *keep(sv_search_plan *p, void *s)
{
    if (p->nstrings == p->capstrings) {
        p->capstrings = p->capstrings ? p->capstrings * 2 : 16;
        p->strings = realloc(p->strings, p->capstrings * sizeof(char *));
        if (!p->strings)
            abort();
    }
    p->strings[p->nstrings++] = s;
    return s;
}

static void *keep_zeroed(sv_search_plan *p, size_t n, size_t size)
{
    void *m = calloc(n ? n : 1, size);
    if (!m)
        abort();
    return keep(p, m);
}

static char *keep_str(sv_search_plan *p, const char *s, size_t len)
{
    char *c = malloc(len + 1);
    if (!c)
        abort();
    memcpy(c, s, len);
    c[len] = '\0';
    return keep(p, c);
}

void sv__search_plan_init(sv_search_plan *p)
{
    memset(p, 0, sizeof(*p));
    sv_buf_init(&p->self);
    p->sort_text = "";
}

void sv__search_plan_clear(sv_search_plan *p)
{
    sv__search_result_free(p->result);
    for (size_t i = 0; i < p->n; i++)
        free(p->clauses[i].values);
    free(p->clauses);
    for (size_t i = 0; i < p->nstrings; i++)
        free(p->strings[i]);
    free(p->strings);
    sv_buf_release(&p->self);
    sv_search_position_clear(&p->after);
    free(p->next_cursor);
    free(p->prev_cursor);
    sv__search_plan_init(p);
}

static sv_clause *add_clause(sv_search_plan *p, const char *param, size_t nvalues)
{
    if (p->n == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 8;
        p->clauses = realloc(p->clauses, p->cap * sizeof(sv_clause));
        if (!p->clauses)
            abort();
    }
    sv_clause *c = &p->clauses[p->n++];
    memset(c, 0, sizeof(*c));
    c->param = param;
    c->values = calloc(nvalues ? nvalues : 1, sizeof(sv_clause_value));
    if (!c->values)
        abort();
    return c;
}

/* ---- splitting and escapes --------------------------------------------------------- */

static bool is_escape(const char *s)
{
    return s[0] == '\\' && (s[1] == ',' || s[1] == '|' || s[1] == '$' || s[1] == '\\');
}

/* A copy of text[0..len) without FHIR's escapes. */
static char *unescape(sv_search_plan *p, const char *text, size_t len)
{
    sv_buf b = SV_BUF_INIT;
    for (size_t i = 0; i < len; i++) {
        if (i + 1 < len && is_escape(text + i))
            i++;
        sv_buf_addc(&b, text[i]);
    }
    return keep(p, sv_buf_detach(&b, NULL));
}

/* Splits text on unescaped sep into at most max parts (views into text, escapes
 * kept); returns the number of parts, or max + 1 when there are more. */
static size_t split(const char *text, char sep, sv_str *parts, size_t max)
{
    size_t n = 0;
    const char *start = text;
    for (const char *s = text;; s++) {
        if (*s == '\\' && s[1]) {
            s++;
            continue;
        }
        if (*s == sep || *s == '\0') {
            if (n == max)
                return max + 1;
            parts[n++] = (sv_str){start, (size_t)(s - start)};
            if (*s == '\0')
                break;
            start = s + 1;
        }
    }
    return n;
}

/* ---- errors ------------------------------------------------------------------------ */

typedef struct parse_ctx {
    const sv_rest *r;
    sv_search_plan *p;
    sv_outcome *out;
    bool lenient;
    const char *full; /* the parameter name as given, for issue.expression */
    bool skip;        /* lenient: the parameter is dropped */
} parse_ctx;

static sv_err bad(parse_ctx *x, const char *fmt, const char *a, const char *b)
{
    sv_outcome_add(x->out, SV_SEV_ERROR, "invalid", x->full, fmt, a, b);
    return SV_ERR_INVALID;
}

/* An unknown or unsupported parameter or modifier: refused, or dropped when lenient. */
static sv_err unknown(parse_ctx *x, const char *fmt, const char *a, const char *b)
{
    if (x->lenient) {
        x->skip = true;
        return SV_OK;
    }
    sv_outcome_add(x->out, SV_SEV_ERROR, "not-supported", x->full, fmt, a, b);
    return SV_ERR_INVALID;
}

/* ---- prefixes, numbers, dates ------------------------------------------------------ */

static const struct {
    const char *text;
    sv_cmp cmp;
} prefixes[] = {{"eq", SV_CMP_EQ}, {"ne", SV_CMP_NE}, {"lt", SV_CMP_LT},
                {"gt", SV_CMP_GT}, {"le", SV_CMP_LE}, {"ge", SV_CMP_GE},
                {"sa", SV_CMP_SA}, {"eb", SV_CMP_EB}, {"ap", SV_CMP_AP}};

static const char *take_prefix(const char *v, sv_cmp *cmp)
{
    *cmp = SV_CMP_EQ;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        if (strncmp(v, prefixes[i].text, 2) == 0 && v[2] && !isalpha((unsigned char)v[2])) {
            *cmp = prefixes[i].cmp;
            return v + 2;
        }
    }
    return v;
}

/*
 * A decimal with its implicit precision: "100" is [99.5, 100.5), "1.50" is
 * [1.495, 1.505), "1e2" is [50, 150) (one significant digit).  ap is +-10%.
 */
static bool parse_number(const char *s, sv_cmp cmp, sv_clause_value *v)
{
    if (!*s || isspace((unsigned char)*s))
        return false;
    for (const char *c = s; *c; c++)
        if (!strchr("0123456789+-.eE", *c))
            return false; /* no hex, inf, nan */
    char *end = NULL;
    double d = strtod(s, &end);
    if (!end || *end || !isfinite(d))
        return false;
    const char *e = strpbrk(s, "eE");
    const char *mant_end = e ? e : s + strlen(s);
    const char *dot = memchr(s, '.', (size_t)(mant_end - s));
    int decimals = dot ? (int)(mant_end - dot - 1) : 0;
    int exponent = e ? atoi(e + 1) : 0;
    double half = 0.5 * pow(10.0, (double)(exponent - decimals));
    v->cmp = cmp;
    v->number = d;
    v->dlow = d - half;
    v->dhigh = d + half;
    if (cmp == SV_CMP_AP) {
        double delta = fabs(d) * 0.1;
        if (delta < half)
            delta = half;
        v->dlow = d - delta;
        v->dhigh = d + delta;
    }
    return true;
}

/* A date/dateTime/instant with a prefix into [low, high]; ap widens the range by
 * 10% of its distance from now (R4's recommendation). */
static bool parse_date(const char *raw, sv_clause_value *v)
{
    const char *d = take_prefix(raw, &v->cmp);
    sv_datetime_range range;
    if (!*d || !sv_datetime_parse(d, strlen(d), &range))
        return false;
    v->low = range.low;
    v->high = range.high;
    if (v->cmp == SV_CMP_AP) {
        int64_t now = sv_clock_now_ms();
        int64_t mid = range.low / 2 + range.high / 2;
        int64_t gap = now > mid ? now - mid : mid - now;
        int64_t delta = gap / 10;
        v->low = range.low > INT64_MIN + delta ? range.low - delta : INT64_MIN;
        v->high = range.high < INT64_MAX - delta ? range.high + delta : INT64_MAX;
    }
    return true;
}

/* ---- values ------------------------------------------------------------------------ */

static const char *fold(sv_search_plan *p, const char *text)
{
    sv_buf b = SV_BUF_INIT;
    sv_text_fold(text, strlen(text), &b);
    return keep(p, sv_buf_detach(&b, NULL));
}

/* system|code, |code, system|, code (escapes still in raw). */
static sv_err parse_token(parse_ctx *x, const char *raw, sv_clause_value *v)
{
    sv_str parts[2];
    size_t n = split(raw, '|', parts, 2);
    v->kind = SV_CLAUSE_TOKEN;
    if (n > 2)
        return bad(x, "'%s' has more than one unescaped '|' (escape it as \\|)%s", raw, "");
    if (n == 1) {
        v->value = unescape(x->p, parts[0].ptr, parts[0].len);
        return SV_OK;
    }
    v->system_set = true;
    v->system = parts[0].len ? unescape(x->p, parts[0].ptr, parts[0].len) : NULL;
    v->value = parts[1].len ? unescape(x->p, parts[1].ptr, parts[1].len) : NULL;
    if (!v->system && !v->value)
        return bad(x, "'%s' has neither a system nor a code%s", raw, "");
    return SV_OK;
}

static bool is_resource_type(const char *name)
{
    size_t n;
    return name && *name && sv_searchparam_list(name, &n) != NULL;
}

static bool targets_include(const sv_searchparam *sp, const char *type)
{
    if (!sp->targets)
        return true;
    for (const char *const *t = sp->targets; *t; t++)
        if (strcmp(*t, type) == 0)
            return true;
    return false;
}

static sv_err parse_reference(parse_ctx *x, const sv_searchparam *sp, const char *modifier,
                              const char *raw, sv_clause_value *v)
{
    char *val = unescape(x->p, raw, strlen(raw));
    const char *base = x->r->base_url ? x->r->base_url : "";
    size_t blen = strlen(base);
    if (blen && strncmp(val, base, blen) == 0 && val[blen] == '/')
        val += blen + 1; /* our own absolute url: a relative reference */
    if (strstr(val, "://") || strncmp(val, "urn:", 4) == 0) {
        if (*modifier)
            return bad(x, "':%s' does not go with the absolute reference '%s'", modifier, val);
        v->kind = SV_CLAUSE_REFERENCE_URL;
        char *bar = strchr(val, '|');
        if (bar) { /* a canonical with its version */
            v->value2 = val;
            v->value = keep_str(x->p, val, (size_t)(bar - val));
            return SV_OK;
        }
        sv_fhir_reference ref;
        sv_fhir_reference_parse(val, &ref);
        v->value = keep_str(x->p, ref.target.ptr, ref.target.len);
        return SV_OK;
    }
    v->kind = SV_CLAUSE_REFERENCE;
    if (*modifier) /* a static type name: modifier lives only as long as the parse */
        v->system = sv_fhir_resource_type(modifier, strlen(modifier));
    char *slash = strchr(val, '/');
    if (slash) {
        *slash = '\0';
        const char *type = sv_fhir_resource_type(val, strlen(val));
        if (!type)
            return bad(x, "'%s' in '%s' is not a resource type", val, raw);
        if (*modifier && strcmp(modifier, type) != 0)
            return bad(x, "the value's type '%s' differs from the modifier ':%s'", type, modifier);
        v->system = type;
        val = slash + 1;
        char *hist = strstr(val, "/_history/");
        if (hist)
            *hist = '\0';
    }
    if (!sv_id_valid(val, strlen(val)))
        return bad(x, "'%s' is not a reference (Type/id, id or an absolute url)%s", raw, "");
    if (v->system && !targets_include(sp, v->system))
        return bad(x, "'%s' cannot refer to a %s", sp->code, v->system);
    v->value = val;
    if (v->system && blen) {
        sv_buf url = SV_BUF_INIT;
        sv_buf_addf(&url, "%s/%s/%s", base, v->system, val);
        v->value2 = keep(x->p, sv_buf_detach(&url, NULL));
    }
    return SV_OK;
}

static sv_err parse_quantity(parse_ctx *x, const char *raw, sv_clause_value *v)
{
    sv_cmp cmp;
    const char *d = take_prefix(raw, &cmp);
    sv_str parts[3];
    size_t n = split(d, '|', parts, 3);
    if (n != 1 && n != 3)
        return bad(x, "'%s' is not a quantity (number, or number|system|code)%s", raw, "");
    char *num = unescape(x->p, parts[0].ptr, parts[0].len);
    if (!parse_number(num, cmp, v))
        return bad(x, "'%s' is not a number in '%s'", num, raw);
    v->kind = SV_CLAUSE_QUANTITY;
    if (n == 3) {
        v->system = parts[1].len ? unescape(x->p, parts[1].ptr, parts[1].len) : NULL;
        v->value = parts[2].len ? unescape(x->p, parts[2].ptr, parts[2].len) : NULL;
        if (v->system && !v->value)
            return bad(x, "'%s' has a unit system but no unit code%s", raw, "");
    }
    return SV_OK;
}

/* One value of a parameter of type `type` (a component of a composite, too). */
static sv_err parse_typed(parse_ctx *x, const sv_searchparam *sp, sv_searchparam_type type,
                          const char *modifier, const char *raw, sv_clause_value *v)
{
    sv_search_plan *p = x->p;
    switch (type) {
    case SV_SEARCHPARAM_STRING: {
        char *text = unescape(p, raw, strlen(raw));
        if (!*modifier) {
            v->kind = SV_CLAUSE_STRING;
            v->value = fold(p, text);
        } else if (strcmp(modifier, "contains") == 0) {
            v->kind = SV_CLAUSE_STRING_CONTAINS;
            v->value = fold(p, text);
        } else {
            v->kind = SV_CLAUSE_STRING_EXACT;
            v->value = text;
        }
        return SV_OK;
    }
    case SV_SEARCHPARAM_TOKEN:
        if (strcmp(modifier, "text") == 0) {
            v->kind = SV_CLAUSE_TOKEN_TEXT;
            v->value = fold(p, unescape(p, raw, strlen(raw)));
            return SV_OK;
        }
        if (strcmp(modifier, "of-type") == 0) {
            sv_str parts[3];
            if (split(raw, '|', parts, 3) != 3 || !parts[1].len || !parts[2].len)
                return bad(x, "'%s' is not type-system|type-code|value (for :of-type)%s", raw, "");
            v->kind = SV_CLAUSE_TOKEN_OF_TYPE;
            v->system = parts[0].len ? unescape(p, parts[0].ptr, parts[0].len) : NULL;
            v->value = unescape(p, parts[1].ptr, parts[1].len);
            v->value2 = unescape(p, parts[2].ptr, parts[2].len);
            return SV_OK;
        }
        return parse_token(x, raw, v);
    case SV_SEARCHPARAM_REFERENCE:
        if (strcmp(modifier, "identifier") == 0)
            return parse_token(x, raw, v); /* Reference.identifier rows are tokens */
        return parse_reference(x, sp, modifier, raw, v);
    case SV_SEARCHPARAM_DATE:
        v->kind = SV_CLAUSE_DATE;
        if (!parse_date(raw, v))
            return bad(x, "'%s' is not a date, dateTime or instant, with an optional prefix%s", raw,
                       "");
        return SV_OK;
    case SV_SEARCHPARAM_NUMBER: {
        sv_cmp cmp;
        const char *d = take_prefix(raw, &cmp);
        v->kind = SV_CLAUSE_NUMBER;
        if (!parse_number(unescape(p, d, strlen(d)), cmp, v))
            return bad(x, "'%s' is not a number, with an optional prefix%s", raw, "");
        return SV_OK;
    }
    case SV_SEARCHPARAM_QUANTITY:
        return parse_quantity(x, raw, v);
    case SV_SEARCHPARAM_URI:
        v->kind = !*modifier                       ? SV_CLAUSE_URI
                  : strcmp(modifier, "below") == 0 ? SV_CLAUSE_URI_BELOW
                                                   : SV_CLAUSE_URI_ABOVE;
        v->value = unescape(p, raw, strlen(raw));
        return SV_OK;
    default:
        return bad(x, "a %s component cannot be searched%s", sv_searchparam_type_name(type), "");
    }
}

/* first$second of a composite parameter. */
static sv_err parse_composite(parse_ctx *x, const sv_searchparam *sp,
                              const sv_searchparam_type types[2], const char *raw,
                              sv_clause_value *v)
{
    sv_str parts[2];
    if (split(raw, '$', parts, 2) != 2 || !parts[0].len || !parts[1].len)
        return bad(x, "'%s' is not two values joined by '$' (composite '%s')", raw, sp->code);
    sv_clause_value *pv = keep_zeroed(x->p, 2, sizeof(sv_clause_value));
    for (int i = 0; i < 2; i++) {
        char *part = keep_str(x->p, parts[i].ptr, parts[i].len);
        sv_err e = parse_typed(x, sp, types[i], "", part, &pv[i]);
        if (e)
            return e;
    }
    if (pv[1].kind == SV_CLAUSE_REFERENCE_URL)
        pv[1].value2 = NULL; /* composite rows keep no version */
    v->kind = SV_CLAUSE_COMPOSITE;
    v->parts = pv;
    v->nparts = 2;
    return SV_OK;
}

/* Whether modifier may be used on a parameter of type t (missing is handled before). */
static bool modifier_ok(const sv_searchparam *sp, const char *modifier)
{
    if (!*modifier)
        return true;
    switch (sp->type) {
    case SV_SEARCHPARAM_STRING:
        return strcmp(modifier, "exact") == 0 || strcmp(modifier, "contains") == 0;
    case SV_SEARCHPARAM_TOKEN:
        return strcmp(modifier, "not") == 0 || strcmp(modifier, "text") == 0 ||
               strcmp(modifier, "of-type") == 0;
    case SV_SEARCHPARAM_REFERENCE:
        return strcmp(modifier, "identifier") == 0 ||
               (is_resource_type(modifier) && targets_include(sp, modifier));
    case SV_SEARCHPARAM_URI:
        return strcmp(modifier, "below") == 0 || strcmp(modifier, "above") == 0;
    default:
        return false;
    }
}

/* Token parameters with a handful of values (status codes): poor places to start. */
static bool coarse_param(const char *code)
{
    static const char *const names[] = {"status",   "intent",          "priority", "gender",
                                        "active",   "business-status", "class",    "category",
                                        "deceased", "experimental"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(code, names[i]) == 0)
            return true;
    return false;
}

/* Whether every resource has at most one index row of sp: a token on one code element
 * that is no list ("Task.status"), which the index extracts as one row. */
static bool single_row(const sv_searchparam *sp)
{
    if (!sp || sp->type != SV_SEARCHPARAM_TOKEN || !sp->expression)
        return false;
    const char *dot = strchr(sp->expression, '.');
    if (!dot || strchr(dot + 1, '.'))
        return false;
    for (const char *c = sp->expression; *c; c++)
        if (!isalnum((unsigned char)*c) && *c != '.')
            return false;
    const sv_model_element *e = sv_model_element_find_path(sp->expression, strlen(sp->expression));
    return e && !(e->flags & (SV_MODEL_EL_ARRAY | SV_MODEL_EL_CHOICE)) && e->ntypes == 1 &&
           strcmp(sv_model_type_name(sv_model_element_type(e, 0)), "code") == 0;
}

static int index_kind_of(sv_searchparam_type t)
{
    switch (t) {
    case SV_SEARCHPARAM_STRING:
        return SV_INDEX_STRING;
    case SV_SEARCHPARAM_REFERENCE:
        return SV_INDEX_REFERENCE;
    case SV_SEARCHPARAM_DATE:
        return SV_INDEX_DATE;
    case SV_SEARCHPARAM_NUMBER:
        return SV_INDEX_NUMBER;
    case SV_SEARCHPARAM_QUANTITY:
        return SV_INDEX_QUANTITY;
    case SV_SEARCHPARAM_URI:
        return SV_INDEX_URI;
    case SV_SEARCHPARAM_COMPOSITE:
        return SV_INDEX_COMPOSITE;
    default:
        return SV_INDEX_TOKEN;
    }
}

/* ---- one criterion: [chain.]param[:modifier]=values -------------------------------- */

/* The next name segment (up to '.', ':' or the end), for untyped chains. */
static void next_param(const char *rest, char *out, size_t cap)
{
    size_t n = strcspn(rest, ".:");
    if (n >= cap)
        n = cap - 1;
    memcpy(out, rest, n);
    out[n] = '\0';
}

static sv_err parse_criterion(parse_ctx *x, const char *type, const char *value)
{
    sv_search_plan *p = x->p;
    char name[MAX_NAME];
    if (strlen(x->full) >= sizeof(name))
        return bad(x, "parameter name '%.64s...' is too long%s", x->full, "");
    memcpy(name, x->full, strlen(x->full) + 1);
    sv_clause_link links[SV_CLAUSE_MAX_LINKS];
    size_t nlinks = 0;
    const char *cur = type; /* the type the rest of the name applies to */
    char *rest = name;
    for (;;) {
        if (strncmp(rest, "_has:", 5) == 0) {
            /* _has:Type:refparam:rest */
            char *t = rest + 5, *c1 = strchr(t, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
            if (!c1 || !c2)
                return bad(x, "'%s' is not _has:Type:reference:parameter%s", x->full, "");
            *c1 = '\0';
            *c2 = '\0';
            const char *has_type = sv_fhir_resource_type(t, strlen(t));
            if (!has_type)
                return unknown(x, "'%s' in '%s' is not a resource type", t, x->full);
            const sv_searchparam *ref = sv_searchparam_find(has_type, c1 + 1);
            if (!ref || ref->type != SV_SEARCHPARAM_REFERENCE)
                return unknown(x, "'%s' is not a reference parameter of %s", c1 + 1, has_type);
            if (!targets_include(ref, cur))
                return bad(x, "%s.%s cannot refer to this type", has_type, ref->code);
            if (nlinks == SV_CLAUSE_MAX_LINKS)
                return bad(x, "'%s' chains more than %s steps", x->full, "4");
            links[nlinks++] = (sv_clause_link){true, has_type, ref->code};
            cur = has_type;
            rest = c2 + 1;
            continue;
        }
        char *dot = strchr(rest, '.');
        if (!dot)
            break;
        /* forward chain: refparam[:Type].rest */
        *dot = '\0';
        char *colon = strchr(rest, ':');
        const char *target = NULL;
        if (colon) {
            *colon = '\0';
            target = sv_fhir_resource_type(colon + 1, strlen(colon + 1));
            if (!target)
                return unknown(x, "'%s' in '%s' is not a resource type", colon + 1, x->full);
        }
        const sv_searchparam *ref = sv_searchparam_find(cur, rest);
        if (!ref)
            return unknown(x, "'%s' is not a search parameter of %s", rest, cur);
        if (ref->type != SV_SEARCHPARAM_REFERENCE)
            return bad(x, "'%s' is not a reference parameter, so it cannot be chained%s", rest, "");
        if (target && !targets_include(ref, target))
            return bad(x, "'%s' cannot refer to a %s", rest, target);
        if (!target) {
            /* the target types that have the next parameter; it must be one */
            char next[MAX_NAME];
            next_param(dot + 1, next, sizeof(next));
            size_t found = 0;
            for (const char *const *t = ref->targets; t && *t; t++) {
                if (sv_searchparam_find(*t, next)) {
                    target = *t;
                    found++;
                }
            }
            if (found != 1)
                return bad(x,
                           found ? "'%s' may refer to several types with '%s': name one"
                                   " (param:Type.name)"
                                 : "no type '%s' refers to has a parameter '%s'",
                           rest, next);
        }
        if (nlinks == SV_CLAUSE_MAX_LINKS)
            return bad(x, "'%s' chains more than %s steps", x->full, "4");
        links[nlinks++] = (sv_clause_link){false, target, ref->code};
        cur = target;
        rest = dot + 1;
    }

    /* rest is param[:modifier] on type cur */
    char *colon = strchr(rest, ':');
    const char *modifier = "";
    if (colon) {
        *colon = '\0';
        modifier = colon + 1;
    }
    bool is_id = strcmp(rest, "_id") == 0, is_lu = strcmp(rest, "_lastUpdated") == 0;
    const sv_searchparam *sp = sv_searchparam_find(cur, rest);
    if (!sp && !is_id && !is_lu)
        return unknown(x, "'%s' is not a search parameter of %s", rest, cur);
    if (sp && (sp->type == SV_SEARCHPARAM_SPECIAL || (!sp->expression && !is_id && !is_lu)))
        return unknown(x, "'%s' is not supported (it has no index)%s", rest, "");
    sv_searchparam_type types[2];
    if (sp && sp->type == SV_SEARCHPARAM_COMPOSITE && !sv_fhir_index_composite(sp, types))
        return unknown(x, "composite '%s' is not supported%s", rest, "");
    const char *code = sp ? sp->code : is_id ? "_id" : "_lastUpdated";
    sv_clause_link *kept_links = NULL;
    if (nlinks) {
        kept_links = keep_zeroed(p, nlinks, sizeof(sv_clause_link));
        memcpy(kept_links, links, nlinks * sizeof(sv_clause_link));
    }

    if (strcmp(modifier, "missing") == 0) {
        if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
            return bad(x, ":missing takes true or false, not '%s'%s", value, "");
        if (is_id || is_lu)
            return bad(x, "every resource has '%s'%s", code, "");
        sv_clause *c = add_clause(p, code, 1);
        c->nvalues = 1;
        c->values[0].kind = SV_CLAUSE_MISSING;
        c->values[0].number = strcmp(value, "true") == 0;
        c->values[0].index_kind = index_kind_of(sp->type);
        c->links = kept_links;
        c->nlinks = nlinks;
        return SV_OK;
    }
    if ((is_id || is_lu) ? *modifier != '\0' : !modifier_ok(sp, modifier))
        return unknown(x, "modifier ':%s' is not supported on '%s'", modifier, code);

    sv_str parts[MAX_VALUES];
    size_t nv = split(value, ',', parts, MAX_VALUES);
    if (nv > MAX_VALUES)
        return bad(x, "more than %s values for '%s'", "64", x->full);
    sv_clause *c = add_clause(p, code, nv);
    c->nvalues = nv;
    c->links = kept_links;
    c->nlinks = nlinks;
    c->negate = strcmp(modifier, "not") == 0;
    c->coarse = coarse_param(code);
    c->single = single_row(sp);
    for (size_t k = 0; k < nv; k++) {
        sv_clause_value *v = &c->values[k];
        if (!parts[k].len)
            return bad(x, "an empty value for '%s'%s", x->full, "");
        char *raw = keep_str(p, parts[k].ptr, parts[k].len);
        sv_err e = SV_OK;
        if (is_id) {
            v->kind = SV_CLAUSE_ID;
            v->value = unescape(p, raw, strlen(raw));
        } else if (is_lu && (!sp || sp->type == SV_SEARCHPARAM_DATE)) {
            v->kind = SV_CLAUSE_LAST_UPDATED;
            if (!parse_date(raw, v))
                e = bad(x, "'%s' is not a date or instant, with an optional prefix%s", raw, "");
        } else if (sp->type == SV_SEARCHPARAM_COMPOSITE) {
            e = parse_composite(x, sp, types, raw, v);
        } else {
            e = parse_typed(x, sp, sp->type, modifier, raw, v);
        }
        if (e)
            return e;
    }
    return SV_OK;
}

/* ---- _sort ------------------------------------------------------------------------- */

static sv_err parse_sort(parse_ctx *x, const char *type, const char *value)
{
    sv_search_plan *p = x->p;
    sv_str parts[SV_SORT_MAX_KEYS];
    size_t n = split(value, ',', parts, SV_SORT_MAX_KEYS);
    if (n > SV_SORT_MAX_KEYS)
        return bad(x, "_sort has more than %s keys%s", "8", "");
    sv_buf text = SV_BUF_INIT;
    p->nsort = 0;
    sv_err e = SV_OK;
    for (size_t i = 0; i < n && !e; i++) {
        char key[MAX_NAME];
        if (!parts[i].len || parts[i].len >= sizeof(key)) {
            e = bad(x, "_sort '%s' has an empty or too long key%s", value, "");
            break;
        }
        memcpy(key, parts[i].ptr, parts[i].len);
        key[parts[i].len] = '\0';
        bool desc = key[0] == '-';
        const char *name = key + desc;
        sv_sort_key *k = &p->sort[p->nsort];
        memset(k, 0, sizeof(*k));
        k->descending = desc;
        if (strcmp(name, "_id") == 0) {
            k->by = SV_SORT_ID;
        } else if (strcmp(name, "_lastUpdated") == 0) {
            k->by = SV_SORT_LAST_UPDATED;
        } else {
            const sv_searchparam *sp = sv_searchparam_find(type, name);
            if (!sp || !sp->expression || sp->type == SV_SEARCHPARAM_COMPOSITE ||
                sp->type == SV_SEARCHPARAM_SPECIAL) {
                bool was_skip = x->skip;
                e = unknown(x, "_sort by '%s' is not possible on %s", name, type);
                x->skip = was_skip; /* lenient: only this key is dropped */
                continue;
            }
            k->by = SV_SORT_PARAM;
            k->param = sp->code;
            k->index_kind = index_kind_of(sp->type);
        }
        if (text.len)
            sv_buf_addc(&text, ',');
        sv_buf_adds(&text, key);
        p->nsort++;
    }
    p->sort_text = keep(p, sv_buf_detach(&text, NULL));
    return e;
}

/* ---- _cursor: the position of a row, as text ---------------------------------------- */

/* The cursor is the hex of a JSON array ["<_sort>", "a" (after) or "b" (before),
 * rid, key...]: opaque to clients, URL-safe, and refused with another _sort. */
static char *cursor_encode(const char *sort_text, bool backward, const sv_search_position *at)
{
    json_t *a = json_array();
    json_array_append_new(a, json_string(sort_text));
    json_array_append_new(a, json_string(backward ? "b" : "a"));
    json_array_append_new(a, json_integer(at->rid));
    for (size_t j = 0; j < at->nkeys; j++) {
        const sv_key_value *k = &at->keys[j];
        switch (k->type) {
        case SV_KEY_INT:
            json_array_append_new(a, json_integer(k->i));
            break;
        case SV_KEY_REAL:
            json_array_append_new(a, json_real(k->d));
            break;
        case SV_KEY_TEXT:
            json_array_append_new(a, json_string(k->text ? k->text : ""));
            break;
        case SV_KEY_NULL:
            json_array_append_new(a, json_null());
            break;
        }
    }
    char *text = json_dumps(a, JSON_COMPACT);
    json_decref(a);
    if (!text)
        abort();
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(text);
    char *out = malloc(2 * n + 1);
    if (!out)
        abort();
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[(unsigned char)text[i] >> 4];
        out[2 * i + 1] = hex[(unsigned char)text[i] & 15];
    }
    out[2 * n] = '\0';
    free(text);
    return out;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static bool cursor_decode(const sv_search_plan *p, const char *cursor, sv_search_position *ret,
                          bool *ret_backward)
{
    size_t n = strlen(cursor);
    if (n == 0 || n % 2 || n > 8192)
        return false;
    char *text = malloc(n / 2 + 1);
    if (!text)
        abort();
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(cursor[2 * i]), lo = hexval(cursor[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(text);
            return false;
        }
        text[i] = (char)(hi << 4 | lo);
    }
    text[n / 2] = '\0';
    json_t *a = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    free(text);
    const char *dir = json_string_value(json_array_get(a, 1));
    bool ok = json_is_array(a) && json_array_size(a) == 3 + p->nsort &&
              json_is_string(json_array_get(a, 0)) &&
              strcmp(json_string_value(json_array_get(a, 0)), p->sort_text) == 0 && dir &&
              (strcmp(dir, "a") == 0 || strcmp(dir, "b") == 0) &&
              json_is_integer(json_array_get(a, 2)) && json_integer_value(json_array_get(a, 2)) > 0;
    sv_search_position at;
    memset(&at, 0, sizeof(at));
    if (ok) {
        *ret_backward = dir[0] == 'b';
        at.rid = json_integer_value(json_array_get(a, 2));
        for (size_t j = 0; j < p->nsort && ok; j++) {
            const json_t *k = json_array_get(a, 3 + j);
            sv_key_value *kv = &at.keys[at.nkeys++];
            const sv_sort_key *sk = &p->sort[j];
            bool is_int = sk->by == SV_SORT_LAST_UPDATED ||
                          (sk->by == SV_SORT_PARAM && sk->index_kind == SV_INDEX_DATE);
            bool is_real = sk->by == SV_SORT_PARAM && (sk->index_kind == SV_INDEX_NUMBER ||
                                                       sk->index_kind == SV_INDEX_QUANTITY);
            if (json_is_null(k)) {
                kv->type = SV_KEY_NULL;
            } else if (is_int && json_is_integer(k)) {
                kv->type = SV_KEY_INT;
                kv->i = json_integer_value(k);
            } else if (is_real && json_is_number(k)) {
                kv->type = SV_KEY_REAL;
                kv->d = json_number_value(k);
            } else if (!is_int && !is_real && json_is_string(k)) {
                kv->type = SV_KEY_TEXT;
                kv->text = strdup(json_string_value(k));
                if (!kv->text)
                    abort();
            } else {
                ok = false;
            }
        }
    }
    json_decref(a);
    if (!ok) {
        sv_search_position_clear(&at);
        return false;
    }
    *ret = at;
    return true;
}

/* ---- the whole query ---------------------------------------------------------------- */

static void self_add(sv_buf *self, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    sv_buf_addc(self, self->len ? '&' : '?');
    for (int pass = 0; pass < 2; pass++) {
        const char *s = pass ? value : name;
        for (; *s; s++) {
            unsigned char ch = (unsigned char)*s;
            if (isalnum(ch) || strchr("-._~:|/", ch)) {
                sv_buf_addc(self, (char)ch);
            } else {
                sv_buf_addc(self, '%');
                sv_buf_addc(self, hex[ch >> 4]);
                sv_buf_addc(self, hex[ch & 15]);
            }
        }
        if (!pass)
            sv_buf_addc(self, '=');
    }
}

static bool parse_nonneg(const char *v, int64_t *ret)
{
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (!*v || !end || *end || n < 0)
        return false;
    *ret = n;
    return true;
}

sv_err sv__search_parse(const sv_rest *r, const char *type, const sv_query *q, bool lenient,
                        sv_search_plan *p, sv_outcome *out)
{
    p->count = r->default_count;
    const char *cursor = NULL, *cursor_name = NULL;
    for (size_t i = 0; i < q->len; i++) {
        const char *full = q->params[i].name, *value = q->params[i].value;
        parse_ctx x = {.r = r, .p = p, .out = out, .lenient = lenient, .full = full};
        char name[MAX_NAME];
        snprintf(name, sizeof(name), "%s", full);
        char *colon = strchr(name, ':');
        const char *modifier = "";
        if (colon && strncmp(name, "_has:", 5) != 0) {
            *colon = '\0';
            modifier = colon + 1;
        }
        if (strcmp(name, "_count") == 0) {
            if (!parse_nonneg(value, &p->count))
                return bad(&x, "_count '%s' is not a whole number%s", value, "");
            if (p->count > r->max_count)
                p->count = r->max_count;
            continue;
        }
        if (strcmp(name, "_offset") == 0) {
            if (!parse_nonneg(value, &p->offset))
                return bad(&x, "_offset '%s' is not a whole number%s", value, "");
            continue;
        }
        if (strcmp(name, "_cursor") == 0) {
            cursor = value;
            cursor_name = full;
            continue;
        }
        if (strcmp(name, "_total") == 0) {
            if (strcmp(value, "none") == 0)
                p->total_none = true;
            else if (strcmp(value, "accurate") != 0 && strcmp(value, "estimate") != 0)
                return bad(&x, "_total '%s' is not one of none, estimate, accurate%s", value, "");
            self_add(&p->self, full, value);
            continue;
        }
        if (strcmp(name, "_summary") == 0 && strcmp(value, "count") == 0) {
            p->summary_count = true;
            self_add(&p->self, full, value);
            continue;
        }
        if (sv__search_is_result_param(name)) {
            sv_err e = sv__search_result_param(p, full, name, modifier, value, lenient, out);
            if (e)
                return e;
            continue;
        }
        if (strcmp(name, "_format") == 0 || strcmp(name, "_pretty") == 0)
            continue;
        if (strlen(value) > MAX_VALUE_LEN) {
            sv_outcome_add(out, SV_SEV_ERROR, "too-long", full,
                           "the value of '%s' is longer than %d bytes", full, MAX_VALUE_LEN);
            return SV_ERR_INVALID;
        }
        sv_err e;
        if (strcmp(name, "_sort") == 0) {
            if (*modifier)
                e = unknown(&x, "'%s' is not supported; use _sort=-name for descending%s", full,
                            "");
            else
                e = parse_sort(&x, type, value);
        } else {
            size_t n_before = p->n;
            e = parse_criterion(&x, type, value);
            while (x.skip && p->n > n_before)
                free(p->clauses[--p->n].values); /* dropped (lenient) after it was added */
        }
        if (e)
            return e;
        if (!x.skip)
            self_add(&p->self, full, value);
    }
    if (cursor) {
        parse_ctx x = {.r = r, .p = p, .out = out, .lenient = lenient, .full = cursor_name};
        if (!cursor_decode(p, cursor, &p->after, &p->cursor_backward))
            return bad(&x,
                       "'%s' is not a cursor of this search (a _cursor comes from a next"
                       " link, with the same _sort)%s",
                       cursor, "");
        p->cursor = keep_str(p, cursor, strlen(cursor));
    }
    return SV_OK;
}

/* ---- running ------------------------------------------------------------------------ */

typedef struct run_ctx {
    sv_store_visit visit;
    void *ctx;
    int64_t accepted;
    bool stopped;
} run_ctx;

static bool run_visit(void *ctx, const sv_stored *s)
{
    run_ctx *rc = ctx;
    if (!rc->visit(rc->ctx, s)) {
        rc->stopped = true;
        return false;
    }
    rc->accepted++;
    return true;
}

/* A page read backwards, kept until it can be visited in order. */
typedef struct kept_rows {
    sv_stored *rows;
    size_t len, max;
    bool more; /* a row beyond max was offered */
} kept_rows;

static bool keep_row(void *ctx, const sv_stored *s)
{
    kept_rows *k = ctx;
    if (k->len == k->max) {
        k->more = true;
        return false;
    }
    sv_stored *c = &k->rows[k->len++];
    *c = *s;
    c->json = malloc(s->json_len + 1);
    if (!c->json)
        abort();
    memcpy(c->json, s->json, s->json_len);
    c->json[s->json_len] = '\0';
    return true;
}

static void set_cursor(char **slot, const sv_search_plan *p, bool backward,
                       const sv_search_position *at)
{
    free(*slot);
    *slot = at && at->rid ? cursor_encode(p->sort_text, backward, at) : NULL;
}

static sv_err run_forward(sv_db *db, const char *type, sv_search_plan *p, int64_t limit,
                          sv_store_visit visit, void *ctx, int64_t *ret_total, sv_buf *reterr)
{
    run_ctx rc = {.visit = visit, .ctx = ctx};
    bool from_cursor = p->cursor && !p->cursor_backward;
    sv_store_query q = {.type = type,
                        .clauses = p->clauses,
                        .nclauses = p->n,
                        .sort = p->sort,
                        .nsort = p->nsort,
                        .after = from_cursor ? &p->after : NULL,
                        .offset = p->cursor ? 0 : p->offset,
                        .limit = limit,
                        .access = p->access};
    sv_search_position first, last;
    memset(&first, 0, sizeof(first));
    memset(&last, 0, sizeof(last));
    sv_err e = sv_store_search_run(db, &q, run_visit, &rc, ret_total, &first, &last, reterr);
    if (!e) {
        bool more = limit > 0 && (rc.stopped || rc.accepted >= limit);
        set_cursor(&p->next_cursor, p, false, more ? &last : NULL);
        set_cursor(&p->prev_cursor, p, true, from_cursor ? &first : NULL);
    }
    sv_search_position_clear(&first);
    sv_search_position_clear(&last);
    return e;
}

/* The plan->count rows before a backward cursor, in order, then the probe row. */
static sv_err run_backward(sv_db *db, const char *type, sv_search_plan *p, int64_t limit,
                           sv_store_visit visit, void *ctx, int64_t *ret_total, sv_buf *reterr)
{
    int64_t page = p->count < limit ? p->count : limit;
    if (page <= 0) /* only a total */
        return run_forward(db, type, p, limit, visit, ctx, ret_total, reterr);
    kept_rows k = {.rows = calloc((size_t)page, sizeof(sv_stored)), .max = (size_t)page};
    if (!k.rows)
        abort();
    sv_store_query q = {.type = type,
                        .clauses = p->clauses,
                        .nclauses = p->n,
                        .sort = p->sort,
                        .nsort = p->nsort,
                        .after = &p->after,
                        .backward = true,
                        .limit = page + 1,
                        .access = p->access};
    sv_search_position nearest, farthest;
    memset(&nearest, 0, sizeof(nearest));
    memset(&farthest, 0, sizeof(farthest));
    sv_err e = sv_store_search_run(db, &q, keep_row, &k, ret_total, &nearest, &farthest, reterr);
    if (!e && !k.more) {
        /* nothing before these rows: the previous page is the first page */
        p->cursor = NULL;
        e = run_forward(db, type, p, limit, visit, ctx, NULL, reterr);
        goto out;
    }
    run_ctx rc = {.visit = visit, .ctx = ctx};
    for (size_t i = k.len; !e && i-- > 0;) {
        if (!run_visit(&rc, &k.rows[i]))
            break;
    }
    if (!e && !rc.stopped && limit > page) {
        /* the probe: the row after the page, so the caller sees that a next page exists */
        sv_store_query probe = q;
        probe.backward = false;
        probe.after = &nearest;
        probe.limit = 1;
        e = sv_store_search_run(db, &probe, run_visit, &rc, NULL, NULL, NULL, reterr);
    }
    if (!e) {
        bool more = rc.stopped || (rc.accepted >= limit);
        set_cursor(&p->next_cursor, p, false, more || rc.stopped ? &nearest : NULL);
        set_cursor(&p->prev_cursor, p, true, &farthest);
    }
out:
    for (size_t i = 0; i < k.len; i++)
        free(k.rows[i].json);
    free(k.rows);
    sv_search_position_clear(&nearest);
    sv_search_position_clear(&farthest);
    return e;
}

sv_err sv__search_plan_run(sv_db *db, const char *type, sv_search_plan *p, int64_t limit,
                           sv_store_visit visit, void *ctx, int64_t *ret_total, sv_buf *reterr)
{
    free(p->next_cursor);
    free(p->prev_cursor);
    p->next_cursor = p->prev_cursor = NULL;
    if (p->cursor && p->cursor_backward)
        return run_backward(db, type, p, limit, visit, ctx, ret_total, reterr);
    return run_forward(db, type, p, limit, visit, ctx, ret_total, reterr);
}
