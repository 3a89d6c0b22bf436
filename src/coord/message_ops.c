/*
 * message_ops.c - the operations on a message (docs/messaging.md):
 * Communication/{id}/$reply, $forward and $read, each with a Parameters body.
 * They build the new message (or the new version with a read receipt) and
 * write it through the caller's sv_rest, so the write rules of message.c and
 * the access policy apply exactly as to a POST of the same Communication.
 */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/datetime.h"
#include "coord/care.h"
#include "coord/util.h"

/* The value[x] (key, e.g. "valueString") of the first parameter name; borrowed. */
static const json_t *param(const json_t *params, const char *name, const char *key)
{
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(params, "parameter"), i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        if (n && strcmp(n, name) == 0)
            return json_object_get(p, key);
    }
    return NULL;
}

static sv_err fail(sv_rest_result *res, sv_err e, const char *code, const char *path,
                   const char *msg)
{
    sv_outcome_add(&res->outcome, SV_SEV_ERROR, code, path, "%s", msg);
    return e;
}

/* The message id as the caller may see it (404 otherwise), parsed. */
static sv_err load_message(sv_rest *r, const char *id, json_t **ret, sv_rest_result *res)
{
    *ret = NULL;
    sv_err e = sv_rest_read(r, "Communication", id, res);
    if (e)
        return e;
    *ret = sv_json_loadb(res->body.ptr, res->body.len, 0, NULL);
    sv_rest_result_clear(res);
    sv_rest_result_init(res);
    if (!*ret)
        return SV_ERR_INTERNAL;
    if (!sv__coord_is_message(*ret)) {
        json_decref(*ret);
        *ret = NULL;
        return fail(res, SV_ERR_PROCESSING, "business-rule", "Communication.category",
                    "this Communication is not a message between organisations (no MedCom "
                    "category), or came by MedCom ($process-message answers those)");
    }
    return SV_OK;
}

static bool ref_of(const json_t *ref_obj, char out[SV_COORD_REF_LEN])
{
    return sv__coord_ref(ref_obj, out);
}

/* Who sends the new message: the caller's organisation, else the parameter
 * sender, else dflt; it must be a party of the original. */
static sv_err choose_sender(sv_rest *r, const json_t *params, const json_t *orig, const char *dflt,
                            char out[SV_COORD_REF_LEN], sv_rest_result *res)
{
    const char *caller = sv__coord_caller_org(r);
    if (caller[0])
        snprintf(out, SV_COORD_REF_LEN, "%s", caller);
    else if (!ref_of(param(params, "sender", "valueReference"), out))
        snprintf(out, SV_COORD_REF_LEN, "%s", dflt);
    char s[SV_COORD_REF_LEN] = "", rc[SV_COORD_REF_LEN] = "";
    ref_of(json_object_get(orig, "sender"), s);
    ref_of(json_array_get(json_object_get(orig, "recipient"), 0), rc);
    if (strcmp(out, s) != 0 && strcmp(out, rc) != 0)
        return fail(res, SV_ERR_PROCESSING, "business-rule", "sender",
                    "only the sending and the receiving organisation of a message answer or "
                    "forward it");
    return SV_OK;
}

/* A message of the thread of orig: identifier, category, subject, topic. */
static json_t *in_thread(const json_t *orig, const char *sender, const char *recipient,
                         const char *text, const json_t *params)
{
    json_t *comm = json_pack(
        "{s:s, s:s, s:O, s:O, s:O, s:{s:s}, s:[{s:s}]}", "resourceType", "Communication", "status",
        "completed", "identifier", json_object_get(orig, "identifier"), "category",
        json_object_get(orig, "category"), "subject", json_object_get(orig, "subject"), "sender",
        "reference", sender, "recipient", "reference", recipient);
    if (json_object_get(orig, "topic"))
        json_object_set(comm, "topic", json_object_get(orig, "topic"));
    json_t *first = json_pack("{s:s}", "contentString", text);
    const json_t *author = param(params, "author", "valueReference");
    if (author)
        json_object_set_new(
            first, "extension",
            json_pack("[{s:s, s:O}]", "url", SV_EXT_MC_PRACTITIONER, "valueReference", author));
    json_t *payload = json_array();
    json_array_append_new(payload, first);
    size_t i;
    const json_t *p;
    json_array_foreach(json_object_get(params, "parameter"), i, p)
    {
        const char *n = json_string_value(json_object_get(p, "name"));
        const json_t *att = json_object_get(p, "valueAttachment");
        if (n && strcmp(n, "attachment") == 0 && att)
            json_array_append_new(payload, json_pack("{s:O}", "contentAttachment", att));
    }
    json_object_set_new(comm, "payload", payload);
    return comm;
}

