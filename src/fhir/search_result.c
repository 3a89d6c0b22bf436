/*
 * search_result.c - the result parameters of a search (search_result.h):
 * parsing and checking _include, _revinclude, _elements, _summary and
 * _contained, and showing a resource through the _elements/_summary view.
 */
#include "fhir/search_result.h"

#include <ctype.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fhir/model.h"
#include "fhir/rest.h"
#include "fhir/searchparam.h"
#include "fhir/types.h"

#define SUBSETTED_SYSTEM "http://terminology.hl7.org/CodeSystem/v3-ObservationValue"

bool sv__search_is_result_param(const char *name)
{
    static const char *const names[] = {"_include", "_revinclude", "_elements",
                                        "_summary", "_contained",  "_containedType"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i]) == 0)
            return true;
    return false;
}

static char *dup(const char *s)
{
    char *d = strdup(s ? s : "");
    if (!d)
        abort();
    return d;
}

sv_err sv__search_result_param(sv_search_plan *p, const char *full, const char *name,
                               const char *modifier, const char *value, bool lenient,
                               sv_outcome *out)
{
    (void)lenient;
    (void)out;
    if (!p->result) {
        p->result = calloc(1, sizeof(*p->result));
        if (!p->result)
            abort();
    }
    struct sv_search_result *r = p->result;
    if (r->nraw == r->capraw) {
        r->capraw = r->capraw ? r->capraw * 2 : 8;
        r->raw = realloc(r->raw, r->capraw * sizeof(*r->raw));
        if (!r->raw)
            abort();
    }
    sv_search_result_raw *raw = &r->raw[r->nraw++];
    raw->full = dup(full);
    raw->name = dup(name);
    raw->modifier = dup(modifier);
    raw->value = dup(value);
    return SV_OK;
}

void sv__search_result_free(struct sv_search_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->nraw; i++) {
        free(r->raw[i].full);
        free(r->raw[i].name);
        free(r->raw[i].modifier);
        free(r->raw[i].value);
    }
    free(r->raw);
    for (size_t i = 0; i < r->nincludes; i++)
        sv_include_spec_clear(&r->includes[i]);
    free(r->includes);
    for (size_t i = 0; i < r->nelements; i++)
        free(r->elements[i]);
    free(r->elements);
    free(r);
}

void sv__search_link_param(sv_buf *link, const char *name, const char *value)
{
    static const char hex[] = "0123456789ABCDEF";
    sv_buf_addc(link, link->len ? '&' : '?');
    for (int pass = 0; pass < 2; pass++) {
        for (const char *s = pass ? value : name; *s; s++) {
            unsigned char ch = (unsigned char)*s;
            if (isalnum(ch) || strchr("-._~:|/", ch)) {
                sv_buf_addc(link, (char)ch);
            } else {
                sv_buf_addc(link, '%');
                sv_buf_addc(link, hex[ch >> 4]);
                sv_buf_addc(link, hex[ch & 15]);
            }
        }
        if (!pass)
            sv_buf_addc(link, '=');
    }
}

/* ---- checking ------------------------------------------------------------------------ */

static sv_err invalid(sv_outcome *out, const char *code, const char *full, const char *fmt,
                      const char *a, const char *b)
{
    sv_outcome_add(out, SV_SEV_ERROR, code, full, fmt, a, b);
    return SV_ERR_INVALID;
}

static bool may_target(const sv_searchparam *sp, const char *type)
{
    if (!sp->targets)
        return true;
    for (size_t i = 0; sp->targets[i]; i++)
        if (strcmp(sp->targets[i], type) == 0)
            return true;
    return false;
}

/* Splits "A:b:C" into at most 3 parts in place; returns the count (4 = too many). */
static int split_colons(char *s, char *parts[3])
{
    int n = 0;
    for (char *p = s;; p++) {
        if (n == 3)
            return 4;
        parts[n++] = p;
        p = strchr(p, ':');
        if (!p)
            return n;
        *p = '\0';
    }
}

