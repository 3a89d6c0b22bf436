/*
 * ident.h - national person identifiers: Swedish personnummer and
 * samordningsnummer, Danish CPR-nummer.
 *
 * The validator (validate.c) applies these to every Identifier whose system
 * is one of the SV_IDENT_SYSTEM_* URIs below.  The checks are offline and
 * syntactic: a number that passes may still not be issued to anyone.
 *
 * - personnummer (Skatteverket SKV 704): YYMMDD-NNNC, YYMMDD+NNNC (+: aged 100
 *   or more), YYMMDDNNNC, YYYYMMDDNNNC or YYYYMMDD-NNNC; a real calendar date
 *   not in the future; C is the Luhn check digit over the ten digits
 *   YYMMDDNNNC.
 * - samordningsnummer (SKV 707): the same, with 60 added to the day (61-91).
 * - CPR (CPR-kontoret): DDMMYY-SSSS or DDMMYYSSSS; the century follows from
 *   YY and the first digit of SSSS; a real date not in the future.  The
 *   modulus 11 check is not applied: numbers without it are issued since 2007.
 *
 * Reasons never contain the number itself: they end up in responses and logs,
 * and an identity number is personal data.
 * Depends on base/ only; must not depend on jansson or the FHIR model, so that
 * the checks can be reused for search parameters and import tools.
 */
#ifndef SV_FHIR_IDENT_H
#define SV_FHIR_IDENT_H

#include "base/buf.h"
#include "base/error.h"

#define SV_IDENT_SYSTEM_CPR "urn:oid:1.2.208.176.1.2"
#define SV_IDENT_SYSTEM_PERSONNUMMER "urn:oid:1.2.752.129.2.1.3.1"
#define SV_IDENT_SYSTEM_SAMORDNINGSNUMMER "urn:oid:1.2.752.129.2.1.3.3"

typedef enum sv_ident_kind {
    SV_IDENT_NONE,
    SV_IDENT_PERSONNUMMER,
    SV_IDENT_SAMORDNINGSNUMMER,
    SV_IDENT_CPR
} sv_ident_kind;

/* The kind of identifier an Identifier.system names; SV_IDENT_NONE if none. */
sv_ident_kind sv_ident_kind_from_system(const char *system);

/* Lowercase english name ("swedish personnummer"); "" for SV_IDENT_NONE. */
const char *sv_ident_kind_name(sv_ident_kind kind);

/*
 * Checks value (NUL-terminated) as an identifier of the given kind, judging
 * "not in the future" against today's date (UTC).  Returns SV_OK, or
 * SV_ERR_INVALID with the reason appended to reterr (may be NULL), e.g.
 * "check digit does not match".
 */
sv_err sv_ident_check(sv_ident_kind kind, const char *value, sv_buf *reterr);

/* Same, with today given as year, month (1-12) and day (1-31). */
sv_err sv_ident_check_at(sv_ident_kind kind, const char *value, int year, int month, int day,
                         sv_buf *reterr);

#endif
