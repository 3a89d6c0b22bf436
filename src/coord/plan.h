/*
 * plan.h - the shared plan (CarePlan: coordinated individual plan (SIP),
 * rehabilitation, discharge and pathway plans): its SIP process step, the
 * parties who must agree to each version (the citizen and every participating
 * organisation), agreement as a Provenance per party and version, notices when
 * a plan changes or awaits agreement, and what changed between two versions.
 * Internal to coord/ but for the views.  Depends on fhir/ and below.
 */
#ifndef SV_COORD_PLAN_H
#define SV_COORD_PLAN_H

#include <jansson.h>
#include <stdint.h>

#include "fhir/rest.h"

sv_err sv__coord_plan_before(sv_rest *r, const json_t *old, json_t *plan, sv_outcome *out);
sv_err sv__coord_plan_after(sv_rest *r, const char *id, int64_t version, const json_t *old,
                            const json_t *plan, sv_outcome *out);
/* An agreement Provenance (activity provenance-activity#agreement) must name
 * the current version of a CarePlan and be given by one of its parties. */
sv_err sv__coord_agreement_before(sv_rest *r, json_t *provenance, sv_outcome *out);

/* CarePlan/[id]/$agreement: the current version, its parties and who agreed. */
sv_err sv_coord_plan_agreement(sv_db *db, const char *id, json_t **ret, sv_outcome *out);

/* [type]/[id]/$diff?from=&to=: what changed between two versions, element by
 * element (docs/coordination.md).  *ret is a new JSON object. */
sv_err sv_coord_diff(sv_db *db, const char *type, const char *id, int64_t from, int64_t to,
                     json_t **ret, sv_outcome *out);

#endif
