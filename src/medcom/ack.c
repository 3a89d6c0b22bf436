/*
 * ack.c - the MedCom Acknowledgement message for an incoming message: a
 * MessageHeader from the message's receiver back to its sender with
 * response.identifier = the message id and response.code ok / transient-error /
 * fatal-error, an OperationOutcome when not ok (with the path of each problem),
 * the message's own Provenance, an "acknowledgement" Provenance, and both
 * Organizations - the shape of the MedCom Acknowledgement IG and its examples.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "base/id.h"
#include "base/json.h"
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

/* Literal JSON text, written as it stands. */
#define LIT(out, text) sv_buf_add((out), (text), sizeof(text) - 1)

static void add_str(sv_buf *out, const char *s)
{
    sv_json_add_string(out, s, strlen(s));
}

/*
 * "Type/id" as a JSON string, cut to 127 bytes as the snprintf into 128 bytes of
 * the tree-built acknowledgement did (ids are at most 64 characters once
 * validated; a refused message's need not be), but never inside a UTF-8 sequence.
 */
static void add_type_id(sv_buf *out, const char *type, const char *id)
{
    char text[128];
    size_t tlen = strlen(type), ilen = strlen(id);
    size_t len = tlen + 1 + ilen;
    memcpy(text, type, tlen); /* our own type names, far shorter than text */
    text[tlen] = '/';
    if (len >= sizeof(text)) {
        len = sizeof(text) - 1;
        while (len > tlen + 1 && ((unsigned char)id[len - tlen - 1] & 0xc0) == 0x80)
            len--;
    }
    memcpy(text + tlen + 1, id, len - tlen - 1);
    sv_json_add_string(out, text, len);
}

static void add_ref(sv_buf *out, const char *type, const char *id)
{
    LIT(out, "{\"reference\":");
    add_type_id(out, type, id);
    sv_buf_addc(out, '}');
}

/* Opens an entry: {"fullUrl":"Type/id","resource": - the caller writes the resource
 * and closes it with "}". */
