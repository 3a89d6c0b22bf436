/* bulk_export.c - see bulk_export.h. */
#include "api/bulk_export.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/audit_log.h"
#include "api/internal.h"
#include "base/datetime.h"
#include "store/dump.h"

#define MAX_JOBS 8    /* kept; the oldest finished one goes first */
#define MAX_RUNNING 2 /* at once; more kick-offs are 429 */
#define MAX_TYPES 64  /* in _type */

typedef enum job_state { JOB_RUNNING, JOB_DONE, JOB_FAILED } job_state;

typedef struct type_out {
    char type[72];
    int64_t count;
} type_out;

typedef struct bulk_job {
    char id[33];
    job_state state;
    atomic_bool cancel;
    atomic_llong progress; /* resources written */
    char dir[4096];
    char request[1024];
    char when[SV_INSTANT_LEN];
    int64_t since_ms;
    bool patients;             /* Patient/$export: the Patient compartments only */
    char types[MAX_TYPES][72]; /* _type; none: all */
    int ntypes;
    type_out out[256];
    int nout;
    FILE *f; /* the file being written */
    char error[256];
    pthread_t thread;
    bool started;
    struct sv_bulk *owner;
    struct bulk_job *next;
} bulk_job;

struct sv_bulk {
    pthread_mutex_t lock;
    bulk_job *jobs;
    char *db_uri;
    int busy_timeout_ms;
};

sv_bulk *sv__bulk_new(const char *db_uri, int busy_timeout_ms)
{
    sv_bulk *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    pthread_mutex_init(&b->lock, NULL);
    b->db_uri = strdup(db_uri);
    b->busy_timeout_ms = busy_timeout_ms;
    return b;
}

static void job_remove_files(bulk_job *j)
{
    char path[4200];
    for (int i = 0; i < j->nout; i++) {
        snprintf(path, sizeof(path), "%s/%s.ndjson", j->dir, j->out[i].type);
        unlink(path);
    }
    rmdir(j->dir);
}

/* Waits for the job's thread and frees it (the job must be unlinked). */
static void job_free(bulk_job *j)
{
    atomic_store(&j->cancel, true);
    if (j->started)
        pthread_join(j->thread, NULL);
    job_remove_files(j);
    free(j);
}

void sv__bulk_free(sv_bulk *b)
{
    if (!b)
        return;
    bulk_job *j = b->jobs;
    while (j) {
        bulk_job *next = j->next;
        job_free(j);
        j = next;
    }
    pthread_mutex_destroy(&b->lock);
    free(b->db_uri);
    free(b);
}

/* ---- the job's thread ---- */

static bool wanted(const bulk_job *j, const char *type)
{
    if (j->ntypes == 0)
        return true;
    for (int i = 0; i < j->ntypes; i++)
        if (strcmp(j->types[i], type) == 0)
            return true;
    return false;
}

static bool on_resource(void *ctx, const char *type, const char *id, const char *json, size_t len)
{
    (void)id;
    bulk_job *j = ctx;
    if (atomic_load(&j->cancel)) {
        snprintf(j->error, sizeof(j->error), "cancelled");
        return false;
    }
    if (!wanted(j, type))
        return true;
    /* Rows come by type: a new type closes the last file and opens its own. */
    if (j->nout == 0 || strcmp(j->out[j->nout - 1].type, type) != 0) {
        if (j->f && fclose(j->f) != 0) {
            j->f = NULL;
            snprintf(j->error, sizeof(j->error), "cannot write the export files");
            return false;
        }
        j->f = NULL;
        if (j->nout == (int)(sizeof(j->out) / sizeof(j->out[0])) || strlen(type) >= 72) {
            snprintf(j->error, sizeof(j->error), "too many resource types");
            return false;
        }
        type_out *o = &j->out[j->nout++];
        snprintf(o->type, sizeof(o->type), "%s", type);
        o->count = 0;
        char path[4200];
        snprintf(path, sizeof(path), "%s/%s.ndjson", j->dir, type);
        j->f = fopen(path, "w");
        if (!j->f) {
            snprintf(j->error, sizeof(j->error), "cannot create an export file");
            return false;
        }
    }
    if (fwrite(json, 1, len, j->f) != len || fputc('\n', j->f) == EOF) {
        snprintf(j->error, sizeof(j->error), "cannot write the export files");
        return false;
    }
    j->out[j->nout - 1].count++;
    atomic_fetch_add(&j->progress, 1);
    return true;
}

