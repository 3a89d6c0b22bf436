/*
 * fuzz_validate.c - libFuzzer driver for fhir/validate (sv_fhir_validate), fed
 * through base/json the way the server feeds it (depth 64, objects only).
 *
 * Oracles beyond "does not crash": the return value is the number of error
 * issues added; at most SV_FHIR_VALIDATE_MAX_ISSUES + 1 issues; every issue has
 * a code and lowercase-free-form diagnostics that survive sv_outcome_to_json
 * (they echo user text and must stay valid UTF-8); validation leaves the
 * resource unchanged and gives the same issues twice; and a valid resource is
 * still valid after a round trip through sv_json_dumpb (what the server stores).
 * Build with -fsanitize=fuzzer, or with -DSV_FUZZ_REPLAY as a plain program
 * that replays files (see fuzz_replay.h).
 * Depends on base/, fhir/ and jansson.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fhir/outcome.h"
#include "fhir/validate.h"

#define SERVER_DEPTH 64

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_validate: check failed at line %d: %s\n", __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int count_errors(const sv_outcome *out)
{
    int n = 0;
    for (size_t i = 0; i < out->len; i++)
        if (out->issues[i].severity == SV_SEV_ERROR || out->issues[i].severity == SV_SEV_FATAL)
            n++;
    return n;
}

static void check_issues(const sv_outcome *out, int errors)
{
    CHECK(count_errors(out) == errors);
    CHECK(out->len <= SV_FHIR_VALIDATE_MAX_ISSUES + 1);
    for (size_t i = 0; i < out->len; i++) {
        const sv_issue *is = &out->issues[i];
        CHECK(is->code && is->code[0]);
        CHECK(is->diagnostics && is->diagnostics[0]);
    }
    if (out->len) {
        json_t *oo = sv_outcome_to_json(out);
        CHECK(oo != NULL);
        const json_t *issues = json_object_get(oo, "issue");
        CHECK(json_array_size(issues) == out->len);
        for (size_t i = 0; i < out->len; i++)
            CHECK(json_string_value(json_object_get(json_array_get(issues, i), "diagnostics")));
        json_decref(oo);
    }
}

static void same_issues(const sv_outcome *a, const sv_outcome *b)
{
    CHECK(a->len == b->len);
    for (size_t i = 0; i < a->len; i++) {
        CHECK(a->issues[i].severity == b->issues[i].severity);
        CHECK(strcmp(a->issues[i].code, b->issues[i].code) == 0);
        CHECK(strcmp(a->issues[i].diagnostics, b->issues[i].diagnostics) == 0);
        CHECK((!a->issues[i].expression && !b->issues[i].expression) ||
              (a->issues[i].expression && b->issues[i].expression &&
               strcmp(a->issues[i].expression, b->issues[i].expression) == 0));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *resource = NULL;
    if (sv_json_parse((const char *)data, size, SERVER_DEPTH, SV_JSON_TOP_OBJECT, &resource, NULL,
                      NULL) != SV_OK)
        return 0;

    sv_buf before = SV_BUF_INIT, after = SV_BUF_INIT;
    CHECK(sv_json_dumpb(resource, &before) == SV_OK);

    sv_outcome out = SV_OUTCOME_INIT, again = SV_OUTCOME_INIT;
    int errors = sv_fhir_validate(resource, &out);
    CHECK(errors >= 0);
    check_issues(&out, errors);

    /* Validation is a pure function of the JSON: nothing changed, same answer twice. */
    CHECK(sv_json_dumpb(resource, &after) == SV_OK);
    CHECK(strcmp(before.ptr, after.ptr) == 0);
    CHECK(sv_fhir_validate(resource, &again) == errors);
    same_issues(&out, &again);

    /* What is accepted is stored as text and read back: it must still be valid. */
    if (errors == 0) {
        json_t *stored = NULL;
        sv_buf message = SV_BUF_INIT;
        sv_err e = sv_json_parse(before.ptr, before.len, SERVER_DEPTH, SV_JSON_TOP_OBJECT, &stored,
                                 &message, NULL);
        /* Only a real within 5e-15 of DBL_MAX cannot be read back (json.h). */
        CHECK(e == SV_OK || strstr(message.ptr, "real number overflow"));
        if (e == SV_OK) {
            sv_outcome third = SV_OUTCOME_INIT;
            CHECK(sv_fhir_validate(stored, &third) == 0);
            sv_outcome_clear(&third);
        }
        json_decref(stored);
        sv_buf_release(&message);
    }

    sv_outcome_clear(&out);
    sv_outcome_clear(&again);
    sv_buf_release(&before);
    sv_buf_release(&after);
    json_decref(resource);
    return 0;
}

#include "fuzz_replay.h"
