/*
 * internal.h - shared between the files of medcom/ only: the parsed form of
 * an incoming message, the ledger tables (message log, links, events, outbox)
 * and the Acknowledgement builder.
 */
#ifndef SV_MEDCOM_INTERNAL_H
#define SV_MEDCOM_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/datetime.h"
#include "base/id.h"
#include "db/db.h"
#include "fhir/outcome.h"
#include "fhir/rest.h"
#include "medcom/medcom.h"

#define SV__MEDCOM_EVENT_SYSTEM                                                                    \
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-eventCodes"
#define SV__MEDCOM_ACTIVITY_SYSTEM                                                                 \
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-activityCodes"
#define SV__MEDCOM_SOR_SYSTEM "urn:oid:1.2.208.176.1.1"
/* As the stay rules know them (stays/internal.h): a municipality's Organization
 * carries its code under this system, an Address under this extension. */
#define SV__MEDCOM_MUNICIPALITY_SID "http://samverka.org/fhir/sid/dk-municipality-code"
#define SV__MEDCOM_MUNICIPALITY_EXT "http://samverka.org/fhir/StructureDefinition/municipality-code"
#define SV__MEDCOM_DESTINATION_USE                                                                 \
    "http://medcomfhir.dk/ig/messaging/StructureDefinition/"                                       \
    "medcom-messaging-destinationUseExtension"
#define SV__MEDCOM_LEAVE_EXTENSION                                                                 \
    "http://medcomfhir.dk/ig/hospitalnotification/StructureDefinition/"                            \
    "medcom-hospitalnotifiation-leave-period-extension"

/* At most this many entries in one message: a limit on what a sender controls. */
#define SV__MEDCOM_MAX_ENTRIES 500

typedef struct sv__medcom_entry {
    const char *type; /* resourceType; borrowed from the bundle */
    const char *id;   /* may be NULL */
    const char *full_url;
    json_t *resource; /* borrowed */
} sv__medcom_entry;

/* An incoming message after the structural checks.  Every pointer is borrowed
 * from the bundle, which outlives it. */
typedef struct sv__medcom_msg {
    const json_t *bundle;
    sv__medcom_entry entries[SV__MEDCOM_MAX_ENTRIES];
    size_t nentries;
    sv_medcom_kind kind;
    const char *message_id; /* MessageHeader.id */
    json_t *header;
    json_t *provenance; /* the Provenance whose target is this header */
    size_t provenance_index;
    const char *activity;     /* its activity code */
    const char *about_header; /* entity (revision/removal) of that Provenance: the header id of
                               * the message this one corrects, cancels or follows; may be NULL */
    json_t *sender_org, *receiver_org;
    size_t sender_index, receiver_index;
    json_t *focus; /* Encounter, Communication, or NULL (acknowledgement) */
    size_t focus_index;
    json_t *patient;
    size_t patient_index;
    const char *cpr;         /* Patient.identifier value with the CPR system */
    const char *response_to; /* acknowledgement: MessageHeader.response.identifier */
    const char *response_code;
} sv__medcom_msg;

/* Checks the bundle and fills msg.  Returns SV_OK, SV_ERR_INVALID when no
 * acknowledgement can be made (no MessageHeader with an id: issues in out,
 * answered as a plain OperationOutcome), or SV_ERR_PROCESSING when the message is
 * refused (issues in out, answered with a fatal-error acknowledgement). */
sv_err sv__medcom_parse(const json_t *bundle, sv__medcom_msg *msg, sv_outcome *out);
/* The entry a reference ("Type/id" or a fullUrl) points at; SIZE_MAX if none. */
size_t sv__medcom_resolve(const sv__medcom_msg *msg, const char *reference);
/* "Bundle.entry[i].resource" + suffix, for issue expressions. */
void sv__medcom_path(char *out, size_t cap, size_t index, const char *suffix);

/* ---- ledger.c: the tables of migration 7 ---- */

typedef struct sv__medcom_logged {
    char code[20];
    char *ack; /* owned */
    char patient_id[65], encounter_id[65];
    int64_t patient_before, encounter_before;
    char activity[64];
} sv__medcom_logged;

void sv__medcom_logged_clear(sv__medcom_logged *l);
/* SV_ERR_NOT_FOUND when message_id was never logged. */
sv_err sv__medcom_log_find(sv_db *db, const char *message_id, sv__medcom_logged *ret);

