/*
 * medcom.h - Danish MedCom FHIR messaging: HospitalNotification (advis om
 * sygehusophold), CareCommunication (korrespondancemeddelelse) and
 * Acknowledgement, incoming ($process-message) and outgoing (outbox).
 *
 * An incoming message is checked (Bundle of type message, MessageHeader first,
 * eventCoding from the MedCom message-events code system, the resources the
 * message needs, the citizen identified by a valid CPR that agrees with what
 * we know), mapped to Encounter or Communication, stored through fhir/rest.h
 * in one transaction with its line in the message log, and answered with a
 * MedCom Acknowledgement Bundle.  A message id seen before gets the same
 * acknowledgement and changes nothing.
 *
 * Each applied message appends one row to the medcom_event table in the same
 * transaction (the durable hook for rulesets, tasks and notifications: read
 * rows with handled = 0) and, after the commit, calls the process-wide event
 * hook when one is set.  docs/medcom.md describes both.
 *
 * Depends on fhir/ and below; must not know about HTTP.
 */
#ifndef SV_MEDCOM_MEDCOM_H
#define SV_MEDCOM_MEDCOM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "fhir/outcome.h"
#include "fhir/rest.h"

typedef enum sv_medcom_kind {
    SV_MEDCOM_NONE,
    SV_MEDCOM_HOSPITAL_NOTIFICATION,
    SV_MEDCOM_CARE_COMMUNICATION,
    SV_MEDCOM_ACKNOWLEDGEMENT
} sv_medcom_kind;

/* "hospital-notification", "care-communication", "acknowledgement", "" */
const char *sv_medcom_kind_name(sv_medcom_kind kind);

/* What an applied message means for the care around the citizen.  kind is one
 * of: "encounter.admitted", "encounter.leave-started", "encounter.leave-ended",
 * "encounter.discharged", "patient.died", "encounter.corrected",
 * "encounter.cancelled", "communication.received", "acknowledgement.received".
 * All strings borrowed for the duration of the call. */
typedef struct sv_medcom_event {
    const char *kind;
    const char *activity;   /* the MedCom activity code, e.g. "admit-inpatient" */
    const char *message_id; /* MessageHeader.id */
    const char *patient_id; /* our Patient id; NULL for acknowledgements */
    const char *encounter_id;
    const char *communication_id;
    const char *encounter_class; /* "IMP", "EMER" or NULL */
    int64_t seq;                 /* the medcom_event row */
    int64_t time;                /* its time (ms since the epoch) */
} sv_medcom_event;

typedef void (*sv_medcom_event_hook)(void *ctx, const sv_medcom_event *ev);

/* Sets the hook called after each committed event (NULL: none).  Called on the
 * worker thread that processed the message; it must not block for long. */
void sv_medcom_set_event_hook(sv_medcom_event_hook hook, void *ctx);

/*
 * The in-transaction consumer of events (NULL: none): called inside the
 * message's own write transaction, after its event row is written, on the
 * connection of r (the writer's; r->hooks, access and actor are the
 * submitter's).  The row is written handled, claimed for the hook, so that the
 * message, its consequences and the claim commit together (one commit instead
 * of a second transaction per message).  It sets *ret_handled when it acted;
 * on SV_OK without it the writer marks the row unhandled again, for the
 * durable consumer (the feed).  It runs without a savepoint: on an error the
 * writer undoes the whole transaction and applies its messages again, this
 * one without the hook, so that the message stands, nothing of what the hook
 * wrote does, and the row stays for the durable consumer.
 */
typedef sv_err (*sv_medcom_apply_hook)(void *ctx, sv_rest *r, const sv_medcom_event *ev,
                                       bool *ret_handled);
void sv_medcom_set_apply_hook(sv_medcom_apply_hook hook, void *ctx);

typedef struct sv_medcom_result {
    int status;       /* HTTP status: 200 with an acknowledgement, else an error status */
    sv_buf body;      /* the Acknowledgement Bundle, or an OperationOutcome */
    const char *code; /* "ok", "transient-error", "fatal-error"; NULL when no ack */
    bool duplicate;   /* the message id was seen before: nothing was changed */
    bool handled;     /* the apply hook acted on its event in the message's transaction */
    sv_medcom_kind kind;
    char message_id[65];
    char activity[64];
    sv_outcome outcome; /* the issues of a refusal */
} sv_medcom_result;

void sv_medcom_result_init(sv_medcom_result *res);
void sv_medcom_result_clear(sv_medcom_result *res);

/*
 * Processes one message Bundle (borrowed) on r's connection; r must not be in
 * a transaction.  Returns SV_OK whenever an acknowledgement was made (also a
 * fatal or transient one: res->code says which); otherwise the error that
 * decides the status of the OperationOutcome in res->outcome (no MessageHeader
 * to acknowledge).
 */
sv_err sv_medcom_process(sv_rest *r, const json_t *bundle, sv_medcom_result *res);

/* The writer of incoming messages waits up to ms milliseconds after it takes its
 * turn, for more messages to share its transaction (like PostgreSQL's commit_delay:
 * fewer, larger commits for more latency); 0 (the default): it takes what is queued.
 * Set before serving. */
void sv_medcom_set_batch_wait(int ms);

