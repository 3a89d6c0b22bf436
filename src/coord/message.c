/*
 * message.c - messages between organisations about one citizen
 * (docs/messaging.md).
 *
 * A message is one Communication, shaped as MedCom shapes a CareCommunication
 * so that medcom/ can send it as one: Communication.identifier is the thread
 * id (the same in every message of a thread, as medcom/thread.c keeps it), the
 * first payload is the text with the MedCom extensions for its id, time,
 * author (a contained PractitionerRole and Practitioner: name, title, phone)
 * and the author's phone; more payloads are attachments.  A reply names the
 * message it answers in inResponseTo, a forward the forwarded one in partOf.
 * Read receipts are extensions, one per recipient organisation, never
 * removed.  A new message schedules an answer-due job (coord_job) at the
 * category's expected answer time (coord/settings.h); an answer from the
 * recipient drops it and completes the Task the watchdog may have made.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base64.h"
#include "base/datetime.h"
#include "base/id.h"
#include "coord/care.h"
#include "coord/codes.h"
#include "coord/notify.h"
#include "coord/task.h"
#include "coord/util.h"
#include "coord/watchdog.h"

/* ---- what a message is ---------------------------------------------------------- */

static bool has_profile(const json_t *r, const char *profile)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(json_object_get(r, "meta"), "profile"), i, p)
    {
        const char *s = json_string_value(p);
        if (s && strncmp(s, profile, strlen(profile)) == 0)
            return true;
    }
    return false;
}

bool sv__coord_is_message(const json_t *comm)
{
    return sv__coord_code_of(json_object_get(comm, "category"), SV_SYS_MEDCOM_CATEGORY) &&
           !has_profile(comm, SV_MEDCOM_CC_PROFILE);
}

static const char *category_of(const json_t *comm)
{
    return sv__coord_code_of(json_object_get(comm, "category"), SV_SYS_MEDCOM_CATEGORY);
}

static const char *thread_of(const json_t *comm)
{
    return json_string_value(
        json_object_get(json_array_get(json_object_get(comm, "identifier"), 0), "value"));
}

static bool first_ref(const json_t *array, char out[SV_COORD_REF_LEN])
{
    return sv__coord_ref(json_array_get(array, 0), out);
}

static sv_err fail(sv_outcome *out, sv_err e, const char *code, const char *path, const char *msg)
{
    sv_outcome_add(out, SV_SEV_ERROR, code, path, "%s", msg);
    return e;
}

static json_t *ext_of(const json_t *j, const char *url)
{
    return (json_t *)sv__coord_extension(j, url);
}

static void set_ext(json_t *j, const char *url, const char *key, json_t *value)
{
    json_t *exts = json_object_get(j, "extension");
    if (!json_is_array(exts)) {
        exts = json_array();
        json_object_set_new(j, "extension", exts);
    }
    json_array_append_new(exts, json_pack("{s:s, s:o}", "url", url, key, value));
}

/* ---- attachments: the declared type must be what the bytes are --------------------- */

