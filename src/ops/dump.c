/* dump.c - see dump.h. */
#include "ops/dump.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/json.h"
#include "base/datetime.h"
#include "fhir/reindex.h"
#include "store/dump.h"
#include "store/schema.h"

#define MAX_TYPES 256

/* ---- files ---- */

static bool join(char *out, size_t cap, const char *dir, const char *name, const char *ext)
{
    int n = snprintf(out, cap, "%s/%s%s", dir, name, ext);
    return n > 0 && (size_t)n < cap;
}

/* A type name as a file stem: letters only (FHIR type names), so that no stored
 * value can name a path outside the directory. */
static bool plain_name(const char *s)
{
    if (!s || !*s || strlen(s) > 64)
        return false;
    for (; *s; s++)
        if (!((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')))
            return false;
    return true;
}

typedef struct type_file {
    char type[72];
    FILE *f;
    int64_t count;
} type_file;

typedef struct type_files {
    const char *dir;
    const char *mode;
    type_file items[MAX_TYPES];
    size_t len;
} type_files;

static type_file *type_file_get(type_files *tf, const char *type, sv_buf *reterr)
{
    for (size_t i = 0; i < tf->len; i++)
        if (strcmp(tf->items[i].type, type) == 0)
            return &tf->items[i];
    char path[4200];
    if (!plain_name(type) || tf->len == MAX_TYPES ||
        !join(path, sizeof(path), tf->dir, type, ".ndjson")) {
        if (reterr)
            sv_buf_addf(reterr, "resource type '%s' cannot name a file", type ? type : "");
        return NULL;
    }
    FILE *f = fopen(path, tf->mode);
    if (!f) {
        if (reterr)
            sv_buf_addf(reterr, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    type_file *t = &tf->items[tf->len++];
    snprintf(t->type, sizeof(t->type), "%s", type);
    t->f = f;
    t->count = 0;
    return t;
}

static bool type_files_close(type_files *tf)
{
    bool ok = true;
    for (size_t i = 0; i < tf->len; i++)
        if (tf->items[i].f && fclose(tf->items[i].f) != 0)
            ok = false;
    tf->len = 0;
    return ok;
}

/* ---- export ---- */

typedef struct export_ctx {
    FILE *f;
    int64_t count;
    type_files types;
    sv_err e;
    sv_buf *reterr;
} export_ctx;

static bool write_line(export_ctx *x, FILE *f, const char *text, size_t len)
{
    if (fwrite(text, 1, len, f) != len || fputc('\n', f) == EOF) {
        if (!x->e && x->reterr)
            sv_buf_addf(x->reterr, "cannot write: %s", strerror(errno));
        x->e = SV_ERR_IO;
        return false;
    }
    return true;
}

static bool export_row(void *ctx, json_t *row)
{
    export_ctx *x = ctx;
    char *text = json_dumps(row, JSON_COMPACT);
    bool ok = text && write_line(x, x->f, text, strlen(text));
    free(text);
    x->count++;
    return ok;
}

static bool export_version(void *ctx, const sv_dump_version *v)
{
    export_ctx *x = ctx;
    json_t *row =
        json_pack("{sI sI ss ss sI sI ss sb}", "seq", (json_int_t)v->seq, "rid", (json_int_t)v->rid,
                  "type", v->type ? v->type : "", "id", v->id ? v->id : "", "version",
                  (json_int_t)v->version, "last_updated", (json_int_t)v->last_updated, "method",
                  v->method ? v->method : "", "deleted", v->deleted);
    bool ok = row && export_row(x, row);
    json_decref(row);
    if (!ok || !v->json)
        return ok;
    /* The stored text as it is served; a line break in it would split the line. */
    if (memchr(v->json, '\n', v->json_len)) {
        x->e = SV_ERR_INTERNAL;
        if (x->reterr)
            sv_buf_addf(x->reterr, "%s/%s version %lld: the stored JSON holds a line break",
                        v->type, v->id, (long long)v->version);
        return false;
    }
    type_file *t = type_file_get(&x->types, v->type, x->reterr);
    if (!t) {
        x->e = SV_ERR_IO;
        return false;
    }
    t->count++;
    return write_line(x, t->f, v->json, v->json_len);
}

static sv_err open_out(export_ctx *x, const char *dir, const char *name, sv_buf *reterr)
{
    char path[4200];
    if (!join(path, sizeof(path), dir, name, ".ndjson") || !(x->f = fopen(path, "w"))) {
        if (reterr)
            sv_buf_addf(reterr, "cannot create '%s/%s.ndjson': %s", dir, name, strerror(errno));
        return SV_ERR_IO;
    }
    x->count = 0;
    return SV_OK;
}

static sv_err close_out(export_ctx *x, json_t *tables, const char *name, sv_buf *reterr)
{
    int rc = fclose(x->f);
    x->f = NULL;
    if (rc != 0) {
        if (reterr)
            sv_buf_addf(reterr, "cannot write '%s.ndjson': %s", name, strerror(errno));
        return SV_ERR_IO;
    }
    char url[200];
    snprintf(url, sizeof(url), "%s.ndjson", name);
    json_array_append_new(
        tables, json_pack("{ss ss sI}", "name", name, "url", url, "count", (json_int_t)x->count));
    return SV_OK;
}

static sv_err write_manifest(const char *dir, json_t *manifest, sv_buf *reterr)
{
    char path[4200], tmp[4300];
    join(path, sizeof(path), dir, SV_DUMP_MANIFEST, "");
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    /* Written last and renamed into place: a directory with a manifest is complete. */
    if (json_dump_file(manifest, tmp, JSON_INDENT(2)) != 0 || rename(tmp, path) != 0) {
        if (reterr)
            sv_buf_addf(reterr, "cannot write '%s'", path);
        return SV_ERR_IO;
    }
    return SV_OK;
}

bool sv_ops_is_export_dir(const char *path)
{
    char m[4200];
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode) &&
           join(m, sizeof(m), path, SV_DUMP_MANIFEST, "") && access(m, F_OK) == 0;
}

sv_err sv_ops_export(sv_db *db, const char *dir, sv_dump_stats *ret_stats, sv_buf *reterr)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        if (reterr)
            sv_buf_addf(reterr, "cannot create '%s': %s", dir, strerror(errno));
        return SV_ERR_IO;
    }
    if (sv_ops_is_export_dir(dir)) {
        if (reterr)
            sv_buf_addf(reterr, "'%s' already holds an export", dir);
        return SV_ERR_CONFLICT;
    }
    export_ctx x = {.types = {.dir = dir, .mode = "w"}, .reterr = reterr};
    json_t *tables = json_array(), *output = json_array();
    sv_dump_stats stats = {0};
    char when[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_clock_now_ms(), when);
    /* One snapshot for every file: the export is consistent while writers go on. */
    sv_err e = sv_db_begin(db, SV_TX_READ, reterr);
    if (!e)
        e = open_out(&x, dir, "resource", reterr);
    if (!e) {
        e = sv_dump_resources(db, export_row, &x, reterr);
        e = x.e ? x.e : e;
        stats.resources = x.count;
        sv_err c = x.f ? close_out(&x, tables, "resource", reterr) : SV_OK;
        e = e ? e : c;
    }
    if (!e)
        e = open_out(&x, dir, "resource_version", reterr);
    if (!e) {
        e = sv_dump_versions(db, export_version, &x, reterr);
        e = x.e ? x.e : e;
        stats.versions = x.count;
        sv_err c = x.f ? close_out(&x, tables, "resource_version", reterr) : SV_OK;
        e = e ? e : c;
    }
    for (size_t i = 0; !e && i < sv_dump_table_count; i++) {
        const sv_dump_table *t = &sv_dump_tables[i];
        e = open_out(&x, dir, t->name, reterr);
        if (e)
            break;
        e = sv_dump_rows(db, t, export_row, &x, reterr);
        e = x.e ? x.e : e;
        stats.rows += x.count;
        sv_err c = close_out(&x, tables, t->name, reterr);
        e = e ? e : c;
    }
    if (sv_db_in_tx(db))
        sv_db_rollback(db);
    if (x.f)
        fclose(x.f);
    for (size_t i = 0; i < x.types.len; i++) {
        char url[100];
        snprintf(url, sizeof(url), "%s.ndjson", x.types.items[i].type);
        json_array_append_new(output, json_pack("{ss ss sI}", "type", x.types.items[i].type, "url",
                                                url, "count", (json_int_t)x.types.items[i].count));
    }
    if (!type_files_close(&x.types) && !e) {
        if (reterr)
            sv_buf_addf(reterr, "cannot write the resource files in '%s'", dir);
        e = SV_ERR_IO;
    }
    json_t *derived = json_array();
    for (size_t i = 0; sv_dump_derived[i]; i++)
        json_array_append_new(derived, json_string(sv_dump_derived[i]));
    json_t *manifest = json_pack(
        "{ss si si ss ss so so so s[sss]}", "format", "samverka-export", "formatVersion",
        SV_DUMP_FORMAT, "schema", sv_schema_latest(), "backend", sv_db_backend_name(db),
        "transactionTime", when, "output", output, "tables", tables, "derived", derived, "note",
        "<Type>.ndjson: every stored version of that type in history order (deleted ones are",
        "markers in resource_version.ndjson only); derived tables are rebuilt on import",
        "samverka import DIR loads this into an empty database (docs/operations.md)");
    if (!e)
        e = write_manifest(dir, manifest, reterr);
    json_decref(manifest);
    if (!e && ret_stats)
        *ret_stats = stats;
    return e;
}

/* ---- import ---- */

typedef struct line_reader {
    FILE *f;
    char *line;
    size_t cap;
    int64_t lineno;
} line_reader;

/* The next line without its '\n'; NULL at the end. */
static char *next_line(line_reader *r, size_t *ret_len)
{
    ssize_t n = getline(&r->line, &r->cap, r->f);
    if (n < 0)
        return NULL;
    if (n > 0 && r->line[n - 1] == '\n')
        r->line[--n] = '\0';
    r->lineno++;
    *ret_len = (size_t)n;
    return r->line;
}

static sv_err open_in(line_reader *r, const char *dir, const char *name, sv_buf *reterr)
{
    char path[4200];
    memset(r, 0, sizeof(*r));
    if (!join(path, sizeof(path), dir, name, ".ndjson") || !(r->f = fopen(path, "r"))) {
        if (reterr)
            sv_buf_addf(reterr, "cannot read '%s/%s.ndjson': %s", dir, name, strerror(errno));
        return SV_ERR_IO;
    }
    return SV_OK;
}

static void close_in(line_reader *r)
{
    if (r->f)
        fclose(r->f);
    free(r->line);
    memset(r, 0, sizeof(*r));
}

static json_t *parse_row(line_reader *r, const char *name, const char *text, size_t len,
                         sv_buf *reterr)
{
    json_error_t jerr;
    json_t *row = sv_json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!json_is_object(row)) {
        if (reterr)
            sv_buf_addf(reterr, "%s.ndjson line %lld: not a JSON object", name,
                        (long long)r->lineno);
        json_decref(row);
        return NULL;
    }
    return row;
}

/* The count the manifest gives for a table (-1: not listed). */
static int64_t manifest_count(json_t *manifest, const char *key, const char *field,
                              const char *name)
{
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(manifest, key), i, item)
    {
        const char *n = json_string_value(json_object_get(item, field));
        if (n && strcmp(n, name) == 0)
            return json_integer_value(json_object_get(item, "count"));
    }
    return -1;
}

