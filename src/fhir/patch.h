/*
 * patch.h - JSON Patch (RFC 6902) for FHIR PATCH with application/json-patch+json.
 *
 * Operations add, remove, replace, move, copy and test, with JSON Pointer
 * (RFC 6901) paths: "~0" is "~" and "~1" is "/", "-" appends to an array,
 * array indexes are decimal without leading zeros.  Numbers compare by value
 * in "test" (1 equals 1.0), everything else as in RFC 6902 section 4.6.
 * Depends on base/, fhir/outcome and jansson; nothing about storage or HTTP.
 */
#ifndef SV_FHIR_PATCH_H
#define SV_FHIR_PATCH_H

#include <stddef.h>
#include <jansson.h>

#include "base/error.h"
#include "fhir/outcome.h"

/*
 * Limits on what a patch may make the server do.  Without them a handful of
 * "copy" operations, each copying a member into itself, doubles the document
 * every time, and a deep copy into a deep place outgrows the stack of every
 * recursive jansson function that later touches the document.
 */
typedef struct sv_patch_limits {
    size_t max_operations; /* entries in the patch array */
    size_t max_depth;      /* nesting of inserted values, counted like sv_json_parse() */
    size_t max_new_values; /* JSON values created by add, replace and copy, summed */
} sv_patch_limits;

#define SV_PATCH_LIMITS_DEFAULT                                                                    \
    {                                                                                              \
        1000, 64, 100000                                                                           \
    }

/*
 * Applies patch (the parsed request body, borrowed) to doc (a resource
 * object, borrowed and modified in place) with SV_PATCH_LIMITS_DEFAULT.
 *
 * Atomic: the operations run on a deep copy of doc, which is copied back
 * into doc only when every operation succeeded; on any failure doc is
 * unchanged.  (Exception: if jansson runs out of memory while copying back,
 * SV_ERR_NOMEM is returned and doc is incomplete; jansson allocation failure
 * is fatal for the request anyway.)  Member order is kept; added members go
 * last.
 *
 * Errors, each with one issue appended to out (out may be NULL) whose
 * expression names the operation and member, e.g. "patch[3].path":
 *   SV_ERR_INVALID     the patch document is malformed: not an array, an
 *                      operation without "op"/"path", an unknown op, a
 *                      missing "value" or "from", a path that is not a JSON
 *                      Pointer.  All operations are checked before any runs.
 *   SV_ERR_PROCESSING  a well-formed operation cannot be applied: the path
 *                      does not exist, an array index is out of range or
 *                      not a valid index, "test" fails, a move into its own
 *                      child, an operation that changes or removes
 *                      "resourceType", replacing the whole document with
 *                      something that is not an object.
 *   SV_ERR_TOO_DEEP    an inserted value would nest deeper than max_depth.
 *   SV_ERR_TOO_LARGE   more than max_operations operations, or more than
 *                      max_new_values values created.
 *   SV_ERR_INTERNAL    doc is not an object (a caller bug).
 *
 * "id" and "meta" are not protected here: the caller must check afterwards
 * that id still matches the URL and must overwrite meta.versionId and
 * meta.lastUpdated as for any update.
 */
sv_err sv_json_patch_apply(json_t *doc, const json_t *patch, sv_outcome *out);
/*
 * The same with the caller's limits (NULL: the defaults).  A server whose
 * request-body depth limit is not 64 should pass that limit as max_depth, so
 * that a patched resource can always be read back under it.
 */
sv_err sv_json_patch_apply_limited(json_t *doc, const json_t *patch, const sv_patch_limits *limits,
                                   sv_outcome *out);

#endif