static const char *sniff(const unsigned char *b, size_t n)
{
    if (n >= 5 && memcmp(b, "%PDF-", 5) == 0)
        return "application/pdf";
    if (n >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (n >= 3 && memcmp(b, "\xff\xd8\xff", 3) == 0)
        return "image/jpeg";
    if (n >= 6 && (memcmp(b, "GIF87a", 6) == 0 || memcmp(b, "GIF89a", 6) == 0))
        return "image/gif";
    return NULL;
}

static bool allowed_type(const char *t)
{
    static const char *const types[] = {"application/pdf", "image/png", "image/jpeg", "image/gif"};
    for (size_t i = 0; t && i < 4; i++) {
        size_t n = strlen(types[i]);
        /* parameters after the type ("; name=...") are not part of it */
        if (strncmp(t, types[i], n) == 0 && (t[n] == '\0' || t[n] == ';'))
            return true;
    }
    return false;
}

static sv_err check_attachment(json_t *att, size_t index, size_t *total, sv_outcome *out)
{
    char path[96];
    const char *ct = json_string_value(json_object_get(att, "contentType"));
    const char *data = json_string_value(json_object_get(att, "data"));
    size_t limit = sv__coord_max_attachment();
    snprintf(path, sizeof(path), "Communication.payload[%zu].contentAttachment.contentType", index);
    if (!allowed_type(ct)) {
        sv_outcome_add(out, SV_SEV_ERROR, "value", path,
                       "attachment type '%s' is not one of application/pdf, image/png, "
                       "image/jpeg, image/gif",
                       ct ? ct : "");
        return SV_ERR_PROCESSING;
    }
    snprintf(path, sizeof(path), "Communication.payload[%zu].contentAttachment.data", index);
    if (!data)
        return fail(out, SV_ERR_PROCESSING, "required", path,
                    "an attachment carries its bytes in data (a url is not followed)");
    size_t len = strlen(data);
    if (len / 4 * 3 > limit + 3) { /* decoded size can be told before decoding */
        sv_outcome_add(out, SV_SEV_ERROR, "too-long", path,
                       "the attachment is larger than the limit of %zu bytes", limit);
        return SV_ERR_TOO_LARGE;
    }
    unsigned char *bytes = malloc(len / 4 * 3 + 3);
    size_t n = 0;
    if (!bytes)
        return SV_ERR_NOMEM;
    if (sv_base64_decode(data, bytes, len / 4 * 3 + 3, &n) != 0) {
        free(bytes);
        return fail(out, SV_ERR_PROCESSING, "value", path, "the attachment data is not base64");
    }
    const char *real = sniff(bytes, n);
    free(bytes);
    if (n > limit || *total + n > limit) {
        sv_outcome_add(out, SV_SEV_ERROR, "too-long", path,
                       "the attachment is %zu bytes; the attachments of a message may be at most "
                       "%zu bytes together",
                       n, limit);
        return SV_ERR_TOO_LARGE;
    }
    *total += n;
    size_t declared = strcspn(ct, ";");
    if (!real || strncmp(real, ct, declared) != 0 || real[declared]) {
        sv_outcome_add(out, SV_SEV_ERROR, "value", path,
                       "the attachment is declared '%.*s' but its bytes are %s", (int)declared, ct,
                       real ? real : "none of pdf, png, jpeg, gif");
        return SV_ERR_PROCESSING;
    }
    const json_t *size = json_object_get(att, "size");
    if (size && (!json_is_integer(size) || (size_t)json_integer_value(size) != n)) {
        snprintf(path, sizeof(path), "Communication.payload[%zu].contentAttachment.size", index);
        sv_outcome_add(out, SV_SEV_ERROR, "value", path,
                       "the attachment's size says %lld bytes but its data has %zu",
                       (long long)json_integer_value(size), n);
        return SV_ERR_PROCESSING;
    }
    json_object_set_new(att, "size", json_integer((json_int_t)n));
    return SV_OK;
}

/* ---- the author: name, title and phone stay with the message ------------------------ */

static const json_t *contained_by_id(const json_t *comm, const char *id)
{
    size_t i;
    const json_t *c;
    json_array_foreach(json_object_get(comm, "contained"), i, c)
    {
        const char *cid = json_string_value(json_object_get(c, "id"));
        if (cid && strcmp(cid, id) == 0)
            return c;
    }
    return NULL;
}

static const char *role_title(const json_t *role)
{
    const json_t *code = json_array_get(json_object_get(role, "code"), 0);
    const char *t = json_string_value(json_object_get(code, "text"));
    if (!t)
        t = json_string_value(
            json_object_get(json_array_get(json_object_get(code, "coding"), 0), "display"));
    if (!t)
        t = json_string_value(
            json_object_get(json_array_get(json_object_get(code, "coding"), 0), "code"));
    return t;
}

static const char *phone_of(const json_t *j)
{
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(j, "telecom"), i, t)
    {
        const char *sys = json_string_value(json_object_get(t, "system"));
        if (sys && strcmp(sys, "phone") == 0)
            return json_string_value(json_object_get(t, "value"));
    }
    return NULL;
}

