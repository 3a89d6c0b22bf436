/* dump.c - see dump.h. */
#include "store/dump.h"

#include <string.h>

#include "store/resource.h"

/* ---- the copied tables, in an order that satisfies their foreign keys ---- */

static const char *const c_audit[] = {"seq",
                                      "time",
                                      "principal_kind",
                                      "principal_id",
                                      "organisation",
                                      "role",
                                      "citizen",
                                      "action",
                                      "resource_type",
                                      "resource_id",
                                      "resource_version",
                                      "purpose",
                                      "outcome",
                                      "prev_hash",
                                      "hash",
                                      "reason",
                                      NULL};
static const char *const c_audit_head[] = {"one", "records", "last_seq", "last_hash", NULL};
static const char *const c_user[] = {
    "uid",     "username", "kind",    "password_hash",  "practitioner_role",
    "patient", "disabled", "created", "related_person", NULL};
static const char *const c_user_role[] = {"uid", "practitioner_role", "position", NULL};
static const char *const c_session[] = {"id_hash", "uid",         "created", "last_seen",
                                        "revoked", "acting_role", NULL};
static const char *const c_client[] = {"cid", "name", "scopes", "created", NULL};
static const char *const c_token[] = {"token_hash", "cid",     "scopes",  "secret",
                                      "created",    "expires", "revoked", NULL};
static const char *const c_failure[] = {"key", "at", NULL};
static const char *const c_lock[] = {"key", "until", NULL};
static const char *const c_grant[] = {"patient", "holder",  "mask",   "t_from",
                                      "t_to",    "derived", "reason", NULL};
static const char *const c_notification[] = {"nid",     "recipient", "organization", "kind",
                                             "citizen", "resource",  "text",         "created",
                                             "read_at", NULL};
static const char *const c_job[] = {"jid",     "kind",       "resource_type", "resource_id", "due",
                                    "claimed", "claimed_by", "outcome",       NULL};
static const char *const c_mc_message[] = {"message_id",
                                           "kind",
                                           "activity",
                                           "received",
                                           "code",
                                           "ack",
                                           "patient_id",
                                           "encounter_id",
                                           "communication_id",
                                           "patient_before",
                                           "encounter_before",
                                           NULL};
static const char *const c_mc_link[] = {"key", "type", "id", NULL};
static const char *const c_mc_event[] = {
    "seq",        "time",       "kind",         "activity",
    "message_id", "patient_id", "encounter_id", "communication_id",
    "handled",    NULL};
static const char *const c_mc_outbox[] = {"seq",          "message_id", "kind",     "receiver",
                                          "bundle",       "created",    "state",    "attempts",
                                          "next_attempt", "last_error", "ack_code", NULL};
static const char *const c_stay_event[] = {"seq",
                                           "time",
                                           "at",
                                           "kind",
                                           "source",
                                           "medcom_seq",
                                           "patient_id",
                                           "encounter_id",
                                           "encounter_version",
                                           "ruleset",
                                           "provider",
                                           "municipality",
                                           "municipality_from",
                                           "gp",
                                           "coordinator",
                                           "told",
                                           "rules",
                                           "detail",
                                           NULL};
static const char *const c_stay_board[] = {"encounter_id", "patient_id", "provider", "municipality",
                                           "gp",           "ruleset",    "ready_at", "expected",
                                           "payment_from", "updated",    NULL};