static sv_err count_check(const char *name, int64_t have, int64_t want, sv_buf *reterr)
{
    if (want >= 0 && have == want)
        return SV_OK;
    if (reterr)
        sv_buf_addf(reterr, "%s: %lld rows, the manifest says %lld", name, (long long)have,
                    (long long)want);
    return SV_ERR_INVALID;
}

static sv_err import_table(sv_db *db, const char *dir, json_t *manifest, const char *name,
                           const sv_dump_table *t, int64_t *ret_rows, sv_buf *reterr)
{
    line_reader r;
    sv_err e = open_in(&r, dir, name, reterr);
    size_t len = 0;
    char *text;
    int64_t n = 0;
    while (!e && (text = next_line(&r, &len)) != NULL) {
        json_t *row = parse_row(&r, name, text, len, reterr);
        if (!row) {
            e = SV_ERR_INVALID;
            break;
        }
        e = t ? sv_dump_insert(db, t, row, reterr) : sv_dump_insert_resource(db, row, reterr);
        json_decref(row);
        n++;
    }
    close_in(&r);
    if (!e)
        e = count_check(name, n, manifest_count(manifest, "tables", "name", name), reterr);
    *ret_rows = n;
    return e;
}

static const char *str_field(json_t *row, const char *key)
{
    return json_string_value(json_object_get(row, key));
}

