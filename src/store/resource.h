/*
 * resource.h - resources as JSON text with every version kept.
 *
 * The caller holds a write transaction (sv_db_begin) around a lookup of the
 * current version and the write of the next one, so that version numbers and
 * If-Match checks are exact.  The JSON written is the whole resource text with
 * meta.versionId / meta.lastUpdated already set by the caller; it is served back
 * without re-parsing.  Index rows replace the previous version's rows in the same
 * transaction.  Depends on db/ and store/index.h.
 */
#ifndef SV_STORE_RESOURCE_H
#define SV_STORE_RESOURCE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "store/access.h"
#include "store/index.h"

typedef struct sv_stored {
    char type[64];
    char id[65];
    int64_t version;
    int64_t last_updated; /* ms since 1970 UTC */
    int64_t seq;          /* global order of versions (history) */
    bool deleted;
    char method[8]; /* POST, PUT, PATCH, DELETE */
    int64_t rid;    /* the resource's row; 0 from sv_store_history */
    char *json;     /* owned; NULL when deleted or not asked for */
    size_t json_len;
} sv_stored;

void sv_stored_clear(sv_stored *s); /* frees json; accepts NULL */

/* The current version of type/id.  SV_ERR_NOT_FOUND when it never existed; a
 * deleted resource is returned with deleted = true (and no json). */
sv_err sv_store_current(sv_db *db, const char *type, const char *id, bool with_json, sv_stored *ret,
                        sv_buf *reterr);
/* sv_store_current (with json) of a resource visible to f (sv_access_visible), in
 * one statement; SV_ERR_NOT_FOUND also when it is invisible.  f NULL: no filter. */
sv_err sv_store_current_visible(sv_db *db, const sv_access_filter *f, const char *type,
                                const char *id, sv_stored *ret, sv_buf *reterr);
/* One version.  SV_ERR_NOT_FOUND when there is no such version. */
sv_err sv_store_vread(sv_db *db, const char *type, const char *id, int64_t version, sv_stored *ret,
                      sv_buf *reterr);
/* Writes version `version` (1 for a new resource, current + 1 otherwise).
 * json == NULL writes a deletion.  rows may be NULL (no index rows). */
sv_err sv_store_write(sv_db *db, const char *type, const char *id, int64_t version,
                      int64_t last_updated, const char *method, const char *json, size_t json_len,
                      const sv_index_rows *rows, sv_buf *reterr);
/* sv_store_write that also sets the resource's access category (store/access.h), in the
 * statement that writes the resource row: what sv_access_set_category after it leaves,
 * with the worklist rows (store/combined.h) carrying the category as they are written
 * instead of being updated again.  category < 0: kept (a new resource: the default). */
sv_err sv_store_write_category(sv_db *db, const char *type, const char *id, int64_t version,
                               int64_t last_updated, const char *method, const char *json,
                               size_t json_len, const sv_index_rows *rows, int category,
                               sv_buf *reterr);

/*
 * The current version of type/id parsed, as sv_store_current (with json) and
 * sv_json_loadb give it, from a memo of the few resources the connection's open
 * transaction read or wrote last (store/recent.c), so that the layers one
 * MedCom message passes through (its parties, the grant derivation, the stay
 * rules) read and parse the citizen once.  *ret_json is a new reference that is
 * shared with the memo: never change it.  A deleted resource gives SV_OK with
 * *ret_json NULL; a missing one SV_ERR_NOT_FOUND.  *ret_version may be NULL.
 * Outside a transaction it reads every time.  An entry lives while
 * sv_db_tx_serial stays the same (so no ROLLBACK TO can have undone what it
 * holds) and until sv_store_write writes its resource.
 */
sv_err sv_store_current_json(sv_db *db, const char *type, const char *id, json_t **ret_json,
                             int64_t *ret_version, sv_buf *reterr);
/* Enters json as the current version of type/id, which the caller has just
 * written in db's open transaction: the very value whose text sv_store_write
 * stored, which nobody may change from now on (the memo takes a reference).
 * Does nothing outside a transaction. */
void sv_store_recent_put(sv_db *db, const char *type, const char *id, int64_t version,
                         json_t *json);
/* What sv_store_current_json would give from the memo alone, with no statement
 * (that could fail, which on PostgreSQL aborts the transaction): true with a new
 * reference in *ret_json (never NULL) when the memo holds type/id. */
bool sv_store_recent_get(sv_db *db, const char *type, const char *id, json_t **ret_json,
                         int64_t *ret_version);
/* Forgets type/id (both NULL: everything): what writes a resource other than
 * through sv_store_write calls it. */
void sv_store_recent_forget(sv_db *db, const char *type, const char *id);

/* The ids of live resources of type that have the token index row (param, system,
 * value), at most two: matching a citizen by an identifier needs to know only
 * "none, one, or more than one", and this is one cached indexed statement where
 * a search would plan and prepare its own.  *ret_count is 0, 1 or 2. */
sv_err sv_store_find_token(sv_db *db, const char *type, const char *param, const char *system,
                           const char *value, char ret_ids[2][65], int *ret_count, sv_buf *reterr);
/* The same, and when there is exactly one: its current version parsed (a new
 * reference shared with the transaction's memo, as sv_store_current_json gives
 * it: never change it) and that version, read by the same statement.  With none
 * or two, *ret_json and *ret_version are left alone. */
sv_err sv_store_find_token_json(sv_db *db, const char *type, const char *param, const char *system,
                                const char *value, char ret_ids[2][65], int *ret_count,
                                json_t **ret_json, int64_t *ret_version, sv_buf *reterr);

/* Called per history entry, newest first; return false to stop.  s is borrowed. */
typedef bool (*sv_store_visit)(void *ctx, const sv_stored *s);

/* Replaces every index row of resource rid (of type) with rows (rows may be NULL:
 * none).  Needs a write transaction.  For rebuilding the index (fhir/reindex.h). */
sv_err sv_store_replace_rows(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                             sv_buf *reterr);
/* The count of resources whose current version is not a deletion. */
sv_err sv_store_count_current(sv_db *db, int64_t *ret_count, sv_buf *reterr);
/* Visits up to limit resources whose current version is not a deletion, with
 * rid > after_rid, in rid order (a resumable scan: pass the last s->rid seen).
 * s->json is borrowed from the statement for the call only; do not write to the
 * database from visit. */
sv_err sv_store_current_page(sv_db *db, int64_t after_rid, int64_t limit, sv_store_visit visit,
                             void *ctx, sv_buf *reterr);

typedef struct sv_history_query {
    const char *type;   /* NULL: all types */
    const char *id;     /* NULL: all ids (needs type) */
    int64_t since;      /* only versions with last_updated >= since; INT64_MIN: all */
    int64_t before_seq; /* paging cursor: only seq < before_seq; 0: from the newest */
    int64_t limit;
    /* Only versions of resources visible now under this filter (store/access.h);
     * NULL: all.  Borrowed. */
    const struct sv_access_filter *access;
} sv_history_query;

/* Visits matching versions newest first; *ret_total (may be NULL) is the count of
 * all matches ignoring before_seq and limit. */
sv_err sv_store_history(sv_db *db, const sv_history_query *q, sv_store_visit visit, void *ctx,
                        int64_t *ret_total, sv_buf *reterr);

#endif
