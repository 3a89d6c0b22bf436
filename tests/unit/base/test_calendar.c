/*
 * test_calendar.c - unit tests for base/calendar: Easter, Danish and Swedish holidays,
 * working days, local time at the summer-time switches, day counts and deadlines.
 *
 * Every expected value below is written out by hand (Easter from the published table,
 * holidays from the calendars of each year, deadlines worked out on paper), never computed
 * by the code under test.  Local times are written with their offset, e.g.
 * "2024-03-31T03:00:00.000+02:00", and every result is compared as such a string, so a
 * wrong instant and a wrong offset both fail.  No test reads the clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/calendar.h"
#include "base/datetime.h"

#define DK SV_CAL_DK
#define SE SV_CAL_SE
#define P SV_HOLIDAY_PUBLIC
#define C SV_HOLIDAY_CUSTOMARY
#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *country_name(sv_calendar_country c)
{
    return c == DK ? "DK" : "SE";
}

/* The instant of an ISO text with zone (parsed by base/datetime, not by the calendar). */
static int64_t at(const char *text)
{
    sv_datetime_range r;
    if (!sv_datetime_parse(text, strlen(text), &r))
        fail_msg("test table: cannot parse \"%s\"", text);
    return r.low;
}

/* Fails unless ms shows as expected ("YYYY-MM-DDThh:mm:ss.sss+hh:mm") in country. */
static void assert_local(sv_calendar_country c, int64_t ms, const char *expected, const char *what)
{
    char out[SV_LOCAL_TIME_LEN];
    sv_buf err = SV_BUF_INIT;
    if (sv_calendar_format_local(c, ms, out, &err) != SV_OK)
        fail_msg("%s %s: format_local failed: %s", country_name(c), what, err.ptr);
    if (strcmp(out, expected) != 0)
        fail_msg("%s %s: got %s, expected %s", country_name(c), what, out, expected);
    sv_buf_release(&err);
}

/* ---- Easter ------------------------------------------------------------------------------ */

/* Western Easter Sunday 2000-2040 as published (e.g. in almanacs and church calendars). */
static const struct {
    int year, month, day;
} easter_table[] = {
    {2000, 4, 23}, {2001, 4, 15}, {2002, 3, 31}, {2003, 4, 20}, {2004, 4, 11}, {2005, 3, 27},
    {2006, 4, 16}, {2007, 4, 8},  {2008, 3, 23}, {2009, 4, 12}, {2010, 4, 4},  {2011, 4, 24},
    {2012, 4, 8},  {2013, 3, 31}, {2014, 4, 20}, {2015, 4, 5},  {2016, 3, 27}, {2017, 4, 16},
    {2018, 4, 1},  {2019, 4, 21}, {2020, 4, 12}, {2021, 4, 4},  {2022, 4, 17}, {2023, 4, 9},
    {2024, 3, 31}, {2025, 4, 20}, {2026, 4, 5},  {2027, 3, 28}, {2028, 4, 16}, {2029, 4, 1},
    {2030, 4, 21}, {2031, 4, 13}, {2032, 3, 28}, {2033, 4, 17}, {2034, 4, 9},  {2035, 3, 25},
    {2036, 4, 13}, {2037, 4, 5},  {2038, 4, 25}, {2039, 4, 10}, {2040, 4, 1},
};

static void test_easter_2000_2040(void **state)
{
    (void)state;
    assert_int_equal(ARRAY_LEN(easter_table), 41);
    for (size_t i = 0; i < ARRAY_LEN(easter_table); i++) {
        int month = 0, day = 0;
        assert_true(sv_calendar_easter(easter_table[i].year, &month, &day));
        if (month != easter_table[i].month || day != easter_table[i].day)
            fail_msg("easter %d: got %d-%d, expected %d-%d", easter_table[i].year, month, day,
                     easter_table[i].month, easter_table[i].day);
        /* and both calendars name that Sunday */
        sv_calendar_day info;
        assert_int_equal(sv_calendar_day_info(DK, easter_table[i].year, month, day, &info, NULL),
                         SV_OK);
        assert_int_equal(info.weekday, 7);
        assert_string_equal(info.name, "Påskedag");
        assert_int_equal(sv_calendar_day_info(SE, easter_table[i].year, month, day, &info, NULL),
                         SV_OK);
        assert_string_equal(info.name, "Påskdagen");
        assert_true(info.is_public_holiday);
    }
}

static void test_easter_extremes(void **state)
{
    (void)state;
    int month = 0, day = 0;
    /* the earliest and latest possible dates, 22 March and 25 April */
    assert_true(sv_calendar_easter(1818, &month, &day));
    assert_int_equal(month * 100 + day, 322);
    assert_true(sv_calendar_easter(2285, &month, &day));
    assert_int_equal(month * 100 + day, 322);
    assert_true(sv_calendar_easter(1943, &month, &day));
    assert_int_equal(month * 100 + day, 425);
    assert_true(sv_calendar_easter(1583, &month, &day));
    assert_true(sv_calendar_easter(9999, &month, &day));
    month = day = -1;
    assert_false(sv_calendar_easter(1582, &month, &day)); /* before the Gregorian calendar */
    assert_false(sv_calendar_easter(10000, &month, &day));
    assert_int_equal(month, -1); /* untouched */
    assert_int_equal(day, -1);
}

/* ---- holiday lists ------------------------------------------------------------------------ */

typedef struct holiday_row {
    int month, day;
    sv_holiday_kind kind;
    const char *name;
} holiday_row;

static const holiday_row dk_2023[] = {
    {1, 1, P, "Nytårsdag"},
    {4, 6, P, "Skærtorsdag"},
    {4, 7, P, "Langfredag"},
    {4, 9, P, "Påskedag"},
    {4, 10, P, "2. påskedag"},
    {5, 5, P, "Store bededag"}, /* the last one */
    {5, 18, P, "Kristi himmelfartsdag"},
    {5, 28, P, "Pinsedag"},
    {5, 29, P, "2. pinsedag"},
    {6, 5, C, "Grundlovsdag"},
    {12, 24, C, "Juleaftensdag"},
    {12, 25, P, "Juledag"},
    {12, 26, P, "2. juledag"},
    {12, 31, C, "Nytårsaftensdag"},
};

static const holiday_row dk_2024[] = {
    {1, 1, P, "Nytårsdag"},
    {3, 28, P, "Skærtorsdag"},
    {3, 29, P, "Langfredag"},
    {3, 31, P, "Påskedag"},
    {4, 1, P, "2. påskedag"},
    /* no store bededag (would have been 26 April) */
    {5, 9, P, "Kristi himmelfartsdag"},
    {5, 19, P, "Pinsedag"},
    {5, 20, P, "2. pinsedag"},
    {6, 5, C, "Grundlovsdag"},
    {12, 24, C, "Juleaftensdag"},
    {12, 25, P, "Juledag"},
    {12, 26, P, "2. juledag"},
    {12, 31, C, "Nytårsaftensdag"},
};

static const holiday_row dk_2025[] = {
    {1, 1, P, "Nytårsdag"},         {4, 17, P, "Skærtorsdag"}, {4, 18, P, "Langfredag"},
    {4, 20, P, "Påskedag"},         {4, 21, P, "2. påskedag"}, {5, 29, P, "Kristi himmelfartsdag"},
    {6, 5, C, "Grundlovsdag"},      {6, 8, P, "Pinsedag"},     {6, 9, P, "2. pinsedag"},
    {12, 24, C, "Juleaftensdag"},   {12, 25, P, "Juledag"},    {12, 26, P, "2. juledag"},
    {12, 31, C, "Nytårsaftensdag"},
};

static const holiday_row dk_2026[] = {
    {1, 1, P, "Nytårsdag"},         {4, 2, P, "Skærtorsdag"},  {4, 3, P, "Langfredag"},
    {4, 5, P, "Påskedag"},          {4, 6, P, "2. påskedag"},  {5, 14, P, "Kristi himmelfartsdag"},
    {5, 24, P, "Pinsedag"},         {5, 25, P, "2. pinsedag"}, {6, 5, C, "Grundlovsdag"},
    {12, 24, C, "Juleaftensdag"},   {12, 25, P, "Juledag"},    {12, 26, P, "2. juledag"},
    {12, 31, C, "Nytårsaftensdag"},
};