static void entry_open(sv_buf *out, bool first, const char *type, const char *id)
{
    if (!first)
        sv_buf_addc(out, ',');
    LIT(out, "{\"fullUrl\":");
    add_type_id(out, type, id);
    LIT(out, ",\"resource\":");
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

static void add_outcome(sv_buf *out, const char *id, const char *code, const sv_outcome *issues)
{
    LIT(out, "{\"resourceType\":\"OperationOutcome\",\"id\":");
    add_str(out, id);
    LIT(out, ",\"meta\":{\"profile\":[\"" ACK_OUTCOME_PROFILE "\"]},\"issue\":[");
    for (size_t i = 0; issues && i < issues->len; i++) {
        const sv_issue *is = &issues->issues[i];
        if (i)
            sv_buf_addc(out, ',');
        LIT(out, "{\"severity\":");
        add_str(out, severity_name(is->severity));
        LIT(out, ",\"code\":");
        add_str(out, is->code ? is->code : "processing");
        if (is->diagnostics) {
            LIT(out, ",\"diagnostics\":");
            add_str(out, is->diagnostics);
        }
        if (is->expression) {
            LIT(out, ",\"expression\":[");
            add_str(out, is->expression);
            sv_buf_addc(out, ']');
        }
        sv_buf_addc(out, '}');
    }
    if (!issues || issues->len == 0) {
        if (strcmp(code, "transient-error") == 0)
            LIT(out, "{\"severity\":\"error\",\"code\":\"transient\",\"diagnostics\":"
                     "\"the message could not be stored now; send it again later\"}");
        else
            LIT(out, "{\"severity\":\"error\",\"code\":\"processing\",\"diagnostics\":"
                     "\"the message was refused\"}");
    }
    LIT(out, "]}");
}

/* An Organization for the acknowledgement, id kept so that the references of
 * the header resolve inside the ack: the message's own members, in this order. */
static void add_org(sv_buf *out, const json_t *org)
{
    static const char *const keys[] = {"resourceType", "id", "meta", "identifier", "name"};
    bool first = true;
    sv_buf_addc(out, '{');
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(org, keys[i]);
        if (!v)
            continue;
        if (!first)
            sv_buf_addc(out, ',');
        first = false;
        add_str(out, keys[i]);
        sv_buf_addc(out, ':');
        sv_json_dumpb(v, out);
    }
    sv_buf_addc(out, '}');
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

void sv__medcom_ack_ids_new(sv__medcom_ack_ids *ret)
{
    sv_id_uuid(ret->bundle);
    sv_id_uuid(ret->header);
    sv_id_uuid(ret->outcome);
    sv_id_uuid(ret->provenance);
    sv_datetime_format_instant(sv_clock_now_ms(), ret->now);
}

void sv__medcom_ack_write(const sv__medcom_msg *msg, const char *code, const sv_outcome *issues,
                          const sv__medcom_ack_ids *ids, sv_buf *out)
{
    const char *us = json_string_value(json_object_get(msg->receiver_org, "id"));
    const char *them = json_string_value(json_object_get(msg->sender_org, "id"));
    json_t *dest0 = json_array_get(json_object_get(msg->header, "destination"), 0);
    const char *our_endpoint = usable_endpoint(json_object_get(dest0, "endpoint"), "urn:samverka");
    const char *their_endpoint = usable_endpoint(
        json_object_get(json_object_get(msg->header, "source"), "endpoint"), "urn:unknown");
    bool ok = strcmp(code, "ok") == 0;

    sv_buf_grow(out, 4096);
    LIT(out, "{\"resourceType\":\"Bundle\",\"id\":");
    add_str(out, ids->bundle);
    LIT(out, ",\"meta\":{\"profile\":[\"" ACK_PROFILE "\"]},\"type\":\"message\",\"timestamp\":");
    add_str(out, ids->now);
    LIT(out, ",\"entry\":[");

    entry_open(out, true, "MessageHeader", ids->header);
    LIT(out, "{\"resourceType\":\"MessageHeader\",\"id\":");
    add_str(out, ids->header);
    LIT(out, ",\"meta\":{\"profile\":[\"" ACK_HEADER_PROFILE "\"]},"
             "\"eventCoding\":{\"system\":\"" SV__MEDCOM_EVENT_SYSTEM "\","
             "\"code\":\"acknowledgement-message\"}");
    if (us) {
        LIT(out, ",\"sender\":");
        add_ref(out, "Organization", us);
    }
    LIT(out, ",\"source\":{\"endpoint\":");
    add_str(out, our_endpoint);
    LIT(out, "},\"destination\":[{\"extension\":[{\"url\":\"" SV__MEDCOM_DESTINATION_USE "\","
             "\"valueCoding\":{\"system\":\"http://medcomfhir.dk/ig/terminology/CodeSystem/"
             "medcom-messaging-destinationUse\",\"code\":\"primary\"}}],\"endpoint\":");
    add_str(out, their_endpoint);
    if (them) {
        LIT(out, ",\"receiver\":");
        add_ref(out, "Organization", them);
    }
    LIT(out, "}],\"response\":{\"identifier\":");
    add_str(out, msg->message_id);
    LIT(out, ",\"code\":");
    add_str(out, code);
    if (!ok) {
        LIT(out, ",\"details\":");
        add_ref(out, "OperationOutcome", ids->outcome);
    }
    LIT(out, "}}}");

    if (!ok) {
        entry_open(out, false, "OperationOutcome", ids->outcome);
        add_outcome(out, ids->outcome, code, issues);
        sv_buf_addc(out, '}');
    }
    if (msg->provenance) {
        const char *pid = json_string_value(json_object_get(msg->provenance, "id"));
        entry_open(out, false, "Provenance", pid ? pid : "unknown");
        sv_json_dumpb(msg->provenance, out);
        sv_buf_addc(out, '}');
    }

    entry_open(out, false, "Provenance", ids->provenance);
    LIT(out, "{\"resourceType\":\"Provenance\",\"id\":");
    add_str(out, ids->provenance);
    LIT(out, ",\"meta\":{\"profile\":[\"" PROVENANCE_PROFILE "\"]},\"target\":[");
    add_ref(out, "MessageHeader", ids->header);
    LIT(out, "],\"occurredDateTime\":");
    add_str(out, ids->now);
    LIT(out, ",\"recorded\":");
    add_str(out, ids->now);
    LIT(out, ",\"activity\":{\"coding\":[{\"system\":\"" SV__MEDCOM_ACTIVITY_SYSTEM "\","
             "\"code\":\"acknowledgement\"}]},\"agent\":[{\"who\":");
    if (us)
        add_ref(out, "Organization", us);
    else
        LIT(out, "{\"display\":\"samverka\"}");
    LIT(out, "}],\"entity\":[{\"role\":\"revision\",\"what\":");
    add_ref(out, "MessageHeader", msg->message_id);
    LIT(out, "}]}}");

    if (us) {
        entry_open(out, false, "Organization", us);
        add_org(out, msg->receiver_org);
        sv_buf_addc(out, '}');
    }
    if (them && msg->sender_org != msg->receiver_org) {
        entry_open(out, false, "Organization", them);
        add_org(out, msg->sender_org);
        sv_buf_addc(out, '}');
    }
    LIT(out, "]}");
}

void sv__medcom_ack_text(const sv__medcom_msg *msg, const char *code, const sv_outcome *issues,
                         sv_buf *out)
{
    sv__medcom_ack_ids ids;
    sv__medcom_ack_ids_new(&ids);
    sv__medcom_ack_write(msg, code, issues, &ids, out);
}
