/*
 * stay.c - a HospitalNotification applied to the citizen's stay (Encounter).
 *
 * The activity code of the message's Provenance says what happened (MedCom
 * "Overview of HospitalNotification codes"): admit-emergency (STAA, EMER),
 * admit-inpatient (STIN, IMP), start-leave-inpatient (STOR, onleave),
 * end-leave-inpatient (SLOR), discharge-*-home (SLHJ, finished), and a death
 * (MORS: Patient.deceased set; deceased-* codes); revise-X corrects (RE_) and
 * cancel-X cancels (AN_) the message X.  A stay is one Encounter of ours,
 * found again by the hospital's episode-of-care identifier (else by the
 * sender and its Encounter id).  A cancellation restores the Encounter, and for
 * a death the Patient's deceased[x], to the versions from before the cancelled
 * message when that message reached us; otherwise the state the message states.
 */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/id.h"
#include "medcom/internal.h"
#include "store/resource.h"

typedef enum stay_op { OP_ADMIT, OP_LEAVE_START, OP_LEAVE_END, OP_DISCHARGE, OP_DIED } stay_op;

typedef struct activity {
    const char *code; /* without revise-/cancel- */
    stay_op op;
    const char *class_code;
    const char *status; /* Encounter.status the code implies */
} activity;

static const activity activities[] = {
    {"admit-emergency", OP_ADMIT, "EMER", "in-progress"},
    {"admit-inpatient", OP_ADMIT, "IMP", "in-progress"},
    {"start-leave-inpatient", OP_LEAVE_START, "IMP", "onleave"},
    {"end-leave-inpatient", OP_LEAVE_END, "IMP", "in-progress"},
    {"discharge-inpatient-home", OP_DISCHARGE, "IMP", "finished"},
    {"discharge-emergency-home", OP_DISCHARGE, "EMER", "finished"},
    {"deceased-inpatient", OP_DIED, "IMP", "finished"},
    {"deceased-emergency", OP_DIED, "EMER", "finished"},
};

static const char *const op_event[] = {"encounter.admitted", "encounter.leave-started",
                                       "encounter.leave-ended", "encounter.discharged",
                                       "patient.died"};

static const activity *find_activity(const char *code, bool *ret_revise, bool *ret_cancel)
{
    *ret_revise = strncmp(code, "revise-", 7) == 0;
    *ret_cancel = strncmp(code, "cancel-", 7) == 0;
    const char *base = code + (*ret_revise || *ret_cancel ? 7 : 0);
    for (size_t i = 0; i < sizeof(activities) / sizeof(activities[0]); i++)
        if (strcmp(activities[i].code, base) == 0)
            return &activities[i];
    return NULL;
}

static sv_err refuse(sv_outcome *out, const char *code, size_t index, const char *suffix,
                     const char *what)
{
    char path[160];
    sv__medcom_path(path, sizeof(path), index, suffix);
    sv_outcome_add(out, SV_SEV_ERROR, code, path, "%s", what);
    return SV_ERR_PROCESSING;
}

static void copy_issues(const sv_outcome *from, sv_outcome *to)
{
    for (size_t i = 0; i < from->len; i++)
        sv_outcome_add(to, from->issues[i].severity, from->issues[i].code,
                       from->issues[i].expression, "%s",
                       from->issues[i].diagnostics ? from->issues[i].diagnostics : "");
}

static bool is_deceased(const json_t *patient)
{
    return json_is_true(json_object_get(patient, "deceasedBoolean")) ||
           json_object_get(patient, "deceasedDateTime") != NULL;
}

/* The key a sender's stay is found by again. */
static void stay_key(const sv__medcom_msg *msg, char *key, size_t cap)
{
    json_t *eoc = json_array_get(json_object_get(msg->focus, "episodeOfCare"), 0);
    json_t *ident = json_object_get(eoc, "identifier");
    const char *system = json_string_value(json_object_get(ident, "system"));
    const char *value = json_string_value(json_object_get(ident, "value"));
    if (system && value) {
        snprintf(key, cap, "stay:%s|%s", system, value);
        return;
    }
    const char *sender = json_string_value(json_object_get(msg->sender_org, "id"));
    const char *enc = json_string_value(json_object_get(msg->focus, "id"));
    snprintf(key, cap, "stay-encounter:%s|%s", sender ? sender : "", enc ? enc : "");
}

/* MessageHeader.extension:reportOfAdmissionFlag (HospitalNotification IG 3.0). */
#define HN_REPORT_OF_ADMISSION                                                                     \
    "http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"                            \
    "medcom-messaging-reportOfAdmissionExtension"
/* What the stay rules read (stays/internal.h SV_EXT_ADMISSION_REPORT; stays is above us). */
#define EXT_ADMISSION_REPORT                                                                       \
    "http://samverka.org/fhir/StructureDefinition/admission-report-requested"

