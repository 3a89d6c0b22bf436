/*
 * test_worklist_access_postgres.c - every case of test_worklist_access.c on PostgreSQL
 * (tests/unit/db/tmpdb.h with TMPDB_POSTGRES), migration 14's PostgreSQL text included.
 * Skipped (77) without $SAMVERKA_TEST_PG.
 */
#define TMPDB_POSTGRES 1
#include "test_worklist_access.c"
