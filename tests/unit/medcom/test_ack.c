/*
 * test_ack.c - the acknowledgement written as text (ack.c) is byte for byte what
 * the jansson tree it replaced dumps to: the reference builder below is that
 * former json_pack builder, kept here only as the oracle.  Compared for every
 * message the project holds (the MedCom vectors, tests/data/medcom and its invalid
 * messages), for each answer code, and for hand-made messages with strings that
 * need escapes, long ids and missing Organizations.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/json.h"
#include "helpers.h"
#include "medcom/internal.h"

#define ACK_PROFILE                                                                                \
    "http://medcomfhir.dk/ig/acknowledgement/StructureDefinition/medcom-messaging-acknowledgement"
#define ACK_HEADER_PROFILE                                                                         \
    "http://medcomfhir.dk/ig/acknowledgement/StructureDefinition/"                                 \
    "medcom-messaging-acknowledgementHeader"
#define ACK_OUTCOME_PROFILE                                                                        \
    "http://medcomfhir.dk/ig/acknowledgement/StructureDefinition/"                                 \
    "medcom-acknowledgement-operationoutcome"
#define PROVENANCE_PROFILE                                                                         \
    "http://medcomfhir.dk/ig/messaging/StructureDefinition/medcom-messaging-provenance"

/* ---- the former tree builder (session 4's ack.c), with its ids given ---- */

static json_t *profile(const char *url)
{
    return json_pack("{s:[s]}", "profile", url);
}

static json_t *entry(const char *type, const char *id, json_t *resource)
{
    char url[128];
    snprintf(url, sizeof(url), "%s/%s", type, id);
    return json_pack("{s:s, s:o}", "fullUrl", url, "resource", resource);
}

static json_t *ref(const char *type, const char *id)
{
    if (!id)
        return NULL;
    char r[128];
    snprintf(r, sizeof(r), "%s/%s", type, id);
    return json_pack("{s:s}", "reference", r);
}

static const char *severity_name(sv_severity s)
{
    switch (s) {
    case SV_SEV_FATAL:
        return "fatal";
    case SV_SEV_ERROR:
        return "error";
    case SV_SEV_WARNING:
        return "warning";
    default:
        return "information";
    }
}

static json_t *outcome(const char *id, const char *code, const sv_outcome *issues)
{
    json_t *list = json_array();
    for (size_t i = 0; issues && i < issues->len; i++) {
        const sv_issue *is = &issues->issues[i];
        json_t *j = json_pack("{s:s, s:s}", "severity", severity_name(is->severity), "code",
                              is->code ? is->code : "processing");
        if (is->diagnostics)
            json_object_set_new(j, "diagnostics", json_string(is->diagnostics));
        if (is->expression)
            json_object_set_new(j, "expression", json_pack("[s]", is->expression));
        json_array_append_new(list, j);
    }
    if (json_array_size(list) == 0)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s}", "severity", "error", "code",
                            strcmp(code, "transient-error") == 0 ? "transient" : "processing",
                            "diagnostics",
                            strcmp(code, "transient-error") == 0
                                ? "the message could not be stored now; send it again later"
                                : "the message was refused"));
    return json_pack("{s:s, s:s, s:o, s:o}", "resourceType", "OperationOutcome", "id", id, "meta",
                     profile(ACK_OUTCOME_PROFILE), "issue", list);
}

static json_t *org_copy(const json_t *org)
{
    json_t *o = json_object();
    const char *keys[] = {"resourceType", "id", "meta", "identifier", "name"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        json_t *v = json_object_get(org, keys[i]);
        if (v)
            json_object_set(o, keys[i], v);
    }
    return o;
}

static const char *usable_endpoint(const json_t *v, const char *fallback)
{
    const char *s = json_string_value(v);
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > 1024 || strncmp(s, "urn:", 4) == 0)
        return fallback;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return fallback;
    return s;
}