static bool report_of_admission_requested(const json_t *header)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(header, "extension"), i, x)
    {
        const char *url = json_string_value(json_object_get(x, "url"));
        if (url && strcmp(url, HN_REPORT_OF_ADMISSION) == 0)
            return json_is_true(json_object_get(x, "valueBoolean"));
    }
    return false;
}

/* Our Encounter from the message's: references re-pointed to our resources; the
 * header's request for an admission report carried as our extension, which the
 * stay rules read (data/rulesets/dk.json, dk-admission-report). */
static json_t *encounter_from_message(const sv__medcom_msg *msg, const char *patient_id,
                                      const char *provider_id)
{
    /* A shallow copy: only its own members are set and removed below, and the
     * values it shares with the message are never changed (a deep copy here was a
     * tenth of the Encounter's write, which copies what its hooks get anyway). */
    json_t *enc = json_copy(msg->focus);
    if (report_of_admission_requested(msg->header)) {
        json_t *ext = json_object_get(enc, "extension");
        ext = json_is_array(ext) ? json_copy(ext) : json_array(); /* ours: appended to */
        json_object_set_new(enc, "extension", ext);
        json_array_append_new(
            ext, json_pack("{s:s, s:b}", "url", EXT_ADMISSION_REPORT, "valueBoolean", 1));
    }
    json_object_del(enc, "id");
    json_t *profile = json_object_get(json_object_get(msg->focus, "meta"), "profile");
    json_object_del(enc, "meta");
    if (profile)
        json_object_set_new(enc, "meta", json_pack("{s:O}", "profile", profile));
    char ref[100];
    snprintf(ref, sizeof(ref), "Patient/%s", patient_id);
    json_object_set_new(enc, "subject", json_pack("{s:s}", "reference", ref));
    if (provider_id) {
        snprintf(ref, sizeof(ref), "Organization/%s", provider_id);
        json_object_set_new(enc, "serviceProvider", json_pack("{s:s}", "reference", ref));
    } else {
        json_object_del(enc, "serviceProvider");
    }
    /* Other references point into the sender's bundle and would dangle here. */
    json_object_del(enc, "participant");
    json_object_del(enc, "location");
    json_object_del(enc, "partOf");
    json_object_del(enc, "basedOn");
    json_object_del(enc, "appointment");
    json_object_del(enc, "account");
    json_object_del(enc, "diagnosis");
    return enc;
}

/* The JSON of type/id at version (new reference), or NULL. */
static json_t *load_version(sv_db *db, const char *type, const char *id, int64_t version)
{
    sv_stored s;
    memset(&s, 0, sizeof(s));
    json_t *j = NULL;
    if (sv_store_vread(db, type, id, version, &s, NULL) == SV_OK && s.json)
        j = sv_json_loadb(s.json, s.json_len, 0, NULL);
    sv_stored_clear(&s);
    return j;
}

/* Writes resource, which the caller then only releases: the version stays in
 * the transaction's memo for the grant derivation and the stay rules after us. */
static sv_err write(sv_rest *r, const char *type, const char *id, json_t *resource, sv_outcome *out)
{
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    rr.keep_recent = true;
    json_object_set_new(resource, "id", json_string(id)); /* an update names its resource */
    sv_err e = sv_rest_update(r, type, id, resource, NULL, &rr);
    if (e)
        copy_issues(&rr.outcome, out);
    sv_rest_result_clear(&rr);
    return e;
}

static bool same(const json_t *a, const json_t *b)
{
    return (!a && !b) || (a && b && json_equal(a, b));
}

/* Sets (or, for a cancellation, restores) Patient.deceased[x]. */
static sv_err set_deceased(sv_rest *r, const char *patient_id, const json_t *from, sv_outcome *out)
{
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e = sv_rest_read(r, "Patient", patient_id, &rr);
    json_t *p = e ? NULL : sv_json_loadb(rr.body.ptr, rr.body.len, 0, NULL);
    sv_rest_result_clear(&rr);
    if (!p)
        return e ? e : SV_ERR_INTERNAL;
    json_t *b = json_object_get(p, "deceasedBoolean"), *d = json_object_get(p, "deceasedDateTime");
    json_t *nb = json_object_get(from, "deceasedBoolean"),
           *nd = json_object_get(from, "deceasedDateTime");
    if (same(b, nb) && same(d, nd)) {
        json_decref(p);
        return SV_OK;
    }
    json_object_del(p, "deceasedBoolean");
    json_object_del(p, "deceasedDateTime");
    if (nb)
        json_object_set(p, "deceasedBoolean", nb);
    if (nd)
        json_object_set(p, "deceasedDateTime", nd);
    e = write(r, "Patient", patient_id, p, out);
    json_decref(p);
    return e;
}

