/*
 * schema.h - versioned schema migrations, applied at start.
 *
 * Each migration has a number and SQL per backend (SQLite, PostgreSQL); every
 * migration must have the text of the database's backend, checked before any is
 * applied.  Applied ones are recorded in schema_migrations, each in its own
 * transaction, so a crash mid-way leaves the database at the last whole version.
 * Depends on db/.
 */
#ifndef SV_STORE_SCHEMA_H
#define SV_STORE_SCHEMA_H

#include "db/db.h"

/* Brings the database up to the newest schema.  ret_version may be NULL. */
sv_err sv_schema_migrate(sv_db *db, int *ret_version, sv_buf *reterr);
/* The newest schema version this build knows. */
int sv_schema_latest(void);
/* How many migrations this build knows (numbers may have gaps while branches
 * that took numbers are not merged yet). */
int sv_schema_count(void);

/* One migration: its number and its SQL per backend (NULL: not written for that
 * backend; a database of that backend then refuses to start, naming the number). */
typedef struct sv_migration {
    int version;
    const char *sqlite;
    const char *postgres;
} sv_migration;

typedef struct sv_migration_list {
    const sv_migration *items;
    size_t len;
} sv_migration_list;

/* sv_schema_migrate with the given list instead of this build's (tests). */
sv_err sv__schema_migrate(sv_db *db, const sv_migration_list *list, int *ret_version,
                          sv_buf *reterr);

#endif
