/*
 * test_server.c - unit tests for http/server: a server on 127.0.0.1 port 0 whose
 * handler echoes what it was given, talked to with a plain socket client writing
 * raw HTTP/1.1: parameters in order (repeated names, no '=', URL-decoded), the
 * path decoded, bodies intact (NUL bytes, chunked), the body limit (declared and
 * chunked), response headers and X-Request-Id, keep-alive, the parameter limit,
 * start errors, a prompt stop when idle, a waiting request run on the pool
 * while its worker serves another connection, and the pool growing to its bound.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "http/server.h"

#define MAX_BODY 4096

static atomic_int handler_calls;

/* The echo: "key=value" lines, then "--\n" and the body bytes as received. */
static void echo(void *ctx, const sv_http_request *req, sv_http_response *res)
{
    (void)ctx;
    atomic_fetch_add(&handler_calls, 1);
    sv_buf *b = &res->body;
    sv_buf_addf(b, "method=%s\npath=%s\n", req->method, req->path);
    for (size_t i = 0; i < req->nparams; i++)
        sv_buf_addf(b, "param=%s=%s\n", req->params[i].name, req->params[i].value);
    const char *h = sv_http_header_get(req, "X-Echo");
    sv_buf_addf(b, "header=%s\n", h ? h : "(none)");
    sv_buf_addf(b, "absent=%s\n", sv_http_header_get(req, "X-Not-Sent") ? "present" : "(none)");
    sv_buf_addf(b, "request_id=%s\n", req->request_id);
    sv_buf_addf(b, "too_large=%d\n", req->body_too_large ? 1 : 0);
    sv_buf_addf(b, "too_many_params=%d\n", req->too_many_params ? 1 : 0);
    sv_buf_addf(b, "body_len=%zu\n", req->body_len);
    sv_buf_addf(b, "nul_terminated=%d\n", req->body && req->body[req->body_len] == '\0');
    sv_buf_adds(b, "--\n");
    sv_buf_add(b, req->body, req->body_len);
    const char *status = sv_http_header_get(req, "X-Status");
    res->status = status ? atoi(status) : 200;
    res->content_type = "text/plain";
    res->route = "TEST /echo";
    sv_http_response_header(res, "X-Test", "yes");
    sv_http_response_header(res, "X-Second", "two words");
}

static unsigned drain_ms = 2000; /* how long a stop waits for requests in flight */

static sv_http_server *start(unsigned port, sv_err *ret_err, sv_buf *reterr)
{
    sv_http_config cfg = {
        .host = "127.0.0.1",
        .port = port,
        .max_body = MAX_BODY,
        .threads = 2,
        .timeout_s = 10,
        .drain_ms = drain_ms,
        .handler = echo,
    };
    sv_http_server *s = NULL;
    *ret_err = sv_http_server_start(&cfg, &s, reterr);
    return s;
}

static int setup(void **state)
{
    sv_log_set_level(SV_LOG_WARN); /* no request lines in the test output */
    sv_err e;
    sv_buf err = SV_BUF_INIT;
    sv_http_server *s = start(0, &e, &err);
    if (e)
        fail_msg("start: %s (%s)", sv_strerror(e), err.ptr);
    sv_buf_release(&err);
    assert_true(sv_http_server_port(s) > 0);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    sv_http_server_stop(*state);
    return 0;
}

/* ---- a minimal client ---------------------------------------------------------- */

static int client_connect(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {10, 0}; /* a hung server fails the test instead of blocking it */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0)
        fail_msg("connect: %s", strerror(errno));
    return fd;
}

