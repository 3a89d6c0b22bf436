/*
 * combined.h - combined index rows for the worklists of coordination.
 *
 * "My organisation's open Tasks by deadline" is a reference, a status and a date.
 * With one index row per parameter, the reference's rows are every Task the
 * organisation ever owned; each needs a seek for its status and another for its
 * deadline before the matches can be sorted.  A combined row holds all three for
 * one resource - (reference target, status code, least start and greatest end of
 * the date) - so that one range of idx_combined_lookup holds exactly the matches
 * of "owner=X&status=a,b" with their sort keys (docs/search.md).
 *
 * The definitions are data, below in combined.c: which (type, reference parameter)
 * gets combined rows, with which token parameter and which date parameter.  The
 * rows are derived from the resource's own index rows when it is written; schema
 * migration 8 derived them for the resources written before it.  Depends on db/.
 */
#ifndef SV_STORE_COMBINED_H
#define SV_STORE_COMBINED_H

#include <stdint.h>

#include "db/db.h"
#include "store/index.h"

typedef struct sv_combined_def {
    const char *type;      /* resource type */
    const char *reference; /* reference parameter: the driver (owner, service-provider) */
    const char *code;      /* token parameter with few values (status) */
    const char *date;      /* date parameter the worklist is sorted by (deadline) */
} sv_combined_def;

/* The definition for references of `reference` from resources of `type`, or NULL. */
const sv_combined_def *sv_combined_find(const char *type, const char *reference);

/* Writes the combined rows of resource rid (type) from its index rows; the caller has
 * deleted its old ones (SQL_DEL in resource.c).  Inside the write transaction. */
sv_err sv__combined_write(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                          sv_buf *reterr);

#endif
