/*
 * access.h - the storage side of the access policy (docs/access.md): the
 * access_grant table and the SQL condition that keeps invisible resources out
 * of every query.
 *
 * A resource is visible to a filter when, for every Patient compartment it is
 * in (its "_compartment" index rows), a grant of one of the filter's holders
 * for that patient is live at `now` and shares a bit with both the filter's
 * mask (the role's categories) and the resource's category (resource.category).
 * A resource in no compartment is visible.  The condition is one constant SQL
 * fragment per row-id expression (SV_ACCESS_VISIBLE) with six bound values
 * (sv_access_bind); a NULL filter binds "bypass" and costs one comparison.
 * What the grants are, and which principal holds which, is decided above this
 * layer (policy/).  Depends on db/.
 */
#ifndef SV_STORE_ACCESS_H
#define SV_STORE_ACCESS_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"

/* Data categories (bits of resource.category and access_grant.mask). */
enum {
    SV_CAT_COORDINATION = 1,
    SV_CAT_MEDICATION = 2,
    SV_CAT_CLINICAL = 4,
    SV_CAT_SOCIAL = 8,
    SV_CAT_SENSITIVE = 16,
    SV_CAT_ALL = 31,
};

/* Far past and future, for open periods. */
#define SV_ACCESS_NEVER INT64_MIN
#define SV_ACCESS_FOREVER INT64_MAX

/* Whose grants apply and to which categories.  Strings borrowed. */
typedef struct sv_access_filter {
    const char *holder1; /* e.g. "Organization/O" */
    const char *holder2; /* e.g. "user:anna" (break-the-glass); may equal holder1 */
    int64_t now;         /* ms since 1970 UTC */
    int mask;            /* categories the principal's role allows */
} sv_access_filter;

/* "(bypass OR every compartment of <rid> has a live grant)"; rid is a SQL
 * expression naming a resource row id, e.g. "m.rid".  Binds: sv_access_bind.
 * One seek per holder rather than "holder IN (?, ?)": SQLite builds a temporary
 * index of an IN list of bound values on each run, which cost a read under the
 * policy more than the seeks (the second holder is looked at only when the first
 * has no grant). */
#define SV_ACCESS_GRANT_(holder)                                                                   \
    "NOT EXISTS (SELECT 1 FROM access_grant ag_ WHERE ag_.patient = pc_.target_id AND"             \
    " ag_.holder = " holder " AND ag_.t_from <= ? AND ag_.t_to > ? AND"                            \
    " (ag_.mask & ? & rc_.category) != 0)"
#define SV_ACCESS_EVERY_(rid)                                                                      \
    "NOT EXISTS (SELECT 1 FROM idx_reference pc_ JOIN resource rc_ ON rc_.rid = pc_.rid"           \
    " WHERE pc_.rid = " rid                                                                        \
    " AND pc_.param = '_compartment' AND " SV_ACCESS_GRANT_("?") " AND " SV_ACCESS_GRANT_("?") ")"
#define SV_ACCESS_VISIBLE(rid) "(? OR " SV_ACCESS_EVERY_(rid) ")"
/* The number of values SV_ACCESS_VISIBLE binds. */
#define SV_ACCESS_BINDS 9

/*
 * The same condition, without its bypass, on a worklist row w of idx_combined
 * (store/combined.h), for the row's own resource, where every row of the caller's
 * range that has a copy of a grant has the filter's first holder as its target
 * (owner=Organization/O asked by Organization/O: store/search.c): first whether the
 * copy answers - the resource is in one compartment only, and the copy is live at
 * `now` and shares a bit with the mask and the category - and only when it does not,
 * the general check above.  A copy is a grant that exists (the writes keep it so), so
 * "yes" from it is the general check's answer; "no" sends the row to the general
 * check.  Binds: sv_access_row_value.
 */
#define SV_ACCESS_VISIBLE_ROW(w)                                                                   \
    "(((" w ".g_cat & ?) != 0 AND " w ".g_from <= ? AND " w                                        \
    ".g_to > ?) OR " SV_ACCESS_EVERY_(w ".rid") ")"
#define SV_ACCESS_ROW_BINDS 11
/* Value k of SV_ACCESS_ROW_BINDS, as sv_access_value. */
void sv_access_row_value(const sv_access_filter *f, int k, const char **ret_text, int64_t *ret_int);

