/*
 * parties.c - who is told about a stay: the citizen's home municipality, GP
 * and coordinator, and the department (the stay's service provider).
 *
 * The home municipality is Patient.managingOrganization when set: that is the
 * registered home municipality the access policy already trusts (docs/access.md),
 * so the organisation told can also see the stay.  Otherwise it is derived from
 * the home address's municipality code (extension municipality-code on the
 * Address, with Address.country DK or SE) as the Organization carrying that
 * code as identifier (sid/dk-municipality-code, sid/se-municipality-code).
 */
#include <stdio.h>
#include <string.h>

#include "coord/team.h"
#include "store/resource.h"
#include "stays/internal.h"

typedef struct first_ctx {
    char *out;
} first_ctx;

static bool take_first(void *ctx, const json_t *org)
{
    first_ctx *f = ctx;
    const char *id = json_string_value(json_object_get(org, "id"));
    if (id)
        snprintf(f->out, SV_COORD_REF_LEN, "Organization/%s", id);
    return false;
}

/* The home address (use home first, else the first) with a municipality code. */
static sv_err from_address(sv_db *db, const json_t *patient, char out[SV_COORD_REF_LEN])
{
    const json_t *chosen = NULL;
    size_t i;
    const json_t *a;
    json_array_foreach(json_object_get(patient, "address"), i, a)
    {
        if (!sv__coord_extension(a, SV_EXT_MUNICIPALITY_CODE))
            continue;
        const char *use = json_string_value(json_object_get(a, "use"));
        if (!chosen || (use && strcmp(use, "home") == 0))
            chosen = a;
    }
    if (!chosen)
        return SV_OK;
    const json_t *ext = sv__coord_extension(chosen, SV_EXT_MUNICIPALITY_CODE);
    const char *code = json_string_value(json_object_get(ext, "valueCode"));
    if (!code)
        code = json_string_value(json_object_get(ext, "valueString"));
    const char *country = json_string_value(json_object_get(chosen, "country"));
    const char *sid = country && strcmp(country, "SE") == 0   ? SV_SID_SE_MUNICIPALITY
                      : country && strcmp(country, "DK") == 0 ? SV_SID_DK_MUNICIPALITY
                                                              : NULL;
    if (!code || !sid)
        return SV_OK;
    char token[256];
    snprintf(token, sizeof(token), "%s|%s", sid, code);
    const char *names[] = {"identifier"};
    const char *values[] = {token};
    first_ctx f = {.out = out};
    return sv__coord_find(db, "Organization", names, values, 1, 1, take_first, &f);
}

sv_err sv__stays_parties(sv_db *db, const char *patient, const json_t *encounter,
                         const json_t *citizen, sv__parties *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (encounter)
        sv__coord_ref(json_object_get(encounter, "serviceProvider"), ret->department);
    /* Shared with the transaction's memo (or the caller): read, never changed. */
    json_t *p = citizen ? json_incref((json_t *)citizen) : NULL;
    const char *id = sv__coord_ref_id(patient, "Patient");
    sv_err e = p || !id ? SV_OK : sv_store_current_json(db, "Patient", id, &p, NULL, NULL);
    if (e || !p)
        return e == SV_ERR_NOT_FOUND ? SV_OK : e;
    if (sv__coord_ref(json_object_get(p, "managingOrganization"), ret->municipality) &&
        sv__coord_ref_id(ret->municipality, "Organization")) {
        ret->municipality_from = "managingOrganization";
    } else {
        ret->municipality[0] = '\0';
        e = from_address(db, p, ret->municipality);
        if (!e && ret->municipality[0])
            ret->municipality_from = "address";
    }
    size_t i;
    const json_t *gp;
    json_array_foreach(json_object_get(p, "generalPractitioner"), i, gp)
    {
        if (sv__coord_ref(gp, ret->gp) && (sv__coord_ref_id(ret->gp, "Organization") ||
                                           sv__coord_ref_id(ret->gp, "PractitionerRole")))
            break;
        ret->gp[0] = '\0';
    }
    json_decref(p);
    if (!e)
        e = sv__coord_team_coordinator(db, patient, ret->coordinator, NULL);
    return e;
}