static const holiday_row dk_2027[] = {
    {1, 1, P, "Nytårsdag"},         {3, 25, P, "Skærtorsdag"}, {3, 26, P, "Langfredag"},
    {3, 28, P, "Påskedag"},         {3, 29, P, "2. påskedag"}, {5, 6, P, "Kristi himmelfartsdag"},
    {5, 16, P, "Pinsedag"},         {5, 17, P, "2. pinsedag"}, {6, 5, C, "Grundlovsdag"},
    {12, 24, C, "Juleaftensdag"},   {12, 25, P, "Juledag"},    {12, 26, P, "2. juledag"},
    {12, 31, C, "Nytårsaftensdag"},
};

static const holiday_row se_2004[] = {
    {1, 1, P, "Nyårsdagen"},
    {1, 6, P, "Trettondedag jul"},
    {4, 9, P, "Långfredagen"},
    {4, 11, P, "Påskdagen"},
    {4, 12, P, "Annandag påsk"},
    {5, 1, P, "Första maj"},
    {5, 20, P, "Kristi himmelsfärdsdag"},
    {5, 30, P, "Pingstdagen"},
    {5, 31, P, "Annandag pingst"}, /* the last one; no nationaldagen yet */
    {6, 25, C, "Midsommarafton"},
    {6, 26, P, "Midsommardagen"},
    {11, 6, P, "Alla helgons dag"},
    {12, 24, C, "Julafton"},
    {12, 25, P, "Juldagen"},
    {12, 26, P, "Annandag jul"},
    {12, 31, C, "Nyårsafton"},
};

static const holiday_row se_2005[] = {
    {1, 1, P, "Nyårsdagen"},
    {1, 6, P, "Trettondedag jul"},
    {3, 25, P, "Långfredagen"},
    {3, 27, P, "Påskdagen"},
    {3, 28, P, "Annandag påsk"},
    {5, 1, P, "Första maj"},
    {5, 5, P, "Kristi himmelsfärdsdag"},
    {5, 15, P, "Pingstdagen"},
    {6, 6, P, "Nationaldagen"}, /* the first one; 16 May (annandag pingst) is a working day */
    {6, 24, C, "Midsommarafton"},
    {6, 25, P, "Midsommardagen"},
    {11, 5, P, "Alla helgons dag"},
    {12, 24, C, "Julafton"},
    {12, 25, P, "Juldagen"},
    {12, 26, P, "Annandag jul"},
    {12, 31, C, "Nyårsafton"},
};

static const holiday_row se_2024[] = {
    {1, 1, P, "Nyårsdagen"},
    {1, 6, P, "Trettondedag jul"},
    {3, 29, P, "Långfredagen"},
    {3, 31, P, "Påskdagen"},
    {4, 1, P, "Annandag påsk"},
    {5, 1, P, "Första maj"},
    {5, 9, P, "Kristi himmelsfärdsdag"},
    {5, 19, P, "Pingstdagen"},
    {6, 6, P, "Nationaldagen"},
    {6, 21, C, "Midsommarafton"},
    {6, 22, P, "Midsommardagen"},
    {11, 2, P, "Alla helgons dag"},
    {12, 24, C, "Julafton"},
    {12, 25, P, "Juldagen"},
    {12, 26, P, "Annandag jul"},
    {12, 31, C, "Nyårsafton"},
};

static const holiday_row se_2025[] = {
    {1, 1, P, "Nyårsdagen"},
    {1, 6, P, "Trettondedag jul"},
    {4, 18, P, "Långfredagen"},
    {4, 20, P, "Påskdagen"},
    {4, 21, P, "Annandag påsk"},
    {5, 1, P, "Första maj"},
    {5, 29, P, "Kristi himmelsfärdsdag"},
    {6, 6, P, "Nationaldagen"},
    {6, 8, P, "Pingstdagen"},
    {6, 20, C, "Midsommarafton"},
    {6, 21, P, "Midsommardagen"},
    {11, 1, P, "Alla helgons dag"},
    {12, 24, C, "Julafton"},
    {12, 25, P, "Juldagen"},
    {12, 26, P, "Annandag jul"},
    {12, 31, C, "Nyårsafton"},
};

static const holiday_row se_2026[] = {
    {1, 1, P, "Nyårsdagen"},
    {1, 6, P, "Trettondedag jul"},
    {4, 3, P, "Långfredagen"},
    {4, 5, P, "Påskdagen"},
    {4, 6, P, "Annandag påsk"},
    {5, 1, P, "Första maj"},
    {5, 14, P, "Kristi himmelsfärdsdag"},
    {5, 24, P, "Pingstdagen"},
    {6, 6, P, "Nationaldagen"},
    {6, 19, C, "Midsommarafton"},
    {6, 20, P, "Midsommardagen"},
    {10, 31, P, "Alla helgons dag"},
    {12, 24, C, "Julafton"},
    {12, 25, P, "Juldagen"},
    {12, 26, P, "Annandag jul"},
    {12, 31, C, "Nyårsafton"},
};

static const holiday_row se_2027[] = {
    {1, 1, P, "Nyårsdagen"},
    {1, 6, P, "Trettondedag jul"},
    {3, 26, P, "Långfredagen"},
    {3, 28, P, "Påskdagen"},
    {3, 29, P, "Annandag påsk"},
    {5, 1, P, "Första maj"},
    {5, 6, P, "Kristi himmelsfärdsdag"},
    {5, 16, P, "Pingstdagen"},
    {6, 6, P, "Nationaldagen"},
    {6, 25, C, "Midsommarafton"},
    {6, 26, P, "Midsommardagen"},
    {11, 6, P, "Alla helgons dag"},
    {12, 24, C, "Julafton"},
    {12, 25, P, "Juldagen"},
    {12, 26, P, "Annandag jul"},
    {12, 31, C, "Nyårsafton"},
};

typedef struct year_table {
    sv_calendar_country country;
    int year;
    int jan1_weekday; /* ISO, from the printed calendar of the year */
    const holiday_row *rows;
    size_t count;
} year_table;

#define YEAR(c, y, wd, rows)                                                                       \
    {                                                                                              \
        c, y, wd, rows, ARRAY_LEN(rows)                                                            \
    }

static const year_table years[] = {
    YEAR(DK, 2023, 7, dk_2023), YEAR(DK, 2024, 1, dk_2024), YEAR(DK, 2025, 3, dk_2025),
    YEAR(DK, 2026, 4, dk_2026), YEAR(DK, 2027, 5, dk_2027), YEAR(SE, 2004, 4, se_2004),
    YEAR(SE, 2005, 6, se_2005), YEAR(SE, 2024, 1, se_2024), YEAR(SE, 2025, 3, se_2025),
    YEAR(SE, 2026, 4, se_2026), YEAR(SE, 2027, 5, se_2027),
};

static void test_holiday_lists(void **state)
{
    (void)state;
    for (size_t t = 0; t < ARRAY_LEN(years); t++) {
        const year_table *y = &years[t];
        sv_holiday got[SV_CALENDAR_MAX_HOLIDAYS];
        size_t n = 0;
        assert_int_equal(sv_calendar_holidays(y->country, y->year, got, &n, NULL), SV_OK);
        if (n != y->count)
            fail_msg("%s %d: %zu holidays, expected %zu", country_name(y->country), y->year, n,
                     y->count);
        for (size_t i = 0; i < n; i++) {
            const holiday_row *want = &y->rows[i];
            if (got[i].month != want->month || got[i].day != want->day ||
                got[i].kind != want->kind || strcmp(got[i].name, want->name) != 0)
                fail_msg("%s %d #%zu: got %02d-%02d %d %s, expected %02d-%02d %d %s",
                         country_name(y->country), y->year, i, got[i].month, got[i].day,
                         got[i].kind, got[i].name, want->month, want->day, want->kind, want->name);
            assert_non_null(got[i].name_en);
        }
    }
}

static const holiday_row *find_row(const year_table *y, int month, int day)
{
    for (size_t i = 0; i < y->count; i++)
        if (y->rows[i].month == month && y->rows[i].day == day)
            return &y->rows[i];
    return NULL;
}

/* Every day of every listed year: weekday, holiday flags, name and working-day status
 * against the table, with and without the customary days off. */
