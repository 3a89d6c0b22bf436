/* coord.c - see coord.h: the write hooks dispatch by resource type. */
#include "coord/coord.h"

#include <string.h>

#include "coord/care.h"
#include "coord/meeting.h"
#include "coord/plan.h"
#include "coord/reminder.h"
#include "coord/task.h"
#include "coord/team.h"

static sv_err before_write(void *ctx, sv_rest *r, const char *type, const char *id,
                           const json_t *old, json_t *resource, sv_outcome *out)
{
    (void)ctx;
    if (strcmp(type, "Task") == 0) {
        sv_err e = sv__coord_task_before(r, old, resource, out);
        return e ? e : sv__coord_rehab_task_before(r, old, resource, out);
    }
    if (strcmp(type, "Communication") == 0 &&
        (sv__coord_is_message(resource) || (old && sv__coord_is_message(old))))
        return sv__coord_message_before(r, old, resource, out);
    if (strcmp(type, "CareTeam") == 0)
        return sv__coord_team_before(r, id, old, resource, out);
    if (strcmp(type, "CarePlan") == 0)
        return sv__coord_plan_before(r, old, resource, out);
    if (strcmp(type, "Provenance") == 0)
        return sv__coord_agreement_before(r, resource, out);
    if (strcmp(type, "Appointment") == 0)
        return sv__coord_meeting_before(r, resource, out);
    return SV_OK;
}

static sv_err after_write(void *ctx, sv_rest *r, const char *type, const char *id, int64_t version,
                          const json_t *old, const json_t *stored, sv_outcome *out)
{
    (void)ctx;
    if (strcmp(type, "Task") == 0) {
        sv_err e = sv__coord_task_after(r, id, old, stored, out);
        return e ? e : sv__coord_reconciliation_after(r, id, version, old, stored, out);
    }
    if (strcmp(type, "Communication") == 0 && sv__coord_is_message(stored))
        return sv__coord_message_after(r, id, old, stored, out);
    if (strcmp(type, "CareTeam") == 0)
        return sv__coord_team_after(r, id, version, old, stored, out);
    if (strcmp(type, "CarePlan") == 0) {
        sv_buf err = SV_BUF_INIT;
        sv_err e = sv__coord_reminders_schedule(r->db, id, stored, &err);
        sv_buf_release(&err);
        if (e) {
            sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL,
                           "the plan's reminders cannot be scheduled");
            return e;
        }
        e = sv__coord_plan_after(r, id, version, old, stored, out);
        return e ? e : sv__coord_rehab_plan_after(r, id, old, stored, out);
    }
    if (strcmp(type, "Provenance") == 0)
        return sv__coord_agreement_after(r, id, stored, out);
    if (strcmp(type, "Appointment") == 0)
        return sv__coord_meeting_after(r, id, old, stored, out);
    return SV_OK;
}

static const sv_rest_hooks hooks = {
    .ctx = NULL,
    .before_write = before_write,
    .after_write = after_write,
};

const sv_rest_hooks *sv_coord_hooks(void)
{
    return &hooks;
}
