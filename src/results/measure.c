/*
 * measure.c - a Measure evaluated into a MeasureReport (docs/results.md).
 *
 * The Measure says what to compute as data: extension indicator-calculation
 * names the kind of cases (calc.c), indicator-parameter extensions give its
 * codes, windows and limits, Measure.scoring how the cases become a score, and
 * each group its statistic (cqfm-aggregateMethod) and stratifiers.  Counts from
 * 1 to min_cell - 1, and a score that would reveal one, are masked
 * (data-absent-reason "masked").
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/calendar.h"
#include "base/datetime.h"
#include "results/internal.h"

#define EXT_CALC "http://samverka.org/fhir/StructureDefinition/indicator-calculation"
#define EXT_PARAM "http://samverka.org/fhir/StructureDefinition/indicator-parameter"
#define EXT_FILTER "http://samverka.org/fhir/StructureDefinition/indicator-filter"
#define EXT_AGG "http://hl7.org/fhir/us/cqfmeasures/StructureDefinition/cqfm-aggregateMethod"
#define EXT_DAR "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
#define SYS_STRAT "http://samverka.org/fhir/CodeSystem/indicator-stratifier"
#define SYS_SCORING "http://terminology.hl7.org/CodeSystem/measure-scoring"

typedef struct spec {
    const char *kind;
    const char *scoring; /* proportion, ratio, continuous-variable, cohort */
    sv__results_args args;
    const char *unit;        /* of the score, UCUM; NULL: none */
    const char *denominator; /* ratio: "population-65plus" */
    double multiplier;       /* ratio: per 1,000 */
} spec;

static const json_t *extension(const json_t *j, const char *url)
{
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(j, "extension"), i, e)
    {
        const char *u = json_string_value(json_object_get(e, "url"));
        if (u && strcmp(u, url) == 0)
            return e;
    }
    return NULL;
}

static const char *code_of(const json_t *concept, const char *system)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(concept, "coding"), i, c)
    {
        const char *s = json_string_value(json_object_get(c, "system"));
        if (!system || (s && strcmp(s, system) == 0))
            return json_string_value(json_object_get(c, "code"));
    }
    return NULL;
}

/* Reads Measure.extension indicator-calculation and indicator-parameter. */
static sv_err read_spec(const json_t *m, spec *s, sv_outcome *out)
{
    memset(s, 0, sizeof(*s));
    s->args.age_min = -1;
    s->multiplier = 1;
    s->kind = json_string_value(json_object_get(extension(m, EXT_CALC), "valueCode"));
    if (!s->kind || !sv__results_kind_known(s->kind)) {
        sv_outcome_add(out, SV_SEV_ERROR, "not-supported", "Measure.extension",
                       "the Measure names no calculation samverka knows (extension %s)", EXT_CALC);
        return SV_ERR_PROCESSING;
    }
    s->scoring = code_of(json_object_get(m, "scoring"), SYS_SCORING);
    if (!s->scoring ||
        (strcmp(s->scoring, "proportion") && strcmp(s->scoring, "ratio") &&
         strcmp(s->scoring, "continuous-variable") && strcmp(s->scoring, "cohort"))) {
        sv_outcome_add(out, SV_SEV_ERROR, "not-supported", "Measure.scoring",
                       "scoring must be proportion, ratio, continuous-variable or cohort");
        return SV_ERR_PROCESSING;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(m, "extension"), i, e)
    {
        const char *u = json_string_value(json_object_get(e, "url"));
        if (!u || strcmp(u, EXT_PARAM))
            continue;
        const json_t *name_ext = extension(e, "name"), *value_ext = extension(e, "value");
        const char *name = json_string_value(json_object_get(name_ext, "valueCode"));
        const char *text = NULL;
        double num = 0;
        bool is_num = false;
        const json_t *v;
        if ((v = json_object_get(value_ext, "valueString")) ||
            (v = json_object_get(value_ext, "valueCode")) ||
            (v = json_object_get(value_ext, "valueUri")) ||
            (v = json_object_get(value_ext, "valueCanonical")))
            text = json_string_value(v);
        else if ((v = json_object_get(value_ext, "valueDecimal")) ||
                 (v = json_object_get(value_ext, "valueInteger")))
            num = json_number_value(v), is_num = true;
        if (!name || (!text && !is_num)) {
            sv_outcome_add(out, SV_SEV_ERROR, "invalid", "Measure.extension",
                           "an indicator-parameter needs a name and a value");
            return SV_ERR_PROCESSING;
        }
        if (strcmp(name, "code") == 0 && text)
            s->args.code = text;
        else if (strcmp(name, "code2") == 0 && text)
            s->args.code2 = text;
        else if (strcmp(name, "hours") == 0 && is_num)
            s->args.amount_ms = (int64_t)llround(num * 3600000.0);
        else if (strcmp(name, "days") == 0 && is_num)
            s->args.amount_ms = (int64_t)llround(num * 86400000.0);
        else if (strcmp(name, "age-min") == 0 && is_num)
            s->args.age_min = (int)num;
        else if (strcmp(name, "unit") == 0 && text)
            s->unit = text;
        else if (strcmp(name, "denominator") == 0 && text)
            s->denominator = text;
        else if (strcmp(name, "multiplier") == 0 && is_num)
            s->multiplier = num;
        else {
            sv_outcome_add(out, SV_SEV_ERROR, "invalid", "Measure.extension",
                           "indicator-parameter '%s' is not known or has the wrong type", name);
            return SV_ERR_PROCESSING;
        }
    }
    if (strcmp(s->scoring, "ratio") == 0 &&
        (!s->denominator || strcmp(s->denominator, "population-65plus"))) {
        sv_outcome_add(out, SV_SEV_ERROR, "not-supported", "Measure.extension",
                       "a ratio needs the parameter denominator = population-65plus");
        return SV_ERR_PROCESSING;
    }
    return SV_OK;
}

