/*
 * test_notify_postgres.c - every case of test_notify.c on PostgreSQL (tests/unit/db/
 * tmpdb.h with TMPDB_POSTGRES); the plan case is SQLite's.  Skipped (77) without
 * $SAMVERKA_TEST_PG.
 */
#define TMPDB_POSTGRES 1
#include "test_notify.c"
