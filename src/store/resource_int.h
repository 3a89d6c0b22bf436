/*
 * resource_int.h - inside store/: the write path's pieces shared by resource.c and
 * resource_pg.c (the PostgreSQL path, one statement per step instead of one per row).
 */
#ifndef SV_STORE_RESOURCE_INT_H
#define SV_STORE_RESOURCE_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "db/db.h"
#include "store/index.h"

/* Inserts one index row of rid (resource.c). */
sv_err sv__index_row_add(sv_db *db, int64_t rid, const char *type, const sv_index_row *r,
                         sv_buf *scratch, sv_buf *reterr);

/* SQLite: the index rows of rid (all kinds but the combined rows) become rows (NULL:
 * none), writing only the difference to the stored ones (index_replace.c). */
sv_err sv__index_rows_replace(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                              sv_buf *reterr);

/* PostgreSQL: writes the resource row (with category unless < 0) and its version in
 * one statement; *ret_rid. */
sv_err sv__pg_write(sv_db *db, const char *type, const char *id, int64_t version,
                    int64_t last_updated, bool deleted, const char *method, const char *json,
                    size_t json_len, int category, int64_t *ret_rid, sv_buf *reterr);
/* PostgreSQL: replaces the index rows of rid (all kinds, the combined rows too) with
 * rows (NULL: none) in one statement; the caller writes the combined rows after. */
sv_err sv__pg_replace_rows(sv_db *db, int64_t rid, const char *type, const sv_index_rows *rows,
                           sv_buf *reterr);

#endif
