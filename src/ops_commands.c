/* ops_commands.c - see ops_commands.h. */
#include "ops_commands.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "db/db.h"
#include "fhir/searchparam.h"
#include "ops/dump.h"
#include "store/schema.h"

const char sv_usage_export[] =
    "usage: samverka export [--db URI] DIR\n"
    "Writes everything in the database into DIR as NDJSON (FHIR bulk-data style):\n"
    "<Type>.ndjson with every version of every resource, the audit log with its\n"
    "hashes, logins, sessions, tokens, notifications, jobs, the MedCom ledger and\n"
    "outbox, stay events, and manifest.json.  One consistent snapshot: the server\n"
    "may keep running.  `samverka import --db URI DIR` loads it into an empty\n"
    "database of either backend (docs/operations.md).\n";

const char sv_usage_backup[] =
    "usage: samverka backup [--db PATH] FILE\n"
    "Copies the SQLite database to the new FILE while the server keeps running (one\n"
    "consistent snapshot, SQLite's online backup).  For PostgreSQL use pg_dump\n"
    "(docs/operations.md).\n";

/* Opens and migrates db_uri; prints why not. */
static sv_db *open_db(const char *db_uri, bool must_exist)
{
    if (must_exist && !strstr(db_uri, "://") && access(db_uri, F_OK) != 0) {
        fprintf(stderr, "samverka: no database at '%s'\n", db_uri);
        return NULL;
    }
    sv_db *db = NULL;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_open(db_uri, NULL, &db, &err);
    if (!e)
        e = sv_schema_migrate(db, NULL, &err);
    if (e) {
        fprintf(stderr, "samverka: cannot open the database: %s\n",
                err.len ? err.ptr : sv_strerror(e));
        sv_db_close(db);
        db = NULL;
    }
    sv_buf_release(&err);
    return db;
}

bool sv_cmd_import_is_dump(int n, char **rest)
{
    return n == 1 && sv_ops_is_export_dir(rest[0]);
}

int sv_cmd_export(const char *db_uri, int n, char **rest)
{
    if (n != 1 || rest[0][0] == '-') {
        fputs(sv_usage_export, stderr);
        return 2;
    }
    sv_db *db = open_db(db_uri, true);
    if (!db)
        return 1;
    sv_dump_stats st = {0};
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_ops_export(db, rest[0], &st, &err);
    if (e)
        fprintf(stderr, "samverka export: %s\n", err.len ? err.ptr : sv_strerror(e));
    else
        printf("exported %lld resources, %lld versions, %lld other rows to %s\n",
               (long long)st.resources, (long long)st.versions, (long long)st.rows, rest[0]);
    sv_buf_release(&err);
    sv_db_close(db);
    return e ? 1 : 0;
}

int sv_cmd_import_dump(const char *db_uri, const char *dir)
{
    sv_searchparam_init(); /* the reindex after the copy extracts index rows */
    sv_db *db = open_db(db_uri, false);
    if (!db)
        return 1;
    sv_dump_stats st = {0};
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_ops_import(db, dir, &st, &err);
    if (e)
        fprintf(stderr, "samverka import: %s\n", err.len ? err.ptr : sv_strerror(e));
    else
        printf("imported %lld resources, %lld versions, %lld other rows; reindexed %lld\n",
               (long long)st.resources, (long long)st.versions, (long long)st.rows,
               (long long)st.reindexed);
    sv_buf_release(&err);
    sv_db_close(db);
    return e ? 1 : 0;
}

int sv_cmd_backup(const char *db_uri, int n, char **rest)
{
    if (n != 1 || rest[0][0] == '-') {
        fputs(sv_usage_backup, stderr);
        return 2;
    }
    sv_db *db = open_db(db_uri, true);
    if (!db)
        return 1;
    sv_buf err = SV_BUF_INIT;
    sv_err e = sv_db_backup(db, rest[0], &err);
    if (e)
        fprintf(stderr, "samverka backup: %s\n", err.len ? err.ptr : sv_strerror(e));
    else
        printf("backup written to %s\n", rest[0]);
    sv_buf_release(&err);
    sv_db_close(db);
    return e ? 1 : 0;
}
