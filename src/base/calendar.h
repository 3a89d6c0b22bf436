/*
 * calendar.h - local time, public holidays and legal deadlines in Denmark and Sweden.
 *
 * Local time is Europe/Copenhagen or Europe/Stockholm, computed from the EU summer-time
 * rule (Directive 2000/84/EC): UTC+1, and UTC+2 from 01:00 UTC on the last Sunday of March
 * to 01:00 UTC on the last Sunday of October.  Both zones have followed that rule since
 * 1996; before 1996 summer time ended in September, so years outside
 * SV_CALENDAR_YEAR_MIN..SV_CALENDAR_YEAR_MAX (local years) are refused with SV_ERR_INVALID
 * rather than answered wrongly.  Nothing here reads the process time zone (TZ, tzset,
 * localtime) or the clock: every function is pure arithmetic on its arguments, so it is
 * thread-safe and the tests need no real time.  See docs/calendar.md for the rules and
 * their sources.
 *
 * Instants are int64 ms since 1970-01-01T00:00:00Z, as in base/datetime.
 * Memory: nothing is allocated; holiday names are static UTF-8 strings.  Errors append a
 * message to reterr when it is not NULL; outputs are untouched on failure.
 * Depends on base/datetime, base/error and base/buf only.
 */
#ifndef SV_BASE_CALENDAR_H
#define SV_BASE_CALENDAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"

#define SV_CALENDAR_YEAR_MIN 1996
#define SV_CALENDAR_YEAR_MAX 2099

typedef enum sv_calendar_country {
    SV_CAL_DK, /* Europe/Copenhagen, Danish holidays */
    SV_CAL_SE, /* Europe/Stockholm, Swedish holidays */
} sv_calendar_country;

/* True when year is in SV_CALENDAR_YEAR_MIN..SV_CALENDAR_YEAR_MAX. */
bool sv_calendar_year_supported(int year);

/* ---- local time ------------------------------------------------------------------------ */

typedef struct sv_local_time {
    int year, month, day;                  /* month 1..12, day 1..31 */
    int hour, minute, second, millisecond; /* 0..23, 0..59, 0..59, 0..999 */
} sv_local_time;

/* How sv_calendar_from_local resolved a wall-clock time. */
typedef enum sv_local_resolution {
    SV_LOCAL_EXACT,     /* the time occurs once */
    SV_LOCAL_AMBIGUOUS, /* autumn switch day, 02:00-02:59:59.999 occurs twice: the earlier
                           instant (still summer time, UTC+2) was taken */
    SV_LOCAL_SKIPPED,   /* spring switch day, 02:00-02:59:59.999 does not exist: the switch
                           instant itself (03:00 UTC+2 = 01:00 UTC) was taken */
} sv_local_resolution;

/*
 * The wall-clock time at instant ms and, when ret_utc_offset_minutes is not NULL, the
 * offset in force (60 or 120).  Fails when the local year is outside the supported range.
 */
sv_err sv_calendar_to_local(sv_calendar_country country, int64_t ms, sv_local_time *ret_local,
                            int *ret_utc_offset_minutes, sv_buf *reterr);

/*
 * The instant at which the clock shows *local.  A time that occurs twice takes the earlier
 * instant; a time skipped by the spring switch takes the switch instant, the first moment
 * at which the clock has passed it (so 02:00, 02:30 and 03:00 on that day are all 01:00
 * UTC, and later wall-clock times never map to earlier instants).  ret_resolution may be
 * NULL.  Fails on an invalid field (Feb 30, hour 24, second 60) or an unsupported year.
 */
sv_err sv_calendar_from_local(sv_calendar_country country, const sv_local_time *local,
                              int64_t *ret_ms, sv_local_resolution *ret_resolution, sv_buf *reterr);

#define SV_LOCAL_TIME_LEN 32

/* Writes e.g. "2024-03-31T03:00:00.000+02:00": the local time with its offset. */
sv_err sv_calendar_format_local(sv_calendar_country country, int64_t ms,
                                char out[SV_LOCAL_TIME_LEN], sv_buf *reterr);

/* ---- holidays and working days ---------------------------------------------------------- */

typedef enum sv_holiday_kind {
    SV_HOLIDAY_PUBLIC = 1,    /* statutory: DK folkekirkens helligdag, SE allmän helgdag */
    SV_HOLIDAY_CUSTOMARY = 2, /* customarily a day off, not statutory: DK grundlovsdag,
                                 juleaftensdag, nytårsaftensdag; SE midsommarafton, julafton,
                                 nyårsafton */
} sv_holiday_kind;

typedef struct sv_holiday {
    int month, day;
    sv_holiday_kind kind;
    const char *name;    /* in the country's language, e.g. "Store bededag" (static) */
    const char *name_en; /* in English, e.g. "General Prayer Day" (static) */
} sv_holiday;

#define SV_CALENDAR_MAX_HOLIDAYS 20

/*
 * The public and customary holidays of year in date order (a public one first when two
 * fall on the same date).  Ordinary Sundays are not listed; Sunday holidays (Easter Sunday,
 * Whit Sunday) are.  Writes at most SV_CALENDAR_MAX_HOLIDAYS entries.
 */
