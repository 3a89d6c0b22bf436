/* server.c - see server.h.  libmicrohttpd with an internal thread pool. */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/metrics.h"
#include "http/pool.h"

#define MAX_PARAMS 256

typedef struct param_collect {
    sv_http_param params[MAX_PARAMS];
    size_t n;
    bool overflow;
} param_collect;

typedef struct conn_state {
    sv_buf body;
    bool too_large;
    bool counted;
    struct timespec start;
    /* A request run on the pool (pool.h): what its thread needs, and its answer;
     * the connection stays suspended from the push until the answer is set. */
    sv__pool_item item;
    sv_http_request req;
    param_collect *params;
    char request_id[24];
    char address[INET6_ADDRSTRLEN];
    bool answered;
    sv_http_response answer;
    /* Parking (server.h); all under the server's park_lock. */
    struct MHD_Connection *conn;
    int64_t park_deadline_ms; /* monotonic; 0: never parked */
    bool park_expired;
    bool in_park_list;
    struct conn_state *park_next;
} conn_state;

struct sv_http_server {
    struct MHD_Daemon *daemon;
    sv_http_config cfg;
    unsigned port;
    atomic_int in_flight;
    atomic_ullong next_id;
    /* Parked requests, and the thread that ends them when their time is up. */
    pthread_mutex_t park_lock;
    pthread_cond_t park_cond; /* on CLOCK_MONOTONIC: the timer's sleep */
    conn_state *parked;
    unsigned nparked;
    /* Moved under park_lock by every wake; read without it once per request. */
    atomic_uint_fast64_t wake_generation;
    bool stopping;
    pthread_t timer;
    sv__pool *pool; /* NULL: every handler runs on libmicrohttpd's workers */
};

static atomic_int parked_in_process;

const char *sv_http_header_get(const sv_http_request *req, const char *name)
{
    return req->header ? req->header(req, name) : NULL;
}

static const char *mhd_header(const sv_http_request *req, const char *name)
{
    return MHD_lookup_connection_value((struct MHD_Connection *)req->impl, MHD_HEADER_KIND, name);
}

void sv_http_response_header(sv_http_response *res, const char *name, const char *value)
{
    if (res->nheaders == res->cap) {
        size_t cap = res->cap ? res->cap * 2 : 8;
        sv_http_header *h = realloc(res->headers, cap * sizeof(*h));
        if (!h)
            abort();
        res->headers = h;
        res->cap = cap;
    }
    res->headers[res->nheaders].name = strdup(name);
    res->headers[res->nheaders].value = strdup(value);
    if (!res->headers[res->nheaders].name || !res->headers[res->nheaders].value)
        abort();
    res->nheaders++;
}

static void response_release(sv_http_response *res)
{
    sv_buf_release(&res->body);
    for (size_t i = 0; i < res->nheaders; i++) {
        free(res->headers[i].name);
        free(res->headers[i].value);
    }
    free(res->headers);
}

static enum MHD_Result collect_param(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    param_collect *pc = cls;
    if (pc->n == MAX_PARAMS) {
        pc->overflow = true;
        return MHD_NO;
    }
    pc->params[pc->n].name = key ? key : "";
    pc->params[pc->n].value = value ? value : "";
    pc->n++;
    return MHD_YES;
}

static int64_t elapsed_us(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(now.tv_sec - start->tv_sec) * 1000000 + (now.tv_nsec - start->tv_nsec) / 1000;
}

static enum MHD_Result send_response(sv_http_server *srv, struct MHD_Connection *conn,
                                     conn_state *cs, const char *method, const char *request_id,
                                     sv_http_response *res)
{
    size_t len = 0;
    char *body = sv_buf_detach(&res->body, &len);
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    if (res->content_type)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    MHD_add_response_header(r, "X-Request-Id", request_id);
    for (size_t i = 0; i < res->nheaders; i++)
        MHD_add_response_header(r, res->headers[i].name, res->headers[i].value);
    if (cs->too_large)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ok = MHD_queue_response(conn, (unsigned)res->status, r);
    MHD_destroy_response(r);
    /* One line per request; the route pattern, never the path (ids, names). */
    int64_t us = elapsed_us(&cs->start);
    sv_log(SV_LOG_INFO, "event=request method=%s route=\"%s\" status=%d bytes=%zu us=%lld id=%s",
           method, res->route ? res->route : "-", res->status, len, (long long)us, request_id);
    sv_metrics_request(res->route, res->status, us);
    (void)srv;
    return ok;
}

