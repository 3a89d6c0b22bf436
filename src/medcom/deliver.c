/*
 * deliver.c - the database side of delivering the outbox (outbox.c): which
 * items are due, claimed one at a time so that two senders (threads or
 * processes) never post the same item at once; the receiving organisation's
 * SOR identifier that chooses the endpoint; the acknowledgement in the answer;
 * and settling the item by it.  The HTTP exchange itself is the caller's
 * (api/outbox_send.c): this layer does not know HTTP.
 *
 * The claim is a compare-and-set on next_attempt (a lease): a sender that dies
 * mid-delivery leaves the item pending, due again when the lease ends.  The
 * receiver is idempotent on the message id, so a repeated delivery after such a
 * crash gets the same acknowledgement.
 */
#include <stdlib.h>
#include <string.h>

#include "base/json.h"
#include "base/datetime.h"
#include "medcom/internal.h"

static const char SQL_DUE[] =
    "SELECT message_id, bundle, next_attempt FROM medcom_outbox WHERE state = 'pending'"
    " AND next_attempt <= ? ORDER BY next_attempt, seq LIMIT ?";
static const char SQL_CLAIM[] = "UPDATE medcom_outbox SET next_attempt = ? WHERE message_id = ?"
                                " AND state = 'pending' AND next_attempt = ?";
static const char SQL_SETTLE[] =
    "UPDATE medcom_outbox SET state = ?, ack_code = ?, attempts = attempts + 1,"
    " last_error = ? WHERE message_id = ? AND state = 'pending'";

/* The SOR identifier of the Organization a message's destination[0].receiver names. */
static void receiver_sor(const json_t *bundle, char ret[65])
{
    ret[0] = '\0';
    json_t *entries = json_object_get(bundle, "entry");
    json_t *header = json_object_get(json_array_get(entries, 0), "resource");
    const char *ref = json_string_value(json_object_get(
        json_object_get(json_array_get(json_object_get(header, "destination"), 0), "receiver"),
        "reference"));
    if (!ref)
        return;
    size_t i;
    json_t *entry;
    json_array_foreach(entries, i, entry)
    {
        json_t *res = json_object_get(entry, "resource");
        const char *full = json_string_value(json_object_get(entry, "fullUrl"));
        const char *type = json_string_value(json_object_get(res, "resourceType"));
        const char *id = json_string_value(json_object_get(res, "id"));
        bool named = full && strcmp(full, ref) == 0;
        if (!named && type && id && strcmp(type, "Organization") == 0) {
            size_t rl = strlen(ref), il = strlen(id);
            named = rl > il + 13 && strcmp(ref + rl - il, id) == 0 &&
                    strncmp(ref + rl - il - 13, "Organization/", 13) == 0;
        }
        if (!named)
            continue;
        size_t k;
        json_t *ident;
        json_array_foreach(json_object_get(res, "identifier"), k, ident)
        {
            const char *system = json_string_value(json_object_get(ident, "system"));
            const char *value = json_string_value(json_object_get(ident, "value"));
            if (system && value && strcmp(system, SV__MEDCOM_SOR_SYSTEM) == 0 &&
                strlen(value) < 65) {
                memcpy(ret, value, strlen(value) + 1);
                return;
            }
        }
        return;
    }
}

typedef struct due_row {
    char message_id[65];
    char *bundle;
    size_t len;
    int64_t next_attempt;
} due_row;

static sv_err claim(sv_db *db, const due_row *d, int64_t lease_until, bool *ret_won, sv_buf *reterr)
{
    sv_err e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (e)
        return e;
    sv_stmt *st;
    e = sv_db_stmt(db, SQL_CLAIM, &st, reterr);
    if (!e) {
        sv_stmt_bind_int64(st, 1, lease_until);
        sv_stmt_bind_text(st, 2, d->message_id);
        sv_stmt_bind_int64(st, 3, d->next_attempt);
        e = sv_stmt_run(st, reterr);
    }
    *ret_won = !e && sv_db_changes(db) == 1;
    if (!e)
        e = sv_db_commit(db, reterr);
    if (e)
        sv_db_rollback(db);
    return e;
}

