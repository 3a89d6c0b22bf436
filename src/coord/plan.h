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
#include <stdbool.h>
#include <stdint.h>

#include "fhir/rest.h"

sv_err sv__coord_plan_before(sv_rest *r, const json_t *old, json_t *plan, sv_outcome *out);
sv_err sv__coord_plan_after(sv_rest *r, const char *id, int64_t version, const json_t *old,
                            const json_t *plan, sv_outcome *out);
/* An agreement Provenance (activity provenance-activity#agreement) must name
 * the current version of a CarePlan and be given by one of its parties. */
sv_err sv__coord_agreement_before(sv_rest *r, json_t *provenance, sv_outcome *out);

/* After an agreement: when it completes the parties, tells them (plan-agreed)
 * and moves a SIP plan on to follow-up. */
sv_err sv__coord_agreement_after(sv_rest *r, const char *prov_id, const json_t *prov,
                                 sv_outcome *out);

/* The SIP step of a plan (NULL when it has none), its rank in the process
 * (call 0 .. closed 5; -1 for none or unknown). */
const char *sv__coord_sip_step(const json_t *plan);
int sv__coord_sip_step_rank(const char *code);
/* Moves CarePlan/id forward to step when it is behind (never back), as the
 * process itself (a rule's consequence); *ret_moved (may be NULL) says whether
 * it did.  A missing plan is no error. */
sv_err sv__coord_plan_advance(sv_rest *r, const char *id, const char *step, bool *ret_moved);
/* Whether two versions of a plan have the same content for agreement (meta,
 * narrative and SIP step left out). */
bool sv__coord_plan_same_content(const json_t *a, const json_t *b);

/* CarePlan/[id]/$agreement: the current version, its parties and who agreed. */
sv_err sv_coord_plan_agreement(sv_db *db, const char *id, json_t **ret, sv_outcome *out);

/* [type]/[id]/$diff?from=&to=: what changed between two versions, element by
 * element (docs/coordination.md).  *ret is a new JSON object. */
sv_err sv_coord_diff(sv_db *db, const char *type, const char *id, int64_t from, int64_t to,
                     json_t **ret, sv_outcome *out);

#endif
