/*
 * schema.h - versioned schema migrations, applied at start.
 *
 * Each migration has a number and SQL per backend; applied ones are recorded
 * in schema_migrations, each in its own transaction, so a crash mid-way leaves
 * the database at the last whole version.  Depends on db/.
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

#endif