static conn_state *conn_state_new(void)
{
    conn_state *cs = calloc(1, sizeof(*cs));
    if (!cs)
        return NULL;
    sv_buf_init(&cs->body);
    clock_gettime(CLOCK_MONOTONIC, &cs->start);
    return cs;
}

/*
 * Called by libmicrohttpd with the raw request target, once per request, before it
 * splits and decodes the target in place; what it returns becomes *con_cls.  It
 * returns where the target's text ends as a C string (a NUL byte inside the target
 * ends it early, see framing_refusal), tagged odd so that it is never taken for a
 * conn_state (which calloc aligns), and owning no memory: libmicrohttpd may drop a
 * request after this call without telling on_completed.
 */
/* The target on_uri saw last on this thread: libmicrohttpd then unescapes the query
 * values and, last, the path at this same address, on the same thread (the request
 * line is parsed in one go), so unescape() can tell the path from a query value. */
static _Thread_local const char *target_being_parsed;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    target_being_parsed = uri;
    return (void *)(((uintptr_t)(uri + strlen(uri)) << 1) | 1);
}

static bool is_target_tag(const void *con_cls)
{
    return ((uintptr_t)con_cls & 1) != 0;
}

typedef struct header_scan {
    int content_length;    /* how many Content-Length headers */
    int transfer_encoding; /* how many Transfer-Encoding headers */
    bool chunked_only;     /* every Transfer-Encoding is exactly "chunked" */
    bool unreadable;       /* a header that did not come through as it was sent */
} header_scan;

/* RFC 9110 5.6.2: a field name is a token. */
static bool is_token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("!#$%&'*+-.^_`|~", c)))
            return false;
    }
    return true;
}

/* A precondition header name, or something that only looks like one. */
static bool is_mangled_precondition(const char *key)
{
    static const char *const known[] = {"If-Match",          "If-None-Match",       "If-None-Exist",
                                        "If-Modified-Since", "If-Unmodified-Since", "If-Range"};
    if (strncasecmp(key, "If-", 3) != 0)
        return false;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcasecmp(key, known[i]) == 0)
            return false;
    return true;
}

/*
 * libmicrohttpd 0.9.75 lets through what RFC 9112 5 says to reject, and loses
 * headers on the way: a name with a space before the colon is kept with the space
 * (so the header is never found), a folded value (obs-fold) has its continuation
 * glued to the *name* ("If-Match: W/\"1\"" CRLF " 2" arrives as "If-Match2", so
 * the precondition disappears and a conditional update goes through), a bare CR
 * stays inside the value, and a NUL byte cuts it short.  Names that are no token
 * catch most folds; an unknown If-... name catches the rest of the dangerous ones.
 */
static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                   size_t key_size, const char *value, size_t value_size)
{
    header_scan *hs = cls;
    if (!key || !value || strlen(key) != key_size || strlen(value) != value_size ||
        !is_token(key, key_size) || is_mangled_precondition(key) ||
        memchr(value, '\r', value_size) || memchr(value, '\n', value_size))
        hs->unreadable = true;
    if (key && strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0)
        hs->content_length++;
    if (key && strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING) == 0) {
        hs->transfer_encoding++;
        if (!value || strcasecmp(value, "chunked") != 0)
            hs->chunked_only = false;
    }
    (void)kind;
    return MHD_YES;
}

/*
 * Requests whose framing or text cannot be trusted, refused by closing the
 * connection without an answer (RFC 9112 6.3 and 9110 5.5): they would be read
 * differently here and by a proxy in front (request smuggling), or would silently
 * mean something else once C strings cut them at a NUL ("DELETE /Patient/a<NUL>b"
 * would delete Patient/a).  Returns the reason, or NULL for a request to serve.
 *
 * version points into the request line right after the target and one space,
 * where on_uri's view of the target must have ended (libmicrohttpd reads the line
 * with its length, so a NUL inside it survives until the C strings).
 */
