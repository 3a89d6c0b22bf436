/* metrics.c - see metrics.h. */
#include "base/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define MAX_ROUTES 160 /* distinct route patterns; more are counted as "other" */
#define MAX_SERIES 640 /* distinct (route, status) pairs; more are counted as "other" */
#define ROUTE_LEN 96

/* Upper bounds in microseconds (the rendered "le" is in seconds). */
static const int64_t bucket_us[] = {1000,   2500,   5000,    10000,   25000,   50000,   100000,
                                    250000, 500000, 1000000, 2500000, 5000000, 10000000};
#define N_BUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]))

typedef struct route_stat {
    char route[ROUTE_LEN];
    int64_t bucket[N_BUCKETS]; /* not cumulative; rendered cumulative */
    int64_t count;
    int64_t sum_us;
} route_stat;

typedef struct series {
    int route; /* index in routes */
    int status;
    int64_t count;
} series;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int64_t requests_total; /* atomic: read without the lock */
static route_stat routes[MAX_ROUTES];
static int n_routes;
static series all[MAX_SERIES];
static int n_series;

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

int64_t sv_metrics_requests_total(void)
{
    return __atomic_load_n(&requests_total, __ATOMIC_RELAXED);
}

void sv_metrics_request(const char *route, int status, int64_t microseconds)
{
    if (!route || !*route)
        route = "-";
    __atomic_add_fetch(&requests_total, 1, __ATOMIC_RELAXED);
    pthread_mutex_lock(&lock);
    int r = route_index(route);
    route_stat *rs = &routes[r];
    rs->count++;
    rs->sum_us += microseconds;
    for (size_t b = 0; b < N_BUCKETS; b++) {
        if (microseconds <= bucket_us[b]) {
            rs->bucket[b]++;
            break;
        }
    }
    int s = -1;
    for (int i = 0; i < n_series; i++)
        if (all[i].route == r && all[i].status == status) {
            s = i;
            break;
        }
    if (s < 0 && n_series < MAX_SERIES) {
        s = n_series++;
        all[s] = (series){.route = r, .status = status};
    }
    if (s >= 0)
        all[s].count++;
    pthread_mutex_unlock(&lock);
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
        sv_buf_addf(out, "\",status=\"%d\"} %lld\n", all[i].status, (long long)all[i].count);
    }
    sv_buf_adds(out, "# HELP samverka_http_request_duration_seconds Time from the request's "
                     "arrival to its answer, by route pattern.\n"
                     "# TYPE samverka_http_request_duration_seconds histogram\n");
    for (int i = 0; i < n_routes; i++) {
        const route_stat *rs = &routes[i];
        int64_t cumulative = 0;
        for (size_t b = 0; b < N_BUCKETS; b++) {
            cumulative += rs->bucket[b];
            sv_buf_adds(out, "samverka_http_request_duration_seconds_bucket{route=\"");
            add_label(out, rs->route);
            sv_buf_addf(out, "\",le=\"%g\"} %lld\n", (double)bucket_us[b] / 1e6,
                        (long long)cumulative);
        }
        sv_buf_adds(out, "samverka_http_request_duration_seconds_bucket{route=\"");
        add_label(out, rs->route);
        sv_buf_addf(out, "\",le=\"+Inf\"} %lld\n", (long long)rs->count);
        sv_buf_adds(out, "samverka_http_request_duration_seconds_sum{route=\"");
        add_label(out, rs->route);
        sv_buf_addf(out, "\"} %.6f\n", (double)rs->sum_us / 1e6);
        sv_buf_adds(out, "samverka_http_request_duration_seconds_count{route=\"");
        add_label(out, rs->route);
        sv_buf_addf(out, "\"} %lld\n", (long long)rs->count);
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
    memset(routes, 0, sizeof(routes));
    memset(all, 0, sizeof(all));
    n_routes = n_series = 0;
    pthread_mutex_unlock(&lock);
}