const sv_dump_table sv_dump_tables[] = {
    {"audit", c_audit, "iittttttttitittt",
     "SELECT seq, time, principal_kind, principal_id, organisation, role, citizen, action,"
     " resource_type, resource_id, resource_version, purpose, outcome, prev_hash, hash, reason"
     " FROM audit ORDER BY seq",
     "INSERT INTO audit (seq, time, principal_kind, principal_id, organisation, role, citizen,"
     " action, resource_type, resource_id, resource_version, purpose, outcome, prev_hash, hash,"
     " reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)",
     "the hash-chained audit log, every record with its hashes"},
    {"audit_head", c_audit_head, "iiit",
     "SELECT one, records, last_seq, last_hash FROM audit_head ORDER BY one",
     "UPDATE audit_head SET records = ?2, last_seq = ?3, last_hash = ?4 WHERE one = ?1",
     "the audit log's count and last hash (a truncated tail shows)"},
    {"auth_user", c_user, "itttttiit",
     "SELECT uid, username, kind, password_hash, practitioner_role, patient, disabled, created,"
     " related_person FROM auth_user ORDER BY uid",
     "INSERT INTO auth_user (uid, username, kind, password_hash, practitioner_role, patient,"
     " disabled, created, related_person) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
     "logins (argon2id password hashes)"},
    {"auth_user_role", c_user_role, "iti",
     "SELECT uid, practitioner_role, position FROM auth_user_role ORDER BY uid, position",
     "INSERT INTO auth_user_role (uid, practitioner_role, position) VALUES (?1, ?2, ?3)",
     "the PractitionerRoles each user may act in"},
    {"auth_session", c_session, "tiiiit",
     "SELECT id_hash, uid, created, last_seen, revoked, acting_role FROM auth_session"
     " ORDER BY id_hash",
     "INSERT INTO auth_session (id_hash, uid, created, last_seen, revoked, acting_role)"
     " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
     "sessions (hashes of their ids): logged-in users stay logged in"},
    {"auth_client", c_client, "itti",
     "SELECT cid, name, scopes, created FROM auth_client ORDER BY cid",
     "INSERT INTO auth_client (cid, name, scopes, created) VALUES (?1, ?2, ?3, ?4)",
     "system clients and their scopes"},
    {"auth_token", c_token, "titiiii",
     "SELECT token_hash, cid, scopes, secret, created, expires, revoked FROM auth_token"
     " ORDER BY token_hash",
     "INSERT INTO auth_token (token_hash, cid, scopes, secret, created, expires, revoked)"
     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
     "bearer tokens (hashes)"},
    {"auth_failure", c_failure, "ti", "SELECT key, at FROM auth_failure ORDER BY key, at",
     "INSERT INTO auth_failure (key, at) VALUES (?1, ?2)",
     "failed logins, so that a lockout in progress continues"},
    {"auth_lock", c_lock, "ti", "SELECT key, until FROM auth_lock ORDER BY key",
     "INSERT INTO auth_lock (key, until) VALUES (?1, ?2)", "lockouts in force"},
    {"access_grant", c_grant, "ttiiiit",
     "SELECT patient, holder, mask, t_from, t_to, derived, reason FROM access_grant"
     " WHERE derived = 0 ORDER BY patient, holder, t_from, t_to, mask",
     "INSERT INTO access_grant (patient, holder, mask, t_from, t_to, derived, reason)"
     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
     "break-the-glass grants (the derived ones are rebuilt)"},
    {"coord_notification", c_notification, "ittttttii",
     "SELECT nid, recipient, organization, kind, citizen, resource, text, created, read_at"
     " FROM coord_notification ORDER BY nid",
     "INSERT INTO coord_notification (nid, recipient, organization, kind, citizen, resource,"
     " text, created, read_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
     "the inbox: notices and whether they were read"},
    {"coord_job", c_job, "itttiitt",
     "SELECT jid, kind, resource_type, resource_id, due, claimed, claimed_by, outcome"
     " FROM coord_job ORDER BY jid",
     "INSERT INTO coord_job (jid, kind, resource_type, resource_id, due, claimed, claimed_by,"
     " outcome) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
     "the watchdog's timed jobs, fired and pending"},
    {"medcom_message", c_mc_message, "tttitttttii",
     "SELECT message_id, kind, activity, received, code, ack, patient_id, encounter_id,"
     " communication_id, patient_before, encounter_before FROM medcom_message"
     " ORDER BY message_id",
     "INSERT INTO medcom_message (message_id, kind, activity, received, code, ack, patient_id,"
     " encounter_id, communication_id, patient_before, encounter_before)"
     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
     "the MedCom ledger: every incoming message once, with its acknowledgement"},
    {"medcom_link", c_mc_link, "ttt", "SELECT key, type, id FROM medcom_link ORDER BY key",
     "INSERT INTO medcom_link (key, type, id) VALUES (?1, ?2, ?3)",
     "senders' identities of stays, threads and organisations"},
    {"medcom_event", c_mc_event, "iitttttti",
     "SELECT seq, time, kind, activity, message_id, patient_id, encounter_id, communication_id,"
     " handled FROM medcom_event ORDER BY seq",
     "INSERT INTO medcom_event (seq, time, kind, activity, message_id, patient_id,"
     " encounter_id, communication_id, handled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
     "applied MedCom messages for the rulesets"},
    {"medcom_outbox", c_mc_outbox, "ittttitiitt",
     "SELECT seq, message_id, kind, receiver, bundle, created, state, attempts, next_attempt,"
     " last_error, ack_code FROM medcom_outbox ORDER BY seq",
     "INSERT INTO medcom_outbox (seq, message_id, kind, receiver, bundle, created, state,"
     " attempts, next_attempt, last_error, ack_code)"
     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
     "outgoing MedCom messages with their delivery state"},
    {"stay_event", c_stay_event, "iiittittittttttttt",
     "SELECT seq, time, at, kind, source, medcom_seq, patient_id, encounter_id,"
     " encounter_version, ruleset, provider, municipality, municipality_from, gp, coordinator,"
     " told, rules, detail FROM stay_event ORDER BY seq",
     "INSERT INTO stay_event (seq, time, at, kind, source, medcom_seq, patient_id, encounter_id,"
     " encounter_version, ruleset, provider, municipality, municipality_from, gp, coordinator,"
     " told, rules, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
     " ?14, ?15, ?16, ?17, ?18)",
     "every event of a hospital stay acted on"},
    {"stay_board", c_stay_board, "ttttttitii",
     "SELECT encounter_id, patient_id, provider, municipality, gp, ruleset, ready_at, expected,"
     " payment_from, updated FROM stay_board ORDER BY encounter_id",
     "INSERT INTO stay_board (encounter_id, patient_id, provider, municipality, gp, ruleset,"
     " ready_at, expected, payment_from, updated)"
     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
     "the discharge board (stays that are discharge-ready)"},
};
const size_t sv_dump_table_count = sizeof(sv_dump_tables) / sizeof(sv_dump_tables[0]);

