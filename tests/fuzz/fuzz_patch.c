/*
 * fuzz_patch.c - libFuzzer driver for fhir/patch (sv_json_patch_apply_limited).
 *
 * Input: a document on the first line and the patch after the first newline;
 * without a newline the whole input is the patch, applied to a built-in
 * Patient.  Oracles: on failure the document is unchanged and one issue says
 * why; on success no issue, resourceType kept and the result still parses
 * under the depth limit; applying the same patch twice gives the same answer.
 * Build with -fsanitize=fuzzer, or with -DSV_FUZZ_REPLAY as a plain program
 * that replays files (see fuzz_replay.h).
 * Depends on base/, fhir/ and jansson.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fhir/patch.h"

#define FUZZ_DEPTH 32

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_patch: check failed at line %d: %s\n", __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const char default_doc[] =
    "{\"resourceType\":\"Patient\",\"id\":\"example\",\"active\":true,"
    "\"name\":[{\"family\":\"Doe\",\"given\":[\"Jane\",\"Q\"]}],"
    "\"telecom\":[{\"system\":\"phone\",\"value\":\"555\"},{\"system\":\"email\"}],"
    "\"a/b\":{\"~\":[0,1.5,null,false,\"\"]},\"\":{}}";

static void dump(const json_t *j, sv_buf *out)
{
    sv_buf_reset(out);
    CHECK(sv_json_dumpb(j, out) == SV_OK);
}

static void check_outcome(sv_err err, const sv_outcome *out)
{
    if (err == SV_OK) {
        CHECK(out->len == 0);
        return;
    }
    CHECK(err == SV_ERR_INVALID || err == SV_ERR_PROCESSING || err == SV_ERR_TOO_DEEP ||
          err == SV_ERR_TOO_LARGE);
    CHECK(out->len == 1 && out->errors == 1);
    const sv_issue *is = &out->issues[0];
    CHECK(is->expression && strncmp(is->expression, "patch", 5) == 0);
    CHECK(is->diagnostics && !(is->diagnostics[0] >= 'A' && is->diagnostics[0] <= 'Z'));
    /* Diagnostics echo user text: they must stay valid UTF-8 to reach the response. */
    json_t *oo = sv_outcome_to_json(out);
    CHECK(json_object_get(json_array_get(json_object_get(oo, "issue"), 0), "diagnostics"));
    json_decref(oo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const sv_patch_limits limits = {256, FUZZ_DEPTH, 20000};
    const char *text = (const char *)data;
    const char *newline = memchr(text, '\n', size);
    const char *doc_text = newline ? text : default_doc;
    size_t doc_len = newline ? (size_t)(newline - text) : sizeof(default_doc) - 1;
    const char *patch_text = newline ? newline + 1 : text;
    size_t patch_len = newline ? size - doc_len - 1 : size;

    json_t *doc = NULL, *patch = NULL;
    if (sv_json_parse(doc_text, doc_len, FUZZ_DEPTH, SV_JSON_TOP_OBJECT, &doc, NULL, NULL) !=
            SV_OK ||
        sv_json_parse(patch_text, patch_len, FUZZ_DEPTH, SV_JSON_TOP_ANY, &patch, NULL, NULL) !=
            SV_OK) {
        json_decref(doc);
        return 0;
    }

    json_t *twin = json_deep_copy(doc);
    CHECK(twin != NULL);
    sv_buf before = SV_BUF_INIT, after = SV_BUF_INIT, twin_after = SV_BUF_INIT;
    sv_outcome out = SV_OUTCOME_INIT, twin_out = SV_OUTCOME_INIT;
    dump(doc, &before);

    sv_err err = sv_json_patch_apply_limited(doc, patch, &limits, &out);
    check_outcome(err, &out);
    dump(doc, &after);
    CHECK(json_is_object(doc));
    if (err != SV_OK) {
        CHECK(strcmp(before.ptr, after.ptr) == 0);
    } else {
        const json_t *was = json_object_get(twin, "resourceType");
        const json_t *now = json_object_get(doc, "resourceType");
        CHECK((!was && !now) || (was && now && json_equal(was, now)));
        /* Inserted values respect the limit, so the result reads back under it. */
        json_t *again = NULL;
        sv_buf message = SV_BUF_INIT;
        sv_err reread = sv_json_parse(after.ptr, after.len, FUZZ_DEPTH, SV_JSON_TOP_OBJECT, &again,
                                      &message, NULL);
        CHECK(reread == SV_OK || strstr(message.ptr, "real number overflow"));
        json_decref(again);
        sv_buf_release(&message);
    }

    /* Deterministic: the same patch on an identical document gives the same answer. */
    sv_err twin_err = sv_json_patch_apply_limited(twin, patch, &limits, &twin_out);
    CHECK(twin_err == err);
    dump(twin, &twin_after);
    CHECK(strcmp(after.ptr, twin_after.ptr) == 0);
    if (err != SV_OK) {
        CHECK(strcmp(out.issues[0].expression, twin_out.issues[0].expression) == 0);
        CHECK(strcmp(out.issues[0].diagnostics, twin_out.issues[0].diagnostics) == 0);
    }

    sv_outcome_clear(&out);
    sv_outcome_clear(&twin_out);
    sv_buf_release(&before);
    sv_buf_release(&after);
    sv_buf_release(&twin_after);
    json_decref(doc);
    json_decref(twin);
    json_decref(patch);
    return 0;
}

#include "fuzz_replay.h"