static const char *framing_refusal(struct MHD_Connection *conn, uintptr_t target_end,
                                   const char *version)
{
    if (target_end && version && *version && target_end + 1 < (uintptr_t)version &&
        (uintptr_t)version - target_end < (uintptr_t)1 << 20)
        return "nul byte in the request target";
    header_scan hs = {.chunked_only = true};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, scan_header, &hs);
    if (hs.unreadable)
        return "a header that cannot be read as sent (name not a token, folded, cr or nul)";
    if (hs.content_length > 1)
        return "more than one content-length";
    if (hs.transfer_encoding && hs.content_length)
        return "both content-length and transfer-encoding";
    if (hs.transfer_encoding > 1 || !hs.chunked_only)
        return "transfer-encoding other than chunked";
    return NULL;
}

/*
 * The path of a request target: origin-form ("/fhir/Patient") as it is, absolute-form
 * ("http://host/fhir/Patient", which RFC 9112 3.2.2 says a server must accept) without
 * its scheme and authority, "*" as it is (the router finds nothing there).  NULL for
 * anything else ("fhir/Patient"), which is refused rather than guessed at.
 */
static const char *target_path(const char *url)
{
    if (url[0] == '/' || strcmp(url, "*") == 0)
        return url;
    size_t scheme = strncasecmp(url, "http://", 7) == 0    ? 7
                    : strncasecmp(url, "https://", 8) == 0 ? 8
                                                           : 0;
    if (!scheme)
        return NULL;
    const char *slash = strchr(url + scheme, '/');
    return slash ? slash : "/";
}

/* The peer's IP address as text ("" when unknown: a unix socket, an odd family). */
static void client_address(struct MHD_Connection *conn, char *out, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    const struct sockaddr *sa = ci ? ci->client_addr : NULL;
    out[0] = '\0';
    if (sa && sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, out,
                  (socklen_t)cap);
    else if (sa && sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, out,
                  (socklen_t)cap);
}

static int64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sv_http_parked_count(void)
{
    return atomic_load(&parked_in_process);
}

/* Takes cs off the parked list and lets libmicrohttpd call on_request for it
 * again.  Under park_lock. */
static void unpark_locked(sv_http_server *srv, conn_state *cs)
{
    for (conn_state **p = &srv->parked; *p; p = &(*p)->park_next) {
        if (*p == cs) {
            *p = cs->park_next;
            break;
        }
    }
    cs->park_next = NULL;
    cs->in_park_list = false;
    srv->nparked--;
    atomic_fetch_sub(&parked_in_process, 1);
    MHD_resume_connection(cs->conn);
}

/* Every parked request, or those whose time is up (only_due), again. */
static void unpark_all_locked(sv_http_server *srv, bool only_due, bool expire)
{
    int64_t now = monotonic_ms();
    conn_state *cs = srv->parked;
    while (cs) {
        conn_state *next = cs->park_next;
        if (!only_due || cs->park_deadline_ms <= now) {
            if (expire || cs->park_deadline_ms <= now)
                cs->park_expired = true;
            unpark_locked(srv, cs);
        }
        cs = next;
    }
}

static void *park_timer(void *arg)
{
    sv_http_server *srv = arg;
    pthread_mutex_lock(&srv->park_lock);
    while (!srv->stopping) {
        int64_t next = 0;
        for (conn_state *cs = srv->parked; cs; cs = cs->park_next)
            if (!next || cs->park_deadline_ms < next)
                next = cs->park_deadline_ms;
        if (!next) {
            pthread_cond_wait(&srv->park_cond, &srv->park_lock);
        } else {
            struct timespec until = {.tv_sec = (time_t)(next / 1000),
                                     .tv_nsec = (long)(next % 1000) * 1000000L};
            pthread_cond_timedwait(&srv->park_cond, &srv->park_lock, &until);
        }
        unpark_all_locked(srv, true, false);
    }
    pthread_mutex_unlock(&srv->park_lock);
    return NULL;
}