const char *const sv_dump_derived[] = {
    "idx_string",        "idx_token",
    "idx_reference",     "idx_date",
    "idx_number",        "idx_quantity",
    "idx_uri",           "idx_composite",
    "idx_combined",      "access_state", /* built = 0, then the grants and categories are derived */
    "schema_migrations", NULL};

/* ---- rows ---- */

static json_t *column_value(sv_stmt *st, int col, char kind)
{
    if (sv_stmt_column_is_null(st, col))
        return json_null();
    if (kind == 'i')
        return json_integer(sv_stmt_column_int64(st, col));
    if (kind == 'r')
        return json_real(sv_stmt_column_double(st, col));
    size_t len = 0;
    const char *s = sv_stmt_column_text(st, col, &len);
    return json_stringn(s ? s : "", len); /* NULL when it is not UTF-8 */
}

sv_err sv_dump_rows(sv_db *db, const sv_dump_table *t, sv_dump_row_fn fn, void *ctx, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, t->select_sql, &st, reterr);
    bool row = false;
    while (!e && !(e = sv_stmt_step(st, &row, reterr)) && row) {
        json_t *obj = json_object();
        for (int c = 0; t->column[c]; c++) {
            json_t *v = column_value(st, c, t->kind[c]);
            if (!v) {
                if (reterr)
                    sv_buf_addf(reterr, "%s.%s: a value is not UTF-8 text", t->name, t->column[c]);
                e = SV_ERR_INTERNAL;
                break;
            }
            json_object_set_new(obj, t->column[c], v);
        }
        bool go = !e && fn(ctx, obj);
        json_decref(obj);
        if (!e && !go)
            e = SV_ERR_INTERNAL;
    }
    if (st)
        sv_stmt_reset(st);
    return e;
}

static sv_err bind_value(sv_stmt *st, int idx, json_t *v)
{
    if (json_is_integer(v))
        return sv_stmt_bind_int64(st, idx, json_integer_value(v));
    if (json_is_real(v))
        return sv_stmt_bind_double(st, idx, json_real_value(v));
    if (json_is_string(v))
        return sv_stmt_bind_textn(st, idx, json_string_value(v), json_string_length(v));
    if (json_is_true(v) || json_is_false(v))
        return sv_stmt_bind_int64(st, idx, json_is_true(v));
    return sv_stmt_bind_null(st, idx);
}

sv_err sv_dump_insert(sv_db *db, const sv_dump_table *t, json_t *row, sv_buf *reterr)
{
    sv_store_recent_forget(db, NULL, NULL); /* rows written under sv_store_write's feet */
    if (!json_is_object(row)) {
        if (reterr)
            sv_buf_addf(reterr, "%s: a row is not a JSON object", t->name);
        return SV_ERR_INVALID;
    }
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, t->insert_sql, &st, reterr);
    for (int c = 0; !e && t->column[c]; c++)
        e = bind_value(st, c + 1, json_object_get(row, t->column[c]));
    if (!e)
        e = sv_stmt_run(st, reterr);
    return e;
}