static sv_err import_versions(sv_db *db, const char *dir, json_t *manifest, int64_t *ret_versions,
                              sv_buf *reterr)
{
    line_reader r;
    type_files types = {.dir = dir, .mode = "r"};
    line_reader typed[MAX_TYPES];
    memset(typed, 0, sizeof(typed));
    sv_err e = open_in(&r, dir, "resource_version", reterr);
    size_t len = 0;
    char *text;
    int64_t n = 0;
    while (!e && (text = next_line(&r, &len)) != NULL) {
        json_t *row = parse_row(&r, "resource_version", text, len, reterr);
        if (!row) {
            e = SV_ERR_INVALID;
            break;
        }
        sv_dump_version v = {
            .seq = json_integer_value(json_object_get(row, "seq")),
            .rid = json_integer_value(json_object_get(row, "rid")),
            .type = str_field(row, "type"),
            .id = str_field(row, "id"),
            .version = json_integer_value(json_object_get(row, "version")),
            .last_updated = json_integer_value(json_object_get(row, "last_updated")),
            .method = str_field(row, "method"),
            .deleted = json_is_true(json_object_get(row, "deleted")),
        };
        if (!v.deleted) {
            /* A version's text is the next line of its type's file. */
            type_file *t = type_file_get(&types, v.type, reterr);
            line_reader *tr = t ? &typed[t - types.items] : NULL;
            if (tr && !tr->f)
                tr->f = t->f;
            size_t jlen = 0;
            const char *json = tr ? next_line(tr, &jlen) : NULL;
            if (!json) {
                if (t && reterr)
                    sv_buf_addf(reterr, "%s.ndjson ends before version %lld of %s/%s", v.type,
                                (long long)v.version, v.type, v.id ? v.id : "");
                e = t ? SV_ERR_INVALID : SV_ERR_IO;
            } else {
                t->count++;
                v.json = json;
                v.json_len = jlen;
            }
        }
        if (!e)
            e = sv_dump_insert_version(db, &v, reterr);
        json_decref(row);
        n++;
    }
    close_in(&r);
    for (size_t i = 0; i < types.len; i++) {
        size_t extra = 0;
        if (!e && next_line(&typed[i], &extra)) {
            if (reterr)
                sv_buf_addf(reterr, "%s.ndjson has more lines than versions", types.items[i].type);
            e = SV_ERR_INVALID;
        }
        if (!e)
            e = count_check(types.items[i].type, types.items[i].count,
                            manifest_count(manifest, "output", "type", types.items[i].type),
                            reterr);
        free(typed[i].line);
    }
    type_files_close(&types);
    if (!e)
        e = count_check("resource_version", n,
                        manifest_count(manifest, "tables", "name", "resource_version"), reterr);
    *ret_versions = n;
    return e;
}