/* Turns a stored PractitionerRole (role_ref) into contained #author and
 * #author-person and points the payload's author extension at it. */
static sv_err contain_author(sv_rest *r, json_t *comm, json_t *payload, const char *role_ref,
                             sv_outcome *out)
{
    json_t *role = sv__coord_load(r->db, role_ref);
    if (!role)
        return fail(out, SV_ERR_PROCESSING, "not-found", "Communication.payload[0].extension",
                    "the author's PractitionerRole is not known");
    char person_ref[SV_COORD_REF_LEN];
    json_t *person = sv__coord_ref(json_object_get(role, "practitioner"), person_ref)
                         ? sv__coord_load(r->db, person_ref)
                         : NULL;
    const char *title = role_title(role);
    const char *phone = phone_of(role);
    if (!phone && person)
        phone = phone_of(person);
    json_t *c_person =
        json_pack("{s:s, s:s}", "resourceType", "Practitioner", "id", "author-person");
    if (person && json_object_get(person, "name"))
        json_object_set(c_person, "name", json_object_get(person, "name"));
    json_t *c_role = json_pack("{s:s, s:s, s:{s:s}}", "resourceType", "PractitionerRole", "id",
                               "author", "practitioner", "reference", "#author-person");
    if (json_object_get(role, "organization"))
        json_object_set(c_role, "organization", json_object_get(role, "organization"));
    if (title)
        json_object_set_new(c_role, "code", json_pack("[{s:s}]", "text", title));
    if (phone)
        json_object_set_new(c_role, "telecom",
                            json_pack("[{s:s, s:s}]", "system", "phone", "value", phone));
    json_t *contained = json_object_get(comm, "contained");
    if (!json_is_array(contained)) {
        contained = json_array();
        json_object_set_new(comm, "contained", contained);
    }
    json_array_append_new(contained, c_person);
    json_array_append_new(contained, c_role);
    json_t *ext = ext_of(payload, SV_EXT_MC_PRACTITIONER);
    if (ext)
        json_object_set_new(ext, "valueReference", json_pack("{s:s}", "reference", "#author"));
    else
        set_ext(payload, SV_EXT_MC_PRACTITIONER, "valueReference",
                json_pack("{s:s}", "reference", "#author"));
    if (phone && !ext_of(payload, SV_EXT_MC_CONTACT))
        set_ext(payload, SV_EXT_MC_CONTACT, "valueContactPoint",
                json_pack("{s:s, s:s}", "system", "phone", "value", phone));
    json_decref(role);
    json_decref(person);
    return SV_OK;
}

/* The author is given as a stored PractitionerRole, as contained resources, or
 * (absent) is the caller's role; in the end the message must carry the name,
 * the title and a phone number (MedCom: mandatory). */
