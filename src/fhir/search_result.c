/*
 * search_result.c - the result parameters of a search (search_result.h).
 *
 * This version knows _summary=false (the default) and refuses the rest with a
 * clear OperationOutcome, or drops them under Prefer: handling=lenient.
 */
#include "fhir/search_result.h"

#include <stdlib.h>
#include <string.h>

struct sv_search_result {
    int unused;
};

bool sv__search_is_result_param(const char *name)
{
    static const char *const names[] = {"_include", "_revinclude", "_elements",
                                        "_summary", "_contained",  "_containedType"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

sv_err sv__search_result_param(sv_search_plan *p, const char *full, const char *name,
                               const char *modifier, const char *value, bool lenient,
                               sv_outcome *out)
{
    (void)p;
    (void)modifier;
    if (strcmp(name, "_summary") == 0 && strcmp(value, "false") == 0)
        return SV_OK;
    if (lenient)
        return SV_OK;
    sv_outcome_add(out, SV_SEV_ERROR, "not-supported", full, "'%s=%s' is not supported yet", full,
                   value);
    return SV_ERR_INVALID;
}

void sv__search_result_free(struct sv_search_result *result)
{
    free(result);
}
