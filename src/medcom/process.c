/*
 * process.c - one incoming message, start to end: check, look the id up in the
 * message log (a duplicate gets its first acknowledgement and changes nothing),
 * apply it, append its event row and its log line, commit, acknowledge.
 *
 * What is refused for its content is logged with its fatal-error
 * acknowledgement, so that a resend of the same id gets the same answer.  What
 * fails for storage (busy, I/O) is answered transient-error and not logged:
 * the sender retries the same id and it is processed then.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/datetime.h"
#include "medcom/internal.h"

static sv_medcom_event_hook event_hook;
static void *event_hook_ctx;

void sv_medcom_set_event_hook(sv_medcom_event_hook hook, void *ctx)
{
    event_hook = hook;
    event_hook_ctx = ctx;
}

const char *sv_medcom_kind_name(sv_medcom_kind kind)
{
    switch (kind) {
    case SV_MEDCOM_HOSPITAL_NOTIFICATION:
        return "hospital-notification";
    case SV_MEDCOM_CARE_COMMUNICATION:
        return "care-communication";
    case SV_MEDCOM_ACKNOWLEDGEMENT:
        return "acknowledgement";
    default:
        return "";
    }
}

void sv_medcom_result_init(sv_medcom_result *res)
{
    memset(res, 0, sizeof(*res));
    sv_buf_init(&res->body);
    sv_outcome_init(&res->outcome);
}

void sv_medcom_result_clear(sv_medcom_result *res)
{
    if (!res)
        return;
    sv_buf_release(&res->body);
    sv_outcome_clear(&res->outcome);
    sv_medcom_result_init(res);
}

static bool is_transient(sv_err e)
{
    return e == SV_ERR_BUSY || e == SV_ERR_IO || e == SV_ERR_NOMEM || e == SV_ERR_INTERNAL;
}

static void move_issues(sv_outcome *from, sv_outcome *to)
{
    for (size_t i = 0; i < from->len; i++)
        sv_outcome_add(to, from->issues[i].severity, from->issues[i].code,
                       from->issues[i].expression, "%s",
                       from->issues[i].diagnostics ? from->issues[i].diagnostics : "");
    sv_outcome_clear(from);
}

/* Answers with an acknowledgement of code built for msg. */
static void answer(sv_medcom_result *res, const sv__medcom_msg *msg, const char *code,
                   const sv_outcome *issues)
{
    json_t *ack = sv__medcom_ack_build(msg, code, issues);
    sv_buf_reset(&res->body);
    sv_fhir_dump(ack, &res->body);
    json_decref(ack);
    res->code = code;
    res->status = 200;
}

/* An incoming acknowledgement settles an outbox item; it is never acknowledged. */
static const char SQL_OUTBOX_ACKED[] =
    "UPDATE medcom_outbox SET state = CASE ? WHEN 'ok' THEN 'acked' WHEN 'fatal-error' THEN"
    " 'failed' ELSE 'pending' END, ack_code = ?, next_attempt = ? WHERE message_id = ?";

static sv_err apply_ack(sv_rest *r, const sv__medcom_msg *msg, sv_medcom_event *ev)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(r->db, SQL_OUTBOX_ACKED, &st, NULL);
    if (e)
        return e;
    sv_stmt_bind_text(st, 1, msg->response_code);
    sv_stmt_bind_text(st, 2, msg->response_code);
    sv_stmt_bind_int64(st, 3, sv_clock_now_ms() + 60000);
    sv_stmt_bind_text(st, 4, msg->response_to);
    e = sv_stmt_run(st, NULL);
    ev->kind = "acknowledgement.received";
    return e;
}

static json_t *ack_receipt(void)
{
    return json_pack("{s:s, s:[{s:s, s:s, s:s}]}", "resourceType", "OperationOutcome", "issue",
                     "severity", "information", "code", "informational", "diagnostics",
                     "acknowledgement recorded; acknowledgements are not acknowledged");
}

static sv_err log_and_commit(sv_rest *r, sv__medcom_log_row *row, const sv_medcom_event *ev,
                             int64_t *ret_seq)
{
    sv_err e = SV_OK;
    if (ev)
        e = sv__medcom_event_add(r->db, ev, ret_seq);
    if (!e)
        e = sv__medcom_log_add(r->db, row);
    if (!e)
        e = sv_db_commit(r->db, NULL);
    if (e)
        sv_db_rollback(r->db);
    return e;
}

