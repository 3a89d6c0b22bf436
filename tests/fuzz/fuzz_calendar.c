/*
 * fuzz_calendar.c - libFuzzer driver for base/calendar (deadline rules, local
 * time in Denmark and Sweden, holidays, working days) and base/datetime (FHIR
 * date/time values).
 *
 * Input: lines
 *     START        a FHIR date/time, e.g. 2024-03-29T16:30:00+01:00
 *     DEADLINE     a ruleset deadline, e.g. 3wd, 24h, 7d-eod
 *     COUNTRY      optional: "se" for Sweden, anything else Denmark
 *     LOCAL        optional: up to 7 integers (year month day hour minute
 *                  second millisecond) for sv_calendar_from_local
 *
 * Oracles beyond "does not crash":
 *  - sv_deadline_parse accepts exactly the grammar written out again here
 *    (amount 0..10000 without sign or leading zero, h | d | wd, optional
 *    -eod), leaves its output untouched and says why when it refuses;
 *  - a parsed date/time is a non-empty range that formats and parses back to
 *    its first millisecond;
 *  - a deadline is never before its start and never earlier for a larger
 *    amount; hours add exactly; calendar days land amount local days later;
 *    working days land on a working day with the right count of working days
 *    in between; -eod lands at 23:59:59.999 local;
 *  - local time round-trips (the repeated autumn hour maps to its earlier
 *    instant), its offset is 60 or 120 minutes, and from_local refuses
 *    exactly the fields that name no wall-clock time.
 * Build with -fsanitize=fuzzer, or with -DSV_FUZZ_REPLAY as a plain program
 * that replays files (see fuzz_replay.h).
 * Depends on base/.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/calendar.h"
#include "base/datetime.h"

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_calendar: check failed at line %d: %s\n", __LINE__, #cond);      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

#define HOUR_MS INT64_C(3600000)
#define DAY_MS (24 * HOUR_MS)

typedef struct line {
    const char *ptr;
    size_t len;
} line;

/* The deadline grammar of calendar.h, written again without looking at calendar.c. */
static bool grammar_accepts(const char *s, size_t n, sv_deadline_spec *ret)
{
    size_t digits = 0;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    if (digits == 0 || digits > 5 || (digits > 1 && s[0] == '0'))
        return false;
    int amount = 0;
    for (size_t i = 0; i < digits; i++)
        amount = amount * 10 + (s[i] - '0');
    if (amount > SV_DEADLINE_MAX_AMOUNT)
        return false;
    const char *rest = s + digits;
    size_t left = n - digits;
    sv_deadline_unit unit;
    size_t ulen;
    if (left >= 2 && rest[0] == 'w' && rest[1] == 'd') {
        unit = SV_DEADLINE_WORKING_DAYS;
        ulen = 2;
    } else if (left >= 1 && rest[0] == 'd') {
        unit = SV_DEADLINE_CALENDAR_DAYS;
        ulen = 1;
    } else if (left >= 1 && rest[0] == 'h') {
        unit = SV_DEADLINE_HOURS;
        ulen = 1;
    } else {
        return false;
    }
    rest += ulen;
    left -= ulen;
    unsigned flags = 0;
    if (left == 4 && memcmp(rest, "-eod", 4) == 0)
        flags = SV_DEADLINE_END_OF_DAY;
    else if (left != 0)
        return false;
    *ret = (sv_deadline_spec){.amount = amount, .unit = unit, .flags = flags};
    return true;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return days[m - 1];
}

static bool local_valid(const sv_local_time *t)
{
    return sv_calendar_year_supported(t->year) && t->month >= 1 && t->month <= 12 && t->day >= 1 &&
           t->day <= days_in_month(t->year, t->month) && t->hour >= 0 && t->hour <= 23 &&
           t->minute >= 0 && t->minute <= 59 && t->second >= 0 && t->second <= 59 &&
           t->millisecond >= 0 && t->millisecond <= 999;
}

static bool working(sv_calendar_country c, int64_t ms, bool include_customary)
{
    sv_local_time t;
    bool w = false;
    CHECK(sv_calendar_to_local(c, ms, &t, NULL, NULL) == SV_OK);
    CHECK(sv_calendar_is_working_day(c, t.year, t.month, t.day, include_customary, &w, NULL) ==
          SV_OK);
    return w;
}

