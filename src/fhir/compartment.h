/*
 * compartment.h - the Patient compartment: which resources belong to which
 * citizen, decided once at write time and kept as index rows.
 *
 * Membership comes from the official R4 CompartmentDefinition (generated into
 * generated/r4_compartment.c by tools/gen_compartment.mjs) plus samverka's own
 * additions (compartment.c; today: Task, which R4 leaves out but coordination
 * lives on).  A resource of type T is in Patient/X's compartment when one of
 * T's listed search parameters references Patient/X; a Patient is in its own
 * compartment.  For every such X, sv_compartment_rows() appends one reference
 * row (param SV_COMPARTMENT_PARAM, target Patient/X), so that "the resources of
 * citizen X" is one indexed clause for compartment search, $everything and the
 * access policy.
 *
 * All data is static and read-only: thread-safe.  Depends on store/index.h and
 * libc; must not depend on the store's SQL.
 */
#ifndef SV_FHIR_COMPARTMENT_H
#define SV_FHIR_COMPARTMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "store/index.h"

/* The reserved index parameter of compartment rows.  Not a search parameter:
 * users cannot name it, and _include=* / _revinclude=* skip it. */
#define SV_COMPARTMENT_PARAM "_compartment"

/* One resource type in a compartment and the parameters that put it there. */
typedef struct sv_compartment_member {
    const char *type;
    const char *const *params; /* NULL-terminated search parameter codes */
} sv_compartment_member;

/* The generated R4 table, sorted by type. */
extern const sv_compartment_member sv__r4_patient_compartment[];
extern const size_t sv__r4_patient_compartment_len;

/* The parameters that put a resource of type into a Patient compartment
 * (NULL-terminated), or NULL when type is not in it.  Patient itself gives
 * {"link", NULL}: a patient is also always in its own compartment. */
const char *const *sv_compartment_patient_params(const char *type);

/* True when resources of type can belong to a Patient compartment. */
bool sv_compartment_patient_has_type(const char *type);

/*
 * Appends the compartment rows of a resource of type/id whose search-index
 * rows are already in rows (sv_fhir_index_extract): one row per distinct
 * patient, kind SV_INDEX_REFERENCE, param SV_COMPARTMENT_PARAM, system
 * "Patient", value the patient's id, exact "Patient/<id>".  Only relative
 * references count (an absolute url names another server's patient).
 * Returns the number of rows appended.
 */
size_t sv_compartment_rows(const char *type, const char *id, sv_index_rows *rows);

#endif