static sv_err create(sv_rest *r, json_t *comm, sv_rest_result *res)
{
    sv_err e = sv_rest_create(r, "Communication", comm, NULL, res);
    json_decref(comm);
    return e;
}

sv_err sv_coord_message_reply(sv_rest *r, const char *id, const json_t *params, sv_rest_result *res)
{
    const char *text = json_string_value(param(params, "text", "valueString"));
    if (!text || !*text)
        return fail(res, SV_ERR_INVALID, "required", "text",
                    "a reply needs its text (parameter text, valueString)");
    json_t *orig;
    sv_err e = load_message(r, id, &orig, res);
    if (e)
        return e;
    char s[SV_COORD_REF_LEN] = "", rc[SV_COORD_REF_LEN] = "", sender[SV_COORD_REF_LEN];
    ref_of(json_object_get(orig, "sender"), s);
    ref_of(json_array_get(json_object_get(orig, "recipient"), 0), rc);
    e = choose_sender(r, params, orig, rc, sender, res);
    if (e) {
        json_decref(orig);
        return e;
    }
    /* To the other party: a follow-up by the sender goes to the same recipient. */
    json_t *comm = in_thread(orig, sender, strcmp(sender, s) == 0 ? rc : s, text, params);
    char ref[SV_COORD_REF_LEN];
    snprintf(ref, sizeof(ref), "Communication/%s", id);
    json_object_set_new(comm, "inResponseTo", json_pack("[{s:s}]", "reference", ref));
    json_decref(orig);
    return create(r, comm, res);
}

/* Contained ids of the forwarded message get a prefix, and so do the local
 * references ("#id") that point at them, so they cannot clash with ours. */
static void prefix_local_refs(json_t *node, const char *prefix)
{
    if (json_is_array(node)) {
        for (size_t i = 0; i < json_array_size(node); i++)
            prefix_local_refs(json_array_get(node, i), prefix);
        return;
    }
    if (!json_is_object(node))
        return;
    const char *ref = json_string_value(json_object_get(node, "reference"));
    if (ref && ref[0] == '#') {
        char buf[140];
        snprintf(buf, sizeof(buf), "#%s%s", prefix, ref + 1);
        json_object_set_new(node, "reference", json_string(buf));
    }
    const char *key;
    json_t *value;
    json_object_foreach(node, key, value) prefix_local_refs(value, prefix);
}

sv_err sv_coord_message_forward(sv_rest *r, const char *id, const json_t *params,
                                sv_rest_result *res)
{
    char to[SV_COORD_REF_LEN];
    if (!ref_of(param(params, "recipient", "valueReference"), to) ||
        !sv__coord_ref_id(to, "Organization"))
        return fail(res, SV_ERR_INVALID, "required", "recipient",
                    "a forward needs the organisation it goes to (parameter recipient, "
                    "valueReference Organization/id)");
    json_t *orig;
    sv_err e = load_message(r, id, &orig, res);
    if (e)
        return e;
    char rc[SV_COORD_REF_LEN] = "", sender[SV_COORD_REF_LEN];
    ref_of(json_array_get(json_object_get(orig, "recipient"), 0), rc);
    e = choose_sender(r, params, orig, rc, sender, res);
    if (e) {
        json_decref(orig);
        return e;
    }
    const char *text = json_string_value(param(params, "text", "valueString"));
    json_t *comm = in_thread(orig, sender, to, text && *text ? text : "Forwarded message", params);
    char ref[SV_COORD_REF_LEN];
    snprintf(ref, sizeof(ref), "Communication/%s", id);
    json_object_set_new(comm, "partOf", json_pack("[{s:s}]", "reference", ref));
    /* The forwarded payloads follow the note, each with its own author and time. */
    json_t *payload = json_object_get(comm, "payload");
    size_t i;
    json_t *p;
    json_array_foreach(json_object_get(orig, "payload"), i, p)
    {
        json_t *copy = json_deep_copy(p);
        prefix_local_refs(copy, "fwd-");
        json_array_append_new(payload, copy);
    }
    json_t *contained = json_array();
    json_array_foreach(json_object_get(orig, "contained"), i, p)
    {
        json_t *copy = json_deep_copy(p);
        char cid[140];
        snprintf(cid, sizeof(cid), "fwd-%s", json_string_value(json_object_get(p, "id")));
        json_object_set_new(copy, "id", json_string(cid));
        prefix_local_refs(copy, "fwd-");
        json_array_append_new(contained, copy);
    }
    if (json_array_size(contained))
        json_object_set(comm, "contained", contained);
    json_decref(contained);
    json_decref(orig);
    return create(r, comm, res);
}

