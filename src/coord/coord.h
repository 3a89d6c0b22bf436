/*
 * coord.h - coordination: the team and its coordinator, tasks with deadlines
 * and their workflow, the shared plan and its agreement, notifications and the
 * watchdog (docs/coordination.md).
 *
 * fhir/ does not call this layer: api/ sets sv_coord_hooks() as the REST
 * write hooks (fhir/rest.h), so every create, update and patch of a Task,
 * CareTeam, CarePlan or Provenance passes the rules here inside its own
 * transaction.  Depends on fhir/ and below; api/ uses it.
 */
#ifndef SV_COORD_COORD_H
#define SV_COORD_COORD_H

#include "fhir/rest.h"

/* The write hooks of the coordination rules (static; never NULL). */
const sv_rest_hooks *sv_coord_hooks(void);

#endif
