/*
 * meeting.h - the SIP meeting: an Appointment whose supportingInformation
 * names the CarePlan is the call to the coordination meeting.  Its participants
 * (PractitionerRoles for their organisations, the citizen, relatives) are told
 * when it is called (meeting-called) and when its time or status changes
 * (meeting-changed); the plan's SIP step moves forward with it: a called
 * meeting puts the plan at least at `call`, a held one (status fulfilled) at
 * least at `plan` (needs were assessed and the plan drawn up with everyone).
 * Internal to coord/.  Depends on fhir/ and below.
 */
#ifndef SV_COORD_MEETING_H
#define SV_COORD_MEETING_H

#include <jansson.h>

#include "fhir/rest.h"

/* The linked plan must exist. */
sv_err sv__coord_meeting_before(sv_rest *r, const json_t *appointment, sv_outcome *out);
sv_err sv__coord_meeting_after(sv_rest *r, const char *id, const json_t *old,
                               const json_t *appointment, sv_outcome *out);

#endif
