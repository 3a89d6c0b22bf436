/*
 * thread.c - a CareCommunication applied as our Communication.
 *
 * One Communication per thread: MedCom keeps Communication.identifier the same
 * for every message of a thread and sends the whole thread (each message a
 * payload with its own id, time, author and phone) every time, so a new message
 * in a known thread is a new version of the same Communication.  References
 * are re-pointed: the citizen to our Patient (found by CPR), organisations to
 * ours (by SOR), and the rest of the sender's bundle (Practitioner,
 * PractitionerRole, CareTeam) is kept as contained resources, so the author's
 * name, title and phone stay with the message.  Category, topic (subject),
 * payload texts and attachments are kept as sent.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "medcom/internal.h"

typedef struct walk {
    sv_rest *r;
    const sv__medcom_msg *msg;
    const char *patient_id;
    char (*org_ids)[65]; /* per entry: our Organization id once known */
    bool *contained;     /* per entry: already in the contained list */
    json_t *contained_list;
    sv_outcome *out;
    sv_err e;
} walk;

static void rewrite(walk *w, json_t *node);

static void rewrite_reference(walk *w, json_t *obj, const char *reference)
{
    size_t i = sv__medcom_resolve(w->msg, reference);
    if (i == SIZE_MAX)
        return;
    const sv__medcom_entry *en = &w->msg->entries[i];
    char ref[100];
    if (i == w->msg->patient_index) {
        snprintf(ref, sizeof(ref), "Patient/%s", w->patient_id);
    } else if (strcmp(en->type, "Organization") == 0) {
        if (!w->org_ids[i][0]) {
            sv_err e = sv__medcom_organization(w->r, en->resource, w->org_ids[i], w->out);
            if (e) {
                w->e = w->e ? w->e : e;
                return;
            }
        }
        snprintf(ref, sizeof(ref), "Organization/%s", w->org_ids[i]);
    } else if (i == w->msg->focus_index || !en->id) {
        return;
    } else {
        if (!w->contained[i]) {
            w->contained[i] = true;
            json_t *copy = json_deep_copy(en->resource);
            json_object_del(copy, "text"); /* the container's narrative covers it */
            rewrite(w, copy);
            json_array_append_new(w->contained_list, copy);
        }
        snprintf(ref, sizeof(ref), "#%s", en->id);
    }
    json_object_set_new(obj, "reference", json_string(ref));
}

static void rewrite(walk *w, json_t *node)
{
    if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++)
            rewrite(w, json_array_get(node, i));
        return;
    }
    if (!json_is_object(node))
        return;
    const char *reference = json_string_value(json_object_get(node, "reference"));
    if (reference)
        rewrite_reference(w, node, reference);
    const char *key;
    json_t *value;
    json_object_foreach(node, key, value)
    {
        if (strcmp(key, "contained") != 0)
            rewrite(w, value);
    }
}

static void copy_issues(const sv_outcome *from, sv_outcome *to)
{
    for (size_t i = 0; i < from->len; i++)
        sv_outcome_add(to, from->issues[i].severity, from->issues[i].code,
                       from->issues[i].expression, "%s",
                       from->issues[i].diagnostics ? from->issues[i].diagnostics : "");
}

sv_err sv__medcom_apply_thread(sv_rest *r, const sv__medcom_msg *msg, sv__medcom_log_row *row,
                               sv_medcom_event *ev, sv_outcome *out)
{
    char *patient_id = row->patient_buf, *communication_id = row->communication_buf;
    const char *thread = json_string_value(
        json_object_get(json_array_get(json_object_get(msg->focus, "identifier"), 0), "value"));
    if (!thread) {
        char path[160];
        sv__medcom_path(path, sizeof(path), msg->focus_index, "identifier");
        sv_outcome_add(out, SV_SEV_ERROR, "required", path,
                       "a CareCommunication needs the thread identifier");
        return SV_ERR_PROCESSING;
    }
    int64_t patient_before = 0;
    sv_err e = sv__medcom_patient(r, msg, NULL, patient_id, &patient_before, out);
    if (e)
        return e;

    walk w = {.r = r, .msg = msg, .patient_id = patient_id, .out = out};
    w.org_ids = calloc(msg->nentries, sizeof(*w.org_ids));
    w.contained = calloc(msg->nentries, sizeof(*w.contained));
    w.contained_list = json_array();
    json_t *comm = json_deep_copy(msg->focus);
    json_object_del(comm, "id");
    json_t *profile = json_object_get(json_object_get(msg->focus, "meta"), "profile");
    json_object_del(comm, "meta");
    if (profile)
        json_object_set_new(comm, "meta", json_pack("{s:O}", "profile", profile));
    json_object_del(comm, "contained");
    rewrite(&w, comm);
    /* The sending and receiving organisations, as R4 elements too: the MedCom
     * sender extension may name a CareTeam or a PractitionerRole instead. */
    char ref[100];
    if (!w.e && !w.org_ids[msg->sender_index][0])
        w.e = sv__medcom_organization(r, msg->sender_org, w.org_ids[msg->sender_index], out);
    if (!w.e) {
        snprintf(ref, sizeof(ref), "Organization/%s", w.org_ids[msg->sender_index]);
        json_object_set_new(comm, "sender", json_pack("{s:s}", "reference", ref));
    }
    if (!w.e && !json_object_get(comm, "recipient")) {
        if (!w.org_ids[msg->receiver_index][0])
            w.e =
                sv__medcom_organization(r, msg->receiver_org, w.org_ids[msg->receiver_index], out);
        snprintf(ref, sizeof(ref), "Organization/%s", w.org_ids[msg->receiver_index]);
        json_object_set_new(comm, "recipient", json_pack("[{s:s}]", "reference", ref));
    }
    if (!json_object_get(comm, "sent"))
        json_object_set(comm, "sent", json_object_get(msg->bundle, "timestamp"));
    if (json_array_size(w.contained_list))
        json_object_set(comm, "contained", w.contained_list);
    e = w.e;

    char key[300];
    snprintf(key, sizeof(key), "thread:%s", thread);
    bool known = false;
    if (!e) {
        e = sv__medcom_link_find(r->db, key, communication_id);
        known = e == SV_OK;
        if (e == SV_ERR_NOT_FOUND)
            e = SV_OK;
    }
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    if (!e && known) {
        json_object_set_new(comm, "id", json_string(communication_id));
        e = sv_rest_update(r, "Communication", communication_id, comm, NULL, &rr);
    } else if (!e) {
        e = sv_rest_create(r, "Communication", comm, NULL, &rr);
        if (!e) {
            snprintf(communication_id, 65, "%s", rr.id);
            e = sv__medcom_link_add(r->db, key, "Communication", communication_id);
        }
    }
    if (e)
        copy_issues(&rr.outcome, out);
    sv_rest_result_clear(&rr);
    json_decref(comm);
    json_decref(w.contained_list);
    free(w.org_ids);
    free(w.contained);
    if (e)
        return e;
    row->patient_id = patient_id;
    row->communication_id = communication_id;
    row->patient_before = patient_before;
    ev->kind = "communication.received";
    ev->patient_id = patient_id;
    ev->communication_id = communication_id;
    return SV_OK;
}
