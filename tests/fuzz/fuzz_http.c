/*
 * fuzz_http.c - libFuzzer driver for the request path through the router:
 * sv_api_handle on an sv_http_request built in memory (its header() callback is
 * there for this), on a SQLite database in a temporary file.
 *
 * Input: up to MAX_REQUESTS requests separated by a line "~~~", each
 *     METHOD TARGET            (TARGET: path and query, percent-encoded)
 *     Name: value              (headers, any number)
 *                              (an empty line, then the body, if there is one)
 * The target is split and decoded the way http/server.c and libmicrohttpd do
 * ("%00" stays literal, "+" is a space in the query, at most 256 parameters,
 * then too_many_params).
 * Every input starts from the same data (a few seeded resources, restored
 * before each input), so a crash reproduces from its input alone.
 *
 * Oracles beyond "does not crash": no 5xx; every error is an OperationOutcome
 * with at least one issue; every FHIR JSON body parses as a resource; a 201
 * has a Location under the base.
 * Build with -fsanitize=fuzzer, or with -DSV_FUZZ_REPLAY as a plain program
 * that replays files (see fuzz_replay.h).
 * Depends on api/ and below.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "api/api.h"
#include "api/audit_log.h"
#include "api/internal.h"
#include "base/json.h"
#include "base/log.h"
#include "db/db.h"

#define MAX_REQUESTS 4
#define MAX_HEADERS 32
#define MAX_PARAMS 256
#define MAX_BODY (1024 * 1024)
#define BASE_URL "http://fuzz.example"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_http: check failed at line %d: %s\n", __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

typedef struct fuzz_request {
    char *names[MAX_HEADERS], *values[MAX_HEADERS];
    size_t nheaders;
} fuzz_request;

static const char *header_of(const sv_http_request *req, const char *name)
{
    const fuzz_request *fr = req->impl;
    for (size_t i = 0; i < fr->nheaders; i++)
        if (strcasecmp(fr->names[i], name) == 0)
            return fr->values[i];
    return NULL;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* As http/server.c's unescape: %XX decoded in place, except %00. */
static void unescape(char *s, bool plus)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        int h, l;
        if (plus && *p == '+') {
            *w++ = ' ';
        } else if (*p == '%' && (h = hexval(p[1])) >= 0 && (l = hexval(p[2])) >= 0 &&
                   (h | l) != 0) {
            *w++ = (char)(h * 16 + l);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
}

static char *dup_n(const char *s, size_t n)
{
    char *c = malloc(n + 1);
    CHECK(c != NULL);
    memcpy(c, s, n);
    c[n] = '\0';
    return c;
}