static sv_err check_include(struct sv_search_result *r, const sv_search_result_raw *raw,
                            const char *type, sv_outcome *out)
{
    bool reverse = strcmp(raw->name, "_revinclude") == 0;
    bool iterate = strcmp(raw->modifier, "iterate") == 0 || strcmp(raw->modifier, "recurse") == 0;
    if (*raw->modifier && !iterate)
        return invalid(out, "not-supported", raw->full,
                       "modifier ':%s' is not supported on %s (only :iterate)", raw->modifier,
                       raw->name);
    if (r->nincludes == SV_INCLUDE_MAX_SPECS)
        return invalid(out, "too-costly", raw->full, "more than %s %s parameters", "16",
                       "_include/_revinclude");
    char *copy = dup(raw->value);
    char *parts[3] = {NULL, NULL, NULL};
    int n = strcmp(copy, "*") == 0 ? 0 : split_colons(copy, parts);
    sv_err e = SV_OK;
    const sv_searchparam *sp = NULL;
    if (n == 1 || n == 4) {
        e = invalid(out, "invalid", raw->full,
                    "'%s' is not Type:parameter, Type:parameter:TargetType or *%s", raw->value, "");
        goto out;
    }
    if (n >= 2) {
        if (!sv_fhir_type_supported(parts[0])) {
            e = invalid(out, "invalid", raw->full, "'%s' in '%s' is not a supported resource type",
                        parts[0], raw->value);
            goto out;
        }
        if (strcmp(parts[1], "*") != 0) {
            sp = sv_searchparam_find(parts[0], parts[1]);
            if (!sp || sp->type != SV_SEARCHPARAM_REFERENCE) {
                e = invalid(out, "invalid", raw->full,
                            "'%s' is not a reference search parameter of %s", parts[1], parts[0]);
                goto out;
            }
        }
    }
    if (n == 3) {
        if (!sv_fhir_type_supported(parts[2]) || (sp && !may_target(sp, parts[2]))) {
            e = invalid(out, "invalid", raw->full, "'%s' cannot be referenced through '%s'",
                        parts[2], raw->value);
            goto out;
        }
    }
    /* Without :iterate an _include starts at the matches, a _revinclude ends there. */
    if (!iterate && n >= 2) {
        if (!reverse && strcmp(parts[0], type) != 0) {
            e = invalid(out, "invalid", raw->full,
                        "_include '%s' starts at another type than the matches (%s); add "
                        ":iterate to start at included resources",
                        raw->value, type);
            goto out;
        }
        if (reverse && ((n == 3 && strcmp(parts[2], type) != 0) || (sp && !may_target(sp, type)))) {
            e = invalid(out, "invalid", raw->full,
                        "_revinclude '%s' cannot reference the matches (%s); add :iterate to "
                        "follow included resources",
                        raw->value, type);
            goto out;
        }
    }
    if (!r->includes) {
        r->includes = calloc(SV_INCLUDE_MAX_SPECS, sizeof(*r->includes));
        if (!r->includes)
            abort();
    }
    sv_include_spec *s = &r->includes[r->nincludes++];
    s->reverse = reverse;
    s->iterate = iterate;
    s->source_type = n >= 2 ? dup(parts[0]) : NULL;
    s->param = sp ? dup(sp->code) : NULL;
    s->target_type = n == 3 ? dup(parts[2]) : NULL;
out:
    free(copy);
    return e;
}

/* The element of a type's (or backbone's) run that JSON key stands for: the
 * name itself, "_name" (a primitive's extensions), or a choice ("valueQuantity"). */
static const sv_model_element *element_for_key(const sv_model_element *first, size_t count,
                                               const char *key)
{
    if (*key == '_')
        key++;
    size_t len = strlen(key);
    const sv_model_element *e = sv_model_element_find(first, count, key, len);
    if (e)
        return e;
    for (size_t i = len; i-- > 1;) {
        if (!isupper((unsigned char)key[i]))
            continue;
        e = sv_model_element_find(first, count, key, i);
        if (e && (e->flags & SV_MODEL_EL_CHOICE))
            return e;
    }
    return NULL;
}

static bool resource_run(const char *type, const sv_model_element **first, size_t *count)
{
    const sv_model_type *t = sv_model_type_find(type);
    if (!t || t->kind != SV_MODEL_KIND_RESOURCE)
        return false;
    *first = &sv_model_elements[t->first];
    *count = t->count;
    return true;
}

static sv_err check_elements(struct sv_search_result *r, const sv_search_result_raw *raw,
                             const char *type, sv_outcome *out)
{
    if (*raw->modifier)
        return invalid(out, "not-supported", raw->full, "_elements takes no modifier (':%s')%s",
                       raw->modifier, "");
    char *copy = dup(raw->value);
    sv_err e = SV_OK;
    size_t first_new = r->nelements;
    for (char *name = copy, *next; name; name = next) {
        next = strchr(name, ',');
        if (next)
            *next++ = '\0';
        if (!*name)
            continue;
        const char *rtype = type, *ename = name;
        char tbuf[64];
        char *dot = strchr(name, '.');
        if (dot) {
            size_t tl = (size_t)(dot - name);
            if (tl >= sizeof(tbuf)) {
                e = invalid(out, "invalid", raw->full, "'%s' is not a resource type%s", name, "");
                break;
            }
            memcpy(tbuf, name, tl);
            tbuf[tl] = '\0';
            rtype = tbuf;
            ename = dot + 1;
        }
        const sv_model_element *first;
        size_t count;
        if (!sv_fhir_type_supported(rtype) || !resource_run(rtype, &first, &count)) {
            e = invalid(out, "invalid", raw->full, "'%s' in _elements is not a resource type%s",
                        rtype, "");
            break;
        }
        const sv_model_element *el = *ename && *ename != '_' && !strchr(ename, '.')
                                         ? element_for_key(first, count, ename)
                                         : NULL;
        if (!el) {
            e = invalid(out, "invalid", raw->full, "'%s' is not an element of %s", ename, rtype);
            break;
        }
        if (r->nelements == SV_SEARCH_MAX_ELEMENTS) {
            e = invalid(out, "too-costly", raw->full, "more than %s names in _elements%s", "64",
                        "");
            break;
        }
        /* "value" keeps every value[x]; "valueQuantity" only that one */
        sv_buf key = SV_BUF_INIT;
        if (dot)
            sv_buf_addf(&key, "%s.", rtype);
        sv_buf_adds(&key, ename);
        r->elements = realloc(r->elements, (r->nelements + 1) * sizeof(char *));
        if (!r->elements)
            abort();
        r->elements[r->nelements++] = sv_buf_detach(&key, NULL);
    }
    if (e) { /* all or nothing for one parameter */
        while (r->nelements > first_new)
            free(r->elements[--r->nelements]);
    }
    free(copy);
    return e;
}

