/*
 * message.c - the checks of an incoming MedCom message Bundle, before anything
 * is stored: shape, event, the resources each kind needs, and the citizen's CPR.
 * Every refusal names the element at fault in issue.expression.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "fhir/ident.h"
#include "fhir/validate.h"
#include "medcom/internal.h"

void sv__medcom_path(char *out, size_t cap, size_t index, const char *suffix)
{
    snprintf(out, cap, "Bundle.entry[%zu].resource%s%s", index, suffix && *suffix ? "." : "",
             suffix ? suffix : "");
}

static sv_err refuse(sv_outcome *out, const char *code, const char *expression, const char *what)
{
    sv_outcome_add(out, SV_SEV_ERROR, code, expression, "%s", what);
    return SV_ERR_PROCESSING;
}

static sv_err refuse_at(sv_outcome *out, const char *code, size_t index, const char *suffix,
                        const char *what)
{
    char path[160];
    sv__medcom_path(path, sizeof(path), index, suffix);
    return refuse(out, code, path, what);
}

/* The "Type/id" tail of a reference or fullUrl: the last two path segments. */
static const char *type_id_tail(const char *s)
{
    const char *end = s + strlen(s);
    int slashes = 0;
    for (const char *p = end; p > s; p--) {
        if (p[-1] == '/' && ++slashes == 2)
            return p;
    }
    return s;
}

size_t sv__medcom_resolve(const sv__medcom_msg *msg, const char *reference)
{
    if (!reference || !*reference)
        return SIZE_MAX;
    for (size_t i = 0; i < msg->nentries; i++)
        if (msg->entries[i].full_url && strcmp(msg->entries[i].full_url, reference) == 0)
            return i;
    const char *tail = type_id_tail(reference);
    const char *slash = strchr(tail, '/');
    if (!slash)
        return SIZE_MAX;
    size_t tlen = (size_t)(slash - tail);
    for (size_t i = 0; i < msg->nentries; i++) {
        const sv__medcom_entry *e = &msg->entries[i];
        if (e->id && strlen(e->type) == tlen && strncmp(e->type, tail, tlen) == 0 &&
            strcmp(e->id, slash + 1) == 0)
            return i;
    }
    return SIZE_MAX;
}

static const char *ref_of(const json_t *j, const char *member)
{
    return json_string_value(json_object_get(json_object_get(j, member), "reference"));
}

/* The entry of a reference element that must name a resource of type in the bundle. */
static sv_err need_ref(sv__medcom_msg *msg, size_t from, const char *path, const char *reference,
                       const char *type, size_t *ret_index, sv_outcome *out)
{
    char what[160];
    if (!reference) {
        snprintf(what, sizeof(what), "a reference to the %s is required", type);
        return refuse_at(out, "required", from, path, what);
    }
    size_t i = sv__medcom_resolve(msg, reference);
    if (i == SIZE_MAX || strcmp(msg->entries[i].type, type) != 0) {
        snprintf(what, sizeof(what), "the reference must point at a %s in the message", type);
        return refuse_at(out, "not-found", from, path, what);
    }
    *ret_index = i;
    return SV_OK;
}

static sv_medcom_kind kind_of(const char *event)
{
    if (!event)
        return SV_MEDCOM_NONE;
    if (strcmp(event, "hospital-notification-message") == 0)
        return SV_MEDCOM_HOSPITAL_NOTIFICATION;
    if (strcmp(event, "care-communication-message") == 0)
        return SV_MEDCOM_CARE_COMMUNICATION;
    if (strcmp(event, "acknowledgement-message") == 0)
        return SV_MEDCOM_ACKNOWLEDGEMENT;
    return SV_MEDCOM_NONE;
}

/* The Provenance whose target is this message's header, and the header id of
 * the message it revises, removes or answers (entity.what.reference). */
