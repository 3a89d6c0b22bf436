/*
 * pathway.h - pathway programmes (forløbsprogrammer): PlanDefinition/$apply
 * turns a PlanDefinition and its ActivityDefinitions (data/pathways/) into a
 * pathway CarePlan for one citizen and a Task per organisation activity, with
 * the owner chosen by role and the deadline from the activity's deadline rule.
 * Leaving out or changing a standard activity needs a reason; each deviation is
 * kept on the CarePlan (and the changed Task) and counted by $deviations.
 * docs/coordination.md ("Pathways") shows the parameters.
 *
 * Everything runs through the caller's sv_rest, so the access policy decides
 * whether the caller may see the citizen and write the plan and its tasks.
 * Depends on fhir/ and below.
 */
#ifndef SV_COORD_PATHWAY_H
#define SV_COORD_PATHWAY_H

#include <jansson.h>

#include "fhir/rest.h"

/*
 * PlanDefinition/[id]/$apply for subject ("Patient/x"; NULL: taken from the
 * Parameters).  parameters: a Parameters resource or NULL.  On success the
 * CarePlan and its Tasks are written in one transaction and res holds the
 * CarePlan as stored (status 201).  Errors: SV_ERR_NOT_FOUND (the definition or
 * the citizen), SV_ERR_INVALID / SV_ERR_PROCESSING with issues in res->outcome
 * naming the parameter.
 */
sv_err sv_coord_pathway_apply(sv_rest *r, const char *plan_definition_id, const char *subject,
                              const json_t *parameters, sv_rest_result *res);

/*
 * PlanDefinition/[id]/$deviations: over the pathway plans made from it that
 * the caller may see, how many there are and, per action, how often it was
 * left out or changed and with which reasons.  *ret is a new JSON object.
 */
sv_err sv_coord_pathway_deviations(sv_rest *r, const char *plan_definition_id, json_t **ret,
                                   sv_outcome *out);

#endif
