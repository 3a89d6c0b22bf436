/*
 * feed.c - the MedCom side: every applied HospitalNotification left a row in
 * medcom_event (medcom/ledger.c) in its own transaction.  The rows of stays are
 * claimed here one at a time (UPDATE ... WHERE handled = 0) in the transaction
 * that acts on them, so each is acted on once also with several processes, and
 * a crash between the message's commit and this leaves the row for the next
 * drain (after the next message, or the next watchdog tick).  Rows of other
 * kinds (communication.received, ...) are left for their own consumers.
 *
 * sv_stays_feed_event acts on one message's row inside that message's own
 * transaction (medcom's apply hook, which writes the row claimed), so that an
 * ordinary message costs one commit, not two; the drain above stays the durable
 * path for the rest, also for a message whose rules failed (medcom's writer undoes
 * the transaction and applies the message again without them: src/medcom/process.c).
 */
#include <stdio.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "store/audit.h"
#include "store/resource.h"
#include "stays/internal.h"

static const char SQL_NEXT[] =
    "SELECT seq, kind, activity, patient_id, encounter_id, time FROM medcom_event"
    " WHERE handled = 0 AND seq > ? AND (kind LIKE 'encounter.%' OR kind = 'patient.died')"
    " ORDER BY seq LIMIT 1";
static const char SQL_CLAIM[] = "UPDATE medcom_event SET handled = 1 WHERE seq = ? AND handled = 0";
/* An earlier row of the same stay still waiting: the drain must act on it first. */
static const char SQL_EARLIER[] = "SELECT 1 FROM medcom_event WHERE handled = 0 AND seq < ?"
                                  " AND encounter_id = ? LIMIT 1";

typedef struct row {
    int64_t seq, time;
    char kind[48], activity[64], patient[80], encounter[80];
} row;

static void col(sv_stmt *st, int c, char *out, size_t cap)
{
    const char *s = sv_stmt_column_text(st, c, NULL);
    snprintf(out, cap, "%s", s ? s : "");
}

static sv_err next(sv_db *db, int64_t after, row *ret, bool *found, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_NEXT, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, after);
    e = sv_stmt_step(st, found, reterr);
    if (!e && *found) {
        ret->seq = sv_stmt_column_int64(st, 0);
        col(st, 1, ret->kind, sizeof(ret->kind));
        col(st, 2, ret->activity, sizeof(ret->activity));
        col(st, 3, ret->patient, sizeof(ret->patient));
        col(st, 4, ret->encounter, sizeof(ret->encounter));
        ret->time = sv_stmt_column_int64(st, 5);
    }
    sv_stmt_reset(st);
    return e;
}

/* The stay's Encounter (and its citizen's Patient when at hand) as now stored,
 * through the transaction's memo (store/recent.c): after a message they are what
 * the message just wrote or read, so nothing is read or parsed again.  Shared:
 * read only.  enc NULL after load: the Encounter is gone, nothing to act on. */
typedef struct loaded {
    json_t *enc, *citizen;
    int64_t version;
    bool peeked; /* enc came from the memo alone */
} loaded;

/* From the memo alone, with no statement. */
static void peek(sv_db *db, const row *w, loaded *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!w->patient[0] || !w->encounter[0])
        return;
    ret->peeked = sv_store_recent_get(db, "Encounter", w->encounter, &ret->enc, &ret->version);
    if (ret->peeked && !sv_store_recent_get(db, "Patient", w->patient, &ret->citizen, NULL))
        ret->citizen = NULL;
}

/* What peek did not find, read. */
static sv_err load(sv_db *db, const row *w, loaded *l, sv_buf *reterr)
{
    if (l->peeked || !w->patient[0] || !w->encounter[0] ||
        !sv_id_valid(w->encounter, strlen(w->encounter)))
        return SV_OK;
    sv_err e = sv_store_current_json(db, "Encounter", w->encounter, &l->enc, &l->version, reterr);
    return e == SV_ERR_NOT_FOUND ? SV_OK : e; /* deleted since: nothing to act on */
}

static void loaded_clear(loaded *l)
{
    json_decref(l->enc);
    json_decref(l->citizen);
    memset(l, 0, sizeof(*l));
}

