/*
 * stays.h - hospital stays as events, and the rulesets that turn them into
 * notices and tasks with legal deadlines (docs/transitions.md).
 *
 * An Encounter's life (admitted, leave started/ended, discharge-ready, no longer
 * discharge-ready, discharged, died, corrected, cancelled) becomes events from
 * two sources: REST writes of Encounter (the write hooks compare the old and the
 * new version, inside the write's transaction) and MedCom HospitalNotifications
 * (the medcom_event rows, drained by sv_stays_feed after each message and on
 * every watchdog tick).  Each event is recorded (stay_event), told to the
 * citizen's home municipality, GP and coordinator (coord inbox), and runs the
 * ruleset chosen for the stay's organisation (data/rulesets, one JSON file each): tasks for
 * named parties with deadlines in the country's calendar, completion and
 * cancellation of earlier tasks, and the discharge board's row.
 *
 * Depends on coord/, medcom/, fhir/ and below; api/ uses it.  Rule writes run
 * as the process itself (no access filter, system actor): they are the rule's
 * act, not the caller's, and must not fail because the caller's organisation
 * cannot see the home municipality's task.
 */
#ifndef SV_STAYS_STAYS_H
#define SV_STAYS_STAYS_H

#include <jansson.h>

#include "base/buf.h"
#include "fhir/outcome.h"
#include "fhir/rest.h"
#include "medcom/medcom.h"

/* The loaded rulesets and the write hooks that use them.  Immutable once
 * loaded, so shared by every thread. */
typedef struct sv_stays sv_stays;

/* Loads every *.json in dir as a ruleset (format: docs/transitions.md) and
 * checks it whole: unknown keys, events, parties, conditions, deadlines that do
 * not parse, values without a source or a confirmed flag are errors naming the
 * file and the path.  A directory without rulesets loads as empty. */
sv_err sv_stays_load(const char *dir, sv_stays **ret, sv_buf *reterr);
void sv_stays_free(sv_stays *s); /* accepts NULL */

/* Number of rulesets loaded; the id of the i-th (borrowed). */
size_t sv_stays_count(const sv_stays *s);
const char *sv_stays_id(const sv_stays *s, size_t i);

/* The write hooks: coordination's (coord/coord.h) and then the stay rules.
 * Borrowed from s. */
const sv_rest_hooks *sv_stays_hooks(sv_stays *s);

/* Acts on every MedCom event row of a stay not yet handled (medcom_event,
 * handled = 0), each in its own write transaction that first claims it, so each
 * is acted on once across processes; a failing one is rolled back with its
 * claim and tried again next time.  r->db must not be in a transaction.
 * *ret_done (may be NULL) receives the number acted on. */
sv_err sv_stays_feed(sv_rest *r, sv_stays *s, int *ret_done, sv_buf *reterr);

/* Acts on one MedCom event inside the caller's open write transaction (the
 * message's own: medcom's apply hook, which wrote the event's row claimed).
 * *ret_handled says whether it acted; it does not when the event is not a
 * stay's or when an earlier row of the same stay still waits for the drain
 * (order is kept): medcom then leaves the row to the drain.  Without a savepoint of its own (SQLite
 * copies each page a savepoint's writes touch): on an error, what it wrote is left in the
 * transaction, which the caller must undo (medcom's writer then applies the
 * message again without the rules, and the row is left for sv_stays_feed). */
sv_err sv_stays_feed_event(sv_rest *r, sv_stays *s, const sv_medcom_event *ev, bool *ret_handled,
                           sv_buf *reterr);

/* Organization/[org_id]/$discharge-board: the stays discharge-ready and not
 * yet discharged at the organisation, or of citizens whose home municipality
 * or GP it is, that r->access may see; each with days left before the
 * municipality's payment responsibility (where the ruleset has one), the tasks
 * done and the tasks missing.  New object in *ret. */
sv_err sv_stays_board(sv_rest *r, sv_stays *s, const char *org_id, json_t **ret, sv_outcome *out);

#endif
