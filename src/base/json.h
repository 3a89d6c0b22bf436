/*
 * json.h - safe JSON intake for request bodies, and compact output.
 *
 * sv_json_parse() puts a cheap, non-recursive scan of the raw bytes in front
 * of jansson, so that nesting beyond the caller's limit and NUL bytes are
 * refused with an exact byte offset before jansson's recursive parser sees
 * them; jansson then parses with JSON_REJECT_DUPLICATES and checks UTF-8.
 * The caller still has to limit the body size before calling (CONVENTIONS:
 * limits on everything a user controls).
 * Depends on base/buf, base/error and jansson; nothing FHIR-specific.
 */
#ifndef SV_BASE_JSON_H
#define SV_BASE_JSON_H

#include <stddef.h>
#include <jansson.h>

#include "base/buf.h"
#include "base/error.h"

/* Which kinds of value sv_json_parse() accepts at the top level (OR them). */
#define SV_JSON_TOP_OBJECT 0x1u /* a resource */
#define SV_JSON_TOP_ARRAY 0x2u  /* e.g. a JSON Patch document */
#define SV_JSON_TOP_SCALAR 0x4u /* string, number, true, false, null */
#define SV_JSON_TOP_ANY (SV_JSON_TOP_OBJECT | SV_JSON_TOP_ARRAY | SV_JSON_TOP_SCALAR)

/*
 * Parses len bytes of text (need not be NUL-terminated).
 *
 * Nesting depth counts containers: "{}" is 1, {"a":[1]} is 2, a bare scalar
 * is 0.  A document deeper than max_depth fails with SV_ERR_TOO_DEEP and the
 * offset of the first bracket past the limit.  jansson has a built-in limit
 * of its own (2048 in Debian 12), also reported as SV_ERR_TOO_DEEP.
 *
 * top is a set of SV_JSON_TOP_* bits (at least one).  A top-level value of
 * another kind fails with SV_ERR_PARSE at the offset of its first byte.
 *
 * Other failures are SV_ERR_PARSE (or SV_ERR_NOMEM) with the message
 * "malformed json at byte N: <what>".  N is exact for NUL bytes, invalid
 * UTF-8 and nesting; for syntax errors it is where jansson stopped, which is
 * just past the offending token (e.g. 10 for the second key of
 * {"a":1,"a":2}), and len for truncated input.  Duplicate member names,
 * "\u0000" escapes and lone surrogates are refused.  A byte order mark is
 * not skipped: it is refused as malformed.
 *
 * A number that cannot be held as written fails with SV_ERR_INVALID and says
 * where: a real beyond the double range (1e400), one so small that it would
 * become 0 or lose digits as a subnormal (1e-400), an integer beyond int64.
 * (Within range, a real is a double: see sv_json_dumpb on precision.)
 *
 * On success *ret_json is a new reference (caller decrefs).  On failure
 * *ret_json is untouched, the message is appended to reterr and the offset
 * stored in *ret_offset; reterr and ret_offset may be NULL.
 */
sv_err sv_json_parse(const char *text, size_t len, size_t max_depth, unsigned top,
                     json_t **ret_json, sv_buf *reterr, size_t *ret_offset);
/* The same; when a value is refused, its element path ("Observation.valueQuantity.value":
 * the keys and [indexes] from the root, after the top-level resourceType when one came
 * before it) is appended to ret_path (may be NULL; nothing for syntax errors). */
sv_err sv_json_parse_at(const char *text, size_t len, size_t max_depth, unsigned top,
                        json_t **ret_json, sv_buf *reterr, size_t *ret_offset, sv_buf *ret_path);

/*
 * Appends the compact serialisation of j (any value, not only containers) to
 * out.  Object members keep their insertion order; non-ASCII text is written
 * as UTF-8, not as \u escapes.  Each real is written with the fewest digits
 * (15 to 17) that read back as the same double: 98.6 stays 98.6, and
 * 66.899999999999991 is not turned into 66.9.  (Trailing zeros of a decimal,
 * "1.50", are lost: jansson keeps a double, not the text.)  Returns
 * SV_ERR_INTERNAL (out unchanged) if j is NULL.
 */
sv_err sv_json_dumpb(const json_t *j, sv_buf *out);

/* Appends s[0..len) as a JSON string, quoted and escaped exactly as sv_json_dumpb
 * writes a string value: for output built as text rather than as a tree.  The
 * bytes are copied as they are (the caller gives UTF-8). */
void sv_json_add_string(sv_buf *out, const char *s, size_t len);

/*
 * json_loadb(text, len, flags, ret_error) with the same result, faster: a reader
 * of its own builds the value when it is sure jansson would build the same one,
 * and hands everything else (any error, a duplicate key under
 * JSON_REJECT_DUPLICATES, flags other than that and JSON_DECODE_ANY) to
 * json_loadb, which then answers (json_load.c).  New reference or NULL.
 */
json_t *sv_json_loadb(const char *text, size_t len, size_t flags, json_error_t *ret_error);

/* The fast reader of sv_json_loadb alone, nesting limited to max_depth as
 * sv_json_parse counts it: the value jansson would build, or NULL whenever it is
 * not sure (then nothing is said about the text).  It takes no number that
 * sv_json_parse refuses as out of range, so sv_json_parse trusts a value it builds
 * without its scan of the raw bytes. */
json_t *sv__json_read(const char *text, size_t len, size_t flags, size_t max_depth);

#endif
