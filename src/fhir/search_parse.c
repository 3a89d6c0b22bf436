/*
 * search_parse.c - FHIR search parameters into store clauses (search_plan.h).
 *
 * AND of parameters, OR of comma-separated values, the default semantics of each
 * parameter type with the common modifiers and prefixes.  Values keep FHIR's
 * escapes (\, \| \$ \\) until the parameter type says how to split them.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "base/id.h"
#include "base/text.h"
#include "fhir/search_plan.h"
#include "fhir/search_result.h"
#include "fhir/searchparam.h"

#define MAX_VALUES 64

static char *keep(sv_search_plan *p, char *s)
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

/* Splits a value on unescaped sep, unescaping \, \| \$ \\ in each part. */
static size_t split_escaped(sv_search_plan *p, const char *text, char sep, char **parts, size_t max)
{
    size_t n = 0;
    sv_buf cur = SV_BUF_INIT;
    for (const char *s = text;; s++) {
        if (*s == '\\' && (s[1] == ',' || s[1] == '|' || s[1] == '$' || s[1] == '\\')) {
            sv_buf_addc(&cur, s[1]);
            s++;
            continue;
        }
        if (*s == sep || *s == '\0') {
            if (n < max)
                parts[n++] = keep(p, sv_buf_detach(&cur, NULL));
            sv_buf_reset(&cur);
            if (*s == '\0')
                break;
            continue;
        }
        sv_buf_addc(&cur, *s);
    }
    sv_buf_release(&cur);
    return n;
}

/* Finds the first unescaped '|'; returns its index or -1. */
static long find_bar(const char *s)
{
    for (long i = 0; s[i]; i++) {
        if (s[i] == '\\' && s[i + 1]) {
            i++;
            continue;
        }
        if (s[i] == '|')
            return i;
    }
    return -1;
}

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

static bool parse_number(const char *s, sv_clause_value *v)
{
    char *end = NULL;
    double d = strtod(s, &end);
    if (!*s || !end || *end || !isfinite(d))
        return false;
    /* Implicit precision: "100" means [99.5, 100.5), "1.50" means [1.495, 1.505). */
    const char *dot = strchr(s, '.');
    const char *e = strpbrk(s, "eE");
    int decimals = 0;
    if (dot && (!e || dot < e))
        decimals = (int)((e ? e : s + strlen(s)) - dot - 1);
    double half = 0.5 * pow(10.0, -decimals);
    v->number = d;
    v->dlow = d - half;
    v->dhigh = d + half;
    return true;
}

static sv_err bad(sv_outcome *out, const char *name, const char *fmt, const char *a, const char *b)
{
    sv_outcome_add(out, SV_SEV_ERROR, "invalid", name, fmt, a, b);
    return SV_ERR_INVALID;
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
    default:
        return SV_INDEX_TOKEN;
    }
}

