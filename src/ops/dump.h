/*
 * dump.h - `samverka export` and the directory form of `samverka import`
 * (docs/operations.md): everything in the database as NDJSON files, FHIR
 * bulk-data style, so that an installation moves between SQLite and
 * PostgreSQL without loss.
 *
 * The directory holds manifest.json; one <Type>.ndjson per resource type with
 * every stored version of that type (the JSON text byte for byte, in history
 * order); resource.ndjson and resource_version.ndjson (keys, versions, times,
 * methods, deletion markers); and one <table>.ndjson per other copied table
 * (store/dump.h: the audit log with its hashes, logins, sessions, tokens,
 * break-the-glass grants, notifications, jobs, the MedCom ledger and outbox,
 * stay events and the discharge board).  Search-index rows, categories and
 * derived grants are not in it: the import rebuilds them (fhir/reindex).
 * Depends on fhir/ (reindex) and store/dump.
 */
#ifndef SV_OPS_DUMP_H
#define SV_OPS_DUMP_H

#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "db/db.h"

#define SV_DUMP_MANIFEST "manifest.json"
#define SV_DUMP_FORMAT 1

typedef struct sv_dump_stats {
    int64_t resources; /* resources (current) */
    int64_t versions;  /* stored versions, deletion markers included */
    int64_t rows;      /* rows of the other tables */
    int64_t reindexed; /* import: resources whose index rows were rebuilt */
} sv_dump_stats;

/*
 * Writes everything in db into dir (created when missing; refused when it
 * already holds a manifest), from one read snapshot, so that a running server
 * may keep writing.  ret_stats may be NULL.
 */
sv_err sv_ops_export(sv_db *db, const char *dir, sv_dump_stats *ret_stats, sv_buf *reterr);

/*
 * Loads the export in dir into db, which must be empty (a fresh SQLite file or
 * PostgreSQL database; its schema is migrated by the caller): all copied rows
 * in one write transaction (all or nothing), then the derived rows rebuilt.
 * Refused when the export was written by a newer schema.
 */
sv_err sv_ops_import(sv_db *db, const char *dir, sv_dump_stats *ret_stats, sv_buf *reterr);

/* True when path is a directory holding an export's manifest. */
bool sv_ops_is_export_dir(const char *path);

#endif
