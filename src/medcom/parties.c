/*
 * parties.c - who a message is about and between: the citizen found by CPR
 * (never by the sender's Patient id, which is only the sender's), and the
 * organisations found by their SOR identifier.  A new citizen or organisation
 * is created from the message with only the elements that carry no references
 * into the sender's bundle.
 */
#include <stdio.h>
#include <string.h>

#include "fhir/ident.h"
#include "medcom/internal.h"
#include "store/resource.h"

static void copy_issues(const sv_outcome *from, sv_outcome *to)
{
    for (size_t i = 0; i < from->len; i++)
        sv_outcome_add(to, from->issues[i].severity, from->issues[i].code,
                       from->issues[i].expression, "%s",
                       from->issues[i].diagnostics ? from->issues[i].diagnostics : "");
}

/* A new resource of type with the listed members of src (deep copies). */
static json_t *pick(const char *type, const json_t *src, const char *const *keys, size_t nkeys)
{
    json_t *o = json_pack("{s:s}", "resourceType", type);
    json_t *profile = json_object_get(json_object_get(src, "meta"), "profile");
    if (profile)
        json_object_set_new(o, "meta", json_pack("{s:O}", "profile", profile));
    for (size_t i = 0; i < nkeys; i++) {
        json_t *v = json_object_get(src, keys[i]);
        if (v)
            json_object_set_new(o, keys[i], json_deep_copy(v));
    }
    return o;
}

static const char *const patient_keys[] = {"identifier",      "active",           "name",
                                           "telecom",         "gender",           "birthDate",
                                           "deceasedBoolean", "deceasedDateTime", "address"};
static const char *const org_keys[] = {"identifier", "active",  "type",
                                       "name",       "telecom", "address"};

sv_err sv__medcom_patient(sv_rest *r, const sv__medcom_msg *msg, char ret_id[65],
                          int64_t *ret_before, sv_outcome *out)
{
    char ids[2][65];
    int count = 0;
    sv_err e = sv_store_find_token(r->db, "Patient", "identifier", SV_IDENT_SYSTEM_CPR, msg->cpr,
                                   ids, &count, NULL);
    if (e)
        return e;
    if (count > 1) {
        char path[96];
        sv__medcom_path(path, sizeof(path), msg->patient_index, "identifier");
        sv_outcome_add(out, SV_SEV_ERROR, "multiple-matches", path,
                       "more than one citizen here has this CPR-nummer; the message cannot be "
                       "matched safely");
        return SV_ERR_PROCESSING;
    }
    if (count == 1) {
        sv_stored s;
        memset(&s, 0, sizeof(s));
        e = sv_store_current(r->db, "Patient", ids[0], false, &s, NULL);
        if (!e) {
            snprintf(ret_id, 65, "%s", ids[0]);
            *ret_before = s.version;
        }
        sv_stored_clear(&s);
        return e;
    }
    json_t *p =
        pick("Patient", msg->patient, patient_keys, sizeof(patient_keys) / sizeof(patient_keys[0]));
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    e = sv_rest_create(r, "Patient", p, NULL, &rr);
    json_decref(p);
    if (e)
        copy_issues(&rr.outcome, out);
    else
        snprintf(ret_id, 65, "%s", rr.id);
    *ret_before = 0;
    sv_rest_result_clear(&rr);
    return e;
}

/* The identifier a sender's Organization is known by: SOR first, else the first
 * identifier with a system.  Returns false when it has none. */
static bool org_key(const json_t *org, char *key, size_t cap)
{
    json_t *ids = json_object_get(org, "identifier");
    const char *best_system = NULL, *best_value = NULL;
    for (size_t i = 0; i < json_array_size(ids); i++) {
        json_t *id = json_array_get(ids, i);
        const char *system = json_string_value(json_object_get(id, "system"));
        const char *value = json_string_value(json_object_get(id, "value"));
        if (!system || !value)
            continue;
        if (strcmp(system, SV__MEDCOM_SOR_SYSTEM) == 0 || !best_system) {
            best_system = system;
            best_value = value;
            if (strcmp(system, SV__MEDCOM_SOR_SYSTEM) == 0)
                break;
        }
    }
    if (!best_system)
        return false;
    int n = snprintf(key, cap, "org:%s|%s", best_system, best_value);
    return n > 0 && (size_t)n < cap;
}

sv_err sv__medcom_organization(sv_rest *r, const json_t *org, char ret_id[65], sv_outcome *out)
{
    char key[300];
    bool keyed = org_key(org, key, sizeof(key));
    if (keyed) {
        sv_err e = sv__medcom_link_find(r->db, key, ret_id);
        if (e != SV_ERR_NOT_FOUND)
            return e;
    }
    json_t *o = pick("Organization", org, org_keys, sizeof(org_keys) / sizeof(org_keys[0]));
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_rest_create(r, "Organization", o, NULL, &rr);
    json_decref(o);
    if (e)
        copy_issues(&rr.outcome, out);
    else
        snprintf(ret_id, 65, "%s", rr.id);
    sv_rest_result_clear(&rr);
    if (!e && keyed)
        e = sv__medcom_link_add(r->db, key, "Organization", ret_id);
    return e;
}