static sv_err find_provenance(sv__medcom_msg *msg, sv_outcome *out)
{
    char own[128];
    snprintf(own, sizeof(own), "MessageHeader/%s", msg->message_id);
    for (size_t i = 1; i < msg->nentries; i++) {
        if (strcmp(msg->entries[i].type, "Provenance") != 0)
            continue;
        json_t *p = msg->entries[i].resource;
        json_t *targets = json_object_get(p, "target");
        bool mine = false;
        for (size_t t = 0; t < json_array_size(targets); t++) {
            const char *ref =
                json_string_value(json_object_get(json_array_get(targets, t), "reference"));
            if (ref && strcmp(type_id_tail(ref), own) == 0)
                mine = true;
        }
        if (!mine)
            continue;
        msg->provenance = p;
        msg->provenance_index = i;
        json_t *coding =
            json_array_get(json_object_get(json_object_get(p, "activity"), "coding"), 0);
        const char *system = json_string_value(json_object_get(coding, "system"));
        msg->activity = json_string_value(json_object_get(coding, "code"));
        if (!msg->activity || !system || strcmp(system, SV__MEDCOM_ACTIVITY_SYSTEM) != 0)
            return refuse_at(out, "code-invalid", i, "activity.coding[0]",
                             "the activity must be a code of " SV__MEDCOM_ACTIVITY_SYSTEM);
        json_t *entities = json_object_get(p, "entity");
        for (size_t k = 0; k < json_array_size(entities); k++) {
            json_t *ent = json_array_get(entities, k);
            const char *role = json_string_value(json_object_get(ent, "role"));
            const char *ref = ref_of(ent, "what");
            if (role && ref && (strcmp(role, "revision") == 0 || strcmp(role, "removal") == 0) &&
                strncmp(type_id_tail(ref), "MessageHeader/", 14) == 0)
                msg->about_header = type_id_tail(ref) + 14;
        }
        return SV_OK;
    }
    return refuse(out, "required", "Bundle.entry.resource.ofType(Provenance)",
                  "a Provenance whose target is this message's MessageHeader is required");
}

/* The citizen: a Patient with exactly one CPR that is well-formed and agrees
 * with the Patient's birth date and gender (a message must never be matched to
 * the wrong citizen). */
static sv_err check_patient(sv__medcom_msg *msg, sv_outcome *out)
{
    size_t pi = msg->patient_index;
    json_t *ids = json_object_get(msg->patient, "identifier");
    size_t found = SIZE_MAX;
    for (size_t k = 0; k < json_array_size(ids); k++) {
        const char *system = json_string_value(json_object_get(json_array_get(ids, k), "system"));
        if (system && strcmp(system, SV_IDENT_SYSTEM_CPR) == 0) {
            if (found != SIZE_MAX)
                return refuse_at(out, "business-rule", pi, "identifier",
                                 "the patient has more than one CPR-nummer");
            found = k;
        }
    }
    if (found == SIZE_MAX)
        return refuse_at(out, "required", pi, "identifier",
                         "the patient must be identified by a CPR-nummer (" SV_IDENT_SYSTEM_CPR
                         ")");
    char path[64];
    snprintf(path, sizeof(path), "identifier[%zu].value", found);
    const char *cpr = json_string_value(json_object_get(json_array_get(ids, found), "value"));
    if (!cpr)
        return refuse_at(out, "required", pi, path, "the CPR-nummer has no value");
    sv_buf why = SV_BUF_INIT;
    sv_err e = sv_ident_check(SV_IDENT_CPR, cpr, &why);
    if (e) {
        char what[200];
        snprintf(what, sizeof(what), "malformed CPR-nummer: %s", why.ptr);
        sv_buf_release(&why);
        return refuse_at(out, "value", pi, path, what);
    }
    sv_buf_release(&why);
    /* DDMMYY[-]SSSS: the date part and, for the sex, the parity of the last digit. */
    char digits[11];
    size_t n = 0;
    for (const char *p = cpr; *p && n < 10; p++)
        if (*p >= '0' && *p <= '9')
            digits[n++] = *p;
    digits[n] = '\0';
    const char *birth = json_string_value(json_object_get(msg->patient, "birthDate"));
    if (birth && strlen(birth) >= 10 && n == 10) {
        /* YYYY-MM-DD against DDMMYY */
        if (birth[8] != digits[0] || birth[9] != digits[1] || birth[5] != digits[2] ||
            birth[6] != digits[3] || birth[2] != digits[4] || birth[3] != digits[5])
            return refuse_at(out, "business-rule", pi, "birthDate",
                             "the birth date does not match the CPR-nummer");
    }
    const char *gender = json_string_value(json_object_get(msg->patient, "gender"));
    if (gender && n == 10 && (strcmp(gender, "male") == 0 || strcmp(gender, "female") == 0)) {
        bool odd = (digits[9] - '0') % 2 == 1;
        if (odd != (strcmp(gender, "male") == 0))
            return refuse_at(out, "business-rule", pi, "gender",
                             "the gender does not match the CPR-nummer");
    }
    msg->cpr = cpr;
    return SV_OK;
}