static sv_err check_author(sv_rest *r, json_t *comm, json_t *payload, sv_outcome *out)
{
    static const char path[] = "Communication.payload[0].extension";
    json_t *ext = ext_of(payload, SV_EXT_MC_PRACTITIONER);
    const char *ref =
        json_string_value(json_object_get(json_object_get(ext, "valueReference"), "reference"));
    sv_err e = SV_OK;
    if (!ext) {
        const char *role = sv__coord_actor_role(r);
        char role_ref[SV_COORD_REF_LEN];
        if (!role || !*role)
            return fail(out, SV_ERR_PROCESSING, "required", path,
                        "a message needs its author (name, title, phone): the extension "
                        "medcom-core-practitioner-extension on the first payload");
        snprintf(role_ref, sizeof(role_ref), "PractitionerRole/%s", role);
        e = contain_author(r, comm, payload, role_ref, out);
    } else if (ref && sv__coord_ref_id(ref, "PractitionerRole")) {
        e = contain_author(r, comm, payload, ref, out);
    } else if (!ref || ref[0] != '#') {
        return fail(out, SV_ERR_PROCESSING, "value", path,
                    "the author is a PractitionerRole: stored (PractitionerRole/id) or contained");
    }
    if (e)
        return e;
    ref = json_string_value(json_object_get(
        json_object_get(ext_of(payload, SV_EXT_MC_PRACTITIONER), "valueReference"), "reference"));
    const json_t *role = contained_by_id(comm, ref + 1);
    const char *person_ref =
        json_string_value(json_object_get(json_object_get(role, "practitioner"), "reference"));
    const json_t *person =
        person_ref && person_ref[0] == '#' ? contained_by_id(comm, person_ref + 1) : NULL;
    char name[256];
    if (!role || !person || !*sv__coord_name(person, name))
        return fail(out, SV_ERR_PROCESSING, "required", path,
                    "the author's name is missing (a contained Practitioner with a name)");
    if (!role_title(role))
        return fail(out, SV_ERR_PROCESSING, "required", path,
                    "the author's title is missing (PractitionerRole.code)");
    if (!ext_of(payload, SV_EXT_MC_CONTACT))
        return fail(out, SV_ERR_PROCESSING, "required", path,
                    "the author's phone is missing (medcom-core-contact-extension, or "
                    "PractitionerRole.telecom)");
    return SV_OK;
}

/* ---- before the write ------------------------------------------------------------ */

/* An earlier message this one names (inResponseTo or partOf), checked to be about
 * the same citizen: a reply never crosses to another citizen's thread. */
static sv_err linked(sv_rest *r, const json_t *comm, const char *element, const char *subject,
                     json_t **ret, sv_outcome *out)
{
    char ref[SV_COORD_REF_LEN], path[64];
    *ret = NULL;
    const json_t *list = json_object_get(comm, element);
    if (!json_array_size(list))
        return SV_OK;
    snprintf(path, sizeof(path), "Communication.%s[0]", element);
    if (json_array_size(list) > 1 || !first_ref(list, ref) ||
        !sv__coord_ref_id(ref, "Communication"))
        return fail(out, SV_ERR_PROCESSING, "value", path, "names one Communication");
    sv_err e = sv__coord_load_checked(r->db, ref, ret);
    if (e == SV_ERR_NOT_FOUND)
        return fail(out, SV_ERR_PROCESSING, "not-found", path, "the message is not known");
    if (e)
        return e;
    char theirs[SV_COORD_REF_LEN];
    if (!sv__coord_ref(json_object_get(*ret, "subject"), theirs) || strcmp(theirs, subject) != 0) {
        json_decref(*ret);
        *ret = NULL;
        return fail(out, SV_ERR_PROCESSING, "business-rule", path,
                    "the message it names is about another citizen");
    }
    return SV_OK;
}

/* A sent message does not change; only its status and read receipts may, and a
 * receipt once written stays. */
static sv_err check_unchanged(const json_t *old, const json_t *comm, sv_outcome *out)
{
    json_t *a = json_deep_copy(old), *b = json_deep_copy(comm);
    static const char *const keys[] = {"meta", "text", "status", "extension", "id"};
    for (size_t i = 0; i < 5; i++) {
        json_object_del(a, keys[i]);
        json_object_del(b, keys[i]);
    }
    bool same = json_equal(a, b);
    json_decref(a);
    json_decref(b);
    if (!same)
        return fail(out, SV_ERR_PROCESSING, "business-rule", "Communication",
                    "a sent message is not changed: send a new message in the thread "
                    "($reply) instead");
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(old, "extension"), i, x)
    {
        const char *url = json_string_value(json_object_get(x, "url"));
        if (!url || strcmp(url, SV_EXT_READ_RECEIPT) != 0)
            continue;
        bool kept = false;
        size_t k;
        const json_t *y;
        json_array_foreach(json_object_get(comm, "extension"), k, y) kept |= json_equal(x, y);
        if (!kept)
            return fail(out, SV_ERR_PROCESSING, "business-rule", "Communication.extension",
                        "a read receipt is never removed");
    }
    return SV_OK;
}

