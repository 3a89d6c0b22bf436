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
 * migration 8 derived them for the resources written before it.
 *
 * The same table holds the "served by" rows of the results indicators (which
 * organisation served which citizen when: a Task's owner at its authoredOn, an
 * Encounter's serviceProvider and an EpisodeOfCare's managingOrganization over
 * their period): type 'Patient' whatever the resource's type (rid says which
 * resource), param SV_SERVED_BY, target_id the citizen (the resource's `patient`),
 * target_type and code the type and id of who served as the reference row has them
 * (a PractitionerRole stays one; the reader maps it to its organisation), low and
 * high the least start and greatest end of the date (a Task's authoredOn counts as
 * its start only: low = high), multi 0.  So one range of idx_combined_lookup, in
 * citizen order, holds every service with no seek.  They follow every write and
 * delete like the rows above; schema migration 13 derived them for the resources
 * written before it.
 *
 * The policy's cost (docs/performance.md, store/access.h): a worklist row also
 * carries `patient`, the citizen of the resource's only Patient compartment (NULL for
 * none or several), and g_mask/g_from/g_to, a copy of a grant of the row's target
 * ("Type/id") for that citizen - the one live when it was taken, else the next; NULL
 * when there is none or the target's id has a '/' - with g_cat, its mask and the
 * resource's category (resource.category).  They are kept true by every write that
 * could change them, in its transaction: the resource's write (sv__combined_write),
 * its category (sv_access_set_category) and its citizen's grants
 * (sv_access_grants_replace, the only writer of derived grants: it rewrites the copies
 * of the holders whose grants it changed, and only those, since a copy of an unchanged
 * holder's grant is still a grant that exists), so that a copy is always a grant that
 * exists.  Time passing makes a copy stale but not wrong: the
 * reader checks the copy's period itself.  Depends on db/, base/.
 */
#ifndef SV_STORE_COMBINED_H
#define SV_STORE_COMBINED_H

#include <stdint.h>

#include "db/db.h"
#include "store/index.h"

/* The param of the served-by rows (no search parameter has this name). */
#define SV_SERVED_BY "served-by"

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

/* Takes the grant copies of patient's worklist rows again (after its grants changed). */
sv_err sv__combined_restamp(sv_db *db, const char *patient, sv_buf *reterr);
/* The same for the rows whose target is holder ("Organization/O") only: after the grants
 * of that holder for patient changed.  The copies of other holders' grants stay true. */
sv_err sv__combined_restamp_holder(sv_db *db, const char *patient, const char *holder,
                                   sv_buf *reterr);

/* The category of type/id's worklist rows (resource.category changed to category). */
sv_err sv__combined_set_category(sv_db *db, const char *type, const char *id, int category,
                                 sv_buf *reterr);

#endif