/* ---- resources and versions ---- */

static const char *const c_resource[] = {"rid",          "type",    "id", "version",
                                         "last_updated", "deleted", NULL};
static const sv_dump_table resource_table = {
    "resource",
    c_resource,
    "ittiii",
    "SELECT rid, type, id, version, last_updated, deleted FROM resource ORDER BY rid",
    "INSERT INTO resource (rid, type, id, version, last_updated, deleted)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    "one row per resource, its current version"};

sv_err sv_dump_resources(sv_db *db, sv_dump_row_fn fn, void *ctx, sv_buf *reterr)
{
    return sv_dump_rows(db, &resource_table, fn, ctx, reterr);
}

sv_err sv_dump_insert_resource(sv_db *db, json_t *row, sv_buf *reterr)
{
    return sv_dump_insert(db, &resource_table, row, reterr);
}

static const char SQL_VERSIONS[] =
    "SELECT v.seq, v.rid, r.type, r.id, v.version, v.last_updated, v.method, v.deleted, v.json"
    " FROM resource_version v JOIN resource r ON r.rid = v.rid ORDER BY v.seq";
static const char SQL_INSERT_VERSION[] =
    "INSERT INTO resource_version (seq, rid, version, last_updated, method, deleted, json)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

sv_err sv_dump_versions(sv_db *db, sv_dump_version_fn fn, void *ctx, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_VERSIONS, &st, reterr);
    bool row = false;
    while (!e && !(e = sv_stmt_step(st, &row, reterr)) && row) {
        sv_dump_version v = {
            .seq = sv_stmt_column_int64(st, 0),
            .rid = sv_stmt_column_int64(st, 1),
            .type = sv_stmt_column_text(st, 2, NULL),
            .id = sv_stmt_column_text(st, 3, NULL),
            .version = sv_stmt_column_int64(st, 4),
            .last_updated = sv_stmt_column_int64(st, 5),
            .method = sv_stmt_column_text(st, 6, NULL),
            .deleted = sv_stmt_column_int64(st, 7) != 0,
        };
        if (!sv_stmt_column_is_null(st, 8))
            v.json = sv_stmt_column_text(st, 8, &v.json_len);
        if (!fn(ctx, &v))
            e = SV_ERR_INTERNAL;
    }
    if (st)
        sv_stmt_reset(st);
    return e;
}

sv_err sv_dump_insert_version(sv_db *db, const sv_dump_version *v, sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, SQL_INSERT_VERSION, &st, reterr);
    if (!e)
        e = sv_stmt_bind_int64(st, 1, v->seq);
    if (!e)
        e = sv_stmt_bind_int64(st, 2, v->rid);
    if (!e)
        e = sv_stmt_bind_int64(st, 3, v->version);
    if (!e)
        e = sv_stmt_bind_int64(st, 4, v->last_updated);
    if (!e)
        e = sv_stmt_bind_text(st, 5, v->method);
    if (!e)
        e = sv_stmt_bind_int64(st, 6, v->deleted ? 1 : 0);
    if (!e)
        e = v->json ? sv_stmt_bind_textn(st, 7, v->json, v->json_len) : sv_stmt_bind_null(st, 7);
    if (!e)
        e = sv_stmt_run(st, reterr);
    return e;
}

static const char SQL_CURRENT[] =
    "SELECT r.type, r.id, v.json FROM resource r"
    " JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
    " WHERE r.deleted = 0 AND r.last_updated >= ? ORDER BY r.type, r.rid";
/* The compartment rows (fhir/compartment.h, param "_compartment") say which
 * resources belong to some Patient's compartment. */
static const char SQL_CURRENT_PATIENTS[] =
    "SELECT r.type, r.id, v.json FROM resource r"
    " JOIN resource_version v ON v.rid = r.rid AND v.version = r.version"
    " WHERE r.deleted = 0 AND r.last_updated >= ? AND (r.type = 'Patient' OR EXISTS"
    " (SELECT 1 FROM idx_reference x WHERE x.rid = r.rid AND x.param = '_compartment'"
    " AND x.target_type = 'Patient')) ORDER BY r.type, r.rid";