static void *job_run(void *arg)
{
    bulk_job *j = arg;
    sv_db_options opt = {.busy_timeout_ms = j->owner->busy_timeout_ms};
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_open(j->owner->db_uri, &opt, &db, &err);
    /* One snapshot: the files agree with each other and with transactionTime. */
    if (!e)
        e = sv_db_begin(db, SV_TX_READ, &err);
    if (!e)
        e = sv_dump_current(db, j->since_ms, j->patients, on_resource, j, &err);
    if (db && sv_db_in_tx(db))
        sv_db_rollback(db);
    sv_db_close(db);
    if (j->f && fclose(j->f) != 0 && !e)
        e = SV_ERR_IO;
    j->f = NULL;
    pthread_mutex_lock(&j->owner->lock);
    if (e && !j->error[0])
        snprintf(j->error, sizeof(j->error), "the export failed: %s", sv_strerror(e));
    j->state = e ? JOB_FAILED : JOB_DONE;
    pthread_mutex_unlock(&j->owner->lock);
    sv_buf_release(&err);
    return NULL;
}

/* ---- requests ---- */

static bool allowed(sv_api *api, sv_http_response *res, const sv_principal *who)
{
    /* A system client reads every type: its scopes must say so (system/ *.read). */
    if (!sv__api_config(api)->auth_required || who->kind == SV_PRINCIPAL_ADMIN ||
        (who->kind == SV_PRINCIPAL_SYSTEM && sv_auth_scope_allows(who, NULL, SV_AUTH_READ)))
        return true;
    sv__api_error(res, SV_ERR_FORBIDDEN, NULL,
                  "a bulk export is for administrators and system clients only");
    return false;
}

static bool plain_type(const char *s, size_t len)
{
    if (len == 0 || len >= 72)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
            return false;
    return true;
}

/* Reads the kick-off's parameters into j; false when it has answered. */
static bool kickoff_params(const sv_http_request *req, sv_http_response *res, bulk_job *j)
{
    for (size_t i = 0; i < req->nparams; i++) {
        const char *name = req->params[i].name, *value = req->params[i].value;
        if (strcmp(name, "_outputFormat") == 0) {
            if (strcmp(value, "application/fhir+ndjson") != 0 &&
                strcmp(value, "application/ndjson") != 0 && strcmp(value, "ndjson") != 0) {
                sv__api_error(res, SV_ERR_INVALID, "_outputFormat",
                              "only application/fhir+ndjson is written");
                return false;
            }
        } else if (strcmp(name, "_since") == 0) {
            sv_datetime_range r;
            if (!sv_datetime_parse(value, strlen(value), &r) || r.precision < SV_DATETIME_SECOND ||
                !r.has_time_zone) {
                sv__api_error(res, SV_ERR_INVALID, "_since",
                              "_since must be an instant with a time zone, e.g. "
                              "2026-01-01T00:00:00Z");
                return false;
            }
            j->since_ms = r.low;
        } else if (strcmp(name, "_type") == 0) {
            for (const char *p = value; *p;) {
                const char *comma = strchr(p, ',');
                size_t len = comma ? (size_t)(comma - p) : strlen(p);
                if (!plain_type(p, len) || j->ntypes == MAX_TYPES) {
                    sv__api_error(res, SV_ERR_INVALID, "_type",
                                  "_type is a comma-separated list of resource types");
                    return false;
                }
                memcpy(j->types[j->ntypes], p, len);
                j->types[j->ntypes++][len] = '\0';
                p = comma ? comma + 1 : p + len;
            }
        } else {
            sv__api_error(res, SV_ERR_UNSUPPORTED, name,
                          "the bulk export does not support the parameter '%s'", name);
            return false;
        }
    }
    return true;
}

static void audit_kickoff(sv_api *api, const sv_principal *who, int status)
{
    sv_audit_record rec = {
        .time_ms = sv_clock_now_ms(), .action = "export", .purpose = "HOPERAT", .outcome = status};
    sv_audit_actor actor = {.kind = sv_principal_kind_name(who->kind),
                            .id = who->name[0] ? who->name : NULL};
    sv_audit_record_set_actor(&rec, who->kind == SV_PRINCIPAL_NONE ? &sv_audit_anonymous : &actor);
    sv_audit_log_add(sv__api_audit_log(api), &rec);
}