/* Writes everything it can; a server that answers early may close first. */
static void client_send(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

typedef struct reply {
    int status;
    sv_buf head; /* status line and headers */
    sv_buf body;
} reply;

static void reply_release(reply *r)
{
    sv_buf_release(&r->head);
    sv_buf_release(&r->body);
}

/* Reads one response (headers, then Content-Length bytes of body). */
static void client_read(int fd, reply *r)
{
    sv_buf in = SV_BUF_INIT;
    char chunk[4096];
    char *end = NULL;
    while (!(end = strstr(in.ptr, "\r\n\r\n"))) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            fail_msg("connection ended before the headers (%s): %s", strerror(errno), in.ptr);
        sv_buf_add(&in, chunk, (size_t)n);
    }
    size_t head_len = (size_t)(end - in.ptr) + 4;
    sv_buf_init(&r->head);
    sv_buf_init(&r->body);
    sv_buf_add(&r->head, in.ptr, head_len);
    assert_int_equal(sscanf(r->head.ptr, "HTTP/1.1 %d", &r->status), 1);
    const char *cl = strcasestr(r->head.ptr, "\r\nContent-Length:");
    assert_non_null(cl);
    size_t want = strtoul(cl + 17, NULL, 10);
    sv_buf_add(&r->body, in.ptr + head_len, in.len - head_len);
    while (r->body.len < want) {
        ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            fail_msg("connection ended in the body (%zu of %zu)", r->body.len, want);
        sv_buf_add(&r->body, chunk, (size_t)n);
    }
    assert_int_equal(r->body.len, want);
    sv_buf_release(&in);
}

/* One request on its own connection. */
static void roundtrip(sv_http_server *s, const void *raw, size_t len, reply *r)
{
    int fd = client_connect(sv_http_server_port(s));
    client_send(fd, raw, len);
    client_read(fd, r);
    close(fd);
}

static void roundtrip_s(sv_http_server *s, const char *raw, reply *r)
{
    roundtrip(s, raw, strlen(raw), r);
}

/* The value of a response header (first match, case-insensitive), copied to out. */
static bool header_value(const reply *r, const char *name, char *out, size_t cap)
{
    char pattern[128];
    snprintf(pattern, sizeof(pattern), "\r\n%s:", name);
    const char *p = strcasestr(r->head.ptr, pattern);
    if (!p)
        return false;
    p += strlen(pattern);
    while (*p == ' ')
        p++;
    size_t n = strcspn(p, "\r\n");
    snprintf(out, cap, "%.*s", (int)n, p);
    return true;
}

/* The echo's lines before "--", and the body after it. */
static const char *echo_lines(const reply *r, size_t *ret_body_off)
{
    const char *sep = strstr(r->body.ptr, "--\n");
    assert_non_null(sep);
    *ret_body_off = (size_t)(sep - r->body.ptr) + 3;
    return r->body.ptr;
}

static void assert_has_line(const reply *r, const char *line)
{
    size_t off;
    const char *text = echo_lines(r, &off);
    char want[512];
    snprintf(want, sizeof(want), "%s\n", line);
    const char *p = text;
    while ((p = strstr(p, want)) != NULL) {
        if ((p == text || p[-1] == '\n') && (size_t)(p - text) < off)
            return;
        p++;
    }
    fail_msg("no line \"%s\" in:\n%.*s", line, (int)off, text);
}

/* ---- the tests ------------------------------------------------------------------ */

static void test_params_in_order_with_repeats(void **state)
{
    reply r;
    roundtrip_s(*state,
                "GET /echo?a=1&b=2&a=3&flag&empty=&b=4 HTTP/1.1\r\nHost: t\r\n"
                "Connection: close\r\n\r\n",
                &r);
    assert_int_equal(r.status, 200);
    size_t off;
    const char *text = echo_lines(&r, &off);
    const char *params = strstr(text, "param=");
    assert_non_null(params);
    const char *want = "param=a=1\nparam=b=2\nparam=a=3\nparam=flag=\nparam=empty=\n"
                       "param=b=4\nheader=";
    assert_memory_equal(params, want, strlen(want));
    assert_has_line(&r, "method=GET");
    assert_has_line(&r, "path=/echo");
    reply_release(&r);
}

static void test_url_decoding(void **state)
{
    reply r;
    roundtrip_s(*state,
                "GET /p%20q/r%C3%A5?na%20me=v%26al&plus=a+b&utf=%C3%A5&pct=100%25&eq=a%3Db "
                "HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n",
                &r);
    assert_int_equal(r.status, 200);
    /* the path as sent: the router splits it before decoding each segment */
    assert_has_line(&r, "path=/p%20q/r%C3%A5");
    assert_has_line(&r, "param=na me=v&al");
    assert_has_line(&r, "param=plus=a b");
    assert_has_line(&r, "param=utf=\xc3\xa5");
    assert_has_line(&r, "param=pct=100%");
    assert_has_line(&r, "param=eq=a=b");
    reply_release(&r);
}