sv_err sv_calendar_holidays(sv_calendar_country country, int year,
                            sv_holiday ret_holidays[SV_CALENDAR_MAX_HOLIDAYS], size_t *ret_count,
                            sv_buf *reterr);

typedef struct sv_calendar_day {
    int weekday;               /* ISO 8601: 1 Monday .. 7 Sunday */
    bool is_public_holiday;    /* a statutory holiday falls on the day */
    bool is_customary_day_off; /* a customary day off falls on the day */
    const char *name;          /* the holiday's local name, the public one first; or NULL */
    const char *name_en;       /* the same in English; or NULL */
} sv_calendar_day;

/* What kind of day year-month-day is. */
sv_err sv_calendar_day_info(sv_calendar_country country, int year, int month, int day,
                            sv_calendar_day *ret_day, sv_buf *reterr);

/*
 * A working day is Monday to Friday and not a public holiday; with include_customary
 * (the default used by deadlines) not a customary day off either.  Saturdays are never
 * working days.
 */
sv_err sv_calendar_is_working_day(sv_calendar_country country, int year, int month, int day,
                                  bool include_customary, bool *ret_working, sv_buf *reterr);

/*
 * Western Easter Sunday of year by the anonymous Gregorian computus (Meeus/Jones/Butcher),
 * for any Gregorian year 1583..9999.  Returns false outside that range.
 */
bool sv_calendar_easter(int year, int *ret_month, int *ret_day);

/*
 * Local calendar days from the day of from_ms to the day of to_ms (negative when to_ms is
 * on an earlier day): 23:30 to 00:30 the next night is 1, 00:00 to 23:59 the same day is 0,
 * whatever the summer-time switches in between.
 */
sv_err sv_calendar_days_between(sv_calendar_country country, int64_t from_ms, int64_t to_ms,
                                int *ret_days, sv_buf *reterr);

/*
 * Working days d with day(from_ms) < d <= day(to_ms); the negated count of those in
 * (day(to_ms), day(from_ms)] when to_ms is on an earlier day.
 */
sv_err sv_calendar_working_days_between(sv_calendar_country country, int64_t from_ms, int64_t to_ms,
                                        bool include_customary, int *ret_days, sv_buf *reterr);

/* ---- deadlines -------------------------------------------------------------------------- */

typedef enum sv_deadline_unit {
    SV_DEADLINE_HOURS = 1,     /* "h": exact elapsed time, N * 3600 s */
    SV_DEADLINE_CALENDAR_DAYS, /* "d": the same local wall-clock time N days later */
    SV_DEADLINE_WORKING_DAYS,  /* "wd": the same local time N working days later */
} sv_deadline_unit;

/* The deadline is 23:59:59.999 local time on the day computed ("-eod"). */
#define SV_DEADLINE_END_OF_DAY 0x1u
/* Working days: customary days off (julafton, grundlovsdag, ...) count as working days. */
#define SV_DEADLINE_PUBLIC_HOLIDAYS_ONLY 0x2u

#define SV_DEADLINE_MAX_AMOUNT 10000

/*
 * The deadline amount units after start_ms, in country's local time and holidays.
 *
 *  - hours: start_ms + amount hours; across a switch that is 23 or 25 hours of wall clock.
 *  - calendar days: the same wall-clock time amount local days later, so 23 or 25 elapsed
 *    hours across a switch; a time that does not exist or occurs twice on the final day is
 *    resolved as in sv_calendar_from_local.
 *  - working days: when start_ms falls on a working day, counting starts there at its time
 *    of day; otherwise it starts at 00:00 of the next working day (a notice received on
 *    Saturday counts as received at the start of Monday).  The deadline is the same time
 *    of day on the amount-th working day after that; 0 gives the counting start itself.
 *    Customary days off are non-working unless SV_DEADLINE_PUBLIC_HOLIDAYS_ONLY is given.
 *  - with SV_DEADLINE_END_OF_DAY the result moves to 23:59:59.999 local on its day.
 *
 * amount is 0..SV_DEADLINE_MAX_AMOUNT.  Fails on a bad argument or when start or result
 * falls outside the supported years.
 */
sv_err sv_deadline_add(sv_calendar_country country, int64_t start_ms, int amount,
                       sv_deadline_unit unit, unsigned flags, int64_t *ret_ms, sv_buf *reterr);

typedef struct sv_deadline_spec {
    int amount;
    sv_deadline_unit unit;
    unsigned flags; /* SV_DEADLINE_END_OF_DAY or 0 */
} sv_deadline_spec;

/*
 * Parses text[0..len) as a deadline in a ruleset: an amount (0..SV_DEADLINE_MAX_AMOUNT,
 * decimal, no sign, no leading zeros), a unit "h", "d" or "wd", and optionally "-eod",
 * e.g. "24h", "3d", "3wd", "7d-eod".  Lowercase only, no spaces.
 */
sv_err sv_deadline_parse(const char *text, size_t len, sv_deadline_spec *ret_spec, sv_buf *reterr);

#endif
