/* meeting.c - see meeting.h. */
#include "coord/meeting.h"

#include <stdio.h>
#include <string.h>

#include "coord/notify.h"
#include "coord/plan.h"
#include "coord/util.h"

/* The plan the meeting is about: the first CarePlan in supportingInformation. */
static bool linked_plan(const json_t *appointment, char out[SV_COORD_REF_LEN], size_t *ret_index)
{
    size_t i;
    const json_t *ref;
    json_array_foreach(json_object_get(appointment, "supportingInformation"), i, ref)
    {
        if (sv__coord_ref(ref, out) && sv__coord_ref_id(out, "CarePlan")) {
            if (ret_index)
                *ret_index = i;
            return true;
        }
    }
    return false;
}

sv_err sv__coord_meeting_before(sv_rest *r, const json_t *appointment, sv_outcome *out)
{
    char plan[SV_COORD_REF_LEN];
    size_t index = 0;
    if (!linked_plan(appointment, plan, &index))
        return SV_OK;
    json_t *j = NULL;
    sv_err e = sv__coord_load_checked(r->db, plan, &j);
    json_decref(j);
    if (e == SV_ERR_NOT_FOUND) {
        char path[64];
        snprintf(path, sizeof(path), "Appointment.supportingInformation[%zu]", index);
        sv_outcome_add(out, SV_SEV_ERROR, "not-found", path, "%s is not known", plan);
        return SV_ERR_PROCESSING;
    }
    return e;
}

static bool live(const char *status)
{
    static const char *const statuses[] = {"proposed", "pending",    "booked",
                                           "arrived",  "checked-in", NULL};
    for (size_t i = 0; status && statuses[i]; i++)
        if (strcmp(statuses[i], status) == 0)
            return true;
    return false;
}

static const char *str(const json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s ? s : "";
}

sv_err sv__coord_meeting_after(sv_rest *r, const char *id, const json_t *old,
                               const json_t *appointment, sv_outcome *out)
{
    char plan[SV_COORD_REF_LEN];
    if (!linked_plan(appointment, plan, NULL))
        return SV_OK;
    const char *status = str(appointment, "status");
    bool called = !old && live(status);
    bool changed = old && (strcmp(str(old, "start"), str(appointment, "start")) != 0 ||
                           strcmp(str(old, "end"), str(appointment, "end")) != 0 ||
                           strcmp(str(old, "status"), status) != 0);
    sv_err e = SV_OK;
    if (called || changed) {
        json_t *p = sv__coord_load(r->db, plan);
        char citizen[SV_COORD_REF_LEN], focus[SV_COORD_REF_LEN];
        bool has_citizen = sv__coord_ref(json_object_get(p, "subject"), citizen) &&
                           sv__coord_ref_id(citizen, "Patient");
        json_decref(p);
        snprintf(focus, sizeof(focus), "Appointment/%s", id);
        const char *text = json_string_value(json_object_get(appointment, "description"));
        sv_coord_notice n = {.kind = called ? SV_NOTICE_MEETING_CALLED : SV_NOTICE_MEETING_CHANGED,
                             .citizen = has_citizen ? citizen : NULL,
                             .resource = focus,
                             .text = text ? text : "coordination meeting (SIP)"};
        sv_buf err = SV_BUF_INIT;
        size_t i;
        const json_t *part;
        json_array_foreach(json_object_get(appointment, "participant"), i, part)
        {
            char actor[SV_COORD_REF_LEN];
            if (!e && sv__coord_ref(json_object_get(part, "actor"), actor))
                e = sv_coord_notify_party(r->db, actor, &n, &err);
        }
        sv_buf_release(&err);
    }
    const char *plan_id = sv__coord_ref_id(plan, "CarePlan");
    if (!e && live(status))
        e = sv__coord_plan_advance(r, plan_id, "call", NULL);
    else if (!e && strcmp(status, "fulfilled") == 0)
        e = sv__coord_plan_advance(r, plan_id, "plan", NULL);
    if (e)
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL,
                       "the meeting's participants or plan cannot be updated");
    return e;
}