static json_t *tree_ack(const sv__medcom_msg *msg, const char *code, const sv_outcome *issues,
                        const sv__medcom_ack_ids *ids)
{
    const char *header_id = ids->header, *outcome_id = ids->outcome, *prov_id = ids->provenance,
               *now = ids->now;
    const char *us = json_string_value(json_object_get(msg->receiver_org, "id"));
    const char *them = json_string_value(json_object_get(msg->sender_org, "id"));
    json_t *dest0 = json_array_get(json_object_get(msg->header, "destination"), 0);
    const char *our_endpoint = usable_endpoint(json_object_get(dest0, "endpoint"), "urn:samverka");
    const char *their_endpoint = usable_endpoint(
        json_object_get(json_object_get(msg->header, "source"), "endpoint"), "urn:unknown");

    json_t *header = json_pack(
        "{s:s, s:s, s:o, s:{s:s, s:s}, s:o*, s:{s:s}, s:[{s:[{s:s, s:{s:s, s:s}}], s:s, s:o*}]}",
        "resourceType", "MessageHeader", "id", header_id, "meta", profile(ACK_HEADER_PROFILE),
        "eventCoding", "system", SV__MEDCOM_EVENT_SYSTEM, "code", "acknowledgement-message",
        "sender", ref("Organization", us), "source", "endpoint", our_endpoint, "destination",
        "extension", "url", SV__MEDCOM_DESTINATION_USE, "valueCoding", "system",
        "http://medcomfhir.dk/ig/terminology/CodeSystem/medcom-messaging-destinationUse", "code",
        "primary", "endpoint", their_endpoint, "receiver", ref("Organization", them));
    json_t *response = json_pack("{s:s, s:s}", "identifier", msg->message_id, "code", code);
    if (strcmp(code, "ok") != 0)
        json_object_set_new(response, "details", ref("OperationOutcome", outcome_id));
    json_object_set_new(header, "response", response);

    json_t *entries = json_array();
    json_array_append_new(entries, entry("MessageHeader", header_id, header));
    if (strcmp(code, "ok") != 0)
        json_array_append_new(
            entries, entry("OperationOutcome", outcome_id, outcome(outcome_id, code, issues)));
    if (msg->provenance) {
        const char *pid = json_string_value(json_object_get(msg->provenance, "id"));
        json_array_append_new(
            entries, entry("Provenance", pid ? pid : "unknown", json_incref(msg->provenance)));
    }
    json_t *who = us ? ref("Organization", us) : json_pack("{s:s}", "display", "samverka");
    json_t *prov = json_pack(
        "{s:s, s:s, s:o, s:[o], s:s, s:s, s:{s:[{s:s, s:s}]}, s:[{s:o}], s:[{s:s, s:o}]}",
        "resourceType", "Provenance", "id", prov_id, "meta", profile(PROVENANCE_PROFILE), "target",
        ref("MessageHeader", header_id), "occurredDateTime", now, "recorded", now, "activity",
        "coding", "system", SV__MEDCOM_ACTIVITY_SYSTEM, "code", "acknowledgement", "agent", "who",
        who, "entity", "role", "revision", "what", ref("MessageHeader", msg->message_id));
    json_array_append_new(entries, entry("Provenance", prov_id, prov));
    if (us)
        json_array_append_new(entries, entry("Organization", us, org_copy(msg->receiver_org)));
    if (them && msg->sender_org != msg->receiver_org)
        json_array_append_new(entries, entry("Organization", them, org_copy(msg->sender_org)));

    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:o}", "resourceType", "Bundle", "id", ids->bundle,
                     "meta", profile(ACK_PROFILE), "type", "message", "timestamp", now, "entry",
                     entries);
}

/* ---- the comparison ---- */

static size_t compared;

static void same_as_tree(const sv__medcom_msg *msg, const char *code, const sv_outcome *issues)
{
    sv__medcom_ack_ids ids;
    sv__medcom_ack_ids_new(&ids);
    json_t *tree = tree_ack(msg, code, issues, &ids);
    assert_non_null(tree);
    sv_buf want = SV_BUF_INIT, got = SV_BUF_INIT;
    assert_int_equal(sv_json_dumpb(tree, &want), SV_OK);
    sv__medcom_ack_write(msg, code, issues, &ids, &got);
    if (strcmp(want.ptr, got.ptr) != 0)
        fprintf(stderr, "want %s\ngot  %s\n", want.ptr, got.ptr);
    assert_string_equal(got.ptr, want.ptr);
    /* and it reads back as the one JSON object it claims to be */
    json_t *back = NULL;
    assert_int_equal(sv_json_parse(got.ptr, got.len, 64, SV_JSON_TOP_OBJECT, &back, NULL, NULL),
                     SV_OK);
    assert_true(json_equal(back, tree));
    json_decref(back);
    json_decref(tree);
    sv_buf_release(&want);
    sv_buf_release(&got);
    compared++;
}

/* Every answer the message can get: ok, transient-error, and fatal-error with
 * the issues its checks found (or none). */
static void compare_file(const char *path)
{
    json_t *bundle = load_message(path);
    sv__medcom_msg *msg = calloc(1, sizeof(*msg));
    sv_outcome issues = SV_OUTCOME_INIT;
    sv_err e = sv__medcom_parse(bundle, msg, &issues);
    if (e != SV_ERR_INVALID && msg->message_id) {
        same_as_tree(msg, "ok", NULL);
        same_as_tree(msg, "transient-error", NULL);
        same_as_tree(msg, "fatal-error", NULL);
        same_as_tree(msg, "fatal-error", &issues);
    }
    sv_outcome_clear(&issues);
    free(msg);
    json_decref(bundle);
}