/* "%2F" in the path stays encoded (it is no separator); in a query value it is '/'. */
static void test_encoded_slash(void **state)
{
    reply r;
    roundtrip_s(*state,
                "GET /fhir/Patient/a%2Fb?subject=Patient%2F1 HTTP/1.1\r\nHost: t\r\n"
                "Connection: close\r\n\r\n",
                &r);
    assert_int_equal(r.status, 200);
    assert_has_line(&r, "path=/fhir/Patient/a%2Fb");
    assert_has_line(&r, "param=subject=Patient/1");
    reply_release(&r);
    /* absolute-form: the same */
    roundtrip_s(*state,
                "GET http://t/fhir/Patient/a%2fb HTTP/1.1\r\nHost: t\r\n"
                "Connection: close\r\n\r\n",
                &r);
    assert_int_equal(r.status, 200);
    assert_has_line(&r, "path=/fhir/Patient/a%2fb");
    reply_release(&r);
}

static void test_segment_decode(void **state)
{
    (void)state;
    char a[] = "a%2Fb%20c%C3%A5", b[] = "x%00y%zz%4", c[] = "";
    assert_int_equal(sv_http_segment_decode(a), strlen("a/b c\xc3\xa5"));
    assert_string_equal(a, "a/b c\xc3\xa5");
    assert_int_equal(sv_http_segment_decode(b), strlen(b));
    assert_string_equal(b, "x%00y%zz%4");
    assert_int_equal(sv_http_segment_decode(c), 0);
}

static void post(sv_http_server *s, const char *extra_headers, const void *body, size_t len,
                 reply *r)
{
    sv_buf req = SV_BUF_INIT;
    sv_buf_addf(&req,
                "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
                "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                len, extra_headers);
    sv_buf_add(&req, body, len);
    roundtrip(s, req.ptr, req.len, r);
    sv_buf_release(&req);
}

static void test_body_intact_with_nul_bytes(void **state)
{
    size_t sizes[] = {1, 5, 3000, MAX_BODY};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        unsigned char *body = malloc(sizes[k]);
        for (size_t i = 0; i < sizes[k]; i++)
            body[i] = (unsigned char)(i * 7 % 256); /* includes 0x00 from the first byte on */
        reply r;
        post(*state, "", body, sizes[k], &r);
        assert_int_equal(r.status, 200);
        char line[64];
        snprintf(line, sizeof(line), "body_len=%zu", sizes[k]);
        assert_has_line(&r, line);
        assert_has_line(&r, "too_large=0");
        assert_has_line(&r, "nul_terminated=1");
        assert_has_line(&r, "method=POST");
        size_t off;
        echo_lines(&r, &off);
        assert_int_equal(r.body.len - off, sizes[k]);
        assert_memory_equal(r.body.ptr + off, body, sizes[k]);
        reply_release(&r);
        free(body);
    }
}

