/* util.c - see util.h. */
#include "coord/util.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "base/datetime.h"
#include "fhir/search.h"
#include "store/resource.h"

bool sv__coord_ref(const json_t *reference, char out[SV_COORD_REF_LEN])
{
    const char *s = json_string_value(json_object_get(reference, "reference"));
    if (!s)
        return false;
    const char *slash = strchr(s, '/');
    if (!slash || slash == s || !slash[1] || strstr(s, "://"))
        return false;
    const char *end = strchr(slash + 1, '/');
    size_t len = end ? (size_t)(end - s) : strlen(s);
    if (len >= SV_COORD_REF_LEN)
        return false;
    memcpy(out, s, len);
    out[len] = '\0';
    return true;
}

const char *sv__coord_ref_id(const char *ref, const char *type)
{
    size_t n = strlen(type);
    if (!ref || strncmp(ref, type, n) != 0 || ref[n] != '/' || !ref[n + 1])
        return NULL;
    return ref + n + 1;
}

static const json_t *find_coding(const json_t *concept, const char *system, const char *code)
{
    if (json_is_array(concept)) {
        size_t i;
        const json_t *c;
        json_array_foreach(concept, i, c)
        {
            const json_t *hit = find_coding(c, system, code);
            if (hit)
                return hit;
        }
        return NULL;
    }
    size_t i;
    const json_t *coding;
    json_array_foreach(json_object_get(concept, "coding"), i, coding)
    {
        const char *s = json_string_value(json_object_get(coding, "system"));
        const char *c = json_string_value(json_object_get(coding, "code"));
        if (s && c && strcmp(s, system) == 0 && (!code || strcmp(c, code) == 0))
            return coding;
    }
    return NULL;
}

bool sv__coord_has_code(const json_t *concept, const char *system, const char *code)
{
    return find_coding(concept, system, code) != NULL;
}

const char *sv__coord_code_of(const json_t *concept, const char *system)
{
    return json_string_value(json_object_get(find_coding(concept, system, NULL), "code"));
}

const json_t *sv__coord_extension(const json_t *j, const char *url)
{
    size_t i;
    const json_t *ext;
    json_array_foreach(json_object_get(j, "extension"), i, ext)
    {
        const char *u = json_string_value(json_object_get(ext, "url"));
        if (u && strcmp(u, url) == 0)
            return ext;
    }
    return NULL;
}

int64_t sv__coord_time(const json_t *s)
{
    const char *t = json_string_value(s);
    sv_datetime_range r;
    if (!t || !sv_datetime_parse(t, strlen(t), &r))
        return INT64_MIN;
    return r.low;
}

bool sv__coord_period_covers(const json_t *period, int64_t now)
{
    if (!period)
        return true;
    const json_t *start = json_object_get(period, "start");
    const json_t *end = json_object_get(period, "end");
    if (start && sv__coord_time(start) > now)
        return false;
    if (end) {
        const char *t = json_string_value(end);
        sv_datetime_range r;
        /* An end date covers its whole day: the period ends after its high bound. */
        if (t && sv_datetime_parse(t, strlen(t), &r) && r.high < now)
            return false;
    }
    return true;
}

sv_err sv__coord_load_checked(sv_db *db, const char *ref, json_t **ret)
{
    *ret = NULL;
    char type[64];
    const char *slash = ref ? strchr(ref, '/') : NULL;
    if (!slash || (size_t)(slash - ref) >= sizeof(type))
        return SV_ERR_NOT_FOUND;
    memcpy(type, ref, (size_t)(slash - ref));
    type[slash - ref] = '\0';
    sv_stored s;
    sv_err e = sv_store_current(db, type, slash + 1, true, &s, NULL);
    if (e)
        return e;
    if (!s.deleted && s.json)
        *ret = sv_json_loadb(s.json, s.json_len, 0, NULL);
    sv_stored_clear(&s);
    return *ret ? SV_OK : SV_ERR_NOT_FOUND;
}

json_t *sv__coord_load(sv_db *db, const char *ref)
{
    json_t *j = NULL;
    sv__coord_load_checked(db, ref, &j);
    return j;
}

typedef struct find_ctx {
    sv_coord_visit visit;
    void *ctx;
} find_ctx;

static bool find_visit(void *ctx, const sv_stored *s)
{
    find_ctx *f = ctx;
    if (!s->json)
        return true;
    json_t *j = sv_json_loadb(s->json, s->json_len, 0, NULL);
    if (!j)
        return true;
    bool more = f->visit(f->ctx, j);
    json_decref(j);
    return more;
}

sv_err sv__coord_find(sv_db *db, const char *type, const char *const *names,
                      const char *const *values, size_t n, int64_t limit, sv_coord_visit visit,
                      void *ctx)
{
    sv_query_param params[8];
    if (n > sizeof(params) / sizeof(params[0]))
        return SV_ERR_INTERNAL;
    for (size_t i = 0; i < n; i++)
        params[i] = (sv_query_param){.name = names[i], .value = values[i]};
    sv_query q;
    sv_query_view(&q, params, n);
    sv_outcome out = SV_OUTCOME_INIT;
    find_ctx f = {.visit = visit, .ctx = ctx};
    sv_err e = sv_search_find(db, NULL, type, &q, 0, limit, find_visit, &f, NULL, &out);
    sv_outcome_clear(&out);
    return e;
}

const char *sv__coord_name(const json_t *j, char buf[256])
{
    const char *name = json_string_value(json_object_get(j, "name"));
    if (name)
        return name;
    const json_t *hn = json_array_get(json_object_get(j, "name"), 0);
    if (!hn)
        return "";
    const char *text = json_string_value(json_object_get(hn, "text"));
    if (text)
        return text;
    const char *given = json_string_value(json_array_get(json_object_get(hn, "given"), 0));
    const char *family = json_string_value(json_object_get(hn, "family"));
    snprintf(buf, 256, "%s%s%s", given ? given : "", given && family ? " " : "",
             family ? family : "");
    return buf;
}