/* One value of a parameter into a clause value. */
static sv_err parse_value(sv_search_plan *p, const sv_searchparam *sp, const char *name,
                          const char *modifier, char *raw, sv_clause *c, sv_clause_value *v,
                          const char *base_url, sv_outcome *out)
{
    sv_buf folded = SV_BUF_INIT;
    switch (sp->type) {
    case SV_SEARCHPARAM_STRING:
        if (!*modifier || strcmp(modifier, "contains") == 0) {
            sv_text_fold(raw, strlen(raw), &folded);
            v->kind = *modifier ? SV_CLAUSE_STRING_CONTAINS : SV_CLAUSE_STRING;
            v->value = keep(p, sv_buf_detach(&folded, NULL));
        } else if (strcmp(modifier, "exact") == 0) {
            v->kind = SV_CLAUSE_STRING_EXACT;
            v->value = raw;
        } else {
            return bad(out, name, "modifier ':%s' is not supported on string parameter '%s'",
                       modifier, sp->code);
        }
        return SV_OK;
    case SV_SEARCHPARAM_TOKEN:
        if (strcmp(modifier, "text") == 0) {
            sv_text_fold(raw, strlen(raw), &folded);
            v->kind = SV_CLAUSE_TOKEN_TEXT;
            v->value = keep(p, sv_buf_detach(&folded, NULL));
            return SV_OK;
        }
        if (*modifier && strcmp(modifier, "not") != 0)
            return bad(out, name, "modifier ':%s' is not supported on token parameter '%s'",
                       modifier, sp->code);
        c->negate = *modifier != '\0';
        v->kind = SV_CLAUSE_TOKEN;
        {
            long bar = find_bar(raw);
            char *parts[2];
            if (bar < 0) {
                split_escaped(p, raw, '\0', parts, 1);
                v->value = parts[0];
            } else {
                raw[bar] = '\0';
                split_escaped(p, raw, '\0', parts, 1);
                split_escaped(p, raw + bar + 1, '\0', parts + 1, 1);
                v->system_set = true;
                v->system = *parts[0] ? parts[0] : NULL;
                v->value = *parts[1] ? parts[1] : NULL;
                if (!v->system && !v->value)
                    return bad(out, name, "token '%s' of '%s' is empty", "|", sp->code);
            }
            if (v->value && !*v->value)
                return bad(out, name, "empty value for '%s'%s", sp->code, "");
        }
        return SV_OK;
    case SV_SEARCHPARAM_REFERENCE: {
        char *val = raw;
        size_t blen = strlen(base_url);
        if (strncmp(val, base_url, blen) == 0 && val[blen] == '/')
            val += blen + 1;
        if (strstr(val, "://") || strncmp(val, "urn:", 4) == 0) {
            v->kind = SV_CLAUSE_REFERENCE_URL;
            v->value = val;
            return SV_OK;
        }
        v->kind = SV_CLAUSE_REFERENCE;
        char *slash = strchr(val, '/');
        if (*modifier) {
            if (strchr(modifier, '.') || !sv_searchparam_list(modifier, &(size_t){0}))
                return bad(out, name,
                           "modifier ':%s' on '%s' is not supported (chaining comes later)",
                           modifier, sp->code);
            v->system = modifier;
        }
        if (slash) {
            *slash = '\0';
            v->system = val;
            val = slash + 1;
            char *hist = strchr(val, '/');
            if (hist)
                *hist = '\0';
        }
        if (!sv_id_valid(val, strlen(val)))
            return bad(out, name, "'%s' is not a reference value for '%s'", raw, sp->code);
        v->value = val;
        return SV_OK;
    }
    case SV_SEARCHPARAM_DATE: {
        if (*modifier)
            return bad(out, name, "modifier ':%s' is not supported on date parameter '%s'",
                       modifier, sp->code);
        const char *d = take_prefix(raw, &v->cmp);
        sv_datetime_range range;
        if (!sv_datetime_parse(d, strlen(d), &range))
            return bad(out, name, "'%s' is not a date or dateTime (for '%s')", raw, sp->code);
        v->kind = SV_CLAUSE_DATE;
        v->low = range.low;
        v->high = range.high;
        return SV_OK;
    }
    case SV_SEARCHPARAM_NUMBER:
    case SV_SEARCHPARAM_QUANTITY: {
        if (*modifier)
            return bad(out, name, "modifier ':%s' is not supported on '%s'", modifier, sp->code);
        const char *d = take_prefix(raw, &v->cmp);
        char *num = keep(p, strdup(d));
        if (sp->type == SV_SEARCHPARAM_QUANTITY) {
            long bar = find_bar(num);
            if (bar >= 0)
                num[bar] = '\0'; /* units are matched from the search issue on */
        }
        if (!parse_number(num, v))
            return bad(out, name, "'%s' is not a number (for '%s')", raw, sp->code);
        v->kind = sp->type == SV_SEARCHPARAM_NUMBER ? SV_CLAUSE_NUMBER : SV_CLAUSE_QUANTITY;
        return SV_OK;
    }
    case SV_SEARCHPARAM_URI:
        if (*modifier)
            return bad(out, name, "modifier ':%s' is not supported on uri parameter '%s'", modifier,
                       sp->code);
        v->kind = SV_CLAUSE_URI;
        v->value = raw;
        return SV_OK;
    default:
        return bad(out, name, "parameter '%s' of type %s is not supported yet", sp->code,
                   sv_searchparam_type_name(sp->type));
    }
}

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
    for (size_t i = 0; i < q->len; i++) {
        const char *full = q->params[i].name, *value = q->params[i].value;
        char name[128];
        snprintf(name, sizeof(name), "%s", full);
        char *colon = strchr(name, ':');
        const char *modifier = "";
        if (colon) {
            *colon = '\0';
            modifier = colon + 1;
        }
        if (strcmp(name, "_count") == 0) {
            if (!parse_nonneg(value, &p->count))
                return bad(out, full, "_count '%s' is not a whole number%s", value, "");
            if (p->count > r->max_count)
                p->count = r->max_count;
            continue;
        }
        if (strcmp(name, "_offset") == 0) {
            if (!parse_nonneg(value, &p->offset))
                return bad(out, full, "_offset '%s' is not a whole number%s", value, "");
            continue;
        }
        if (strcmp(name, "_total") == 0) {
            if (strcmp(value, "none") == 0)
                p->total_none = true;
            else if (strcmp(value, "accurate") != 0 && strcmp(value, "estimate") != 0)
                return bad(out, full, "_total '%s' is not one of none, estimate, accurate%s", value,
                           "");
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
        const sv_searchparam *sp = sv_searchparam_find(type, name);
        bool is_id = strcmp(name, "_id") == 0;
        bool is_lu = strcmp(name, "_lastUpdated") == 0;
        if (!sp && !is_id && !is_lu) {
            if (lenient)
                continue;
            return bad(out, full, "'%s' is not a search parameter of %s", full, type);
        }
        char *parts[MAX_VALUES];
        char *copy = keep(p, strdup(value));
        if (strcmp(modifier, "missing") == 0) {
            if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
                return bad(out, full, ":missing takes true or false, not '%s'%s", value, "");
            sv_clause *c = add_clause(p, sp ? sp->code : name, 1);
            c->nvalues = 1;
            c->values[0].kind = SV_CLAUSE_MISSING;
            c->values[0].number = strcmp(value, "true") == 0;
            c->values[0].index_kind = sp ? index_kind_of(sp->type) : SV_INDEX_TOKEN;
            self_add(&p->self, full, value);
            continue;
        }
        size_t nv;
        /* split on unescaped commas, keep escapes for the token and reference parsers */
        {
            nv = 0;
            char *start = copy;
            for (char *s = copy;; s++) {
                if (*s == '\\' && s[1]) {
                    s++;
                    continue;
                }
                if (*s == ',' || *s == '\0') {
                    bool end = *s == '\0';
                    *s = '\0';
                    if (nv == MAX_VALUES)
                        return bad(out, full, "more than %s values for '%s'", "64", name);
                    parts[nv++] = start;
                    start = s + 1;
                    if (end)
                        break;
                }
            }
        }
        sv_clause *c = add_clause(p, sp ? sp->code : name, nv);
        c->nvalues = nv;
        for (size_t k = 0; k < nv; k++) {
            sv_clause_value *v = &c->values[k];
            if (!*parts[k])
                return bad(out, full, "an empty value for '%s'%s", name, "");
            if (is_id) {
                char *one[1];
                split_escaped(p, parts[k], '\0', one, 1);
                v->kind = SV_CLAUSE_ID;
                v->value = one[0];
            } else if (is_lu && (!sp || sp->type == SV_SEARCHPARAM_DATE)) {
                const char *d = take_prefix(parts[k], &v->cmp);
                sv_datetime_range range;
                if (!sv_datetime_parse(d, strlen(d), &range))
                    return bad(out, full, "'%s' is not a date or instant (for '%s')", parts[k],
                               name);
                v->kind = SV_CLAUSE_LAST_UPDATED;
                v->low = range.low;
                v->high = range.high;
            } else {
                if (sp->type == SV_SEARCHPARAM_STRING || sp->type == SV_SEARCHPARAM_URI ||
                    sp->type == SV_SEARCHPARAM_DATE || sp->type == SV_SEARCHPARAM_NUMBER) {
                    char *one[1];
                    split_escaped(p, parts[k], '\0', one, 1);
                    parts[k] = one[0];
                }
                sv_err e = parse_value(p, sp, full, modifier, parts[k], c, v, r->base_url, out);
                if (e)
                    return e;
            }
        }
        self_add(&p->self, full, value);
    }
    return SV_OK;
}

void sv__search_plan_init(sv_search_plan *p)
{
    memset(p, 0, sizeof(*p));
    sv_buf_init(&p->self);
}