static void test_every_day_of_listed_years(void **state)
{
    (void)state;
    static const int month_days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    for (size_t t = 0; t < ARRAY_LEN(years); t++) {
        const year_table *y = &years[t];
        bool leap = y->year % 4 == 0; /* enough for 2004..2027 */
        int weekday = y->jan1_weekday;
        int working_total = 0;
        for (int month = 1; month <= 12; month++) {
            int days = month_days[month - 1] + (month == 2 && leap);
            for (int day = 1; day <= days; day++) {
                const holiday_row *row = find_row(y, month, day);
                sv_calendar_day info;
                assert_int_equal(sv_calendar_day_info(y->country, y->year, month, day, &info, NULL),
                                 SV_OK);
                if (info.weekday != weekday)
                    fail_msg("%s %d-%02d-%02d: weekday %d, expected %d", country_name(y->country),
                             y->year, month, day, info.weekday, weekday);
                bool want_public = row && row->kind == P;
                bool want_customary = row && row->kind == C;
                if (info.is_public_holiday != want_public ||
                    info.is_customary_day_off != want_customary ||
                    (row ? !info.name || strcmp(info.name, row->name) != 0 : info.name != NULL))
                    fail_msg("%s %d-%02d-%02d: public %d customary %d name %s, expected %s",
                             country_name(y->country), y->year, month, day, info.is_public_holiday,
                             info.is_customary_day_off, info.name ? info.name : "(none)",
                             row ? row->name : "(none)");
                for (int customary = 0; customary <= 1; customary++) {
                    bool want = weekday <= 5 && !want_public && !(customary && want_customary);
                    bool got = !want;
                    assert_int_equal(sv_calendar_is_working_day(y->country, y->year, month, day,
                                                                customary, &got, NULL),
                                     SV_OK);
                    if (got != want)
                        fail_msg("%s %d-%02d-%02d customary=%d: working %d, expected %d",
                                 country_name(y->country), y->year, month, day, customary, got,
                                 want);
                    working_total += customary && got;
                }
                weekday = weekday % 7 + 1;
            }
        }
        assert_true(working_total > 240 && working_total < 256);
    }
}

/* Two holidays on one date: the public one names the day, both flags are set. */
static void test_holidays_on_the_same_day(void **state)
{
    (void)state;
    sv_calendar_day info;
    /* 2022: pinsedag on grundlovsdag, 5 June */
    assert_int_equal(sv_calendar_day_info(DK, 2022, 6, 5, &info, NULL), SV_OK);
    assert_true(info.is_public_holiday);
    assert_true(info.is_customary_day_off);
    assert_string_equal(info.name, "Pinsedag");
    assert_string_equal(info.name_en, "Whit Sunday");
    /* 2008: Kristi himmelsfärdsdag on första maj; both listed, in the order of the law */
    sv_holiday list[SV_CALENDAR_MAX_HOLIDAYS];
    size_t n = 0;
    assert_int_equal(sv_calendar_holidays(SE, 2008, list, &n, NULL), SV_OK);
    assert_int_equal(n, 16);
    assert_int_equal(list[5].month * 100 + list[5].day, 501);
    assert_string_equal(list[5].name, "Första maj");
    assert_int_equal(list[6].month * 100 + list[6].day, 501);
    assert_string_equal(list[6].name, "Kristi himmelsfärdsdag");
    assert_int_equal(sv_calendar_day_info(SE, 2008, 5, 1, &info, NULL), SV_OK);
    assert_string_equal(info.name, "Första maj");
    /* English names */
    assert_int_equal(sv_calendar_day_info(DK, 2023, 5, 5, &info, NULL), SV_OK);
    assert_string_equal(info.name_en, "General Prayer Day");
    assert_int_equal(sv_calendar_day_info(SE, 2025, 6, 20, &info, NULL), SV_OK);
    assert_string_equal(info.name_en, "Midsummer Eve");
    assert_false(info.is_public_holiday);
    assert_true(info.is_customary_day_off);
}

/* ---- local time ----------------------------------------------------------------------------- */

static const struct {
    sv_calendar_country country;
    const char *utc;
    const char *local;
} to_local_cases[] = {
    /* spring 2024 (31 March): 02:00 UTC+1 becomes 03:00 UTC+2 at 01:00 UTC */
    {DK, "2024-03-31T00:59:59.999Z", "2024-03-31T01:59:59.999+01:00"},
    {DK, "2024-03-31T01:00:00.000Z", "2024-03-31T03:00:00.000+02:00"},
    /* autumn 2024 (27 October): 03:00 UTC+2 becomes 02:00 UTC+1 at 01:00 UTC */
    {DK, "2024-10-27T00:00:00.000Z", "2024-10-27T02:00:00.000+02:00"},
    {DK, "2024-10-27T00:59:59.999Z", "2024-10-27T02:59:59.999+02:00"},
    {DK, "2024-10-27T01:00:00.000Z", "2024-10-27T02:00:00.000+01:00"},
    {DK, "2024-10-27T01:30:00.000Z", "2024-10-27T02:30:00.000+01:00"},
    /* Stockholm 2025 (30 March, 26 October) */
    {SE, "2025-03-30T00:59:59.999Z", "2025-03-30T01:59:59.999+01:00"},
    {SE, "2025-03-30T01:00:00.000Z", "2025-03-30T03:00:00.000+02:00"},
    {SE, "2025-10-26T00:59:59.999Z", "2025-10-26T02:59:59.999+02:00"},
    {SE, "2025-10-26T01:00:00.000Z", "2025-10-26T02:00:00.000+01:00"},
    /* 1996, the first year: summer time lasts to October, not September as in 1995 */
    {DK, "1996-09-29T12:00:00.000Z", "1996-09-29T14:00:00.000+02:00"},
    {DK, "1996-10-27T00:59:59.999Z", "1996-10-27T02:59:59.999+02:00"},
    {DK, "1996-10-27T01:00:00.000Z", "1996-10-27T02:00:00.000+01:00"},
    /* the ends of the range, and days and years changing */
    {DK, "1995-12-31T23:00:00.000Z", "1996-01-01T00:00:00.000+01:00"},
    {SE, "2099-12-31T22:59:59.999Z", "2099-12-31T23:59:59.999+01:00"},
    {SE, "2038-01-19T03:14:08.000Z", "2038-01-19T04:14:08.000+01:00"},
    {DK, "2024-12-31T23:30:00.000Z", "2025-01-01T00:30:00.000+01:00"},
    {DK, "2024-02-29T23:00:00.000Z", "2024-03-01T00:00:00.000+01:00"},
    {SE, "2024-06-30T22:00:00.000Z", "2024-07-01T00:00:00.000+02:00"},
};

static void test_to_local(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(to_local_cases); i++)
        assert_local(to_local_cases[i].country, at(to_local_cases[i].utc), to_local_cases[i].local,
                     to_local_cases[i].utc);

    sv_local_time t;
    int offset = 0;
    assert_int_equal(sv_calendar_to_local(SE, at("2025-10-26T01:30:00.000Z"), &t, &offset, NULL),
                     SV_OK);
    assert_int_equal(t.year, 2025);
    assert_int_equal(t.month, 10);
    assert_int_equal(t.day, 26);
    assert_int_equal(t.hour, 2);
    assert_int_equal(t.minute, 30);
    assert_int_equal(t.second, 0);
    assert_int_equal(t.millisecond, 0);
    assert_int_equal(offset, 60);
    assert_int_equal(sv_calendar_to_local(SE, at("2025-10-26T00:30:00.000Z"), &t, NULL, NULL),
                     SV_OK); /* the offset is optional */
    assert_int_equal(t.hour, 2);
}

typedef struct from_local_case {
    sv_calendar_country country;
    sv_local_time local;
    const char *utc;
    sv_local_resolution resolution;
} from_local_case;

#define EXACT SV_LOCAL_EXACT
#define AMBIGUOUS SV_LOCAL_AMBIGUOUS
#define SKIPPED SV_LOCAL_SKIPPED

