/*
 * test_recent_postgres.c - every case of test_recent.c on PostgreSQL (tests/unit/db/
 * tmpdb.h with TMPDB_POSTGRES).  Skipped (77) without $SAMVERKA_TEST_PG.
 */
#define TMPDB_POSTGRES 1
#include "test_recent.c"
