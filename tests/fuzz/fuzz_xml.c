/*
 * fuzz_xml.c - libFuzzer driver for fhir/xml (FHIR XML to JSON).
 *
 * Oracles beyond "does not crash": either JSON and no error issue, or no JSON
 * and at least one issue; what converts is an object with a resourceType that
 * the validator can walk.  Build with -fsanitize=fuzzer, or with -DSV_FUZZ_REPLAY
 * as a plain program that replays files (see fuzz_replay.h).
 * Depends on fhir/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir/validate.h"
#include "fhir/xml.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_xml: check failed at line %d: %s\n", __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *j = NULL;
    sv_outcome o = SV_OUTCOME_INIT;
    sv_err e = sv_fhir_xml_to_json((const char *)data, size, &j, &o);
    if (e == SV_OK) {
        CHECK(j != NULL && json_is_object(j) && o.errors == 0);
        CHECK(json_string_value(json_object_get(j, "resourceType")) != NULL);
        sv_outcome v = SV_OUTCOME_INIT;
        sv_fhir_validate(j, &v);
        sv_outcome_clear(&v);
    } else {
        CHECK(j == NULL && o.len > 0);
    }
    json_decref(j);
    sv_outcome_clear(&o);
    return 0;
}

#include "fuzz_replay.h"