/* Local time of ms, its round trip and its formatting; false when out of range. */
static bool check_local(sv_calendar_country c, int64_t ms)
{
    sv_local_time t;
    int offset = 0;
    sv_buf err = SV_BUF_INIT;
    if (sv_calendar_to_local(c, ms, &t, &offset, &err) != SV_OK) {
        CHECK(err.len > 0);
        sv_buf_release(&err);
        return false;
    }
    CHECK(offset == 60 || offset == 120);
    CHECK(local_valid(&t));
    int64_t back = 0;
    sv_local_resolution how = SV_LOCAL_EXACT;
    CHECK(sv_calendar_from_local(c, &t, &back, &how, NULL) == SV_OK);
    CHECK(how != SV_LOCAL_SKIPPED);
    CHECK(back == ms || (how == SV_LOCAL_AMBIGUOUS && back == ms - HOUR_MS && offset == 60));
    char text[SV_LOCAL_TIME_LEN];
    CHECK(sv_calendar_format_local(c, ms, text, NULL) == SV_OK);
    sv_datetime_range r;
    CHECK(sv_datetime_parse(text, strlen(text), &r));
    CHECK(r.low == ms && r.high == ms && r.has_time_zone);
    sv_calendar_day day;
    CHECK(sv_calendar_day_info(c, t.year, t.month, t.day, &day, NULL) == SV_OK);
    CHECK(day.weekday >= 1 && day.weekday <= 7);
    CHECK(!day.is_public_holiday || day.name);
    sv_buf_release(&err);
    return true;
}

static void check_deadline(sv_calendar_country c, int64_t start, const sv_deadline_spec *spec)
{
    int64_t due = 0;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_deadline_add(c, start, spec->amount, spec->unit, spec->flags, &due, &err);
    if (e) {
        CHECK(e == SV_ERR_INVALID && err.len > 0);
        sv_buf_release(&err);
        return;
    }
    CHECK(check_local(c, start) && check_local(c, due));
    CHECK(due >= start);
    sv_local_time t;
    CHECK(sv_calendar_to_local(c, due, &t, NULL, NULL) == SV_OK);
    if (spec->flags & SV_DEADLINE_END_OF_DAY)
        CHECK(t.hour == 23 && t.minute == 59 && t.second == 59 && t.millisecond == 999);
    int days = 0;
    switch (spec->unit) {
    case SV_DEADLINE_HOURS:
        if (!(spec->flags & SV_DEADLINE_END_OF_DAY))
            CHECK(due == start + spec->amount * HOUR_MS);
        break;
    case SV_DEADLINE_CALENDAR_DAYS:
        CHECK(sv_calendar_days_between(c, start, due, &days, NULL) == SV_OK);
        CHECK(days == spec->amount);
        break;
    case SV_DEADLINE_WORKING_DAYS: {
        CHECK(working(c, due, true));
        CHECK(sv_calendar_working_days_between(c, start, due, true, &days, NULL) == SV_OK);
        CHECK(days == spec->amount + (working(c, start, true) ? 0 : 1));
        bool public_only = false;
        int64_t due2 = 0;
        /* counting customary days off as working days never makes a deadline later */
        if (sv_deadline_add(c, start, spec->amount, spec->unit,
                            spec->flags | SV_DEADLINE_PUBLIC_HOLIDAYS_ONLY, &due2, NULL) == SV_OK) {
            public_only = true;
            CHECK(due2 <= due);
            CHECK(working(c, due2, false));
        }
        (void)public_only;
        break;
    }
    }
    /* one more unit is never earlier */
    if (spec->amount < SV_DEADLINE_MAX_AMOUNT) {
        int64_t later = 0;
        if (sv_deadline_add(c, start, spec->amount + 1, spec->unit, spec->flags, &later, NULL) ==
            SV_OK)
            CHECK(later >= due);
    }
    sv_buf_release(&err);
}

