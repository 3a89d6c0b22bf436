/*
 * internal.h - shared by the files of stays/ only: rulesets, events, parties.
 */
#ifndef SV_STAYS_INTERNAL_H
#define SV_STAYS_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/calendar.h"
#include "coord/util.h"
#include "stays/stays.h"

#define SV_STAYS_BASE "http://samverka.org/fhir/"
#define SV_EXT_DISCHARGE_READY SV_STAYS_BASE "StructureDefinition/discharge-ready"
#define SV_EXT_EXPECTED_DISCHARGE SV_STAYS_BASE "StructureDefinition/expected-discharge"
#define SV_EXT_ADMISSION_REPORT SV_STAYS_BASE "StructureDefinition/admission-report-requested"
#define SV_EXT_RULESET SV_STAYS_BASE "StructureDefinition/ruleset"
#define SV_EXT_STAY_RULE SV_STAYS_BASE "StructureDefinition/stay-rule"
#define SV_EXT_MUNICIPALITY_CODE SV_STAYS_BASE "StructureDefinition/municipality-code"
#define SV_SYS_STAY_TASK SV_STAYS_BASE "CodeSystem/stay-task"
#define SV_SID_DK_MUNICIPALITY SV_STAYS_BASE "sid/dk-municipality-code"
#define SV_SID_SE_MUNICIPALITY SV_STAYS_BASE "sid/se-municipality-code"

/* The task samverka itself makes when nobody can be told. */
#define SV_TASK_FIND_MUNICIPALITY "home-municipality-unknown"

typedef struct sv__ruleset {
    char id[64];
    sv_calendar_country country;
    json_t *doc;           /* the file as loaded (owned) */
    json_t *rules;         /* merged with the parent's (owned) */
    json_t *sources;       /* merged with the parent's (owned) */
    const json_t *payment; /* borrowed from doc or the parent's doc; NULL: none */
} sv__ruleset;

struct sv_stays {
    sv__ruleset *sets;
    size_t n;
    sv_rest_hooks hooks;
};

const sv__ruleset *sv__stays_ruleset(const sv_stays *s, const char *id);
/* Sets s->hooks (once, at load: the hooks are then read by every thread). */
void sv__stays_hooks_init(sv_stays *s);

/* One event of a stay (or of the plan and team around it).  Borrowed. */
typedef struct sv__stay_event {
    const char *kind;       /* "encounter.admitted", ... (docs/transitions.md) */
    const char *source;     /* "rest" or "medcom" */
    int64_t medcom_seq;     /* the medcom_event row, else 0 */
    const char *patient;    /* "Patient/x" */
    const char *encounter;  /* "Encounter/y" or NULL */
    const json_t *resource; /* the Encounter (or CarePlan, CareTeam) as now stored */
    int64_t version;        /* its version, 0 when unknown */
    const json_t *citizen;  /* the Patient as now stored, when the caller has it; else NULL */
    int64_t at;             /* when it happened */
    const char *detail;     /* what changed, for corrections; or NULL */
} sv__stay_event;

/* The parties of a citizen's stay; "" where unknown. */
typedef struct sv__parties {
    char municipality[SV_COORD_REF_LEN];
    char gp[SV_COORD_REF_LEN];
    char coordinator[SV_COORD_REF_LEN];
    char department[SV_COORD_REF_LEN];
    const char *municipality_from; /* "managingOrganization", "address", NULL */
} sv__parties;

/* citizen: the Patient as now stored, or NULL to read it. */
sv_err sv__stays_parties(sv_db *db, const char *patient, const json_t *encounter,
                         const json_t *citizen, sv__parties *ret);
/* The ruleset for the stay: the Organization extension ruleset on the service
 * provider or an organisation it is partOf, else by the provider's or the
 * citizen's country.  NULL when none applies. */
const sv__ruleset *sv__stays_choose(sv_db *db, const sv_stays *s, const char *patient,
                                    const json_t *encounter);

/* Acts on one event inside the open write transaction of r (r is the rules'
 * own: no access filter, system actor, the stay hooks). */
sv_err sv__stays_run(sv_rest *r, const sv_stays *s, const sv__stay_event *ev, sv_buf *reterr);

/* Tasks (tasks.c). */
typedef struct sv__task_spec {
    const char *code, *title, *owner; /* owner: "Organization/x", "PractitionerRole/y", or NULL */
    const char *patient, *encounter;
    const char *ruleset, *rule, *source;
    bool confirmed;
    int64_t start;     /* authoredOn */
    int64_t fixed_end; /* INT64_MIN: from the deadline */
    sv_deadline_spec deadline;
    sv_calendar_country country;
    const char *note; /* why the owner differs from the rule's, or NULL */
} sv__task_spec;

/* Creates the task unless an open one of the same code for the same stay exists. */
sv_err sv__stays_task_create(sv_rest *r, const sv__task_spec *t, bool *ret_created, sv_buf *reterr);
/* Completes (or cancels) the open tasks of code for the citizen; with encounter
 * not NULL only those about that stay.  *ret_count (may be NULL) gets how many. */
sv_err sv__stays_tasks_close(sv_rest *r, const char *patient, const char *encounter,
                             const char *code, bool complete, const char *why, int *ret_count,
                             sv_buf *reterr);

/* Board rows (board.c): brings the stay's row up to date after an event
 * (present while active and discharge-ready, else removed). */
sv_err sv__stays_board_update(sv_rest *r, const sv__ruleset *set, const sv__parties *p,
                              const sv__stay_event *ev, int64_t *ret_payment_from, sv_buf *reterr);
/* When the municipality's payment responsibility starts for a notice at
 * ready_at under set's payment rule; INT64_MIN when set has none. */
int64_t sv__stays_payment_from(const sv__ruleset *set, int64_t ready_at);

/* Encounter helpers (detect.c). */
bool sv__stays_active(const char *status);
/* The discharge-ready time, INT64_MIN when not discharge-ready. */
int64_t sv__stays_ready_at(const json_t *encounter);
/* The expected discharge date text (from discharge-ready, else the stay's), or NULL. */
const char *sv__stays_expected(const json_t *encounter);

#endif