static void kickoff(sv_api *api, sv_bulk *b, const sv_http_request *req, sv_http_response *res,
                    const sv_principal *who, bool patients)
{
    res->route = patients ? "GET /fhir/Patient/$export" : "GET /fhir/$export";
    const char *prefer = sv_http_header_get(req, "Prefer");
    if (!prefer || !strstr(prefer, "respond-async")) {
        sv__api_error(res, SV_ERR_INVALID, "Prefer",
                      "a bulk export needs the header 'Prefer: respond-async'");
        return;
    }
    bulk_job *j = calloc(1, sizeof(*j));
    if (!j) {
        sv__api_error(res, SV_ERR_NOMEM, NULL, "out of memory");
        return;
    }
    if (!kickoff_params(req, res, j)) {
        free(j);
        return;
    }
    j->owner = b;
    j->patients = patients;
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    for (int i = 0; i < 16; i++)
        snprintf(j->id + 2 * i, 3, "%02x", raw[i]);
    sv_datetime_format_instant(sv_clock_now_ms(), j->when);
    /* The kick-off as asked (the manifest's "request"): parameters re-encoded. */
    sv_buf url = SV_BUF_INIT;
    sv_buf_addf(&url, "%s%s", sv__api_fhir_base(api), patients ? "/Patient/$export" : "/$export");
    for (size_t i = 0; i < req->nparams; i++) {
        sv_buf_addc(&url, i ? '&' : '?');
        for (int part = 0; part < 2; part++) {
            const char *v = part ? req->params[i].value : req->params[i].name;
            if (part)
                sv_buf_addc(&url, '=');
            for (; *v; v++) {
                bool plain = (*v >= 'A' && *v <= 'Z') || (*v >= 'a' && *v <= 'z') ||
                             (*v >= '0' && *v <= '9') || strchr("-._~,", *v);
                if (plain)
                    sv_buf_addc(&url, *v);
                else
                    sv_buf_addf(&url, "%%%02X", (unsigned char)*v);
            }
        }
    }
    snprintf(j->request, sizeof(j->request), "%s", url.ptr);
    sv_buf_release(&url);
    const char *tmp = getenv("TMPDIR");
    snprintf(j->dir, sizeof(j->dir), "%s/samverka-export-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(j->dir)) {
        free(j);
        sv__api_error(res, SV_ERR_IO, NULL, "cannot create the export's directory");
        return;
    }
    pthread_mutex_lock(&b->lock);
    int running = 0, kept = 0;
    for (bulk_job *k = b->jobs; k; k = k->next) {
        running += k->state == JOB_RUNNING;
        kept++;
    }
    bulk_job *drop = NULL;
    if (running < MAX_RUNNING && kept >= MAX_JOBS) {
        /* The oldest finished job makes room (jobs are kept newest first). */
        bulk_job **pp = &b->jobs, **oldest = NULL;
        for (; *pp; pp = &(*pp)->next)
            if ((*pp)->state != JOB_RUNNING)
                oldest = pp;
        if (oldest) {
            drop = *oldest;
            *oldest = drop->next;
        }
    }
    bool ok = running < MAX_RUNNING && (kept < MAX_JOBS || drop);
    if (ok) {
        j->next = b->jobs;
        b->jobs = j;
        j->started = pthread_create(&j->thread, NULL, job_run, j) == 0;
        if (!j->started) {
            j->state = JOB_FAILED;
            snprintf(j->error, sizeof(j->error), "cannot start the export");
        }
    }
    pthread_mutex_unlock(&b->lock);
    if (drop)
        job_free(drop);
    if (!ok) {
        rmdir(j->dir);
        free(j);
        sv__api_error(res, SV_ERR_TOO_MANY, NULL, "too many bulk exports at once; try later");
        audit_kickoff(api, who, 429);
        return;
    }
    char loc[4400];
    snprintf(loc, sizeof(loc), "%s/$export-status/%s", sv__api_fhir_base(api), j->id);
    sv_http_response_header(res, "Content-Location", loc);
    res->status = 202;
    audit_kickoff(api, who, 202);
}

/* The job with id, under b->lock; NULL when none. */
static bulk_job *find(sv_bulk *b, const char *id, bulk_job ***ret_link)
{
    for (bulk_job **pp = &b->jobs; *pp; pp = &(*pp)->next)
        if (strcmp((*pp)->id, id) == 0) {
            if (ret_link)
                *ret_link = pp;
            return *pp;
        }
    return NULL;
}