void sv_http_server_wake(sv_http_server *s)
{
    pthread_mutex_lock(&s->park_lock);
    atomic_fetch_add(&s->wake_generation, 1);
    unpark_all_locked(s, false, false);
    pthread_mutex_unlock(&s->park_lock);
}

static uint64_t wake_generation(sv_http_server *srv)
{
    return atomic_load(&srv->wake_generation);
}

typedef enum park_result { PARKED, CALL_AGAIN, REFUSED } park_result;

/* Suspends the connection for up to park_ms from its first park, unless a wake
 * came since seen (the handler may have read too early: call it again), the
 * time is up or the server stops (call it again, expired), or too many are
 * parked (refused). */
static park_result park(sv_http_server *srv, conn_state *cs, struct MHD_Connection *conn,
                        int64_t park_ms, uint64_t seen)
{
    park_result r = CALL_AGAIN;
    pthread_mutex_lock(&srv->park_lock);
    int64_t now = monotonic_ms();
    if (srv->stopping) {
        cs->park_expired = true;
    } else if (atomic_load(&srv->wake_generation) != seen) {
        /* call again */
    } else if (!cs->park_deadline_ms && srv->nparked >= srv->cfg.max_parked) {
        r = REFUSED;
    } else {
        if (!cs->park_deadline_ms)
            cs->park_deadline_ms = now + park_ms;
        if (now >= cs->park_deadline_ms) {
            cs->park_expired = true;
        } else {
            cs->conn = conn;
            MHD_suspend_connection(conn);
            cs->park_next = srv->parked;
            srv->parked = cs;
            cs->in_park_list = true;
            srv->nparked++;
            atomic_fetch_add(&parked_in_process, 1);
            pthread_cond_signal(&srv->park_cond);
            r = PARKED;
        }
    }
    pthread_mutex_unlock(&srv->park_lock);
    return r;
}

/* A pool thread: runs the handler of a suspended request and resumes it with the
 * answer (on_request sends it).  Such a request cannot park: the pool's handlers
 * answer now (park_refused). */
