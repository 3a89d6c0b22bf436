/*
 * types.h - which FHIR resource types samverka stores and serves.
 * (All R4 types are known to validation, fhir/model.h; only these are stored.)
 */
#ifndef SV_FHIR_TYPES_H
#define SV_FHIR_TYPES_H

#include <stdbool.h>
#include <stddef.h>

bool sv_fhir_type_supported(const char *type);
/* The sorted list of supported types; ret_count receives its length. */
const char *const *sv_fhir_supported_types(size_t *ret_count);

#endif
