/*
 * notify.h - the notification inbox: one row per notice, addressed to a user
 * (a PractitionerRole, Practitioner, Patient or RelatedPerson reference) and/or
 * an organisation (Organization reference), about a citizen and a resource.
 * Written in the transaction of the change that causes it (task assigned, plan
 * changed, coordinator changed, watchdog job), so a rolled-back change leaves
 * no notice.  Table coord_notification (store/schema.c, migration 6).
 * docs/coordination.md shows the HTTP form.  Depends on fhir/ and below.
 */
#ifndef SV_COORD_NOTIFY_H
#define SV_COORD_NOTIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"

/* The kinds; the strings are what the table and the API carry. */
#define SV_NOTICE_TASK_NEW "task-new"
#define SV_NOTICE_TASK_REASSIGNED "task-reassigned"
#define SV_NOTICE_TASK_REMINDER "task-reminder"
#define SV_NOTICE_TASK_OVERDUE "task-overdue"
#define SV_NOTICE_TASK_ESCALATED "task-escalated"
#define SV_NOTICE_PLAN_CHANGED "plan-changed"
#define SV_NOTICE_PLAN_AWAITING "plan-awaiting-agreement"
#define SV_NOTICE_COORDINATOR_CHANGED "coordinator-changed"
#define SV_NOTICE_MESSAGE_RECEIVED "message-received"
#define SV_NOTICE_BREAK_THE_GLASS "break-the-glass"
#define SV_NOTICE_MEDICATION_CHANGE "medication-change"
#define SV_NOTICE_MEDICATION_DISPUTED "medication-disputed"
#define SV_NOTICE_REHABILITATION_PLAN "rehabilitation-plan"
/* Hospital stays (stays/, docs/transitions.md): "stay-" + the event's name. */
#define SV_NOTICE_STAY_ADMITTED "stay-admitted"
#define SV_NOTICE_STAY_LEAVE_STARTED "stay-leave-started"
#define SV_NOTICE_STAY_LEAVE_ENDED "stay-leave-ended"
#define SV_NOTICE_STAY_READY "stay-discharge-ready"
#define SV_NOTICE_STAY_READY_WITHDRAWN "stay-discharge-ready-withdrawn"
#define SV_NOTICE_STAY_DISCHARGED "stay-discharged"
#define SV_NOTICE_STAY_DIED "stay-died"
#define SV_NOTICE_STAY_CORRECTED "stay-corrected"
#define SV_NOTICE_STAY_CANCELLED "stay-cancelled"
#define SV_NOTICE_PLAN_AGREED "plan-agreed"
#define SV_NOTICE_MEETING_CALLED "meeting-called"
#define SV_NOTICE_MEETING_CHANGED "meeting-changed"
#define SV_NOTICE_CITIZEN_REMINDER "citizen-reminder"

/* True when kind is one of the kinds above. */
bool sv_coord_notice_kind_known(const char *kind);

typedef struct sv_coord_notice {
    const char *kind;      /* SV_NOTICE_* */
    const char *recipient; /* "PractitionerRole/x", "Patient/y", ...; NULL: only the organisation */
    const char *organization; /* "Organization/z"; NULL: only the recipient */
    const char *citizen;      /* "Patient/y" or NULL */
    const char *resource;     /* "Task/t" the notice is about, or NULL */
    const char *text;         /* short human text, or NULL */
} sv_coord_notice;

/* The PostgreSQL channel a committed notice is announced on (sv_db_listen). */
#define SV_COORD_NOTICE_CHANNEL "sv_notification"

/* Appends one notice at the clock's now.  At least recipient or organization.
 * Once it commits, waiters of this process are woken (coord/notify_wait.h); on
 * PostgreSQL the transaction also runs pg_notify on SV_COORD_NOTICE_CHANNEL with
 * the owner (recipient, else organisation) as payload, delivered at commit. */
sv_err sv_coord_notify(sv_db *db, const sv_coord_notice *n, sv_buf *reterr);

/*
 * Notifies a party given as a reference: a PractitionerRole gets it in its own
 * inbox and its organisation's; an Organization in its inbox; a Patient,
 * RelatedPerson or Practitioner in their own; a CareTeam: each member active at
 * the clock's now.  Other references are ignored.  n.recipient and
 * n.organization are set here.
 */
sv_err sv_coord_notify_party(sv_db *db, const char *party, const sv_coord_notice *n,
                             sv_buf *reterr);

typedef struct sv_coord_inbox_query {
    const char *recipient;    /* NULL: any */
    const char *organization; /* NULL: any */
    const char *citizen;      /* NULL: any */
    bool unread_only;
    int64_t limit;
    int64_t after_id; /* only notices with a larger id (the long poll's cursor); 0: all */
} sv_coord_inbox_query;

/* The matching notices, newest first, as a JSON array (new reference), and the
 * count of unread ones matching (ignoring unread_only, limit and after_id). */
sv_err sv_coord_inbox(sv_db *db, const sv_coord_inbox_query *q, json_t **ret_list,
                      int64_t *ret_unread, sv_buf *reterr);
/* The statement sv_coord_inbox runs for q: the unread count (count) or the page
 * (static text; tests read its plan). */
const char *sv__coord_inbox_sql(const sv_coord_inbox_query *q, bool count);

#define SV_COORD_NOTICE_REF_LEN 160
/* The recipient and organisation of notice id ("" for none); SV_ERR_NOT_FOUND
 * when unknown. */
sv_err sv_coord_notice_owner(sv_db *db, int64_t id, char ret_recipient[SV_COORD_NOTICE_REF_LEN],
                             char ret_organization[SV_COORD_NOTICE_REF_LEN], sv_buf *reterr);

/* Marks notice id read (at the clock's now); SV_ERR_NOT_FOUND when unknown.
 * Marking a read notice again keeps its first read time. */
sv_err sv_coord_notice_mark_read(sv_db *db, int64_t id, sv_buf *reterr);

#endif