static const from_local_case from_local_cases[] = {
    /* Copenhagen, spring 2024-03-31: 02:00-02:59:59.999 does not exist */
    {DK, {2024, 3, 31, 1, 59, 0, 0}, "2024-03-31T00:59:00.000Z", EXACT},
    {DK, {2024, 3, 31, 1, 59, 59, 999}, "2024-03-31T00:59:59.999Z", EXACT},
    {DK, {2024, 3, 31, 2, 0, 0, 0}, "2024-03-31T01:00:00.000Z", SKIPPED},
    {DK, {2024, 3, 31, 2, 30, 0, 0}, "2024-03-31T01:00:00.000Z", SKIPPED},
    {DK, {2024, 3, 31, 2, 59, 59, 999}, "2024-03-31T01:00:00.000Z", SKIPPED},
    {DK, {2024, 3, 31, 3, 0, 0, 0}, "2024-03-31T01:00:00.000Z", EXACT},
    {DK, {2024, 3, 31, 3, 30, 0, 0}, "2024-03-31T01:30:00.000Z", EXACT},
    /* Copenhagen, autumn 2024-10-27: 02:00-02:59:59.999 happens twice */
    {DK, {2024, 10, 27, 1, 59, 0, 0}, "2024-10-26T23:59:00.000Z", EXACT},
    {DK, {2024, 10, 27, 2, 0, 0, 0}, "2024-10-27T00:00:00.000Z", AMBIGUOUS},
    {DK, {2024, 10, 27, 2, 30, 0, 0}, "2024-10-27T00:30:00.000Z", AMBIGUOUS},
    {DK, {2024, 10, 27, 2, 59, 59, 999}, "2024-10-27T00:59:59.999Z", AMBIGUOUS},
    {DK, {2024, 10, 27, 3, 0, 0, 0}, "2024-10-27T02:00:00.000Z", EXACT},
    /* Stockholm, 2025-03-30 and 2025-10-26 */
    {SE, {2025, 3, 30, 1, 59, 0, 0}, "2025-03-30T00:59:00.000Z", EXACT},
    {SE, {2025, 3, 30, 2, 0, 0, 0}, "2025-03-30T01:00:00.000Z", SKIPPED},
    {SE, {2025, 3, 30, 2, 30, 0, 0}, "2025-03-30T01:00:00.000Z", SKIPPED},
    {SE, {2025, 3, 30, 3, 0, 0, 0}, "2025-03-30T01:00:00.000Z", EXACT},
    {SE, {2025, 10, 26, 1, 59, 0, 0}, "2025-10-25T23:59:00.000Z", EXACT},
    {SE, {2025, 10, 26, 2, 0, 0, 0}, "2025-10-26T00:00:00.000Z", AMBIGUOUS},
    {SE, {2025, 10, 26, 2, 30, 0, 0}, "2025-10-26T00:30:00.000Z", AMBIGUOUS},
    {SE, {2025, 10, 26, 3, 0, 0, 0}, "2025-10-26T02:00:00.000Z", EXACT},
    /* 2027: the switches fall on 28 March (Easter Sunday) and 31 October */
    {SE, {2027, 3, 28, 2, 30, 0, 0}, "2027-03-28T01:00:00.000Z", SKIPPED},
    {DK, {2027, 10, 31, 2, 30, 0, 0}, "2027-10-31T00:30:00.000Z", AMBIGUOUS},
    /* the same times on the days around the switches are ordinary */
    {DK, {2024, 3, 30, 2, 30, 0, 0}, "2024-03-30T01:30:00.000Z", EXACT},
    {DK, {2024, 4, 1, 2, 30, 0, 0}, "2024-04-01T00:30:00.000Z", EXACT},
    {DK, {2024, 10, 26, 2, 30, 0, 0}, "2024-10-26T00:30:00.000Z", EXACT},
    {DK, {2024, 10, 28, 2, 30, 0, 0}, "2024-10-28T01:30:00.000Z", EXACT},
    {DK, {2024, 7, 1, 12, 0, 0, 0}, "2024-07-01T10:00:00.000Z", EXACT},
    {SE, {2024, 1, 15, 12, 0, 0, 0}, "2024-01-15T11:00:00.000Z", EXACT},
    {SE, {2024, 2, 29, 12, 0, 0, 0}, "2024-02-29T11:00:00.000Z", EXACT},
    {DK, {1996, 9, 29, 12, 0, 0, 0}, "1996-09-29T10:00:00.000Z", EXACT},
    /* the ends of the range */
    {DK, {1996, 1, 1, 0, 0, 0, 0}, "1995-12-31T23:00:00.000Z", EXACT},
    {SE, {2099, 12, 31, 23, 59, 59, 999}, "2099-12-31T22:59:59.999Z", EXACT},
};

static void test_from_local(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(from_local_cases); i++) {
        const from_local_case *c = &from_local_cases[i];
        int64_t ms = -1;
        sv_local_resolution resolution = (sv_local_resolution)-1;
        sv_buf err = SV_BUF_INIT;
        if (sv_calendar_from_local(c->country, &c->local, &ms, &resolution, &err) != SV_OK)
            fail_msg("case %zu: %s", i, err.ptr);
        char got[SV_INSTANT_LEN];
        sv_datetime_format_instant(ms, got);
        if (strcmp(got, c->utc) != 0 || resolution != c->resolution)
            fail_msg("case %zu %s %04d-%02d-%02d %02d:%02d: got %s (%d), expected %s (%d)", i,
                     country_name(c->country), c->local.year, c->local.month, c->local.day,
                     c->local.hour, c->local.minute, got, resolution, c->utc, c->resolution);
        /* the resolution is optional */
        int64_t again = -1;
        assert_int_equal(sv_calendar_from_local(c->country, &c->local, &again, NULL, NULL), SV_OK);
        assert_int_equal(again, ms);
    }
}

static void test_from_local_invalid(void **state)
{
    (void)state;
    static const sv_local_time bad[] = {
        {1995, 12, 31, 23, 59, 59, 999}, /* before 1996 */
        {2100, 1, 1, 0, 0, 0, 0},        /* after 2099 */
        {2024, 2, 30, 12, 0, 0, 0},      {2023, 2, 29, 12, 0, 0, 0},   {2024, 4, 31, 12, 0, 0, 0},
        {2024, 13, 1, 12, 0, 0, 0},      {2024, 0, 1, 12, 0, 0, 0},    {2024, 1, 0, 12, 0, 0, 0},
        {2024, 1, 1, 24, 0, 0, 0},       {2024, 1, 1, -1, 0, 0, 0},    {2024, 1, 1, 12, 60, 0, 0},
        {2024, 1, 1, 12, 0, 60, 0},      {2024, 1, 1, 12, 0, 0, 1000}, {2024, 1, 1, 12, 0, 0, -1},
    };
    for (size_t i = 0; i < ARRAY_LEN(bad); i++) {
        int64_t ms = 42;
        sv_local_resolution resolution = SKIPPED;
        sv_buf err = SV_BUF_INIT;
        assert_int_equal(sv_calendar_from_local(DK, &bad[i], &ms, &resolution, &err),
                         SV_ERR_INVALID);
        assert_int_equal(ms, 42); /* untouched */
        assert_int_equal(resolution, SKIPPED);
        assert_true(err.len > 0);
        sv_buf_release(&err);
    }
    sv_buf err = SV_BUF_INIT;
    sv_local_time t = {1995, 6, 1, 12, 0, 0, 0};
    int64_t ms;
    assert_int_equal(sv_calendar_from_local(SE, &t, &ms, NULL, &err), SV_ERR_INVALID);
    assert_string_equal(err.ptr, "year 1995 is outside the supported range 1996-2099");
    sv_buf_release(&err);
    t = (sv_local_time){2024, 2, 30, 0, 0, 0, 0};
    assert_int_equal(sv_calendar_from_local(SE, &t, &ms, NULL, &err), SV_ERR_INVALID);
    assert_string_equal(err.ptr, "no such date 2024-02-30");
    sv_buf_release(&err);
}

/* Summer time 2020-2030 as published (both zones): last Sundays of March and October. */
static const struct {
    int year, march_day, october_day;
} switch_table[] = {
    {2020, 29, 25}, {2021, 28, 31}, {2022, 27, 30}, {2023, 26, 29}, {2024, 31, 27}, {2025, 30, 26},
    {2026, 29, 25}, {2027, 28, 31}, {2028, 26, 29}, {2029, 25, 28}, {2030, 31, 27},
};

static int offset_at(sv_calendar_country c, int64_t ms)
{
    sv_local_time t;
    int offset = 0;
    assert_int_equal(sv_calendar_to_local(c, ms, &t, &offset, NULL), SV_OK);
    return offset;
}

static void assert_switches(sv_calendar_country c, int year, int march_day, int october_day)
{
    const int64_t hour = 3600000;
    int64_t spring = sv_datetime_days_from_civil(year, 3, march_day) * 86400000 + hour;
    int64_t autumn = sv_datetime_days_from_civil(year, 10, october_day) * 86400000 + hour;
    if (offset_at(c, spring - 1) != 60 || offset_at(c, spring) != 120 ||
        offset_at(c, autumn - 1) != 120 || offset_at(c, autumn) != 60)
        fail_msg("%s %d: switches not at 03-%02d and 10-%02d 01:00 UTC", country_name(c), year,
                 march_day, october_day);
    /* and nowhere else: mid-winter and mid-summer */
    assert_int_equal(offset_at(c, sv_datetime_days_from_civil(year, 1, 15) * 86400000), 60);
    assert_int_equal(offset_at(c, sv_datetime_days_from_civil(year, 3, 1) * 86400000), 60);
    assert_int_equal(offset_at(c, sv_datetime_days_from_civil(year, 7, 15) * 86400000), 120);
    assert_int_equal(offset_at(c, sv_datetime_days_from_civil(year, 12, 15) * 86400000), 60);
}

