/*
 * btg.h - break-the-glass (docs/access.md): a practitioner states a reason and
 * gets every category their role allows for one citizen, for a few hours.  In
 * one write transaction: the grant (store/access.h, holder "user:NAME", not
 * derived, so deriving the citizen's grants again leaves it), its audit record
 * (action break-the-glass, purpose ETREAT, the reason), a Communication of
 * category break-the-glass to the citizen and the coordinator of the citizen's
 * team, and notices in their inboxes.  Who may do it is decided by the caller
 * (api/access_routes.c).  Depends on fhir/ and below.
 */
#ifndef SV_COORD_BTG_H
#define SV_COORD_BTG_H

#include <stdint.h>

#include "fhir/rest.h"

#define SV_SYS_COMMUNICATION_CATEGORY "http://samverka.org/fhir/CodeSystem/communication-category"

/* Strings borrowed. */
typedef struct sv_coord_btg {
    const char *patient;           /* Patient id; it exists */
    const char *username;          /* the practitioner user */
    const char *practitioner_role; /* the PractitionerRole they act in (the sender) */
    const char *organisation;      /* "Organization/O" */
    const char *role;              /* the role code */
    int mask;                      /* the categories granted (SV_CAT_*) */
    const char *reason;
    int64_t from, to;            /* ms since 1970 UTC */
    const sv_audit_actor *actor; /* the practitioner as the audit names them */
} sv_coord_btg;

/* Writes everything in one transaction on r->db (r->access is not applied: the
 * notice is the server's).  ret_communication receives the Communication's id. */
sv_err sv_coord_break_the_glass(sv_rest *r, const sv_coord_btg *b, char ret_communication[65],
                                sv_outcome *out);

#endif
