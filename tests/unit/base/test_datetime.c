/*
 * test_datetime.c - unit tests for base/datetime: FHIR date/dateTime/instant to
 * millisecond ranges by precision, leap years, time zones (negative offsets,
 * day and year crossings), invalid values, instant formatting and the clock.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>
#include <time.h>

#include "base/datetime.h"

typedef struct dt_case {
    const char *in;
    const char *low; /* expected, formatted as an instant; NULL: must be rejected */
    const char *high;
    sv_datetime_precision precision;
    bool zone;
} dt_case;

#define BAD(in)                                                                                    \
    {                                                                                              \
        in, NULL, NULL, 0, false                                                                   \
    }

static const dt_case cases[] = {
    /* precision */
    {"2024", "2024-01-01T00:00:00.000Z", "2024-12-31T23:59:59.999Z", SV_DATETIME_YEAR, false},
    {"2024-02", "2024-02-01T00:00:00.000Z", "2024-02-29T23:59:59.999Z", SV_DATETIME_MONTH, false},
    {"2023-02", "2023-02-01T00:00:00.000Z", "2023-02-28T23:59:59.999Z", SV_DATETIME_MONTH, false},
    {"2024-12", "2024-12-01T00:00:00.000Z", "2024-12-31T23:59:59.999Z", SV_DATETIME_MONTH, false},
    {"2024-04-30", "2024-04-30T00:00:00.000Z", "2024-04-30T23:59:59.999Z", SV_DATETIME_DAY, false},
    {"2024-03-10T10:30Z", "2024-03-10T10:30:00.000Z", "2024-03-10T10:30:59.999Z",
     SV_DATETIME_MINUTE, true},
    {"2024-03-10T10:30:00Z", "2024-03-10T10:30:00.000Z", "2024-03-10T10:30:00.999Z",
     SV_DATETIME_SECOND, true},
    {"2024-03-10T10:30:00.1Z", "2024-03-10T10:30:00.100Z", "2024-03-10T10:30:00.199Z",
     SV_DATETIME_FRACTION, true},
    {"2024-03-10T10:30:00.12Z", "2024-03-10T10:30:00.120Z", "2024-03-10T10:30:00.129Z",
     SV_DATETIME_FRACTION, true},
    {"2024-03-10T10:30:00.123Z", "2024-03-10T10:30:00.123Z", "2024-03-10T10:30:00.123Z",
     SV_DATETIME_FRACTION, true},
    {"2024-03-10T10:30:00.123456Z", "2024-03-10T10:30:00.123Z", "2024-03-10T10:30:00.123Z",
     SV_DATETIME_FRACTION, true},
    /* leap years: divisible by 4, not by 100 unless by 400 */
    {"2024-02-29", "2024-02-29T00:00:00.000Z", "2024-02-29T23:59:59.999Z", SV_DATETIME_DAY, false},
    {"2000-02-29", "2000-02-29T00:00:00.000Z", "2000-02-29T23:59:59.999Z", SV_DATETIME_DAY, false},
    {"2000", "2000-01-01T00:00:00.000Z", "2000-12-31T23:59:59.999Z", SV_DATETIME_YEAR, false},
    {"1900", "1900-01-01T00:00:00.000Z", "1900-12-31T23:59:59.999Z", SV_DATETIME_YEAR, false},
    BAD("1900-02-29"),
    BAD("2100-02-29"),
    BAD("2023-02-29"),
    /* time zones */
    {"2024-03-10T10:30:00+01:00", "2024-03-10T09:30:00.000Z", "2024-03-10T09:30:00.999Z",
     SV_DATETIME_SECOND, true},
    {"2024-03-10T00:30:00+02:00", "2024-03-09T22:30:00.000Z", "2024-03-09T22:30:00.999Z",
     SV_DATETIME_SECOND, true},
    {"2024-12-31T23:30:00-05:00", "2025-01-01T04:30:00.000Z", "2025-01-01T04:30:00.999Z",
     SV_DATETIME_SECOND, true},
    {"2024-03-10T10:30:00-03:30", "2024-03-10T14:00:00.000Z", "2024-03-10T14:00:00.999Z",
     SV_DATETIME_SECOND, true},
    {"2024-03-01T01:00:00.5+14:00", "2024-02-29T11:00:00.500Z", "2024-02-29T11:00:00.599Z",
     SV_DATETIME_FRACTION, true},
    {"2024-03-10T10:30:00-14:00", "2024-03-11T00:30:00.000Z", "2024-03-11T00:30:00.999Z",
     SV_DATETIME_SECOND, true},
    {"2024-03-10T10:30:00-00:00", "2024-03-10T10:30:00.000Z", "2024-03-10T10:30:00.999Z",
     SV_DATETIME_SECOND, true},
    /* no zone: UTC */
    {"2024-03-10T10:30:00", "2024-03-10T10:30:00.000Z", "2024-03-10T10:30:00.999Z",
     SV_DATETIME_SECOND, false},
    /* around the epoch and at the ends of the range */
    {"1970", "1970-01-01T00:00:00.000Z", "1970-12-31T23:59:59.999Z", SV_DATETIME_YEAR, false},
    {"1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z", "1969-12-31T23:59:59.999Z",
     SV_DATETIME_FRACTION, true},
    {"1850-06-15", "1850-06-15T00:00:00.000Z", "1850-06-15T23:59:59.999Z", SV_DATETIME_DAY, false},
    {"0001-01-01", "0001-01-01T00:00:00.000Z", "0001-01-01T23:59:59.999Z", SV_DATETIME_DAY, false},
    {"9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z",
     SV_DATETIME_FRACTION, true},
    /* leap second: the next minute */
    {"2016-12-31T23:59:60Z", "2017-01-01T00:00:00.000Z", "2017-01-01T00:00:00.999Z",
     SV_DATETIME_SECOND, true},
    /* invalid */
    BAD(""),
    BAD("0000"),
    BAD("24"),
    BAD("abcd"),
    BAD("+2024"),
    BAD("2024-"),
    BAD("2024-1"),
    BAD("2024-00"),
    BAD("2024-13"),
    BAD("2024-02-30"),
    BAD("2024-04-31"),
    BAD("2024-01-00"),
    BAD("2024-01-1"),
    BAD("2024-01-01Z"),
    BAD("2024-01Z"),
    BAD("2024-01-01T"),
    BAD("2024-01-01T10"),
    BAD("2024-01-01T10Z"),
    BAD("2024-01-01 10:30:00Z"),
    BAD("2024-01-01T25:00:00Z"),
    BAD("2024-01-01T24:00:00Z"),
    BAD("2024-01-01T10:60:00Z"),
    BAD("2024-01-01T10:30:61Z"),
    BAD("2024-01-01T10:30:00.Z"),
    BAD("2024-01-01T10:30:00Zjunk"),
    BAD("2024-01-01T10:30:00+14:01"),
    BAD("2024-01-01T10:30:00+15:00"),
    BAD("2024-01-01T10:30:00-14:30"),
    BAD("2024-01-01T10:30:00+01:60"),
    BAD("2024-01-01T10:30:00+0100"),
    BAD("2024-01-01T10:30:00+01"),
    BAD("2024-01-01T10:30:00 "),
};