static sv_err act(sv_rest *r, sv_stays *s, const row *w, const loaded *l, sv_buf *reterr)
{
    const json_t *enc = l->enc;
    if (!enc)
        return SV_OK;
    char patient[SV_COORD_REF_LEN], encounter[SV_COORD_REF_LEN], detail[120];
    snprintf(patient, sizeof(patient), "Patient/%s", w->patient);
    snprintf(encounter, sizeof(encounter), "Encounter/%s", w->encounter);
    snprintf(detail, sizeof(detail), "MedCom %s", w->activity);
    const json_t *period = json_object_get(enc, "period");
    int64_t at = w->time;
    if (strcmp(w->kind, "encounter.admitted") == 0 && json_object_get(period, "start"))
        at = sv__coord_time(json_object_get(period, "start"));
    else if ((strcmp(w->kind, "encounter.discharged") == 0 ||
              strcmp(w->kind, "patient.died") == 0) &&
             json_object_get(period, "end"))
        at = sv__coord_time(json_object_get(period, "end"));
    if (at == INT64_MIN)
        at = w->time;
    bool revision =
        strcmp(w->kind, "encounter.corrected") == 0 || strcmp(w->kind, "encounter.cancelled") == 0;
    sv__stay_event ev = {.kind = w->kind,
                         .source = "medcom",
                         .medcom_seq = w->seq,
                         .patient = patient,
                         .encounter = encounter,
                         .resource = enc,
                         .version = l->version,
                         .citizen = l->citizen,
                         .at = at,
                         .detail = revision ? detail : NULL};
    return sv__stays_run(r, s, &ev, reterr);
}

static bool is_stay_kind(const char *kind)
{
    return kind && (strncmp(kind, "encounter.", 10) == 0 || strcmp(kind, "patient.died") == 0);
}

static sv_err earlier_waiting(sv_db *db, int64_t seq, const char *encounter, bool *ret)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_EARLIER, &st, NULL);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, seq);
    sv_stmt_bind_text(st, 2, encounter);
    e = sv_stmt_step(st, ret, NULL);
    sv_stmt_reset(st);
    return e;
}

sv_err sv_stays_feed_event(sv_rest *caller, sv_stays *s, const sv_medcom_event *ev,
                           bool *ret_handled, sv_buf *reterr)
{
    *ret_handled = false;
    if (!s || !is_stay_kind(ev->kind) || !ev->patient_id || !ev->encounter_id)
        return SV_OK;
    sv_rest r = *caller;
    r.access = NULL;
    r.actor = &sv_audit_system;
    r.hooks = sv_stays_hooks(s);
    bool earlier = false;
    sv_err e = earlier_waiting(r.db, ev->seq, ev->encounter_id, &earlier);
    if (e || earlier)
        return e;
    row w = {.seq = ev->seq, .time = ev->time};
    snprintf(w.kind, sizeof(w.kind), "%s", ev->kind);
    snprintf(w.activity, sizeof(w.activity), "%s", ev->activity ? ev->activity : "");
    snprintf(w.patient, sizeof(w.patient), "%s", ev->patient_id);
    snprintf(w.encounter, sizeof(w.encounter), "%s", ev->encounter_id);
    /* The row was written claimed for this (medcom.h, the apply hook). */
    loaded l;
    peek(r.db, &w, &l);
    e = load(r.db, &w, &l, reterr);
    if (!e)
        e = act(&r, s, &w, &l, reterr);
    loaded_clear(&l);
    *ret_handled = !e;
    return e;
}

sv_err sv_stays_feed(sv_rest *caller, sv_stays *s, int *ret_done, sv_buf *reterr)
{
    if (ret_done)
        *ret_done = 0;
    if (!s) /* rules = off: no stay events are acted on */
        return SV_OK;
    sv_rest r = *caller;
    r.access = NULL;
    r.actor = &sv_audit_system;
    r.hooks = sv_stays_hooks(s);
    int done = 0;
    int64_t after = 0;
    sv_err e = SV_OK, first = SV_OK;
    for (;;) {
        e = sv_db_begin(r.db, SV_TX_WRITE, reterr);
        if (e)
            break;
        row w;
        bool found = false;
        e = next(r.db, after, &w, &found, reterr);
        if (e || !found) {
            if (e)
                sv_db_rollback(r.db);
            else
                e = sv_db_commit(r.db, reterr);
            break;
        }
        after = w.seq;
        sv_stmt *st;
        e = sv_db_stmt(r.db, SQL_CLAIM, &st, reterr);
        if (!e) {
            sv_stmt_bind_int64(st, 1, w.seq);
            e = sv_stmt_run(st, reterr);
        }
        bool claimed = !e && sv_db_changes(r.db) == 1;
        if (!e && claimed) {
            loaded l = {0};
            e = load(r.db, &w, &l, reterr);
            if (!e)
                e = act(&r, s, &w, &l, reterr);
            loaded_clear(&l);
        }
        if (!e)
            e = sv_db_commit(r.db, reterr);
        if (e) {
            /* rolled back with its claim: the next drain tries it again */
            sv_db_rollback(r.db);
            if (!first)
                first = e;
            e = SV_OK;
            continue;
        }
        done += claimed;
    }
    if (ret_done)
        *ret_done = done;
    return e ? e : first;
}