static void test_summer_time_2020_2030(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(switch_table); i++) {
        assert_switches(DK, switch_table[i].year, switch_table[i].march_day,
                        switch_table[i].october_day);
        assert_switches(SE, switch_table[i].year, switch_table[i].march_day,
                        switch_table[i].october_day);
    }
}

/* Every supported year against the published closed form of the EU dates (R. H. van Gent,
 * valid to 2099): March 31 - (5y/4 + 4) mod 7, October 31 - (5y/4 + 1) mod 7. */
static void test_summer_time_every_year(void **state)
{
    (void)state;
    for (int y = SV_CALENDAR_YEAR_MIN; y <= SV_CALENDAR_YEAR_MAX; y++) {
        assert_switches(DK, y, 31 - (5 * y / 4 + 4) % 7, 31 - (5 * y / 4 + 1) % 7);
        assert_switches(SE, y, 31 - (5 * y / 4 + 4) % 7, 31 - (5 * y / 4 + 1) % 7);
    }
}

/* Every 10 minutes of 2024-2025: local -> instant gives back the instant, except in the
 * repeated autumn hour, whose second pass maps to the first (one hour earlier). */
static void test_round_trip(void **state)
{
    (void)state;
    int64_t from = at("2024-01-01T00:00:00Z"), to = at("2026-01-01T00:00:00Z");
    int repeated = 0;
    for (int64_t ms = from; ms < to; ms += 600000) {
        sv_local_time t;
        int offset;
        assert_int_equal(sv_calendar_to_local(SE, ms, &t, &offset, NULL), SV_OK);
        int64_t back;
        sv_local_resolution resolution;
        assert_int_equal(sv_calendar_from_local(SE, &t, &back, &resolution, NULL), SV_OK);
        if (resolution == SV_LOCAL_AMBIGUOUS && offset == 60) {
            assert_int_equal(back, ms - 3600000);
            repeated++;
        } else {
            assert_int_equal(back, ms);
            assert_int_not_equal(resolution, SV_LOCAL_SKIPPED);
        }
    }
    assert_int_equal(repeated, 2 * 6); /* one hour of 10-minute steps, two autumns */
}

/* The process time zone is not consulted. */
static void test_ignores_tz(void **state)
{
    (void)state;
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    setenv("TZ", "America/New_York", 1);
    tzset();
    assert_local(DK, at("2024-03-31T01:00:00.000Z"), "2024-03-31T03:00:00.000+02:00", "TZ");
    if (saved) {
        setenv("TZ", saved, 1);
        free(saved);
    } else {
        unsetenv("TZ");
    }
    tzset();
}

/* ---- refused years and arguments -------------------------------------------------------- */

static void test_unsupported_years(void **state)
{
    (void)state;
    sv_buf err = SV_BUF_INIT;
    sv_holiday list[SV_CALENDAR_MAX_HOLIDAYS];
    size_t n = 99;
    assert_false(sv_calendar_year_supported(1995));
    assert_true(sv_calendar_year_supported(1996));
    assert_true(sv_calendar_year_supported(2099));
    assert_false(sv_calendar_year_supported(2100));

    assert_int_equal(sv_calendar_holidays(DK, 1995, list, &n, &err), SV_ERR_INVALID);
    assert_int_equal(n, 99);
    assert_string_equal(err.ptr, "year 1995 is outside the supported range 1996-2099");
    sv_buf_reset(&err);
    assert_int_equal(sv_calendar_holidays(SE, 2100, list, &n, &err), SV_ERR_INVALID);
    assert_string_equal(err.ptr, "year 2100 is outside the supported range 1996-2099");
    sv_buf_reset(&err);

    sv_calendar_day info = {.weekday = 99};
    assert_int_equal(sv_calendar_day_info(SE, 1990, 6, 6, &info, NULL), SV_ERR_INVALID);
    assert_int_equal(info.weekday, 99);
    bool working = true;
    assert_int_equal(sv_calendar_is_working_day(DK, 1995, 12, 29, true, &working, &err),
                     SV_ERR_INVALID);
    assert_true(working);
    assert_string_equal(err.ptr, "year 1995 is outside the supported range 1996-2099");
    sv_buf_reset(&err);
    assert_int_equal(sv_calendar_is_working_day(DK, 2024, 2, 30, true, &working, &err),
                     SV_ERR_INVALID);
    assert_string_equal(err.ptr, "no such date 2024-02-30");
    sv_buf_reset(&err);

    /* instants whose local year is outside: named by their local year */
    char out[SV_LOCAL_TIME_LEN] = "untouched";
    assert_int_equal(sv_calendar_format_local(DK, at("1995-12-31T22:59:59.999Z"), out, &err),
                     SV_ERR_INVALID);
    assert_string_equal(err.ptr, "year 1995 is outside the supported range 1996-2099");
    assert_string_equal(out, "untouched");
    sv_buf_reset(&err);
    assert_int_equal(sv_calendar_format_local(SE, at("2099-12-31T23:00:00.000Z"), out, &err),
                     SV_ERR_INVALID);
    assert_string_equal(err.ptr, "year 2100 is outside the supported range 1996-2099");
    sv_buf_reset(&err);
    static const int64_t far[] = {INT64_MIN, 0, INT64_MAX, -1};
    for (size_t i = 0; i < ARRAY_LEN(far); i++) {
        sv_local_time t;
        assert_int_equal(sv_calendar_to_local(DK, far[i], &t, NULL, NULL), SV_ERR_INVALID);
        int days = 7;
        assert_int_equal(
            sv_calendar_days_between(DK, far[i], at("2024-01-01T00:00:00Z"), &days, NULL),
            SV_ERR_INVALID);
        assert_int_equal(days, 7);
        int64_t deadline = 5;
        assert_int_equal(sv_deadline_add(SE, far[i], 1, SV_DEADLINE_HOURS, 0, &deadline, NULL),
                         SV_ERR_INVALID);
        assert_int_equal(deadline, 5);
    }
    assert_int_equal(sv_calendar_to_local(DK, 0, &(sv_local_time){0}, NULL, &err), SV_ERR_INVALID);
    assert_string_equal(err.ptr, "year 1970 is outside the supported range 1996-2099");
    sv_buf_release(&err);
}

static void test_bad_country(void **state)
{
    (void)state;
    sv_buf err = SV_BUF_INIT;
    bool working;
    assert_int_equal(
        sv_calendar_is_working_day((sv_calendar_country)7, 2024, 1, 2, true, &working, &err),
        SV_ERR_INVALID);
    assert_string_equal(err.ptr, "unknown country 7");
    int64_t ms;
    assert_int_equal(sv_deadline_add((sv_calendar_country)-1, at("2024-01-02T10:00:00Z"), 1,
                                     SV_DEADLINE_HOURS, 0, &ms, NULL),
                     SV_ERR_INVALID);
    sv_buf_release(&err);
}

/* ---- day counts ----------------------------------------------------------------------------- */

static const struct {
    sv_calendar_country country;
    const char *from, *to;
    int days;
} days_cases[] = {
    /* one hour apart, but on two local days */
    {DK, "2024-03-30T23:30:00.000+01:00", "2024-03-31T00:30:00.000+01:00", 1},
    /* 22 hours apart across the spring switch */
    {DK, "2024-03-30T10:00:00.000+01:00", "2024-03-31T09:00:00.000+02:00", 1},
    /* discharge-ready Friday afternoon, discharged Monday morning across the autumn switch */
    {SE, "2025-10-24T16:00:00.000+02:00", "2025-10-27T08:00:00.000+01:00", 3},
    {SE, "2025-10-27T08:00:00.000+01:00", "2025-10-24T16:00:00.000+02:00", -3},
    /* the 25-hour day is one day */
    {SE, "2025-10-26T00:00:00.000+02:00", "2025-10-26T23:59:59.999+01:00", 0},
    {DK, "2025-12-31T23:59:59.999+01:00", "2026-01-01T00:00:00.000+01:00", 1},
    {DK, "2024-02-28T12:00:00.000+01:00", "2024-03-01T12:00:00.000+01:00", 2},
    {SE, "2024-01-01T00:00:00.000+01:00", "2025-01-01T00:00:00.000+01:00", 366},
    /* local days, not UTC days: same UTC day, two local days ... */
    {DK, "2024-06-10T23:30:00.000+02:00", "2024-06-11T01:30:00.000+02:00", 1},
    /* ... and two UTC days, one local day */
    {DK, "2024-06-11T01:30:00.000+02:00", "2024-06-11T02:30:00.000+02:00", 0},
};

