/* schema.c - see schema.h.  Append migrations; never edit one that has shipped. */
#include "store/schema.h"

#include <string.h>

typedef struct migration {
    int version;
    const char *sqlite;
} migration;

static const migration migrations[] = {
    {1,
     /* Resources: one row per (type, id) with the current version; every version
      * in resource_version, ordered globally by seq for history and paging. */
     "CREATE TABLE resource ("
     "  rid INTEGER PRIMARY KEY,"
     "  type TEXT NOT NULL,"
     "  id TEXT NOT NULL,"
     "  version INTEGER NOT NULL,"
     "  last_updated INTEGER NOT NULL,"
     "  deleted INTEGER NOT NULL DEFAULT 0,"
     "  UNIQUE (type, id));"
     "CREATE TABLE resource_version ("
     "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  version INTEGER NOT NULL,"
     "  last_updated INTEGER NOT NULL,"
     "  method TEXT NOT NULL,"
     "  deleted INTEGER NOT NULL DEFAULT 0,"
     "  json TEXT,"
     "  UNIQUE (rid, version));"
     "CREATE INDEX resource_type_updated ON resource(type, last_updated);"
     /* Search index rows of the current version (store/index.h). */
     "CREATE TABLE idx_string (rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  param TEXT NOT NULL, value TEXT, exact TEXT);"
     "CREATE INDEX idx_string_value ON idx_string(param, value);"
     "CREATE INDEX idx_string_rid ON idx_string(rid);"
     "CREATE TABLE idx_token (rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  param TEXT NOT NULL, system TEXT, value TEXT, exact TEXT);"
     "CREATE INDEX idx_token_value ON idx_token(param, value, system);"
     "CREATE INDEX idx_token_rid ON idx_token(rid);"
     "CREATE TABLE idx_reference (rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  param TEXT NOT NULL, target_type TEXT, target_id TEXT, url TEXT);"
     "CREATE INDEX idx_reference_target ON idx_reference(param, target_id, target_type);"
     "CREATE INDEX idx_reference_rid ON idx_reference(rid);"
     "CREATE TABLE idx_date (rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  param TEXT NOT NULL, low INTEGER NOT NULL, high INTEGER NOT NULL);"
     "CREATE INDEX idx_date_low ON idx_date(param, low);"
     "CREATE INDEX idx_date_rid ON idx_date(rid);"
     "CREATE TABLE idx_number (rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  param TEXT NOT NULL, value REAL NOT NULL);"
     "CREATE INDEX idx_number_value ON idx_number(param, value);"
     "CREATE INDEX idx_number_rid ON idx_number(rid);"
     "CREATE TABLE idx_quantity (rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  param TEXT NOT NULL, value REAL NOT NULL, system TEXT, code TEXT, unit TEXT);"
     "CREATE INDEX idx_quantity_value ON idx_quantity(param, value);"
     "CREATE INDEX idx_quantity_rid ON idx_quantity(rid);"
     "CREATE TABLE idx_uri (rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  param TEXT NOT NULL, uri TEXT);"
     "CREATE INDEX idx_uri_value ON idx_uri(param, uri);"
     "CREATE INDEX idx_uri_rid ON idx_uri(rid);"},
    {2,
     /* Search that stays on indexes (docs/search.md).  Every index row carries its
      * resource's type, so that one index range holds exactly the rows of one (type,
      * parameter, value): a lookup never visits rows of other types, and a count needs
      * no join with resource (a deleted resource has no rows).  Two indexes per table:
      * "lookup" (type, param, value..., rid) finds resources by value, in rid order for
      * an equal value; "rid" (rid, param, value...) answers "does this resource have
      * this value" with one covering seek, and deletes the rows of a resource.
      * idx_token.text is the folded display/text for :text; idx_composite holds value
      * pairs (composite parameters, Identifier type + value for :of-type);
      * resource(type, deleted) walks the live resources of a type in rid order. */
     "ALTER TABLE idx_string ADD COLUMN type TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE idx_token ADD COLUMN type TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE idx_token ADD COLUMN text TEXT;"
     "ALTER TABLE idx_reference ADD COLUMN type TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE idx_date ADD COLUMN type TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE idx_number ADD COLUMN type TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE idx_quantity ADD COLUMN type TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE idx_uri ADD COLUMN type TEXT NOT NULL DEFAULT '';"
     "UPDATE idx_string SET type = (SELECT r.type FROM resource r WHERE r.rid = idx_string.rid);"
     "UPDATE idx_token SET type = (SELECT r.type FROM resource r WHERE r.rid = idx_token.rid),"
     "  text = lower(exact);"
     "UPDATE idx_reference SET type ="
     "  (SELECT r.type FROM resource r WHERE r.rid = idx_reference.rid);"
     "UPDATE idx_date SET type = (SELECT r.type FROM resource r WHERE r.rid = idx_date.rid);"
     "UPDATE idx_number SET type = (SELECT r.type FROM resource r WHERE r.rid = idx_number.rid);"
     "UPDATE idx_quantity SET type ="
     "  (SELECT r.type FROM resource r WHERE r.rid = idx_quantity.rid);"
     "UPDATE idx_uri SET type = (SELECT r.type FROM resource r WHERE r.rid = idx_uri.rid);"
     "DROP INDEX idx_string_value;"
     "DROP INDEX idx_string_rid;"
     "DROP INDEX idx_token_value;"
     "DROP INDEX idx_token_rid;"
     "DROP INDEX idx_reference_target;"
     "DROP INDEX idx_reference_rid;"
     "DROP INDEX idx_date_low;"
     "DROP INDEX idx_date_rid;"
     "DROP INDEX idx_number_value;"
     "DROP INDEX idx_number_rid;"
     "DROP INDEX idx_quantity_value;"
     "DROP INDEX idx_quantity_rid;"
     "DROP INDEX idx_uri_value;"
     "DROP INDEX idx_uri_rid;"
     "CREATE INDEX idx_string_lookup ON idx_string(type, param, value, rid);"
     "CREATE INDEX idx_string_rid ON idx_string(rid, param, value);"
     "CREATE INDEX idx_token_lookup ON idx_token(type, param, value, rid, system);"
     "CREATE INDEX idx_token_rid ON idx_token(rid, param, value, system);"
     "CREATE INDEX idx_reference_lookup"
     "  ON idx_reference(type, param, target_id, rid, target_type);"
     "CREATE INDEX idx_reference_rid ON idx_reference(rid, param, target_id, target_type);"
     "CREATE INDEX idx_date_lookup ON idx_date(type, param, low, high, rid);"
     "CREATE INDEX idx_date_rid ON idx_date(rid, param, low, high);"
     "CREATE INDEX idx_number_lookup ON idx_number(type, param, value, rid);"
     "CREATE INDEX idx_number_rid ON idx_number(rid, param, value);"
     "CREATE INDEX idx_quantity_lookup ON idx_quantity(type, param, value, rid);"
     "CREATE INDEX idx_quantity_rid ON idx_quantity(rid, param, value);"
     "CREATE INDEX idx_uri_lookup ON idx_uri(type, param, uri, rid);"
     "CREATE INDEX idx_uri_rid ON idx_uri(rid, param, uri);"
     "CREATE TABLE idx_composite (rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  type TEXT NOT NULL, param TEXT NOT NULL, system1 TEXT, value1 TEXT,"
     "  system2 TEXT, value2 TEXT, number2 REAL, low2 INTEGER, high2 INTEGER);"
     "CREATE INDEX idx_composite_lookup ON idx_composite(type, param, value1, rid);"
     "CREATE INDEX idx_composite_rid ON idx_composite(rid, param, value1);"
     "CREATE INDEX resource_type_live ON resource(type, deleted);"},
    {3,
     /* The audit log (store/audit.h, docs/audit.md): append-only, hash-chained.
      * audit_head holds the count and the last seq and hash, updated with every
      * append, so that a truncated tail is seen too.  The triggers refuse updates
      * and deletes through SQL - a guard against mistakes, not against someone
      * with write access to the file; the chain is what shows that. */
     "CREATE TABLE audit ("
     "  seq INTEGER PRIMARY KEY,"
     "  time INTEGER NOT NULL,"
     "  principal_kind TEXT NOT NULL,"
     "  principal_id TEXT,"
     "  organisation TEXT,"
     "  role TEXT,"
     "  citizen TEXT,"
     "  action TEXT NOT NULL,"
     "  resource_type TEXT,"
     "  resource_id TEXT,"
     "  resource_version INTEGER,"
     "  purpose TEXT,"
     "  outcome INTEGER NOT NULL,"
     "  prev_hash TEXT NOT NULL,"
     "  hash TEXT NOT NULL);"
     "CREATE INDEX audit_citizen ON audit(citizen, time);"
     "CREATE TABLE audit_head ("
     "  one INTEGER PRIMARY KEY CHECK (one = 1),"
     "  records INTEGER NOT NULL,"
     "  last_seq INTEGER NOT NULL,"
     "  last_hash TEXT NOT NULL);"
     "INSERT INTO audit_head (one, records, last_seq, last_hash) VALUES (1, 0, 0,"
     "  '0000000000000000000000000000000000000000000000000000000000000000');"
     "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
     "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"
     "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
     "  BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;"},
    {4,
     /* Identity (auth/identity.h, docs/identity.md).  Secrets are stored only as
      * hashes: argon2id for passwords, BLAKE2b for the 256-bit random session ids
      * and tokens.  A token with secret = 1 is a client's long-lived token (also its
      * client-credentials secret) and carries the client's current scopes; others
      * are access tokens with their own scopes and expiry.  auth_failure counts
      * failed logins per key ("u:NAME", "a:ADDRESS"); auth_lock holds lockouts. */
     "CREATE TABLE auth_user ("
     "  uid INTEGER PRIMARY KEY,"
     "  username TEXT NOT NULL UNIQUE,"
     "  kind TEXT NOT NULL,"
     "  password_hash TEXT NOT NULL,"
     "  practitioner_role TEXT,"
     "  patient TEXT,"
     "  disabled INTEGER NOT NULL DEFAULT 0,"
     "  created INTEGER NOT NULL);"
     "CREATE TABLE auth_session ("
     "  id_hash TEXT PRIMARY KEY,"
     "  uid INTEGER NOT NULL REFERENCES auth_user(uid),"
     "  created INTEGER NOT NULL,"
     "  last_seen INTEGER NOT NULL,"
     "  revoked INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX auth_session_uid ON auth_session(uid);"
     "CREATE INDEX auth_session_created ON auth_session(created);"
     "CREATE TABLE auth_client ("
     "  cid INTEGER PRIMARY KEY,"
     "  name TEXT NOT NULL UNIQUE,"
     "  scopes TEXT NOT NULL,"
     "  created INTEGER NOT NULL);"
     "CREATE TABLE auth_token ("
     "  token_hash TEXT PRIMARY KEY,"
     "  cid INTEGER NOT NULL REFERENCES auth_client(cid),"
     "  scopes TEXT NOT NULL,"
     "  secret INTEGER NOT NULL,"
     "  created INTEGER NOT NULL,"
     "  expires INTEGER NOT NULL DEFAULT 0,"
     "  revoked INTEGER NOT NULL DEFAULT 0);"
     "CREATE TABLE auth_failure (key TEXT NOT NULL, at INTEGER NOT NULL);"
     "CREATE INDEX auth_failure_key ON auth_failure(key, at);"
     "CREATE INDEX auth_failure_at ON auth_failure(at);"
     "CREATE TABLE auth_lock (key TEXT PRIMARY KEY, until INTEGER NOT NULL);"},
    {5,
     /* Access (docs/access.md).  resource.category: the resource's data category
      * bit (policy/category.h), 0 for types outside every Patient compartment.
      * access_grant: who may see which citizen's categories when, derived from the
      * citizen's Patient, CareTeams, Encounters, EpisodesOfCare and Consents by
      * policy/grants.c whenever one of them is written (derived = 1), plus
      * break-the-glass grants (derived = 0).  holder: "Organization/O",
      * "Patient/X", "RelatedPerson/R" or "user:NAME"; [t_from, t_to) in ms.
      * access_state.built: 0 until the grants of data written before this
      * migration have been derived (the server does it at start).  Users gain a
      * RelatedPerson link (relatives). */
     "ALTER TABLE resource ADD COLUMN category INTEGER NOT NULL DEFAULT 4;"
     "CREATE TABLE access_grant ("
     "  patient TEXT NOT NULL,"
     "  holder TEXT NOT NULL,"
     "  mask INTEGER NOT NULL,"
     "  t_from INTEGER NOT NULL,"
     "  t_to INTEGER NOT NULL,"
     "  derived INTEGER NOT NULL DEFAULT 1,"
     "  reason TEXT);"
     "CREATE INDEX access_grant_lookup ON access_grant(patient, holder, t_from, t_to, mask);"
     "CREATE TABLE access_state (one INTEGER PRIMARY KEY CHECK (one = 1), built INTEGER NOT NULL);"
     "INSERT INTO access_state (one, built) VALUES (1, 0);"
     "ALTER TABLE auth_user ADD COLUMN related_person TEXT;"},
    {6,
     /* Coordination (coord/, docs/coordination.md).  coord_notification is the
      * inbox: a notice to a user (recipient: "PractitionerRole/x", "Patient/y")
      * and/or an organisation ("Organization/z"), read_at NULL while unread.
      * coord_job holds the watchdog's timed jobs (reminder, overdue) per resource:
      * a job is claimed with UPDATE ... WHERE claimed IS NULL in the transaction
      * that does its work, so it fires once across processes and a crash in the
      * middle leaves it unclaimed. */
     "CREATE TABLE coord_notification ("
     "  nid INTEGER PRIMARY KEY,"
     "  recipient TEXT,"
     "  organization TEXT,"
     "  kind TEXT NOT NULL,"
     "  citizen TEXT,"
     "  resource TEXT,"
     "  text TEXT,"
     "  created INTEGER NOT NULL,"
     "  read_at INTEGER);"
     "CREATE INDEX coord_notification_recipient ON coord_notification(recipient, nid);"
     "CREATE INDEX coord_notification_organization ON coord_notification(organization, nid);"
     "CREATE INDEX coord_notification_citizen ON coord_notification(citizen, nid);"
     "CREATE TABLE coord_job ("
     "  jid INTEGER PRIMARY KEY,"
     "  kind TEXT NOT NULL,"
     "  resource_type TEXT NOT NULL,"
     "  resource_id TEXT NOT NULL,"
     "  due INTEGER NOT NULL,"
     "  claimed INTEGER,"
     "  claimed_by TEXT,"
     "  outcome TEXT);"
     "CREATE INDEX coord_job_due ON coord_job(claimed, due);"
     "CREATE INDEX coord_job_resource ON coord_job(resource_type, resource_id, kind, due);"},
    {7,
     /* MedCom messaging (medcom/, docs/medcom.md).  medcom_message: every incoming
      * message id once, with the acknowledgement it got (a duplicate gets the same
      * one) and the versions of Patient and Encounter before it was applied (a
      * cancellation restores them).  medcom_link: a sender's identity of a stay,
      * thread or organisation ("stay:SYSTEM|VALUE") mapped to our resource id.
      * medcom_event: one row per applied message for rulesets, tasks and
      * notifications to pick up (handled = 0 until they have).  medcom_outbox:
      * outgoing messages with their delivery state and retries.  Numbered 8: 5-7
      * belong to other branches. */
     "CREATE TABLE medcom_message ("
     "  message_id TEXT PRIMARY KEY,"
     "  kind TEXT NOT NULL,"
     "  activity TEXT,"
     "  received INTEGER NOT NULL,"
     "  code TEXT NOT NULL,"
     "  ack TEXT NOT NULL,"
     "  patient_id TEXT,"
     "  encounter_id TEXT,"
     "  communication_id TEXT,"
     "  patient_before INTEGER NOT NULL DEFAULT 0,"
     "  encounter_before INTEGER NOT NULL DEFAULT 0);"
     "CREATE TABLE medcom_link ("
     "  key TEXT PRIMARY KEY,"
     "  type TEXT NOT NULL,"
     "  id TEXT NOT NULL);"
     "CREATE TABLE medcom_event ("
     "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  time INTEGER NOT NULL,"
     "  kind TEXT NOT NULL,"
     "  activity TEXT,"
     "  message_id TEXT NOT NULL,"
     "  patient_id TEXT,"
     "  encounter_id TEXT,"
     "  communication_id TEXT,"
     "  handled INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX medcom_event_pending ON medcom_event(handled, seq);"
     "CREATE TABLE medcom_outbox ("
     "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  message_id TEXT NOT NULL UNIQUE,"
     "  kind TEXT NOT NULL,"
     "  receiver TEXT,"
     "  bundle TEXT NOT NULL,"
     "  created INTEGER NOT NULL,"
     "  state TEXT NOT NULL DEFAULT 'pending',"
     "  attempts INTEGER NOT NULL DEFAULT 0,"
     "  next_attempt INTEGER NOT NULL,"
     "  last_error TEXT,"
     "  ack_code TEXT);"
     "CREATE INDEX medcom_outbox_due ON medcom_outbox(state, next_attempt);"},
    {8,
     /* Combined index rows (store/combined.h, docs/search.md): for the worklists of
      * coordination - an organisation's open Tasks by deadline, its stays in progress,
      * its messages by date - one row per (reference, status) of a resource that also
      * carries the date the list is sorted by, so that one index range holds exactly
      * the matches, already with their sort keys.  Rows: the reference's target, the
      * status code (NULL when the resource has none), the least start and greatest
      * end of the date parameter (NULL when none), and multi = 1 on every row of a
      * resource that has more than one (several references or codes), so that a
      * search need only de-duplicate those.  The backfill below derives the rows of
      * the existing resources from their index rows, for the definitions in
      * store/combined.c as they are in this migration. */
     "CREATE TABLE idx_combined (rid INTEGER NOT NULL REFERENCES resource(rid),"
     "  type TEXT NOT NULL, param TEXT NOT NULL, target_type TEXT, target_id TEXT,"
     "  code TEXT, low INTEGER, high INTEGER, multi INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX idx_combined_lookup"
     "  ON idx_combined(type, param, target_id, code, multi, rid, target_type, low, high);"
     "CREATE INDEX idx_combined_rid ON idx_combined(rid, param);"
     "CREATE TEMP TABLE combined_def (type TEXT, param TEXT, code TEXT, date TEXT);"
     "INSERT INTO combined_def VALUES ('Task', 'owner', 'status', 'deadline'),"
     "  ('Encounter', 'service-provider', 'status', 'date'),"
     "  ('Communication', 'recipient', 'status', 'sent');"
     "INSERT INTO idx_combined (rid, type, param, target_type, target_id, code, low, high)"
     "  SELECT DISTINCT x.rid, x.type, x.param, x.target_type, x.target_id, t.value,"
     "    (SELECT MIN(d.low) FROM idx_date d WHERE d.rid = x.rid AND d.param = f.date),"
     "    (SELECT MAX(d.high) FROM idx_date d WHERE d.rid = x.rid AND d.param = f.date)"
     "  FROM combined_def f JOIN idx_reference x ON x.type = f.type AND x.param = f.param"
     "  LEFT JOIN idx_token t ON t.rid = x.rid AND t.param = f.code AND t.value IS NOT NULL;"
     "UPDATE idx_combined SET multi = 1 WHERE (SELECT COUNT(*) FROM idx_combined o"
     "  WHERE o.rid = idx_combined.rid AND o.param = idx_combined.param) > 1;"
     "DROP TABLE combined_def;"},
    {9,
     /* Hospital stays as events (stays/, docs/transitions.md).  stay_event: every
      * event of a stay acted on, with its source (rest, medcom and the
      * medcom_event row), the ruleset and rules that ran, the parties found and
      * the ones told (a NULL municipality is a stay nobody could tell).
      * stay_board: one row per stay that is active and discharge-ready, with the
      * start of the municipality's payment responsibility (NULL: none). */
     "CREATE TABLE stay_event ("
     "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  time INTEGER NOT NULL,"
     "  at INTEGER NOT NULL,"
     "  kind TEXT NOT NULL,"
     "  source TEXT NOT NULL,"
     "  medcom_seq INTEGER NOT NULL DEFAULT 0,"
     "  patient_id TEXT NOT NULL,"
     "  encounter_id TEXT,"
     "  encounter_version INTEGER NOT NULL DEFAULT 0,"
     "  ruleset TEXT,"
     "  provider TEXT,"
     "  municipality TEXT,"
     "  municipality_from TEXT,"
     "  gp TEXT,"
     "  coordinator TEXT,"
     "  told TEXT,"
     "  rules TEXT,"
     "  detail TEXT);"
     "CREATE INDEX stay_event_encounter ON stay_event(encounter_id, kind);"
     "CREATE INDEX stay_event_patient ON stay_event(patient_id, seq);"
     "CREATE TABLE stay_board ("
     "  encounter_id TEXT PRIMARY KEY,"
     "  patient_id TEXT NOT NULL,"
     "  provider TEXT,"
     "  municipality TEXT,"
     "  gp TEXT,"
     "  ruleset TEXT,"
     "  ready_at INTEGER NOT NULL,"
     "  expected TEXT,"
     "  payment_from INTEGER,"
     "  updated INTEGER NOT NULL);"
     "CREATE INDEX stay_board_provider ON stay_board(provider);"
     "CREATE INDEX stay_board_municipality ON stay_board(municipality);"
     "CREATE INDEX stay_board_gp ON stay_board(gp);"},
    {10,
     /* Access, second part (docs/access.md, docs/identity.md).  audit.reason: why
      * (break-the-glass); a record with a reason hashes under the tag sv-audit-2
      * (store/audit.c), so records written before keep their hashes.
      * audit_time: the administrator's AuditEvent view, newest first.
      * auth_user_role: every PractitionerRole a user may act in (position 0 is
      * auth_user.practitioner_role, the default); auth_session.acting_role: the
      * one chosen for the session (NULL: the default). */
     "ALTER TABLE audit ADD COLUMN reason TEXT;"
     "CREATE INDEX audit_time ON audit(time);"
     "CREATE TABLE auth_user_role ("
     "  uid INTEGER NOT NULL REFERENCES auth_user(uid),"
     "  practitioner_role TEXT NOT NULL,"
     "  position INTEGER NOT NULL,"
     "  PRIMARY KEY (uid, practitioner_role));"
     "INSERT INTO auth_user_role (uid, practitioner_role, position)"
     "  SELECT uid, practitioner_role, 0 FROM auth_user WHERE practitioner_role IS NOT NULL;"
     "ALTER TABLE auth_session ADD COLUMN acting_role TEXT;"},
    {11,
     /* Results (results/, docs/results.md): the break-the-glass indicator counts
      * audit records by action and time without walking the whole log. */
     "CREATE INDEX audit_action ON audit(action, time);"},
    {12,
     /* Policy cost (docs/performance.md): whether a user holds any break-the-glass
      * grant at all, without walking the derived grants. */
     "CREATE INDEX access_grant_btg ON access_grant(holder, t_to) WHERE derived = 0;"},
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static const char SQL_CREATE_MIGRATIONS[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";
static const char SQL_MAX_VERSION[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char SQL_HAS_VERSION[] = "SELECT 1 FROM schema_migrations WHERE version = ?";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))";

int sv_schema_latest(void)
{
    return migrations[N_MIGRATIONS - 1].version;
}

int sv_schema_count(void)
{
    return (int)N_MIGRATIONS;
}

static sv_err current_version(sv_db *db, int *ret, sv_buf *reterr)
{
    sv_stmt *st;
    sv_err e = sv_db_stmt(db, SQL_MAX_VERSION, &st, reterr);
    if (e)
        return e;
    bool row = false;
    e = sv_stmt_step(st, &row, reterr);
    if (e)
        return e;
    *ret = row ? (int)sv_stmt_column_int64(st, 0) : 0;
    sv_stmt_reset(st);
    return SV_OK;
}

sv_err sv_schema_migrate(sv_db *db, int *ret_version, sv_buf *reterr)
{
    sv_err e = sv_db_exec(db, SQL_CREATE_MIGRATIONS, reterr);
    if (e)
        return e;
    int have = 0;
    for (size_t i = 0; i < N_MIGRATIONS; i++) {
        const migration *m = &migrations[i];
        e = sv_db_begin(db, SV_TX_WRITE, reterr);
        if (e)
            return e;
        /* Re-read inside the write lock: another process may have migrated meanwhile.
         * Each migration is applied when it is not recorded (not "when newer than the
         * newest"), so that a test can run one migration again on its own. */
        bool applied = false;
        sv_stmt *has = NULL;
        e = sv_db_stmt(db, SQL_HAS_VERSION, &has, reterr);
        if (!e)
            e = sv_stmt_bind_int64(has, 1, m->version);
        if (!e)
            e = sv_stmt_step(has, &applied, reterr);
        if (has)
            sv_stmt_reset(has);
        if (!e && !applied) {
            e = sv_db_exec(db, m->sqlite, reterr);
            sv_stmt *st = NULL;
            if (!e)
                e = sv_db_stmt(db, SQL_RECORD, &st, reterr);
            if (!e)
                e = sv_stmt_bind_int64(st, 1, m->version);
            if (!e)
                e = sv_stmt_run(st, reterr);
        }
        if (e) {
            sv_db_rollback(db);
            return e;
        }
        e = sv_db_commit(db, reterr);
        if (e)
            return e;
    }
    e = current_version(db, &have, reterr);
    if (!e && have > sv_schema_latest()) {
        if (reterr)
            sv_buf_addf(reterr, "database schema version %d is newer than this build (%d)", have,
                        sv_schema_latest());
        return SV_ERR_CONFLICT;
    }
    if (!e && ret_version)
        *ret_version = have;
    return e;
}
