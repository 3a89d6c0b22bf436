/* load.c - see load.h. */
#include "fhir/load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "fhir/bundle.h"

#define MAX_FILE (512u * 1024 * 1024)

static char *read_all(const char *path, size_t *ret_len, sv_buf *reterr)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        sv_buf_addf(reterr, "cannot open '%s'\n", path);
        return NULL;
    }
    sv_buf b = SV_BUF_INIT;
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (b.len + n > MAX_FILE) {
            sv_buf_addf(reterr, "'%s' is larger than %u bytes\n", path, MAX_FILE);
            sv_buf_release(&b);
            fclose(f);
            return NULL;
        }
        sv_buf_add(&b, chunk, n);
    }
    fclose(f);
    return sv_buf_detach(&b, ret_len);
}

static sv_err put_resource(sv_rest *r, const json_t *res, const char *where, sv_load_stats *st,
                           sv_buf *reterr)
{
    const char *type = json_string_value(json_object_get(res, "resourceType"));
    const char *id = json_string_value(json_object_get(res, "id"));
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    sv_err e;
    if (type && id)
        e = sv_rest_update(r, type, id, res, NULL, &rr);
    else
        e = sv_rest_create(r, type ? type : "", res, NULL, &rr);
    if (e) {
        st->failed++;
        sv_buf_addf(reterr, "%s: %s", where, sv_strerror(e));
        for (size_t i = 0; i < rr.outcome.len; i++)
            sv_buf_addf(reterr, "%s %s%s%s", i ? ";" : ":",
                        rr.outcome.issues[i].diagnostics ? rr.outcome.issues[i].diagnostics : "",
                        rr.outcome.issues[i].expression ? " at " : "",
                        rr.outcome.issues[i].expression ? rr.outcome.issues[i].expression : "");
        sv_buf_addc(reterr, '\n');
    } else {
        st->resources++;
    }
    sv_rest_result_clear(&rr);
    return e;
}

sv_err sv_load_file(sv_rest *r, const char *path, sv_load_stats *stats, sv_buf *reterr)
{
    size_t len = 0;
    char *text = read_all(path, &len, reterr);
    if (!text)
        return SV_ERR_IO;
    sv_err first = SV_OK;
    size_t skip = 0;
    while (skip < len &&
           (text[skip] == ' ' || text[skip] == '\n' || text[skip] == '\r' || text[skip] == '\t'))
        skip++;
    json_t *whole = NULL;
    sv_buf err = SV_BUF_INIT;
    /* A single JSON document, or NDJSON when that fails at a line break. */
    if (sv_json_parse(text + skip, len - skip, 64, SV_JSON_TOP_OBJECT, &whole, &err, NULL) ==
        SV_OK) {
        const char *rt = json_string_value(json_object_get(whole, "resourceType"));
        const char *bt = json_string_value(json_object_get(whole, "type"));
        if (rt && strcmp(rt, "Bundle") == 0 && bt &&
            (strcmp(bt, "transaction") == 0 || strcmp(bt, "batch") == 0)) {
            sv_rest_result rr;
            sv_rest_result_init(&rr);
            first = sv_bundle_process(r, whole, &rr);
            if (first) {
                sv_buf_addf(reterr, "%s: %s", path, sv_strerror(first));
                for (size_t i = 0; i < rr.outcome.len; i++)
                    sv_buf_addf(
                        reterr, "; %s at %s",
                        rr.outcome.issues[i].diagnostics ? rr.outcome.issues[i].diagnostics : "",
                        rr.outcome.issues[i].expression ? rr.outcome.issues[i].expression : "-");
                sv_buf_addc(reterr, '\n');
                stats->failed++;
            } else {
                stats->resources += json_array_size(json_object_get(whole, "entry"));
            }
            sv_rest_result_clear(&rr);
        } else if (rt && strcmp(rt, "Bundle") == 0 && bt && strcmp(bt, "collection") == 0) {
            size_t i;
            json_t *entry;
            json_array_foreach(json_object_get(whole, "entry"), i, entry)
            {
                char where[300];
                snprintf(where, sizeof(where), "%s entry %zu", path, i);
                sv_err e =
                    put_resource(r, json_object_get(entry, "resource"), where, stats, reterr);
                if (e && !first)
                    first = e;
            }
        } else {
            first = put_resource(r, whole, path, stats, reterr);
        }
        json_decref(whole);
    } else {
        size_t line = 0;
        char *p = text, *end = text + len;
        while (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            line++;
            if (n > 0 && !(n == 1 && p[0] == '\r')) {
                json_t *res = NULL;
                sv_buf lerr = SV_BUF_INIT;
                char where[300];
                snprintf(where, sizeof(where), "%s line %zu", path, line);
                sv_err e = sv_json_parse(p, n, 64, SV_JSON_TOP_OBJECT, &res, &lerr, NULL);
                if (e) {
                    sv_buf_addf(reterr, "%s: %s\n", where, lerr.ptr);
                    stats->failed++;
                } else {
                    e = put_resource(r, res, where, stats, reterr);
                    json_decref(res);
                }
                if (e && !first)
                    first = e;
                sv_buf_release(&lerr);
            }
            p += n + 1;
        }
    }
    sv_buf_release(&err);
    free(text);
    return first;
}
