/*
 * datetime.h - FHIR date/time values and the clock.
 *
 * Instants are int64 milliseconds since 1970-01-01T00:00:00Z.  The clock can be
 * pinned for tests (sv_clock_set_fixed) so that nothing needs to sleep.
 * FHIR date, dateTime and instant values parse to the inclusive range of
 * milliseconds they cover at their precision (search compares ranges).
 * Depends only on libc.
 */
#ifndef SV_BASE_DATETIME_H
#define SV_BASE_DATETIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SV_INSTANT_LEN 32

/* Current time in ms; the fixed time when one is set. */
int64_t sv_clock_now_ms(void);
/* Pins the clock to ms (tests); 0 returns to the real clock. */
void sv_clock_set_fixed(int64_t ms);

/* Writes e.g. "2026-11-22T05:48:49.123Z" (always UTC, millisecond precision). */
void sv_datetime_format_instant(int64_t ms, char out[SV_INSTANT_LEN]);

typedef enum sv_datetime_precision {
    SV_DATETIME_YEAR,     /* "2024" */
    SV_DATETIME_MONTH,    /* "2024-02" */
    SV_DATETIME_DAY,      /* "2024-02-29" */
    SV_DATETIME_MINUTE,   /* "2024-02-29T10:30Z" (search values; not valid FHIR data) */
    SV_DATETIME_SECOND,   /* "2024-02-29T10:30:00Z" */
    SV_DATETIME_FRACTION, /* "2024-02-29T10:30:00.5Z": as many digits as written, to 1 ms */
} sv_datetime_precision;

typedef struct sv_datetime_range {
    int64_t low, high; /* inclusive, ms since 1970 UTC; low == high at ms precision */
    sv_datetime_precision precision;
    bool has_time_zone; /* false for dates, and for times written without a zone */
} sv_datetime_range;

/*
 * Parses text[0..len) as a FHIR date (YYYY, YYYY-MM, YYYY-MM-DD), dateTime or
 * instant (YYYY-MM-DDThh:mm:ss[.f+](Z|+hh:mm|-hh:mm)) into the range it covers,
 * e.g. "2024-02" -> 2024-02-01T00:00:00.000Z .. 2024-02-29T23:59:59.999Z.
 *
 * Dates, and times written without a zone, are taken as UTC: a stored value has no
 * local zone we could know, and UTC keeps the index independent of the server's TZ.
 * Seconds may be omitted ("hh:mm") because search values allow it.  Years run from
 * 0001 to 9999; second 60 (leap second) is accepted and counts as the next minute.
 * Rejects anything else: Feb 30, month 13, hour 24 or 25, minute 60, offset beyond
 * 14:00, missing digits, trailing text.  Returns true on success; ret_range is
 * untouched on failure.
 */
bool sv_datetime_parse(const char *text, size_t len, sv_datetime_range *ret_range);

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12, day 1..31). */
int64_t sv_datetime_days_from_civil(int year, int month, int day);

#endif
