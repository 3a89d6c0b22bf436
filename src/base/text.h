/*
 * text.h - text normalisation for string search.
 *
 * FHIR string search ignores case and accents, so SV_INDEX_STRING rows store the
 * folded form in `value` and the text as written in `exact`; the search side folds
 * the query the same way.  Also: making text valid UTF-8.  Depends only on base/buf.
 */
#ifndef SV_BASE_TEXT_H
#define SV_BASE_TEXT_H

#include <stddef.h>

#include "base/buf.h"

/*
 * Appends the folded form of text[0..len) (UTF-8) to ret_folded:
 *   - ASCII letters to lowercase;
 *   - Latin-1 Supplement and Latin Extended-A letters (U+00C0..U+017F) to their
 *     lowercase base letters: "Å"/"å"/"Ä" -> "a", "Ø"/"Ö" -> "o", "É" -> "e",
 *     "Æ"/"æ" -> "ae", "Œ" -> "oe", "ß" -> "ss", "Þ" -> "th", "Ł" -> "l", "Ĳ" -> "ij";
 *   - combining diacritical marks (U+0300..U+036F, decomposed accents) dropped;
 *   - no-break space (U+00A0) to a space;
 *   - everything else (other scripts, symbols, × and ÷) copied unchanged;
 *   - each byte of an invalid UTF-8 sequence (stray continuation, truncated,
 *     overlong, surrogate, > U+10FFFF) replaced by U+FFFD.
 * Embedded NUL bytes are copied like any other byte.
 */
void sv_text_fold(const char *text, size_t len, sv_buf *ret_folded);

/*
 * Appends text[0..len) to ret_valid with each byte of an invalid UTF-8 sequence
 * replaced by U+FFFD (the same rule as sv_text_fold), so that text echoing a
 * client's bad input can still go into JSON, which jansson refuses otherwise.
 */
void sv_text_utf8_sanitize(const char *text, size_t len, sv_buf *ret_valid);

#endif