static void test_days_between(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(days_cases); i++) {
        int days = -999;
        assert_int_equal(sv_calendar_days_between(days_cases[i].country, at(days_cases[i].from),
                                                  at(days_cases[i].to), &days, NULL),
                         SV_OK);
        if (days != days_cases[i].days)
            fail_msg("%s %s .. %s: %d days, expected %d", country_name(days_cases[i].country),
                     days_cases[i].from, days_cases[i].to, days, days_cases[i].days);
    }
}

static const struct {
    sv_calendar_country country;
    const char *from, *to;
    int with_customary, public_only;
} working_days_cases[] = {
    /* SE: 29, 30 Dec, 2, 5, 7 Jan; public only also 24 and 31 Dec */
    {SE, "2025-12-23T15:00:00.000+01:00", "2026-01-07T10:00:00.000+01:00", 5, 7},
    {SE, "2026-01-07T10:00:00.000+01:00", "2025-12-23T15:00:00.000+01:00", -5, -7},
    /* DK: 6 January is a working day */
    {DK, "2025-12-23T15:00:00.000+01:00", "2026-01-07T10:00:00.000+01:00", 6, 8},
    /* Thursday before midsommar to Monday */
    {SE, "2025-06-19T11:00:00.000+02:00", "2025-06-23T08:00:00.000+02:00", 1, 2},
    {SE, "2025-06-19T11:00:00.000+02:00", "2025-06-19T23:00:00.000+02:00", 0, 0},
    /* Easter 2024 with the spring switch */
    {DK, "2024-03-27T10:00:00.000+01:00", "2024-04-02T10:00:00.000+02:00", 1, 1},
    {SE, "2024-03-27T10:00:00.000+01:00", "2024-04-02T10:00:00.000+02:00", 2, 2},
};

static void test_working_days_between(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(working_days_cases); i++) {
        int with = -999, without = -999;
        sv_calendar_country c = working_days_cases[i].country;
        int64_t from = at(working_days_cases[i].from), to = at(working_days_cases[i].to);
        assert_int_equal(sv_calendar_working_days_between(c, from, to, true, &with, NULL), SV_OK);
        assert_int_equal(sv_calendar_working_days_between(c, from, to, false, &without, NULL),
                         SV_OK);
        if (with != working_days_cases[i].with_customary ||
            without != working_days_cases[i].public_only)
            fail_msg("%s %s .. %s: %d/%d, expected %d/%d", country_name(c),
                     working_days_cases[i].from, working_days_cases[i].to, with, without,
                     working_days_cases[i].with_customary, working_days_cases[i].public_only);
    }
}

/* ---- deadlines ------------------------------------------------------------------------------ */

#define PUB SV_DEADLINE_PUBLIC_HOLIDAYS_ONLY

static const struct {
    sv_calendar_country country;
    const char *start;
    const char *spec;
    unsigned extra_flags;
    const char *expected;
} deadline_cases[] = {
    /* hours are elapsed time: 24 h across the spring switch shows 25 h on the clock */
    {DK, "2024-03-30T10:00:00.000+01:00", "24h", 0, "2024-03-31T11:00:00.000+02:00"},
    {SE, "2024-10-26T10:00:00.000+02:00", "24h", 0, "2024-10-27T09:00:00.000+01:00"},
    /* SE inskrivningsmeddelande: holidays do not stop the clock */
    {SE, "2025-12-24T21:15:00.000+01:00", "24h", 0, "2025-12-25T21:15:00.000+01:00"},
    {DK, "2024-03-31T01:30:00.000+01:00", "1h", 0, "2024-03-31T03:30:00.000+02:00"},
    {DK, "2024-10-27T02:30:00.000+02:00", "1h", 0, "2024-10-27T02:30:00.000+01:00"},
    {DK, "2025-10-25T02:30:00.000+02:00", "48h", 0, "2025-10-27T01:30:00.000+01:00"},
    {DK, "2024-03-30T10:00:00.000+01:00", "24h-eod", 0, "2024-03-31T23:59:59.999+02:00"},
    {SE, "2025-06-05T09:00:00.000+02:00", "0h", 0, "2025-06-05T09:00:00.000+02:00"},

    /* calendar days keep the wall-clock time: 23 h across spring, 25 h across autumn */
    {DK, "2024-03-30T10:00:00.000+01:00", "1d", 0, "2024-03-31T10:00:00.000+02:00"},
    {DK, "2024-10-26T10:00:00.000+02:00", "1d", 0, "2024-10-27T10:00:00.000+01:00"},
    {SE, "2025-03-29T10:00:00.000+01:00", "1d", 0, "2025-03-30T10:00:00.000+02:00"},
    {SE, "2025-10-25T23:30:00.000+02:00", "1d", 0, "2025-10-26T23:30:00.000+01:00"},
    {DK, "2027-10-30T12:00:00.000+02:00", "1d", 0, "2027-10-31T12:00:00.000+01:00"},
    /* a final time that does not exist moves to the switch; a repeated one takes the first */
    {DK, "2024-03-30T02:30:00.000+01:00", "1d", 0, "2024-03-31T03:00:00.000+02:00"},
    {DK, "2024-10-26T02:30:00.000+02:00", "1d", 0, "2024-10-27T02:30:00.000+02:00"},
    {DK, "2024-10-27T02:30:00.000+01:00", "1d", 0, "2024-10-28T02:30:00.000+01:00"},
    /* DK rehabilitation within 7 calendar days of discharge, across the spring switch */
    {DK, "2025-03-27T14:00:00.000+01:00", "7d", 0, "2025-04-03T14:00:00.000+02:00"},
    {DK, "2025-03-27T14:00:00.000+01:00", "7d-eod", 0, "2025-04-03T23:59:59.999+02:00"},
    /* SE payment responsibility 3 calendar days after a Friday notice */
    {SE, "2025-10-24T14:00:00.000+02:00", "3d", 0, "2025-10-27T14:00:00.000+01:00"},
    {SE, "2025-12-30T16:00:00.000+01:00", "3d", 0, "2026-01-02T16:00:00.000+01:00"},
    {SE, "2025-06-05T09:00:00.000+02:00", "0d-eod", 0, "2025-06-05T23:59:59.999+02:00"},
    {DK, "2024-02-28T12:00:00.000+01:00", "2d", 0, "2024-03-01T12:00:00.000+01:00"},
    {SE, "2026-03-28T23:59:59.999+01:00", "1d-eod", 0, "2026-03-29T23:59:59.999+02:00"},

    /* Easter 2024 (with the spring switch on Easter Sunday): DK skærtorsdag to 2. påskedag */
    {DK, "2024-03-27T10:00:00.000+01:00", "1wd", 0, "2024-04-02T10:00:00.000+02:00"},
    {DK, "2024-03-27T10:00:00.000+01:00", "3wd", 0, "2024-04-04T10:00:00.000+02:00"},
    /* ... SE works on skärtorsdagen */
    {SE, "2024-03-27T10:00:00.000+01:00", "1wd", 0, "2024-03-28T10:00:00.000+01:00"},
    {SE, "2024-03-27T10:00:00.000+01:00", "2wd", 0, "2024-04-02T10:00:00.000+02:00"},
    {SE, "2024-03-27T10:00:00.000+01:00", "3wd", 0, "2024-04-03T10:00:00.000+02:00"},
    /* Christmas and New Year 2025/26 */
    {SE, "2025-12-23T15:00:00.000+01:00", "3wd", 0, "2026-01-02T15:00:00.000+01:00"},
    {SE, "2025-12-23T15:00:00.000+01:00", "3wd", PUB, "2025-12-30T15:00:00.000+01:00"},
    {SE, "2025-12-23T15:00:00.000+01:00", "5wd", 0, "2026-01-07T15:00:00.000+01:00"},
    {DK, "2025-12-23T15:00:00.000+01:00", "3wd", 0, "2026-01-02T15:00:00.000+01:00"},
    {DK, "2025-12-23T15:00:00.000+01:00", "3wd", PUB, "2025-12-30T15:00:00.000+01:00"},
    {DK, "2025-12-23T15:00:00.000+01:00", "5wd", 0, "2026-01-06T15:00:00.000+01:00"},
    /* trettondedag jul is a holiday only in SE */
    {SE, "2026-01-05T12:00:00.000+01:00", "1wd", 0, "2026-01-07T12:00:00.000+01:00"},
    {DK, "2026-01-05T12:00:00.000+01:00", "1wd", 0, "2026-01-06T12:00:00.000+01:00"},
    /* första maj is a holiday only in SE */
    {SE, "2025-04-30T12:00:00.000+02:00", "1wd", 0, "2025-05-02T12:00:00.000+02:00"},
    {DK, "2025-04-30T12:00:00.000+02:00", "1wd", 0, "2025-05-01T12:00:00.000+02:00"},
    /* grundlovsdag (Thu 5 June 2025), customary; Whitsun; nationaldagen (Fri 6 June) */
    {DK, "2025-06-04T09:00:00.000+02:00", "1wd", 0, "2025-06-06T09:00:00.000+02:00"},
    {DK, "2025-06-04T09:00:00.000+02:00", "1wd", PUB, "2025-06-05T09:00:00.000+02:00"},
    {DK, "2025-06-04T09:00:00.000+02:00", "3wd", 0, "2025-06-11T09:00:00.000+02:00"},
    {SE, "2025-06-04T09:00:00.000+02:00", "1wd", 0, "2025-06-05T09:00:00.000+02:00"},
    {SE, "2025-06-04T09:00:00.000+02:00", "2wd", 0, "2025-06-09T09:00:00.000+02:00"},
    /* Ascension: the Friday after is a working day */
    {DK, "2025-05-28T16:00:00.000+02:00", "1wd", 0, "2025-05-30T16:00:00.000+02:00"},
    {SE, "2026-05-13T08:00:00.000+02:00", "1wd-eod", 0, "2026-05-15T23:59:59.999+02:00"},
    /* midsommar 2025: afton (customary) on Friday 20 June */
    {SE, "2025-06-19T11:00:00.000+02:00", "1wd", 0, "2025-06-23T11:00:00.000+02:00"},
    {SE, "2025-06-19T11:00:00.000+02:00", "1wd", PUB, "2025-06-20T11:00:00.000+02:00"},
    {DK, "2025-06-19T11:00:00.000+02:00", "1wd", 0, "2025-06-20T11:00:00.000+02:00"},
    /* a start on a non-working day counts from 00:00 of the next working day */
    {SE, "2025-06-21T10:00:00.000+02:00", "0wd", 0, "2025-06-23T00:00:00.000+02:00"},
    {SE, "2025-06-21T10:00:00.000+02:00", "1wd", 0, "2025-06-24T00:00:00.000+02:00"},
    {SE, "2025-06-21T10:00:00.000+02:00", "0wd-eod", 0, "2025-06-23T23:59:59.999+02:00"},
    {SE, "2025-06-21T10:00:00.000+02:00", "1wd-eod", 0, "2025-06-24T23:59:59.999+02:00"},
    {SE, "2025-06-23T10:00:00.000+02:00", "0wd", 0, "2025-06-23T10:00:00.000+02:00"},
    {SE, "2025-12-24T10:00:00.000+01:00", "1wd", 0, "2025-12-30T00:00:00.000+01:00"},
    {SE, "2025-12-24T10:00:00.000+01:00", "1wd", PUB, "2025-12-29T10:00:00.000+01:00"},
    {SE, "2025-03-29T22:00:00.000+01:00", "0wd", 0, "2025-03-31T00:00:00.000+02:00"},
    {DK, "2024-03-30T10:00:00.000+01:00", "1wd", 0, "2024-04-03T00:00:00.000+02:00"},
    /* working days across both switches */
    {DK, "2025-03-28T09:30:00.000+01:00", "1wd", 0, "2025-03-31T09:30:00.000+02:00"},
    {SE, "2025-10-24T09:30:00.000+02:00", "1wd", 0, "2025-10-27T09:30:00.000+01:00"},
    {DK, "2025-10-24T23:59:59.999+02:00", "1wd", 0, "2025-10-27T23:59:59.999+01:00"},
    /* store bededag: a holiday in 2023 (Fri 5 May), a working day from 2024 (Fri 26 April) */
    {DK, "2023-05-04T12:00:00.000+02:00", "1wd", 0, "2023-05-08T12:00:00.000+02:00"},
    {DK, "2024-04-25T12:00:00.000+02:00", "1wd", 0, "2024-04-26T12:00:00.000+02:00"},
    /* annandag pingst: a holiday in SE 2004 (Mon 31 May), a working day from 2005 (16 May) */
    {SE, "2004-05-28T12:00:00.000+02:00", "1wd", 0, "2004-06-01T12:00:00.000+02:00"},
    {SE, "2005-05-13T12:00:00.000+02:00", "1wd", 0, "2005-05-16T12:00:00.000+02:00"},
};