/* ---- blocks: the populations and score of a group or a stratum ----------------------- */

typedef struct block_ctx {
    const spec *s;
    const sv_results_filter *f;
    const sv_results_data *data;
    const json_t *mgroup; /* the Measure's group */
    const char *method;   /* the group's statistic */
} block_ctx;

static bool masked(const block_ctx *b, int64_t n)
{
    return b->f->min_cell > 1 && n > 0 && n < b->f->min_cell;
}

static json_t *masked_element(void)
{
    return json_pack("{s:[{s:s, s:s}]}", "extension", "url", EXT_DAR, "valueCode", "masked");
}

static double round_to(double v, int places)
{
    double p = pow(10, places);
    return round(v * p) / p;
}

static json_t *quantity(double v, const char *unit)
{
    json_t *q = json_pack("{s:f}", "value", v);
    if (unit) {
        json_object_set_new(q, "unit", json_string(unit));
        json_object_set_new(q, "system", json_string("http://unitsofmeasure.org"));
        json_object_set_new(q, "code", json_string(unit));
    }
    return q;
}

/* cases[0..n): the populations of the Measure group with their counts, and the score. */
static json_t *block(const block_ctx *b, sv__results_case *const *cases, size_t n,
                     double population)
{
    int64_t num = 0, nvalues = 0;
    double *values = calloc(n ? n : 1, sizeof(*values));
    if (!values)
        abort();
    for (size_t i = 0; i < n; i++) {
        num += cases[i]->in_numerator;
        if (cases[i]->has_value)
            values[nvalues++] = cases[i]->value;
    }
    const char *scoring = b->s->scoring;
    bool ratio = strcmp(scoring, "ratio") == 0;
    json_t *out = json_object();
    json_t *pops = json_array();
    bool mask_score = false;
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(b->mgroup, "population"), i, p)
    {
        const char *code = code_of(json_object_get(p, "code"), NULL);
        int64_t count = 0;
        bool known_count = true;
        if (!code)
            continue;
        if (strcmp(code, "initial-population") == 0)
            count = (int64_t)n;
        else if (strcmp(code, "denominator") == 0 && ratio)
            count = (int64_t)llround(population), known_count = population > 0;
        else if (strcmp(code, "denominator") == 0)
            count = (int64_t)n;
        else if (strcmp(code, "numerator") == 0)
            count = ratio ? (int64_t)n : num;
        else if (strcmp(code, "measure-population") == 0 ||
                 strcmp(code, "measure-observation") == 0)
            count = nvalues;
        json_t *e = json_pack("{s:O}", "code", json_object_get(p, "code"));
        bool hide = known_count && masked(b, count) &&
                    !(ratio && strcmp(code, "denominator") == 0); /* inhabitants are public */
        if (strcmp(code, "numerator") == 0 && !ratio && masked(b, (int64_t)n - num))
            hide = true; /* the complement would tell the numerator */
        if (hide) {
            json_object_set_new(e, "_count", masked_element());
            mask_score = true;
        } else if (known_count) {
            json_object_set_new(e, "count", json_integer(count));
        }
        json_array_append_new(pops, e);
    }
    json_object_set_new(out, "population", pops);
    double score = 0;
    bool has_score = false;
    if (strcmp(scoring, "proportion") == 0 && n > 0) {
        score = round_to((double)num / (double)n, 4), has_score = true;
        if (masked(b, (int64_t)n) || masked(b, num) || masked(b, (int64_t)n - num))
            mask_score = true;
    } else if (strcmp(scoring, "continuous-variable") == 0) {
        has_score = sv__results_aggregate(b->method, values, (size_t)nvalues, &score);
        score = round_to(score, 2);
        if (masked(b, nvalues))
            mask_score = true;
    } else if (ratio && population > 0) {
        double sum = 0;
        sv__results_aggregate("sum", values, (size_t)nvalues, &sum);
        score = round_to(sum / population * b->s->multiplier, 4), has_score = true;
        if (masked(b, (int64_t)n))
            mask_score = true;
    }
    if (mask_score && has_score)
        json_object_set_new(out, "measureScore", masked_element());
    else if (has_score)
        json_object_set_new(out, "measureScore", quantity(score, b->s->unit));
    free(values);
    return out;
}

