/* btg.c - see btg.h. */
#include "coord/btg.h"

#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "coord/notify.h"
#include "coord/team.h"
#include "store/access.h"

static json_t *reference(const char *ref)
{
    return json_pack("{s:s}", "reference", ref);
}

/* The Communication that tells the citizen and the coordinator. */
static json_t *notice(const sv_coord_btg *b, const char *coordinator, const char *text)
{
    char subject[SV_COORD_REF_LEN], sender[SV_COORD_REF_LEN], sent[SV_INSTANT_LEN];
    snprintf(subject, sizeof(subject), "Patient/%s", b->patient);
    snprintf(sender, sizeof(sender), "PractitionerRole/%s", b->practitioner_role);
    sv_datetime_format_instant(b->from, sent);
    json_t *recipients = json_array();
    json_array_append_new(recipients, reference(subject));
    if (coordinator[0])
        json_array_append_new(recipients, reference(coordinator));
    return json_pack("{s:s, s:s, s:[{s:[{s:s, s:s, s:s}]}], s:o, s:o, s:o, s:s, s:[{s:s}]}",
                     "resourceType", "Communication", "status", "completed", "category", "coding",
                     "system", SV_SYS_COMMUNICATION_CATEGORY, "code", "break-the-glass", "display",
                     "Break-the-glass access", "subject", reference(subject), "recipient",
                     recipients, "sender", reference(sender), "sent", sent, "payload",
                     "contentString", text);
}

sv_err sv_coord_break_the_glass(sv_rest *r, const sv_coord_btg *b, char ret_communication[65],
                                sv_outcome *out)
{
    ret_communication[0] = '\0';
    char holder[SV_COORD_REF_LEN], citizen[SV_COORD_REF_LEN];
    char coordinator[SV_COORD_REF_LEN] = "", from[SV_INSTANT_LEN], to[SV_INSTANT_LEN];
    snprintf(holder, sizeof(holder), "user:%s", b->username);
    snprintf(citizen, sizeof(citizen), "Patient/%s", b->patient);
    sv_datetime_format_instant(b->from, from);
    sv_datetime_format_instant(b->to, to);
    sv_buf err = SV_BUF_INIT, text = SV_BUF_INIT;
    sv_buf_addf(&text,
                "%s (role %s at %s) opened emergency access (break-the-glass) to the record"
                " at %s, until %s. Reason: %s",
                b->username, b->role && *b->role ? b->role : "-",
                b->organisation && *b->organisation ? b->organisation : "-", from, to, b->reason);
    sv_err e = sv_db_begin(r->db, SV_TX_WRITE, &err);
    if (e)
        goto out;
    sv_access_grant g = {.holder = holder, .mask = b->mask, .from = b->from, .to = b->to};
    e = sv_access_grant_add(r->db, b->patient, &g, b->reason, &err);
    if (!e) {
        sv_audit_record rec = {.time_ms = b->from,
                               .citizen = b->patient,
                               .action = "break-the-glass",
                               .resource_type = "Patient",
                               .resource_id = b->patient,
                               .outcome = 200,
                               .reason = b->reason};
        sv_audit_record_set_actor(&rec, b->actor);
        rec.purpose = "ETREAT";
        e = sv_audit_append(r->db, &rec, NULL, &err);
    }
    if (!e)
        e = sv__coord_team_coordinator(r->db, citizen, coordinator, NULL);
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    if (!e) {
        json_t *comm = notice(b, coordinator, text.ptr);
        sv_rest internal = *r;
        internal.access = NULL;
        internal.actor = &sv_audit_system;
        internal.hooks = NULL;
        e = sv_rest_create(&internal, "Communication", comm, NULL, &rr);
        json_decref(comm);
        if (e)
            sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "%s",
                           "the break-the-glass notice cannot be written");
        else
            snprintf(ret_communication, 65, "%s", rr.id);
    }
    sv_rest_result_clear(&rr);
    char resource[SV_COORD_REF_LEN];
    snprintf(resource, sizeof(resource), "Communication/%s", ret_communication);
    sv_coord_notice n = {.kind = SV_NOTICE_BREAK_THE_GLASS,
                         .citizen = citizen,
                         .resource = resource,
                         .text = text.ptr};
    if (!e)
        e = sv_coord_notify_party(r->db, citizen, &n, &err);
    if (!e && coordinator[0])
        e = sv_coord_notify_party(r->db, coordinator, &n, &err);
    if (e) {
        sv_db_rollback(r->db);
        goto out;
    }
    e = sv_db_commit(r->db, &err);
out:
    if (e && !out->len)
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "%s",
                       "break-the-glass cannot be recorded");
    sv_buf_release(&err);
    sv_buf_release(&text);
    return e;
}