static void release(sv_http_response *res)
{
    sv_buf_release(&res->body);
    for (size_t i = 0; i < res->nheaders; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    free(res->headers);
}

static void check_response(const sv_http_request *req, const sv_http_response *res)
{
    if (res->status >= 500 || res->status < 100)
        fprintf(stderr, "fuzz_http: %s %s -> %d %.*s\n", req->method, req->path, res->status,
                (int)(res->body.len < 2000 ? res->body.len : 2000), res->body.ptr);
    CHECK(res->status >= 100 && res->status < 500);
    CHECK(res->route != NULL);
    for (size_t i = 0; i < res->nheaders; i++)
        CHECK(res->headers[i].name[0] != '\0');
    bool fhir = res->content_type && strncmp(res->content_type, "application/fhir+json", 21) == 0;
    if (res->status >= 400)
        CHECK(fhir);
    if (!fhir || res->body.len == 0)
        return;
    json_t *j = NULL;
    sv_buf message = SV_BUF_INIT;
    sv_err e =
        sv_json_parse(res->body.ptr, res->body.len, 1000, SV_JSON_TOP_OBJECT, &j, &message, NULL);
    if (e)
        fprintf(stderr, "fuzz_http: body does not parse: %s\n%.*s\n", message.ptr,
                (int)(res->body.len < 2000 ? res->body.len : 2000), res->body.ptr);
    CHECK(e == SV_OK);
    const char *rt = json_string_value(json_object_get(j, "resourceType"));
    CHECK(rt != NULL);
    if (res->status >= 400) {
        CHECK(strcmp(rt, "OperationOutcome") == 0);
        const json_t *issues = json_object_get(j, "issue");
        CHECK(json_array_size(issues) > 0);
        for (size_t i = 0; i < json_array_size(issues); i++) {
            CHECK(json_string_value(json_object_get(json_array_get(issues, i), "severity")));
            CHECK(json_string_value(json_object_get(json_array_get(issues, i), "code")));
        }
    }
    if (res->status == 201) {
        const char *loc = NULL;
        for (size_t i = 0; i < res->nheaders; i++)
            if (strcasecmp(res->headers[i].name, "Location") == 0)
                loc = res->headers[i].value;
        CHECK(loc && strncmp(loc, BASE_URL "/fhir/", strlen(BASE_URL "/fhir/")) == 0);
    }
    json_decref(j);
    sv_buf_release(&message);
}

/* Runs one request given as text (see the top of the file). */
static void run(sv_api *api, const char *text, size_t len)
{
    const char *eol = memchr(text, '\n', len);
    size_t line_len = eol ? (size_t)(eol - text) : len;
    const char *sp = memchr(text, ' ', line_len);
    if (!sp || sp == text)
        return;
    char *method = dup_n(text, (size_t)(sp - text));
    char *target = dup_n(sp + 1, line_len - (size_t)(sp - text) - 1);
    if (memchr(text, '\0', line_len) || target[0] != '/') {
        free(method);
        free(target);
        return; /* the transport refuses these (http/server.c) */
    }

    fuzz_request fr = {.nheaders = 0};
    const char *p = eol ? eol + 1 : text + len, *end = text + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        const char *next = nl ? nl + 1 : end;
        if (n == 0) {
            p = next;
            break; /* the body follows */
        }
        const char *colon = memchr(p, ':', n);
        if (colon && fr.nheaders < MAX_HEADERS && !memchr(p, '\0', n)) {
            const char *v = colon + 1;
            while (v < p + n && *v == ' ')
                v++;
            fr.names[fr.nheaders] = dup_n(p, (size_t)(colon - p));
            fr.values[fr.nheaders] = dup_n(v, (size_t)(p + n - v));
            fr.nheaders++;
        }
        p = next;
    }
    size_t body_len = p < end ? (size_t)(end - p) : 0;
    char *body = dup_n(p < end ? p : "", body_len);

    /* Path and query, split and decoded as the transport does. */
    sv_http_param params[MAX_PARAMS];
    size_t nparams = 0;
    bool overflow = false;
    char *query = strchr(target, '?');
    if (query) {
        *query++ = '\0';
        for (char *s = query; s && *s;) {
            char *amp = strchr(s, '&');
            if (amp)
                *amp = '\0';
            if (*s) {
                if (nparams == MAX_PARAMS) {
                    overflow = true;
                    break;
                }
                char *eq = strchr(s, '=');
                if (eq)
                    *eq = '\0';
                unescape(s, true);
                if (eq)
                    unescape(eq + 1, true);
                params[nparams].name = s;
                params[nparams].value = eq ? eq + 1 : "";
                nparams++;
            }
            s = amp ? amp + 1 : NULL;
        }
    }
    unescape(target, false);

    {
        sv_http_request req = {
            .method = method,
            .path = target,
            .params = params,
            .nparams = nparams,
            .body = body,
            .body_len = body_len,
            .body_too_large = body_len > MAX_BODY,
            .too_many_params = overflow,
            .request_id = "fuzz",
            .header = header_of,
            .impl = &fr,
        };
        sv_http_response res = {.status = 500, .body = SV_BUF_INIT};
        sv_api_handle(api, &req, &res);
        if (getenv("FUZZ_HTTP_VERBOSE"))
            fprintf(stderr, "%s %s (%zu params, %zu bytes) -> %d %.*s\n", method, target, nparams,
                    body_len, res.status, (int)(res.body.len < 160 ? res.body.len : 160),
                    res.body.ptr);
        check_response(&req, &res);
        release(&res);
    }
    for (size_t i = 0; i < fr.nheaders; i++) {
        free(fr.names[i]);
        free(fr.values[i]);
    }
    free(method);
    free(target);
    free(body);
}