/* ---- stratifiers ------------------------------------------------------------------------ */

/* The birth dates that bound the age bands at the end of the period (computed once:
 * a local-calendar conversion per case would cost more than the rest of the case). */
typedef struct age_bounds {
    int64_t adult, senior, old; /* born after: younger than 18, 65, 80 */
} age_bounds;

static void stratum_key(const char *strat, const sv__results_case *c, const age_bounds *ab,
                        char *out, size_t cap)
{
    const char *v = NULL;
    if (strcmp(strat, "organization") == 0 && c->org[0])
        snprintf(out, cap, "Organization/%s", c->org);
    else if (strcmp(strat, "municipality") == 0 && c->municipality[0])
        snprintf(out, cap, "Organization/%s", c->municipality);
    else if (strcmp(strat, "category") == 0 && c->stratum)
        snprintf(out, cap, "%s", c->stratum);
    else if (strcmp(strat, "age-band") == 0 && c->has_birth) {
        if (c->birth > ab->adult)
            v = "0-17";
        else if (c->birth > ab->senior)
            v = "18-64";
        else if (c->birth > ab->old)
            v = "65-79";
        else
            v = "80+";
        snprintf(out, cap, "%s", v);
    } else
        snprintf(out, cap, "unknown");
}

typedef struct keyed {
    char key[160];
    sv__results_case *c;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    return strcmp(((const keyed *)a)->key, ((const keyed *)b)->key);
}

static json_t *stratifier(const block_ctx *b, const char *strat, sv__results_case *const *cases,
                          size_t n, double population, const json_t *code)
{
    keyed *k = calloc(n ? n : 1, sizeof(*k));
    sv__results_case **run = calloc(n ? n : 1, sizeof(*run));
    if (!k || !run)
        abort();
    int64_t last = b->f->end - 1;
    age_bounds ab = {sv__results_years_before(last, 18), sv__results_years_before(last, 65),
                     sv__results_years_before(last, 80)};
    for (size_t i = 0; i < n; i++) {
        stratum_key(strat, cases[i], &ab, k[i].key, sizeof(k[i].key));
        k[i].c = cases[i];
    }
    qsort(k, n, sizeof(*k), cmp_keyed);
    json_t *strata = json_array();
    for (size_t i = 0; i < n;) {
        size_t j = i, len = 0;
        while (j < n && strcmp(k[j].key, k[i].key) == 0)
            run[len++] = k[j++].c;
        /* A ratio's denominator per municipality is that municipality's inhabitants. */
        double pop = population;
        if (strcmp(b->s->scoring, "ratio") == 0 && strcmp(strat, "municipality") == 0 &&
            !sv__results_population(b->data, k[i].key, NULL, &pop))
            pop = 0;
        json_t *s = block(b, run, len, pop);
        json_object_set_new(s, "value", json_pack("{s:s}", "text", k[i].key));
        json_array_append_new(strata, s);
        i = j;
    }
    free(k);
    free(run);
    json_t *out = json_pack("{s:[O]}", "code", code);
    if (json_array_size(strata))
        json_object_set_new(out, "stratum", strata);
    else
        json_decref(strata);
    return out;
}

