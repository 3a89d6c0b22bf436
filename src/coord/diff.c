/* diff.c - sv_coord_diff (plan.h): element-by-element changes between two
 * versions of a resource.  Objects compare key by key, arrays index by index
 * (a removed middle element shows as changes after it: plans are edited in
 * place, and indexes are what a FHIRPath names); meta is left out. */
#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "coord/plan.h"
#include "store/resource.h"

static void add_change(json_t *changes, const char *path, const char *kind, const json_t *from,
                       const json_t *to)
{
    json_t *c = json_pack("{s:s, s:s}", "path", path, "change", kind);
    if (from)
        json_object_set(c, "from", (json_t *)from);
    if (to)
        json_object_set(c, "to", (json_t *)to);
    json_array_append_new(changes, c);
}

static void diff(const json_t *a, const json_t *b, sv_buf *path, json_t *changes, int depth)
{
    if (json_equal(a, b))
        return;
    size_t mark = path->len;
    if (depth < 32 && json_is_object(a) && json_is_object(b)) {
        const char *key;
        json_t *va;
        json_object_foreach((json_t *)a, key, va)
        {
            if (depth == 0 && strcmp(key, "meta") == 0)
                continue;
            sv_buf_addf(path, ".%s", key);
            const json_t *vb = json_object_get(b, key);
            if (vb)
                diff(va, vb, path, changes, depth + 1);
            else
                add_change(changes, path->ptr, "removed", va, NULL);
            sv_buf_truncate(path, mark);
        }
        json_t *vb;
        json_object_foreach((json_t *)b, key, vb)
        {
            if ((depth == 0 && strcmp(key, "meta") == 0) || json_object_get(a, key))
                continue;
            sv_buf_addf(path, ".%s", key);
            add_change(changes, path->ptr, "added", NULL, vb);
            sv_buf_truncate(path, mark);
        }
        return;
    }
    if (depth < 32 && json_is_array(a) && json_is_array(b)) {
        size_t na = json_array_size(a), nb = json_array_size(b);
        for (size_t i = 0; i < na || i < nb; i++) {
            sv_buf_addf(path, "[%zu]", i);
            if (i < na && i < nb)
                diff(json_array_get(a, i), json_array_get(b, i), path, changes, depth + 1);
            else if (i < na)
                add_change(changes, path->ptr, "removed", json_array_get(a, i), NULL);
            else
                add_change(changes, path->ptr, "added", NULL, json_array_get(b, i));
            sv_buf_truncate(path, mark);
        }
        return;
    }
    add_change(changes, path->ptr, "changed", a, b);
}

static json_t *load_version(sv_db *db, const char *type, const char *id, int64_t v, sv_outcome *out,
                            sv_err *ret_e)
{
    sv_stored s;
    sv_err e = sv_store_vread(db, type, id, v, &s, NULL);
    if (e) {
        *ret_e = e;
        if (e == SV_ERR_NOT_FOUND)
            sv_outcome_add(out, SV_SEV_ERROR, "not-found", NULL, "%s/%s version %lld is not known",
                           type, id, (long long)v);
        else
            sv_outcome_add(out, SV_SEV_ERROR, "exception", NULL, "storage failure");
        return NULL;
    }
    json_t *j = s.json ? sv_json_loadb(s.json, s.json_len, 0, NULL) : json_object();
    sv_stored_clear(&s);
    return j;
}

sv_err sv_coord_diff(sv_db *db, const char *type, const char *id, int64_t from, int64_t to,
                     json_t **ret, sv_outcome *out)
{
    sv_err e = SV_OK;
    json_t *a = load_version(db, type, id, from, out, &e);
    json_t *b = a ? load_version(db, type, id, to, out, &e) : NULL;
    if (!a || !b) {
        json_decref(a);
        return e ? e : SV_ERR_INTERNAL;
    }
    json_t *changes = json_array();
    sv_buf path = SV_BUF_INIT;
    sv_buf_adds(&path, type);
    diff(a, b, &path, changes, 0);
    sv_buf_release(&path);
    char target[160];
    snprintf(target, sizeof(target), "%s/%s", type, id);
    *ret = json_pack("{s:s, s:I, s:I, s:o}", "target", target, "from", (json_int_t)from, "to",
                     (json_int_t)to, "changes", changes);
    json_decref(a);
    json_decref(b);
    return SV_OK;
}
