/* util.c - statistics, periods and ages in local time, organisation parents. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/calendar.h"
#include "base/datetime.h"
#include "results/internal.h"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The nearest-rank percentile (p in 0..100) of sorted values: the smallest value
 * with at least p% of the values at or below it. */
static double nearest_rank(const double *v, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return v[rank - 1];
}

bool sv__results_aggregate(const char *method, double *v, size_t n, double *ret)
{
    double sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    if (strcmp(method, "sum") == 0) {
        *ret = sum;
        return true;
    }
    if (strcmp(method, "count") == 0) {
        *ret = (double)n;
        return true;
    }
    if (n == 0)
        return false;
    qsort(v, n, sizeof(*v), cmp_double);
    if (strcmp(method, "average") == 0)
        *ret = sum / (double)n;
    else if (strcmp(method, "median") == 0)
        *ret = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    else if (strcmp(method, "p90") == 0)
        *ret = nearest_rank(v, n, 90);
    else if (strcmp(method, "min") == 0)
        *ret = v[0];
    else if (strcmp(method, "max") == 0)
        *ret = v[n - 1];
    else
        return false;
    return true;
}

int64_t sv__results_years_before(int64_t t, int years)
{
    sv_local_time lt;
    int y, m, d;
    if (sv_calendar_to_local(SV_CAL_DK, t, &lt, NULL, NULL) == SV_OK) {
        y = lt.year, m = lt.month, d = lt.day;
    } else { /* outside the calendar's years: the UTC date */
        int64_t days = t / 86400000 - (t % 86400000 < 0);
        /* civil from days (Howard Hinnant) */
        days += 719468;
        int64_t era = (days >= 0 ? days : days - 146096) / 146097;
        int64_t doe = days - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        d = (int)(doy - (153 * mp + 2) / 5 + 1);
        m = (int)(mp < 10 ? mp + 3 : mp - 9);
        y = (int)(yoe + era * 400 + (m <= 2));
    }
    y -= years;
    if (m == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        d = 28; /* born on 29 February: a year older on 28 February */
    return sv_datetime_days_from_civil(y, m, d) * 86400000;
}

static bool local_day_start(const char *text, int add_days, int64_t *ret)
{
    sv_datetime_range r;
    if (!text || !sv_datetime_parse(text, strlen(text), &r))
        return false;
    if (r.has_time_zone) {
        *ret = add_days ? r.high + 1 : r.low;
        return true;
    }
    if (r.precision > SV_DATETIME_DAY)
        return false; /* a time without a zone says no instant */
    /* A date, month or year: local days in Denmark and Sweden. */
    int64_t at = add_days ? r.high : r.low;
    int64_t days = at / 86400000 - (at % 86400000 < 0);
    sv_local_time lt = {0};
    int64_t civil = days + (add_days ? 1 : 0);
    /* Back from days to y-m-d through the UTC formatter. */
    char buf[SV_INSTANT_LEN];
    sv_datetime_format_instant(civil * 86400000, buf);
    lt.year = atoi(buf);
    lt.month = atoi(buf + 5);
    lt.day = atoi(buf + 8);
    return sv_calendar_from_local(SV_CAL_DK, &lt, ret, NULL, NULL) == SV_OK;
}

bool sv_results_period_start(const char *text, int64_t *ret_start)
{
    return local_day_start(text, 0, ret_start);
}

bool sv_results_period_end(const char *text, int64_t *ret_end)
{
    return local_day_start(text, 1, ret_end);
}

static const char SQL_PARENT[] =
    "SELECT p.target_id FROM resource o JOIN idx_reference p ON p.rid = o.rid AND"
    " p.param = 'partof' WHERE o.type = 'Organization' AND o.id = ? LIMIT 1";

sv_err sv__results_parent(sv_db *db, const char *org, char out[SV_RESULTS_ID_LEN], sv_buf *reterr)
{
    out[0] = '\0';
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_PARENT, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, org);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (!e && row) {
        size_t len = 0;
        const char *s = sv_stmt_column_text(st, 0, &len);
        if (s && len < SV_RESULTS_ID_LEN) {
            memcpy(out, s, len);
            out[len] = '\0';
        }
    }
    sv_stmt_reset(st);
    return e;
}
