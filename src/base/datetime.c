/* datetime.c - see datetime.h. */
#include "base/datetime.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t fixed_ms;

int64_t sv_clock_now_ms(void)
{
    int64_t f = atomic_load(&fixed_ms);
    if (f)
        return f;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void sv_clock_set_fixed(int64_t ms)
{
    atomic_store(&fixed_ms, ms);
}

void sv_datetime_format_instant(int64_t ms, char out[SV_INSTANT_LEN])
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int millis = (int)(ms - secs * 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    gmtime_r(&t, &tm);
    char tmp[96];
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, millis);
    memcpy(out, tmp, SV_INSTANT_LEN - 1);
    out[SV_INSTANT_LEN - 1] = '\0';
}

/* ---- parsing FHIR date, dateTime, instant ---------------------------------------------- */

#define MS_PER_MINUTE INT64_C(60000)
#define MS_PER_DAY INT64_C(86400000)

int64_t sv_datetime_days_from_civil(int year, int month, int day)
{
    /* Howard Hinnant's days_from_civil: exact for the proleptic Gregorian calendar. */
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

/* Reads exactly n digits at *p (bounded by end); advances *p. */
static bool digits(const char **p, const char *end, int n, int *ret_value)
{
    int v = 0;
    if (end - *p < n)
        return false;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return false;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *ret_value = v;
    return true;
}

static bool expect(const char **p, const char *end, char c)
{
    if (*p >= end || **p != c)
        return false;
    (*p)++;
    return true;
}

bool sv_datetime_parse(const char *text, size_t len, sv_datetime_range *ret_range)
{
    const char *p = text, *end = text + len;
    int year, month = 1, day = 1, hour = 0, minute = 0, second = 0;
    sv_datetime_precision precision = SV_DATETIME_YEAR;
    int64_t span = 0; /* length of the covered range in ms */
    int64_t fraction_ms = 0;
    bool has_zone = false;
    int64_t offset_ms = 0;

    if (!digits(&p, end, 4, &year) || year < 1)
        return false;
    if (p < end && *p == '-') {
        p++;
        if (!digits(&p, end, 2, &month) || month < 1 || month > 12)
            return false;
        precision = SV_DATETIME_MONTH;
        if (p < end && *p == '-') {
            p++;
            if (!digits(&p, end, 2, &day) || day < 1 || day > days_in_month(year, month))
                return false;
            precision = SV_DATETIME_DAY;
        }
    }
    if (precision == SV_DATETIME_DAY && p < end && *p == 'T') {
        p++;
        if (!digits(&p, end, 2, &hour) || hour > 23 || !expect(&p, end, ':') ||
            !digits(&p, end, 2, &minute) || minute > 59)
            return false;
        precision = SV_DATETIME_MINUTE;
        if (p < end && *p == ':') {
            p++;
            if (!digits(&p, end, 2, &second) || second > 60)
                return false;
            precision = SV_DATETIME_SECOND;
            if (p < end && *p == '.') {
                p++;
                int ndigits = 0;
                int64_t scale = 100;
                while (p < end && *p >= '0' && *p <= '9') {
                    fraction_ms += (*p - '0') * scale;
                    scale /= 10;
                    ndigits++;
                    p++;
                }
                if (ndigits == 0)
                    return false;
                precision = SV_DATETIME_FRACTION;
                /* ".5" covers .500-.599; four or more digits are truncated to the ms. */
                span = ndigits >= 3 ? 1 : (ndigits == 2 ? 10 : 100);
            }
        }
        if (p < end && *p == 'Z') {
            p++;
            has_zone = true;
        } else if (p < end && (*p == '+' || *p == '-')) {
            int sign = *p == '-' ? -1 : 1;
            int oh, om;
            p++;
            if (!digits(&p, end, 2, &oh) || !expect(&p, end, ':') || !digits(&p, end, 2, &om) ||
                om > 59 || oh * 60 + om > 14 * 60)
                return false;
            has_zone = true;
            offset_ms = sign * (oh * 60 + om) * MS_PER_MINUTE;
        }
    }
    if (p != end)
        return false;

    switch (precision) {
    case SV_DATETIME_YEAR:
        span = (is_leap(year) ? 366 : 365) * MS_PER_DAY;
        break;
    case SV_DATETIME_MONTH:
        span = days_in_month(year, month) * MS_PER_DAY;
        break;
    case SV_DATETIME_DAY:
        span = MS_PER_DAY;
        break;
    case SV_DATETIME_MINUTE:
        span = MS_PER_MINUTE;
        break;
    case SV_DATETIME_SECOND:
        span = 1000;
        break;
    case SV_DATETIME_FRACTION:
        break; /* set above */
    }

    int64_t low = sv_datetime_days_from_civil(year, month, day) * MS_PER_DAY +
                  ((int64_t)hour * 3600 + minute * 60 + second) * 1000 + fraction_ms - offset_ms;
    ret_range->low = low;
    ret_range->high = low + span - 1;
    ret_range->precision = precision;
    ret_range->has_time_zone = has_zone;
    return true;
}
