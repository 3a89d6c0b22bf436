/*
 * access_routes.c - the access policy at the HTTP edge (docs/access.md): the
 * principal of a request turned into its sv_access.
 */
#include <string.h>

#include "api/internal.h"
#include "auth/identity.h"
#include "base/datetime.h"

sv_err sv__api_access(sv_db *db, const sv_principal *who, sv_access *ret, sv_buf *reterr)
{
    sv_policy_who w = {.username = who->name,
                       .practitioner_role = who->practitioner_role,
                       .patient = who->patient,
                       .related_person = who->related_person};
    switch (who->kind) {
    case SV_PRINCIPAL_PRACTITIONER:
        w.kind = SV_POLICY_PRACTITIONER;
        break;
    case SV_PRINCIPAL_CITIZEN:
        w.kind = SV_POLICY_CITIZEN;
        break;
    case SV_PRINCIPAL_RELATIVE:
        w.kind = SV_POLICY_RELATIVE;
        break;
    case SV_PRINCIPAL_ADMIN:
        w.kind = SV_POLICY_ADMIN;
        break;
    case SV_PRINCIPAL_SYSTEM:
        w.kind = SV_POLICY_SYSTEM;
        break;
    case SV_PRINCIPAL_NONE:
        w.kind = SV_POLICY_INTERNAL;
        break;
    }
    return sv_policy_access(db, &w, sv_clock_now_ms(), ret, reterr);
}