sv_err sv_dump_current(sv_db *db, int64_t since_ms, bool patients, sv_dump_current_fn fn, void *ctx,
                       sv_buf *reterr)
{
    sv_stmt *st = NULL;
    sv_err e = sv_db_stmt(db, patients ? SQL_CURRENT_PATIENTS : SQL_CURRENT, &st, reterr);
    if (!e)
        e = sv_stmt_bind_int64(st, 1, since_ms);
    bool row = false;
    while (!e && !(e = sv_stmt_step(st, &row, reterr)) && row) {
        size_t len = 0;
        const char *json = sv_stmt_column_text(st, 2, &len);
        if (json &&
            !fn(ctx, sv_stmt_column_text(st, 0, NULL), sv_stmt_column_text(st, 1, NULL), json, len))
            e = SV_ERR_INTERNAL;
    }
    if (st)
        sv_stmt_reset(st);
    return e;
}

/* ---- the target ---- */

static const struct {
    const char *table, *sql;
} emptiness[] = {
    {"resource", "SELECT 1 FROM resource LIMIT 1"},
    {"audit", "SELECT 1 FROM audit LIMIT 1"},
    {"auth_user", "SELECT 1 FROM auth_user LIMIT 1"},
    {"auth_client", "SELECT 1 FROM auth_client LIMIT 1"},
    {"coord_notification", "SELECT 1 FROM coord_notification LIMIT 1"},
    {"medcom_message", "SELECT 1 FROM medcom_message LIMIT 1"},
};

sv_err sv_dump_check_empty(sv_db *db, sv_buf *reterr)
{
    for (size_t i = 0; i < sizeof(emptiness) / sizeof(emptiness[0]); i++) {
        sv_stmt *st = NULL;
        bool row = false;
        sv_err e = sv_db_stmt(db, emptiness[i].sql, &st, reterr);
        if (!e)
            e = sv_stmt_step(st, &row, reterr);
        if (st)
            sv_stmt_reset(st);
        if (e)
            return e;
        if (row) {
            if (reterr)
                sv_buf_addf(reterr, "the target database is not empty (table %s has rows)",
                            emptiness[i].table);
            return SV_ERR_CONFLICT;
        }
    }
    return SV_OK;
}

/* Each identity column's sequence to just past its largest key (an empty table:
 * 1, not yet used). */
static const char PG_SEQUENCES[] =
    "SELECT setval(pg_get_serial_sequence('resource', 'rid'),"
    "  COALESCE((SELECT MAX(rid) FROM resource), 0) + 1, false);"
    "SELECT setval(pg_get_serial_sequence('resource_version', 'seq'),"
    "  COALESCE((SELECT MAX(seq) FROM resource_version), 0) + 1, false);"
    "SELECT setval(pg_get_serial_sequence('auth_user', 'uid'),"
    "  COALESCE((SELECT MAX(uid) FROM auth_user), 0) + 1, false);"
    "SELECT setval(pg_get_serial_sequence('auth_client', 'cid'),"
    "  COALESCE((SELECT MAX(cid) FROM auth_client), 0) + 1, false);"
    "SELECT setval(pg_get_serial_sequence('coord_notification', 'nid'),"
    "  COALESCE((SELECT MAX(nid) FROM coord_notification), 0) + 1, false);"
    "SELECT setval(pg_get_serial_sequence('coord_job', 'jid'),"
    "  COALESCE((SELECT MAX(jid) FROM coord_job), 0) + 1, false);"
    "SELECT setval(pg_get_serial_sequence('medcom_event', 'seq'),"
    "  COALESCE((SELECT MAX(seq) FROM medcom_event), 0) + 1, false);"
    "SELECT setval(pg_get_serial_sequence('medcom_outbox', 'seq'),"
    "  COALESCE((SELECT MAX(seq) FROM medcom_outbox), 0) + 1, false);"
    "SELECT setval(pg_get_serial_sequence('stay_event', 'seq'),"
    "  COALESCE((SELECT MAX(seq) FROM stay_event), 0) + 1, false);";

sv_err sv_dump_finish(sv_db *db, sv_buf *reterr)
{
    if (sv_db_dialect_of(db) != SV_DIALECT_POSTGRES)
        return SV_OK;
    return sv_db_exec(db, PG_SEQUENCES, reterr);
}