sv_err sv__coord_message_before(sv_rest *r, const json_t *old, json_t *comm, sv_outcome *out)
{
    if (old && sv__coord_is_message(old))
        return check_unchanged(old, comm, out);
    char subject[SV_COORD_REF_LEN], sender[SV_COORD_REF_LEN], recipient[SV_COORD_REF_LEN];
    if (!sv__coord_ref(json_object_get(comm, "subject"), subject) ||
        !sv__coord_ref_id(subject, "Patient"))
        return fail(out, SV_ERR_PROCESSING, "required", "Communication.subject",
                    "a message is about one citizen: subject is a Patient");
    const char *caller_org = sv__coord_caller_org(r);
    if (!json_object_get(comm, "sender") && caller_org[0])
        json_object_set_new(comm, "sender", json_pack("{s:s}", "reference", caller_org));
    if (!sv__coord_ref(json_object_get(comm, "sender"), sender) ||
        !sv__coord_ref_id(sender, "Organization"))
        return fail(out, SV_ERR_PROCESSING, "required", "Communication.sender",
                    "a message is sent by an organisation: sender is an Organization");
    if (caller_org[0] && strcmp(caller_org, sender) != 0)
        return fail(out, SV_ERR_PROCESSING, "business-rule", "Communication.sender",
                    "a message is sent in the name of the author's own organisation");
    if (json_array_size(json_object_get(comm, "recipient")) != 1 ||
        !first_ref(json_object_get(comm, "recipient"), recipient) ||
        !sv__coord_ref_id(recipient, "Organization"))
        return fail(out, SV_ERR_PROCESSING, "required", "Communication.recipient",
                    "a message has one receiving organisation: recipient is one Organization");
    if (strcmp(recipient, sender) == 0)
        return fail(out, SV_ERR_PROCESSING, "business-rule", "Communication.recipient",
                    "a message goes to another organisation than its sender");
    json_t *payloads = json_object_get(comm, "payload");
    json_t *first = json_array_get(payloads, 0);
    const char *text = json_string_value(json_object_get(first, "contentString"));
    if (!text || !*text)
        return fail(out, SV_ERR_PROCESSING, "required", "Communication.payload[0].contentString",
                    "a message starts with its text");
    size_t total = 0;
    for (size_t i = 1; i < json_array_size(payloads); i++) {
        json_t *p = json_array_get(payloads, i);
        json_t *att = json_object_get(p, "contentAttachment");
        sv_err e = att ? check_attachment(att, i, &total, out) : SV_OK;
        if (e)
            return e;
    }
    json_t *answered = NULL, *forwarded = NULL;
    sv_err e = linked(r, comm, "inResponseTo", subject, &answered, out);
    if (!e)
        e = linked(r, comm, "partOf", subject, &forwarded, out);
    /* The thread: the one of the message answered or forwarded, else a new one. */
    const json_t *from = answered ? answered : forwarded;
    if (!e && from && thread_of(from)) {
        const char *mine = thread_of(comm);
        if (mine && strcmp(mine, thread_of(from)) != 0)
            e = fail(out, SV_ERR_PROCESSING, "business-rule", "Communication.identifier[0]",
                     "a reply or forward stays in the thread of the message it names");
        else if (!mine)
            json_object_set_new(comm, "identifier", json_pack("[{s:s}]", "value", thread_of(from)));
    }
    json_decref(answered);
    json_decref(forwarded);
    if (e)
        return e;
    char uuid[SV_UUID_LEN], urn[SV_UUID_LEN + 16], ts[SV_INSTANT_LEN];
    if (!thread_of(comm)) {
        sv_id_uuid(uuid);
        snprintf(urn, sizeof(urn), "urn:uuid:%s", uuid);
        json_object_set_new(comm, "identifier", json_pack("[{s:s}]", "value", urn));
    }
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    if (!json_object_get(comm, "sent"))
        json_object_set_new(comm, "sent", json_string(ts));
    if (!ext_of(first, SV_EXT_MC_IDENTIFIER)) {
        sv_id_uuid(uuid);
        snprintf(urn, sizeof(urn), "urn:uuid:%s", uuid);
        set_ext(first, SV_EXT_MC_IDENTIFIER, "valueIdentifier", json_pack("{s:s}", "value", urn));
    }
    if (!ext_of(first, SV_EXT_MC_DATETIME))
        set_ext(first, SV_EXT_MC_DATETIME, "valueDateTime",
                json_copy(json_object_get(comm, "sent")));
    return check_author(r, comm, first, out);
}