static sv_err check_summary(struct sv_search_result *r, const sv_search_result_raw *raw, bool *seen,
                            sv_outcome *out)
{
    static const struct {
        const char *text;
        sv_summary_mode mode;
    } modes[] = {{"true", SV_SUMMARY_TRUE},
                 {"text", SV_SUMMARY_TEXT},
                 {"data", SV_SUMMARY_DATA},
                 {"false", SV_SUMMARY_FALSE}};
    if (*raw->modifier)
        return invalid(out, "not-supported", raw->full, "_summary takes no modifier (':%s')%s",
                       raw->modifier, "");
    if (*seen)
        return invalid(out, "invalid", raw->full, "_summary is given more than once%s%s", "", "");
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        if (strcmp(raw->value, modes[i].text) == 0) {
            r->summary = modes[i].mode;
            *seen = true;
            return SV_OK;
        }
    }
    return invalid(out, "invalid", raw->full,
                   "_summary '%s' is not one of true, text, data, count, false%s", raw->value, "");
}

static const char *summary_name(sv_summary_mode m)
{
    return m == SV_SUMMARY_TRUE ? "true" : m == SV_SUMMARY_TEXT ? "text" : "data";
}

sv_err sv__search_result_prepare(sv_search_plan *p, const char *type, bool lenient, sv_outcome *out)
{
    struct sv_search_result *r = p->result;
    if (!r || r->prepared)
        return SV_OK;
    r->prepared = true;
    bool summary_seen = false;
    bool *used = calloc(r->nraw ? r->nraw : 1, sizeof(bool));
    if (!used)
        abort();
    sv_err e = SV_OK;
    for (size_t i = 0; i < r->nraw && !e; i++) {
        const sv_search_result_raw *raw = &r->raw[i];
        sv_outcome scratch = SV_OUTCOME_INIT;
        sv_outcome *where = lenient ? &scratch : out;
        if (strcmp(raw->name, "_include") == 0 || strcmp(raw->name, "_revinclude") == 0)
            e = check_include(r, raw, type, where);
        else if (strcmp(raw->name, "_elements") == 0)
            e = check_elements(r, raw, type, where);
        else if (strcmp(raw->name, "_summary") == 0)
            e = check_summary(r, raw, &summary_seen, where);
        else if (strcmp(raw->name, "_contained") == 0 && !*raw->modifier &&
                 strcmp(raw->value, "false") == 0)
            e = SV_OK; /* the default: contained resources stay inside their container */
        else
            e = invalid(where, "not-supported", raw->full, "'%s=%s' is not supported", raw->full,
                        raw->value);
        sv_outcome_clear(&scratch);
        used[i] = !e;
        if (lenient)
            e = SV_OK;
    }
    if (!e && r->summary != SV_SUMMARY_FALSE && r->nelements) {
        if (!lenient) {
            e = invalid(out, "invalid", "_elements",
                        "_elements cannot be combined with _summary=%s%s", summary_name(r->summary),
                        "");
        } else { /* _elements, the narrower ask, wins */
            r->summary = SV_SUMMARY_FALSE;
            for (size_t i = 0; i < r->nraw; i++)
                if (strcmp(r->raw[i].name, "_summary") == 0)
                    used[i] = false;
        }
    }
    for (size_t i = 0; i < r->nraw && !e; i++)
        if (used[i])
            sv__search_link_param(&p->self, r->raw[i].full, r->raw[i].value);
    free(used);
    return e;
}

/* ---- the view ------------------------------------------------------------------------ */

/* The _elements names that apply to a resource of type: plain ones for matches,
 * "Type.name" ones for every resource of Type.  Fills names (borrowed). */