sv_err sv_coord_message_read(sv_rest *r, const char *id, const json_t *params, sv_rest_result *res)
{
    json_t *comm;
    sv_err e = load_message(r, id, &comm, res);
    if (e)
        return e;
    char org[SV_COORD_REF_LEN], rc[SV_COORD_REF_LEN] = "";
    const char *caller = sv__coord_caller_org(r);
    if (caller[0])
        snprintf(org, sizeof(org), "%s", caller);
    else if (!ref_of(param(params, "organization", "valueReference"), org)) {
        json_decref(comm);
        return fail(res, SV_ERR_INVALID, "required", "organization",
                    "who read it: the caller's organisation, or parameter organization");
    }
    ref_of(json_array_get(json_object_get(comm, "recipient"), 0), rc);
    if (strcmp(org, rc) != 0) {
        json_decref(comm);
        return fail(res, SV_ERR_PROCESSING, "business-rule", "Communication.recipient",
                    "only the receiving organisation records that it read a message");
    }
    /* The first read of an organisation is the receipt; later reads change nothing. */
    size_t i;
    const json_t *x;
    json_array_foreach(json_object_get(comm, "extension"), i, x)
    {
        const char *url = json_string_value(json_object_get(x, "url"));
        char who[SV_COORD_REF_LEN];
        if (url && strcmp(url, SV_EXT_READ_RECEIPT) == 0 &&
            ref_of(json_object_get(sv__coord_extension(x, "organization"), "valueReference"),
                   who) &&
            strcmp(who, org) == 0) {
            json_decref(comm);
            return sv_rest_read(r, "Communication", id, res);
        }
    }
    char ts[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_clock_now_ms(), ts);
    json_t *receipt = json_pack("{s:s, s:[{s:s, s:{s:s}}, {s:s, s:s}]}", "url", SV_EXT_READ_RECEIPT,
                                "extension", "url", "organization", "valueReference", "reference",
                                org, "url", "time", "valueDateTime", ts);
    const json_t *reader = param(params, "reader", "valueReference");
    json_t *agent = sv__coord_author_agent(r);
    if (!reader)
        reader = json_object_get(agent, "who");
    if (json_object_get(reader, "reference"))
        json_array_append_new(json_object_get(receipt, "extension"),
                              json_pack("{s:s, s:O}", "url", "reader", "valueReference", reader));
    else {
        const char *display = json_string_value(json_object_get(reader, "display"));
        json_array_append_new(
            json_object_get(receipt, "extension"),
            json_pack("{s:s, s:s}", "url", "reader", "valueString", display ? display : "unknown"));
    }
    json_decref(agent);
    json_t *exts = json_object_get(comm, "extension");
    if (!json_is_array(exts)) {
        exts = json_array();
        json_object_set_new(comm, "extension", exts);
    }
    json_array_append_new(exts, receipt);
    json_object_del(comm, "meta");
    e = sv_rest_update(r, "Communication", id, comm, NULL, res);
    json_decref(comm);
    return e;
}
