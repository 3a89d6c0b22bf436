/* notify.c - see notify.h. */
#include "coord/notify.h"

#include <stdio.h>
#include <string.h>

#include "base/datetime.h"
#include "coord/notify_wait.h"
#include "coord/util.h"

static const char *const kinds[] = {
    SV_NOTICE_TASK_NEW,          SV_NOTICE_TASK_REASSIGNED,      SV_NOTICE_TASK_REMINDER,
    SV_NOTICE_TASK_OVERDUE,      SV_NOTICE_TASK_ESCALATED,       SV_NOTICE_PLAN_CHANGED,
    SV_NOTICE_PLAN_AWAITING,     SV_NOTICE_COORDINATOR_CHANGED,  SV_NOTICE_MESSAGE_RECEIVED,
    SV_NOTICE_MEDICATION_CHANGE, SV_NOTICE_MEDICATION_DISPUTED,  SV_NOTICE_REHABILITATION_PLAN,
    SV_NOTICE_STAY_ADMITTED,     SV_NOTICE_STAY_LEAVE_STARTED,   SV_NOTICE_STAY_LEAVE_ENDED,
    SV_NOTICE_STAY_READY,        SV_NOTICE_STAY_READY_WITHDRAWN, SV_NOTICE_STAY_DISCHARGED,
    SV_NOTICE_STAY_DIED,         SV_NOTICE_STAY_CORRECTED,       SV_NOTICE_STAY_CANCELLED,
    SV_NOTICE_BREAK_THE_GLASS,   SV_NOTICE_PLAN_AGREED,          SV_NOTICE_MEETING_CALLED,
    SV_NOTICE_MEETING_CHANGED,   SV_NOTICE_CITIZEN_REMINDER,
};

bool sv_coord_notice_kind_known(const char *kind)
{
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
        if (kind && strcmp(kind, kinds[i]) == 0)
            return true;
    return false;
}

static const char SQL_INSERT[] =
    "INSERT INTO coord_notification (recipient, organization, kind, citizen, resource, text,"
    " created) VALUES (?, ?, ?, ?, ?, ?, ?)";

/* The payload is the notice's owner (recipient, else organisation), for a
 * listener that wants to filter; ours wakes every waiter (notify_wait.h). */
static const char SQL_PG_NOTIFY[] =
    "SELECT pg_notify('" SV_COORD_NOTICE_CHANNEL "', CAST(? AS TEXT))";

sv_err sv_coord_notify(sv_db *db, const sv_coord_notice *n, sv_buf *reterr)
{
    if ((!n->recipient && !n->organization) || !sv_coord_notice_kind_known(n->kind))
        return SV_ERR_INTERNAL;
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_INSERT, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, n->recipient);
    sv_stmt_bind_text(st, 2, n->organization);
    sv_stmt_bind_text(st, 3, n->kind);
    sv_stmt_bind_text(st, 4, n->citizen);
    sv_stmt_bind_text(st, 5, n->resource);
    sv_stmt_bind_text(st, 6, n->text);
    sv_stmt_bind_int64(st, 7, sv_clock_now_ms());
    e = sv_stmt_run(st, reterr);
    if (e)
        return e;
    /* Other processes on the database learn of it at commit (PostgreSQL holds a
     * NOTIFY until then and drops it on rollback); this one after its commit. */
    if (sv_db_dialect_of(db) == SV_DIALECT_POSTGRES) {
        e = sv_db_stmt(db, SQL_PG_NOTIFY, &st, reterr);
        if (e)
            return e;
        sv_stmt_bind_text(st, 1, n->recipient ? n->recipient : n->organization);
        e = sv_stmt_run(st, reterr);
        if (e)
            return e;
    }
    sv_db_after_commit(db, sv_coord_notice_wake);
    return SV_OK;
}

typedef struct team_ctx {
    sv_db *db;
    const sv_coord_notice *n;
    sv_buf *reterr;
    sv_err e;
} team_ctx;

