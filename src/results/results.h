/*
 * results.h - indicators as data (docs/results.md): FHIR Measures evaluated
 * into MeasureReports from the search-index rows, the resource-use report
 * (hours logged, and the bed-days and readmissions they should change, with
 * unit costs), and the outreach list of citizens with a condition of interest
 * who have no coordinator, no plan or no recent contact.
 *
 * Every computation is a constant SQL statement over the index tables
 * (results/calc.c) that returns the indicator's cases, aggregated here in C;
 * no resource JSON is read except the answers of QuestionnaireResponses.
 * Aggregates cross organisations on purpose (managers of a partnership):
 * api/ decides who may ask, and counts below a minimum cell size are masked.
 * The outreach list is filtered by the caller's access (store/access.h).
 * Depends on fhir/ and below; api/ uses it.
 */
#ifndef SV_RESULTS_RESULTS_H
#define SV_RESULTS_RESULTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "fhir/outcome.h"
#include "store/access.h"

/* What an evaluation is about.  Strings borrowed; NULL: no filter. */
typedef struct sv_results_filter {
    int64_t start, end;       /* [start, end) in ms */
    const char *organization; /* Organization id: the responsible one or its partOf */
    const char *municipality; /* Organization id: the citizen's home municipality (or partOf) */
    const char *region;       /* Organization id: as organization, meant for a region */
    const char *condition_system, *condition_code; /* the citizen has a Condition with it */
    int age_min, age_max;                          /* -1: open; age at the end of the period */
    int64_t now;                                   /* ms */
    int min_cell; /* counts 1..min_cell-1 are masked; 0 or 1: none */
} sv_results_filter;

/* Reference data from data files (population 65+, unit costs, outreach rules).
 * Loaded once by api/; read-only afterwards. */
typedef struct sv_results_data sv_results_data;
sv_err sv_results_data_load(const char *data_dir, sv_results_data **ret, sv_buf *reterr);
void sv_results_data_free(sv_results_data *d); /* accepts NULL */

/* Parses periodStart/periodEnd: a date is a local day in Denmark/Sweden
 * (Europe/Copenhagen = Europe/Stockholm), periodEnd inclusive; a dateTime with
 * a zone is that instant.  ret_end is exclusive.  false when bad. */
bool sv_results_period_start(const char *text, int64_t *ret_start);
bool sv_results_period_end(const char *text, int64_t *ret_end);

/* Evaluates measure (a Measure resource, borrowed) into *ret (a new
 * MeasureReport).  Errors: SV_ERR_PROCESSING with the Measure element path when
 * the Measure is not one samverka can compute; storage errors. */
sv_err sv_results_evaluate(sv_db *db, const sv_results_data *data, const json_t *measure,
                           const sv_results_filter *f, json_t **ret, sv_outcome *out);

/* The resource-use report: per organisation (rolled up to its partOf) the hours
 * logged and the bed-days of discharge-ready citizens and acute readmissions at
 * its units, for the period and a baseline period, with costs from the data
 * file's set country ("dk", "se").  *ret is a new JSON object. */
sv_err sv_results_resource_use(sv_db *db, const sv_results_data *data, const sv_results_filter *f,
                               int64_t baseline_start, int64_t baseline_end, const char *country,
                               json_t **ret, sv_outcome *out);

/* The outreach list of a municipality: citizens whose home municipality is
 * municipality (or partOf it) with a Condition of the rule (rule id from the
 * data file, or "system|code"), who have no active coordination team, no
 * active plan or no contact for the rule's months, and did not decline an
 * outreach recently.  Only citizens visible to access (NULL: all).  *ret is a
 * new JSON object. */
sv_err sv_results_outreach(sv_db *db, const sv_results_data *data, const char *municipality,
                           const char *condition, int months, int64_t now,
                           const sv_access_filter *access, json_t **ret, sv_outcome *out);

#endif