static char db_path[256], template_path[300];

static void remove_db(void)
{
    static const char *const suffixes[] = {"", "-wal", "-shm", "-journal"};
    char path[320];
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
        snprintf(path, sizeof(path), "%s%s", db_path, suffixes[i]);
        unlink(path);
    }
    unlink(template_path);
}

static void exec_sql(sv_db *db, const char *sql)
{
    sv_buf err = SV_BUF_INIT;
    if (sv_db_exec(db, sql, &err) != SV_OK) {
        fprintf(stderr, "fuzz_http: %s: %s\n", sql, err.ptr);
        abort();
    }
    sv_buf_release(&err);
}

/*
 * The same starting point for every input, cheaply: one api for the process
 * (building it, with its CapabilityStatement, costs more than most requests), a
 * database seeded with a few resources and copied aside (VACUUM INTO), and
 * before each input every table of the live database refilled from that copy.
 * The refill runs on the api's own connection for this thread, between requests.
 */
static sv_api *the_api;
static sv_db *the_db;
static char **reset_sql;
static size_t nreset;

static void setup(void)
{
    const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    snprintf(db_path, sizeof(db_path), "%s/samverka-fuzz-http-%d.db", dir, (int)getpid());
    snprintf(template_path, sizeof(template_path), "%s.template", db_path);
    atexit(remove_db);
    sv_log_set_level(SV_LOG_ERROR);
    remove_db();
    sv_api_config cfg = {.db_uri = db_path, .base_url = BASE_URL, .busy_timeout_ms = 1000};
    sv_buf err = SV_BUF_INIT;
    if (sv_api_new(&cfg, &the_api, &err) != SV_OK) {
        fprintf(stderr, "fuzz_http: cannot open %s: %s\n", db_path, err.ptr);
        abort();
    }
    static const char *const seed[] = {
        "PUT /fhir/Organization/o1\nContent-Type: application/fhir+json\n\n"
        "{\"resourceType\":\"Organization\",\"id\":\"o1\",\"name\":\"Kommune\"}",
        "PUT /fhir/Patient/p1\nContent-Type: application/fhir+json\n\n"
        "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"name\":[{\"family\":\"Seed\",\"given\":"
        "[\"Ada\"]}],\"birthDate\":\"1970-01-01\",\"gender\":\"female\",\"identifier\":[{"
        "\"system\":\"http://example.org/mrn\",\"value\":\"1\"}],\"managingOrganization\":{"
        "\"reference\":\"Organization/o1\"}}",
        "PUT /fhir/Observation/obs1\nContent-Type: application/fhir+json\n\n"
        "{\"resourceType\":\"Observation\",\"id\":\"obs1\",\"status\":\"final\",\"code\":{"
        "\"coding\":[{\"system\":\"http://loinc.org\",\"code\":\"8867-4\"}]},\"subject\":{"
        "\"reference\":\"Patient/p1\"},\"valueQuantity\":{\"value\":72,\"unit\":\"/min\"},"
        "\"effectiveDateTime\":\"2024-01-02T03:04:05Z\"}",
    };
    for (size_t i = 0; i < sizeof(seed) / sizeof(seed[0]); i++)
        run(the_api, seed[i], strlen(seed[i]));
    CHECK(sv__api_conn(the_api, &the_db, &err) == SV_OK);
    sv_buf_release(&err);

    sv_buf sql = SV_BUF_INIT;
    sv_buf_addf(&sql, "VACUUM INTO '%s'", template_path);
    exec_sql(the_db, sql.ptr);
    sv_buf_reset(&sql);
    sv_buf_addf(&sql, "ATTACH '%s' AS template", template_path);
    exec_sql(the_db, sql.ptr);
    sv_buf_release(&sql);

    /* The audit log's guards refuse deletes; the copy is this driver's alone, so they go. */
    sv_stmt *st = NULL;
    CHECK(sv_db_prepare(the_db, "SELECT name FROM main.sqlite_master WHERE type = 'trigger'", &st,
                        NULL) == SV_OK);
    bool more = false;
    while (sv_stmt_step(st, &more, NULL) == SV_OK && more) {
        sv_buf drop = SV_BUF_INIT;
        sv_buf_addf(&drop, "DROP TRIGGER main.\"%s\"", sv_stmt_column_text(st, 0, NULL));
        reset_sql = realloc(reset_sql, (nreset + 1) * sizeof(*reset_sql));
        CHECK(reset_sql != NULL);
        reset_sql[nreset++] = sv_buf_detach(&drop, NULL);
    }
    sv_stmt_finalize(st);
    for (size_t i = 0; i < nreset; i++) {
        exec_sql(the_db, reset_sql[i]);
        free(reset_sql[i]);
    }
    nreset = 0;
    CHECK(sv_db_prepare(the_db, "SELECT name FROM main.sqlite_master WHERE type = 'table'", &st,
                        NULL) == SV_OK);
    bool row = false;
    while (sv_stmt_step(st, &row, NULL) == SV_OK && row) {
        const char *name = sv_stmt_column_text(st, 0, NULL);
        reset_sql = realloc(reset_sql, (nreset + 1) * sizeof(*reset_sql));
        CHECK(reset_sql != NULL);
        sv_buf b = SV_BUF_INIT;
        sv_buf_addf(
            &b, "DELETE FROM main.\"%s\"; INSERT INTO main.\"%s\" SELECT * FROM template.\"%s\";",
            name, name, name);
        reset_sql[nreset++] = sv_buf_detach(&b, NULL);
    }
    sv_stmt_finalize(st);
    CHECK(nreset > 0);
}