/* ---- after the write -------------------------------------------------------------- */

typedef struct open_tasks {
    char ids[16][65];
    size_t n;
} open_tasks;

/* Collects the open message-answer Tasks of the answered message (written after
 * the search, not while its rows are read). */
static bool collect_open(void *ctx, const json_t *task)
{
    open_tasks *t = ctx;
    const char *code = sv__coord_task_code(task);
    const char *status = json_string_value(json_object_get(task, "status"));
    const char *id = json_string_value(json_object_get(task, "id"));
    if (code && strcmp(code, "message-answer") == 0 && id && strlen(id) < 65 &&
        !sv_coord_task_status_final(status) && t->n < 16)
        snprintf(t->ids[t->n++], 65, "%s", id);
    return true;
}

static sv_err complete_tasks(sv_rest *r, const open_tasks *t, sv_outcome *out)
{
    sv_err e = SV_OK;
    for (size_t i = 0; !e && i < t->n; i++) {
        char ref[SV_COORD_REF_LEN];
        snprintf(ref, sizeof(ref), "Task/%s", t->ids[i]);
        json_t *task = sv__coord_load(r->db, ref);
        if (!task)
            continue;
        json_object_set_new(task, "status", json_string("completed"));
        json_object_del(task, "meta");
        e = sv__coord_write(r, "Task", t->ids[i], task, NULL, out);
        json_decref(task);
    }
    return e;
}

sv_err sv__coord_message_after(sv_rest *r, const char *id, const json_t *old, const json_t *stored,
                               sv_outcome *out)
{
    if (old)
        return SV_OK; /* a receipt or status: nothing is due anew */
    char subject[SV_COORD_REF_LEN], recipient[SV_COORD_REF_LEN], sender[SV_COORD_REF_LEN],
        self[SV_COORD_REF_LEN + 16];
    sv__coord_ref(json_object_get(stored, "subject"), subject);
    sv__coord_ref(json_object_get(stored, "sender"), sender);
    first_ref(json_object_get(stored, "recipient"), recipient);
    snprintf(self, sizeof(self), "Communication/%s", id);
    sv_buf err = SV_BUF_INIT;
    sv_coord_notice n = {.kind = SV_NOTICE_MESSAGE_RECEIVED,
                         .citizen = subject,
                         .resource = self,
                         .text = category_of(stored)};
    sv_err e = sv_coord_notify_party(r->db, recipient, &n, &err);
    /* An answer is expected of a message that opens a thread or forwards one,
     * not of the answer itself (else every thread would ping-pong). */
    sv_coord_rule rule = sv__coord_answer_time(category_of(stored));
    if (json_array_size(json_object_get(stored, "inResponseTo")))
        rule.amount = -1;
    int64_t sent = sv__coord_time(json_object_get(stored, "sent"));
    if (!e && rule.amount >= 0 && sent != INT64_MIN) {
        int64_t due;
        e = sv_deadline_add(rule.country, sent, rule.amount, rule.unit, 0, &due, &err);
        if (!e)
            e = sv__coord_job_add(r->db, "answer-due", "Communication", id, due, &err);
    }
    /* An answer from the organisation the message went to settles what was due. */
    char answered[SV_COORD_REF_LEN];
    json_t *orig = NULL;
    if (!e && first_ref(json_object_get(stored, "inResponseTo"), answered))
        orig = sv__coord_load(r->db, answered);
    char orig_recipient[SV_COORD_REF_LEN];
    if (orig && first_ref(json_object_get(orig, "recipient"), orig_recipient) &&
        strcmp(orig_recipient, sender) == 0) {
        e = sv__coord_jobs_drop(r->db, "Communication", sv__coord_ref_id(answered, "Communication"),
                                &err);
        open_tasks t = {.n = 0};
        const char *names[] = {"focus"};
        const char *values[] = {answered};
        if (!e)
            e = sv__coord_find(r->db, "Task", names, values, 1, 100, collect_open, &t);
        if (!e)
            e = complete_tasks(r, &t, out);
    }
    json_decref(orig);
    if (e && !out->len)
        sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "the message's follow-up failed: %s",
                       err.len ? err.ptr : sv_strerror(e));
    sv_buf_release(&err);
    return e;
}

