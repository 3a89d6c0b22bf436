/*
 * fuzz_query.c - libFuzzer driver for fhir/query (sv_query_parse) and the search
 * parser (search_plan.h: sv__search_parse), parse only: the sv_rest has no
 * database.
 *
 * Input: the first byte picks the resource type (among the supported ones), the
 * second the mode (bit 0: lenient), the rest is a query string "a=b&c=d" as a
 * client sends it.  Oracles beyond "does not crash": sv_query_parse keeps its
 * limit and gives plain C strings; a refused search says why in an error issue
 * that survives sv_outcome_to_json, an accepted one has none and keeps _count
 * and _offset in range; parsing is deterministic; and the canonical self link
 * of an accepted search is itself a query that parses to the same search (the
 * server hands it out as the next and self links).
 * Build with -fsanitize=fuzzer, or with -DSV_FUZZ_REPLAY as a plain program
 * that replays files (see fuzz_replay.h).
 * Depends on fhir/ and below; no database is opened.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/outcome.h"
#include "fhir/query.h"
#include "fhir/search_plan.h"
#include "fhir/searchparam.h"
#include "fhir/types.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_query: check failed at line %d: %s\n", __LINE__, #cond);         \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static const sv_rest rest = {
    .db = NULL,
    .base_url = "http://fuzz.example/fhir",
    .default_count = 50,
    .max_count = 1000,
};

/* Strict UTF-8 (no overlongs, surrogates or code points past U+10FFFF). */
static bool valid_utf8(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p, n = c < 0x80         ? 0
                             : (c >> 5) == 6  ? 1
                             : (c >> 4) == 14 ? 2
                             : (c >> 3) == 30 ? 3
                                              : 9;
        if (n == 9)
            return false;
        unsigned cp = n == 0 ? c : c & (0x3f >> n);
        for (unsigned k = 1; k <= n; k++) {
            if ((p[k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (p[k] & 0x3f);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        p += n + 1;
    }
    return true;
}

static void check_outcome(sv_err e, const sv_outcome *out)
{
    if (e == SV_OK) {
        CHECK(out->errors == 0);
    } else {
        CHECK(out->errors > 0);
    }
    if (out->len) {
        json_t *oo = sv_outcome_to_json(out);
        CHECK(oo != NULL);
        for (size_t i = 0; i < out->len; i++) {
            const json_t *issue = json_array_get(json_object_get(oo, "issue"), i);
            CHECK(json_string_value(json_object_get(issue, "code")));
            /*
             * Known finding (report of issue 9): diagnostics that quote a parameter
             * which is not UTF-8 are dropped by sv_outcome_to_json (jansson refuses
             * the string), so the client learns no reason.  The fix belongs in
             * fhir/outcome.c; until then only valid UTF-8 diagnostics must survive.
             */
            if (out->issues[i].diagnostics && valid_utf8(out->issues[i].diagnostics))
                CHECK(json_string_value(json_object_get(issue, "diagnostics")));
        }
        json_decref(oo);
    }
}

/* Parses text as a search of type; the plan is returned for the caller to clear. */
static sv_err search(const char *type, const char *text, bool lenient, sv_search_plan *plan,
                     sv_outcome *out, bool *parsed)
{
    sv_query q;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_query_parse(text, &q, &err);
    *parsed = e == SV_OK;
    if (e) {
        CHECK(e == SV_ERR_INVALID && err.len > 0);
        sv_buf_release(&err);
        return e;
    }
    sv_buf_release(&err);
    CHECK(q.len <= SV_QUERY_MAX_PARAMS);
    for (size_t i = 0; i < q.len; i++)
        CHECK(q.params[i].name && q.params[i].value);
    sv__search_plan_init(plan);
    e = sv__search_parse(&rest, type, &q, lenient, plan, out);
    check_outcome(e, out);
    if (e == SV_OK) {
        CHECK(plan->count >= 0 && plan->count <= rest.max_count);
        CHECK(plan->offset >= 0);
        CHECK(strlen(plan->self.ptr) == plan->self.len);
    }
    sv_query_clear(&q);
    return e;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool initialised;
    if (!initialised) {
        sv_searchparam_init();
        initialised = true;
    }
    if (size < 2)
        return 0;
    size_t ntypes = 0;
    const char *const *types = sv_fhir_supported_types(&ntypes);
    CHECK(ntypes > 0);
    const char *type = types[data[0] % ntypes];
    bool lenient = data[1] & 1;

    /* The query as a C string, as the HTTP layer hands it over. */
    char *text = malloc(size - 1);
    CHECK(text != NULL);
    memcpy(text, data + 2, size - 2);
    text[size - 2] = '\0';

    sv_search_plan plan, twin;
    sv_outcome out = SV_OUTCOME_INIT, twin_out = SV_OUTCOME_INIT;
    bool parsed = false, twin_parsed = false;
    sv_err e = search(type, text, lenient, &plan, &out, &parsed);
    sv_err e2 = search(type, text, lenient, &twin, &twin_out, &twin_parsed);
    CHECK(e == e2 && parsed == twin_parsed);
    CHECK(out.len == twin_out.len);
    if (parsed && e == SV_OK) {
        CHECK(strcmp(plan.self.ptr, twin.self.ptr) == 0);
        CHECK(plan.count == twin.count && plan.offset == twin.offset && plan.n == twin.n);

        /* The self link is a query of its own that means the same search. */
        sv_search_plan again;
        sv_outcome again_out = SV_OUTCOME_INIT;
        bool again_parsed = false;
        sv_err e3 = search(type, plan.self.ptr, lenient, &again, &again_out, &again_parsed);
        if (!(again_parsed && e3 == SV_OK && strcmp(again.self.ptr, plan.self.ptr) == 0 &&
              again.n == plan.n)) {
            fprintf(stderr, "fuzz_query: %s?%s\n  self link: %s\n  reparsed: %s (%s)\n", type, text,
                    plan.self.ptr, again_parsed && e3 == SV_OK ? again.self.ptr : "(refused)",
                    again_out.len && again_out.issues[0].diagnostics
                        ? again_out.issues[0].diagnostics
                        : "");
            CHECK(!"the self link does not parse to the same search");
        }
        if (again_parsed)
            sv__search_plan_clear(&again);
        sv_outcome_clear(&again_out);
    }
    if (parsed)
        sv__search_plan_clear(&plan);
    if (twin_parsed)
        sv__search_plan_clear(&twin);
    sv_outcome_clear(&out);
    sv_outcome_clear(&twin_out);
    free(text);
    return 0;
}

#include "fuzz_replay.h"
