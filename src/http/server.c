/* server.c - see server.h.  libmicrohttpd with an internal thread pool. */
#include "http/server.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

#define MAX_PARAMS 256

struct sv_http_server {
    struct MHD_Daemon *daemon;
    sv_http_config cfg;
    unsigned port;
    atomic_int in_flight;
    atomic_ullong next_id;
};

typedef struct conn_state {
    sv_buf body;
    bool too_large;
    bool counted;
    struct timespec start;
} conn_state;

typedef struct param_collect {
    sv_http_param params[MAX_PARAMS];
    size_t n;
    bool overflow;
} param_collect;

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
    sv_log(SV_LOG_INFO, "event=request method=%s route=\"%s\" status=%d bytes=%zu us=%lld id=%s",
           method, res->route ? res->route : "-", res->status, len,
           (long long)elapsed_us(&cs->start), request_id);
    (void)srv;
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    sv_http_server *srv = cls;
    conn_state *cs = *con_cls;
    if (!cs) {
        cs = calloc(1, sizeof(*cs));
        if (!cs)
            return MHD_NO;
        sv_buf_init(&cs->body);
        clock_gettime(CLOCK_MONOTONIC, &cs->start);
        atomic_fetch_add(&srv->in_flight, 1);
        cs->counted = true;
        *con_cls = cs;
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

    char request_id[24];
    unsigned long long n = atomic_fetch_add(&srv->next_id, 1);
    snprintf(request_id, sizeof(request_id), "%08x%08llx", (unsigned)getpid(), n);

    param_collect *pc = calloc(1, sizeof(*pc));
    if (!pc)
        return MHD_NO;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_param, pc);

    sv_http_request req = {
        .method = method,
        .path = url,
        .params = pc->params,
        .nparams = pc->n,
        .body = cs->body.ptr,
        .body_len = cs->body.len,
        .body_too_large = cs->too_large,
        .request_id = request_id,
        .header = mhd_header,
        .impl = conn,
    };
    sv_http_response res = {.status = 500, .body = SV_BUF_INIT};
    if (pc->overflow) {
        res.status = 400;
        res.content_type = "text/plain";
        sv_buf_adds(&res.body, "too many query parameters");
        res.route = "-";
    } else {
        srv->cfg.handler(srv->cfg.ctx, &req, &res);
    }
    enum MHD_Result ok = send_response(srv, conn, cs, method, request_id, &res);
    response_release(&res);
    free(pc);
    (void)version;
    return ok;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    sv_http_server *srv = cls;
    conn_state *cs = *con_cls;
    if (!cs)
        return;
    if (cs->counted)
        atomic_fetch_sub(&srv->in_flight, 1);
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

/* Percent-decoding of the path and query values, in place.  "%00" is left as it is:
 * decoding it would cut the C string short, so "/Patient/x%00y" or "id=a%00b" would
 * silently become "/Patient/x" or "id=a".  Kept literal, it cannot match anything. */
static size_t unescape(void *cls, struct MHD_Connection *conn, char *s)
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
    (void)cls;
    (void)conn;
    return (size_t)(w - s);
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
    unsigned threads = cfg->threads ? cfg->threads : 4;
    srv->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG,
        (uint16_t)cfg->port, NULL, NULL, on_request, srv, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_s ? cfg->timeout_s : 30,
        MHD_OPTION_CONNECTION_LIMIT, 4096, MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_UNESCAPE_CALLBACK, unescape, NULL,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)256 * 1024, MHD_OPTION_END);
    if (!srv->daemon) {
        if (reterr)
            sv_buf_addf(reterr, "cannot listen on %s:%u (in use or not permitted)", cfg->host,
                        cfg->port);
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
    unsigned waited = 0, limit = s->cfg.drain_ms ? s->cfg.drain_ms : 10000;
    while (atomic_load(&s->in_flight) > 0 && waited < limit) {
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited += 5;
    }
    MHD_stop_daemon(s->daemon);
    free(s);
}
