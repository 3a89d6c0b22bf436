/*
 * util.h - small helpers shared by the files of coord/: references, codings,
 * times, loading and searching resources on the write's connection.
 * Internal to coord/ (sv__ names).  Depends on fhir/ and below.
 */
#ifndef SV_COORD_UTIL_H
#define SV_COORD_UTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "fhir/outcome.h"
#include "fhir/rest.h"

#define SV_COORD_REF_LEN 140 /* "Type/id": 64 + 1 + 64 and room */

/* The "Type/id" of a Reference object's reference (a versioned reference loses
 * its /_history part) into out; false when it has none of that form. */
bool sv__coord_ref(const json_t *reference, char out[SV_COORD_REF_LEN]);
/* The id part of ref when it is "type/id", else NULL.  Borrowed from ref. */
const char *sv__coord_ref_id(const char *ref, const char *type);
/* True when a CodeableConcept (or an array of them) has a coding system|code. */
bool sv__coord_has_code(const json_t *concept, const char *system, const char *code);
/* The code of the first coding with system in a CodeableConcept (or array), or NULL. */
const char *sv__coord_code_of(const json_t *concept, const char *system);
/* The first extension with url in j.extension, or NULL. */
const json_t *sv__coord_extension(const json_t *j, const char *url);
/* The low end of a FHIR dateTime string in ms, or INT64_MIN when absent or bad. */
int64_t sv__coord_time(const json_t *s);
/* True when a Period (may be NULL) covers instant now. */
bool sv__coord_period_covers(const json_t *period, int64_t now);

/* The current version of "Type/id" parsed (caller decrefs), or NULL. */
json_t *sv__coord_load(sv_db *db, const char *ref);
/* As sv__coord_load, telling a missing or deleted resource (SV_ERR_NOT_FOUND)
 * from a storage failure. */
sv_err sv__coord_load_checked(sv_db *db, const char *ref, json_t **ret);

/* Calls visit for each current resource of type matching the name/value pairs
 * (names[i]=values[i], n pairs; values unencoded), at most limit. */
typedef bool (*sv_coord_visit)(void *ctx, const json_t *resource);
sv_err sv__coord_find(sv_db *db, const char *type, const char *const *names,
                      const char *const *values, size_t n, int64_t limit, sv_coord_visit visit,
                      void *ctx);

/* A display name for a Patient, Practitioner, RelatedPerson (HumanName) or an
 * Organization, CareTeam (name); "" when none.  Borrowed from j or static. */
const char *sv__coord_name(const json_t *j, char buf[256]);

#endif
