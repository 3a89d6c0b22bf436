/*
 * ack.c - the MedCom Acknowledgement message for an incoming message: a
 * MessageHeader from the message's receiver back to its sender with
 * response.identifier = the message id and response.code ok / transient-error /
 * fatal-error, an OperationOutcome when not ok (with the path of each problem),
 * the message's own Provenance, an "acknowledgement" Provenance, and both
 * Organizations - the shape of the MedCom Acknowledgement IG and its examples.
 */
#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "base/id.h"
#include "medcom/internal.h"

#define ACK_PROFILE                                                                                \
    "http://medcomfhir.dk/ig/acknowledgement/StructureDefinition/medcom-messaging-acknowledgement"
#define ACK_HEADER_PROFILE                                                                         \
    "http://medcomfhir.dk/ig/acknowledgement/StructureDefinition/"                                 \
    "medcom-messaging-acknowledgementHeader"
#define ACK_OUTCOME_PROFILE                                                                        \
    "http://medcomfhir.dk/ig/acknowledgement/StructureDefinition/"                                 \
    "medcom-acknowledgement-operationoutcome"
#define PROVENANCE_PROFILE                                                                         \
    "http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-provenance"

static json_t *profile(const char *url)
{
    return json_pack("{s:[s]}", "profile", url);
}

static json_t *entry(const char *type, const char *id, json_t *resource)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/%s", type, id);
    return json_pack("{s:s, s:o}", "fullUrl", url, "resource", resource);
}

/* NULL when id is NULL: a message refused before its Organizations were found
 * is acknowledged without them ("o*" leaves the member out). */
static json_t *ref(const char *type, const char *id)
{
    if (!id)
        return NULL;
    char r[128];
    snprintf(r, sizeof(r), "%s/%s", type, id);
    return json_pack("{s:s}", "reference", r);
}

static const char *severity_name(sv_severity s)
{
    switch (s) {
    case SV_SEV_FATAL:
        return "fatal";
    case SV_SEV_ERROR:
        return "error";
    case SV_SEV_WARNING:
        return "warning";
    default:
        return "information";
    }
}

static json_t *outcome(const char *id, const char *code, const sv_outcome *issues)
{
    json_t *list = json_array();
    for (size_t i = 0; issues && i < issues->len; i++) {
        const sv_issue *is = &issues->issues[i];
        json_t *j = json_pack("{s:s, s:s}", "severity", severity_name(is->severity), "code",
                              is->code ? is->code : "processing");
        if (is->diagnostics)
            json_object_set_new(j, "diagnostics", json_string(is->diagnostics));
        if (is->expression)
            json_object_set_new(j, "expression", json_pack("[s]", is->expression));
        json_array_append_new(list, j);
    }
    if (json_array_size(list) == 0)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s}", "severity", "error", "code",
                            strcmp(code, "transient-error") == 0 ? "transient" : "processing",
                            "diagnostics",
                            strcmp(code, "transient-error") == 0
                                ? "the message could not be stored now; send it again later"
                                : "the message was refused"));
    return json_pack("{s:s, s:s, s:o, s:o}", "resourceType", "OperationOutcome", "id", id, "meta",
                     profile(ACK_OUTCOME_PROFILE), "issue", list);
}

/* An Organization for the acknowledgement, id kept so that the references of
 * the header resolve inside the ack.  Its members are the message's own values,
 * shared, not copied: the ack is only dumped and freed, and nothing changes
 * the message's tree while it lives. */
static json_t *org_copy(const json_t *org)
{
    json_t *o = json_object();
    const char *keys[] = {"resourceType", "id", "meta", "identifier", "name"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(org, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
    }
    return o;
}

/* An endpoint of the message that the acknowledgement may repeat: the message
 * may have been refused for its content (then nothing in it has been validated),
 * and an acknowledgement must stay valid FHIR whatever it answers, so only a
 * plain absolute url (printable ASCII without spaces, not a urn with its own
 * syntax) is echoed; anything else gives way to the fallback. */
static const char *usable_endpoint(const json_t *v, const char *fallback)
{
    const char *s = json_string_value(v);
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > 1024 || strncmp(s, "urn:", 4) == 0)
        return fallback;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return fallback;
    return s;
}