sv_err sv_coord_notify_party(sv_db *db, const char *party, const sv_coord_notice *n, sv_buf *reterr)
{
    sv_coord_notice copy = *n;
    char org[SV_COORD_REF_LEN];
    if (sv__coord_ref_id(party, "PractitionerRole")) {
        copy.recipient = party;
        copy.organization = NULL;
        json_t *role = NULL;
        sv_err e = sv__coord_load_checked(db, party, &role);
        if (e && e != SV_ERR_NOT_FOUND)
            return e;
        if (role && sv__coord_ref(json_object_get(role, "organization"), org))
            copy.organization = org;
        e = sv_coord_notify(db, &copy, reterr);
        json_decref(role);
        return e;
    }
    if (sv__coord_ref_id(party, "Organization")) {
        copy.recipient = NULL;
        copy.organization = party;
        return sv_coord_notify(db, &copy, reterr);
    }
    if (sv__coord_ref_id(party, "Patient") || sv__coord_ref_id(party, "RelatedPerson") ||
        sv__coord_ref_id(party, "Practitioner")) {
        copy.recipient = party;
        copy.organization = NULL;
        return sv_coord_notify(db, &copy, reterr);
    }
    if (sv__coord_ref_id(party, "CareTeam")) {
        json_t *team = NULL;
        sv_err e = sv__coord_load_checked(db, party, &team);
        if (e == SV_ERR_NOT_FOUND)
            e = SV_OK;
        int64_t now = sv_clock_now_ms();
        size_t i;
        const json_t *p;
        json_array_foreach(json_object_get(team, "participant"), i, p)
        {
            char member[SV_COORD_REF_LEN];
            if (e || !sv__coord_period_covers(json_object_get(p, "period"), now) ||
                !sv__coord_ref(json_object_get(p, "member"), member) ||
                sv__coord_ref_id(member, "CareTeam"))
                continue;
            e = sv_coord_notify_party(db, member, n, reterr);
        }
        json_decref(team);
        return e;
    }
    return SV_OK;
}

/* ?1 recipient, ?2 organization, ?3 citizen, ?4 unread only, ?5 limit, ?6 the
 * id after which to start (0: all).  A NULL filter matches every row.  One
 * statement per leading filter, which repeats it as a plain term so that the
 * planner can take its index: recipient (an index of the notices that have one),
 * organization; the subject alone (a system's query, no index) walks the notices
 * newest first. */
#define INBOX_FILTERS                                                                              \
    " (CAST(?1 AS TEXT) IS NULL OR recipient = ?1) AND (CAST(?2 AS TEXT) IS NULL OR"               \
    " organization = ?2) AND (CAST(?3 AS TEXT) IS NULL OR citizen = ?3)"
#define INBOX_LIST                                                                                 \
    "SELECT nid, recipient, organization, kind, citizen, resource, text, created, read_at"         \
    " FROM coord_notification WHERE"
#define INBOX_PAGE " AND (?4 = 0 OR read_at IS NULL) AND nid > ?6 ORDER BY nid DESC LIMIT ?5"
#define INBOX_COUNT "SELECT COUNT(*) FROM coord_notification WHERE"
#define INBOX_UNREAD " AND read_at IS NULL"
static const char SQL_LIST_RECIPIENT[] = INBOX_LIST " recipient = ?1 AND" INBOX_FILTERS INBOX_PAGE;
static const char SQL_LIST_ORGANIZATION[] =
    INBOX_LIST " organization = ?2 AND" INBOX_FILTERS INBOX_PAGE;
static const char SQL_LIST_ANY[] = INBOX_LIST INBOX_FILTERS INBOX_PAGE;
static const char SQL_UNREAD_RECIPIENT[] =
    INBOX_COUNT " recipient = ?1 AND" INBOX_FILTERS INBOX_UNREAD;
static const char SQL_UNREAD_ORGANIZATION[] =
    INBOX_COUNT " organization = ?2 AND" INBOX_FILTERS INBOX_UNREAD;
static const char SQL_UNREAD_ANY[] = INBOX_COUNT INBOX_FILTERS INBOX_UNREAD;

static void set_ref(json_t *obj, const char *key, sv_stmt *st, int col)
{
    if (sv_stmt_column_is_null(st, col))
        return;
    json_object_set_new(obj, key,
                        json_pack("{s:s}", "reference", sv_stmt_column_text(st, col, NULL)));
}

static void set_time(json_t *obj, const char *key, sv_stmt *st, int col)
{
    if (sv_stmt_column_is_null(st, col))
        return;
    char ts[SV_INSTANT_LEN];
    sv_datetime_format_instant(sv_stmt_column_int64(st, col), ts);
    json_object_set_new(obj, key, json_string(ts));
}