static void status(sv_api *api, sv_bulk *b, const sv_http_request *req, sv_http_response *res,
                   const char *id)
{
    bool del = strcmp(req->method, "DELETE") == 0;
    res->route = del ? "DELETE /fhir/$export-status/:id" : "GET /fhir/$export-status/:id";
    if (!del && strcmp(req->method, "GET") != 0) {
        sv__api_error(res, SV_ERR_METHOD, NULL, "the export status answers GET and DELETE");
        return;
    }
    pthread_mutex_lock(&b->lock);
    bulk_job **link = NULL;
    bulk_job *j = find(b, id, &link);
    if (!j) {
        pthread_mutex_unlock(&b->lock);
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no bulk export with that id");
        return;
    }
    if (del) {
        *link = j->next;
        pthread_mutex_unlock(&b->lock);
        job_free(j); /* cancels a running job and removes the files */
        res->status = 202;
        return;
    }
    if (j->state == JOB_RUNNING) {
        char progress[64];
        snprintf(progress, sizeof(progress), "%lld resources",
                 (long long)atomic_load(&j->progress));
        pthread_mutex_unlock(&b->lock);
        sv_http_response_header(res, "X-Progress", progress);
        sv_http_response_header(res, "Retry-After", "1");
        res->status = 202;
        return;
    }
    if (j->state == JOB_FAILED) {
        char why[256];
        snprintf(why, sizeof(why), "%s", j->error);
        pthread_mutex_unlock(&b->lock);
        sv__api_error(res, SV_ERR_IO, NULL, "%s", why);
        return;
    }
    json_t *output = json_array();
    for (int i = 0; i < j->nout; i++) {
        char url[4400];
        snprintf(url, sizeof(url), "%s/$export-file/%s/%s.ndjson", sv__api_fhir_base(api), j->id,
                 j->out[i].type);
        json_array_append_new(output, json_pack("{ss ss sI}", "type", j->out[i].type, "url", url,
                                                "count", (json_int_t)j->out[i].count));
    }
    json_t *m = json_pack("{ss ss sb so s[]}", "transactionTime", j->when, "request", j->request,
                          "requiresAccessToken", sv__api_config(api)->auth_required, "output",
                          output, "error");
    pthread_mutex_unlock(&b->lock);
    char *text = json_dumps(m, JSON_COMPACT);
    json_decref(m);
    sv_buf_adds(&res->body, text ? text : "{}");
    free(text);
    res->status = 200;
    res->content_type = "application/json";
}

static void file(sv_bulk *b, const sv_http_request *req, sv_http_response *res, const char *id,
                 const char *name)
{
    res->route = "GET /fhir/$export-file/:id/:file";
    if (strcmp(req->method, "GET") != 0) {
        sv__api_error(res, SV_ERR_METHOD, NULL, "export files answer GET");
        return;
    }
    size_t len = strlen(name);
    char type[72] = "";
    if (len > 7 && strcmp(name + len - 7, ".ndjson") == 0 && plain_type(name, len - 7))
        snprintf(type, sizeof(type), "%.*s", (int)(len - 7), name);
    pthread_mutex_lock(&b->lock);
    bulk_job *j = find(b, id, NULL);
    bool listed = false;
    for (int i = 0; j && j->state == JOB_DONE && type[0] && i < j->nout; i++)
        listed = listed || strcmp(j->out[i].type, type) == 0;
    char path[4200] = "";
    if (listed)
        snprintf(path, sizeof(path), "%s/%s.ndjson", j->dir, type);
    FILE *f = listed ? fopen(path, "r") : NULL;
    /* Read under the lock: a DELETE cannot remove the file meanwhile. */
    bool ok = f != NULL;
    char chunk[65536];
    size_t got;
    while (f && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sv_buf_add(&res->body, chunk, got);
    if (f && ferror(f))
        ok = false;
    if (f)
        fclose(f);
    pthread_mutex_unlock(&b->lock);
    if (!ok) {
        sv_buf_reset(&res->body);
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such export file");
        return;
    }
    res->status = 200;
    res->content_type = "application/fhir+ndjson";
}

void sv__api_bulk(sv_api *api, const sv_http_request *req, sv_http_response *res,
                  const char *const *segs, size_t n, const sv_principal *who)
{
    res->route = "/fhir/$export";
    if (!allowed(api, res, who))
        return;
    sv_bulk *b = sv__api_bulk_jobs(api);
    bool patients = n == 3 && strcmp(segs[1], "Patient") == 0 && strcmp(segs[2], "$export") == 0;
    if (patients || (n == 2 && strcmp(segs[1], "$export") == 0)) {
        if (strcmp(req->method, "GET") != 0) {
            sv__api_error(res, SV_ERR_METHOD, NULL, "$export is started with GET");
            return;
        }
        kickoff(api, b, req, res, who, patients);
    } else if (n == 3 && strcmp(segs[1], "$export-status") == 0) {
        status(api, b, req, res, segs[2]);
    } else if (n == 4 && strcmp(segs[1], "$export-file") == 0) {
        file(b, req, res, segs[2], segs[3]);
    } else {
        sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such export endpoint");
    }
}
