/*
 * team.h - the team around a citizen: one active CareTeam of category
 * coordination per citizen with exactly one active coordinator (a participant
 * with role care-team-role#coordinator whose period covers now).  A hand-over
 * (another coordinator than in the previous version) needs a reason (extension
 * handover-reason) and is recorded as a Provenance (who, when, why) and told
 * to the citizen and the team.  Patient/$team answers who to call for what.
 * Internal to coord/ but for $team.  Depends on fhir/ and below.
 */
#ifndef SV_COORD_TEAM_H
#define SV_COORD_TEAM_H

#include <jansson.h>
#include <stdbool.h>

#include "coord/util.h"
#include "fhir/rest.h"

sv_err sv__coord_team_before(sv_rest *r, const char *id, const json_t *old, json_t *team,
                             sv_outcome *out);
sv_err sv__coord_team_after(sv_rest *r, const char *id, int64_t version, const json_t *old,
                            const json_t *team, sv_outcome *out);

/* The member reference of the active coordinator of citizen's ("Patient/x")
 * active coordination team into out ("" when there is none).  ret_team (may be
 * NULL) receives "CareTeam/id" or "".  Fails only when storage does. */
sv_err sv__coord_team_coordinator(sv_db *db, const char *citizen, char out[SV_COORD_REF_LEN],
                                  char ret_team[SV_COORD_REF_LEN]);

/* Patient/[patient_id]/$team: the members of the citizen's active coordination
 * team, coordinator first, each with role, name, organisation and telecom
 * (docs/coordination.md).  *ret is a new JSON object; SV_ERR_NOT_FOUND (with an
 * issue) when the citizen has no active team. */
sv_err sv_coord_team_view(sv_db *db, const char *patient_id, json_t **ret, sv_outcome *out);

#endif