static sv_err check_header(sv__medcom_msg *msg, sv_outcome *out)
{
    json_t *h = msg->header;
    json_t *ev = json_object_get(h, "eventCoding");
    const char *system = json_string_value(json_object_get(ev, "system"));
    const char *code = json_string_value(json_object_get(ev, "code"));
    if (!ev)
        return refuse_at(out, "required", 0, "eventCoding",
                         "MessageHeader.eventCoding is required (eventUri is not MedCom)");
    if (!system || strcmp(system, SV__MEDCOM_EVENT_SYSTEM) != 0)
        return refuse_at(out, "code-invalid", 0, "eventCoding.system",
                         "the event must be a code of " SV__MEDCOM_EVENT_SYSTEM);
    msg->kind = kind_of(code);
    if (msg->kind == SV_MEDCOM_NONE)
        return refuse_at(out, "not-supported", 0, "eventCoding.code",
                         "this server accepts hospital-notification-message, "
                         "care-communication-message and acknowledgement-message");
    sv_err e =
        need_ref(msg, 0, "sender", ref_of(h, "sender"), "Organization", &msg->sender_index, out);
    if (e)
        return e;
    msg->sender_org = msg->entries[msg->sender_index].resource;
    json_t *dest = json_object_get(h, "destination");
    if (json_array_size(dest) == 0)
        return refuse_at(out, "required", 0, "destination", "a destination is required");
    e = need_ref(msg, 0, "destination[0].receiver", ref_of(json_array_get(dest, 0), "receiver"),
                 "Organization", &msg->receiver_index, out);
    if (e)
        return e;
    msg->receiver_org = msg->entries[msg->receiver_index].resource;
    if (!json_string_value(json_object_get(json_object_get(h, "source"), "endpoint")))
        return refuse_at(out, "required", 0, "source.endpoint",
                         "source.endpoint (where the acknowledgement goes) is required");
    return SV_OK;
}

static sv_err check_content(sv__medcom_msg *msg, sv_outcome *out)
{
    json_t *h = msg->header;
    if (msg->kind == SV_MEDCOM_ACKNOWLEDGEMENT) {
        json_t *resp = json_object_get(h, "response");
        msg->response_to = json_string_value(json_object_get(resp, "identifier"));
        msg->response_code = json_string_value(json_object_get(resp, "code"));
        if (!msg->response_to || !msg->response_code)
            return refuse_at(out, "required", 0, "response",
                             "an acknowledgement needs response.identifier and response.code");
        return SV_OK;
    }
    const char *focus_type =
        msg->kind == SV_MEDCOM_HOSPITAL_NOTIFICATION ? "Encounter" : "Communication";
    json_t *focus = json_object_get(h, "focus");
    if (json_array_size(focus) != 1)
        return refuse_at(out, "required", 0, "focus",
                         msg->kind == SV_MEDCOM_HOSPITAL_NOTIFICATION
                             ? "the message must have exactly one focus, the Encounter"
                             : "the message must have exactly one focus, the Communication");
    const char *fref = json_string_value(json_object_get(json_array_get(focus, 0), "reference"));
    sv_err e = need_ref(msg, 0, "focus[0]", fref, focus_type, &msg->focus_index, out);
    if (e)
        return e;
    msg->focus = msg->entries[msg->focus_index].resource;
    e = need_ref(msg, msg->focus_index, "subject", ref_of(msg->focus, "subject"), "Patient",
                 &msg->patient_index, out);
    if (e)
        return e;
    msg->patient = msg->entries[msg->patient_index].resource;
    return check_patient(msg, out);
}