sv_err sv_medcom_outbox_deliver_due(sv_db *db, int max, int64_t lease_ms,
                                    sv_medcom_outbox_deliver fn, sv_medcom_outbox_more more,
                                    void *ctx, int *ret_claimed, sv_buf *reterr)
{
    *ret_claimed = 0;
    if (max <= 0)
        return SV_OK;
    due_row *rows = calloc((size_t)max, sizeof(*rows));
    if (!rows)
        return SV_ERR_NOMEM;
    int64_t now = sv_clock_now_ms();
    int n = 0;
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_DUE, &st, reterr);
    if (!e) {
        sv_stmt_bind_int64(st, 1, now);
        sv_stmt_bind_int64(st, 2, max);
    }
    while (!e && n < max) {
        bool row = false;
        e = sv_stmt_step(st, &row, reterr);
        if (e || !row)
            break;
        due_row *d = &rows[n];
        const char *id = sv_stmt_column_text(st, 0, NULL);
        size_t len = 0;
        const char *text = sv_stmt_column_text(st, 1, &len);
        if (!id || strlen(id) >= sizeof(d->message_id))
            continue;
        memcpy(d->message_id, id, strlen(id) + 1);
        d->bundle = strndup(text ? text : "", len);
        d->len = len;
        d->next_attempt = sv_stmt_column_int64(st, 2);
        if (!d->bundle)
            e = SV_ERR_NOMEM;
        n++;
    }
    if (!e || e == SV_ERR_NOMEM)
        sv_stmt_reset(st);
    for (int i = 0; !e && i < n && (!more || more(ctx)); i++) {
        bool won = false;
        e = claim(db, &rows[i], now + lease_ms, &won, reterr);
        if (e || !won)
            continue;
        ++*ret_claimed;
        json_t *bundle = sv_json_loadb(rows[i].bundle, rows[i].len, 0, NULL);
        char sor[65];
        receiver_sor(bundle, sor);
        json_decref(bundle);
        sv_medcom_outbox_due_item it = {.message_id = rows[i].message_id,
                                        .bundle = rows[i].bundle,
                                        .bundle_len = rows[i].len,
                                        .receiver_sor = sor};
        e = fn(ctx, &it);
    }
    for (int i = 0; i < n; i++)
        free(rows[i].bundle);
    free(rows);
    return e;
}

bool sv_medcom_ack_code(const char *answer, size_t len, const char *message_id, char ret_code[20])
{
    ret_code[0] = '\0';
    json_t *b = sv_json_loadb(answer, len, 0, NULL);
    json_t *header = json_object_get(json_array_get(json_object_get(b, "entry"), 0), "resource");
    const char *rt = json_string_value(json_object_get(header, "resourceType"));
    const char *event =
        json_string_value(json_object_get(json_object_get(header, "eventCoding"), "code"));
    json_t *response = json_object_get(header, "response");
    const char *about = json_string_value(json_object_get(response, "identifier"));
    const char *code = json_string_value(json_object_get(response, "code"));
    bool ok = rt && strcmp(rt, "MessageHeader") == 0 && event &&
              strcmp(event, "acknowledgement-message") == 0 && about &&
              strcmp(about, message_id) == 0 && code &&
              (strcmp(code, "ok") == 0 || strcmp(code, "fatal-error") == 0 ||
               strcmp(code, "transient-error") == 0);
    if (ok)
        memcpy(ret_code, code, strlen(code) + 1);
    json_decref(b);
    return ok;
}

sv_err sv_medcom_outbox_settle(sv_db *db, const char *message_id, const char *ack_code,
                               const char *error, sv_buf *reterr)
{
    sv_err e = sv_db_begin(db, SV_TX_WRITE, reterr);
    if (e)
        return e;
    bool final = ack_code && (strcmp(ack_code, "ok") == 0 || strcmp(ack_code, "fatal-error") == 0);
    if (final) {
        sv_stmt *st;
        e = sv_db_stmt(db, SQL_SETTLE, &st, reterr);
        if (!e) {
            sv_stmt_bind_text(st, 1, strcmp(ack_code, "ok") == 0 ? "acked" : "failed");
            sv_stmt_bind_text(st, 2, ack_code);
            sv_stmt_bind_text(st, 3, error);
            sv_stmt_bind_text(st, 4, message_id);
            e = sv_stmt_run(st, reterr);
        }
    } else {
        /* no answer, or transient-error: pending again after the doubling delay */
        e = sv_medcom_outbox_attempt(db, message_id, false, error ? error : "transient-error",
                                     reterr);
    }
    if (!e)
        e = sv_db_commit(db, reterr);
    if (e)
        sv_db_rollback(db);
    return e;
}