static void test_deadlines(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(deadline_cases); i++) {
        sv_calendar_country c = deadline_cases[i].country;
        int64_t start = at(deadline_cases[i].start);
        char what[128];
        snprintf(what, sizeof(what), "case %zu: %s + %s", i, deadline_cases[i].start,
                 deadline_cases[i].spec);
        /* the start itself must be written with its true offset */
        assert_local(c, start, deadline_cases[i].start, what);
        sv_deadline_spec spec;
        sv_buf err = SV_BUF_INIT;
        if (sv_deadline_parse(deadline_cases[i].spec, strlen(deadline_cases[i].spec), &spec,
                              &err) != SV_OK)
            fail_msg("%s: %s", what, err.ptr);
        int64_t deadline = 0;
        if (sv_deadline_add(c, start, spec.amount, spec.unit,
                            spec.flags | deadline_cases[i].extra_flags, &deadline, &err) != SV_OK)
            fail_msg("%s: %s", what, err.ptr);
        assert_local(c, deadline, deadline_cases[i].expected, what);
    }
}

/* Elapsed hours, not wall-clock hours, in the cases the issue names. */
static void test_deadline_elapsed(void **state)
{
    (void)state;
    const int64_t hour = 3600000;
    int64_t start = at("2024-03-30T10:00:00.000+01:00"), ms = 0;
    assert_int_equal(sv_deadline_add(DK, start, 24, SV_DEADLINE_HOURS, 0, &ms, NULL), SV_OK);
    assert_int_equal(ms - start, 24 * hour);
    assert_int_equal(sv_deadline_add(DK, start, 1, SV_DEADLINE_CALENDAR_DAYS, 0, &ms, NULL), SV_OK);
    assert_int_equal(ms - start, 23 * hour);
    start = at("2025-10-25T10:00:00.000+02:00");
    assert_int_equal(sv_deadline_add(SE, start, 1, SV_DEADLINE_CALENDAR_DAYS, 0, &ms, NULL), SV_OK);
    assert_int_equal(ms - start, 25 * hour);
    assert_int_equal(sv_deadline_add(SE, start, 24, SV_DEADLINE_HOURS, 0, &ms, NULL), SV_OK);
    assert_int_equal(ms - start, 24 * hour);
}

/* N working days later is exactly N working days by sv_calendar_working_days_between, for
 * every day of 2025 as a start and N up to 30 (consistency of the two functions). */
static void test_deadline_matches_working_day_count(void **state)
{
    (void)state;
    for (int c = DK; c <= SE; c++) {
        int64_t start = at("2025-01-01T09:00:00.000+01:00");
        for (int d = 0; d < 365; d++, start += 86400000) {
            for (int n = 1; n <= 30; n += 7) {
                int64_t ms;
                assert_int_equal(
                    sv_deadline_add(c, start, n, SV_DEADLINE_WORKING_DAYS, 0, &ms, NULL), SV_OK);
                int count = -1;
                assert_int_equal(sv_calendar_working_days_between(c, start, ms, true, &count, NULL),
                                 SV_OK);
                bool working;
                sv_local_time t;
                assert_int_equal(sv_calendar_to_local(c, start, &t, NULL, NULL), SV_OK);
                assert_int_equal(
                    sv_calendar_is_working_day(c, t.year, t.month, t.day, true, &working, NULL),
                    SV_OK);
                /* from a non-working day the next working day is the (uncounted) start */
                assert_int_equal(count, working ? n : n + 1);
            }
        }
    }
}