/* ---- the watchdog's job ------------------------------------------------------------ */

sv_err sv__coord_message_job(sv_rest *r, const char *id, int64_t due, bool *ret_made,
                             sv_buf *reterr)
{
    *ret_made = false;
    char ref[SV_COORD_REF_LEN];
    snprintf(ref, sizeof(ref), "Communication/%s", id);
    json_t *comm = NULL;
    sv_err e = sv__coord_load_checked(r->db, ref, &comm);
    if (e)
        return e == SV_ERR_NOT_FOUND ? SV_OK : e;
    const char *status = json_string_value(json_object_get(comm, "status"));
    char recipient[SV_COORD_REF_LEN], sender[SV_COORD_REF_LEN];
    if (!sv__coord_is_message(comm) || (status && strcmp(status, "entered-in-error") == 0) ||
        !first_ref(json_object_get(comm, "recipient"), recipient)) {
        json_decref(comm);
        return SV_OK;
    }
    sv__coord_ref(json_object_get(comm, "sender"), sender);
    char ts[SV_INSTANT_LEN], text[200];
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    (void)due;
    /* No message text in the Task: the Task is coordination data, the message
     * may be more (docs/access.md); the focus leads to it for those who may see it. */
    snprintf(text, sizeof(text), "Answer the message (%s): its expected answer time has passed",
             category_of(comm));
    json_t *task = json_pack(
        "{s:s, s:s, s:s, s:{s:[{s:s, s:s, s:s}]}, s:s, s:{s:s}, s:O, s:{s:s}, s:s, s:[o]}",
        "resourceType", "Task", "status", "requested", "intent", "order", "code", "coding",
        "system", SV_SYS_TASK_CODE, "code", "message-answer", "display", "Answer a message",
        "description", text, "focus", "reference", ref, "for", json_object_get(comm, "subject"),
        "owner", "reference", recipient, "authoredOn", ts, "extension",
        sv__coord_rule_extension(sv__coord_answer_escalation()));
    if (sender[0])
        json_object_set_new(task, "requester", json_pack("{s:s}", "reference", sender));
    sv_outcome out = SV_OUTCOME_INIT;
    e = sv__coord_write(r, "Task", NULL, task, NULL, &out);
    if (e && reterr)
        sv_buf_addf(reterr, "the task for an unanswered message cannot be written: %s",
                    out.len && out.issues[0].diagnostics ? out.issues[0].diagnostics
                                                         : sv_strerror(e));
    sv_outcome_clear(&out);
    json_decref(task);
    json_decref(comm);
    *ret_made = !e;
    return e;
}