static void test_parse_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const dt_case *c = &cases[i];
        sv_datetime_range r = {.low = 42, .high = 43};
        bool ok = sv_datetime_parse(c->in, strlen(c->in), &r);
        if (!c->low) {
            if (ok)
                fail_msg("\"%s\" accepted, want rejected", c->in);
            assert_int_equal(r.low, 42); /* untouched on failure */
            assert_int_equal(r.high, 43);
            continue;
        }
        if (!ok)
            fail_msg("\"%s\" rejected", c->in);
        char low[SV_INSTANT_LEN], high[SV_INSTANT_LEN];
        sv_datetime_format_instant(r.low, low);
        sv_datetime_format_instant(r.high, high);
        if (strcmp(low, c->low) != 0 || strcmp(high, c->high) != 0)
            fail_msg("\"%s\": [%s, %s], want [%s, %s]", c->in, low, high, c->low, c->high);
        if (r.precision != c->precision || r.has_time_zone != c->zone)
            fail_msg("\"%s\": precision %d zone %d", c->in, (int)r.precision, r.has_time_zone);
    }
}

/* The text need not be NUL-terminated: only len bytes are read. */
static void test_parse_length(void **state)
{
    (void)state;
    sv_datetime_range r;
    assert_true(sv_datetime_parse("2024-02-29XYZ", 10, &r));
    assert_int_equal(r.precision, SV_DATETIME_DAY);
    assert_false(sv_datetime_parse("2024-02-29", 9, &r));
}

/* days_from_civil agrees with glibc's timegm for every day from 1601 to 2400. */
static void test_days_from_civil(void **state)
{
    (void)state;
    for (int year = 1601; year <= 2400; year++) {
        for (int month = 1; month <= 12; month++) {
            struct tm tm = {.tm_year = year - 1900, .tm_mon = month - 1, .tm_mday = 1};
            int64_t days = (int64_t)timegm(&tm) / 86400;
            assert_int_equal(sv_datetime_days_from_civil(year, month, 1), days);
        }
    }
}

static void test_format_instant(void **state)
{
    (void)state;
    char out[SV_INSTANT_LEN];
    sv_datetime_format_instant(0, out);
    assert_string_equal(out, "1970-01-01T00:00:00.000Z");
    sv_datetime_format_instant(-1, out);
    assert_string_equal(out, "1969-12-31T23:59:59.999Z");
    sv_datetime_format_instant(INT64_C(1795326529123), out);
    assert_string_equal(out, "2026-11-22T05:48:49.123Z");
}

static void test_clock(void **state)
{
    (void)state;
    sv_clock_set_fixed(INT64_C(1795326529123));
    assert_int_equal(sv_clock_now_ms(), INT64_C(1795326529123));
    sv_clock_set_fixed(0);
    assert_true(sv_clock_now_ms() > INT64_C(1700000000000));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_cases),     cmocka_unit_test(test_parse_length),
        cmocka_unit_test(test_days_from_civil), cmocka_unit_test(test_format_instant),
        cmocka_unit_test(test_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