static void run_waiting(void *ctx, sv__pool_item *item)
{
    sv_http_server *srv = ctx;
    conn_state *cs = (conn_state *)(void *)((char *)item - offsetof(conn_state, item));
    sv_http_response res = {.status = 500, .body = SV_BUF_INIT};
    srv->cfg.handler(srv->cfg.ctx, &cs->req, &res);
    if (res.park_ms > 0) {
        response_release(&res);
        cs->req.park_refused = true;
        res = (sv_http_response){.status = 500, .body = SV_BUF_INIT};
        srv->cfg.handler(srv->cfg.ctx, &cs->req, &res);
    }
    free(cs->params);
    cs->params = NULL;
    cs->answer = res;
    cs->answered = true;
    /* After this, cs is libmicrohttpd's worker's again (it may even end it). */
    MHD_resume_connection(cs->conn);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    sv_http_server *srv = cls;
    conn_state *cs = *con_cls;
    if (!cs || is_target_tag(cs)) {
        uintptr_t target_end = cs ? (uintptr_t)cs >> 1 : 0;
        const char *refusal = framing_refusal(conn, target_end, version);
        if (!refusal && !target_path(url))
            refusal = "request target is neither a path nor an absolute url";
        if (refusal) {
            sv_log(SV_LOG_WARN, "event=request-refused method=%s reason=\"%s\"", method, refusal);
            return MHD_NO; /* libmicrohttpd closes the connection */
        }
        if (!(cs = conn_state_new()))
            return MHD_NO;
        *con_cls = cs;
        atomic_fetch_add(&srv->in_flight, 1);
        cs->counted = true;
        /* Refuse a declared oversized body before reading it. */
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end = NULL;
            unsigned long long n = strtoull(cl, &end, 10);
            if (end && *end == '\0' && n > srv->cfg.max_body)
                cs->too_large = true;
        }
        if (!cs->too_large)
            return MHD_YES;
    }
    if (*upload_data_size && !cs->too_large) {
        if (cs->body.len + *upload_data_size > srv->cfg.max_body) {
            cs->too_large = true;
            sv_buf_release(&cs->body);
        } else {
            sv_buf_add(&cs->body, upload_data, *upload_data_size);
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size && cs->too_large) {
        *upload_data_size = 0; /* discard; the answer is already decided */
        return MHD_YES;
    }

    if (cs->answered) { /* resumed by the pool with the answer */
        enum MHD_Result ok = send_response(srv, conn, cs, method, cs->request_id, &cs->answer);
        response_release(&cs->answer);
        cs->answered = false;
        return ok;
    }
    unsigned long long n = atomic_fetch_add(&srv->next_id, 1);
    snprintf(cs->request_id, sizeof(cs->request_id), "%08x%08llx", (unsigned)getpid(), n);

    param_collect *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return MHD_NO;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, pc);

    client_address(conn, cs->address, sizeof(cs->address));
    /* Everything it points to lives until the request ends: libmicrohttpd's copies
     * of the request line, headers and query (untouched while the connection is
     * suspended), the body and pc. */
    sv_http_request req = {
        .client_address = cs->address[0] ? cs->address : NULL,
        .method = method,
        .path = target_path(url),
        .params = pc->params,
        .nparams = pc->n,
        .body = cs->body.ptr,
        .body_len = cs->body.len,
        .body_too_large = cs->too_large,
        .too_many_params = pc->overflow,
        .request_id = cs->request_id,
        .header = mhd_header,
        .impl = conn,
    };
    if (srv->pool && !cs->park_deadline_ms && srv->cfg.waits &&
        srv->cfg.waits(srv->cfg.ctx, &req)) {
        cs->req = req;
        cs->params = pc;
        cs->conn = conn;
        MHD_suspend_connection(conn);
        sv__pool_push(srv->pool, &cs->item);
        return MHD_YES; /* on_request again when the pool resumes it */
    }
    const char *request_id = cs->request_id;
    sv_http_response res;
    for (;;) {
        uint64_t seen = wake_generation(srv);
        req.parked = cs->park_deadline_ms != 0;
        req.park_expired = cs->park_expired;
        res = (sv_http_response){.status = 500, .body = SV_BUF_INIT};
        srv->cfg.handler(srv->cfg.ctx, &req, &res);
        if (res.park_ms <= 0 || req.park_expired || req.park_refused)
            break;
        park_result pr = park(srv, cs, conn, res.park_ms, seen);
        response_release(&res);
        if (pr == PARKED) {
            free(pc);
            return MHD_YES; /* on_request again when resumed */
        }
        req.park_refused = pr == REFUSED;
    }
    enum MHD_Result ok = send_response(srv, conn, cs, method, request_id, &res);
    response_release(&res);
    free(pc);
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    sv_http_server *srv = cls;
    conn_state *cs = *con_cls;
    if (!cs || is_target_tag(cs)) {
        *con_cls = NULL;
        return;
    }
    if (cs->counted)
        atomic_fetch_sub(&srv->in_flight, 1);
    if (cs->answered) /* the client left before its answer went out */
        response_release(&cs->answer);
    free(cs->params);
    pthread_mutex_lock(&srv->park_lock);
    if (cs->in_park_list) /* not expected: libmicrohttpd ends no suspended connection */
        unpark_locked(srv, cs);
    pthread_mutex_unlock(&srv->park_lock);
    sv_buf_release(&cs->body);
    free(cs);
    *con_cls = NULL;
    (void)conn;
    (void)toe;
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

/* Percent-decoding in place.  "%00" is left as it is: decoding it would cut the C
 * string short, so "/Patient/x%00y" or "id=a%00b" would silently become
 * "/Patient/x" or "id=a".  Kept literal, it cannot match anything. */
