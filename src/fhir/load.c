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

/* Appends "where: error: issue; issue" and a line break to reterr. */
static void report(sv_buf *reterr, const char *where, sv_err e, const sv_rest_result *rr)
{
    sv_buf_addf(reterr, "%s: %s", where, sv_strerror(e));
    for (size_t i = 0; i < rr->outcome.len; i++)
        sv_buf_addf(reterr, "%s %s%s%s", i ? ";" : ":",
                    rr->outcome.issues[i].diagnostics ? rr->outcome.issues[i].diagnostics : "",
                    rr->outcome.issues[i].expression ? " at " : "",
                    rr->outcome.issues[i].expression ? rr->outcome.issues[i].expression : "");
    sv_buf_addc(reterr, '\n');
}

/*
 * The open batch: resources written since the last commit.  first_where and
 * last_where name the first and last of them, for the report when the batch is
 * lost.  A savepoint around each resource undoes a resource whose write failed
 * halfway (a constraint, say) without undoing the others.
 */
typedef struct batch {
    sv_rest *r;
    size_t size;    /* resources per transaction */
    size_t pending; /* written in the open transaction */
    char first_where[300];
    char last_where[300];
    sv_load_stats *stats;
    sv_buf *reterr;
} batch;

static const char SQL_SAVEPOINT[] = "SAVEPOINT sv_load";
static const char SQL_RELEASE[] = "RELEASE sv_load";
static const char SQL_ROLLBACK_TO[] = "ROLLBACK TO sv_load";

/* The open transaction is gone (rolled back): its resources were not written. */
static void batch_lost(batch *b, const char *why)
{
    sv_db_rollback(b->r->db);
    if (b->pending == 0)
        return;
    sv_buf_addf(b->reterr, "%s to %s: %zu resources not written: %s\n", b->first_where,
                b->last_where, b->pending, why);
    b->stats->resources -= b->pending;
    b->stats->failed += b->pending;
    b->pending = 0;
}

static sv_err batch_commit(batch *b)
{
    if (!sv_db_in_tx(b->r->db))
        return SV_OK;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_commit(b->r->db, &err);
    if (e) {
        sv_buf why = SV_BUF_INIT;
        sv_buf_addf(&why, "the commit failed: %s", err.len ? err.ptr : sv_strerror(e));
        batch_lost(b, why.ptr);
        sv_buf_release(&why);
    }
    b->pending = 0;
    sv_buf_release(&err);
    return e;
}

/* Runs one statement of the batch's bookkeeping for the resource at where; a
 * failure loses the batch, and the resource is reported as not written. */
static sv_err batch_exec(batch *b, const char *sql, const char *where)
{
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_exec(b->r->db, sql, &err);
    if (e) {
        sv_buf why = SV_BUF_INIT;
        sv_buf_addf(&why, "'%s' failed: %s", sql, err.len ? err.ptr : sv_strerror(e));
        sv_buf_addf(b->reterr, "%s: not written: %s\n", where, why.ptr);
        batch_lost(b, why.ptr);
        sv_buf_release(&why);
    }
    sv_buf_release(&err);
    return e;
}

/* Writes one resource in the open batch (opening it if needed); commits when
 * the batch is full. */
static sv_err put_resource(batch *b, const json_t *res, const char *where)
{
    sv_rest *r = b->r;
    sv_buf err = SV_BUF_INIT;
    sv_err e = SV_OK;
    if (!sv_db_in_tx(r->db)) {
        e = sv_db_begin(r->db, SV_TX_WRITE, &err);
        if (e) {
            sv_buf_addf(b->reterr, "%s: cannot start a transaction: %s\n", where,
                        err.len ? err.ptr : sv_strerror(e));
            b->stats->failed++;
            sv_buf_release(&err);
            return e;
        }
        b->pending = 0;
    }
    sv_buf_release(&err);
    if ((e = batch_exec(b, SQL_SAVEPOINT, where)) != SV_OK) {
        b->stats->failed++;
        return e;
    }
    const char *type = json_string_value(json_object_get(res, "resourceType"));
    const char *id = json_string_value(json_object_get(res, "id"));
    sv_rest_result rr;
    sv_rest_result_init(&rr);
    /* Validation comes first in update and create, so an invalid resource writes nothing. */
    if (type && id)
        e = sv_rest_update(r, type, id, res, NULL, &rr);
    else
        e = sv_rest_create(r, type ? type : "", res, NULL, &rr);
    if (e) {
        b->stats->failed++;
        report(b->reterr, where, e, &rr);
        /* Undo what the resource wrote; when even that fails, the transaction is gone. */
        if (batch_exec(b, SQL_ROLLBACK_TO, where) == SV_OK)
            batch_exec(b, SQL_RELEASE, where);
    } else if ((e = batch_exec(b, SQL_RELEASE, where)) != SV_OK) {
        b->stats->failed++;
    } else {
        b->stats->resources++;
        if (b->pending++ == 0)
            snprintf(b->first_where, sizeof(b->first_where), "%s", where);
        snprintf(b->last_where, sizeof(b->last_where), "%s", where);
        if (b->pending >= b->size)
            e = batch_commit(b);
    }
    sv_rest_result_clear(&rr);
    return e;
}

sv_err sv_load_file(sv_rest *r, const char *path, sv_load_stats *stats, sv_buf *reterr)
{
    return sv_load_file_batched(r, path, SV_LOAD_BATCH, stats, reterr);
}

sv_err sv_load_file_batched(sv_rest *r, const char *path, size_t batch_size, sv_load_stats *stats,
                            sv_buf *reterr)
{
    batch b = {.r = r, .size = batch_size ? batch_size : 1, .stats = stats, .reterr = reterr};
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
                sv_err e = put_resource(&b, json_object_get(entry, "resource"), where);
                if (e && !first)
                    first = e;
            }
            sv_err e = batch_commit(&b);
            if (e && !first)
                first = e;
        } else {
            first = put_resource(&b, whole, path);
            sv_err e = batch_commit(&b);
            if (e && !first)
                first = e;
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
                    e = put_resource(&b, res, where);
                    json_decref(res);
                }
                if (e && !first)
                    first = e;
                sv_buf_release(&lerr);
            }
            p += n + 1;
        }
        sv_err e = batch_commit(&b);
        if (e && !first)
            first = e;
    }
    sv_buf_release(&err);
    free(text);
    return first;
}
