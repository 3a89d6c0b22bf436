/*
 * task.h - Task rules: the status workflow (allowed transitions), deadlines
 * from a deadline rule (base/calendar.h), the watchdog's jobs per Task and the
 * notices a new or reassigned Task causes.  Called from the write hooks
 * (coord.c).  Internal to coord/.  Depends on fhir/ and below.
 */
#ifndef SV_COORD_TASK_H
#define SV_COORD_TASK_H

#include <jansson.h>
#include <stdbool.h>

#include "fhir/rest.h"

/* True when Task.status may go from `from` to `to` (equal is allowed). */
bool sv_coord_task_transition_allowed(const char *from, const char *to);
/* True for completed, rejected, cancelled, failed, entered-in-error. */
bool sv_coord_task_status_final(const char *status);

/* Checks the transition from old (may be NULL) and fills the deadline from a
 * deadline rule when restriction.period.end is absent. */
sv_err sv__coord_task_before(sv_rest *r, const json_t *old, json_t *task, sv_outcome *out);
/* Schedules the Task's watchdog jobs and notifies a new or changed owner. */
sv_err sv__coord_task_after(sv_rest *r, const char *id, const json_t *old, const json_t *task,
                            sv_outcome *out);

#endif