sv_err sv__medcom_parse(const json_t *bundle, sv__medcom_msg *msg, sv_outcome *out)
{
    /* All but the entries, which are filled one by one below and read only up to
     * nentries: clearing their 16 KB cost more than the rest of these checks' setup. */
    memset(msg, 0, offsetof(sv__medcom_msg, entries));
    memset(&msg->nentries, 0, sizeof(*msg) - offsetof(sv__medcom_msg, nentries));
    msg->bundle = bundle;
    const char *rt = json_string_value(json_object_get(bundle, "resourceType"));
    if (!rt || strcmp(rt, "Bundle") != 0) {
        sv_outcome_add(out, SV_SEV_ERROR, "invalid", "resourceType",
                       "$process-message takes a Bundle of type message");
        return SV_ERR_INVALID;
    }
    json_t *entries = json_object_get(bundle, "entry");
    json_t *first = json_object_get(json_array_get(entries, 0), "resource");
    const char *first_type = json_string_value(json_object_get(first, "resourceType"));
    if (!first_type || strcmp(first_type, "MessageHeader") != 0) {
        sv_outcome_add(out, SV_SEV_ERROR, "required", "Bundle.entry[0].resource",
                       "the first entry of a message must be its MessageHeader");
        return SV_ERR_INVALID;
    }
    msg->message_id = json_string_value(json_object_get(first, "id"));
    if (!msg->message_id || !*msg->message_id || strlen(msg->message_id) > 64) {
        sv_outcome_add(out, SV_SEV_ERROR, "required", "Bundle.entry[0].resource.id",
                       "the MessageHeader must have an id (the message id)");
        return SV_ERR_INVALID;
    }
    /* The acknowledgement repeats it as response.identifier (an id) and in a
     * reference: one that is not a FHIR id cannot be acknowledged validly. */
    if (strspn(msg->message_id,
               "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-.") !=
        strlen(msg->message_id)) {
        sv_outcome_add(out, SV_SEV_ERROR, "invalid", "Bundle.entry[0].resource.id",
                       "the message id must be a FHIR id: letters, digits, '-' and '.'");
        return SV_ERR_INVALID;
    }
    msg->header = first;
    /* From here on the sender gets an acknowledgement, fatal if need be. */
    if (json_array_size(entries) > SV__MEDCOM_MAX_ENTRIES)
        return refuse(out, "too-costly", "Bundle.entry", "too many entries in one message");
    for (size_t i = 0; i < json_array_size(entries); i++) {
        json_t *entry = json_array_get(entries, i);
        json_t *res = json_object_get(entry, "resource");
        sv__medcom_entry *e = &msg->entries[msg->nentries++];
        e->resource = res;
        e->type = json_string_value(json_object_get(res, "resourceType"));
        e->id = json_string_value(json_object_get(res, "id"));
        e->full_url = json_string_value(json_object_get(entry, "fullUrl"));
        if (!e->type)
            return refuse_at(out, "required", i, NULL, "every entry needs a resource");
    }
    if (sv_fhir_validate(bundle, out) > 0)
        return SV_ERR_PROCESSING;
    const char *type = json_string_value(json_object_get(bundle, "type"));
    if (!type || strcmp(type, "message") != 0)
        return refuse(out, "value", "Bundle.type", "a MedCom message is a Bundle of type message");
    if (!json_object_get(bundle, "timestamp"))
        return refuse(out, "required", "Bundle.timestamp", "a message needs a timestamp");
    sv_err e = check_header(msg, out);
    if (!e)
        e = find_provenance(msg, out);
    if (!e)
        e = check_content(msg, out);
    return e;
}