static void test_deadline_errors(void **state)
{
    (void)state;
    sv_buf err = SV_BUF_INIT;
    int64_t start = at("2025-06-04T09:00:00.000+02:00"), ms = 77;
    assert_int_equal(sv_deadline_add(DK, start, -1, SV_DEADLINE_HOURS, 0, &ms, &err),
                     SV_ERR_INVALID);
    assert_string_equal(err.ptr, "deadline amount -1 is outside 0-10000");
    sv_buf_reset(&err);
    assert_int_equal(sv_deadline_add(DK, start, 10001, SV_DEADLINE_CALENDAR_DAYS, 0, &ms, &err),
                     SV_ERR_INVALID);
    sv_buf_reset(&err);
    assert_int_equal(sv_deadline_add(DK, start, 1, (sv_deadline_unit)0, 0, &ms, &err),
                     SV_ERR_INVALID);
    assert_string_equal(err.ptr, "unknown deadline unit 0");
    sv_buf_reset(&err);
    assert_int_equal(sv_deadline_add(DK, start, 1, SV_DEADLINE_HOURS, 0x4, &ms, &err),
                     SV_ERR_INVALID);
    assert_string_equal(err.ptr, "unknown deadline flags 0x4");
    sv_buf_reset(&err);
    /* results past 2099 */
    int64_t late = at("2099-12-30T12:00:00.000+01:00");
    assert_int_equal(sv_deadline_add(SE, late, 3, SV_DEADLINE_CALENDAR_DAYS, 0, &ms, &err),
                     SV_ERR_INVALID);
    assert_string_equal(err.ptr, "deadline of 3 calendar days falls after 2099");
    sv_buf_reset(&err);
    assert_int_equal(sv_deadline_add(SE, late, 48, SV_DEADLINE_HOURS, 0, &ms, &err),
                     SV_ERR_INVALID);
    sv_buf_reset(&err);
    assert_int_equal(sv_deadline_add(SE, late, 2, SV_DEADLINE_WORKING_DAYS, 0, &ms, &err),
                     SV_ERR_INVALID);
    assert_string_equal(err.ptr, "deadline of 2 working days falls after 2099");
    sv_buf_reset(&err);
    /* a start in 1995 */
    assert_int_equal(
        sv_deadline_add(DK, at("1995-10-01T12:00:00Z"), 1, SV_DEADLINE_HOURS, 0, &ms, &err),
        SV_ERR_INVALID);
    assert_string_equal(err.ptr, "year 1995 is outside the supported range 1996-2099");
    assert_int_equal(ms, 77);
    sv_buf_release(&err);
    /* the largest amount still works inside the range */
    assert_int_equal(sv_deadline_add(DK, at("2000-01-03T09:00:00.000+01:00"), 10000,
                                     SV_DEADLINE_WORKING_DAYS, 0, &ms, NULL),
                     SV_OK);
    assert_int_equal(sv_deadline_add(DK, at("2000-01-03T09:00:00.000+01:00"), 10000,
                                     SV_DEADLINE_HOURS, SV_DEADLINE_END_OF_DAY, &ms, NULL),
                     SV_OK);
    assert_local(DK, ms, "2001-02-23T23:59:59.999+01:00", "10000h-eod");
}

static const struct {
    const char *text;
    int amount;
    sv_deadline_unit unit;
    unsigned flags;
} parse_ok[] = {
    {"24h", 24, SV_DEADLINE_HOURS, 0},
    {"3d", 3, SV_DEADLINE_CALENDAR_DAYS, 0},
    {"3wd", 3, SV_DEADLINE_WORKING_DAYS, 0},
    {"7d-eod", 7, SV_DEADLINE_CALENDAR_DAYS, SV_DEADLINE_END_OF_DAY},
    {"0wd-eod", 0, SV_DEADLINE_WORKING_DAYS, SV_DEADLINE_END_OF_DAY},
    {"0h", 0, SV_DEADLINE_HOURS, 0},
    {"24h-eod", 24, SV_DEADLINE_HOURS, SV_DEADLINE_END_OF_DAY},
    {"10000d", 10000, SV_DEADLINE_CALENDAR_DAYS, 0},
};

static const struct {
    const char *text;
    const char *message;
} parse_bad[] = {
    {"", "empty deadline (expected e.g. \"24h\", \"3d\", \"3wd\", \"7d-eod\")"},
    {"d", "deadline \"d\" must start with an amount"},
    {"-3d", "deadline \"-3d\" must start with an amount"},
    {"+3d", "deadline \"+3d\" must start with an amount"},
    {" 3d", "deadline \" 3d\" must start with an amount"},
    {"03d", "deadline \"03d\": amount has a leading zero"},
    {"10001d", "deadline \"10001d\": amount exceeds 10000"},
    {"99999999999999999999h", "deadline \"99999999999999999999h\": amount exceeds 10000"},
    {"3", "deadline \"3\": unit must be \"h\", \"d\" or \"wd\""},
    {"3 d", "deadline \"3 d\": unit must be \"h\", \"d\" or \"wd\""},
    {"3D", "deadline \"3D\": unit must be \"h\", \"d\" or \"wd\""},
    {"3w", "deadline \"3w\": unit must be \"h\", \"d\" or \"wd\""},
    {"1.5h", "deadline \"1.5h\": unit must be \"h\", \"d\" or \"wd\""},
    {"3d ", "deadline \"3d \": only \"-eod\" may follow the unit"},
    {"3dd", "deadline \"3dd\": only \"-eod\" may follow the unit"},
    {"3d-", "deadline \"3d-\": only \"-eod\" may follow the unit"},
    {"3d-EOD", "deadline \"3d-EOD\": only \"-eod\" may follow the unit"},
    {"3d-eodx", "deadline \"3d-eodx\": only \"-eod\" may follow the unit"},
    {"3wdx", "deadline \"3wdx\": only \"-eod\" may follow the unit"},
};

static void test_deadline_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < ARRAY_LEN(parse_ok); i++) {
        sv_deadline_spec spec;
        sv_buf err = SV_BUF_INIT;
        if (sv_deadline_parse(parse_ok[i].text, strlen(parse_ok[i].text), &spec, &err) != SV_OK)
            fail_msg("\"%s\": %s", parse_ok[i].text, err.ptr);
        assert_int_equal(spec.amount, parse_ok[i].amount);
        assert_int_equal(spec.unit, parse_ok[i].unit);
        assert_int_equal(spec.flags, parse_ok[i].flags);
    }
    for (size_t i = 0; i < ARRAY_LEN(parse_bad); i++) {
        sv_deadline_spec spec = {-5, SV_DEADLINE_HOURS, 9};
        sv_buf err = SV_BUF_INIT;
        assert_int_equal(
            sv_deadline_parse(parse_bad[i].text, strlen(parse_bad[i].text), &spec, &err),
            SV_ERR_INVALID);
        if (strcmp(err.ptr, parse_bad[i].message) != 0)
            fail_msg("\"%s\": got '%s', expected '%s'", parse_bad[i].text, err.ptr,
                     parse_bad[i].message);
        assert_int_equal(spec.amount, -5); /* untouched */
        assert_int_equal(spec.flags, 9);
        sv_buf_release(&err);
    }
    /* the length is honoured: a prefix parses, an embedded NUL does not */
    sv_deadline_spec spec;
    assert_int_equal(sv_deadline_parse("3wd-eod", 3, &spec, NULL), SV_OK);
    assert_int_equal(spec.unit, SV_DEADLINE_WORKING_DAYS);
    assert_int_equal(spec.flags, 0);
    assert_int_equal(sv_deadline_parse("3d\0", 3, &spec, NULL), SV_ERR_INVALID);
    assert_int_equal(sv_deadline_parse("7d-eod", 2, &spec, NULL), SV_OK);
    assert_int_equal(spec.amount, 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_easter_2000_2040),
        cmocka_unit_test(test_easter_extremes),
        cmocka_unit_test(test_holiday_lists),
        cmocka_unit_test(test_every_day_of_listed_years),
        cmocka_unit_test(test_holidays_on_the_same_day),
        cmocka_unit_test(test_to_local),
        cmocka_unit_test(test_from_local),
        cmocka_unit_test(test_from_local_invalid),
        cmocka_unit_test(test_summer_time_2020_2030),
        cmocka_unit_test(test_summer_time_every_year),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_ignores_tz),
        cmocka_unit_test(test_unsupported_years),
        cmocka_unit_test(test_bad_country),
        cmocka_unit_test(test_days_between),
        cmocka_unit_test(test_working_days_between),
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_deadline_elapsed),
        cmocka_unit_test(test_deadline_matches_working_day_count),
        cmocka_unit_test(test_deadline_errors),
        cmocka_unit_test(test_deadline_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