/* Counters of the writer of incoming messages since start (this process). */
typedef struct sv_medcom_writer_stats {
    int64_t batches;      /* write transactions of the writer */
    int64_t messages;     /* messages applied in them (duplicates too) */
    int64_t refusals;     /* messages refused for their content (their batch was done again) */
    int64_t apply_ns;     /* wall time applying them: from the wait for the database's
                             writer (its previous commit) to the end, without the commit */
    int64_t apply_cpu_ns; /* CPU time of the writer's thread meanwhile */
} sv_medcom_writer_stats;
void sv_medcom_writer_stats_get(sv_medcom_writer_stats *ret_stats);

/* ---- outgoing (outgoing.c) ---- */

/* Who we are when we send: our organisation as a MedCom Organization resource
 * (with a SOR identifier) and our endpoint ("https://sor2.sum.dsdn.dk/#id=..."). */
typedef struct sv_medcom_party {
    const json_t *organization; /* borrowed */
    const char *endpoint;
} sv_medcom_party;

/*
 * A HospitalNotification message for the stored Encounter encounter_id, with
 * the activity code given (e.g. "admit-inpatient"), from sender to receiver.
 * The Patient and the service provider are read from the store.  New
 * reference in *ret_bundle; issues in out on failure.
 */
sv_err sv_medcom_build_hospital_notification(sv_rest *r, const char *encounter_id,
                                             const char *activity, const sv_medcom_party *sender,
                                             const sv_medcom_party *receiver, json_t **ret_bundle,
                                             sv_outcome *out);
/* A CareCommunication message (activity "new-message") for the stored
 * Communication communication_id. */
sv_err sv_medcom_build_care_communication(sv_rest *r, const char *communication_id,
                                          const sv_medcom_party *sender,
                                          const sv_medcom_party *receiver, json_t **ret_bundle,
                                          sv_outcome *out);

/* Queues a built message (borrowed) in the outbox, due now.  Its
 * MessageHeader.id is the outbox key; a second add of the same id is
 * SV_ERR_CONFLICT. */
sv_err sv_medcom_outbox_add(sv_db *db, const json_t *bundle, sv_buf *reterr);

/* Outbox states: pending (due at next_attempt), sent (waiting for its
 * acknowledgement), acked, failed (fatal-error acknowledgement or retries used up). */
typedef struct sv_medcom_outbox_item {
    int64_t seq;
    const char *message_id, *kind, *state, *ack_code, *last_error;
    int64_t created, next_attempt, attempts;
} sv_medcom_outbox_item;

typedef bool (*sv_medcom_outbox_visit)(void *ctx, const sv_medcom_outbox_item *item);
/* Visits the outbox in queue order; state NULL: all states. */
sv_err sv_medcom_outbox_list(sv_db *db, const char *state, sv_medcom_outbox_visit visit, void *ctx,
                             sv_buf *reterr);
/* Records a delivery attempt: ok moves the item to "sent"; a failure keeps it
 * pending with the next attempt after a doubling delay (1 min, 2, 4 ... capped
 * at 1 h), and fails it after SV_MEDCOM_MAX_ATTEMPTS. */
#define SV_MEDCOM_MAX_ATTEMPTS 10
sv_err sv_medcom_outbox_attempt(sv_db *db, const char *message_id, bool ok, const char *error,
                                sv_buf *reterr);

/* ---- delivery (deliver.c; the HTTP exchange is the caller's) ---- */

typedef struct sv_medcom_outbox_due_item {
    const char *message_id;
    const char *bundle; /* the message as queued (JSON text) */
    size_t bundle_len;
    const char *receiver_sor; /* SOR id of destination[0].receiver; "" when it has none */
} sv_medcom_outbox_due_item;

/* Delivers one claimed item (the caller posts it and settles it); an error ends the round. */
typedef sv_err (*sv_medcom_outbox_deliver)(void *ctx, const sv_medcom_outbox_due_item *item);

/* Whether the round may take another item (e.g. its time budget is not spent). */
typedef bool (*sv_medcom_outbox_more)(void *ctx);

/* Up to max pending items that are due, oldest first, each claimed first (its
 * next attempt moved lease_ms ahead, in a transaction of its own, so another
 * sender skips it) and handed to fn outside any transaction, while more (may
 * be NULL) agrees; the rest are left untouched.  *ret_claimed: how many were. */
sv_err sv_medcom_outbox_deliver_due(sv_db *db, int max, int64_t lease_ms,
                                    sv_medcom_outbox_deliver fn, sv_medcom_outbox_more more,
                                    void *ctx, int *ret_claimed, sv_buf *reterr);

/* Whether answer is the Acknowledgement of message_id; its response.code in ret_code. */
bool sv_medcom_ack_code(const char *answer, size_t len, const char *message_id, char ret_code[20]);

/* Settles a delivery: "ok" → acked, "fatal-error" → failed (both final);
 * "transient-error" or NULL (no acknowledgement: error says why) → pending after
 * the doubling delay of sv_medcom_outbox_attempt. */
sv_err sv_medcom_outbox_settle(sv_db *db, const char *message_id, const char *ack_code,
                               const char *error, sv_buf *reterr);

#endif
