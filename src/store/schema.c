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
};

#define N_MIGRATIONS (sizeof(migrations) / sizeof(migrations[0]))

static const char SQL_CREATE_MIGRATIONS[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    "version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)";
static const char SQL_MAX_VERSION[] = "SELECT COALESCE(MAX(version), 0) FROM schema_migrations";
static const char SQL_RECORD[] =
    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, strftime('%s','now'))";

int sv_schema_latest(void)
{
    return migrations[N_MIGRATIONS - 1].version;
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
        /* Re-read inside the write lock: another process may have migrated meanwhile. */
        e = current_version(db, &have, reterr);
        if (!e && have < m->version) {
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
