/*
 * outgoing.c - MedCom messages built from stored resources: HospitalNotification
 * for a stay, CareCommunication for a thread.  The bundle holds the MessageHeader
 * first, the focus, the Patient, the Organizations its references name, and the
 * Provenance with the activity code, with ids as stored here so that a receiver
 * can resolve every reference inside the bundle.
 */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/datetime.h"
#include "base/id.h"
#include "medcom/internal.h"

#define HN_PROFILE_BASE "http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"
#define CC_PROFILE_BASE "http://medcomfhir.dk/ig/carecommunication/StructureDefinition/"
#define PROVENANCE_PROFILE                                                                         \
    "http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-provenance"

/* The stored resource (new reference) without meta.versionId/lastUpdated. */
static json_t *load(sv_rest *r, const char *type, const char *id, sv_outcome *out)
{
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    json_t *j = NULL;
    if (sv_rest_read(r, type, id, &rr) == SV_OK)
        j = sv_json_loadb(rr.body.ptr, rr.body.len, 0, NULL);
    else
        for (size_t i = 0; i < rr.outcome.len; i++)
            sv_outcome_add(
                out, SV_SEV_ERROR, rr.outcome.issues[i].code, rr.outcome.issues[i].expression, "%s",
                rr.outcome.issues[i].diagnostics ? rr.outcome.issues[i].diagnostics : "");
    sv_rest_result_clear(&rr);
    if (j) {
        json_t *meta = json_object_get(j, "meta");
        json_object_del(meta, "versionId");
        json_object_del(meta, "lastUpdated");
        if (json_object_size(meta) == 0)
            json_object_del(j, "meta");
    }
    return j;
}

static void add_entry(json_t *entries, json_t *resource)
{
    char url[140];
    snprintf(url, sizeof(url), "%s/%s",
             json_string_value(json_object_get(resource, "resourceType")),
             json_string_value(json_object_get(resource, "id")));
    json_array_append_new(entries, json_pack("{s:s, s:o}", "fullUrl", url, "resource", resource));
}

static bool has_entry(const json_t *entries, const char *url)
{
    for (size_t i = 0; i < json_array_size(entries); i++) {
        const char *u = json_string_value(json_object_get(json_array_get(entries, i), "fullUrl"));
        if (u && strcmp(u, url) == 0)
            return true;
    }
    return false;
}

/* Appends resource (reference stolen) unless an entry with its url is there. */
static void add_entry_once(json_t *entries, json_t *resource)
{
    char url[140];
    snprintf(url, sizeof(url), "%s/%s",
             json_string_value(json_object_get(resource, "resourceType")),
             json_string_value(json_object_get(resource, "id")));
    if (has_entry(entries, url))
        json_decref(resource);
    else
        add_entry(entries, resource);
}

/* "Organization/x" of a reference element, loaded, appended once. */
static void add_referenced_org(sv_rest *r, json_t *entries, const json_t *reference_el,
                               sv_outcome *out)
{
    const char *ref = json_string_value(json_object_get(reference_el, "reference"));
    if (!ref || strncmp(ref, "Organization/", 13) != 0)
        return;
    if (has_entry(entries, ref))
        return;
    json_t *org = load(r, "Organization", ref + 13, out);
    if (org)
        add_entry(entries, org);
}

/* The party's Organization, with an id (a new one if it has none). */
static json_t *party_org(const sv_medcom_party *p)
{
    json_t *o = json_deep_copy(p->organization);
    if (!json_string_value(json_object_get(o, "id"))) {
        char id[SV_UUID_LEN];
        sv_id_uuid(id);
        json_object_set_new(o, "id", json_string(id));
    }
    return o;
}

static json_t *ref_to(const json_t *resource)
{
    char ref[140];
    snprintf(ref, sizeof(ref), "%s/%s",
             json_string_value(json_object_get(resource, "resourceType")),
             json_string_value(json_object_get(resource, "id")));
    return json_pack("{s:s}", "reference", ref);
}

