/*
 * dump.h - every table of the store as rows, for `samverka export` / `import`
 * (ops/dump.c, docs/operations.md): read out in a fixed order and written back
 * into an empty database of either backend, with the same keys, so that
 * history order, audit sequence numbers and search order survive the move.
 *
 * Each table of store/schema.c is either copied (sv_dump_tables, and the
 * resource versions through sv_dump_versions) or derived and rebuilt after an
 * import (sv_dump_derived: the search-index rows, categories and derived
 * access grants, by fhir/reindex).  tests/unit/store/test_dump.c fails when a
 * table is in neither list.
 * Knows nothing of files or FHIR beyond "type, id, version, JSON text".
 */
#ifndef SV_STORE_DUMP_H
#define SV_STORE_DUMP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/error.h"
#include "db/db.h"

/* One copied table: its rows as JSON objects {column: value}. */
typedef struct sv_dump_table {
    const char *name;          /* the table, and the file stem of its rows */
    const char *const *column; /* NULL-terminated */
    const char *kind;          /* per column: 'i' integer, 'r' real, 't' text */
    const char *select_sql;    /* its rows in key order, columns as above */
    const char *insert_sql;    /* ?1..?N in the same order */
    const char *why;           /* one line for the manifest and the docs */
} sv_dump_table;

extern const sv_dump_table sv_dump_tables[];
extern const size_t sv_dump_table_count;

/* Tables not copied: rebuilt on import (or, schema_migrations, written by the
 * target's own migrations).  NULL-terminated. */
extern const char *const sv_dump_derived[];

/* Called per row; a false return stops the walk (the callback's error stands). */
typedef bool (*sv_dump_row_fn)(void *ctx, json_t *row);

/* Every row of t in key order; row is borrowed for the call. */
sv_err sv_dump_rows(sv_db *db, const sv_dump_table *t, sv_dump_row_fn fn, void *ctx,
                    sv_buf *reterr);

/* Inserts one row of t (a key missing from row binds NULL). */
sv_err sv_dump_insert(sv_db *db, const sv_dump_table *t, json_t *row, sv_buf *reterr);

/* One stored version, in global history order (seq).  json is NULL for a
 * deletion marker; all pointers are borrowed for the call. */
typedef struct sv_dump_version {
    int64_t seq, rid, version, last_updated;
    const char *type, *id, *method;
    bool deleted;
    const char *json;
    size_t json_len;
} sv_dump_version;

typedef bool (*sv_dump_version_fn)(void *ctx, const sv_dump_version *v);

/* Every resource, then every version of every resource by seq. */
sv_err sv_dump_resources(sv_db *db, sv_dump_row_fn fn, void *ctx, sv_buf *reterr);
sv_err sv_dump_versions(sv_db *db, sv_dump_version_fn fn, void *ctx, sv_buf *reterr);

/* Writes a resource row {rid, type, id, version, last_updated, deleted}; its
 * category is derived later (sv_fhir_reindex). */
sv_err sv_dump_insert_resource(sv_db *db, json_t *row, sv_buf *reterr);
sv_err sv_dump_insert_version(sv_db *db, const sv_dump_version *v, sv_buf *reterr);

/* The current version of every live resource last updated at or after
 * since_ms (0: all), by type and then storage order: what a FHIR bulk export
 * (GET /fhir/$export) writes.  patients: only Patients and the resources in a
 * Patient's compartment (GET /fhir/Patient/$export).  Pointers borrowed for
 * the call. */
typedef bool (*sv_dump_current_fn)(void *ctx, const char *type, const char *id, const char *json,
                                   size_t json_len);
sv_err sv_dump_current(sv_db *db, int64_t since_ms, bool patients, sv_dump_current_fn fn, void *ctx,
                       sv_buf *reterr);

/* SV_OK when db holds no resource, audit record, user or client (an import
 * target); SV_ERR_CONFLICT with the first non-empty table named otherwise. */
sv_err sv_dump_check_empty(sv_db *db, sv_buf *reterr);

/* After an import inside its transaction: PostgreSQL's identity sequences
 * moved past the copied keys (SQLite's follow by themselves). */
sv_err sv_dump_finish(sv_db *db, sv_buf *reterr);

#endif
