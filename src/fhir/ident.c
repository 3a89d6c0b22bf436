/* ident.c - national person identifiers; see ident.h for the rules. */
#include "fhir/ident.h"

#include <stdbool.h>
#include <string.h>
#include <time.h>

sv_ident_kind sv_ident_kind_from_system(const char *system)
{
    if (!system)
        return SV_IDENT_NONE;
    if (strcmp(system, SV_IDENT_SYSTEM_PERSONNUMMER) == 0)
        return SV_IDENT_PERSONNUMMER;
    if (strcmp(system, SV_IDENT_SYSTEM_SAMORDNINGSNUMMER) == 0)
        return SV_IDENT_SAMORDNINGSNUMMER;
    if (strcmp(system, SV_IDENT_SYSTEM_CPR) == 0)
        return SV_IDENT_CPR;
    return SV_IDENT_NONE;
}

const char *sv_ident_kind_name(sv_ident_kind kind)
{
    switch (kind) {
    case SV_IDENT_PERSONNUMMER:
        return "swedish personnummer";
    case SV_IDENT_SAMORDNINGSNUMMER:
        return "swedish samordningsnummer";
    case SV_IDENT_CPR:
        return "danish cpr-nummer";
    case SV_IDENT_NONE:
        break;
    }
    return "";
}

static bool is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && is_leap(year))
        return 29;
    return days[month - 1];
}

static int digits(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

static long ymd(int year, int month, int day)
{
    return (long)year * 10000 + month * 100 + day;
}

static sv_err fail(sv_buf *reterr, const char *reason)
{
    if (reterr)
        sv_buf_adds(reterr, reason);
    return SV_ERR_INVALID;
}

/* Luhn over the ten digits YYMMDDNNNC: weights 2,1,2,... on the first nine. */
static bool luhn_ok(const char ten[10])
{
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        int d = (ten[i] - '0') * (i % 2 == 0 ? 2 : 1);
        sum += d > 9 ? d - 9 : d;
    }
    return (10 - sum % 10) % 10 == ten[9] - '0';
}

static sv_err check_swedish(bool samordning, const char *s, long today, sv_buf *reterr)
{
    size_t len = strlen(s);
    char ten[10];
    int year;
    char sep = 0;

    if (len == 10 || len == 11) {
        if (len == 11) {
            sep = s[6];
            if (sep != '-' && sep != '+')
                return fail(reterr, "separator must be '-' or '+'");
        }
        if (!all_digits(s, 6) || !all_digits(s + len - 4, 4))
            return fail(reterr, "must be 10 or 12 digits, optionally with '-' or '+' before "
                                "the last four");
        memcpy(ten, s, 6);
        memcpy(ten + 6, s + len - 4, 4);
    } else if (len == 12 || len == 13) {
        if (len == 13) {
            sep = s[8];
            if (sep == '+')
                return fail(reterr, "the '+' separator is only used with a two-digit year");
            if (sep != '-')
                return fail(reterr, "separator must be '-'");
        }
        if (!all_digits(s, 8) || !all_digits(s + len - 4, 4))
            return fail(reterr, "must be 10 or 12 digits, optionally with '-' or '+' before "
                                "the last four");
        memcpy(ten, s + 2, 6);
        memcpy(ten + 6, s + len - 4, 4);
    } else {
        return fail(reterr,
                    "must be 10 or 12 digits, optionally with '-' or '+' before the last four");
    }

    int yy = digits(ten, 2), month = digits(ten + 2, 2), day = digits(ten + 4, 2);
    if (samordning) {
        if (day < 61 || day > 91)
            return fail(reterr, "the day of a samordningsnummer is the day of birth plus 60 "
                                "(61-91)");
        day -= 60;
    } else if (day > 60 && day <= 91) {
        return fail(reterr, "day above 60 marks a samordningsnummer, which has its own system "
                            "(" SV_IDENT_SYSTEM_SAMORDNINGSNUMMER ")");
    }
    if (month < 1 || month > 12)
        return fail(reterr, "month must be 01-12");

    if (len >= 12) {
        year = digits(s, 4);
        if (year < 1800)
            return fail(reterr, "year of birth before 1800");
    } else {
        /* Two-digit year: the person is under 100 ('-' or no separator) or
         * 100 or over ('+'), counted from today. */
        int this_year = (int)(today / 10000);
        year = this_year - this_year % 100 + yy;
        if (year > this_year || (year == this_year && ymd(year, month, day) > today))
            year -= 100;
        if (sep == '+')
            year -= 100;
    }
    if (day < 1 || day > days_in_month(year, month))
        return fail(reterr, "no such date of birth");
    if (ymd(year, month, day) > today)
        return fail(reterr, "date of birth is in the future");
    if (!luhn_ok(ten))
        return fail(reterr, "check digit does not match");
    return SV_OK;
}

/* Century of a CPR-nummer from the first digit of the serial and the year
 * (CPR-kontoret, "Personnummeret i CPR"). */
static int cpr_century(int serial_first, int yy)
{
    if (serial_first <= 3)
        return 1900;
    if (serial_first == 4 || serial_first == 9)
        return yy <= 36 ? 2000 : 1900;
    return yy <= 57 ? 2000 : 1800; /* 5-8 */
}

static sv_err check_cpr(const char *s, long today, sv_buf *reterr)
{
    size_t len = strlen(s);
    const char *serial;

    if (len == 11) {
        if (s[6] != '-' || !all_digits(s, 6) || !all_digits(s + 7, 4))
            return fail(reterr, "must be DDMMYY-SSSS or ten digits");
        serial = s + 7;
    } else if (len == 10) {
        if (!all_digits(s, 10))
            return fail(reterr, "must be DDMMYY-SSSS or ten digits");
        serial = s + 6;
    } else {
        return fail(reterr, "must be DDMMYY-SSSS or ten digits");
    }
    int day = digits(s, 2), month = digits(s + 2, 2), yy = digits(s + 4, 2);
    int year = cpr_century(serial[0] - '0', yy) + yy;
    if (month < 1 || month > 12)
        return fail(reterr, "month must be 01-12");
    if (day < 1 || day > days_in_month(year, month))
        return fail(reterr, "no such date of birth");
    if (ymd(year, month, day) > today)
        return fail(reterr, "date of birth is in the future");
    return SV_OK;
}

sv_err sv_ident_check_at(sv_ident_kind kind, const char *value, int year, int month, int day,
                         sv_buf *reterr)
{
    long today = ymd(year, month, day);
    if (!value)
        return fail(reterr, "no value");
    switch (kind) {
    case SV_IDENT_PERSONNUMMER:
        return check_swedish(false, value, today, reterr);
    case SV_IDENT_SAMORDNINGSNUMMER:
        return check_swedish(true, value, today, reterr);
    case SV_IDENT_CPR:
        return check_cpr(value, today, reterr);
    case SV_IDENT_NONE:
        break;
    }
    return SV_OK;
}

sv_err sv_ident_check(sv_ident_kind kind, const char *value, sv_buf *reterr)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    return sv_ident_check_at(kind, value, tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, reterr);
}
