/*
 * care.h - messaging between organisations (message.c), the medication
 * hand-over (medication.c) and the rehabilitation plan hand-over (rehab.c):
 * the write rules the hooks call, the watchdog's jobs about messages, and the
 * FHIR operations api/ answers ($reply, $forward, $read,
 * $medication-handover, $confirm, $dispute).  docs/messaging.md,
 * docs/medication.md.  Depends on fhir/ and below.
 */
#ifndef SV_COORD_CARE_H
#define SV_COORD_CARE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "coord/settings.h"
#include "fhir/rest.h"

#define SV_SYS_MEDCOM_CATEGORY                                                                     \
    "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-careCommunication-categoryCodes"
#define SV_MEDCOM_CC_PROFILE                                                                       \
    "http://medcomfhir.dk/ig/carecommunication/StructureDefinition/"                               \
    "medcom-careCommunication-communication"
#define SV_MEDCOM_EXT "http://medcomfhir.dk/ig/core/StructureDefinition/"
#define SV_EXT_MC_DATETIME SV_MEDCOM_EXT "medcom-core-datetime-extension"
#define SV_EXT_MC_IDENTIFIER SV_MEDCOM_EXT "medcom-core-identifier-extension"
#define SV_EXT_MC_PRACTITIONER SV_MEDCOM_EXT "medcom-core-practitioner-extension"
#define SV_EXT_MC_CONTACT SV_MEDCOM_EXT "medcom-core-contact-extension"

/* ---- messages (message.c) ---------------------------------------------------- */

/* True for a Communication of ours that is a message: a MedCom category, and
 * not a CareCommunication applied by $process-message (medcom/ checked that). */
bool sv__coord_is_message(const json_t *comm);
sv_err sv__coord_message_before(sv_rest *r, const json_t *old, json_t *comm, sv_outcome *out);
sv_err sv__coord_message_after(sv_rest *r, const char *id, const json_t *old, const json_t *stored,
                               sv_outcome *out);
/* The watchdog's answer-due job: an unanswered message becomes a Task for the
 * receiving organisation.  *ret_made true when it made one. */
sv_err sv__coord_message_job(sv_rest *r, const char *id, int64_t due, bool *ret_made,
                             sv_buf *reterr);

/* $reply / $forward / $read of Communication/id with a Parameters body
 * (borrowed).  On success res holds the written Communication (201 for a new
 * message, 200 for a receipt). */
sv_err sv_coord_message_reply(sv_rest *r, const char *id, const json_t *params,
                              sv_rest_result *res);
sv_err sv_coord_message_forward(sv_rest *r, const char *id, const json_t *params,
                                sv_rest_result *res);
sv_err sv_coord_message_read(sv_rest *r, const char *id, const json_t *params, sv_rest_result *res);

/* ---- medication (medication.c) ------------------------------------------------ */

/* Patient/id/$medication-handover: the changes of one discharge as one
 * transaction; res->body is a Bundle of the written statements, tasks, flags. */
sv_err sv_coord_medication_handover(sv_rest *r, const char *patient_id, const json_t *params,
                                    sv_rest_result *res);
/* Task/id/$confirm and $dispute of a reconciliation item. */
sv_err sv_coord_reconciliation_settle(sv_rest *r, const char *task_id, bool confirm,
                                      const json_t *params, sv_rest_result *res);
/* Task hook parts for the task codes of this file (reconciliation). */
sv_err sv__coord_reconciliation_after(sv_rest *r, const char *id, int64_t version,
                                      const json_t *old, const json_t *task, sv_outcome *out);

/* ---- rehabilitation plans (rehab.c) -------------------------------------------- */

sv_err sv__coord_rehab_plan_after(sv_rest *r, const char *id, const json_t *old, const json_t *plan,
                                  sv_outcome *out);
sv_err sv__coord_rehab_task_before(sv_rest *r, const json_t *old, json_t *task, sv_outcome *out);
sv_err sv__coord_rehab_task_after(sv_rest *r, const char *id, const json_t *task);

/* ---- shared --------------------------------------------------------------------- */

#define SV_SYS_TASK_CODE "http://samverka.org/fhir/CodeSystem/task-code"
#define SV_SYS_FLAG_CODE "http://samverka.org/fhir/CodeSystem/flag-code"
#define SV_EXT_READ_RECEIPT "http://samverka.org/fhir/StructureDefinition/read-receipt"
#define SV_EXT_FLAG_DETAIL "http://hl7.org/fhir/StructureDefinition/flag-detail"

/* The deadline-rule extension (docs/coordination.md) of rule. New reference. */
json_t *sv__coord_rule_extension(sv_coord_rule rule);
/* The code of a Task's code in SV_SYS_TASK_CODE, or NULL. */
const char *sv__coord_task_code(const json_t *task);
/* Tasks of these codes are done in one step (confirm, answer): requested,
 * received, accepted may go straight to completed. */
bool sv__coord_task_one_step(const json_t *task);
/* A Provenance agent for who acts in r (the request's PractitionerRole, or a
 * display of the principal).  New reference. */
json_t *sv__coord_author_agent(const sv_rest *r);
/* The id of the PractitionerRole the caller acts in, or NULL. */
const char *sv__coord_actor_role(const sv_rest *r);
/* The caller's organisation ("Organization/x") or "" (no policy, not a practitioner). */
const char *sv__coord_caller_org(const sv_rest *r);
/* Writes resource (create when id NULL, else update) on r; the issues of a
 * refusal go to out.  ret_id (65) receives the id; may be NULL. */
sv_err sv__coord_write(sv_rest *r, const char *type, const char *id, json_t *resource, char *ret_id,
                       sv_outcome *out);

#endif