size_t sv_http_segment_decode(char *s)
{
    char *w = s;
    for (char *p = s; *p; p++) {
        int h, l;
        if (*p == '%' && (h = hexval(p[1])) >= 0 && (l = hexval(p[2])) >= 0 && (h | l) != 0) {
            *w++ = (char)(h * 16 + l);
            p += 2;
        } else {
            *w++ = *p;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

/* Query names and values are decoded here; the path is left as sent, because
 * decoding it whole would turn "a%2Fb" into two segments: the router splits it
 * first and decodes each segment (sv_http_segment_decode). */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
{
    (void)cls;
    (void)conn;
    if (s == target_being_parsed) {
        target_being_parsed = NULL;
        return strlen(s);
    }
    return sv_http_segment_decode(s);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    sv_log(SV_LOG_DEBUG, "event=http-transport msg=\"%s\"", msg);
    (void)cls;
}

/* Ends every parked request and the timer thread. */
static void stop_timer(sv_http_server *srv)
{
    pthread_mutex_lock(&srv->park_lock);
    srv->stopping = true;
    unpark_all_locked(srv, false, true);
    pthread_cond_signal(&srv->park_cond);
    pthread_mutex_unlock(&srv->park_lock);
    pthread_join(srv->timer, NULL);
}

sv_err sv_http_server_start(const sv_http_config *cfg, sv_http_server **ret_server, sv_buf *reterr)
{
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1) {
        if (reterr)
            sv_buf_addf(reterr, "cannot listen on '%s': not an ipv4 address", cfg->host);
        return SV_ERR_INVALID;
    }
    sv_http_server *srv = calloc(1, sizeof(*srv));
    if (!srv)
        return SV_ERR_NOMEM;
    srv->cfg = *cfg;
    pthread_mutex_init(&srv->park_lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&srv->park_cond, &attr);
    pthread_condattr_destroy(&attr);
    if (pthread_create(&srv->timer, NULL, park_timer, srv) != 0) {
        pthread_cond_destroy(&srv->park_cond);
        pthread_mutex_destroy(&srv->park_lock);
        free(srv);
        return SV_ERR_NOMEM;
    }
    if (cfg->waiting_threads && cfg->waits &&
        sv__pool_start(cfg->waiting_threads, run_waiting, srv, &srv->pool) != SV_OK) {
        stop_timer(srv);
        free(srv);
        return SV_ERR_NOMEM;
    }
    unsigned threads = cfg->threads ? cfg->threads : 4;
    srv->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
            MHD_ALLOW_SUSPEND_RESUME,
        (uint16_t)cfg->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s ? cfg->timeout_s : 30,
        MHD_OPTION_CONNECTION_LIMIT, 4096, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)64 * 1024, MHD_OPTION_END);
    if (!srv->daemon) {
        if (reterr)
            sv_buf_addf(reterr, "cannot listen on %s:%u (in use or not permitted)", cfg->host,
                        cfg->port);
        stop_timer(srv);
        sv__pool_stop(srv->pool);
        free(srv);
        return SV_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(srv->daemon, MHD_DAEMON_INFO_BIND_PORT);
    srv->port = info ? info->port : cfg->port;
    *ret_server = srv;
    return SV_OK;
}

unsigned sv_http_server_port(const sv_http_server *s)
{
    return s->port;
}

void sv_http_server_stop(sv_http_server *s)
{
    if (!s)
        return;
    MHD_socket fd = MHD_quiesce_daemon(s->daemon);
    if (fd != MHD_INVALID_SOCKET)
        close(fd);
    /* Parked requests answer now (park_expired); none parks again. */
    stop_timer(s);
    /* The drain is bounded in real time: on a loaded machine a 5 ms sleep can take
     * far longer, and counting sleeps would stretch the bound with it. */
    unsigned limit = s->cfg.drain_ms ? s->cfg.drain_ms : 10000;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (atomic_load(&s->in_flight) > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        int64_t ms =
            (int64_t)(now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms >= (int64_t)limit)
            break;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    /* Past the drain's bound, a request may still be on the pool: its answer comes
     * (its handler's waits are bounded by the database's busy timeout) and resumes
     * the connection before libmicrohttpd lets go of it. */
    sv__pool_stop(s->pool);
    MHD_stop_daemon(s->daemon);
    pthread_cond_destroy(&s->park_cond);
    pthread_mutex_destroy(&s->park_lock);
    free(s);
}
