/*
 * data.c - the reference data of results/: inhabitants 65+ per municipality
 * (data/results/population-65plus.json), unit costs (unit-costs.json) and the
 * outreach rules (outreach.json).  Each file says where its numbers come from.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "results/internal.h"

static sv_err load(const char *dir, const char *name, json_t **ret, sv_buf *reterr)
{
    char path[1200];
    snprintf(path, sizeof(path), "%s/results/%s", dir, name);
    json_error_t err;
    json_t *j = json_load_file(path, JSON_REJECT_DUPLICATES, &err);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        if (reterr)
            sv_buf_addf(reterr, "'%s' cannot be read: %s", path, err.text);
        return SV_ERR_INVALID;
    }
    *ret = j;
    return SV_OK;
}

sv_err sv_results_data_load(const char *data_dir, sv_results_data **ret, sv_buf *reterr)
{
    sv_results_data *d = calloc(1, sizeof(*d));
    if (!d)
        return SV_ERR_NOMEM;
    sv_err e = load(data_dir, "population-65plus.json", &d->population, reterr);
    if (!e)
        e = load(data_dir, "unit-costs.json", &d->costs, reterr);
    if (!e)
        e = load(data_dir, "outreach.json", &d->outreach, reterr);
    if (e) {
        sv_results_data_free(d);
        return e;
    }
    *ret = d;
    return SV_OK;
}

void sv_results_data_free(sv_results_data *d)
{
    if (!d)
        return;
    json_decref(d->population);
    json_decref(d->costs);
    json_decref(d->outreach);
    free(d);
}

/* "Organization/x" or "x" equals id. */
static bool same_org(const char *ref, const char *id)
{
    if (!ref || !id)
        return false;
    if (strncmp(ref, "Organization/", 13) == 0)
        ref += 13;
    if (strncmp(id, "Organization/", 13) == 0)
        id += 13;
    return strcmp(ref, id) == 0;
}

bool sv__results_population(const sv_results_data *d, const char *municipality, const char *region,
                            double *ret)
{
    const json_t *list = d ? json_object_get(d->population, "municipalities") : NULL;
    double sum = 0;
    bool any = false;
    size_t i;
    const json_t *m;
    json_array_foreach(list, i, m)
    {
        const char *org = json_string_value(json_object_get(m, "organization"));
        const char *reg = json_string_value(json_object_get(m, "region"));
        const json_t *n = json_object_get(m, "population65plus");
        if (!json_is_number(n))
            continue;
        if (municipality && !same_org(org, municipality))
            continue;
        if (region && !same_org(reg, region))
            continue;
        sum += json_number_value(n);
        any = true;
    }
    if (any)
        *ret = sum;
    return any;
}

bool sv__results_population_has(const sv_results_data *d, const char *municipality)
{
    double n;
    return municipality && *municipality && sv__results_population(d, municipality, NULL, &n);
}
