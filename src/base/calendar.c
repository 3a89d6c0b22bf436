/* calendar.c - see calendar.h; the rules and their sources are in docs/calendar.md. */
#include "base/calendar.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/datetime.h"

#define MS_PER_SECOND INT64_C(1000)
#define MS_PER_MINUTE INT64_C(60000)
#define MS_PER_HOUR INT64_C(3600000)
#define MS_PER_DAY INT64_C(86400000)

/* ---- days ------------------------------------------------------------------------------- */

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* Inverse of sv_datetime_days_from_civil (Howard Hinnant's civil_from_days). */
static void civil_from_days(int64_t z, int *ret_year, int *ret_month, int *ret_day)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t d = doy - (153 * mp + 2) / 5 + 1;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    *ret_year = (int)(yoe + era * 400 + (m <= 2));
    *ret_month = (int)m;
    *ret_day = (int)d;
}

/* ISO weekday, 1 Monday .. 7 Sunday; day 0 (1970-01-01) was a Thursday. */
static int weekday_of(int64_t days)
{
    return (int)(((days + 3) % 7 + 7) % 7) + 1;
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

bool sv_calendar_year_supported(int year)
{
    return year >= SV_CALENDAR_YEAR_MIN && year <= SV_CALENDAR_YEAR_MAX;
}

static bool country_valid(sv_calendar_country country)
{
    return country == SV_CAL_DK || country == SV_CAL_SE;
}

static sv_err fail(sv_buf *reterr, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static sv_err fail(sv_buf *reterr, const char *fmt, ...)
{
    if (reterr) {
        va_list ap;
        va_start(ap, fmt);
        sv_buf_vaddf(reterr, fmt, ap);
        va_end(ap);
    }
    return SV_ERR_INVALID;
}

static sv_err year_unsupported(sv_buf *reterr, int64_t year)
{
    return fail(reterr, "year %lld is outside the supported range %d-%d", (long long)year,
                SV_CALENDAR_YEAR_MIN, SV_CALENDAR_YEAR_MAX);
}

static sv_err check_date(sv_calendar_country country, int year, int month, int day, sv_buf *reterr)
{
    if (!country_valid(country))
        return fail(reterr, "unknown country %d", (int)country);
    if (!sv_calendar_year_supported(year))
        return year_unsupported(reterr, year);
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return fail(reterr, "no such date %04d-%02d-%02d", year, month, day);
    return SV_OK;
}

/* ---- summer time -------------------------------------------------------------------------- */

/* The last Sunday of a 31-day month, as days since 1970. */
static int64_t last_sunday(int year, int month)
{
    int64_t last = sv_datetime_days_from_civil(year, month, 31);
    return last - weekday_of(last) % 7;
}

/* Summer time runs from 01:00 UTC on the last Sunday of March to 01:00 UTC on the last
 * Sunday of October (Directive 2000/84/EC art. 2 and 3); the same in both countries. */
static int64_t summer_start_ms(int year)
{
    return last_sunday(year, 3) * MS_PER_DAY + MS_PER_HOUR;
}

static int64_t summer_end_ms(int year)
{
    return last_sunday(year, 10) * MS_PER_DAY + MS_PER_HOUR;
}

static int utc_offset_minutes(int64_t ms)
{
    int year, month, day;
    civil_from_days(floor_div(ms, MS_PER_DAY), &year, &month, &day);
    return ms >= summer_start_ms(year) && ms < summer_end_ms(year) ? 120 : 60;
}

/* The supported instants: local 1996-01-01T00:00 to 2099-12-31T23:59:59.999, both in
 * winter time (UTC+1). */
static int64_t first_instant(void)
{
    return sv_datetime_days_from_civil(SV_CALENDAR_YEAR_MIN, 1, 1) * MS_PER_DAY - MS_PER_HOUR;
}

static int64_t last_instant(void)
{
    return sv_datetime_days_from_civil(SV_CALENDAR_YEAR_MAX + 1, 1, 1) * MS_PER_DAY - MS_PER_HOUR -
           1;
}

static sv_err check_instant(int64_t ms, sv_buf *reterr)
{
    if (ms >= first_instant() && ms <= last_instant())
        return SV_OK;
    /* name the local year when it has four digits (and cannot overflow anything) */
    if (ms < sv_datetime_days_from_civil(1, 1, 2) * MS_PER_DAY ||
        ms >= sv_datetime_days_from_civil(9999, 12, 31) * MS_PER_DAY)
        return fail(reterr, "instant %lld is outside the supported years %d-%d", (long long)ms,
                    SV_CALENDAR_YEAR_MIN, SV_CALENDAR_YEAR_MAX);
    int year, month, day;
    civil_from_days(floor_div(ms + utc_offset_minutes(ms) * MS_PER_MINUTE, MS_PER_DAY), &year,
                    &month, &day);
    return year_unsupported(reterr, year);
}

/* Local wall clock of a checked instant, as ms since 1970 "as if UTC". */
static int64_t local_ms_of(int64_t ms)
{
    return ms + utc_offset_minutes(ms) * MS_PER_MINUTE;
}

static void local_from_local_ms(int64_t local_ms, sv_local_time *ret)
{
    int64_t days = floor_div(local_ms, MS_PER_DAY);
    int64_t rest = local_ms - days * MS_PER_DAY;
    civil_from_days(days, &ret->year, &ret->month, &ret->day);
    ret->hour = (int)(rest / MS_PER_HOUR);
    ret->minute = (int)(rest / MS_PER_MINUTE % 60);
    ret->second = (int)(rest / MS_PER_SECOND % 60);
    ret->millisecond = (int)(rest % MS_PER_SECOND);
}

sv_err sv_calendar_to_local(sv_calendar_country country, int64_t ms, sv_local_time *ret_local,
                            int *ret_utc_offset_minutes, sv_buf *reterr)
{
    if (!country_valid(country))
        return fail(reterr, "unknown country %d", (int)country);
    sv_err err = check_instant(ms, reterr);
    if (err)
        return err;
    local_from_local_ms(local_ms_of(ms), ret_local);
    if (ret_utc_offset_minutes)
        *ret_utc_offset_minutes = utc_offset_minutes(ms);
    return SV_OK;
}

/* The instant of a wall-clock time given as ms "as if UTC" (see sv_calendar_from_local). */
static int64_t instant_of_local_ms(int64_t local_ms, sv_local_resolution *ret_resolution)
{
    int64_t as_summer = local_ms - 2 * MS_PER_HOUR;
    int64_t as_winter = local_ms - MS_PER_HOUR;
    bool summer_ok = utc_offset_minutes(as_summer) == 120;
    bool winter_ok = utc_offset_minutes(as_winter) == 60;
    if (summer_ok && winter_ok) {
        *ret_resolution = SV_LOCAL_AMBIGUOUS;
        return as_summer;
    }
    if (summer_ok || winter_ok) {
        *ret_resolution = SV_LOCAL_EXACT;
        return summer_ok ? as_summer : as_winter;
    }
    /* In the spring gap: the clock jumps from 02:00 UTC+1 to 03:00 UTC+2 at 01:00 UTC. */
    int year, month, day;
    civil_from_days(floor_div(local_ms, MS_PER_DAY), &year, &month, &day);
    int64_t start = summer_start_ms(year);
    assert(local_ms >= start + MS_PER_HOUR && local_ms < start + 2 * MS_PER_HOUR);
    *ret_resolution = SV_LOCAL_SKIPPED;
    return start;
}

static int64_t local_ms_from_fields(int64_t days, int hour, int minute, int second, int millisecond)
{
    return days * MS_PER_DAY + hour * MS_PER_HOUR + minute * MS_PER_MINUTE +
           second * MS_PER_SECOND + millisecond;
}

sv_err sv_calendar_from_local(sv_calendar_country country, const sv_local_time *local,
                              int64_t *ret_ms, sv_local_resolution *ret_resolution, sv_buf *reterr)
{
    sv_err err = check_date(country, local->year, local->month, local->day, reterr);
    if (err)
        return err;
    if (local->hour < 0 || local->hour > 23 || local->minute < 0 || local->minute > 59 ||
        local->second < 0 || local->second > 59 || local->millisecond < 0 ||
        local->millisecond > 999)
        return fail(reterr, "no such time of day %02d:%02d:%02d.%03d", local->hour, local->minute,
                    local->second, local->millisecond);
    int64_t days = sv_datetime_days_from_civil(local->year, local->month, local->day);
    sv_local_resolution resolution;
    int64_t ms = instant_of_local_ms(
        local_ms_from_fields(days, local->hour, local->minute, local->second, local->millisecond),
        &resolution);
    *ret_ms = ms;
    if (ret_resolution)
        *ret_resolution = resolution;
    return SV_OK;
}

sv_err sv_calendar_format_local(sv_calendar_country country, int64_t ms,
                                char out[SV_LOCAL_TIME_LEN], sv_buf *reterr)
{
    sv_local_time t = {0}; /* set on success; zeroed so -O3 sees no maybe-uninitialized */
    int offset = 0;
    sv_err err = sv_calendar_to_local(country, ms, &t, &offset, reterr);
    if (err)
        return err;
    char tmp[96]; /* large enough for any int, so the compiler sees no truncation */
    snprintf(tmp, sizeof(tmp), "%04d-%02d-%02dT%02d:%02d:%02d.%03d+%02d:%02d", t.year, t.month,
             t.day, t.hour, t.minute, t.second, t.millisecond, offset / 60, offset % 60);
    memcpy(out, tmp, SV_LOCAL_TIME_LEN - 1);
    out[SV_LOCAL_TIME_LEN - 1] = '\0';
    return SV_OK;
}

/* ---- holidays ----------------------------------------------------------------------------- */

bool sv_calendar_easter(int year, int *ret_month, int *ret_day)
{
    if (year < 1583 || year > 9999)
        return false;
    /* Anonymous Gregorian algorithm (Meeus, Astronomical Algorithms, ch. 8). */
    int a = year % 19;
    int b = year / 100;
    int c = year % 100;
    int d = b / 4;
    int e = b % 4;
    int f = (b + 8) / 25;
    int g = (b - f + 1) / 3;
    int h = (19 * a + b - d - g + 15) % 30;
    int i = c / 4;
    int k = c % 4;
    int l = (32 + 2 * e + 2 * i - h - k) % 7;
    int m = (a + 11 * h + 22 * l) / 451;
    *ret_month = (h + l - 7 * m + 114) / 31;
    *ret_day = (h + l - 7 * m + 114) % 31 + 1;
    return true;
}

/* A holiday list under construction, as days since 1970 for sorting. */
typedef struct holiday_list {
    int64_t days[SV_CALENDAR_MAX_HOLIDAYS];
    sv_holiday entries[SV_CALENDAR_MAX_HOLIDAYS];
    size_t count;
} holiday_list;

static void add(holiday_list *list, int64_t days, sv_holiday_kind kind, const char *name,
                const char *name_en)
{
    assert(list->count < SV_CALENDAR_MAX_HOLIDAYS);
    int year;
    sv_holiday *h = &list->entries[list->count];
    civil_from_days(days, &year, &h->month, &h->day);
    h->kind = kind;
    h->name = name;
    h->name_en = name_en;
    list->days[list->count++] = days;
}

/* The Saturday in the week starting at year-month-day. */
static int64_t saturday_from(int year, int month, int day)
{
    int64_t first = sv_datetime_days_from_civil(year, month, day);
    return first + (6 - weekday_of(first) + 7) % 7;
}

static void build_denmark(int year, int64_t easter, holiday_list *list)
{
    /* Folkekirkens helligdage; store bededag was abolished from 2024. */
    const sv_holiday_kind P = SV_HOLIDAY_PUBLIC, C = SV_HOLIDAY_CUSTOMARY;
    add(list, sv_datetime_days_from_civil(year, 1, 1), P, "Nytårsdag", "New Year's Day");
    add(list, easter - 3, P, "Skærtorsdag", "Maundy Thursday");
    add(list, easter - 2, P, "Langfredag", "Good Friday");
    add(list, easter, P, "Påskedag", "Easter Sunday");
    add(list, easter + 1, P, "2. påskedag", "Easter Monday");
    if (year <= 2023)
        add(list, easter + 26, P, "Store bededag", "General Prayer Day");
    add(list, easter + 39, P, "Kristi himmelfartsdag", "Ascension Day");
    add(list, easter + 49, P, "Pinsedag", "Whit Sunday");
    add(list, easter + 50, P, "2. pinsedag", "Whit Monday");
    add(list, sv_datetime_days_from_civil(year, 6, 5), C, "Grundlovsdag", "Constitution Day");
    add(list, sv_datetime_days_from_civil(year, 12, 24), C, "Juleaftensdag", "Christmas Eve");
    add(list, sv_datetime_days_from_civil(year, 12, 25), P, "Juledag", "Christmas Day");
    add(list, sv_datetime_days_from_civil(year, 12, 26), P, "2. juledag",
        "Second Day of Christmas");
    add(list, sv_datetime_days_from_civil(year, 12, 31), C, "Nytårsaftensdag", "New Year's Eve");
}

static void build_sweden(int year, int64_t easter, holiday_list *list)
{
    /* Lag (1989:253) om allmänna helgdagar; from 2005 (SFS 2004:1320) nationaldagen
     * replaced annandag pingst.  The eves are those of lag (1930:173) 2 §. */
    const sv_holiday_kind P = SV_HOLIDAY_PUBLIC, C = SV_HOLIDAY_CUSTOMARY;
    int64_t midsummer = saturday_from(year, 6, 20);
    add(list, sv_datetime_days_from_civil(year, 1, 1), P, "Nyårsdagen", "New Year's Day");
    add(list, sv_datetime_days_from_civil(year, 1, 6), P, "Trettondedag jul", "Epiphany");
    add(list, easter - 2, P, "Långfredagen", "Good Friday");
    add(list, easter, P, "Påskdagen", "Easter Sunday");
    add(list, easter + 1, P, "Annandag påsk", "Easter Monday");
    add(list, sv_datetime_days_from_civil(year, 5, 1), P, "Första maj", "May Day");
    add(list, easter + 39, P, "Kristi himmelsfärdsdag", "Ascension Day");
    add(list, easter + 49, P, "Pingstdagen", "Whit Sunday");
    if (year <= 2004)
        add(list, easter + 50, P, "Annandag pingst", "Whit Monday");
    else
        add(list, sv_datetime_days_from_civil(year, 6, 6), P, "Nationaldagen",
            "National Day of Sweden");
    add(list, midsummer - 1, C, "Midsommarafton", "Midsummer Eve");
    add(list, midsummer, P, "Midsommardagen", "Midsummer Day");
    add(list, saturday_from(year, 10, 31), P, "Alla helgons dag", "All Saints' Day");
    add(list, sv_datetime_days_from_civil(year, 12, 24), C, "Julafton", "Christmas Eve");
    add(list, sv_datetime_days_from_civil(year, 12, 25), P, "Juldagen", "Christmas Day");
    add(list, sv_datetime_days_from_civil(year, 12, 26), P, "Annandag jul",
        "Second Day of Christmas");
    add(list, sv_datetime_days_from_civil(year, 12, 31), C, "Nyårsafton", "New Year's Eve");
}

/* Builds the sorted list for a checked country and year. */
static void build_holidays(sv_calendar_country country, int year, holiday_list *list)
{
    int month, day;
    bool ok = sv_calendar_easter(year, &month, &day);
    assert(ok);
    (void)ok;
    int64_t easter = sv_datetime_days_from_civil(year, month, day);
    list->count = 0;
    if (country == SV_CAL_DK)
        build_denmark(year, easter, list);
    else
        build_sweden(year, easter, list);
    /* insertion sort by date, public before customary; stable otherwise */
    for (size_t i = 1; i < list->count; i++) {
        int64_t d = list->days[i];
        sv_holiday h = list->entries[i];
        size_t j = i;
        while (j > 0 && (list->days[j - 1] > d ||
                         (list->days[j - 1] == d && list->entries[j - 1].kind > h.kind))) {
            list->days[j] = list->days[j - 1];
            list->entries[j] = list->entries[j - 1];
            j--;
        }
        list->days[j] = d;
        list->entries[j] = h;
    }
}

sv_err sv_calendar_holidays(sv_calendar_country country, int year,
                            sv_holiday ret_holidays[SV_CALENDAR_MAX_HOLIDAYS], size_t *ret_count,
                            sv_buf *reterr)
{
    sv_err err = check_date(country, year, 1, 1, reterr);
    if (err)
        return err;
    holiday_list list;
    build_holidays(country, year, &list);
    memcpy(ret_holidays, list.entries, list.count * sizeof(list.entries[0]));
    *ret_count = list.count;
    return SV_OK;
}

/* Holidays of one year kept while walking over days. */
typedef struct year_cache {
    sv_calendar_country country;
    int year; /* 0: empty */
    holiday_list list;
} year_cache;

static void day_info_of(year_cache *cache, int64_t days, sv_calendar_day *ret)
{
    int year, month, day;
    civil_from_days(days, &year, &month, &day);
    if (cache->year != year) {
        build_holidays(cache->country, year, &cache->list);
        cache->year = year;
    }
    memset(ret, 0, sizeof(*ret));
    ret->weekday = weekday_of(days);
    for (size_t i = 0; i < cache->list.count; i++) {
        if (cache->list.days[i] != days)
            continue;
        const sv_holiday *h = &cache->list.entries[i];
        if (h->kind == SV_HOLIDAY_PUBLIC)
            ret->is_public_holiday = true;
        else
            ret->is_customary_day_off = true;
        if (!ret->name) { /* the list puts a public holiday first */
            ret->name = h->name;
            ret->name_en = h->name_en;
        }
    }
}

static bool is_working(year_cache *cache, int64_t days, bool include_customary)
{
    sv_calendar_day info;
    day_info_of(cache, days, &info);
    return info.weekday <= 5 && !info.is_public_holiday &&
           !(include_customary && info.is_customary_day_off);
}

sv_err sv_calendar_day_info(sv_calendar_country country, int year, int month, int day,
                            sv_calendar_day *ret_day, sv_buf *reterr)
{
    sv_err err = check_date(country, year, month, day, reterr);
    if (err)
        return err;
    year_cache cache = {.country = country};
    day_info_of(&cache, sv_datetime_days_from_civil(year, month, day), ret_day);
    return SV_OK;
}

sv_err sv_calendar_is_working_day(sv_calendar_country country, int year, int month, int day,
                                  bool include_customary, bool *ret_working, sv_buf *reterr)
{
    sv_err err = check_date(country, year, month, day, reterr);
    if (err)
        return err;
    year_cache cache = {.country = country};
    *ret_working =
        is_working(&cache, sv_datetime_days_from_civil(year, month, day), include_customary);
    return SV_OK;
}

/* ---- day counts --------------------------------------------------------------------------- */

static sv_err local_days_of(sv_calendar_country country, int64_t ms, int64_t *ret_days,
                            sv_buf *reterr)
{
    if (!country_valid(country))
        return fail(reterr, "unknown country %d", (int)country);
    sv_err err = check_instant(ms, reterr);
    if (err)
        return err;
    *ret_days = floor_div(local_ms_of(ms), MS_PER_DAY);
    return SV_OK;
}

sv_err sv_calendar_days_between(sv_calendar_country country, int64_t from_ms, int64_t to_ms,
                                int *ret_days, sv_buf *reterr)
{
    int64_t from = 0, to = 0;
    sv_err err = local_days_of(country, from_ms, &from, reterr);
    if (!err)
        err = local_days_of(country, to_ms, &to, reterr);
    if (err)
        return err;
    *ret_days = (int)(to - from);
    return SV_OK;
}

sv_err sv_calendar_working_days_between(sv_calendar_country country, int64_t from_ms, int64_t to_ms,
                                        bool include_customary, int *ret_days, sv_buf *reterr)
{
    int64_t from = 0, to = 0;
    sv_err err = local_days_of(country, from_ms, &from, reterr);
    if (!err)
        err = local_days_of(country, to_ms, &to, reterr);
    if (err)
        return err;
    int sign = 1;
    if (to < from) {
        int64_t t = from;
        from = to;
        to = t;
        sign = -1;
    }
    year_cache cache = {.country = country};
    int count = 0;
    for (int64_t d = from + 1; d <= to; d++)
        count += is_working(&cache, d, include_customary);
    *ret_days = sign * count;
    return SV_OK;
}

/* ---- deadlines ---------------------------------------------------------------------------- */

static const char *unit_name(sv_deadline_unit unit)
{
    switch (unit) {
    case SV_DEADLINE_HOURS:
        return "hours";
    case SV_DEADLINE_CALENDAR_DAYS:
        return "calendar days";
    case SV_DEADLINE_WORKING_DAYS:
        return "working days";
    }
    return "?";
}

static sv_err beyond_range(sv_buf *reterr, int amount, sv_deadline_unit unit)
{
    return fail(reterr, "deadline of %d %s falls after %d", amount, unit_name(unit),
                SV_CALENDAR_YEAR_MAX);
}

sv_err sv_deadline_add(sv_calendar_country country, int64_t start_ms, int amount,
                       sv_deadline_unit unit, unsigned flags, int64_t *ret_ms, sv_buf *reterr)
{
    if (!country_valid(country))
        return fail(reterr, "unknown country %d", (int)country);
    if (unit != SV_DEADLINE_HOURS && unit != SV_DEADLINE_CALENDAR_DAYS &&
        unit != SV_DEADLINE_WORKING_DAYS)
        return fail(reterr, "unknown deadline unit %d", (int)unit);
    if (flags & ~(SV_DEADLINE_END_OF_DAY | SV_DEADLINE_PUBLIC_HOLIDAYS_ONLY))
        return fail(reterr, "unknown deadline flags 0x%x", flags);
    if (amount < 0 || amount > SV_DEADLINE_MAX_AMOUNT)
        return fail(reterr, "deadline amount %d is outside 0-%d", amount, SV_DEADLINE_MAX_AMOUNT);
    sv_err err = check_instant(start_ms, reterr);
    if (err)
        return err;

    const int64_t last_day = sv_datetime_days_from_civil(SV_CALENDAR_YEAR_MAX, 12, 31);
    int64_t start_local = local_ms_of(start_ms);
    int64_t start_day = floor_div(start_local, MS_PER_DAY);
    int64_t time_of_day = start_local - start_day * MS_PER_DAY;
    sv_local_resolution resolution;
    int64_t result;

    switch (unit) {
    case SV_DEADLINE_HOURS:
        result = start_ms + amount * MS_PER_HOUR;
        if (result > last_instant())
            return beyond_range(reterr, amount, unit);
        break;
    case SV_DEADLINE_CALENDAR_DAYS: {
        int64_t day = start_day + amount;
        if (day > last_day)
            return beyond_range(reterr, amount, unit);
        result = instant_of_local_ms(day * MS_PER_DAY + time_of_day, &resolution);
        break;
    }
    case SV_DEADLINE_WORKING_DAYS: {
        bool customary = !(flags & SV_DEADLINE_PUBLIC_HOLIDAYS_ONLY);
        year_cache cache = {.country = country};
        int64_t day = start_day;
        if (!is_working(&cache, day, customary)) {
            time_of_day = 0;
            do
                day++;
            while (day <= last_day && !is_working(&cache, day, customary));
        }
        for (int i = 0; i < amount && day <= last_day; i++) {
            do
                day++;
            while (day <= last_day && !is_working(&cache, day, customary));
        }
        if (day > last_day)
            return beyond_range(reterr, amount, unit);
        result = instant_of_local_ms(day * MS_PER_DAY + time_of_day, &resolution);
        break;
    }
    default:
        return SV_ERR_INTERNAL;
    }

    if (flags & SV_DEADLINE_END_OF_DAY) {
        int64_t day = floor_div(local_ms_of(result), MS_PER_DAY);
        result = instant_of_local_ms((day + 1) * MS_PER_DAY - 1, &resolution);
    }
    *ret_ms = result;
    return SV_OK;
}

sv_err sv_deadline_parse(const char *text, size_t len, sv_deadline_spec *ret_spec, sv_buf *reterr)
{
    /* quoted in messages as at most 40 bytes; a NUL would cut the quote short, which is fine */
    int shown = len > 40 ? 40 : (int)len;
    const char *p = text, *end = text + len;
    if (len == 0)
        return fail(reterr, "empty deadline (expected e.g. \"24h\", \"3d\", \"3wd\", \"7d-eod\")");
    if (*p < '0' || *p > '9')
        return fail(reterr, "deadline \"%.*s\" must start with an amount", shown, text);
    if (*p == '0' && end - p > 1 && p[1] >= '0' && p[1] <= '9')
        return fail(reterr, "deadline \"%.*s\": amount has a leading zero", shown, text);
    long amount = 0;
    while (p < end && *p >= '0' && *p <= '9') {
        amount = amount * 10 + (*p - '0');
        if (amount > SV_DEADLINE_MAX_AMOUNT)
            return fail(reterr, "deadline \"%.*s\": amount exceeds %d", shown, text,
                        SV_DEADLINE_MAX_AMOUNT);
        p++;
    }
    sv_deadline_unit unit;
    if (end - p >= 2 && p[0] == 'w' && p[1] == 'd') {
        unit = SV_DEADLINE_WORKING_DAYS;
        p += 2;
    } else if (p < end && *p == 'd') {
        unit = SV_DEADLINE_CALENDAR_DAYS;
        p++;
    } else if (p < end && *p == 'h') {
        unit = SV_DEADLINE_HOURS;
        p++;
    } else {
        return fail(reterr, "deadline \"%.*s\": unit must be \"h\", \"d\" or \"wd\"", shown, text);
    }
    unsigned flags = 0;
    if (p < end) {
        if (end - p == 4 && memcmp(p, "-eod", 4) == 0)
            flags = SV_DEADLINE_END_OF_DAY;
        else
            return fail(reterr, "deadline \"%.*s\": only \"-eod\" may follow the unit", shown,
                        text);
    }
    ret_spec->amount = (int)amount;
    ret_spec->unit = unit;
    ret_spec->flags = flags;
    return SV_OK;
}