static sv_err bind_filters(sv_stmt *st, const sv_coord_inbox_query *q)
{
    sv_stmt_bind_text(st, 1, q->recipient);
    sv_stmt_bind_text(st, 2, q->organization);
    return sv_stmt_bind_text(st, 3, q->citizen);
}

const char *sv__coord_inbox_sql(const sv_coord_inbox_query *q, bool count)
{
    if (q->recipient)
        return count ? SQL_UNREAD_RECIPIENT : SQL_LIST_RECIPIENT;
    if (q->organization)
        return count ? SQL_UNREAD_ORGANIZATION : SQL_LIST_ORGANIZATION;
    return count ? SQL_UNREAD_ANY : SQL_LIST_ANY;
}

sv_err sv_coord_inbox(sv_db *db, const sv_coord_inbox_query *q, json_t **ret_list,
                      int64_t *ret_unread, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, sv__coord_inbox_sql(q, true), &st, reterr);
    if (e)
        return e;
    bind_filters(st, q);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    int64_t unread = row ? sv_stmt_column_int64(st, 0) : 0;
    sv_stmt_reset(st);
    e = sv_db_stmt(db, sv__coord_inbox_sql(q, false), &st, reterr);
    if (e)
        return e;
    bind_filters(st, q);
    sv_stmt_bind_int64(st, 4, q->unread_only ? 1 : 0);
    sv_stmt_bind_int64(st, 5, q->limit);
    sv_stmt_bind_int64(st, 6, q->after_id);
    json_t *list = json_array();
    for (;;) {
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        json_t *n = json_object();
        char id[24];
        snprintf(id, sizeof(id), "%lld", (long long)sv_stmt_column_int64(st, 0));
        json_object_set_new(n, "id", json_string(id));
        json_object_set_new(n, "kind", json_string(sv_stmt_column_text(st, 3, NULL)));
        set_ref(n, "recipient", st, 1);
        set_ref(n, "organization", st, 2);
        set_ref(n, "subject", st, 4);
        set_ref(n, "focus", st, 5);
        if (!sv_stmt_column_is_null(st, 6))
            json_object_set_new(n, "text", json_string(sv_stmt_column_text(st, 6, NULL)));
        set_time(n, "created", st, 7);
        json_object_set_new(n, "read", json_boolean(!sv_stmt_column_is_null(st, 8)));
        set_time(n, "readAt", st, 8);
        json_array_append_new(list, n);
    }
    sv_stmt_reset(st);
    if (e) {
        json_decref(list);
        return e;
    }
    *ret_list = list;
    if (ret_unread)
        *ret_unread = unread;
    return SV_OK;
}

static const char SQL_MARK[] =
    "UPDATE coord_notification SET read_at = COALESCE(read_at, ?) WHERE nid = ?";

sv_err sv_coord_notice_mark_read(sv_db *db, int64_t id, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_MARK, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, sv_clock_now_ms());
    sv_stmt_bind_int64(st, 2, id);
    e = sv_stmt_run(st, reterr);
    if (!e && sv_db_changes(db) == 0)
        e = SV_ERR_NOT_FOUND;
    return e;
}

static const char SQL_OWNER[] =
    "SELECT recipient, organization FROM coord_notification WHERE nid = ?";

sv_err sv_coord_notice_owner(sv_db *db, int64_t id, char ret_recipient[SV_COORD_NOTICE_REF_LEN],
                             char ret_organization[SV_COORD_NOTICE_REF_LEN], sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_OWNER, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, id);
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (!e && !row)
        e = SV_ERR_NOT_FOUND;
    if (!e) {
        const char *r = sv_stmt_column_is_null(st, 0) ? "" : sv_stmt_column_text(st, 0, NULL);
        const char *o = sv_stmt_column_is_null(st, 1) ? "" : sv_stmt_column_text(st, 1, NULL);
        snprintf(ret_recipient, SV_COORD_NOTICE_REF_LEN, "%s", r ? r : "");
        snprintf(ret_organization, SV_COORD_NOTICE_REF_LEN, "%s", o ? o : "");
    }
    sv_stmt_reset(st);
    return e;
}