/* ---- the report ------------------------------------------------------------------------- */

static void add_filter(json_t *exts, const char *name, json_t *value_key_value)
{
    json_t *e = json_pack("{s:s}", "url", name);
    json_object_update(e, value_key_value);
    json_decref(value_key_value);
    json_array_append_new(exts, e);
}

static json_t *filter_extension(const sv_results_filter *f)
{
    json_t *exts = json_array();
    char ref[96];
    if (f->organization) {
        snprintf(ref, sizeof(ref), "Organization/%s", f->organization);
        add_filter(exts, "organization",
                   json_pack("{s:{s:s}}", "valueReference", "reference", ref));
    }
    if (f->municipality) {
        snprintf(ref, sizeof(ref), "Organization/%s", f->municipality);
        add_filter(exts, "municipality",
                   json_pack("{s:{s:s}}", "valueReference", "reference", ref));
    }
    if (f->region) {
        snprintf(ref, sizeof(ref), "Organization/%s", f->region);
        add_filter(exts, "region", json_pack("{s:{s:s}}", "valueReference", "reference", ref));
    }
    if (f->condition_code) {
        json_t *c = json_pack("{s:s}", "code", f->condition_code);
        if (f->condition_system)
            json_object_set_new(c, "system", json_string(f->condition_system));
        add_filter(exts, "condition", json_pack("{s:o}", "valueCoding", c));
    }
    if (f->age_min >= 0 || f->age_max >= 0) {
        json_t *r = json_object();
        if (f->age_min >= 0)
            json_object_set_new(r, "low",
                                json_pack("{s:i, s:s}", "value", f->age_min, "unit", "a"));
        if (f->age_max >= 0)
            json_object_set_new(r, "high",
                                json_pack("{s:i, s:s}", "value", f->age_max, "unit", "a"));
        add_filter(exts, "age", json_pack("{s:o}", "valueRange", r));
    }
    add_filter(exts, "minimumCellSize", json_pack("{s:i}", "valueInteger", f->min_cell));
    return json_pack("{s:s, s:o}", "url", EXT_FILTER, "extension", exts);
}

static json_t *local_time(int64_t t)
{
    char buf[SV_LOCAL_TIME_LEN];
    if (sv_calendar_format_local(SV_CAL_DK, t, buf, NULL) == SV_OK)
        return json_string(buf);
    char utc[SV_INSTANT_LEN];
    sv_datetime_format_instant(t, utc);
    return json_string(utc);
}

/* Whether the report uses the citizen's municipality or birth date: a ratio per
 * inhabitants of known municipalities, or a municipality or age-band stratifier. */
static bool needs_citizen(const json_t *m, const spec *s)
{
    if (strcmp(s->scoring, "ratio") == 0)
        return true;
    size_t gi, si;
    const json_t *g, *st;
    json_array_foreach(json_object_get(m, "group"), gi, g)
    {
        json_array_foreach(json_object_get(g, "stratifier"), si, st)
        {
            const char *strat = code_of(json_object_get(st, "code"), SYS_STRAT);
            if (!strat || strcmp(strat, "municipality") == 0 || strcmp(strat, "age-band") == 0)
                return true;
        }
    }
    return false;
}