static void test_no_body(void **state)
{
    reply r;
    roundtrip_s(*state, "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
    assert_has_line(&r, "body_len=0");
    assert_has_line(&r, "nul_terminated=1");
    assert_has_line(&r, "too_large=0");
    reply_release(&r);
}

static void test_declared_body_over_the_limit(void **state)
{
    size_t len = MAX_BODY + 1;
    char *body = malloc(len);
    memset(body, 'x', len);
    reply r;
    post(*state, "", body, len, &r);
    assert_has_line(&r, "too_large=1");
    assert_has_line(&r, "body_len=0");
    reply_release(&r);

    /* with Expect: 100-continue the answer comes without the body being sent */
    int fd = client_connect(sv_http_server_port(*state));
    const char *head = "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n"
                       "Expect: 100-continue\r\nConnection: close\r\n\r\n";
    client_send(fd, head, strlen(head));
    client_read(fd, &r);
    close(fd);
    assert_has_line(&r, "too_large=1");
    assert_has_line(&r, "body_len=0");
    reply_release(&r);
    free(body);
}

static void chunked(sv_http_server *s, size_t chunk_len, int nchunks, reply *r, sv_buf *ret_sent)
{
    sv_buf req = SV_BUF_INIT;
    sv_buf_adds(&req, "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n"
                      "Connection: close\r\n\r\n");
    for (int c = 0; c < nchunks; c++) {
        sv_buf_addf(&req, "%zx\r\n", chunk_len);
        for (size_t i = 0; i < chunk_len; i++) {
            char ch = (char)('a' + (c + (int)i) % 26);
            sv_buf_addc(&req, ch);
            sv_buf_addc(ret_sent, ch);
        }
        sv_buf_adds(&req, "\r\n");
    }
    sv_buf_adds(&req, "0\r\n\r\n");
    roundtrip(s, req.ptr, req.len, r);
    sv_buf_release(&req);
}

static void test_chunked_body(void **state)
{
    /* under the limit: reassembled */
    sv_buf sent = SV_BUF_INIT;
    reply r;
    chunked(*state, 1000, 3, &r, &sent);
    assert_has_line(&r, "too_large=0");
    assert_has_line(&r, "body_len=3000");
    size_t off;
    echo_lines(&r, &off);
    assert_int_equal(r.body.len - off, sent.len);
    assert_memory_equal(r.body.ptr + off, sent.ptr, sent.len);
    reply_release(&r);

    /* no Content-Length to refuse early: the limit applies as the chunks arrive */
    sv_buf_reset(&sent);
    chunked(*state, 1024, 5, &r, &sent);
    assert_has_line(&r, "too_large=1");
    assert_has_line(&r, "body_len=0");
    reply_release(&r);
    sv_buf_release(&sent);
}

static void test_response_headers_and_request_id(void **state)
{
    reply a, b;
    roundtrip_s(*state,
                "GET /echo HTTP/1.1\r\nHost: t\r\nx-ECHO: hello there\r\nX-Status: 201\r\n"
                "Connection: close\r\n\r\n",
                &a);
    roundtrip_s(*state, "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &b);
    assert_int_equal(a.status, 201);
    assert_int_equal(b.status, 200);
    char v[128], id_a[64], id_b[64];
    assert_true(header_value(&a, "X-Test", v, sizeof(v)));
    assert_string_equal(v, "yes");
    assert_true(header_value(&a, "X-Second", v, sizeof(v)));
    assert_string_equal(v, "two words");
    assert_true(header_value(&a, "Content-Type", v, sizeof(v)));
    assert_string_equal(v, "text/plain");
    /* request headers are found whatever their case; absent ones are NULL */
    assert_has_line(&a, "header=hello there");
    assert_has_line(&a, "absent=(none)");
    assert_has_line(&b, "header=(none)");
    /* every response carries the id the handler saw, a new one per request */
    assert_true(header_value(&a, "X-Request-Id", id_a, sizeof(id_a)));
    assert_true(header_value(&b, "X-Request-Id", id_b, sizeof(id_b)));
    assert_true(strlen(id_a) > 0);
    assert_string_not_equal(id_a, id_b);
    char line[128];
    snprintf(line, sizeof(line), "request_id=%s", id_a);
    assert_has_line(&a, line);
    reply_release(&a);
    reply_release(&b);
}

static void test_keep_alive_requests_are_separate(void **state)
{
    int fd = client_connect(sv_http_server_port(*state));
    const char *first = "POST /echo?one=1 HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello";
    const char *second = "GET /echo?two=2 HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
    reply a, b;
    client_send(fd, first, strlen(first));
    client_read(fd, &a);
    client_send(fd, second, strlen(second));
    client_read(fd, &b);
    close(fd);
    assert_has_line(&a, "body_len=5");
    assert_has_line(&a, "param=one=1");
    /* nothing of the first request leaks into the second */
    assert_has_line(&b, "method=GET");
    assert_has_line(&b, "body_len=0");
    assert_has_line(&b, "param=two=2");
    assert_null(strstr(b.body.ptr, "one=1"));
    reply_release(&a);
    reply_release(&b);
}

static void test_too_many_params(void **state)
{
    sv_buf req = SV_BUF_INIT;
    sv_buf_adds(&req, "GET /echo?");
    for (int i = 0; i < 257; i++)
        sv_buf_addf(&req, "%sp%d=%d", i ? "&" : "", i, i);
    sv_buf_adds(&req, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    reply r;
    roundtrip(*state, req.ptr, req.len, &r);
    /* the handler is told, so that it can answer in its own format (an OperationOutcome) */
    assert_int_equal(r.status, 200);
    assert_has_line(&r, "too_many_params=1");
    assert_has_line(&r, "param=p255=255");
    assert_null(strstr(r.body.ptr, "param=p256="));
    reply_release(&r);

    /* 256 are fine */
    sv_buf_reset(&req);
    sv_buf_adds(&req, "GET /echo?");
    for (int i = 0; i < 256; i++)
        sv_buf_addf(&req, "%sp%d=%d", i ? "&" : "", i, i);
    sv_buf_adds(&req, " HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    roundtrip(*state, req.ptr, req.len, &r);
    assert_int_equal(r.status, 200);
    assert_has_line(&r, "param=p255=255");
    assert_has_line(&r, "too_many_params=0");
    reply_release(&r);
    sv_buf_release(&req);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_stop_when_idle_is_prompt(void **state)
{
    (void)state;
    sv_err e;
    drain_ms = 120000; /* a stop that waited for it would stand out on any machine */
    sv_http_server *s = start(0, &e, NULL);
    drain_ms = 2000;
    assert_int_equal(e, SV_OK);
    unsigned port = sv_http_server_port(s);
    reply r;
    roundtrip_s(s, "GET /echo HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &r);
    reply_release(&r);
    int64_t t0 = now_ms();
    sv_http_server_stop(s);
    int64_t took = now_ms() - t0;
    assert_true(took < 60000); /* nothing was in flight to wait for */
    /* the port no longer accepts */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    assert_int_not_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    close(fd);
    sv_http_server_stop(NULL); /* accepted */
}

/* ---- waiting requests (server.h): the pool ---------------------------------------- */

static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_waiting, gate_open;

/* POST /wait: echoes, then waits until GET /open has been answered (30 s at most:
 * then 504, so that a server without the pool fails the test instead of hanging it). */
static void gate(void *ctx, const sv_http_request *req, sv_http_response *res)
{
    if (strcmp(req->path, "/open") == 0) {
        pthread_mutex_lock(&gate_lock);
        gate_open = true;
        pthread_cond_broadcast(&gate_cond);
        pthread_mutex_unlock(&gate_lock);
        res->status = 200;
        return;
    }
    echo(ctx, req, res);
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&gate_lock);
    gate_waiting = true;
    pthread_cond_broadcast(&gate_cond);
    while (!gate_open && pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0)
        ;
    if (!gate_open)
        res->status = 504;
    pthread_mutex_unlock(&gate_lock);
}

static bool gate_waits(void *ctx, const sv_http_request *req)
{
    (void)ctx;
    return strcmp(req->method, "POST") == 0;
}

/* A server with one libmicrohttpd worker whose POSTs run on a pool of at most bound. */
static sv_http_server *start_pooled(sv_http_handler_fn handler, unsigned bound)
{
    sv_http_config cfg = {.host = "127.0.0.1",
                          .max_body = MAX_BODY,
                          .threads = 1,
                          .timeout_s = 60,
                          .drain_ms = drain_ms,
                          .handler = handler,
                          .waits = gate_waits,
                          .waiting_threads = bound};
    sv_http_server *s = NULL;
    assert_int_equal(sv_http_server_start(&cfg, &s, NULL), SV_OK);
    return s;
}

static void test_waiting_request_leaves_its_worker_free(void **state)
{
    (void)state;
    gate_waiting = gate_open = false;
    /* One worker: both connections are its; only the pool lets the second through. */
    sv_http_server *s = start_pooled(gate, 2);
    int waiting = client_connect(sv_http_server_port(s));
    struct timeval tv = {60, 0};
    setsockopt(waiting, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const char raw[] = "POST /wait?a=1 HTTP/1.1\r\nHost: t\r\nX-Echo: on the pool\r\n"
                       "Content-Length: 5\r\n\r\nhello";
    client_send(waiting, raw, sizeof(raw) - 1);
    pthread_mutex_lock(&gate_lock);
    while (!gate_waiting)
        pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
    reply opened;
    roundtrip_s(s, "GET /open HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n", &opened);
    assert_int_equal(opened.status, 200);
    reply_release(&opened);
    reply r;
    client_read(waiting, &r);
    assert_int_equal(r.status, 200); /* opened while it waited: not 504 */
    assert_has_line(&r, "path=/wait");
    assert_has_line(&r, "param=a=1");
    assert_has_line(&r, "header=on the pool");
    assert_has_line(&r, "body_len=5");
    char id[64];
    assert_true(header_value(&r, "X-Request-Id", id, sizeof(id)));
    reply_release(&r);
    /* the same connection goes on after its answer (keep-alive) */
    client_send(waiting, raw, sizeof(raw) - 1);
    client_read(waiting, &r);
    assert_int_equal(r.status, 200);
    assert_has_line(&r, "body_len=5");
    reply_release(&r);
    close(waiting);
    sv_http_server_stop(s);
}

/* POST /barrier: answers 200 once three requests are inside the handler at the same
 * time (each on a pool thread of its own), 504 if they never are within 30 s. */
static int barrier_inside;

static void barrier(void *ctx, const sv_http_request *req, sv_http_response *res)
{
    (void)ctx;
    (void)req;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 30;
    pthread_mutex_lock(&gate_lock);
    barrier_inside++;
    pthread_cond_broadcast(&gate_cond);
    while (barrier_inside < 3 && pthread_cond_timedwait(&gate_cond, &gate_lock, &until) == 0)
        ;
    res->status = barrier_inside >= 3 ? 200 : 504;
    pthread_mutex_unlock(&gate_lock);
}

static void test_pool_grows_to_its_bound(void **state)
{
    (void)state;
    barrier_inside = 0;
    /* The pool starts one thread; three requests waiting at once need three. */
    sv_http_server *s = start_pooled(barrier, 3);
    const char raw[] = "POST /barrier HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n";
    int fds[3];
    for (int i = 0; i < 3; i++) {
        fds[i] = client_connect(sv_http_server_port(s));
        struct timeval tv = {60, 0};
        setsockopt(fds[i], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        client_send(fds[i], raw, sizeof(raw) - 1);
    }
    for (int i = 0; i < 3; i++) {
        reply r;
        client_read(fds[i], &r);
        assert_int_equal(r.status, 200);
        reply_release(&r);
        close(fds[i]);
    }
    sv_http_server_stop(s);
}

static void test_start_errors(void **state)
{
    sv_err e;
    sv_buf err = SV_BUF_INIT;
    sv_http_config cfg = {.host = "localhost", .port = 0, .max_body = 1, .handler = echo};
    sv_http_server *s = (sv_http_server *)&cfg;
    assert_int_equal(sv_http_server_start(&cfg, &s, &err), SV_ERR_INVALID);
    assert_ptr_equal(s, (sv_http_server *)&cfg);
    assert_non_null(strstr(err.ptr, "localhost"));
    /* the port of the running server is taken */
    sv_buf_reset(&err);
    sv_http_server *second = start(sv_http_server_port(*state), &e, &err);
    assert_int_equal(e, SV_ERR_IO);
    assert_null(second);
    assert_true(err.len > 0);
    sv_buf_release(&err);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_params_in_order_with_repeats),
        T(test_url_decoding),
        T(test_encoded_slash),
        cmocka_unit_test(test_segment_decode),
        T(test_body_intact_with_nul_bytes),
        T(test_no_body),
        T(test_declared_body_over_the_limit),
        T(test_chunked_body),
        T(test_response_headers_and_request_id),
        T(test_keep_alive_requests_are_separate),
        T(test_too_many_params),
        cmocka_unit_test(test_stop_when_idle_is_prompt),
        cmocka_unit_test(test_waiting_request_leaves_its_worker_free),
        cmocka_unit_test(test_pool_grows_to_its_bound),
        T(test_start_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