static void reset_data(void)
{
    CHECK(!sv_db_in_tx(the_db));
    /* Off while the tables are refilled one by one (only outside a transaction). */
    exec_sql(the_db, "PRAGMA foreign_keys = OFF");
    /* A plain BEGIN on this connection, not sv_db_begin: a write transaction runs on
     * the file's shared writer (group commit), which has neither the template
     * attached nor foreign keys off.  Nothing else writes between two inputs. */
    exec_sql(the_db, "BEGIN IMMEDIATE");
    for (size_t i = 0; i < nreset; i++)
        exec_sql(the_db, reset_sql[i]);
    exec_sql(the_db, "COMMIT");
    exec_sql(the_db, "PRAGMA foreign_keys = ON");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!the_api)
        setup();
    reset_data();
    const char *text = (const char *)data, *end = text + size;
    for (int n = 0; n < MAX_REQUESTS && text < end; n++) {
        const char *sep = NULL;
        for (const char *s = text; s + 5 <= end; s++)
            if (memcmp(s, "\n~~~\n", 5) == 0) {
                sep = s;
                break;
            }
        run(the_api, text, (size_t)((sep ? sep : end) - text));
        text = sep ? sep + 5 : end;
    }
    /* The read audit records this input queued are written now, not by the flushing
     * thread later: each input then frees what it allocated, and libFuzzer does not
     * run a leak check after every input (it does when mallocs and frees differ). */
    CHECK(sv_audit_log_flush(sv__api_audit_log(the_api)) == SV_OK);
    return 0;
}

#include "fuzz_replay.h"