sv_err sv_medcom_process(sv_rest *r, const json_t *bundle, sv_medcom_result *res)
{
    sv__medcom_msg *msg = calloc(1, sizeof(*msg));
    sv_outcome issues = SV_OUTCOME_INIT;
    if (!msg)
        return SV_ERR_NOMEM;
    sv_err parsed = sv__medcom_parse(bundle, msg, &issues);
    sv_err e = SV_OK;
    if (parsed == SV_ERR_INVALID) {
        move_issues(&issues, &res->outcome);
        res->status = 400;
        e = SV_ERR_INVALID;
        goto out;
    }
    res->kind = msg->kind;
    snprintf(res->message_id, sizeof(res->message_id), "%s", msg->message_id);
    snprintf(res->activity, sizeof(res->activity), "%s", msg->activity ? msg->activity : "");
    if (parsed && msg->kind == SV_MEDCOM_ACKNOWLEDGEMENT) {
        /* never answer an acknowledgement with one: a plain refusal */
        move_issues(&issues, &res->outcome);
        res->status = 422;
        e = SV_ERR_PROCESSING;
        goto out;
    }

    e = sv_db_begin(r->db, SV_TX_WRITE, NULL);
    if (e) {
        sv_outcome_add(&issues, SV_SEV_ERROR, "transient", NULL, "the database is busy");
        answer(res, msg, "transient-error", &issues);
        e = SV_OK;
        goto out;
    }
    sv__medcom_logged seen;
    e = sv__medcom_log_find(r->db, msg->message_id, &seen);
    if (e == SV_OK) {
        sv_db_rollback(r->db);
        sv_buf_reset(&res->body);
        sv_buf_adds(&res->body, seen.ack);
        res->duplicate = true;
        res->status = 200;
        res->code = strcmp(seen.code, "ok") == 0            ? "ok"
                    : strcmp(seen.code, "fatal-error") == 0 ? "fatal-error"
                                                            : "transient-error";
        if (msg->kind == SV_MEDCOM_ACKNOWLEDGEMENT)
            res->code = NULL;
        sv__medcom_logged_clear(&seen);
        goto out;
    }
    if (e != SV_ERR_NOT_FOUND) {
        sv_db_rollback(r->db);
        answer(res, msg, "transient-error", NULL);
        e = SV_OK;
        goto out;
    }

    sv__medcom_log_row row;
    memset(&row, 0, sizeof(row));
    row.message_id = msg->message_id;
    row.kind = sv_medcom_kind_name(msg->kind);
    row.activity = msg->activity;
    sv_medcom_event ev = {.activity = msg->activity, .message_id = msg->message_id};
    e = parsed;
    if (!e && msg->kind == SV_MEDCOM_HOSPITAL_NOTIFICATION)
        e = sv__medcom_apply_stay(r, msg, &row, &ev, &issues);
    else if (!e && msg->kind == SV_MEDCOM_CARE_COMMUNICATION)
        e = sv__medcom_apply_thread(r, msg, &row, &ev, &issues);
    else if (!e)
        e = apply_ack(r, msg, &ev);

    if (e && is_transient(e)) {
        sv_db_rollback(r->db);
        sv_outcome_clear(&issues);
        answer(res, msg, "transient-error", NULL);
        e = SV_OK;
        goto out;
    }
    if (e) {
        /* Refused for its content: nothing of it stays, but the refusal is logged. */
        sv_db_rollback(r->db);
        answer(res, msg, "fatal-error", &issues);
        move_issues(&issues, &res->outcome);
        sv__medcom_log_row refused = {.message_id = msg->message_id,
                                      .kind = row.kind,
                                      .activity = msg->activity,
                                      .code = "fatal-error",
                                      .ack = res->body.ptr};
        e = sv_db_begin(r->db, SV_TX_WRITE, NULL);
        if (!e)
            e = log_and_commit(r, &refused, NULL, NULL);
        /* Not logged: the sender gets the same refusal when it resends. */
        e = SV_OK;
        goto out;
    }
    row.code = "ok";
    if (msg->kind == SV_MEDCOM_ACKNOWLEDGEMENT) {
        json_t *receipt = ack_receipt();
        sv_fhir_dump(receipt, &res->body);
        json_decref(receipt);
        res->status = 200;
    } else {
        answer(res, msg, "ok", NULL);
    }
    row.ack = res->body.ptr;
    e = log_and_commit(r, &row, &ev, &ev.seq);
    if (e) {
        answer(res, msg, "transient-error", NULL);
        e = SV_OK;
        goto out;
    }
    if (msg->kind == SV_MEDCOM_ACKNOWLEDGEMENT)
        res->code = NULL;
    if (event_hook)
        event_hook(event_hook_ctx, &ev);
out:
    sv_outcome_clear(&issues);
    free(msg);
    return e;
}
