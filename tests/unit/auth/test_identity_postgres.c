/*
 * test_identity_postgres.c - every case of test_identity.c on PostgreSQL, a
 * database per fixture (tests/unit/db/tmpdb.h with TMPDB_POSTGRES).  Skipped (77)
 * without $SAMVERKA_TEST_PG.
 */
#define TMPDB_POSTGRES 1
#include "test_identity.c"
