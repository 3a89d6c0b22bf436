/*
 * outcome.h - collecting FHIR OperationOutcome issues.
 *
 * Every error response samverka sends is an OperationOutcome whose issues
 * name the element path (FHIRPath in issue.expression).  Validation, parsing
 * and the REST layer append issues here; api/ turns them into the body.
 * Depends on base/ and jansson.
 */
#ifndef SV_FHIR_OUTCOME_H
#define SV_FHIR_OUTCOME_H

#include <stddef.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/error.h"

typedef enum sv_severity {
    SV_SEV_FATAL,
    SV_SEV_ERROR,
    SV_SEV_WARNING,
    SV_SEV_INFORMATION
} sv_severity;

typedef struct sv_issue {
    sv_severity severity;
    const char *code;  /* IssueType code, static string ("invalid", "required", ...) */
    char *diagnostics; /* owned; may be NULL */
    char *expression;  /* owned FHIRPath, e.g. "Patient.name[0].given[1]"; may be NULL */
} sv_issue;

typedef struct sv_outcome {
    sv_issue *issues; /* owned */
    size_t len, cap;
    size_t errors; /* count of fatal + error issues */
} sv_outcome;

#define SV_OUTCOME_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0, 0                                                                              \
    }

void sv_outcome_init(sv_outcome *o);
void sv_outcome_clear(sv_outcome *o); /* frees issues; o reusable; accepts NULL */
/* Drops the issues after the first len (what was added since o->len was len). */
void sv_outcome_truncate(sv_outcome *o, size_t len);
/* expression may be NULL; fmt is printf-style diagnostics. */
void sv_outcome_add(sv_outcome *o, sv_severity sev, const char *code, const char *expression,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Builds the OperationOutcome resource (new reference, caller decrefs). */
json_t *sv_outcome_to_json(const sv_outcome *o);
/* Convenience: one error issue from an sv_err with diagnostics and expression. */
void sv_outcome_add_err(sv_outcome *o, sv_err e, const char *expression, const char *diagnostics);

#endif
