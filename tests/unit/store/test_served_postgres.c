/*
 * test_served_postgres.c - every case of test_served.c on PostgreSQL (tests/unit/db/
 * tmpdb.h with TMPDB_POSTGRES), migration 13's PostgreSQL text included.  Skipped
 * (77) without $SAMVERKA_TEST_PG.
 */
#define TMPDB_POSTGRES 1
#include "test_served.c"