json_t *sv__medcom_ack_build(const sv__medcom_msg *msg, const char *code, const sv_outcome *issues)
{
    char bundle_id[SV_UUID_LEN], header_id[SV_UUID_LEN], outcome_id[SV_UUID_LEN],
        prov_id[SV_UUID_LEN], now[SV_INSTANT_LEN];
    sv_id_uuid(bundle_id);
    sv_id_uuid(header_id);
    sv_id_uuid(outcome_id);
    sv_id_uuid(prov_id);
    sv_datetime_format_instant(sv_clock_now_ms(), now);

    const char *us = json_string_value(json_object_get(msg->receiver_org, "id"));
    const char *them = json_string_value(json_object_get(msg->sender_org, "id"));
    json_t *dest0 = json_array_get(json_object_get(msg->header, "destination"), 0);
    const char *our_endpoint = usable_endpoint(json_object_get(dest0, "endpoint"), "urn:samverka");
    const char *their_endpoint = usable_endpoint(
        json_object_get(json_object_get(msg->header, "source"), "endpoint"), "urn:unknown");

    json_t *header = json_pack(
        "{s:s, s:s, s:o, s:{s:s, s:s}, s:o*, s:{s:s}, s:[{s:[{s:s, s:{s:s, s:s}}], s:s, s:o*}]}",
        "resourceType", "MessageHeader", "id", header_id, "meta", profile(ACK_HEADER_PROFILE),
        "eventCoding", "system", SV__MEDCOM_EVENT_SYSTEM, "code", "acknowledgement-message",
        "sender", ref("Organization", us), "source", "endpoint", our_endpoint, "destination",
        "extension", "url", SV__MEDCOM_DESTINATION_USE, "valueCoding", "system",
        "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-destinationUse", "code",
        "primary", "endpoint", their_endpoint, "receiver", ref("Organization", them));
    json_t *response = json_pack("{s:s, s:s}", "identifier", msg->message_id, "code", code);
    if (strcmp(code, "ok") != 0)
        json_object_set_new(response, "details", ref("OperationOutcome", outcome_id));
    json_object_set_new(header, "response", response);

    json_t *entries = json_array();
    json_array_append_new(entries, entry("MessageHeader", header_id, header));
    if (strcmp(code, "ok") != 0)
        json_array_append_new(
            entries, entry("OperationOutcome", outcome_id, outcome(outcome_id, code, issues)));
    if (msg->provenance) {
        const char *pid = json_string_value(json_object_get(msg->provenance, "id"));
        json_array_append_new(
            entries, entry("Provenance", pid ? pid : "unknown", json_incref(msg->provenance)));
    }
    json_t *who = us ? ref("Organization", us) : json_pack("{s:s}", "display", "samverka");
    json_t *prov = json_pack(
        "{s:s, s:s, s:o, s:[o], s:s, s:s, s:{s:[{s:s, s:s}]}, s:[{s:o}], s:[{s:s, s:o}]}",
        "resourceType", "Provenance", "id", prov_id, "meta", profile(PROVENANCE_PROFILE), "target",
        ref("MessageHeader", header_id), "occurredDateTime", now, "recorded", now, "activity",
        "coding", "system", SV__MEDCOM_ACTIVITY_SYSTEM, "code", "acknowledgement", "agent", "who",
        who, "entity", "role", "revision", "what", ref("MessageHeader", msg->message_id));
    json_array_append_new(entries, entry("Provenance", prov_id, prov));
    if (us)
        json_array_append_new(entries, entry("Organization", us, org_copy(msg->receiver_org)));
    if (them && msg->sender_org != msg->receiver_org)
        json_array_append_new(entries, entry("Organization", them, org_copy(msg->sender_org)));

    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o}", "resourceType", "Bundle", "id", bundle_id,
                     "meta", profile(ACK_PROFILE), "type", "message", "timestamp", now, "entry",
                     entries);
}
