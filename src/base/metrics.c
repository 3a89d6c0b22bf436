/*
 * metrics.c - see metrics.h.
 *
 * A request takes no lock: its route is found by the pattern's pointer in a table
 * that only grows (the transport passes string constants, so after the first
 * request of a route the lookup is one hash and one strcmp, not a strcmp per known
 * route), and its counters are atomic adds.  The lock is taken only to add a route
 * or a (route, status) series, and to render or reset.
 */
#include "base/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_ROUTES 160 /* distinct route patterns; more are counted as "other" */
#define MAX_SERIES 640 /* distinct (route, status) pairs; more are not counted */
#define ROUTE_LEN 96
#define ROUTE_STATUSES 16  /* series of one route found without the lock */
#define POINTER_SLOTS 1024 /* power of two, well above MAX_ROUTES: short probes */

/* Upper bounds in microseconds (the rendered "le" is in seconds). */
static const int64_t bucket_us[] = {1000,   2500,   5000,    10000,   25000,   50000,   100000,
                                    250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

typedef struct route_stat {
    char route[ROUTE_LEN];
    /* atomic, not cumulative (rendered cumulative); the last one is above every bound, so
     * that the count is their sum and +Inf always equals it */
    int64_t bucket[N_BUCKETS + 1];
    int64_t sum_us;               /* atomic */
    int n_statuses;               /* atomic; statuses[0..n) are published */
    int statuses[ROUTE_STATUSES]; /* indexes in all[] */
} route_stat;

typedef struct series {
    int route; /* index in routes */
    int status;
    int64_t count; /* atomic */
} series;

/* A route pattern's address and its index in routes; key NULL: empty. */
typedef struct pointer_slot {
    const char *key; /* atomic: published after route */
    int route;
} pointer_slot;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t requests_total; /* atomic */
static route_stat routes[MAX_ROUTES];
static int n_routes; /* under the lock */
static series all[MAX_SERIES];
static int n_series; /* under the lock */
static pointer_slot by_pointer[POINTER_SLOTS];

static size_t pointer_home(const char *p)
{
    return (size_t)(((uint64_t)(uintptr_t)p * 0x9E3779B97F4A7C15ull) >> 54) & (POINTER_SLOTS - 1);
}

/* The route of pattern text at address route, without the lock; -1 when it must be
 * looked up by name (first request of the pattern, or an address whose text changed). */
static int route_by_pointer(const char *route)
{
    for (size_t i = 0, at = pointer_home(route); i < POINTER_SLOTS;
         i++, at = (at + 1) & (POINTER_SLOTS - 1)) {
        const char *key = __atomic_load_n(&by_pointer[at].key, __ATOMIC_ACQUIRE);
        if (!key)
            return -1;
        if (key == route) {
            int r = by_pointer[at].route;
            return strcmp(routes[r].route, route) == 0 ? r : -1;
        }
    }
    return -1;
}

/* Under the lock: the route named route, added when new (by name, as it always was). */
static int route_index(const char *route)
{
    for (int i = 0; i < n_routes; i++)
        if (strcmp(routes[i].route, route) == 0)
            return i;
    if (n_routes == MAX_ROUTES - 1 && strcmp(route, "other") != 0)
        return route_index("other");
    snprintf(routes[n_routes].route, ROUTE_LEN, "%s", route);
    return n_routes++;
}

/* Under the lock: remembers route's address for route r when the text is r's own (not
 * "other", not cut at ROUTE_LEN) and the address is not taken. */
static void remember_pointer(const char *route, int r)
{
    if (strcmp(routes[r].route, route) != 0)
        return;
    for (size_t i = 0, at = pointer_home(route); i < POINTER_SLOTS;
         i++, at = (at + 1) & (POINTER_SLOTS - 1)) {
        const char *key = by_pointer[at].key;
        if (key == route)
            return;
        if (!key) {
            by_pointer[at].route = r;
            __atomic_store_n(&by_pointer[at].key, route, __ATOMIC_RELEASE);
            return;
        }
    }
}

/* The series of (r, status) among those published for r, without the lock; -1 when none. */
static int series_published(const route_stat *rs, int status)
{
    int n = __atomic_load_n(&rs->n_statuses, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        if (all[rs->statuses[i]].status == status)
            return rs->statuses[i];
    return -1;
}

/* Under the lock: the series of (r, status), added when new; -1 when every series is taken. */
static int series_index(int r, int status)
{
    route_stat *rs = &routes[r];
    int s = series_published(rs, status);
    if (s >= 0)
        return s;
    /* A route with more statuses than it publishes keeps the rest here. */
    for (int i = 0; i < n_series; i++)
        if (all[i].route == r && all[i].status == status)
            return i;
    if (n_series == MAX_SERIES)
        return -1;
    s = n_series++;
    all[s] = (series){.route = r, .status = status};
    if (rs->n_statuses < ROUTE_STATUSES) {
        rs->statuses[rs->n_statuses] = s;
        __atomic_store_n(&rs->n_statuses, rs->n_statuses + 1, __ATOMIC_RELEASE);
    }
    return s;
}

int64_t sv_metrics_requests_total(void)
{
    return __atomic_load_n(&requests_total, __ATOMIC_RELAXED);
}

void sv_metrics_request(const char *route, int status, int64_t microseconds)
{
    if (!route || !*route)
        route = "-";
    __atomic_add_fetch(&requests_total, 1, __ATOMIC_RELAXED);
    int r = route_by_pointer(route);
    int s = r >= 0 ? series_published(&routes[r], status) : -1;
    if (s < 0) {
        pthread_mutex_lock(&lock);
        if (r < 0) {
            r = route_index(route);
            remember_pointer(route, r);
        }
        s = series_index(r, status);
        pthread_mutex_unlock(&lock);
    }
    route_stat *rs = &routes[r];
    size_t b = 0;
    while (b < N_BUCKETS && microseconds > bucket_us[b])
        b++;
    __atomic_add_fetch(&rs->bucket[b], 1, __ATOMIC_RELAXED);
    __atomic_add_fetch(&rs->sum_us, microseconds, __ATOMIC_RELAXED);
    if (s >= 0)
        __atomic_add_fetch(&all[s].count, 1, __ATOMIC_RELAXED);
}

/* A label value: backslash, double quote and line feed escaped. */
static void add_label(sv_buf *out, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            sv_buf_addc(out, '\\');
        if (*v == '\n')
            sv_buf_adds(out, "\\n");
        else
            sv_buf_addc(out, *v);
    }
}

void sv_metrics_render_requests(sv_buf *out)
{
    pthread_mutex_lock(&lock);
    sv_buf_adds(out, "# HELP samverka_http_requests_total Requests answered, by route pattern "
                     "and status.\n"
                     "# TYPE samverka_http_requests_total counter\n");
    for (int i = 0; i < n_series; i++) {
        sv_buf_adds(out, "samverka_http_requests_total{route=\"");
        add_label(out, routes[all[i].route].route);
        sv_buf_addf(out, "\",status=\"%d\"} %lld\n", all[i].status,
                    (long long)__atomic_load_n(&all[i].count, __ATOMIC_RELAXED));
    }
    sv_buf_adds(out, "# HELP samverka_http_request_duration_seconds Time from the request's "
                     "arrival to its answer, by route pattern.\n"
                     "# TYPE samverka_http_request_duration_seconds histogram\n");
    for (int i = 0; i < n_routes; i++) {
        const route_stat *rs = &routes[i];
        int64_t cumulative = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cumulative += __atomic_load_n(&rs->bucket[b], __ATOMIC_RELAXED);
            sv_buf_adds(out, "samverka_http_request_duration_seconds_bucket{route=\"");
            add_label(out, rs->route);
            sv_buf_addf(out, "\",le=\"%g\"} %lld\n", (double)bucket_us[b] / 1e6,
                        (long long)cumulative);
        }
        int64_t count = cumulative + __atomic_load_n(&rs->bucket[N_BUCKETS], __ATOMIC_RELAXED);
        sv_buf_adds(out, "samverka_http_request_duration_seconds_bucket{route=\"");
        add_label(out, rs->route);
        sv_buf_addf(out, "\",le=\"+Inf\"} %lld\n", (long long)count);
        sv_buf_adds(out, "samverka_http_request_duration_seconds_sum{route=\"");
        add_label(out, rs->route);
        sv_buf_addf(out, "\"} %.6f\n",
                    (double)__atomic_load_n(&rs->sum_us, __ATOMIC_RELAXED) / 1e6);
        sv_buf_adds(out, "samverka_http_request_duration_seconds_count{route=\"");
        add_label(out, rs->route);
        sv_buf_addf(out, "\"} %lld\n", (long long)count);
    }
    pthread_mutex_unlock(&lock);
}

void sv_metrics_render_value(sv_buf *out, const char *name, const char *type, const char *help,
                             double value)
{
    sv_buf_addf(out, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name, type, name, value);
}

void sv_metrics_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(by_pointer, 0, sizeof(by_pointer));
    memset(routes, 0, sizeof(routes));
    memset(all, 0, sizeof(all));
    n_routes = n_series = 0;
    pthread_mutex_unlock(&lock);
}