sv_err sv_results_evaluate(sv_db *db, const sv_results_data *data, const json_t *m,
                           const sv_results_filter *f, json_t **ret, sv_outcome *out)
{
    spec s;
    sv_err e = read_spec(m, &s, out);
    if (e)
        return e;
    if (!sv__results_kind_has_org(s.kind) && (f->organization || f->region)) {
        sv_outcome_add(out, SV_SEV_ERROR, "not-supported",
                       f->organization ? "organization" : "region",
                       "this indicator counts citizens, not the work of an organisation: filter "
                       "by municipality instead");
        return SV_ERR_INVALID;
    }
    s.args.without_citizen = !needs_citizen(m, &s);
    sv__results_cases cases = {0};
    sv_buf err = SV_BUF_INIT;
    e = sv__results_cases_get(db, s.kind, f, &s.args, &cases, &err);
    if (e) {
        sv_outcome_add_err(out, e, NULL, err.len ? err.ptr : "the indicator cannot be computed");
        sv_buf_release(&err);
        sv__results_cases_clear(&cases);
        return e;
    }
    sv_buf_release(&err);
    /* A ratio per inhabitants counts only citizens of municipalities whose
     * inhabitants are known, so that numerator and denominator agree. */
    bool ratio = strcmp(s.scoring, "ratio") == 0;
    double population = 0;
    if (ratio && !sv__results_population(data, f->municipality, NULL, &population))
        population = 0;
    sv__results_case **ptrs = calloc(cases.len ? cases.len : 1, sizeof(*ptrs));
    if (!ptrs)
        abort();
    size_t n = 0;
    for (size_t i = 0; i < cases.len; i++)
        if (!ratio || sv__results_population_has(data, cases.v[i].municipality))
            ptrs[n++] = &cases.v[i];

    char now[SV_INSTANT_LEN];
    sv_datetime_format_instant(f->now, now);
    const char *url = json_string_value(json_object_get(m, "url"));
    char measure_ref[200];
    snprintf(measure_ref, sizeof(measure_ref), "Measure/%s",
             json_string_value(json_object_get(m, "id"))
                 ? json_string_value(json_object_get(m, "id"))
                 : "");
    json_t *report = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:o, s:o}}", "resourceType",
                               "MeasureReport", "status", "complete", "type", "summary", "measure",
                               url ? url : measure_ref, "date", now, "period", "start",
                               local_time(f->start), "end", local_time(f->end - 1));
    json_object_set_new(report, "extension", json_pack("[o]", filter_extension(f)));
    json_t *groups = json_array();
    size_t gi;
    const json_t *g;
    json_array_foreach(json_object_get(m, "group"), gi, g)
    {
        const char *method = json_string_value(json_object_get(extension(g, EXT_AGG), "valueCode"));
        block_ctx b = {
            .s = &s, .f = f, .data = data, .mgroup = g, .method = method ? method : "average"};
        json_t *rg = block(&b, ptrs, n, population);
        if (json_object_get(g, "code"))
            json_object_set(rg, "code", json_object_get(g, "code"));
        json_t *strats = json_array();
        size_t si;
        const json_t *st;
        json_array_foreach(json_object_get(g, "stratifier"), si, st)
        {
            const json_t *code = json_object_get(st, "code");
            const char *strat = code_of(code, SYS_STRAT);
            if (!strat || (strcmp(strat, "organization") && strcmp(strat, "municipality") &&
                           strcmp(strat, "category") && strcmp(strat, "age-band"))) {
                char path[96];
                snprintf(path, sizeof(path), "Measure.group[%zu].stratifier[%zu].code", gi, si);
                sv_outcome_add(out, SV_SEV_ERROR, "not-supported", path,
                               "a stratifier is organization, municipality, category or age-band "
                               "of %s",
                               SYS_STRAT);
                json_decref(strats);
                json_decref(rg);
                json_decref(groups);
                json_decref(report);
                free(ptrs);
                sv__results_cases_clear(&cases);
                return SV_ERR_PROCESSING;
            }
            json_array_append_new(strats, stratifier(&b, strat, ptrs, n, population, code));
        }
        if (json_array_size(strats))
            json_object_set_new(rg, "stratifier", strats);
        else
            json_decref(strats);
        json_array_append_new(groups, rg);
    }
    json_object_set_new(report, "group", groups);
    free(ptrs);
    sv__results_cases_clear(&cases);
    *ret = report;
    return SV_OK;
}