static void check_from_local(sv_calendar_country c, const line *l)
{
    long v[7] = {0, 1, 1, 0, 0, 0, 0};
    char buf[128];
    size_t n = l->len < sizeof(buf) - 1 ? l->len : sizeof(buf) - 1;
    memcpy(buf, l->ptr, n);
    buf[n] = '\0';
    char *p = buf;
    for (int i = 0; i < 7; i++) {
        char *next;
        long x = strtol(p, &next, 10);
        if (next == p)
            break;
        v[i] = x < -100000 ? -100000 : x > 100000 ? 100000 : x;
        p = next;
    }
    sv_local_time t = {(int)v[0], (int)v[1], (int)v[2], (int)v[3], (int)v[4], (int)v[5], (int)v[6]};
    int64_t ms = 0;
    sv_local_resolution how = SV_LOCAL_EXACT;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_calendar_from_local(c, &t, &ms, &how, &err);
    CHECK((e == SV_OK) == local_valid(&t));
    if (e == SV_OK) {
        sv_local_time back;
        CHECK(sv_calendar_to_local(c, ms, &back, NULL, NULL) == SV_OK);
        if (how == SV_LOCAL_SKIPPED) {
            CHECK(back.hour == 3 && back.minute == 0 && back.second == 0);
            CHECK(back.year == t.year && back.month == t.month && back.day == t.day);
        } else {
            CHECK(memcmp(&back, &t, sizeof(t)) == 0);
        }
        size_t count = 0;
        sv_holiday hol[SV_CALENDAR_MAX_HOLIDAYS];
        CHECK(sv_calendar_holidays(c, t.year, hol, &count, NULL) == SV_OK);
        CHECK(count > 0 && count <= SV_CALENDAR_MAX_HOLIDAYS);
        for (size_t i = 1; i < count; i++)
            CHECK(hol[i - 1].month < hol[i].month ||
                  (hol[i - 1].month == hol[i].month && hol[i - 1].day <= hol[i].day));
    } else {
        CHECK(e == SV_ERR_INVALID && err.len > 0);
    }
    sv_buf_release(&err);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    line lines[4] = {{0}};
    const char *p = (const char *)data, *end = p + size;
    for (int i = 0; i < 4 && p <= end; i++) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        lines[i] = (line){p, (size_t)((nl ? nl : end) - p)};
        if (!nl)
            break;
        p = nl + 1;
    }
    sv_calendar_country c =
        lines[2].len == 2 && memcmp(lines[2].ptr, "se", 2) == 0 ? SV_CAL_SE : SV_CAL_DK;

    /* the start */
    sv_datetime_range r = {.low = 1, .high = 0};
    bool have_start = lines[0].ptr && sv_datetime_parse(lines[0].ptr, lines[0].len, &r);
    if (have_start) {
        CHECK(r.low <= r.high);
        char text[SV_INSTANT_LEN];
        sv_datetime_format_instant(r.low, text);
        sv_datetime_range again;
        /* years 1..9999 format as four digits and parse back */
        CHECK(sv_datetime_parse(text, strlen(text), &again));
        CHECK(again.low == r.low);
        check_local(c, r.low);
        check_local(c, r.high);
    } else {
        CHECK(r.low == 1 && r.high == 0);
    }

    /* the deadline */
    sv_deadline_spec spec = {.amount = -7, .unit = SV_DEADLINE_HOURS, .flags = 99};
    sv_deadline_spec expect;
    sv_buf err = SV_BUF_INIT;
    const char *dtext = lines[1].ptr ? lines[1].ptr : "";
    sv_err e = sv_deadline_parse(dtext, lines[1].len, &spec, &err);
    bool accepts = grammar_accepts(dtext, lines[1].len, &expect);
    CHECK((e == SV_OK) == accepts);
    if (e == SV_OK) {
        CHECK(spec.amount == expect.amount && spec.unit == expect.unit &&
              spec.flags == expect.flags);
        if (have_start) {
            check_deadline(c, r.low, &spec);
            check_deadline(c, r.high, &spec);
        }
    } else {
        CHECK(e == SV_ERR_INVALID && err.len > 0);
        CHECK(spec.amount == -7 && spec.flags == 99);
    }
    sv_buf_release(&err);

    if (lines[3].ptr)
        check_from_local(c, &lines[3]);
    return 0;
}

#include "fuzz_replay.h"