typedef struct sv__medcom_log_row {
    const char *message_id, *kind, *activity, *code, *ack;
    const char *patient_id, *encounter_id, *communication_id;
    int64_t patient_before, encounter_before;
    /* storage for the ids above, filled by the apply functions */
    char patient_buf[65], encounter_buf[65], communication_buf[65];
} sv__medcom_log_row;
sv_err sv__medcom_log_add(sv_db *db, const sv__medcom_log_row *row);

/* A sender's identity for a resource (stay, thread, organisation) mapped to ours. */
sv_err sv__medcom_link_find(sv_db *db, const char *key, char ret_id[65]);
sv_err sv__medcom_link_add(sv_db *db, const char *key, const char *type, const char *id);

/* Appends ev's row; handled: written already claimed, by the apply hook about to act on
 * it (medcom.h), so that it never enters the index of the rows still to act on. */
sv_err sv__medcom_event_add(sv_db *db, const sv_medcom_event *ev, bool handled, int64_t *ret_seq);
/* Leaves the row of seq to the durable consumer (handled = 0). */
sv_err sv__medcom_event_release(sv_db *db, int64_t seq);

/* ---- ack.c ---- */

/* The ids and the instant an acknowledgement is made with: new uuids and now. */
typedef struct sv__medcom_ack_ids {
    char bundle[SV_UUID_LEN], header[SV_UUID_LEN], outcome[SV_UUID_LEN], provenance[SV_UUID_LEN];
    char now[SV_INSTANT_LEN];
} sv__medcom_ack_ids;
void sv__medcom_ack_ids_new(sv__medcom_ack_ids *ret);

/* Appends the Acknowledgement Bundle for msg to out as compact JSON text, written
 * directly (no jansson tree): what sv_json_dumpb would write for the same Bundle.
 * code: "ok", "transient-error" or "fatal-error"; issues (may be NULL) go into its
 * OperationOutcome when code is not "ok".  msg->message_id must be set. */
void sv__medcom_ack_write(const sv__medcom_msg *msg, const char *code, const sv_outcome *issues,
                          const sv__medcom_ack_ids *ids, sv_buf *out);
/* The same with new ids (sv__medcom_ack_ids_new). */
void sv__medcom_ack_text(const sv__medcom_msg *msg, const char *code, const sv_outcome *issues,
                         sv_buf *out);

/* ---- stay.c, thread.c ---- */

/* Applies a HospitalNotification inside the caller's write transaction. */
sv_err sv__medcom_apply_stay(sv_rest *r, const sv__medcom_msg *msg, sv__medcom_log_row *row,
                             sv_medcom_event *ev, sv_outcome *out);
/* Applies a CareCommunication inside the caller's write transaction. */
sv_err sv__medcom_apply_thread(sv_rest *r, const sv__medcom_msg *msg, sv__medcom_log_row *row,
                               sv_medcom_event *ev, sv_outcome *out);
/* The home municipality a HospitalNotification implies: it is sent to the care
 * provider of the citizen's home municipality (Retssikkerhedsloven §12c), so its
 * receiver (destination[0].receiver, found by SOR) - or the first Organization up
 * its partOf chain that carries a municipality code.  The receiver is found (or
 * created) for every message; the chain is read only when a citizen needs it. */
typedef struct sv__medcom_home {
    char receiver[65]; /* our Organization for the receiver */
    char ref[100];     /* "Organization/id" once sv__medcom_home_ref found it */
    bool walked;
} sv__medcom_home;

sv_err sv__medcom_receiver_home(sv_rest *r, const sv__medcom_msg *msg, sv__medcom_home *ret,
                                sv_outcome *out);
/* "Organization/id" of the home municipality (borrowed from home), read up the
 * receiver's partOf chain on the first call. */
sv_err sv__medcom_home_ref(sv_rest *r, sv__medcom_home *home, const char **ret_ref);
/* Finds or creates our Patient for the message's CPR; ret_before: its version
 * before this message (0 when created).  Shared by stay.c and thread.c.
 * home (may be NULL): the home municipality the message implies, written as
 * managingOrganization when the citizen has neither one nor an address with a
 * municipality code. */
sv_err sv__medcom_patient(sv_rest *r, const sv__medcom_msg *msg, sv__medcom_home *home,
                          char ret_id[65], int64_t *ret_before, sv_outcome *out);
/* Finds or creates our Organization for a message's Organization (by its SOR
 * identifier when it has one). */
sv_err sv__medcom_organization(sv_rest *r, const json_t *org, char ret_id[65], sv_outcome *out);

#endif
