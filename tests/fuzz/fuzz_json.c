/*
 * fuzz_json.c - libFuzzer driver for base/json (sv_json_parse, sv_json_dumpb).
 *
 * Oracles beyond "does not crash": the outputs obey the contract in json.h
 * (json or message+offset, never both), object-only parsing agrees with
 * any-value parsing, and what sv_json_dumpb writes parses back to a fixed
 * point, and sv_json_loadb builds exactly what json_loadb builds (or fails
 * where it fails).  Build with -fsanitize=fuzzer, or with -DSV_FUZZ_REPLAY as a plain
 * program that replays files (see fuzz_replay.h).
 * Depends on base/ and jansson.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"

#define FUZZ_DEPTH 32

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_json: check failed at line %d: %s\n", __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Dumps j, parses the text again and returns the new value (NULL: real overflow, see below). */
static json_t *round_trip(const json_t *j, sv_buf *text)
{
    json_t *again = NULL;
    sv_buf message = SV_BUF_INIT;
    sv_buf_reset(text);
    CHECK(sv_json_dumpb(j, text) == SV_OK);
    CHECK(strlen(text->ptr) == text->len);
    sv_err err =
        sv_json_parse(text->ptr, text->len, FUZZ_DEPTH, SV_JSON_TOP_ANY, &again, &message, NULL);
    /*
     * Written with 15 digits, a real within 5e-15 of DBL_MAX rounds up past it
     * and cannot be read back (json.h); everything else must parse.
     */
    if (err != SV_OK)
        CHECK(err == SV_ERR_INVALID && strstr(message.ptr, "beyond the largest decimal") != NULL);
    sv_buf_release(&message);
    return again;
}

/* sv_json_loadb against jansson's own reader: the same value with the same member
 * order (compared as written), or NULL from both. */
static void same_as_jansson(const char *text, size_t size, size_t flags)
{
    json_t *fast = sv_json_loadb(text, size, flags, NULL);
    json_t *slow = json_loadb(text, size, flags, NULL);
    CHECK((fast == NULL) == (slow == NULL));
    if (fast) {
        sv_buf a = SV_BUF_INIT, b = SV_BUF_INIT;
        CHECK(sv_json_dumpb(fast, &a) == SV_OK && sv_json_dumpb(slow, &b) == SV_OK);
        CHECK(a.len == b.len && memcmp(a.ptr, b.ptr, a.len) == 0 && json_equal(fast, slow));
        sv_buf_release(&a);
        sv_buf_release(&b);
    }
    json_decref(fast);
    json_decref(slow);
}

/* Nesting as json.h counts it: containers, a scalar is 0. */
static size_t depth_of(const json_t *j)
{
    size_t deepest = 0;
    if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)j, key, v)
        {
            size_t d = depth_of(v);
            deepest = d > deepest ? d : deepest;
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v)
        {
            size_t d = depth_of(v);
            deepest = d > deepest ? d : deepest;
        }
    } else {
        return 0;
    }
    return deepest + 1;
}

/*
 * sv_json_parse takes a well-formed document in one pass of the fast reader and
 * scans the raw bytes only otherwise: what it accepts is what jansson builds, no
 * deeper than the limit (one level less refuses it as too deep), and a value it
 * accepts is accepted the same by the scan path (DECODE_ANY through sv_json_loadb
 * and jansson agree, checked above).
 */
static void one_pass_agrees(const char *text, size_t size, const json_t *any)
{
    json_t *slow = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, NULL);
    CHECK(slow != NULL && json_equal(slow, any));
    json_decref(slow);
    size_t depth = depth_of(any);
    CHECK(depth <= FUZZ_DEPTH);
    if (depth > 0) {
        json_t *shallow = NULL;
        CHECK(sv_json_parse(text, size, depth - 1, SV_JSON_TOP_ANY, &shallow, NULL, NULL) ==
              SV_ERR_TOO_DEEP);
        CHECK(shallow == NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    json_t *any = NULL, *object = NULL;
    size_t offset = SIZE_MAX;
    sv_buf message = SV_BUF_INIT;

    same_as_jansson(text, size, 0);
    same_as_jansson(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY);

    sv_err err = sv_json_parse(text, size, FUZZ_DEPTH, SV_JSON_TOP_ANY, &any, &message, &offset);
    /* SV_ERR_INVALID: a number that cannot be held as written (1e400, 1e-400) */
    CHECK(err == SV_OK || err == SV_ERR_PARSE || err == SV_ERR_TOO_DEEP || err == SV_ERR_INVALID);
    if (err == SV_OK) {
        CHECK(any != NULL && offset == SIZE_MAX && message.len == 0);
        one_pass_agrees(text, size, any);
    } else {
        CHECK(any == NULL && offset <= size && message.len > 0);
        CHECK(message.ptr[0] >= 'a' && message.ptr[0] <= 'z');
    }

    sv_err err_object =
        sv_json_parse(text, size, FUZZ_DEPTH, SV_JSON_TOP_OBJECT, &object, NULL, NULL);
    if (err == SV_OK && json_is_object(any))
        CHECK(err_object == SV_OK && json_equal(object, any));
    else
        CHECK(err_object != SV_OK && object == NULL);
    /* Depth and NUL bytes are judged before the kind of value, by the same scan. */
    if (err == SV_ERR_TOO_DEEP)
        CHECK(err_object == SV_ERR_TOO_DEEP || err_object == SV_ERR_PARSE);

    if (err == SV_OK) {
        sv_buf first = SV_BUF_INIT, second = SV_BUF_INIT, third = SV_BUF_INIT;
        json_t *again = round_trip(any, &first);
        if (again) {
            /* Reals may move once (15 digits), then the text is a fixed point. */
            json_t *third_value = round_trip(again, &second);
            CHECK(third_value != NULL);
            sv_buf_reset(&third);
            CHECK(sv_json_dumpb(third_value, &third) == SV_OK);
            CHECK(strcmp(second.ptr, third.ptr) == 0);
            json_decref(third_value);
            json_decref(again);
        }
        sv_buf_release(&first);
        sv_buf_release(&second);
        sv_buf_release(&third);
    }

    json_decref(any);
    json_decref(object);
    sv_buf_release(&message);
    return 0;
}

#include "fuzz_replay.h"
