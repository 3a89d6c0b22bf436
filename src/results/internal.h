/*
 * internal.h - shared by the files of results/: the cases an indicator counts
 * (one row per stay, task, goal, answer ...), fetched by one constant SQL
 * statement per calculation kind (calc.c) and aggregated by measure.c.
 * Internal to results/ (sv__ names).  Depends on db/, fhir/ and base/.
 */
#ifndef SV_RESULTS_INTERNAL_H
#define SV_RESULTS_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "results/results.h"

#define SV_RESULTS_ID_LEN 65

/* One counted case.  stratum is owned (may be NULL). */
typedef struct sv__results_case {
    char patient[SV_RESULTS_ID_LEN];      /* Patient id, "" when none */
    char org[SV_RESULTS_ID_LEN];          /* responsible Organization id, "" when none */
    char municipality[SV_RESULTS_ID_LEN]; /* the citizen's home municipality, "" */
    char *stratum;                        /* kind-specific: message category, life area */
    bool in_numerator;
    bool has_value;
    double value; /* days, hours, a rating */
    bool has_birth;
    int64_t birth; /* the citizen's birth date, ms (UTC midnight) */
} sv__results_case;

typedef struct sv__results_cases {
    sv__results_case *v;
    size_t len, cap;
} sv__results_cases;

void sv__results_cases_clear(sv__results_cases *c);

/* What a kind reads besides the filter: codes and a number from the Measure's
 * parameters (docs/results.md lists them per kind).  Borrowed. */
typedef struct sv__results_args {
    const char *code;  /* a code or canonical url the kind selects by */
    const char *code2; /* a second one (questionnaire item linkId or prefix) */
    int64_t amount_ms; /* a window or deadline in ms */
    int age_min;       /* the Measure's own age limit (-1: none), intersected with the filter's */
    /* The report needs neither the citizen's municipality nor birth date (no such
     * stratifier, not a ratio): they are then computed only for a citizen filter. */
    bool without_citizen;
} sv__results_args;

/* True when kind names a calculation. */
bool sv__results_kind_known(const char *kind);
/* True when the cases of kind have a responsible organisation (the organization
 * and region filters and stratifier apply). */
bool sv__results_kind_has_org(const char *kind);
/* Appends the cases of kind for f and a to ret. */
sv_err sv__results_cases_get(sv_db *db, const char *kind, const sv_results_filter *f,
                             const sv__results_args *a, sv__results_cases *ret, sv_buf *reterr);

/* Appends a copy of base (stratum not copied) and returns it. */
sv__results_case *sv__results_case_push(sv__results_cases *c, const sv__results_case *base);
/* Expands one QuestionnaireResponse's JSON into cases (questionnaire.c): one per
 * answered item whose linkId is item, or starts with item when it ends in '*'
 * (the rest of the linkId becomes the stratum). */
void sv__results_questionnaire_cases(const sv__results_case *base, const char *json,
                                     const char *item, sv__results_cases *ret);

/* Statistics of values[0..n) (sorted in place): "average", "median", "p90",
 * "sum", "min", "max", "count".  false when the method is unknown or n == 0
 * (except sum and count, which are 0). */
bool sv__results_aggregate(const char *method, double *values, size_t n, double *ret);

/* UTC midnight of the local date of instant t (Denmark/Sweden) minus years. */
int64_t sv__results_years_before(int64_t t, int years);

/* The partOf of Organization/id into out ("" when none). */
sv_err sv__results_parent(sv_db *db, const char *org, char out[SV_RESULTS_ID_LEN], sv_buf *reterr);

/* Reference data (data.c). */
struct sv_results_data {
    json_t *population; /* data/results/population-65plus.json */
    json_t *costs;      /* data/results/unit-costs.json */
    json_t *outreach;   /* data/results/outreach.json */
};
/* Inhabitants 65+ of the municipalities in scope (municipality id, or all in the
 * file with that region, or all); false when none is known.  is_known(id) says
 * whether a municipality is in the file. */
bool sv__results_population(const sv_results_data *d, const char *municipality, const char *region,
                            double *ret);
bool sv__results_population_has(const sv_results_data *d, const char *municipality);

#endif