static void compare_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".json") != 0 ||
            strcmp(de->d_name, "expect.json") == 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        compare_file(path);
    }
    closedir(d);
}

static void test_project_messages(void **state)
{
    (void)state;
    compared = 0;
    compare_dir(MEDCOM_DATA);
    compare_dir(MEDCOM_DATA "invalid");
    size_t own = compared;
    assert_true(own >= 4 * 10); /* the data is there and was parsed */
    compare_dir(MEDCOM_VECTORS "/hospitalnotification");
    compare_dir(MEDCOM_VECTORS "/carecommunication");
    compare_dir(MEDCOM_VECTORS "/acknowledgement");
}

static json_t *org(const char *id)
{
    return json_pack("{s:s, s:s, s:{s:[s]}, s:[{s:s, s:s}], s:s, s:s}", "resourceType",
                     "Organization", "id", id, "meta", "profile", "http://x/\"p\"", "identifier",
                     "system", SV__MEDCOM_SOR_SYSTEM, "value", "123\\4", "name",
                     "Æbeløs \"kommune\"\n", "alias", "not copied");
}

/* Strings that need escapes, ids longer than a reference holds (cut on a UTF-8
 * boundary of its own), endpoints the ack must not echo, missing Organizations. */
static void test_hand_made(void **state)
{
    (void)state;
    char long_id[200];
    memset(long_id, 'x', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    json_t *header = json_pack("{s:s, s:[{s:s}], s:{s:s}}", "id", "h\"1\\\t\x01", "destination",
                               "endpoint", "http://a/b\"c", "source", "endpoint", "urn:x");
    json_t *prov = json_pack("{s:s, s:s, s:[f, i, b, n]}", "resourceType", "Provenance", "id",
                             "p\xc3\xa6", "x", 98.6, (json_int_t)-7, 1);
    json_t *us = org("us\xe2\x82\xac"), *them = org(long_id);
    sv_outcome issues = SV_OUTCOME_INIT;
    sv_outcome_add(&issues, SV_SEV_ERROR, "invalid", "Bundle.entry[0].resource.id",
                   "the value \"%s\" is wrong\r\n", "a\\b");
    sv_outcome_add(&issues, SV_SEV_WARNING, NULL, NULL, "%s", "plain");

    sv__medcom_msg *msg = calloc(1, sizeof(*msg));
    msg->header = header;
    msg->message_id = json_string_value(json_object_get(header, "id"));
    msg->provenance = prov;
    msg->receiver_org = us;
    msg->sender_org = them;
    const char *codes[] = {"ok", "transient-error", "fatal-error"};
    for (size_t i = 0; i < 3; i++) {
        same_as_tree(msg, codes[i], &issues);
        msg->sender_org = us; /* the same Organization: once */
        same_as_tree(msg, codes[i], &issues);
        msg->sender_org = NULL;
        msg->receiver_org = NULL;
        msg->provenance = NULL;
        same_as_tree(msg, codes[i], &issues);
        msg->sender_org = them;
        msg->receiver_org = us;
        msg->provenance = prov;
    }

    /* an id of an ASCII letter and 130 two-byte characters: the tree builder cut its
     * reference at 127 bytes inside a character (and json_pack then failed); ours
     * stops before that character */
    char wide[263] = "x";
    for (int i = 0; i < 130; i++)
        strcat(wide, "\xc3\xa6");
    json_t *wide_org = org(wide);
    msg->sender_org = wide_org;
    sv__medcom_ack_ids ids;
    sv__medcom_ack_ids_new(&ids);
    sv_buf got = SV_BUF_INIT;
    sv__medcom_ack_write(msg, "ok", NULL, &ids, &got);
    json_t *back = NULL;
    assert_int_equal(sv_json_parse(got.ptr, got.len, 64, SV_JSON_TOP_OBJECT, &back, NULL, NULL),
                     SV_OK);
    const char *receiver = json_string_value(json_object_get(
        json_object_get(
            json_array_get(
                json_object_get(
                    json_object_get(json_array_get(json_object_get(back, "entry"), 0), "resource"),
                    "destination"),
                0),
            "receiver"),
        "reference"));
    assert_non_null(receiver);
    assert_int_equal(strlen(receiver), strlen("Organization/") + 1 + 2 * 56);
    json_decref(back);
    sv_buf_release(&got);

    json_decref(wide_org);
    free(msg);
    sv_outcome_clear(&issues);
    json_decref(header);
    json_decref(prov);
    json_decref(us);
    json_decref(them);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_project_messages),
        cmocka_unit_test(test_hand_made),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