/* Bundle with the header and the provenance around the focus entries. */
static json_t *message(const char *profile_base, const char *bundle_profile,
                       const char *header_profile, const char *event, const char *activity,
                       const sv_medcom_party *sender, const sv_medcom_party *receiver,
                       json_t *focus, json_t *entries)
{
    char bundle_id[SV_UUID_LEN], header_id[SV_UUID_LEN], prov_id[SV_UUID_LEN], now[SV_INSTANT_LEN];
    sv_id_uuid(bundle_id);
    sv_id_uuid(header_id);
    sv_id_uuid(prov_id);
    sv_datetime_format_instant(sv_clock_now_ms(), now);
    json_t *from = party_org(sender), *to = party_org(receiver);
    char url[300];
    snprintf(url, sizeof(url), "%s%s", profile_base, header_profile);
    json_t *header = json_pack(
        "{s:s, s:s, s:{s:[s]}, s:{s:s, s:s}, s:[{s:[{s:s, s:{s:s, s:s}}], s:s, s:o}], s:o, "
        "s:{s:s}, s:[o]}",
        "resourceType", "MessageHeader", "id", header_id, "meta", "profile", url, "eventCoding",
        "system", SV__MEDCOM_EVENT_SYSTEM, "code", event, "destination", "extension", "url",
        SV__MEDCOM_DESTINATION_USE, "valueCoding", "system",
        "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-destinationUse", "code",
        "primary", "endpoint", receiver->endpoint, "receiver", ref_to(to), "sender", ref_to(from),
        "source", "endpoint", sender->endpoint, "focus", ref_to(focus));
    char target[100];
    snprintf(target, sizeof(target), "MessageHeader/%s", header_id);
    json_t *prov =
        json_pack("{s:s, s:s, s:{s:[s]}, s:[{s:s}], s:s, s:s, s:{s:[{s:s, s:s}]}, "
                  "s:[{s:o}]}",
                  "resourceType", "Provenance", "id", prov_id, "meta", "profile",
                  PROVENANCE_PROFILE, "target", "reference", target, "occurredDateTime", now,
                  "recorded", now, "activity", "coding", "system", SV__MEDCOM_ACTIVITY_SYSTEM,
                  "code", activity, "agent", "who", ref_to(from));
    json_t *all = json_array();
    add_entry(all, header);
    for (size_t i = 0; i < json_array_size(entries); i++)
        json_array_append(all, json_array_get(entries, i));
    add_entry_once(all, from);
    add_entry_once(all, to);
    add_entry(all, prov);
    snprintf(url, sizeof(url), "%s%s", profile_base, bundle_profile);
    return json_pack("{s:s, s:s, s:{s:[s]}, s:s, s:s, s:o}", "resourceType", "Bundle", "id",
                     bundle_id, "meta", "profile", url, "type", "message", "timestamp", now,
                     "entry", all);
}

static sv_err need(json_t *j, sv_outcome *out)
{
    if (j)
        return SV_OK;
    if (out->len == 0)
        sv_outcome_add(out, SV_SEV_ERROR, "not-found", NULL,
                       "a resource of the message is missing");
    return SV_ERR_NOT_FOUND;
}

static json_t *subject_patient(sv_rest *r, const json_t *focus, sv_outcome *out)
{
    const char *ref =
        json_string_value(json_object_get(json_object_get(focus, "subject"), "reference"));
    if (!ref || strncmp(ref, "Patient/", 8) != 0) {
        sv_outcome_add(out, SV_SEV_ERROR, "required", "subject", "the subject must be a Patient");
        return NULL;
    }
    json_t *p = load(r, "Patient", ref + 8, out);
    /* Our registrations (home municipality, GP) point at resources the message does
     * not carry, and the receiver needs neither to identify the citizen. */
    json_object_del(p, "managingOrganization");
    json_object_del(p, "generalPractitioner");
    json_object_del(p, "link");
    json_object_del(p, "contact");
    return p;
}

sv_err sv_medcom_build_hospital_notification(sv_rest *r, const char *encounter_id,
                                             const char *activity, const sv_medcom_party *sender,
                                             const sv_medcom_party *receiver, json_t **ret_bundle,
                                             sv_outcome *out)
{
    json_t *enc = load(r, "Encounter", encounter_id, out);
    sv_err e = need(enc, out);
    if (e)
        return e;
    json_t *patient = subject_patient(r, enc, out);
    e = need(patient, out);
    if (e) {
        json_decref(enc);
        return e;
    }
    json_t *entries = json_array();
    add_entry(entries, json_incref(patient));
    add_entry(entries, json_incref(enc));
    add_referenced_org(r, entries, json_object_get(enc, "serviceProvider"), out);
    *ret_bundle =
        message(HN_PROFILE_BASE, "medcom-hospitalNotification-message",
                "medcom-hospitalNotification-messageHeader", "hospital-notification-message",
                activity, sender, receiver, enc, entries);
    json_decref(entries);
    json_decref(enc);
    json_decref(patient);
    return SV_OK;
}

sv_err sv_medcom_build_care_communication(sv_rest *r, const char *communication_id,
                                          const sv_medcom_party *sender,
                                          const sv_medcom_party *receiver, json_t **ret_bundle,
                                          sv_outcome *out)
{
    json_t *comm = load(r, "Communication", communication_id, out);
    sv_err e = need(comm, out);
    if (e)
        return e;
    json_t *patient = subject_patient(r, comm, out);
    e = need(patient, out);
    if (e) {
        json_decref(comm);
        return e;
    }
    json_t *entries = json_array();
    add_entry(entries, json_incref(patient));
    add_entry(entries, json_incref(comm));
    add_referenced_org(r, entries, json_object_get(comm, "sender"), out);
    json_t *recipients = json_object_get(comm, "recipient");
    for (size_t i = 0; i < json_array_size(recipients); i++)
        add_referenced_org(r, entries, json_array_get(recipients, i), out);
    *ret_bundle = message(CC_PROFILE_BASE, "medcom-careCommunication-message",
                          "medcom-careCommunication-messageHeader", "care-communication-message",
                          "new-message", sender, receiver, comm, entries);
    json_decref(entries);
    json_decref(comm);
    json_decref(patient);
    return SV_OK;
}
