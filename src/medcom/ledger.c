/*
 * ledger.c - the MedCom tables (store/schema.c migration 7): the message log
 * that makes processing idempotent, the links from a sender's identities to
 * ours, the event rows that rulesets hook into, and the outbox.
 * Nothing here holds patient data beyond our own resource ids.
 */
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "medcom/internal.h"

static const char SQL_LOG_FIND[] =
    "SELECT code, ack, patient_id, encounter_id, patient_before, encounter_before, activity"
    " FROM medcom_message WHERE message_id = ?";
static const char SQL_LOG_ADD[] =
    "INSERT INTO medcom_message (message_id, kind, activity, received, code, ack, patient_id,"
    " encounter_id, communication_id, patient_before, encounter_before)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
static const char SQL_LINK_FIND[] = "SELECT id FROM medcom_link WHERE key = ?";
static const char SQL_LINK_ADD[] = "INSERT INTO medcom_link (key, type, id) VALUES (?, ?, ?)";
static const char SQL_EVENT_ADD[] =
    "INSERT INTO medcom_event (time, kind, activity, message_id, patient_id, encounter_id,"
    " communication_id, handled) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq";
static const char SQL_EVENT_RELEASE[] = "UPDATE medcom_event SET handled = 0 WHERE seq = ?";

void sv__medcom_logged_clear(sv__medcom_logged *l)
{
    if (!l)
        return;
    free(l->ack);
    memset(l, 0, sizeof(*l));
}

static void copy_col(sv_stmt *st, int col, char *dst, size_t cap)
{
    size_t len = 0;
    const char *s = sv_stmt_column_text(st, col, &len);
    if (!s || len >= cap)
        len = 0;
    if (s)
        memcpy(dst, s, len);
    dst[len] = '\0';
}

sv_err sv__medcom_log_find(sv_db *db, const char *message_id, sv__medcom_logged *ret)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_LOG_FIND, &st, NULL);
    if (!e)
        e = sv_stmt_bind_text(st, 1, message_id);
    bool row = false;
    if (!e)
        e = sv_stmt_step(st, &row, NULL);
    if (e)
        return e;
    if (!row)
        return SV_ERR_NOT_FOUND;
    memset(ret, 0, sizeof(*ret));
    copy_col(st, 0, ret->code, sizeof(ret->code));
    size_t len = 0;
    const char *ack = sv_stmt_column_text(st, 1, &len);
    ret->ack = strndup(ack ? ack : "", len);
    copy_col(st, 2, ret->patient_id, sizeof(ret->patient_id));
    copy_col(st, 3, ret->encounter_id, sizeof(ret->encounter_id));
    ret->patient_before = sv_stmt_column_int64(st, 4);
    ret->encounter_before = sv_stmt_column_int64(st, 5);
    copy_col(st, 6, ret->activity, sizeof(ret->activity));
    sv_stmt_reset(st);
    return ret->ack ? SV_OK : SV_ERR_NOMEM;
}

sv_err sv__medcom_log_add(sv_db *db, const sv__medcom_log_row *row)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_LOG_ADD, &st, NULL);
    if (e)
        return e;
    int i = 1;
    sv_stmt_bind_text(st, i++, row->message_id);
    sv_stmt_bind_text(st, i++, row->kind);
    sv_stmt_bind_text(st, i++, row->activity);
    sv_stmt_bind_int64(st, i++, sv_clock_now_ms());
    sv_stmt_bind_text(st, i++, row->code);
    sv_stmt_bind_text(st, i++, row->ack);
    sv_stmt_bind_text(st, i++, row->patient_id);
    sv_stmt_bind_text(st, i++, row->encounter_id);
    sv_stmt_bind_text(st, i++, row->communication_id);
    sv_stmt_bind_int64(st, i++, row->patient_before);
    sv_stmt_bind_int64(st, i++, row->encounter_before);
    return sv_stmt_run(st, NULL);
}

sv_err sv__medcom_link_find(sv_db *db, const char *key, char ret_id[65])
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_LINK_FIND, &st, NULL);
    if (!e)
        e = sv_stmt_bind_text(st, 1, key);
    bool row = false;
    if (!e)
        e = sv_stmt_step(st, &row, NULL);
    if (e)
        return e;
    if (!row)
        return SV_ERR_NOT_FOUND;
    copy_col(st, 0, ret_id, 65);
    sv_stmt_reset(st);
    return SV_OK;
}

sv_err sv__medcom_link_add(sv_db *db, const char *key, const char *type, const char *id)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_LINK_ADD, &st, NULL);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, key);
    sv_stmt_bind_text(st, 2, type);
    sv_stmt_bind_text(st, 3, id);
    return sv_stmt_run(st, NULL);
}

sv_err sv__medcom_event_add(sv_db *db, const sv_medcom_event *ev, bool handled, int64_t *ret_seq)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_EVENT_ADD, &st, NULL);
    if (e)
        return e;
    int i = 1;
    sv_stmt_bind_int64(st, i++, ev->time ? ev->time : sv_clock_now_ms());
    sv_stmt_bind_text(st, i++, ev->kind);
    sv_stmt_bind_text(st, i++, ev->activity);
    sv_stmt_bind_text(st, i++, ev->message_id);
    sv_stmt_bind_text(st, i++, ev->patient_id);
    sv_stmt_bind_text(st, i++, ev->encounter_id);
    sv_stmt_bind_text(st, i++, ev->communication_id);
    sv_stmt_bind_int64(st, i++, handled ? 1 : 0);
    bool row = false;
    e = sv_stmt_step(st, &row, NULL);
    if (!e && row)
        *ret_seq = sv_stmt_column_int64(st, 0);
    if (!e)
        sv_stmt_reset(st);
    return e;
}

sv_err sv__medcom_event_release(sv_db *db, int64_t seq)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_EVENT_RELEASE, &st, NULL);
    if (e)
        return e;
    sv_stmt_bind_int64(st, 1, seq);
    return sv_stmt_run(st, NULL);
}
