/* compartment.c - see compartment.h. */
#include "fhir/compartment.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * samverka's additions to the R4 Patient compartment; where a type is in both
 * tables, this one wins.  R4 (4.0.1) leaves Task out of the Patient compartment;
 * for care coordination "the citizen's tasks" is the commonest question, so a
 * Task is in the compartment of the patient it is for and of a patient it acts
 * on (the parameters later FHIR versions use).  Keep sorted by type.
 */
static const char *const task_params[] = {"patient", "focus", NULL};
static const sv_compartment_member own[] = {
    {"Task", task_params},
};

static int cmp_member(const void *key, const void *elem)
{
    return strcmp((const char *)key, ((const sv_compartment_member *)elem)->type);
}

const char *const *sv_compartment_patient_params(const char *type)
{
    if (!type)
        return NULL;
    const sv_compartment_member *m =
        bsearch(type, own, sizeof(own) / sizeof(own[0]), sizeof(own[0]), cmp_member);
    if (!m)
        m = bsearch(type, sv__r4_patient_compartment, sv__r4_patient_compartment_len,
                    sizeof(sv__r4_patient_compartment[0]), cmp_member);
    return m ? m->params : NULL;
}

bool sv_compartment_patient_has_type(const char *type)
{
    return sv_compartment_patient_params(type) != NULL;
}

static bool listed(const char *const *params, const char *code)
{
    for (size_t i = 0; params[i]; i++)
        if (strcmp(params[i], code) == 0)
            return true;
    return false;
}

/* A plain id, not a url or urn (those name resources elsewhere). */
static bool local_id(const char *v)
{
    return v && *v && !strchr(v, '/') && !strchr(v, ':');
}

static bool have_patient(const sv_index_rows *rows, size_t from, const char *id)
{
    for (size_t i = from; i < rows->len; i++)
        if (strcmp(rows->rows[i].value, id) == 0)
            return true;
    return false;
}

static void add(sv_index_rows *rows, size_t first_own, const char *id)
{
    if (have_patient(rows, first_own, id))
        return;
    char exact[sizeof("Patient/") + 64];
    snprintf(exact, sizeof(exact), "Patient/%s", id);
    sv_index_rows_add(rows, SV_INDEX_REFERENCE, SV_COMPARTMENT_PARAM, "Patient", id, exact);
}

size_t sv_compartment_rows(const char *type, const char *id, sv_index_rows *rows)
{
    const char *const *params = sv_compartment_patient_params(type);
    size_t first_own = rows->len;
    if (strcmp(type, "Patient") == 0 && local_id(id) && strlen(id) <= 64)
        add(rows, first_own, id);
    if (!params)
        return rows->len - first_own;
    size_t n = first_own;
    for (size_t i = 0; i < n; i++) {
        const sv_index_row *r = &rows->rows[i];
        if (r->kind != SV_INDEX_REFERENCE || !r->system || strcmp(r->system, "Patient") != 0 ||
            !local_id(r->value) || !listed(params, r->param))
            continue;
        /* rows->rows may move in add(): copy the id first */
        char target[65];
        size_t len = strlen(r->value);
        if (len >= sizeof(target))
            continue;
        memcpy(target, r->value, len + 1);
        add(rows, first_own, target);
    }
    return rows->len - first_own;
}
