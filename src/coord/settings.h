/*
 * settings.h - the rules of messaging and hand-over that are data, not code:
 * the expected answer time per MedCom message category
 * (data/messaging/answer-times.json), the deadline of a medication
 * reconciliation item (data/medication/reconciliation.json), the start
 * deadline and routing of rehabilitation plans
 * (data/rehabilitation/plan-handover.json), and the attachment size limit.
 *
 * Loaded once before serving (sv_coord_settings_load); until then, and for a
 * file that is absent, the built-in defaults (the same values as the files)
 * hold.  Read-only afterwards, so worker threads read them without locks.
 * Depends on base/ only.
 */
#ifndef SV_COORD_SETTINGS_H
#define SV_COORD_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/calendar.h"
#include "base/error.h"

/* MedCom: a CareCommunication carries at most 50 MB (REFERENCES.md). */
#define SV_COORD_DEFAULT_MAX_ATTACHMENT ((size_t)50 * 1024 * 1024)

typedef struct sv_coord_rule {
    int amount; /* -1: no deadline */
    sv_deadline_unit unit;
    sv_calendar_country country;
} sv_coord_rule;

/* Reads the three files under data_dir (a missing file keeps its defaults; a
 * malformed one is an error naming it).  max_attachment 0 keeps the default. */
sv_err sv_coord_settings_load(const char *data_dir, size_t max_attachment, sv_buf *reterr);

/* The largest attachment (decoded bytes), and the largest sum per message. */
size_t sv__coord_max_attachment(void);
/* The expected answer time of a category (MedCom category code); amount -1
 * when no answer is expected. */
sv_coord_rule sv__coord_answer_time(const char *category);
/* How long the Task for an unanswered message runs before it escalates. */
sv_coord_rule sv__coord_answer_escalation(void);
sv_coord_rule sv__coord_reconciliation_deadline(void);
sv_coord_rule sv__coord_rehabilitation_start(void);
/* The Organization.type code (system staff...organization-type) that takes a
 * rehabilitation plan of this type, or NULL for an unknown type. */
const char *sv__coord_rehabilitation_org_type(const char *plan_type);

/* The unit's code in a deadline-rule extension: hours, calendar-days, working-days. */
const char *sv__coord_unit_code(sv_deadline_unit unit);

#endif