sv_err sv__medcom_apply_stay(sv_rest *r, const sv__medcom_msg *msg, sv__medcom_log_row *row,
                             sv_medcom_event *ev, sv_outcome *out)
{
    char *patient_id = row->patient_buf, *encounter_id = row->encounter_buf, provider_id[65];
    bool revise = false, cancel = false;
    const activity *act = find_activity(msg->activity, &revise, &cancel);
    if (!act)
        return refuse(out, "code-invalid", msg->provenance_index, "activity.coding[0].code",
                      "not a HospitalNotification activity code");
    const char *cls =
        json_string_value(json_object_get(json_object_get(msg->focus, "class"), "code"));
    if (!cls || strcmp(cls, act->class_code) != 0)
        return refuse(out, "business-rule", msg->focus_index, "class.code",
                      strcmp(act->class_code, "EMER") == 0
                          ? "an acute ambulant stay has Encounter.class EMER"
                          : "an inpatient stay has Encounter.class IMP");
    const char *status = json_string_value(json_object_get(msg->focus, "status"));
    if (!cancel && (!status || strcmp(status, act->status) != 0)) {
        char what[120];
        snprintf(what, sizeof(what), "the activity %s needs Encounter.status '%s'", msg->activity,
                 act->status);
        return refuse(out, "business-rule", msg->focus_index, "status", what);
    }
    int64_t patient_before = 0;
    sv__medcom_home home;
    sv_err e = sv__medcom_receiver_home(r, msg, &home, out);
    if (!e)
        e = sv__medcom_patient(r, msg, &home, patient_id, &patient_before, out);
    if (e)
        return e;
    const char *provider = NULL;
    size_t pi =
        sv__medcom_resolve(msg, json_string_value(json_object_get(
                                    json_object_get(msg->focus, "serviceProvider"), "reference")));
    if (pi != SIZE_MAX && strcmp(msg->entries[pi].type, "Organization") == 0) {
        e = sv__medcom_organization(r, msg->entries[pi].resource, provider_id, out);
        if (e)
            return e;
        provider = provider_id;
    }

    char key[400];
    stay_key(msg, key, sizeof(key));
    e = sv__medcom_link_find(r->db, key, encounter_id);
    bool known = e == SV_OK;
    if (e && e != SV_ERR_NOT_FOUND)
        return e;
    int64_t encounter_before = 0;
    if (known) {
        sv_rest_result rr;
        sv_rest_result_init(&rr);
        e = sv_rest_read(r, "Encounter", encounter_id, &rr);
        json_t *cur = e ? NULL : sv_json_loadb(rr.body.ptr, rr.body.len, 0, NULL);
        encounter_before = rr.version;
        sv_rest_result_clear(&rr);
        if (!cur)
            return e ? e : SV_ERR_INTERNAL;
        char want[100];
        snprintf(want, sizeof(want), "Patient/%s", patient_id);
        const char *subject =
            json_string_value(json_object_get(json_object_get(cur, "subject"), "reference"));
        bool same = subject && strcmp(subject, want) == 0;
        json_decref(cur);
        if (!same)
            return refuse(out, "business-rule", msg->patient_index, "identifier",
                          "the CPR-nummer does not match the citizen of this stay");
    } else {
        sv_id_uuid(encounter_id);
    }

    /* The state to write: for a cancellation of a message we applied, the
     * versions from before it; else what the message states. */
    json_t *enc = NULL, *restore_patient = NULL;
    sv__medcom_logged cancelled;
    memset(&cancelled, 0, sizeof(cancelled));
    if (cancel && msg->about_header &&
        sv__medcom_log_find(r->db, msg->about_header, &cancelled) == SV_OK) {
        if (known && strcmp(cancelled.encounter_id, encounter_id) == 0 &&
            cancelled.encounter_before > 0)
            enc = load_version(r->db, "Encounter", encounter_id, cancelled.encounter_before);
        if (strcmp(cancelled.patient_id, patient_id) == 0 && cancelled.patient_before > 0)
            restore_patient = load_version(r->db, "Patient", patient_id, cancelled.patient_before);
    }
    sv__medcom_logged_clear(&cancelled);
    if (enc) {
        json_object_del(enc, "id");
        json_t *meta = json_object_get(enc, "meta");
        json_object_del(meta, "versionId");
        json_object_del(meta, "lastUpdated");
    } else {
        enc = encounter_from_message(msg, patient_id, provider);
    }
    e = write(r, "Encounter", encounter_id, enc, out);
    json_decref(enc);
    if (!e && !known)
        e = sv__medcom_link_add(r->db, key, "Encounter", encounter_id);

    bool died = act->op == OP_DIED || is_deceased(msg->patient);
    if (!e && !cancel && died)
        e = set_deceased(r, patient_id, msg->patient, out);
    else if (!e && cancel && restore_patient)
        e = set_deceased(r, patient_id, restore_patient, out);
    json_decref(restore_patient);
    if (e)
        return e;

    row->patient_id = patient_id;
    row->encounter_id = encounter_id;
    row->patient_before = patient_before;
    row->encounter_before = encounter_before;
    ev->kind = cancel   ? "encounter.cancelled"
               : revise ? "encounter.corrected"
               : died   ? "patient.died"
                        : op_event[act->op];
    ev->patient_id = patient_id;
    ev->encounter_id = encounter_id;
    ev->encounter_class = act->class_code;
    return SV_OK;
}