/* Binds SV_ACCESS_VISIBLE's values from index i; returns the next index. */
int sv_access_bind(sv_stmt *st, int i, const sv_access_filter *f);
/* The same values one by one (for assembled SQL): value k of SV_ACCESS_BINDS, as
 * text (*ret_text non-NULL) or an integer. */
void sv_access_value(const sv_access_filter *f, int k, const char **ret_text, int64_t *ret_int);

/*
 * Whether type/id is visible to f (NULL: always).  A resource that does not
 * exist answers false; so does a deleted one of a category other than 0 (its
 * compartment is gone with its index rows, so nobody under a policy sees it).
 */
sv_err sv_access_visible(sv_db *db, const sv_access_filter *f, const char *type, const char *id,
                         bool *ret_visible, sv_buf *reterr);

/* Whether f has a live grant for patient sharing a bit with category. */
sv_err sv_access_patient_allows(sv_db *db, const sv_access_filter *f, const char *patient,
                                int category, bool *ret_allowed, sv_buf *reterr);

/* Calls fn for each patient whose compartment holds the current version of
 * type/id (none when missing or deleted). */
typedef void (*sv_access_patient_fn)(void *ctx, const char *patient);
sv_err sv_access_compartments(sv_db *db, const char *type, const char *id, sv_access_patient_fn fn,
                              void *ctx, sv_buf *reterr);

/* One derived grant. */
typedef struct sv_access_grant {
    const char *holder;
    int mask;
    int64_t from, to;
} sv_access_grant;

/* Replaces the derived grants of patient with grants[0..n) (break-the-glass
 * grants stay).  Inside the caller's write transaction.  It reads the stored ones
 * and writes only the difference - a grant deleted, inserted, or updated when one
 * starting at the same time for the same holder changed its end or mask - and takes
 * the worklist copies (store/combined.h) of the holders whose grants changed again:
 * a derivation that changed nothing writes nothing. */
sv_err sv_access_grants_replace(sv_db *db, const char *patient, const sv_access_grant *grants,
                                size_t n, sv_buf *reterr);
/* Calls fn for each grant of patient held by holder1 or holder2 (any time). */
typedef void (*sv_access_grant_fn)(void *ctx, int mask, int64_t from, int64_t to);
sv_err sv_access_grants_of(sv_db *db, const char *patient, const char *holder1, const char *holder2,
                           sv_access_grant_fn fn, void *ctx, sv_buf *reterr);

/* Adds a break-the-glass grant with its reason.  Inside a write transaction. */
sv_err sv_access_grant_add(sv_db *db, const char *patient, const sv_access_grant *grant,
                           const char *reason, sv_buf *reterr);

/* Whether holder has a live break-the-glass grant (derived = 0) for patient at now. */
sv_err sv_access_btg_live(sv_db *db, const char *patient, const char *holder, int64_t now,
                          bool *ret_live, sv_buf *reterr);

/* The end of holder's last break-the-glass grant (derived = 0) for any patient,
 * SV_ACCESS_NEVER when it holds none: before it, sv_access_btg_live may say yes;
 * from it on, no. */
sv_err sv_access_btg_until(sv_db *db, const char *holder, int64_t *ret_until, sv_buf *reterr);

/* Sets resource.category of type/id (current row). */
sv_err sv_access_set_category(sv_db *db, const char *type, const char *id, int category,
                              sv_buf *reterr);

/* Visits up to limit current, not deleted resources with rid > after_rid in rid
 * order, with their text (s->json borrowed for the call); *ret_last_rid gets the
 * last rid visited (unchanged when none). */
typedef bool (*sv_access_scan_fn)(void *ctx, int64_t rid, const char *type, const char *id,
                                  const char *json, size_t json_len);
sv_err sv_access_scan(sv_db *db, int64_t after_rid, int64_t limit, sv_access_scan_fn fn, void *ctx,
                      int64_t *ret_last_rid, sv_buf *reterr);

/* access_state.built: whether the grants of older data have been derived. */
sv_err sv_access_built(sv_db *db, bool *ret_built, sv_buf *reterr);
sv_err sv_access_set_built(sv_db *db, bool built, sv_buf *reterr);

#endif