static size_t element_names(const struct sv_search_result *r, const char *type, bool match,
                            const char **names)
{
    size_t n = 0, tl = strlen(type);
    for (size_t i = 0; i < r->nelements; i++) {
        const char *e = r->elements[i];
        const char *dot = strchr(e, '.');
        if (!dot && match)
            names[n++] = e;
        else if (dot && (size_t)(dot - e) == tl && strncmp(e, type, tl) == 0)
            names[n++] = dot + 1;
    }
    return n;
}

bool sv__search_result_subsets(const struct sv_search_result *r, const char *type, bool match)
{
    if (!r)
        return false;
    if (r->summary != SV_SUMMARY_FALSE)
        return true;
    const char *names[SV_SEARCH_MAX_ELEMENTS];
    return element_names(r, type, match, names) > 0;
}

/* _summary=true inside one run: drops what is not isSummary, recursing into
 * backbone elements (their own runs); values of data types stay whole. */
static void keep_summary(json_t *obj, const sv_model_element *first, size_t count)
{
    const char *key;
    json_t *value;
    void *tmp;
    json_object_foreach_safe(obj, tmp, key, value)
    {
        if (strcmp(key, "resourceType") == 0)
            continue;
        const sv_model_element *e = element_for_key(first, count, key);
        if (!e || !sv_model_element_is_summary(e)) {
            json_object_del(obj, key);
            continue;
        }
        if (!e->count || *key == '_')
            continue;
        const sv_model_element *kids = &sv_model_elements[e->first];
        if (json_is_object(value)) {
            keep_summary(value, kids, e->count);
        } else if (json_is_array(value)) {
            size_t i;
            json_t *item;
            json_array_foreach(value, i, item)
            {
                if (json_is_object(item))
                    keep_summary(item, kids, e->count);
            }
        }
    }
}

static bool keep_top(const char *key, const sv_model_element *e, const struct sv_search_result *r,
                     const char **names, size_t nnames)
{
    if (strcmp(key, "resourceType") == 0 || strcmp(key, "id") == 0 || strcmp(key, "meta") == 0)
        return true;
    if (r->summary == SV_SUMMARY_DATA)
        return strcmp(key, "text") != 0;
    if (r->summary == SV_SUMMARY_TEXT)
        return strcmp(key, "text") == 0 || (e && (e->flags & SV_MODEL_EL_REQUIRED));
    if (!e)
        return false;
    const char *bare = *key == '_' ? key + 1 : key;
    for (size_t i = 0; i < nnames; i++)
        if (strcmp(names[i], bare) == 0 || strcmp(names[i], sv_model_element_name(e)) == 0)
            return true;
    return false;
}

static void tag_subsetted(json_t *res)
{
    json_t *meta = json_object_get(res, "meta");
    if (!json_is_object(meta)) {
        meta = json_object();
        json_object_set_new(res, "meta", meta);
    }
    json_t *tags = json_object_get(meta, "tag");
    if (!json_is_array(tags)) {
        tags = json_array();
        json_object_set_new(meta, "tag", tags);
    }
    size_t i;
    json_t *t;
    json_array_foreach(tags, i, t)
    {
        const char *sys = json_string_value(json_object_get(t, "system"));
        const char *code = json_string_value(json_object_get(t, "code"));
        if (sys && code && strcmp(sys, SUBSETTED_SYSTEM) == 0 && strcmp(code, "SUBSETTED") == 0)
            return;
    }
    json_array_append_new(tags, json_pack("{s:s, s:s, s:s}", "system", SUBSETTED_SYSTEM, "code",
                                          "SUBSETTED", "display", "subsetted"));
}

void sv__search_result_render(const struct sv_search_result *r, const char *type, bool match,
                              const char *json, size_t len, sv_buf *out)
{
    const char *names[SV_SEARCH_MAX_ELEMENTS];
    size_t nnames = r ? element_names(r, type, match, names) : 0;
    const sv_model_element *first;
    size_t count;
    json_t *res = NULL;
    if (!r || (r->summary == SV_SUMMARY_FALSE && !nnames) || !resource_run(type, &first, &count) ||
        !(res = sv_json_loadb(json, len, 0, NULL)) || !json_is_object(res)) {
        json_decref(res);
        sv_buf_add(out, json, len); /* as stored */
        return;
    }
    if (r->summary == SV_SUMMARY_TRUE) {
        keep_summary(res, first, count);
    } else {
        const char *key;
        json_t *value;
        void *tmp;
        json_object_foreach_safe(res, tmp, key, value)
        {
            if (!keep_top(key, element_for_key(first, count, key), r, names, nnames))
                json_object_del(res, key);
        }
    }
    tag_subsetted(res);
    sv_fhir_dump(res, out);
    json_decref(res);
}