static sv_err read_manifest(const char *dir, json_t **ret, sv_buf *reterr)
{
    char path[4200];
    json_error_t jerr;
    join(path, sizeof(path), dir, SV_DUMP_MANIFEST, "");
    json_t *m = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    const char *format = json_string_value(json_object_get(m, "format"));
    if (!m || !format || strcmp(format, "samverka-export") != 0) {
        if (reterr)
            sv_buf_addf(reterr, "'%s' is not a samverka export manifest", path);
        json_decref(m);
        return SV_ERR_INVALID;
    }
    json_int_t fv = json_integer_value(json_object_get(m, "formatVersion"));
    json_int_t schema = json_integer_value(json_object_get(m, "schema"));
    if (fv != SV_DUMP_FORMAT || schema > sv_schema_latest()) {
        if (reterr)
            sv_buf_addf(reterr,
                        "the export has format %lld and schema %lld; this build reads format %d"
                        " up to schema %d",
                        (long long)fv, (long long)schema, SV_DUMP_FORMAT, sv_schema_latest());
        json_decref(m);
        return SV_ERR_UNSUPPORTED;
    }
    *ret = m;
    return SV_OK;
}

sv_err sv_ops_import(sv_db *db, const char *dir, sv_dump_stats *ret_stats, sv_buf *reterr)
{
    json_t *manifest = NULL;
    sv_err e = read_manifest(dir, &manifest, reterr);
    if (e)
        return e;
    sv_dump_stats stats = {0};
    e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (!e)
        e = sv_dump_check_empty(db, reterr);
    if (!e)
        e = import_table(db, dir, manifest, "resource", NULL, &stats.resources, reterr);
    if (!e)
        e = import_versions(db, dir, manifest, &stats.versions, reterr);
    for (size_t i = 0; !e && i < sv_dump_table_count; i++) {
        const sv_dump_table *t = &sv_dump_tables[i];
        int64_t rows = 0;
        /* A table the export does not list is one its build did not have. */
        if (manifest_count(manifest, "tables", "name", t->name) < 0)
            continue;
        e = import_table(db, dir, manifest, t->name, t, &rows, reterr);
        stats.rows += rows;
    }
    if (!e)
        e = sv_dump_finish(db, reterr);
    if (!e)
        e = sv_db_commit(db, reterr);
    else
        sv_db_rollback(db);
    json_decref(manifest);
    /* The index rows, categories and derived grants follow from what was copied. */
    if (!e)
        e = sv_fhir_reindex(db, 0, NULL, NULL, &stats.reindexed, reterr);
    if (!e && ret_stats)
        *ret_stats = stats;
    return e;
}
