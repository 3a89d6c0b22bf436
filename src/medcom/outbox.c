/*
 * outbox.c - outgoing messages waiting for delivery and for their
 * acknowledgement (medcom_outbox, migration 7).  Delivery itself (the VANS /
 * MedCom network transport) is not here: a sender loop takes the due items,
 * tries, and records the attempt; an incoming Acknowledgement settles the item
 * (process.c).
 */
#include <string.h>

#include "base/datetime.h"
#include "fhir/rest.h"
#include "medcom/internal.h"

static const char SQL_ADD[] =
    "INSERT INTO medcom_outbox (message_id, kind, receiver, bundle, created, next_attempt)"
    " VALUES (?, ?, ?, ?, ?, ?)";
static const char SQL_EXISTS[] = "SELECT 1 FROM medcom_outbox WHERE message_id = ?";
static const char SQL_LIST_ALL[] =
    "SELECT seq, message_id, kind, state, ack_code, last_error, created, next_attempt, attempts"
    " FROM medcom_outbox ORDER BY seq";
static const char SQL_LIST_STATE[] =
    "SELECT seq, message_id, kind, state, ack_code, last_error, created, next_attempt, attempts"
    " FROM medcom_outbox WHERE state = ? ORDER BY seq";
static const char SQL_ATTEMPTS[] = "SELECT attempts FROM medcom_outbox WHERE message_id = ?";
static const char SQL_SENT[] =
    "UPDATE medcom_outbox SET state = 'sent', attempts = attempts + 1, last_error = NULL"
    " WHERE message_id = ?";
static const char SQL_RETRY[] =
    "UPDATE medcom_outbox SET state = ?, attempts = attempts + 1, last_error = ?,"
    " next_attempt = ? WHERE message_id = ?";

static const char *kind_of_event(const char *event)
{
    if (!event)
        return "unknown";
    if (strcmp(event, "hospital-notification-message") == 0)
        return "hospital-notification";
    if (strcmp(event, "care-communication-message") == 0)
        return "care-communication";
    if (strcmp(event, "acknowledgement-message") == 0)
        return "acknowledgement";
    return "unknown";
}

sv_err sv_medcom_outbox_add(sv_db *db, const json_t *bundle, sv_buf *reterr)
{
    json_t *header =
        json_object_get(json_array_get(json_object_get(bundle, "entry"), 0), "resource");
    const char *id = json_string_value(json_object_get(header, "id"));
    if (!id) {
        if (reterr)
            sv_buf_adds(reterr, "the message has no MessageHeader id");
        return SV_ERR_INVALID;
    }
    const char *event =
        json_string_value(json_object_get(json_object_get(header, "eventCoding"), "code"));
    const char *receiver = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(header, "destination"), 0), "receiver"),
        "reference"));
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_EXISTS, &st, reterr);
    bool row = false;
    if (!e)
        e = sv_stmt_bind_text(st, 1, id);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    sv_stmt_reset(st);
    if (row) {
        if (reterr)
            sv_buf_addf(reterr, "message '%s' is in the outbox already", id);
        return SV_ERR_CONFLICT;
    }
    sv_buf text = SV_BUF_INIT;
    sv_fhir_dump(bundle, &text);
    int64_t now = sv_clock_now_ms();
    e = sv_db_stmt(db, SQL_ADD, &st, reterr);
    if (!e) {
        sv_stmt_bind_text(st, 1, id);
        sv_stmt_bind_text(st, 2, kind_of_event(event));
        sv_stmt_bind_text(st, 3, receiver);
        sv_stmt_bind_textn(st, 4, text.ptr, text.len);
        sv_stmt_bind_int64(st, 5, now);
        sv_stmt_bind_int64(st, 6, now);
        e = sv_stmt_run(st, reterr);
    }
    sv_buf_release(&text);
    return e;
}

sv_err sv_medcom_outbox_list(sv_db *db, const char *state, sv_medcom_outbox_visit visit, void *ctx,
                             sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, state ? SQL_LIST_STATE : SQL_LIST_ALL, &st, reterr);
    if (!e && state)
        e = sv_stmt_bind_text(st, 1, state);
    while (!e) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        sv_medcom_outbox_item it = {
            .seq = sv_stmt_column_int64(st, 0),
            .message_id = sv_stmt_column_text(st, 1, NULL),
            .kind = sv_stmt_column_text(st, 2, NULL),
            .state = sv_stmt_column_text(st, 3, NULL),
            .ack_code = sv_stmt_column_text(st, 4, NULL),
            .last_error = sv_stmt_column_text(st, 5, NULL),
            .created = sv_stmt_column_int64(st, 6),
            .next_attempt = sv_stmt_column_int64(st, 7),
            .attempts = sv_stmt_column_int64(st, 8),
        };
        if (!visit(ctx, &it)) {
            sv_stmt_reset(st);
            break;
        }
    }
    return e;
}

sv_err sv_medcom_outbox_attempt(sv_db *db, const char *message_id, bool ok, const char *error,
                                sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e;
    if (ok) {
        e = sv_db_stmt(db, SQL_SENT, &st, reterr);
        if (!e)
            e = sv_stmt_bind_text(st, 1, message_id);
        return e ? e : sv_stmt_run(st, reterr);
    }
    e = sv_db_stmt(db, SQL_ATTEMPTS, &st, reterr);
    bool row = false;
    if (!e)
        e = sv_stmt_bind_text(st, 1, message_id);
    if (!e)
        e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    if (!row)
        return SV_ERR_NOT_FOUND;
    int64_t attempts = sv_stmt_column_int64(st, 0) + 1;
    sv_stmt_reset(st);
    /* 1 min, 2, 4, ... capped at an hour */
    int64_t delay = 60000;
    for (int64_t i = 1; i < attempts && delay < 3600000; i++)
        delay *= 2;
    if (delay > 3600000)
        delay = 3600000;
    e = sv_db_stmt(db, SQL_RETRY, &st, reterr);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, attempts >= SV_MEDCOM_MAX_ATTEMPTS ? "failed" : "pending");
    sv_stmt_bind_text(st, 2, error);
    sv_stmt_bind_int64(st, 3, sv_clock_now_ms() + delay);
    sv_stmt_bind_text(st, 4, message_id);
    return sv_stmt_run(st, reterr);
}
