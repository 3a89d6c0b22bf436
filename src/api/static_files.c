/*
 * static_files.c - the web app's files (web/) under "/": GET and HEAD only,
 * names from a small alphabet (no "..", no hidden files, no encoded slashes),
 * regular files only (no symlinks followed), a content type per extension or
 * 404, and revalidation by ETag.  Every answer carries a strict
 * Content-Security-Policy: the app is plain ES modules and CSS, no inline script.
 */
#include "api/static_files.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/internal.h"

/* The largest file served; the app's files are a few kB each. */
#define SV_STATIC_MAX_BYTES (4u * 1024 * 1024)

static const struct {
    const char *ext, *type;
} types[] = {
    {".html", "text/html; charset=utf-8"},
    {".js", "text/javascript; charset=utf-8"},
    {".mjs", "text/javascript; charset=utf-8"},
    {".css", "text/css; charset=utf-8"},
    {".json", "application/json; charset=utf-8"},
    {".svg", "image/svg+xml"},
    {".png", "image/png"},
    {".ico", "image/x-icon"},
    {".woff2", "font/woff2"},
    {".txt", "text/plain; charset=utf-8"},
    {".webmanifest", "application/manifest+json"},
};

const char *sv__api_static_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return NULL;
}

bool sv__api_static_segment_ok(const char *seg)
{
    size_t n = strlen(seg);
    /* No empty, hidden ("." first also rules out "." and "..") or overlong names. */
    if (n == 0 || n > 100 || seg[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = seg[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '-' || c == '_';
        if (!ok)
            return false;
    }
    return true;
}

/* Security headers for everything the app serves. */
static void app_headers(sv_http_response *res)
{
    sv_http_response_header(res, "Content-Security-Policy",
                            "default-src 'self'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; connect-src 'self'; font-src 'self'; "
                            "object-src 'none'; base-uri 'none'; form-action 'self'; "
                            "frame-ancestors 'none'");
    sv_http_response_header(res, "X-Content-Type-Options", "nosniff");
    sv_http_response_header(res, "Referrer-Policy", "no-referrer");
    sv_http_response_header(res, "X-Frame-Options", "DENY");
}

static void not_found(sv_http_response *res)
{
    sv__api_error(res, SV_ERR_NOT_FOUND, NULL, "no such file; the FHIR api is at /fhir");
}

/* True when the If-None-Match header lists etag (or is "*"). */
static bool etag_matches(const sv_http_request *req, const char *etag)
{
    const char *inm = sv_http_header_get(req, "If-None-Match");
    if (!inm)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    size_t n = strlen(etag);
    for (const char *p = strstr(inm, etag); p; p = strstr(p + 1, etag)) {
        char after = p[n];
        if (after == '\0' || after == ',' || after == ' ')
            return true;
    }
    return false;
}

void sv__api_static(const char *web_dir, const sv_http_request *req, sv_http_response *res,
                    const char *const *segs, size_t n)
{
    res->route = "GET /:static";
    if (!web_dir || !*web_dir) {
        not_found(res);
        return;
    }
    bool head = strcmp(req->method, "HEAD") == 0;
    if (!head && strcmp(req->method, "GET") != 0) {
        sv_http_response_header(res, "Allow", "GET, HEAD");
        sv__api_error(res, SV_ERR_METHOD, NULL, "method %s is not allowed here; allowed: GET, HEAD",
                      req->method);
        return;
    }
    char path[2048];
    size_t len = (size_t)snprintf(path, sizeof(path), "%s", web_dir);
    if (n == 0) {
        len += (size_t)snprintf(path + len, sizeof(path) - len, "/index.html");
    } else {
        for (size_t i = 0; i < n; i++) {
            if (!sv__api_static_segment_ok(segs[i]) || len >= sizeof(path)) {
                not_found(res);
                return;
            }
            len += (size_t)snprintf(path + len, sizeof(path) - len, "/%s", segs[i]);
        }
    }
    const char *type = sv__api_static_type(n ? segs[n - 1] : "index.html");
    if (len >= sizeof(path) || !type) {
        not_found(res);
        return;
    }
    /* O_NOFOLLOW: a symlink as the last component is refused; the directories
     * above come from the validated segments under the configured web_dir. */
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        not_found(res);
        return;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > SV_STATIC_MAX_BYTES) {
        close(fd);
        not_found(res);
        return;
    }
    char etag[80];
    snprintf(etag, sizeof(etag), "\"%llx-%llx-%llx\"", (unsigned long long)st.st_ino,
             (unsigned long long)st.st_size, (unsigned long long)st.st_mtim.tv_sec);
    app_headers(res);
    sv_http_response_header(res, "ETag", etag);
    /* Names carry no content hash, so the browser revalidates each time (a 304
     * costs one round trip, no body); the api's answers are never cached. */
    sv_http_response_header(res, "Cache-Control", "no-cache");
    res->content_type = type;
    if (etag_matches(req, etag)) {
        close(fd);
        res->status = 304;
        return;
    }
    sv_buf_reset(&res->body);
    size_t want = (size_t)st.st_size;
    char chunk[16384];
    while (want > 0) {
        ssize_t got = read(fd, chunk, want < sizeof(chunk) ? want : sizeof(chunk));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            break;
        sv_buf_add(&res->body, chunk, (size_t)got);
        want -= (size_t)got;
    }
    close(fd);
    if (want > 0) {
        sv_buf_reset(&res->body);
        sv__api_error(res, SV_ERR_IO, NULL, "the file could not be read");
        return;
    }
    /* HEAD: libmicrohttpd sends the headers (with this body's length) and no body. */
    res->status = 200;
}
