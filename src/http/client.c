/*
 * client.c - one POST over libcurl (client.h).  Each call uses its own easy
 * handle: delivery is a background trickle, so connection reuse is not worth
 * shared state between threads.
 */
#include "http/client.h"

#include <curl/curl.h>
#include <pthread.h>

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_result = CURLE_FAILED_INIT;

static void global_init(void)
{
    global_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

typedef struct answer {
    sv_buf *body;
    size_t len;
    bool too_large;
} answer;

static size_t on_data(char *ptr, size_t size, size_t n, void *ctx)
{
    answer *a = ctx;
    size_t len = size * n;
    if (a->len + len > SV_HTTP_CLIENT_MAX_ANSWER) {
        a->too_large = true;
        return 0; /* ends the transfer with CURLE_WRITE_ERROR */
    }
    sv_buf_add(a->body, ptr, len);
    a->len += len;
    return len;
}

sv_err sv_http_post(const sv_http_post_request *req, int *ret_status, sv_buf *ret_body,
                    sv_buf *reterr)
{
    pthread_once(&global_once, global_init);
    if (global_result != CURLE_OK) {
        if (reterr)
            sv_buf_addf(reterr, "libcurl did not initialise: %s",
                        curl_easy_strerror(global_result));
        return SV_ERR_INTERNAL;
    }
    CURL *c = curl_easy_init();
    if (!c)
        return SV_ERR_NOMEM;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *headers = NULL;
    sv_buf line = SV_BUF_INIT;
    sv_buf_addf(&line, "Content-Type: %s", req->content_type);
    headers = curl_slist_append(headers, line.ptr);
    headers = curl_slist_append(headers, "Accept: application/fhir+json");
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip */
    if (req->bearer) {
        sv_buf_reset(&line);
        sv_buf_addf(&line, "Authorization: Bearer %s", req->bearer);
        headers = curl_slist_append(headers, line.ptr);
    }
    sv_buf_release(&line);
    answer a = {.body = ret_body};
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(req->timeout_ms > 0 ? req->timeout_ms : 30000));
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    sv_err e = SV_OK;
    if (rc != CURLE_OK) {
        if (reterr)
            sv_buf_addf(reterr, "%s",
                        a.too_large ? "the answer is too large"
                        : errbuf[0] ? errbuf
                                    : curl_easy_strerror(rc));
        e = SV_ERR_IO;
    } else {
        long status = 0;
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
        *ret_status = (int)status;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    return e;
}
